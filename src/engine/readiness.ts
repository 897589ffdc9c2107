/**
 * Readiness (docs/semantics.md §5) and input mapping (docs/semantics.md §4): after every change, pending nodes are re-evaluated
 * in position order until nothing changes. Skips propagate; structural nodes complete by themselves.
 */
import { evaluateWhen } from './conditions';
import { clone, getPath, setPath } from './paths';
import { closePendingApprovals } from './dispatch';
import { cancelInstance, instancesOf, settleFanOuts, startFanOut } from './fan-out';
import { evaluateLoops } from './loops';
import { findNodeRun, incomingEdges, isStructuralNode, isSuccessful, nodeContext, nodeRun, outgoingEdges, specNode } from './run-state';
import type { PlanEdge } from './spec';
import type { Step } from './step';
import type { NodeRun, RunState } from './types';

export function evaluateReadiness(step: Step): void {
  const { state } = step;
  let changed = true;
  while (changed) {
    // Loop edges of nodes that just finished go first: a body that starts over must not be seen as
    // finished by the nodes after it (docs/semantics.md, "Loops").
    // A fanned-out node whose instances all finished finishes first, so its loop edges and the
    // nodes after it see it done (docs/semantics.md, "Fan-out").
    changed = settleFanOuts(step);
    if (evaluateLoops(step)) changed = true;
    // The pass goes over the nodes as they were when it began, each as it is now: a fan-out that
    // starts during the pass replaces `state.nodes` (with its instances added), and a node the pass
    // edits is replaced by its copy (`Step.edit`), so neither array nor element is held across a rule.
    const nodes = state.nodes;
    for (let i = 0; i < nodes.length; i += 1) {
      const node = state.nodes === nodes ? nodes[i] : findNodeRun(state, nodes[i].nodeId);
      if (!node || node.status !== 'pending' || node.inputCheckPending || node.instanceOf !== undefined) continue;
      if (advancePendingNode(step, node)) {
        changed = true;
        // A structural node that completed here may close a loop: evaluate it before anyone reads it.
        if (findNodeRun(state, node.nodeId)?.status === 'completed' && evaluateLoops(step)) break;
      }
    }
  }
}

/** Returns true when the node moved. `node` may be shared: it is edited (`Step.edit`) once it moves. */
function advancePendingNode(step: Step, pending: NodeRun): boolean {
  const { state } = step;
  const edges = incomingEdges(state.spec, pending.nodeId);
  if (edges.length === 0) {
    const node = step.edit(pending);
    node.resolvedInput = withLoopInput(node, clone(state.input));
    return acceptResolvedInput(step, node);
  }
  const join = specNode(state, pending.nodeId).join;
  if (join && join.mode !== 'all') return advanceRacingJoin(step, pending, edges, join.mode === 'any' ? 1 : (join.count ?? 1), join.cancelRemaining ?? true);
  const sources = edges.map((edge) => nodeRun(state, edge.from));
  // Wait until every upstream node finished successfully (failed/blocked upstream keeps it waiting).
  if (!sources.every(isSuccessful)) return false;

  const active = edges.filter((edge) => {
    const source = nodeRun(state, edge.from);
    if (source.status !== 'completed' && source.status !== 'partial') return false;
    return evaluateWhen(edge.when, nodeContext(state, source));
  });
  const node = step.edit(pending);
  if (active.length === 0) {
    step.moveNode(node, 'skipped', 'node-skipped', `Node "${node.nodeId}" was skipped: no incoming edge is active.`, {
      upstream: edges.map((edge) => ({ from: edge.from, status: nodeRun(state, edge.from).status, when: edge.when })),
    });
    return true;
  }
  node.resolvedInput = withLoopInput(node, resolveInput(state, active));
  return acceptResolvedInput(step, node);
}

/** A loop's `to` starting over (editable): the loop edge's map, taken when the loop fired, goes on top. */
function withLoopInput(node: NodeRun, input: unknown): unknown {
  if (!node.loopInput) return input;
  const merged = input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  for (const [key, value] of Object.entries(node.loopInput)) setPath(merged, key, clone(value));
  delete node.loopInput;
  return merged;
}

/** An edge is active once its source completed (or is partial) and its `when` holds. */
function isActiveEdge(state: RunState, edge: PlanEdge): boolean {
  const source = nodeRun(state, edge.from);
  if (source.status !== 'completed' && source.status !== 'partial') return false;
  return evaluateWhen(edge.when, nodeContext(state, source));
}

/** An edge can still become active while its source has not finished for good. */
function canStillBecomeActive(state: RunState, edge: PlanEdge): boolean {
  const source = nodeRun(state, edge.from);
  return !['completed', 'partial', 'skipped', 'cancelled'].includes(source.status);
}

/**
 * A join in mode `any` / `atLeast` (docs/semantics.md, "Join modes"): ready as soon as `needed`
 * incoming edges are active, without waiting for the rest; skipped once the edges that are active
 * or still may be cannot reach `needed`. Its input is mapped from the edges active at that moment.
 */
function advanceRacingJoin(step: Step, pending: NodeRun, edges: PlanEdge[], needed: number, cancelRemaining: boolean): boolean {
  const { state } = step;
  const active = edges.filter((edge) => isActiveEdge(state, edge));
  const possible = active.length < needed ? edges.filter((edge) => canStillBecomeActive(state, edge)).length : 0;
  if (active.length < needed && active.length + possible >= needed) return false;
  const node = step.edit(pending);
  if (active.length < needed) {
    step.moveNode(
      node,
      'skipped',
      'node-skipped',
      `Node "${node.nodeId}" was skipped: it needs ${needed} active incoming edge(s) and no more than ${active.length + possible} can be.`,
      { needed, active: active.map((edge) => edge.from), upstream: edges.map((edge) => ({ from: edge.from, status: nodeRun(state, edge.from).status })) },
    );
    return true;
  }
  node.resolvedInput = resolveInput(state, active);
  const moved = acceptResolvedInput(step, node);
  if (cancelRemaining) cancelLosingBranches(step, node.nodeId, active.map((edge) => edge.from));
  return moved;
}

/**
 * Cancels the branches a ready join no longer needs: every unfinished upstream node of the join whose
 * every outgoing edge leads to the join or to a node cancelled this way. A node that also feeds
 * something else is left alone. Closest to the join first, so a chain is cancelled back to where
 * it forks off.
 */
function cancelLosingBranches(step: Step, joinId: string, winners: string[]): void {
  const { state } = step;
  const cancelled = new Set<string>();
  const unfinished = (run: NodeRun) => !['completed', 'partial', 'skipped', 'cancelled'].includes(run.status);
  let frontier = incomingEdges(state.spec, joinId).map((edge) => edge.from);
  const seen = new Set<string>();
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const id of frontier) {
      if (seen.has(id) || winners.includes(id)) continue;
      const run = nodeRun(state, id);
      const leadsOnlyHere = outgoingEdges(state.spec, id).every((edge) => edge.to === joinId || cancelled.has(edge.to));
      if (!leadsOnlyHere) continue;
      seen.add(id);
      if (unfinished(run)) {
        cancelNodeForJoin(step, step.edit(run), joinId);
        cancelled.add(id);
        next.push(...incomingEdges(state.spec, id).map((edge) => edge.from));
      }
    }
    frontier = next;
  }
  if (cancelled.size > 0) step.reasonOverride = 'join-cancelled-branches';
}

/** `node` is editable (`Step.edit`). */
function cancelNodeForJoin(step: Step, node: NodeRun, joinId: string): void {
  delete node.inputCheckPending;
  delete node.scheduledUntil;
  delete node.scheduledReason;
  node.cancelledByJoin = joinId;
  if (node.approvalId) {
    closePendingApprovals(step, `join "${joinId}" no longer needs node "${node.nodeId}"`, { join: joinId }, { status: 'cancelled', nodeId: node.nodeId });
  }
  // A fanned-out loser: each unfinished instance is cancelled too, so each of its agents can stop.
  for (const unfinished of node.fanOut ? instancesOf(step.state, node.nodeId) : []) {
    if (['completed', 'partial', 'skipped', 'failed', 'cancelled'].includes(unfinished.status)) continue;
    const instance = step.edit(unfinished);
    instance.cancelledByJoin = joinId;
    cancelInstance(step, instance, `join "${joinId}" went ahead without node "${node.nodeId}"`, { join: joinId });
  }
  step.moveNode(node, 'cancelled', 'node-cancelled', `Node "${node.nodeId}" was cancelled: join "${joinId}" went ahead without it.`, {
    join: joinId,
  });
}

/** docs/semantics.md §4: map entries of the active edges, in spec order; a later edge overwrites an earlier one. */
export function resolveInput(state: RunState, activeEdges: ReturnType<typeof incomingEdges>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const edge of activeEdges) {
    const source = nodeRun(state, edge.from);
    const context = nodeContext(state, source);
    for (const [targetPath, sourcePath] of Object.entries(edge.map ?? {})) {
      setPath(input, targetPath, getPath(context, sourcePath));
    }
  }
  return input;
}

/** The resolved input is set (on `node`, editable): check it (via the shell's validation activity) or move on. */
function acceptResolvedInput(step: Step, node: NodeRun): boolean {
  if (specNode(step.state, node.nodeId).inputSchema) {
    node.inputCheckPending = true;
    step.changed = true;
    return true;
  }
  promoteAfterInput(step, node);
  return true;
}

/** After the input is accepted: scheduled (delay / notBefore), auto-completed, or ready. `node` is editable (`Step.edit`). */
export function promoteAfterInput(step: Step, node: NodeRun): void {
  const spec = specNode(step.state, node.nodeId);
  const nowMs = Date.parse(step.now);
  const delayUntil = spec.delayAfterPredecessorMs ? nowMs + spec.delayAfterPredecessorMs : 0;
  const notBefore = spec.notBefore ? Date.parse(spec.notBefore) : 0;
  const until = Math.max(delayUntil, notBefore);
  if (until > nowMs) {
    node.scheduledUntil = new Date(until).toISOString();
    node.scheduledReason = delayUntil >= notBefore ? 'delayAfterPredecessorMs' : 'notBefore';
    step.moveNode(
      node,
      'scheduled',
      'node-scheduled',
      `Node "${node.nodeId}" is scheduled until ${node.scheduledUntil} (${node.scheduledReason}).`,
      { until: node.scheduledUntil, reason: node.scheduledReason },
    );
    return;
  }
  markReady(step, node);
}

/** Ready, or for structural nodes completed on the spot with their input as output. `node` is editable (`Step.edit`). */
export function markReady(step: Step, node: NodeRun): void {
  delete node.scheduledUntil;
  delete node.scheduledReason;
  const spec = specNode(step.state, node.nodeId);
  // A `forEach` node is never handed out itself: its instances are (docs/semantics.md, "Fan-out").
  if (spec.forEach && node.instanceOf === undefined) {
    startFanOut(step, node, spec.forEach);
    return;
  }
  if (isStructuralNode(spec)) {
    node.output = clone(node.resolvedInput);
    step.moveNode(node, 'completed', 'node-auto-completed', `Node "${node.nodeId}" (${node.type}) completed by itself.`);
    return;
  }
  step.moveNode(node, 'ready', 'node-ready', `Node "${node.nodeId}" is ready.`);
}
