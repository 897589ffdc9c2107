/**
 * Agent results (docs/semantics.md §7): refuse what must be refused (changing nothing), hand the rest to the
 * validation activity, then record the attempt and route the node.
 */
import { upperFirst } from './suggest';
import { fanOutTargetProblem, unknownTargetMessage } from './fan-out';
import { describeAgentOutcome, failureActionOf } from './outcomes';
import type { AgentSubmission } from './messages';
import { MESSAGE_SHAPES } from './message-shapes';
import { admitMessage, refuse, rememberSubmission, type MessageCheck } from './message-checks';
import { applyFailureAction, handleFailedAttempt } from './failure';
import { addAttemptUsage, budgetIssue, checkNodeBudget, hasUsage } from './budgets';
import { recordableName, storableText, type PayloadLimits } from './limits';
import { clone } from './paths';
import { findNodeRun, findSpecNode, mergeArtifacts, nodeContext, nodeRun, specNode } from './run-state';
import { settle } from './settle';
import { isTokenOfNode, requiresTokens, tokenRefusal } from './tokens';
import { Step } from './step';
import { schemasFor } from './schemas';
import type { AppliedMessage, AttemptRecord, Issue, NodeRun, Refusal, RunState, SubmitOutcome, Transition, ValidationRequest } from './types';

export type SubmissionCheck = MessageCheck<{ submission: AgentSubmission; validation: ValidationRequest | null }>;

/**
 * Decides whether a submission is accepted, without changing anything. Accepted submissions come
 * with the validation the activity must run (`null` when the agent reported a failure).
 */
export function checkAgentSubmission(state: RunState, payload: unknown, limits?: PayloadLimits): SubmissionCheck {
  const admitted = admitMessage(state, MESSAGE_SHAPES.AgentSubmission, payload, 'result', limits);
  if (admitted.refused) return admitted;
  if (admitted.duplicate) {
    // A run that requires tokens tells a retried delivery its first outcome only if it carries a
    // token of that node (any attempt's: the retry may come after the node moved on).
    const raw = payload as { nodeId?: unknown; token?: unknown };
    const node = typeof raw.nodeId === 'string' ? findNodeRun(state, raw.nodeId) : undefined;
    const token = typeof raw.token === 'string' ? raw.token : undefined;
    if (requiresTokens(state) && !(node && isTokenOfNode(state, node.nodeId, token, node.currentAttempt ?? node.attempts))) {
      return refuse('invalid-token', 'This run takes results only with a work-item token of the node they answer; the token is missing or wrong.');
    }
    return admitted;
  }
  const submission = admitted.message;
  const spec = findSpecNode(state, submission.nodeId);
  const node = findNodeRun(state, submission.nodeId);
  if (!spec || !node) return refuse('unknown-node', `${unknownTargetMessage(state, submission.nodeId)}.`);
  if (spec.type !== 'task') {
    return refuse('not-agent-node', `Node "${spec.id}" is a ${spec.type} node: the engine or a person completes it, not an agent.`);
  }
  // A fanned-out node takes no result itself: its instances do (docs/semantics.md, "Fan-out").
  const fannedOut = spec.forEach && node.instanceOf === undefined ? fanOutTargetProblem(state, submission.nodeId) : undefined;
  if (fannedOut) return refuse('node-not-running', `${upperFirst(fannedOut)}.`);
  if (node.status !== 'running') {
    return refuse('node-not-running', `Node "${spec.id}" is ${node.status}, not running: it takes no result now${timedOut(node, submission.attempt)}.`);
  }
  const tokenProblem = tokenRefusal(state, node, submission.token, node.currentAttempt ?? node.attempts + 1);
  if (tokenProblem) return tokenProblem;
  if (submission.attempt !== undefined && submission.attempt !== node.currentAttempt) {
    return refuse(
      'stale-attempt',
      `Attempt ${submission.attempt} of node "${spec.id}" is stale${timedOut(node, submission.attempt)}: the current attempt is ${node.currentAttempt}.`,
    );
  }
  if (submission.failure) return { refused: false, submission, validation: null };
  const artifacts = mergeArtifacts(node.artifacts, submission.artifacts);
  const validation: ValidationRequest = {
    schemaRef: spec.outputSchema,
    schemas: schemasFor(state.spec.schemas, spec.outputSchema),
    value: submission.structuredOutput,
    checks: spec.completionChecks ?? [],
    context: nodeContext(state, node, { output: submission.structuredOutput, artifact: artifacts }),
    schemaIssueCode: 'schema',
  };
  return { refused: false, submission, validation };
}

/** ` (attempt N timed out at …)` when the named (else the latest) attempt was ended by a timer (docs/semantics.md §9). */
function timedOut(node: NodeRun, attempt: number | undefined): string {
  const record = attempt !== undefined ? node.history.find((entry) => entry.attempt === attempt) : node.history[node.history.length - 1];
  if (record?.failureClass !== 'timeout' || record.by !== 'engine') return '';
  return ` (attempt ${record.attempt} timed out at ${record.at})`;
}

/** Records a refused signal as event `result-rejected` (an update would have answered with an error). */
export function rejectSubmission(state: RunState, payload: unknown, refusal: Refusal, now: string, by?: string): Transition {
  // The payload was refused, so only what is safe to record is taken from it: names and ids that
  // are short and hold text every store can hold (a refused payload may be huge or hold a NUL).
  const record = (payload !== null && typeof payload === 'object' ? payload : {}) as {
    nodeId?: unknown;
    attempt?: unknown;
    submissionId?: unknown;
    by?: unknown;
    respondedBy?: unknown;
  };
  const requestedNodeId = recordableName(record.nodeId);
  const submissionId = recordableName(record.submissionId);
  const step = new Step(state, now, by ?? recordableName(record.by) ?? recordableName(record.respondedBy) ?? 'unknown');
  step.emit('result-rejected', {
    nodeId: requestedNodeId !== undefined && findNodeRun(state, requestedNodeId) ? requestedNodeId : undefined,
    attempt: typeof record.attempt === 'number' && Number.isSafeInteger(record.attempt) ? record.attempt : undefined,
    message: `Rejected: ${storableText(refusal.message)}`,
    detail: {
      reason: refusal.reason,
      ...(requestedNodeId !== undefined ? { requestedNodeId } : {}),
      ...(submissionId !== undefined ? { submissionId } : {}),
    },
  });
  return step.finish('node-result-failed');
}

/** Records an accepted submission with the issues the validation activity found. */
export function applyAgentSubmission(
  state: RunState,
  payload: unknown,
  issues: Issue[],
  now: string,
  limits?: PayloadLimits,
): AppliedMessage | Refusal {
  const check = checkAgentSubmission(state, payload, limits);
  if (check.refused) return check;
  if (check.duplicate) return { state, events: [], workItems: [], outcome: check.duplicate };
  const { submission } = check;
  const step = new Step(state, now, submission.by ?? `agent:${specNode(state, submission.nodeId).owner?.ref ?? 'unknown'}`);
  const node = step.edit(submission.nodeId);
  const attempt = node.currentAttempt ?? node.attempts + 1;

  const failureClass = submission.failure
    ? (submission.failure.class ?? 'agent-error')
    : issues.some((issue) => issue.severity === 'blocking')
      ? 'validation'
      : undefined;
  const warnings = issues.some((issue) => issue.severity === 'warning');
  const record: AttemptRecord = {
    attempt,
    ...(node.iteration !== undefined ? { iteration: node.iteration } : {}),
    kind: 'agent',
    by: step.by,
    at: now,
    submissionId: submission.submissionId,
    output: clone(submission.structuredOutput),
    notes: submission.notes,
    artifacts: clone(submission.artifacts ?? []),
    issues,
    status: failureClass ? 'failed' : warnings ? 'partial' : 'completed',
    failureClass,
    failureMessage: submission.failure?.message,
  };
  if (record.submissionId === undefined) delete record.submissionId;
  if (record.failureClass === undefined) delete record.failureClass;
  if (record.failureMessage === undefined) delete record.failureMessage;
  if (record.notes === undefined) delete record.notes;
  if (hasUsage(submission.usage)) record.usage = { ...submission.usage };
  node.history = [...node.history, record];
  node.attempts += 1;
  addAttemptUsage(step.state, node, submission.usage, node.instanceOf);
  // The node's output is the latest attempt's: a passing attempt never inherits a rejected output.
  node.output = clone(submission.structuredOutput);
  if (submission.notes !== undefined) node.notes = submission.notes;
  if (submission.handoffContext !== undefined) node.handoffContext = clone(submission.handoffContext);
  node.artifacts = mergeArtifacts(node.artifacts, submission.artifacts);

  let reason: ReturnType<typeof handleFailedAttempt> = 'node-result-complete';
  // The attempt is recorded as it was; then the node's budget (docs/semantics.md, "Budgets"): one
  // that is passed fails the node with class budget, with no retry (another attempt costs more).
  const budget = specNode(step.state, submission.nodeId).budget;
  const overBudget = hasUsage(submission.usage) ? checkNodeBudget(step, node, budget) : undefined;
  if (overBudget) {
    const issue = budgetIssue(node, budget);
    node.history = [...node.history.slice(0, -1), { ...record, status: 'failed', failureClass: 'budget', issues: [...issues, issue] }];
    node.failureClass = 'budget';
    node.lastIssues = [...issues, issue];
    step.state.failureCount += 1;
    const action = specNode(step.state, submission.nodeId).onFailure?.find((rule) => rule.on === 'budget')?.action ?? 'abort';
    reason = applyFailureAction(step, node, action, 'budget');
  } else if (failureClass) {
    reason = handleFailedAttempt(step, node, failureClass, issues, submission.failure?.message);
  } else {
    node.lastIssues = [];
    delete node.failureClass;
    step.moveNode(
      node,
      warnings ? 'partial' : 'completed',
      warnings ? 'node-partial' : 'node-completed',
      warnings
        ? `Node "${node.nodeId}" completed with ${issues.length} warning(s) (attempt ${attempt}).`
        : `Node "${node.nodeId}" completed (attempt ${attempt}).`,
      issues.length ? { issues } : undefined,
    );
  }
  settle(step);
  const transition = step.finish(reason);
  const after = nodeRun(transition.state, submission.nodeId);
  const finalClass = overBudget ? 'budget' : failureClass;
  const outcome: SubmitOutcome = {
    accepted: true,
    nodeId: submission.nodeId,
    attempt,
    nodeStatus: after.status,
    runStatus: transition.state.status,
    issues: overBudget ? after.lastIssues : issues,
    verdict: submission.failure ? 'failed' : finalClass ? 'rejected' : warnings ? 'partial' : 'completed',
  };
  if (finalClass) {
    const maxAttempts = specNode(transition.state, submission.nodeId).retry?.maxAttempts ?? 1;
    outcome.failureClass = finalClass;
    outcome.maxAttempts = maxAttempts;
    if (reason === 'node-result-retry') {
      outcome.nextAttempt = { attempt: after.attempts - (after.attemptBase ?? 0) + 1, of: maxAttempts };
    } else {
      const action = failureActionOf(reason);
      if (action) outcome.failureAction = action;
      if (after.approvalId && action === 'human-review') outcome.approvalId = after.approvalId;
    }
  }
  outcome.message = describeAgentOutcome(outcome);
  if (submission.submissionId) rememberSubmission(transition.state, submission.submissionId, outcome);
  return { ...transition, outcome };
}
