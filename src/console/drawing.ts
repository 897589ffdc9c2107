/**
 * How the console draws a run's graph: with every text, or, for a large plan, as an overview. One
 * place, because the run page's graph and the layouts computed ahead (layout-ahead.ts) must ask ELK
 * for the same layout.
 */
import { createHash } from 'node:crypto';
import type { PlanGraph } from '../graph';
import type { LayoutEngine, LayoutOptions } from '../graph/layout';
import type { SvgOptions } from '../graph/svg';

/**
 * Above this many nodes the run page's graph is an overview: nodes of one size, without text, and
 * edges without labels. Fitted to the page's width, a plan that large draws its 12 px labels a few
 * pixels high, yet the text was about two thirds of the browser's work to show the graph. And with
 * sizes that do not follow the texts, the layout depends on the plan's shape alone: a status or a
 * fan-out count that changes the text no longer makes ELK lay the plan out again. Each node keeps
 * its id and title as a tooltip and opens its panel when clicked; `plan-runner graph RUN --format
 * svg` draws the same graph with every text.
 */
export const OVERVIEW_ABOVE_NODES = 250;

/** The size of every node in an overview (pixels): the smallest a node with text gets. */
export const OVERVIEW_NODE_SIZE = { width: 140, height: 36 } as const;

/** How the run page's graph is drawn: with every text, or as an overview (`OVERVIEW_ABOVE_NODES`). */
export function consoleDrawing(graph: PlanGraph, engine?: LayoutEngine): LayoutOptions & SvgOptions {
  if (graph.nodes.length <= OVERVIEW_ABOVE_NODES) return { engine };
  return { engine, nodeText: false, edgeLabels: false, nodeSize: () => OVERVIEW_NODE_SIZE };
}

/**
 * What a drawing's layout depends on, as a short hash: for an overview its nodes and edges (its
 * layout depends on nothing else); for a drawing with text `undefined`, since its layout also follows
 * the texts and it is always drawn again whole.
 */
export function drawingShape(graph: PlanGraph): string | undefined {
  if (graph.nodes.length <= OVERVIEW_ABOVE_NODES) return undefined;
  const edges = graph.edges.map((edge) => [edge.from, edge.to, edge.kind]);
  return createHash('sha256').update(JSON.stringify([graph.nodes.map((node) => node.id), edges])).digest('hex').slice(0, 16);
}
