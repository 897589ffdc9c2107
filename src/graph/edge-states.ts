/**
 * Where each edge of a run stands (`GraphEdgeState`). A forward edge's condition is evaluated by
 * the engine's own `evaluateWhen` on the engine's node context (docs/semantics.md §3, §4), so the
 * graph says what readiness decided, not a second opinion. Pure.
 */
import { evaluateWhen, parseCondition } from '../engine/conditions';
import type { LoopInfo } from '../engine/loops';
import { incomingEdges } from '../engine/run-state';
import type { PlanEdge, PlanSpec } from '../engine/spec';
import type { NodeStatus } from '../engine/types';
import type { RunFacts } from './run-facts';
import type { GraphEdgeState } from './types';

const FINISHED: readonly NodeStatus[] = ['completed', 'partial'];

/**
 * The state of `edge` (at `spec.edges[loop.index]` when it is a loop edge) in the run `facts`
 * describes. See `GraphEdgeState` for what each state means.
 */
export function edgeState(spec: PlanSpec, edge: PlanEdge, loop: LoopInfo | undefined, facts: RunFacts): GraphEdgeState {
  const source = facts.node(edge.from);
  if (!source) return 'pending';
  if (source.status === 'skipped') return 'skipped';
  if (source.status === 'cancelled') return facts.cancelledByJoin(edge.from) ? 'inactive' : 'skipped';
  if (loop) return loopEdgeState(spec, loop, source.status, facts);
  if (!FINISHED.includes(source.status)) return 'pending';
  if (!facts.exact && readsWhatSnapshotsLack(edge.when)) return inferredFromTarget(spec, edge, facts);
  const context = facts.context(edge.from);
  return context && evaluateWhen(edge.when, context) ? 'taken' : 'inactive';
}

/**
 * A loop edge is evaluated once, when its `from` finishes; when it holds with iterations left the
 * body starts over at once, `from` included. So a `from` that is finished now was not sent round
 * (its condition was false, or no iteration was left), and one that is not finished is in an
 * iteration that this edge started when the body is past its first.
 */
function loopEdgeState(spec: PlanSpec, loop: LoopInfo, sourceStatus: NodeStatus, facts: RunFacts): GraphEdgeState {
  if (FINISHED.includes(sourceStatus)) return 'inactive';
  return (facts.loopIteration(spec, loop) ?? 1) > 1 ? 'taken' : 'pending';
}

/** The condition reads the node's `input` or an `artifact`, which a snapshot does not carry. */
function readsWhatSnapshotsLack(when: string | undefined): boolean {
  const parsed = parseCondition(when);
  if (!parsed.ok) return false;
  const { condition } = parsed;
  if (condition.kind !== 'truthy' && condition.kind !== 'compare') return false;
  const root = condition.path.split('.')[0];
  return root === 'input' || root === 'artifact';
}

/**
 * Without the context, the target may still tell: a target skipped before any attempt (and not a
 * racing join, which may be skipped with active edges) had no active incoming edge, and a target
 * that was reached through its only incoming edge was reached through this one.
 */
function inferredFromTarget(spec: PlanSpec, edge: PlanEdge, facts: RunFacts): GraphEdgeState {
  const target = facts.node(edge.to);
  if (!target) return 'unknown';
  const join = spec.nodes.find((node) => node.id === edge.to)?.join;
  const racing = join !== undefined && join.mode !== 'all';
  if (target.status === 'skipped' && target.attempts === 0 && !racing) return 'inactive';
  const reached = target.status !== 'pending' && target.status !== 'cancelled' && (target.status !== 'skipped' || target.attempts > 0);
  if (reached && incomingEdges(spec, edge.to).length === 1) return 'taken';
  return 'unknown';
}
