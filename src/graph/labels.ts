/**
 * The texts a drawing shows for a node and an edge, shared by every renderer so that Mermaid, DOT,
 * SVG and the console say the same thing. The texts are plain and unescaped: each renderer escapes
 * them for its format. Pure.
 */
import type { GraphEdge, GraphNode } from './types';

/** The longest line a label gets, in characters; longer text ends in `…`. */
export const MAX_LABEL_LINE = 60;

/**
 * `text` on one line (line breaks, tabs and other control characters become spaces, runs of spaces
 * one) and at most `max` characters, counted in code points so that a pair of surrogates is never
 * split.
 */
export function oneLine(text: string, max = MAX_LABEL_LINE): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length > max ? `${chars.slice(0, Math.max(1, max - 1)).join('')}…` : flat;
}

/** `task · agent:researcher`, `join (atLeast 2)`, `human-approval · human:editors`. */
export function nodeKindText(node: GraphNode): string {
  if (node.join) return node.join.mode === 'atLeast' ? `join (atLeast ${node.join.count ?? 1})` : `join (${node.join.mode})`;
  return node.owner ? `${node.type} · ${node.owner.kind}:${node.owner.ref}` : node.type;
}

/**
 * The fan-out line: for a plan, `forEach input.topics (max 10, 3 at once)`; for a run that fanned
 * out, `research[0..4]: 3 completed · 2 running` (`no instances` for an empty list).
 */
export function fanOutText(node: GraphNode): string | undefined {
  const fan = node.fanOut;
  if (!fan) return undefined;
  if (fan.count === undefined) {
    return `forEach ${fan.items} (max ${fan.maxItems}${fan.maxConcurrency !== undefined ? `, ${fan.maxConcurrency} at once` : ''})`;
  }
  if (fan.count === 0) return 'forEach: no instances';
  const counts = Object.entries(fan.statusCounts ?? {}).map(([status, count]) => `${count} ${status}`);
  return `${fan.range ?? node.id}: ${counts.join(' · ')}`;
}

/** The run line: `completed · attempt 2 · iteration 2 of 3`; undefined without a run. */
export function nodeStatusText(node: GraphNode): string | undefined {
  if (node.status === undefined) return undefined;
  const parts: string[] = [node.status];
  if (node.attempts !== undefined && node.attempts > 1) parts.push(`${node.attempts} attempts`);
  if (node.iteration !== undefined && (node.iteration > 1 || node.maxIterations !== undefined)) {
    parts.push(`iteration ${node.iteration}${node.maxIterations !== undefined ? ` of ${node.maxIterations}` : ''}`);
  }
  return parts.join(' · ');
}

/**
 * A node's label, one line each: its title; its id (when the title is a label) with its type and
 * owner; its fan-out; its status in a run. Every line is `oneLine`d.
 */
export function nodeLines(node: GraphNode): string[] {
  const kind = nodeKindText(node);
  const lines = [oneLine(node.title), oneLine(node.label !== undefined ? `${node.id} · ${kind}` : kind)];
  const fan = fanOutText(node);
  if (fan) lines.push(oneLine(fan));
  const status = nodeStatusText(node);
  if (status) lines.push(oneLine(status));
  return lines;
}

/**
 * An edge's label, or undefined for an edge with nothing to say: its `when`, and for a loop edge
 * its bound (`loop, max 3`) or, in a run, its iteration (`loop: iteration 2 of 3`).
 */
export function edgeLabel(edge: GraphEdge): string | undefined {
  const parts: string[] = [];
  if (edge.when !== undefined && edge.when.trim() !== '' && edge.when.trim() !== 'always') parts.push(edge.when);
  if (edge.loop) {
    parts.push(
      edge.loop.iteration !== undefined
        ? `loop: iteration ${edge.loop.iteration} of ${edge.loop.maxIterations}`
        : `loop, max ${edge.loop.maxIterations}`,
    );
  }
  return parts.length ? oneLine(parts.join(' · ')) : undefined;
}
