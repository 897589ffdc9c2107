/**
 * Run-level operations: start, input checks, and the operator commands of docs/semantics.md §11 (cancel, resume,
 * retry). Each returns a Transition, or a Refusal that changed nothing. Timers (delayed nodes,
 * timeouts, deadlines) live in `timers.ts` and are re-exported from here.
 */
import { instancesOf, startFanOut, unknownTargetMessage } from './fan-out';
import { parseMessage, refuse } from './message-checks';
import { closePendingApprovals, workItemFor } from './dispatch';
import { handleFailedAttempt } from './failure';
import { clone } from './paths';
import { promoteAfterInput } from './readiness';
import { findNodeRun, isFinished, nodeContext, nodeRun, specNode } from './run-state';
import { schemasFor } from './schemas';
import { settle } from './settle';
import { Step } from './step';
import { recordableName, storableText, type PayloadLimits } from './limits';
import { MESSAGE_SHAPES } from './message-shapes';
import { restartNodeBudget } from './budgets';
import type { CheckpointReason, Issue, Refusal, RunState, Transition, ValidationRequest } from './types';

export function startRun(state: RunState, now: string, by = 'engine'): Transition {
  const step = new Step(state, now, by);
  step.emit('run-started', {
    message: `Run ${state.runId} of plan "${state.spec.title ?? state.planId}" started with ${state.nodes.length} node(s).`,
    detail: { specVersion: state.specVersion, title: state.spec.title },
  });
  settle(step);
  return step.finish('run-started');
}

/** The run input's check against the plan's `inputSchema`, or undefined when the plan has none. */
export function runInputCheck(state: RunState): ValidationRequest | undefined {
  const schemaRef = state.spec.inputSchema;
  if (!schemaRef) return undefined;
  return {
    schemaRef,
    schemas: schemasFor(state.spec.schemas, schemaRef),
    value: state.input,
    checks: [],
    context: { input: state.input, output: undefined, artifact: {}, run: { input: state.input }, iteration: 1 },
    schemaIssueCode: 'input-schema',
  };
}

/** Nodes whose resolved input waits for its `inputSchema` check (docs/semantics.md §5), as validation requests. */
export function pendingInputChecks(state: RunState): Array<{ nodeId: string; request: ValidationRequest }> {
  return state.nodes
    .filter((node) => node.inputCheckPending)
    .map((node) => {
      const schemaRef = specNode(state, node.nodeId).inputSchema;
      return {
        nodeId: node.nodeId,
        request: {
          schemaRef,
          schemas: schemasFor(state.spec.schemas, schemaRef),
          value: nodeContext(state, node).input,
          checks: [],
          context: nodeContext(state, node),
          schemaIssueCode: 'input-schema',
        },
      };
    });
}

export function applyInputChecks(state: RunState, results: Array<{ nodeId: string; issues: Issue[] }>, now: string): Transition {
  const step = new Step(state, now, 'engine');
  let reason: CheckpointReason = 'node-input-checked';
  for (const { nodeId, issues } of results) {
    if (!findNodeRun(step.state, nodeId)?.inputCheckPending) continue;
    const node = step.edit(nodeId);
    delete node.inputCheckPending;
    step.changed = true;
    if (issues.some((issue) => issue.severity === 'blocking')) {
      node.currentAttempt = node.attempts + 1;
      reason = handleFailedAttempt(step, node, 'input', issues);
    } else {
      promoteAfterInput(step, node);
    }
  }
  settle(step);
  return step.finish(reason);
}

// Timers moved to timers.ts (docs/semantics.md §5, §9); existing callers import them from here.
export { pendingTimers, fireDueTimers, promoteDueNodes } from './timers';

export function cancelRun(state: RunState, payload: unknown, now: string, limits?: PayloadLimits): Transition | Refusal {
  const parsed = parseMessage(MESSAGE_SHAPES.CancelRequest, payload ?? {}, 'cancel', limits);
  if (parsed.refused) return parsed;
  if (isFinished(state)) return refuse('run-finished', `Run ${state.runId} is already ${state.status}.`);
  const { by, reason } = parsed.message;
  const step = new Step(state, now, by);
  step.state.cancelled = { by, reason, at: now };
  closePendingApprovals(step, 'the run was cancelled');
  const stopped: string[] = [];
  for (let position = 0; position < step.state.nodes.length; position += 1) {
    const candidate = step.state.nodes[position];
    if (['running', 'awaiting-human', 'ready', 'scheduled'].includes(candidate.status) || candidate.inputCheckPending) {
      const node = step.edit(position);
      delete node.inputCheckPending;
      node.status = 'cancelled';
      node.finishedAt = now;
      stopped.push(node.nodeId);
    }
  }
  step.changed = true;
  step.updateRunStatus();
  const statusEvent = step.events[step.events.length - 1];
  statusEvent.message = `The run was cancelled by ${by}${reason ? `: ${reason}` : ''}.`;
  statusEvent.detail = { by, reason, stoppedNodeIds: stopped };
  return step.finish('run-cancelled');
}

export function resumeRun(state: RunState, payload: unknown, now: string, limits?: PayloadLimits): Transition | Refusal {
  const parsed = parseMessage(MESSAGE_SHAPES.ResumeRequest, payload ?? {}, 'resume', limits);
  if (parsed.refused) return parsed;
  if (isFinished(state)) return refuse('run-finished', `Run ${state.runId} is ${state.status}: there is nothing to resume.`);
  const step = new Step(state, now, parsed.message.by);
  // Nodes blocked because their owner could not be woken are dispatched again (docs/semantics.md §12), with the
  // attempt they were never handed. An agent that *reported* class `dispatch` made an attempt (it is
  // recorded): that node is blocked like any failed one and takes a retry, not a resume.
  for (let position = 0; position < step.state.nodes.length; position += 1) {
    const candidate = step.state.nodes[position];
    const attemptRecorded = candidate.history.some((record) => record.attempt === candidate.currentAttempt);
    if (candidate.status === 'blocked' && candidate.failureClass === 'dispatch' && !attemptRecorded) {
      const node = step.edit(position);
      step.moveNode(node, 'running', 'node-unblocked', `Node "${node.nodeId}" is dispatched again.`);
      delete node.failureClass;
    }
  }
  // A fanned-out node is running while its instances are: the instances are handed out again.
  // A plan node's child run works on by itself: there is nothing to hand out again. Every one of
  // them is edited below, so the list holds their editable node runs.
  const running = step.state.nodes
    .filter((node) => node.status === 'running' && node.fanOut === undefined && node.type !== 'plan')
    .map((node) => step.edit(node));
  for (const node of running) {
    // The owner gets the work again, so the attempt's timeout counts from now; its deadline does not
    // move (it counts from the attempt's first dispatch, `startedAt`). docs/design-choices.md.
    node.dispatchedAt = now;
    step.emit('run-resumed', {
      nodeId: node.nodeId,
      attempt: node.currentAttempt,
      message: `Run resumed by ${step.by}: node "${node.nodeId}" is handed to its owner again.`,
    });
    step.workItems.push(workItemFor(step.state, node, 'resumed'));
  }
  if (running.length === 0) step.emit('run-resumed', { message: `Run resumed by ${step.by}.` });
  settle(step);
  const summary = running.length
    ? `Run resumed by ${step.by}: ${running.map((node) => `"${node.nodeId}" (attempt ${node.currentAttempt ?? node.attempts + 1})`).join(', ')} handed to ${running.length === 1 ? 'its owner' : 'their owners'} again.`
    : `Run resumed by ${step.by}: no node was running, so nothing was handed out again; the graph was re-evaluated.`;
  return { ...step.finish('run-resumed'), summary };
}

export function retryNode(state: RunState, payload: unknown, now: string, limits?: PayloadLimits): Transition | Refusal {
  const parsed = parseMessage(MESSAGE_SHAPES.RetryRequest, payload ?? {}, 'retry', limits);
  if (parsed.refused) return parsed;
  if (isFinished(state)) return refuse('run-finished', `Run ${state.runId} is ${state.status}: nothing can be retried.`);
  const request = parsed.message;
  const named = findNodeRun(state, request.nodeId);
  if (!named) return refuse('unknown-node', `${unknownTargetMessage(state, request.nodeId)}.`);
  // A failed instance failed its node: retrying either retries the node's failed and cancelled instances.
  const parentOfNamed = named.instanceOf !== undefined ? findNodeRun(state, named.instanceOf) : undefined;
  const existing = named.status === 'failed' && parentOfNamed?.status === 'failed' ? parentOfNamed : named;
  if (existing.fanOut && existing.status === 'failed') return retryFanOut(state, existing.nodeId, request.by, now);
  if (existing.status !== 'failed' && existing.status !== 'blocked') {
    return refuse('not-retryable', `Node "${request.nodeId}" is ${existing.status}: only failed or blocked nodes can be retried.`);
  }
  const step = new Step(state, now, request.by);
  const node = step.edit(request.nodeId);
  // A node retried after it went over its budget gets its budget afresh: else its next result would
  // fail at once (docs/semantics.md, "Budgets").
  if (node.failureClass === 'budget') restartNodeBudget(node);
  delete node.failureClass;
  delete node.finishedAt;
  if (request.input !== undefined) {
    // An instance keeps its item and index unless the new input names them.
    node.resolvedInput = node.instanceOf !== undefined ? { ...(node.resolvedInput as object), ...(clone(request.input) as object) } : clone(request.input);
  }
  const detail = { by: request.by, ...(request.input !== undefined ? { inputReplaced: true } : {}) };
  if (request.input !== undefined && specNode(state, node.nodeId).inputSchema) {
    // A replaced input goes through the node's input check again before the node is ready.
    step.moveNode(node, 'pending', 'node-unblocked', `Node "${node.nodeId}" was retried by ${request.by}; its new input is being checked.`, detail);
    node.inputCheckPending = true;
  } else {
    step.moveNode(node, 'ready', 'node-unblocked', `Node "${node.nodeId}" was retried by ${request.by}.`, detail);
    // A `forEach` node that failed before it fanned out (its list was not a list) reads its list again.
    const forEach = node.instanceOf === undefined ? specNode(state, node.nodeId).forEach : undefined;
    if (forEach) startFanOut(step, node, forEach);
  }
  settle(step);
  const transition = step.finish('node-retried');
  const after = nodeRun(transition.state, request.nodeId);
  const next = after.currentAttempt ?? after.attempts + 1;
  const where =
    after.status === 'running' || after.status === 'awaiting-human'
      ? `attempt ${next} is now ${after.status === 'running' ? 'running' : 'waiting for a person'}`
      : after.inputCheckPending
        ? `its new input is being checked; attempt ${next} follows if it passes`
        : `attempt ${next} comes next (the node is ${after.status})`;
  return { ...transition, summary: `Node "${request.nodeId}" was retried by ${request.by}: ${where}.` };
}

/**
 * Retries a fanned-out node that failed because an instance failed for good: that instance and the
 * ones cancelled with it are handed out again (attempt numbers continue); the instances that
 * finished keep their results.
 */
function retryFanOut(state: RunState, nodeId: string, by: string, now: string): Transition {
  const step = new Step(state, now, by);
  const node = step.edit(nodeId);
  const again = instancesOf(step.state, nodeId).filter((instance) => instance.status === 'failed' || (instance.status === 'cancelled' && !instance.cancelledByJoin));
  delete node.failureClass;
  delete node.finishedAt;
  step.moveNode(node, 'running', 'node-unblocked', `Node "${nodeId}" was retried by ${by}: ${again.length} instance(s) run again.`, {
    by,
    instances: again.map((instance) => instance.nodeId),
  });
  for (const failed of again) {
    const instance = step.edit(failed);
    if (instance.failureClass === 'budget') restartNodeBudget(instance);
    delete instance.failureClass;
    delete instance.finishedAt;
    step.moveNode(instance, 'ready', 'node-unblocked', `Node "${instance.nodeId}" was retried by ${by}.`, { by, node: nodeId });
  }
  settle(step);
  return {
    ...step.finish('node-retried'),
    summary: `Node "${nodeId}" was retried by ${by}: ${again.map((instance) => instance.nodeId).join(', ') || 'no instance'} run${again.length === 1 ? 's' : ''} again.`,
  };
}

/**
 * A wake-up that could not be delivered after its retries (docs/semantics.md §12): the node, if it still waits for
 * that attempt, is `blocked` with class `dispatch` (checkpoint `owner-dispatch-failed`); `resume`
 * dispatches it again. A failure that no longer matters (the node moved on) changes nothing.
 */
export function dispatchFailed(
  state: RunState,
  failure: { nodeId: string; attempt: number; message: string },
  now: string,
): Transition | undefined {
  const existing = findNodeRun(state, failure.nodeId);
  if (isFinished(state) || existing?.status !== 'running' || existing.currentAttempt !== failure.attempt) return undefined;
  const step = new Step(state, now, 'engine');
  const node = step.edit(failure.nodeId);
  node.failureClass = 'dispatch';
  step.moveNode(
    node,
    'blocked',
    'node-blocked',
    `Node "${node.nodeId}" is blocked: its owner could not be woken (${failure.message}). Resume the run to dispatch it again.`,
    { failureClass: 'dispatch', message: failure.message },
  );
  settle(step);
  return step.finish('owner-dispatch-failed');
}

/** The operations a run accepts as messages (docs/semantics.md §11). */
export type OperationKind = 'cancel' | 'resume' | 'retry' | 'replan' | 'raiseBudget';

/**
 * Records a refused operation *signal* as event `operation-rejected` (an update would have answered
 * the caller with the refusal). Nothing in the run changes: no checkpoint.
 */
export function rejectOperation(state: RunState, operation: OperationKind, payload: unknown, refusal: Refusal, now: string): Transition {
  // Only what is safe to record is taken from the refused payload (see `rejectSubmission`).
  const record = (payload !== null && typeof payload === 'object' ? payload : {}) as { by?: unknown; nodeId?: unknown };
  const requestedNodeId = recordableName(record.nodeId);
  const step = new Step(state, now, recordableName(record.by) ?? 'unknown');
  const nodeId = operation === 'retry' && requestedNodeId !== undefined && findNodeRun(state, requestedNodeId) ? requestedNodeId : undefined;
  step.emit('operation-rejected', {
    nodeId,
    message: `Rejected ${operation}: ${storableText(refusal.message)}`,
    detail: { operation, reason: refusal.reason, ...(requestedNodeId !== undefined ? { requestedNodeId } : {}) },
  });
  return { state: step.state, events: step.events, workItems: [] };
}

/** A webhook sink stopped receiving this run's events (HTTP 410, or its retries gave up). */
export function sinkDisabled(state: RunState, sink: { sinkId: string; reason: string }, now: string): Transition {
  const step = new Step(state, now, 'engine');
  step.emit('sink-disabled', {
    message: `Webhook sink "${sink.sinkId}" was disabled: ${sink.reason}. This run sends it no more events.`,
    detail: { sinkId: sink.sinkId, reason: sink.reason },
  });
  // Nothing in the graph moved: no checkpoint (docs/semantics.md §10 records transitions that changed something).
  return { state: step.state, events: step.events, workItems: [] };
}
