/**
 * Positions for a graph, computed by ELK (elkjs, the Eclipse Layout Kernel: its `layered`
 * algorithm, top to bottom) rather than by a layout of our own. The SVG renderer draws the result,
 * and the web console can reuse it as it is. No I/O: elkjs's bundled build runs in this thread
 * (`elkjs/lib/elk.bundled.js`), unless `engine` says where else (the console runs it in a worker
 * thread: src/console/layout-thread.ts); the answer is a promise because ELK's API is.
 *
 * Node sizes come from their label lines (`nodeLines`) with a fixed average character width: an
 * estimate, since measuring text needs a renderer. Pass `nodeSize` to measure with real fonts.
 */
import type ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkEdgeSection, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api';
import { edgeLabel, nodeLines } from './labels';
import type { GraphEdge, GraphNode, PlanGraph } from './types';

/** A point in the layout's coordinates (pixels, origin top left). */
export interface LayoutPoint {
  x: number;
  y: number;
}

/** A node with its place and size: `x`, `y` are its top left corner. */
export interface LayoutNode {
  id: string;
  node: GraphNode;
  /** The label lines the size was computed for (`nodeLines(node)`). */
  lines: string[];
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One stretch of an edge's route, always in the edge's direction (from its `from` to its `to`). */
export interface LayoutSection {
  start: LayoutPoint;
  end: LayoutPoint;
  /** The corners between `start` and `end`, in order. */
  bends: LayoutPoint[];
}

/** An edge label's box (`x`, `y` its top left corner) and text. */
export interface LayoutLabel {
  text: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** An edge with its route and, when it has one (`edgeLabel`), its label. */
export interface LayoutEdge {
  id: string;
  edge: GraphEdge;
  /** The route, from `from` to `to` (usually one section). */
  sections: LayoutSection[];
  label?: LayoutLabel;
}

/** A laid-out graph: its size and every node and edge with its place. */
export interface GraphLayout {
  width: number;
  height: number;
  nodes: LayoutNode[];
  edges: LayoutEdge[];
}

/** What lays an ELK graph out: ELK in this thread by default; the console's runs in a thread of its own. */
export interface LayoutEngine {
  layout(root: ElkNode): Promise<ElkNode>;
}

/** Options of `layoutGraph`. */
export interface LayoutOptions {
  /** Where ELK runs; default: in this thread (loaded on first use). */
  engine?: LayoutEngine;
  /** A node's size for its label lines; default: estimated from the character count. */
  nodeSize?: (node: GraphNode, lines: string[]) => { width: number; height: number };
  /** An edge label's size; default: estimated from the character count. */
  labelSize?: (text: string) => { width: number; height: number };
  /** Whether edges get their labels (conditions, loop iterations); default true. */
  edgeLabels?: boolean;
  /** More ELK layout options (`elk.*` keys), on top of the defaults in `ELK_LAYOUT_OPTIONS`. */
  elkOptions?: Record<string, string>;
}

/** The ELK options `layoutGraph` uses: layered, top to bottom. */
export const ELK_LAYOUT_OPTIONS: Readonly<Record<string, string>> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.layered.spacing.nodeNodeBetweenLayers': '56',
  'elk.spacing.nodeNode': '36',
  'elk.spacing.edgeNode': '20',
  'elk.spacing.edgeLabel': '6',
  'elk.edgeLabels.placement': 'CENTER',
  'elk.padding': '[top=20,left=20,bottom=20,right=20]',
};

/**
 * Up to this many nodes, ELK also keeps the plan's order where it can
 * (`elk.layered.considerModelOrder.strategy: NODES_AND_EDGES`), so a small plan reads in the order
 * it was written. On large plans that option costs far more than it gives (a 1,000-node plan:
 * about a minute instead of two seconds), so they go without it.
 */
export const MODEL_ORDER_MAX_NODES = 100;

/**
 * Above `MODEL_ORDER_MAX_NODES`, ELK also places nodes with its simple strategy and fewer
 * crossing-minimisation passes: on a 1,000-node plan that halves the layout time, and a plan that
 * large is read by zooming and following edges, not by the last pixel of straightness.
 */
export const LARGE_GRAPH_ELK_OPTIONS: Readonly<Record<string, string>> = {
  'elk.layered.nodePlacement.strategy': 'SIMPLE',
  'elk.layered.thoroughness': '3',
};

/**
 * Layouts recently computed, by everything ELK was given (node sizes, edges, label sizes,
 * options), so that redrawing a run whose statuses changed but whose shape did not (the console
 * polls a run's graph every few seconds) reuses the layout instead of running ELK again. Texts are
 * not part of the key: they are put back from the graph being drawn. Small: a console shows few
 * plans at once (and lays out ahead only the large plans of runs that just started or changed).
 */
const LAYOUT_CACHE_SIZE = 32;
const layoutCache = new Map<string, Promise<ElkNode>>();

function cachedLayout(root: ElkNode, engine: LayoutEngine | undefined): Promise<ElkNode> {
  const key = JSON.stringify({
    o: root.layoutOptions,
    n: root.children?.map((c) => [c.width, c.height]),
    e: root.edges?.map((e) => [e.sources, e.targets, e.labels?.map((l) => [l.width, l.height])]),
  });
  const hit = layoutCache.get(key);
  if (hit) {
    // Most recently used last: the first key is the one to drop.
    layoutCache.delete(key);
    layoutCache.set(key, hit);
    return hit;
  }
  const computed = engine ? engine.layout(root) : elk().then((inThread) => inThread.layout(root));
  layoutCache.set(key, computed);
  computed.catch(() => layoutCache.delete(key));
  while (layoutCache.size > LAYOUT_CACHE_SIZE) layoutCache.delete(layoutCache.keys().next().value as string);
  return computed;
}

/** Average character width and line height (pixels) the default sizes assume (12 px sans-serif). */
export const TEXT_METRICS = { charWidth: 7, lineHeight: 17, labelCharWidth: 6.2, labelHeight: 16 } as const;

function defaultNodeSize(_node: GraphNode, lines: string[]): { width: number; height: number } {
  const longest = Math.max(...lines.map((line) => Array.from(line).length));
  return {
    width: Math.min(460, Math.max(140, Math.ceil(longest * TEXT_METRICS.charWidth) + 28)),
    height: lines.length * TEXT_METRICS.lineHeight + 18,
  };
}

function defaultLabelSize(text: string): { width: number; height: number } {
  return { width: Math.ceil(Array.from(text).length * TEXT_METRICS.labelCharWidth) + 10, height: TEXT_METRICS.labelHeight };
}

let elkInstance: Promise<InstanceType<typeof ELK>> | undefined;
/**
 * One ELK instance, loaded on first use: elkjs is a large script (about 0.1 s to load), and every
 * CLI command imports this module, while only SVG output lays anything out.
 */
function elk(): Promise<InstanceType<typeof ELK>> {
  elkInstance ??= import('elkjs/lib/elk.bundled.js').then((module) => new module.default());
  return elkInstance;
}

function section(raw: ElkEdgeSection, reversed: boolean): LayoutSection {
  const bends = (raw.bendPoints ?? []).map((p) => ({ x: p.x, y: p.y }));
  const start = { x: raw.startPoint.x, y: raw.startPoint.y };
  const end = { x: raw.endPoint.x, y: raw.endPoint.y };
  return reversed ? { start: end, end: start, bends: bends.reverse() } : { start, end, bends };
}

/**
 * Lays `graph` out with ELK. A loop edge is handed to ELK pointing forward (from its `to` to its
 * `from`), so that ELK ranks the plan by its forward edges and routes the loop back up beside
 * them; its sections come back turned round, in the edge's own direction.
 */
export async function layoutGraph(graph: PlanGraph, options: LayoutOptions = {}): Promise<GraphLayout> {
  const nodeSize = options.nodeSize ?? defaultNodeSize;
  const labelSize = options.labelSize ?? defaultLabelSize;
  const elkIds = new Map<string, string>();
  const sized = graph.nodes.map((node, index) => {
    const lines = nodeLines(node);
    elkIds.set(node.id, `n${index}`);
    return { node, lines, ...nodeSize(node, lines) };
  });
  const edgeLabels = graph.edges.map((edge) => (options.edgeLabels === false ? undefined : edgeLabel(edge)));
  const root: ElkNode = {
    id: 'graph',
    layoutOptions: {
      ...ELK_LAYOUT_OPTIONS,
      ...(graph.nodes.length <= MODEL_ORDER_MAX_NODES ? { 'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES' } : LARGE_GRAPH_ELK_OPTIONS),
      ...(options.elkOptions ?? {}),
    },
    children: sized.map((entry, index) => ({ id: `n${index}`, width: entry.width, height: entry.height })),
    edges: graph.edges.map((edge, index): ElkExtendedEdge => {
      const from = elkIds.get(edge.from);
      const to = elkIds.get(edge.to);
      if (from === undefined || to === undefined) throw new Error(`layoutGraph: edge ${edge.id} names a node the graph does not have`);
      const text = edgeLabels[index];
      return {
        id: `x${index}`,
        sources: [edge.kind === 'loop' ? to : from],
        targets: [edge.kind === 'loop' ? from : to],
        ...(text !== undefined ? { labels: [{ text, ...labelSize(text) }] } : {}),
      };
    }),
  };
  const laidOut = await cachedLayout(root, options.engine);
  const children = new Map((laidOut.children ?? []).map((child) => [child.id, child]));
  const routed = new Map((laidOut.edges ?? []).map((edge) => [edge.id, edge]));
  return {
    width: laidOut.width ?? 0,
    height: laidOut.height ?? 0,
    nodes: sized.map((entry, index) => {
      const child = children.get(`n${index}`);
      return { id: entry.node.id, node: entry.node, lines: entry.lines, x: child?.x ?? 0, y: child?.y ?? 0, width: entry.width, height: entry.height };
    }),
    edges: graph.edges.map((edge, index) => {
      const raw = routed.get(`x${index}`) as ElkExtendedEdge | undefined;
      const reversed = edge.kind === 'loop';
      const sections = (raw?.sections ?? []).map((s) => section(s, reversed));
      if (reversed) sections.reverse();
      const label = raw?.labels?.[0];
      const text = edgeLabels[index];
      return {
        id: edge.id,
        edge,
        sections,
        ...(label && text !== undefined
          ? { label: { text, x: label.x ?? 0, y: label.y ?? 0, width: label.width ?? 0, height: label.height ?? 0 } }
          : {}),
      };
    }),
  };
}
