/**
 * The graph of a plan or a run: the model (`planGraph`), its texts and styles, and the renderers
 * (Mermaid, Graphviz DOT, SVG laid out by ELK). Everything here is pure except that `layoutGraph`
 * and `renderSvg` answer with a promise (ELK's API); none of it does I/O.
 */
export * from './types';
export { planGraph, edgeId, instanceRange, DEFAULT_MAX_INSTANCES, type PlanGraphOptions } from './graph-model';
export { isRunState, type GraphRun } from './run-facts';
export { edgeLabel, fanOutText, nodeKindText, nodeLines, nodeStatusText, oneLine, MAX_LABEL_LINE } from './labels';
export {
  EDGE_STATE_STYLES,
  NODE_STATUS_STYLES,
  PLAN_EDGE_STYLE,
  PLAN_NODE_STYLE,
  edgeStyle,
  nodeStyle,
  type EdgeStyle,
  type NodeStyle,
} from './styles';
export { renderMermaid, escapeMermaidText, mermaidNodeId, mermaidStatusClass } from './mermaid';
export { renderDot, dotString } from './dot';
export {
  layoutGraph,
  ELK_LAYOUT_OPTIONS,
  MODEL_ORDER_MAX_NODES,
  LARGE_GRAPH_ELK_OPTIONS,
  TEXT_METRICS,
  type GraphLayout,
  type LayoutEdge,
  type LayoutLabel,
  type LayoutNode,
  type LayoutOptions,
  type LayoutPoint,
  type LayoutSection,
} from './layout';
export { renderSvg, svgOfLayout, escapeXml, nodePaint, edgePaint, type Paint } from './svg';
