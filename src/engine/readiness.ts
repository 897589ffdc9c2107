/**
 * Readiness (docs/semantics.md §5) and input mapping (docs/semantics.md §4): after every change, pending nodes are re-evaluated
 * in position order until nothing changes. Skips propagate; structural nodes complete by themselves.
 */
import { evaluateWhen } from './conditions';
import { clone, getPath, setPath } from './paths';
import { incomingEdges, isStructuralNode, isSuccessful, nodeContext, nodeRun, specNode } from './run-state';
import type { Step } from './step';
import type { NodeRun, RunState } from './types';

export function evaluateReadiness(step: Step): void {
  const { state } = step;
  let changed = true;
  while (changed) {
    changed = false;
    for (const node of state.nodes) {
      if (node.status !== 'pending' || node.inputCheckPending) continue;
      if (advancePendingNode(step, node)) changed = true;
    }
  }
}

/** Returns true when the node moved. */
function advancePendingNode(step: Step, node: NodeRun): boolean {
  const { state } = step;
  const edges = incomingEdges(state.spec, node.nodeId);
  if (edges.length === 0) {
    node.resolvedInput = clone(state.input);
    return acceptResolvedInput(step, node);
  }
  const sources = edges.map((edge) => nodeRun(state, edge.from));
  // Wait until every upstream node finished successfully (failed/blocked upstream keeps it waiting).
  if (!sources.every(isSuccessful)) return false;

  const active = edges.filter((edge) => {
    const source = nodeRun(state, edge.from);
    if (source.status !== 'completed' && source.status !== 'partial') return false;
    return evaluateWhen(edge.when, nodeContext(state, source));
  });
  if (active.length === 0) {
    step.moveNode(node, 'skipped', 'node-skipped', `Node "${node.nodeId}" was skipped: no incoming edge is active.`, {
      upstream: edges.map((edge) => ({ from: edge.from, status: nodeRun(state, edge.from).status, when: edge.when })),
    });
    return true;
  }
  node.resolvedInput = resolveInput(state, active);
  return acceptResolvedInput(step, node);
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

/** The resolved input is set: check it (via the shell's validation activity) or move on. */
function acceptResolvedInput(step: Step, node: NodeRun): boolean {
  if (specNode(step.state, node.nodeId).inputSchema) {
    node.inputCheckPending = true;
    step.changed = true;
    return true;
  }
  promoteAfterInput(step, node);
  return true;
}

/** After the input is accepted: scheduled (delay / notBefore), auto-completed, or ready. */
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

/** Ready, or for structural nodes completed on the spot with their input as output. */
export function markReady(step: Step, node: NodeRun): void {
  delete node.scheduledUntil;
  delete node.scheduledReason;
  if (isStructuralNode(specNode(step.state, node.nodeId))) {
    node.output = clone(node.resolvedInput);
    step.moveNode(node, 'completed', 'node-auto-completed', `Node "${node.nodeId}" (${node.type}) completed by itself.`);
    return;
  }
  step.moveNode(node, 'ready', 'node-ready', `Node "${node.nodeId}" is ready.`);
}
