/**
 * Colours and line styles by node status and edge state, shared by the renderers so that a run
 * looks the same in Mermaid, DOT and SVG. Plain data: colours are `#rrggbb`.
 */
import type { NodeStatus } from '../engine/types';
import type { GraphEdge, GraphEdgeState, GraphNode } from './types';

/** How a node is filled and outlined. */
export interface NodeStyle {
  fill: string;
  stroke: string;
  /** Text colour. */
  text: string;
  /** A dashed outline (skipped and cancelled nodes). */
  dashed?: boolean;
}

/** A node of a plan drawn without a run. */
export const PLAN_NODE_STYLE: NodeStyle = { fill: '#ffffff', stroke: '#455a64', text: '#263238' };

/** Every node status, in the order the docs list them, with its style. */
export const NODE_STATUS_STYLES: Readonly<Record<NodeStatus, NodeStyle>> = {
  pending: { fill: '#f5f5f5', stroke: '#9e9e9e', text: '#424242' },
  scheduled: { fill: '#fff8e1', stroke: '#f9a825', text: '#5d4037' },
  ready: { fill: '#e3f2fd', stroke: '#64b5f6', text: '#0d47a1' },
  running: { fill: '#bbdefb', stroke: '#1565c0', text: '#0d47a1' },
  'awaiting-human': { fill: '#fff3e0', stroke: '#ef6c00', text: '#e65100' },
  completed: { fill: '#e8f5e9', stroke: '#2e7d32', text: '#1b5e20' },
  partial: { fill: '#f9fbe7', stroke: '#9e9d24', text: '#827717' },
  failed: { fill: '#ffebee', stroke: '#c62828', text: '#b71c1c' },
  blocked: { fill: '#fce4ec', stroke: '#ad1457', text: '#880e4f' },
  skipped: { fill: '#eeeeee', stroke: '#9e9e9e', text: '#757575', dashed: true },
  cancelled: { fill: '#efebe9', stroke: '#8d6e63', text: '#5d4037', dashed: true },
};

/** The style of `node`: its status's in a run, else the plan style. */
export function nodeStyle(node: GraphNode): NodeStyle {
  return node.status ? NODE_STATUS_STYLES[node.status] : PLAN_NODE_STYLE;
}

/** How an edge is drawn. */
export interface EdgeStyle {
  stroke: string;
  /** Stroke width in pixels. */
  width: number;
  /** `solid`, `dashed` (not chosen) or `dotted` (never evaluated). */
  line: 'solid' | 'dashed' | 'dotted';
}

/** An edge of a plan drawn without a run. */
export const PLAN_EDGE_STYLE: EdgeStyle = { stroke: '#455a64', width: 1.5, line: 'solid' };

/** Every edge state with its style. */
export const EDGE_STATE_STYLES: Readonly<Record<GraphEdgeState, EdgeStyle>> = {
  taken: { stroke: '#2e7d32', width: 2.5, line: 'solid' },
  inactive: { stroke: '#9e9e9e', width: 1.5, line: 'dashed' },
  skipped: { stroke: '#bdbdbd', width: 1.5, line: 'dotted' },
  pending: { stroke: '#616161', width: 1.5, line: 'solid' },
  unknown: { stroke: '#616161', width: 1.5, line: 'solid' },
};

/** The style of `edge`: its state's in a run, else the plan style; a plan's loop edges are dashed. */
export function edgeStyle(edge: GraphEdge): EdgeStyle {
  if (edge.state) return EDGE_STATE_STYLES[edge.state];
  return edge.kind === 'loop' ? { ...PLAN_EDGE_STYLE, line: 'dashed' } : PLAN_EDGE_STYLE;
}
