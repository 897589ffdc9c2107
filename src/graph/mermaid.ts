/**
 * A graph as a Mermaid flowchart (`flowchart TD`), for Markdown that GitHub, GitLab and most
 * editors draw. Pure.
 *
 * Ids and texts come from plan files that people and LLMs write, so nothing of them reaches the
 * output raw: nodes get generated ids (`n0`, `n1`, … in plan order; a plan id such as `end` or
 * `class` would otherwise be a Mermaid keyword), and every label is quoted with each character
 * that could end the quote, open markup, start an entity or a comment written as a Mermaid entity
 * code (`#34;`). Statuses are `classDef` classes (`st_completed`, `st_awaiting_human`, …), edge
 * states `linkStyle`s.
 */
import { edgeLabel, nodeLines } from './labels';
import { EDGE_STATE_STYLES, NODE_STATUS_STYLES, edgeStyle, type EdgeStyle, type NodeStyle } from './styles';
import type { GraphEdge, GraphNode, PlanGraph } from './types';

/** Characters kept as they are in a quoted label (with letters, digits and marks beyond ASCII). */
const PLAIN = /^[A-Za-z0-9 .,:_+*/=!?'()[\]{}@$^~-]$/;
/** Beyond ASCII, control, format, separator and unassigned characters are encoded too. */
const UNSAFE_BEYOND_ASCII = /^[\p{C}\p{Z}]$/u;

/**
 * `text` for inside a Mermaid `"…"` label: every character that is not plainly safe becomes a
 * Mermaid entity code `#<decimal>;` (`"` → `#34;`, `<` → `#60;`, `#` → `#35;`), which Mermaid
 * shows as that character.
 */
export function escapeMermaidText(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    const plain = code < 0x80 ? PLAIN.test(char) : !UNSAFE_BEYOND_ASCII.test(char);
    out += plain ? char : `#${code};`;
  }
  return out;
}

/** The Mermaid id of the node at `index` in `graph.nodes`. */
export function mermaidNodeId(index: number): string {
  return `n${index}`;
}

/** The `classDef` class of a node status: `st_awaiting_human`. */
export function mermaidStatusClass(status: string): string {
  return `st_${status.replace(/[^A-Za-z0-9]/g, '_')}`;
}

function shape(node: GraphNode, label: string): string {
  const quoted = `"${label}"`;
  if (node.fanOut) return `[[${quoted}]]`;
  if (node.type === 'switch') return `{${quoted}}`;
  if (node.type === 'join') return `{{${quoted}}}`;
  if (node.ownerKind === 'human') return `(${quoted})`;
  return `[${quoted}]`;
}

function classDef(name: string, style: NodeStyle): string {
  return `  classDef ${name} fill:${style.fill},stroke:${style.stroke},color:${style.text}${style.dashed ? ',stroke-dasharray:5 4' : ''}`;
}

function linkStyle(index: number, style: EdgeStyle): string {
  const dash = style.line === 'dashed' ? ',stroke-dasharray:6 4' : style.line === 'dotted' ? ',stroke-dasharray:2 3' : '';
  return `  linkStyle ${index} stroke:${style.stroke},stroke-width:${style.width}px${dash}`;
}

function arrow(edge: GraphEdge): string {
  return edge.kind === 'loop' ? '-.->' : '-->';
}

/** `graph` as Mermaid flowchart text, ending in a newline. */
export function renderMermaid(graph: PlanGraph): string {
  const lines = ['flowchart TD'];
  const ids = new Map<string, string>();
  graph.nodes.forEach((node, index) => {
    ids.set(node.id, mermaidNodeId(index));
    const label = nodeLines(node).map(escapeMermaidText).join('<br/>');
    lines.push(`  ${mermaidNodeId(index)}${shape(node, label)}`);
  });
  graph.edges.forEach((edge) => {
    const from = ids.get(edge.from);
    const to = ids.get(edge.to);
    if (from === undefined || to === undefined) throw new Error(`renderMermaid: edge ${edge.id} names a node the graph does not have`);
    const label = edgeLabel(edge);
    lines.push(`  ${from} ${arrow(edge)}${label !== undefined ? `|"${escapeMermaidText(label)}"|` : ''} ${to}`);
  });
  // Statuses as classes: one classDef per status in use, and the nodes in each.
  const byStatus = new Map<string, string[]>();
  graph.nodes.forEach((node, index) => {
    if (node.status) byStatus.set(node.status, [...(byStatus.get(node.status) ?? []), mermaidNodeId(index)]);
  });
  for (const [status, members] of byStatus) {
    lines.push(classDef(mermaidStatusClass(status), NODE_STATUS_STYLES[status as keyof typeof NODE_STATUS_STYLES]));
    lines.push(`  class ${members.join(',')} ${mermaidStatusClass(status)}`);
  }
  // Edge states as link styles (links are numbered in the order they were written: the edges' order).
  graph.edges.forEach((edge, index) => {
    if (edge.state) lines.push(linkStyle(index, EDGE_STATE_STYLES[edge.state]));
    else if (edge.kind === 'loop') lines.push(linkStyle(index, edgeStyle(edge)));
  });
  return `${lines.join('\n')}\n`;
}
