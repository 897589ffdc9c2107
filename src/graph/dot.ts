/**
 * A graph in Graphviz DOT (`dot -Tsvg`, `dot -Tpng`). Pure.
 *
 * Every id and text is a quoted DOT string with `\` and `"` escaped and line breaks written as
 * `\n`, so a plan's ids and labels can never end a string or form an HTML label. Nodes are coloured
 * by status; inactive edges are dashed, skipped ones dotted, taken ones bold; loop edges are labelled
 * with their iteration and left out of the ranking (`constraint=false`) so they point back up.
 */
import { edgeLabel, nodeLines, oneLine } from './labels';
import { edgeStyle, nodeStyle } from './styles';
import type { GraphEdge, GraphNode, PlanGraph } from './types';

/**
 * `text` as a quoted DOT string: `\` → `\\`, `"` → `\"`, line breaks → `\n`, other control
 * characters dropped.
 */
export function dotString(text: string): string {
  const escaped = text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\r\n|\r|\n|\u2028|\u2029/g, '\\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, '');
  return `"${escaped}"`;
}

/** Several lines as one quoted DOT label (each line escaped, joined by `\n`). */
function dotLines(lines: string[]): string {
  return dotString(lines.join('\n'));
}

function attributes(pairs: Array<[string, string | number | undefined]>): string {
  const list = pairs.filter(([, value]) => value !== undefined).map(([key, value]) => `${key}=${value}`);
  return list.length ? ` [${list.join(', ')}]` : '';
}

function nodeStatement(node: GraphNode): string {
  const style = nodeStyle(node);
  const shape = node.type === 'switch' ? 'diamond' : node.type === 'join' ? 'hexagon' : 'box';
  const styles = ['filled', ...(node.ownerKind === 'human' ? ['rounded'] : []), ...(style.dashed ? ['dashed'] : [])];
  return `  ${dotString(node.id)}${attributes([
    ['label', dotLines(nodeLines(node))],
    ['shape', shape],
    ['style', dotString(styles.join(','))],
    ['fillcolor', dotString(style.fill)],
    ['color', dotString(style.stroke)],
    ['fontcolor', dotString(style.text)],
    ['peripheries', node.fanOut ? 2 : undefined],
  ])};`;
}

function edgeStatement(edge: GraphEdge): string {
  const style = edgeStyle(edge);
  const label = edgeLabel(edge);
  const line = style.line === 'solid' ? (edge.state === 'taken' ? 'bold' : undefined) : style.line;
  return `  ${dotString(edge.from)} -> ${dotString(edge.to)}${attributes([
    ['label', label !== undefined ? dotString(label) : undefined],
    ['color', dotString(style.stroke)],
    ['fontcolor', dotString(style.stroke)],
    ['penwidth', style.width],
    ['style', line],
    ['constraint', edge.kind === 'loop' ? 'false' : undefined],
  ])};`;
}

/** `graph` as a DOT `digraph`, ending in a newline. */
export function renderDot(graph: PlanGraph): string {
  const title = graph.run ? `${graph.title ?? graph.planId} (run ${graph.run.runId}: ${graph.run.status})` : (graph.title ?? graph.planId);
  return [
    `digraph ${dotString(graph.planId)} {`,
    `  graph [rankdir=TB, label=${dotString(oneLine(title, 120))}, labelloc=t, fontname="Helvetica", fontsize=14];`,
    '  node [fontname="Helvetica", fontsize=11, margin="0.15,0.08"];',
    '  edge [fontname="Helvetica", fontsize=10];',
    ...graph.nodes.map(nodeStatement),
    ...graph.edges.map(edgeStatement),
    '}',
    '',
  ].join('\n');
}
