/**
 * The graph model of a plan, and of a run of it: what `planGraph` returns and every renderer (and
 * the web console) draws. Plain JSON, so it can be printed (`plan-runner graph --json`), sent to a
 * browser or stored unchanged. Ids and texts are the plan's own, unescaped: they come from plan
 * files that people and LLMs write, so each renderer escapes them for its own format.
 */
import type { NodeStatus, RunStatus } from '../engine/types';
import type { NodeType, Owner } from '../engine/spec';

/**
 * Who does a node's work: an agent, a person, or the engine itself (`switch` and `join` complete
 * by themselves).
 */
export type GraphOwnerKind = 'agent' | 'human' | 'engine';

/** One instance of a fanned-out node (`research[2]`) as the graph lists it. */
export interface GraphInstance {
  /** `<nodeId>[<index>]`, the id results and responses name. */
  id: string;
  /** 0-based position in the list the node fanned out over. */
  index: number;
  status: NodeStatus;
  /** Attempts recorded for this instance. */
  attempts: number;
}

/**
 * A node with `forEach` (docs/semantics.md, "Fan-out"): one node in the graph however many
 * instances it runs, with their count and statuses instead of a node per instance.
 */
export interface GraphFanOut {
  /** The path of the list it fans out over, e.g. `input.topics`. */
  items: string;
  /** The most instances it may run (`forEach.maxItems`, default 100). */
  maxItems: number;
  /** The most instances active at once (`forEach.maxConcurrency`), when the plan bounds it. */
  maxConcurrency?: number;
  /** In a run, once the node fanned out: how many instances it has. */
  count?: number;
  /** In a run: the instance ids as a range, `research[0..4]` (`research[0]` for one, absent for none). */
  range?: string;
  /** In a run: how many instances are in each status (every instance counted, listed or not). */
  statusCounts?: Partial<Record<NodeStatus, number>>;
  /** In a run: the first instances in index order, at most `PlanGraphOptions.maxInstances`. */
  instances?: GraphInstance[];
  /** In a run: how many instances `instances` leaves out (0 when all are listed). */
  unlisted?: number;
}

/** A node of the plan: its identity, kind and, for a run, where it stands. */
export interface GraphNode {
  /** The node's id in the plan. */
  id: string;
  /** What to show: the node's `label`, else its id. */
  title: string;
  /** The node's `label`, when the plan gives one. */
  label?: string;
  type: NodeType;
  ownerKind: GraphOwnerKind;
  /** The plan's owner (`agent:researcher`, `human:editors`); absent on `switch` and `join`. */
  owner?: Owner;
  /** A `join` node's mode: `all` (the default), `any`, or `atLeast N`. */
  join?: { mode: 'all' | 'any' | 'atLeast'; count?: number };
  /** The id (`GraphEdge.id`) of the loop edge whose body holds this node most closely, if any. */
  loop?: string;
  /** Present when the node has `forEach`. */
  fanOut?: GraphFanOut;
  /** In a run: the node's status. */
  status?: NodeStatus;
  /** In a run: attempts recorded so far. */
  attempts?: number;
  /** In a run, for a node inside a loop body: the iteration its body is in (1 in the first run). */
  iteration?: number;
  /** With `iteration`: the most iterations the innermost loop allows. */
  maxIterations?: number;
}

/** `forward`: an ordinary edge (a dependency). `loop`: a bounded back edge (`loop: {maxIterations}`). */
export type GraphEdgeKind = 'forward' | 'loop';

/**
 * Where an edge stands in a run.
 *
 * - `taken`: its source finished and its `when` held (a forward edge is active; a loop edge sent
 *   the run round at least once and the body has not finished since).
 * - `inactive`: its source finished and the edge was not chosen: `when` was false, a loop edge
 *   had no iterations left, or the source lost a join's race (cancelled by the join).
 * - `skipped`: its source was skipped (or cancelled with the run), so the edge is never evaluated.
 * - `pending`: not decided yet: the source has not finished (or failed, and may be retried).
 * - `unknown`: only for a run given as a `RunSnapshot`: the source finished, but `when` reads the
 *   node's `input` or `artifact`, which a snapshot does not carry, and the target's status does not
 *   tell either. A `RunState` never gives `unknown`.
 */
export type GraphEdgeState = 'taken' | 'inactive' | 'skipped' | 'pending' | 'unknown';

/** A loop edge's bound and, for a run, how far it went. */
export interface GraphLoop {
  /** The most times its body may run, the first included. */
  maxIterations: number;
  /** What happens when its condition holds with no iterations left (default `continue`). */
  onExhausted: 'continue' | 'fail';
  /** In a run: the iteration its body is in now (1 until it first goes round). */
  iteration?: number;
}

/** An edge of the plan, in `spec.edges` order. */
export interface GraphEdge {
  /** `e<index>`: unique in the graph even when two edges join the same nodes. */
  id: string;
  /** Its position in `spec.edges`. */
  index: number;
  from: string;
  to: string;
  /** The edge's condition, as written (absent: always). */
  when?: string;
  /** The input paths the edge's `map` sets on its target, in the plan's order. */
  maps?: string[];
  kind: GraphEdgeKind;
  /** Present exactly when `kind` is `loop`. */
  loop?: GraphLoop;
  /** In a run: where the edge stands. */
  state?: GraphEdgeState;
}

/** The run a graph was drawn for. */
export interface GraphRunInfo {
  runId: string;
  status: RunStatus;
  specVersion: number;
}

/** A plan as a graph: every node and edge, with a run's statuses when one was given. */
export interface PlanGraph {
  planId: string;
  title?: string;
  /** Present when the graph was drawn for a run. */
  run?: GraphRunInfo;
  /** In the plan's order. */
  nodes: GraphNode[];
  /** In the plan's order. */
  edges: GraphEdge[];
}
