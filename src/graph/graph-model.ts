/**
 * `planGraph`: a plan (and optionally a run of it) as a graph of nodes and edges, the one model
 * that `plan-runner graph`, its renderers (Mermaid, DOT, SVG) and the web console draw. Pure: no
 * I/O, no clocks; the same spec and run always give the same graph.
 *
 * The graph facts (loop bodies, which node a loop holds) come from the engine (`loopsOf`,
 * `innermostLoop`), and a run's edge states from the engine's condition evaluation
 * (`./edge-states.ts`), so the drawing cannot disagree with how the run moves.
 */
import { innermostLoop, loopsOf, type LoopInfo } from '../engine/loops';
import { instanceId } from '../engine/run-state';
import { DEFAULT_FOR_EACH_ITEMS, isHumanNodeType, isStructuralNodeType, type PlanEdge, type PlanNode, type PlanSpec } from '../engine/spec';
import type { NodeStatus, NodeView } from '../engine/types';
import { edgeState } from './edge-states';
import { runFacts, type GraphRun, type RunFacts } from './run-facts';
import type { GraphEdge, GraphFanOut, GraphNode, GraphOwnerKind, PlanGraph } from './types';

/** How many instances of a fanned-out node a graph lists by default (all are counted). */
export const DEFAULT_MAX_INSTANCES = 20;

/** Options of `planGraph`. */
export interface PlanGraphOptions {
  /**
   * How many instances of a fanned-out node to list (`GraphFanOut.instances`), the first in index
   * order; default `DEFAULT_MAX_INSTANCES`. Every instance is still counted in `statusCounts`.
   */
  maxInstances?: number;
}

/** The statuses in which a `forEach` node has not fanned out (yet, or ever). */
const NOT_FANNED_OUT: readonly NodeStatus[] = ['pending', 'scheduled', 'ready', 'skipped', 'cancelled'];

/**
 * The graph of `spec`: one `GraphNode` per plan node and one `GraphEdge` per plan edge, both in the
 * plan's order. With `run` (the run's `RunSnapshot`, as `PlanRunnerClient.snapshot` returns it, or
 * the engine's `RunState`), nodes carry their status, attempts, loop iteration and fan-out
 * instances, and edges their `GraphEdgeState`. `spec` should be the spec version the run is on.
 *
 * The spec must be a valid plan (`validatePlanSpec`); an edge that names a node the plan does not
 * have throws.
 */
export function planGraph(spec: PlanSpec, run?: GraphRun, options: PlanGraphOptions = {}): PlanGraph {
  const nodeIds = new Set(spec.nodes.map((node) => node.id));
  const specEdges = spec.edges ?? [];
  specEdges.forEach((edge, index) => {
    for (const end of [edge.from, edge.to]) {
      if (!nodeIds.has(end)) throw new Error(`planGraph needs a valid plan: edge ${index} (${edge.from} → ${edge.to}) names node "${end}", which the plan does not have`);
    }
  });
  const facts = run ? runFacts(run) : undefined;
  const maxInstances = Math.max(0, options.maxInstances ?? DEFAULT_MAX_INSTANCES);
  const loops = new Map(loopsOf(spec).map((loop) => [loop.index, loop]));
  return {
    planId: spec.id,
    ...(spec.title !== undefined ? { title: spec.title } : {}),
    ...(facts ? { run: facts.info } : {}),
    nodes: spec.nodes.map((node) => graphNode(spec, node, facts, maxInstances)),
    edges: specEdges.map((edge, index) => graphEdge(spec, edge, index, loops.get(index), facts)),
  };
}

/** The id a graph gives the edge at `index` of `spec.edges`. */
export function edgeId(index: number): string {
  return `e${index}`;
}

function ownerKind(node: PlanNode): GraphOwnerKind {
  if (isStructuralNodeType(node.type)) return 'engine';
  return node.owner?.kind ?? (isHumanNodeType(node.type) ? 'human' : 'agent');
}

function graphNode(spec: PlanSpec, node: PlanNode, facts: RunFacts | undefined, maxInstances: number): GraphNode {
  const view = facts?.node(node.id);
  const loop = innermostLoop(spec, node.id);
  const join = node.type === 'join' ? (node.join ?? { mode: 'all' as const }) : undefined;
  return {
    id: node.id,
    title: node.label ?? node.id,
    ...(node.label !== undefined ? { label: node.label } : {}),
    type: node.type,
    ownerKind: ownerKind(node),
    ...(node.owner ? { owner: { kind: node.owner.kind, ref: node.owner.ref } } : {}),
    ...(join ? { join: { mode: join.mode, ...(join.mode === 'atLeast' ? { count: join.count ?? 1 } : {}) } } : {}),
    ...(loop ? { loop: edgeId(loop.index) } : {}),
    ...(node.forEach ? { fanOut: fanOut(node, view, maxInstances) } : {}),
    ...(view
      ? {
          status: view.status,
          attempts: view.attempts,
          ...(view.iteration !== undefined ? { iteration: view.iteration } : {}),
          ...(view.maxIterations !== undefined ? { maxIterations: view.maxIterations } : {}),
        }
      : {}),
  };
}

/** `research[0..4]`: the instance ids of a node with `count` instances. */
export function instanceRange(nodeId: string, count: number): string | undefined {
  if (count <= 0) return undefined;
  return count === 1 ? instanceId(nodeId, 0) : `${nodeId}[0..${count - 1}]`;
}

function fanOut(node: PlanNode, view: NodeView | undefined, maxInstances: number): GraphFanOut {
  const forEach = node.forEach as NonNullable<PlanNode['forEach']>;
  const plan: GraphFanOut = {
    items: forEach.items,
    maxItems: forEach.maxItems ?? DEFAULT_FOR_EACH_ITEMS,
    ...(forEach.maxConcurrency !== undefined ? { maxConcurrency: forEach.maxConcurrency } : {}),
  };
  const instances = view?.instances ?? [];
  if (!view || (instances.length === 0 && NOT_FANNED_OUT.includes(view.status))) return plan;
  const statusCounts: Partial<Record<NodeStatus, number>> = {};
  for (const instance of instances) statusCounts[instance.status] = (statusCounts[instance.status] ?? 0) + 1;
  const listed = instances.slice(0, maxInstances);
  const range = instanceRange(node.id, instances.length);
  return {
    ...plan,
    count: instances.length,
    ...(range ? { range } : {}),
    statusCounts,
    instances: listed.map((instance) => ({ id: instance.id, index: instance.index, status: instance.status, attempts: instance.attempts })),
    unlisted: instances.length - listed.length,
  };
}

function graphEdge(spec: PlanSpec, edge: PlanEdge, index: number, loop: LoopInfo | undefined, facts: RunFacts | undefined): GraphEdge {
  const maps = Object.keys(edge.map ?? {});
  const iteration = loop && facts ? facts.loopIteration(spec, loop) : undefined;
  return {
    id: edgeId(index),
    index,
    from: edge.from,
    to: edge.to,
    ...(edge.when !== undefined ? { when: edge.when } : {}),
    ...(maps.length ? { maps } : {}),
    kind: loop ? 'loop' : 'forward',
    ...(loop
      ? {
          loop: {
            maxIterations: loop.edge.loop.maxIterations,
            onExhausted: loop.edge.loop.onExhausted ?? 'continue',
            ...(facts ? { iteration: iteration ?? 1 } : {}),
          },
        }
      : {}),
    ...(facts ? { state: edgeState(spec, edge, loop, facts) } : {}),
  };
}
