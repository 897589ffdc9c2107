/**
 * Human responses (docs/semantics.md §8): find the pending approval, refuse what must be refused, check the
 * response's shape for the node type, then (after the validation activity) record and route. On a
 * quorum approval (docs/semantics.md, "Quorum approvals") an answer is one approver's vote: it is
 * recorded on the approval, and only the vote that makes the outcome certain resolves the node.
 */
import { listNames } from './suggest';
import { fanOutTargetProblem, unknownTargetMessage } from './fan-out';
import { describeHumanOutcome } from './outcomes';
import { admitMessage, refuse, rememberSubmission, type MessageCheck } from './message-checks';
import type { HumanResponse } from './messages';
import { MESSAGE_SHAPES, parseShape, type MessageShape } from './message-shapes';
import type { PayloadLimits } from './limits';
import { clone } from './paths';
import { findNodeRun, findSpecNode, nodeContext, nodeRun, specNode } from './run-state';
import { schemasFor } from './schemas';
import { settle } from './settle';
import { Step } from './step';
import { decideQuorum, describeTally, describeVotes, quorumOutput, type QuorumDecision } from './quorum';
import type { AppliedMessage, Approval, ApprovalStatus, AttemptRecord, Issue, QuorumVote, Refusal, RunState, SubmitOutcome, Transition, ValidationRequest } from './types';

/**
 * An accepted answer: its approval, and the validation request for the node's output (absent for a
 * vote that leaves its quorum approval pending: nothing is the node's output yet). On a quorum
 * approval, `vote` is the answer as a vote and `decision` the tally with it.
 */
export type ResponseCheck = MessageCheck<{
  response: HumanResponse;
  approval: Approval;
  validation?: ValidationRequest;
  vote?: QuorumVote;
  decision?: QuorumDecision;
}>;

/**
 * Checks an answer against the run. `now` is the time the answer will be applied at: a vote that
 * resolves a quorum approval is validated as the node's output, which lists every vote with its time.
 */
export function checkHumanResponse(state: RunState, payload: unknown, limits?: PayloadLimits, now?: string): ResponseCheck {
  const admitted = admitMessage(state, MESSAGE_SHAPES.HumanResponse, payload, 'response', limits);
  if (admitted.refused || admitted.duplicate) return admitted;
  const response = admitted.message;

  const target = findPendingApproval(state, response);
  if ('refused' in target) return target;
  const approval = target;
  if (approval.approvers.length > 0 && !approval.approvers.includes(response.respondedBy)) {
    return refuse(
      'not-authorized',
      `${response.respondedBy} may not answer approval ${approval.approvalId}: approvers are ${approval.approvers.join(', ')}.`,
    );
  }
  const earlier = approval.votes?.find((vote) => vote.by === response.respondedBy);
  if (earlier) {
    return refuse(
      'already-voted',
      `${response.respondedBy} already voted on approval ${approval.approvalId} (${earlier.approved ? 'approved' : 'rejected'} at ${earlier.at}); ` +
        `each approver votes once. Votes so far: ${describeVotes(approval.votes ?? [])}.`,
    );
  }
  const spec = specNode(state, approval.nodeId);
  const shapeError = checkShape(approval, spec.type, spec.options, response.response);
  if (shapeError) {
    return refuse(
      'invalid-response',
      `Response to ${approval.approvalId} has the wrong shape for a ${approval.kind === 'review' ? 'review' : spec.type} node ` +
        `("${approval.nodeId}"): ${shapeError}. ${EXPECTED_SHAPE[spec.type] ?? ''}`.trimEnd(),
    );
  }

  const node = nodeRun(state, approval.nodeId);
  const validationOf = (value: Record<string, unknown>): ValidationRequest => ({
    schemaRef: spec.outputSchema,
    schemas: schemasFor(state.spec.schemas, spec.outputSchema),
    value,
    checks: spec.completionChecks ?? [],
    context: nodeContext(state, node, { output: value }),
    schemaIssueCode: 'schema',
  });
  if (approval.quorum) {
    const vote = voteOf(response, now);
    const votes = [...(approval.votes ?? []), vote];
    const decision = decideQuorum(approval.approvers, approval.quorum, votes);
    // Only the vote that resolves the approval makes the node's output, and that output is checked.
    const validation = decision.resolved ? validationOf(quorumOutput(decision.status, votes)) : undefined;
    return { refused: false, response, approval, vote, decision, ...(validation ? { validation } : {}) };
  }
  return { refused: false, response, approval, validation: validationOf(response.response) };
}

/** An approval answer as a vote: `{by, approved, requiredEdits?, comments?, at}`. */
function voteOf(response: HumanResponse, now: string | undefined): QuorumVote {
  const answer = response.response as { approved: boolean; requiredEdits?: string[]; comments?: string };
  return {
    by: response.respondedBy,
    approved: answer.approved,
    ...(answer.requiredEdits?.length ? { requiredEdits: [...answer.requiredEdits] } : {}),
    ...(answer.comments !== undefined ? { comments: answer.comments } : {}),
    at: now ?? '',
  };
}

/** `approved by bob at T`: how a closed approval was closed, for a refusal that names it. */
function closedAs(approval: Approval): string {
  if (approval.status === 'expired') return `expired at ${approval.resolvedAt} (its deadline passed)`;
  const what =
    approval.status === 'responded'
      ? typeof approval.response?.decision === 'string'
        ? `answered "${approval.response.decision}"`
        : 'answered'
      : approval.status;
  return `already ${what}${approval.respondedBy ? ` by ${approval.respondedBy}` : ''}${approval.resolvedAt ? ` at ${approval.resolvedAt}` : ''}`;
}

/** The latest closed approval of a node (or of the run), to say what became of it. */
function latestClosed(state: RunState, nodeId?: string): Approval | undefined {
  return state.approvals.filter((a) => a.status !== 'pending' && (nodeId === undefined || a.nodeId === nodeId)).at(-1);
}

function findPendingApproval(state: RunState, response: HumanResponse): Approval | Refusal {
  const pending = state.approvals.filter((approval) => approval.status === 'pending');
  if (response.nodeId !== undefined && (!findSpecNode(state, response.nodeId) || !findNodeRun(state, response.nodeId))) {
    return refuse('unknown-node', `${unknownTargetMessage(state, response.nodeId)}.`);
  }
  if (response.approvalId !== undefined) {
    const approval = pending.find((candidate) => candidate.approvalId === response.approvalId);
    if (!approval) {
      const current = pending.map((candidate) => candidate.approvalId);
      const closed = state.approvals.find((candidate) => candidate.approvalId === response.approvalId);
      const why = closed ? ` (it was ${closedAs(closed)})` : ' (no such approval in this run)';
      return refuse(
        'approval-mismatch',
        `Approval ${response.approvalId} is not pending${why}${current.length ? `; pending: ${current.join(', ')}` : ''}.`,
      );
    }
    if (response.nodeId !== undefined && approval.nodeId !== response.nodeId) {
      return refuse('approval-mismatch', `Approval ${response.approvalId} belongs to node "${approval.nodeId}", not "${response.nodeId}".`);
    }
    return approval;
  }
  if (response.nodeId !== undefined) {
    const approval = pending.find((candidate) => candidate.nodeId === response.nodeId);
    if (!approval) {
      const status = findNodeRun(state, response.nodeId)?.status;
      const fannedOut = fanOutTargetProblem(state, response.nodeId);
      if (fannedOut) return refuse('no-pending-approval', `Node "${response.nodeId}" has no approval of its own: ${fannedOut}.`);
      const closed = latestClosed(state, response.nodeId);
      const why = closed ? `: approval ${closed.approvalId} was ${closedAs(closed)}` : '';
      return refuse('no-pending-approval', `Node "${response.nodeId}" has no pending approval (the node is ${status})${why}.`);
    }
    return approval;
  }
  if (pending.length === 0) {
    const closed = latestClosed(state);
    const why = closed ? `: the latest, ${closed.approvalId} on node "${closed.nodeId}", was ${closedAs(closed)}` : '';
    return refuse('no-pending-approval', `Run ${state.runId} has no pending approval${why}.`);
  }
  if (pending.length > 1) {
    return refuse(
      'ambiguous-approval',
      `Several approvals are pending (${listNames(pending.map((a) => `${a.approvalId} on "${a.nodeId}"`))}): name the node or approval.`,
    );
  }
  return pending[0];
}

/** What each human node type takes, said when an answer has the wrong shape (docs/semantics.md §8). */
const EXPECTED_SHAPE: Record<string, string> = {
  'human-approval': 'It takes {"approved": true} or {"approved": false}, optionally with "requiredEdits" and "comments".',
  'human-decision': 'It takes {"decision": "<one of its options>"}, optionally with "comments".',
  'human-review-edit': 'It takes {"edited": {…the corrected output…}}, optionally with "approved" and "comments".',
};

function checkShape(approval: Approval, type: string, options: string[] | undefined, response: Record<string, unknown>): string | undefined {
  // A review of a failed task attempt takes the corrected output itself (any object).
  if (approval.kind === 'review') return undefined;
  const schemaError = (shape: MessageShape<unknown>) => {
    const parsed = parseShape(shape, response);
    return parsed.ok ? undefined : parsed.problem;
  };
  switch (type) {
    case 'human-approval':
      return schemaError(MESSAGE_SHAPES.ApprovalResponse);
    case 'human-review-edit':
      return schemaError(MESSAGE_SHAPES.ReviewEditResponse);
    case 'human-decision': {
      const error = schemaError(MESSAGE_SHAPES.DecisionResponse);
      if (error) return error;
      const decision = response.decision as string;
      return options?.includes(decision) ? undefined : `decision "${decision}" is not one of: ${(options ?? []).join(', ')}`;
    }
    default:
      return undefined;
  }
}

function approvalStatusOf(approval: Approval, type: string, response: Record<string, unknown>): ApprovalStatus {
  if (approval.kind === 'review' || type !== 'human-approval') return 'responded';
  const edits = Array.isArray(response.requiredEdits) ? response.requiredEdits : [];
  if (edits.length > 0) return 'changes-requested';
  return response.approved === true ? 'approved' : 'rejected';
}

export function applyHumanResponse(
  state: RunState,
  payload: unknown,
  issues: Issue[],
  now: string,
  limits?: PayloadLimits,
): AppliedMessage | Refusal {
  const check = checkHumanResponse(state, payload, limits, now);
  if (check.refused) return check;
  if (check.duplicate) return { state, events: [], workItems: [], outcome: check.duplicate };
  const { response } = check;
  const step = new Step(state, now, response.respondedBy);
  const approval = step.state.approvals.find((candidate) => candidate.approvalId === check.approval.approvalId) as Approval;
  // Edited only once the answer resolves the approval: a vote that leaves a quorum pending leaves the node as it is.
  let node = nodeRun(step.state, approval.nodeId);
  const type = specNode(state, node.nodeId).type;
  const blocking = issues.filter((issue) => issue.severity === 'blocking');

  // A quorum approval records the vote; only the vote that makes the outcome certain goes on.
  let value: Record<string, unknown> = response.response;
  let shapeStatus: ApprovalStatus;
  let decided = '';
  if (check.vote && check.decision) {
    const decision = check.decision;
    const votes = [...(approval.votes ?? []), check.vote];
    approval.votes = votes;
    step.emit('approval-vote-recorded', {
      nodeId: node.nodeId,
      attempt: approval.attempt,
      approvalId: approval.approvalId,
      message: `${response.respondedBy} ${voteVerb(check.vote)} approval ${approval.approvalId}: ${describeTally(decision)}.`,
      detail: { by: check.vote.by, approved: check.vote.approved },
    });
    if (!decision.resolved) return recordPendingVote(step, approval, node.nodeId, response.submissionId, decision);
    value = quorumOutput(decision.status, votes);
    shapeStatus = decision.status;
    decided = ` (${describeTally(decision)})`;
  } else {
    shapeStatus = approvalStatusOf(approval, type, response.response);
  }

  node = step.edit(node);
  approval.status = blocking.length ? 'invalid' : shapeStatus;
  approval.resolvedAt = now;
  approval.respondedBy = response.respondedBy;
  approval.response = clone(value);
  approval.issues = issues;

  const record: AttemptRecord = {
    attempt: approval.attempt,
    ...(node.iteration !== undefined ? { iteration: node.iteration } : {}),
    kind: 'human',
    by: response.respondedBy,
    at: now,
    output: clone(value),
    artifacts: [],
    issues,
    status: blocking.length ? 'failed' : 'completed',
    ...(blocking.length ? { failureClass: 'validation' as const } : {}),
    ...(response.submissionId ? { submissionId: response.submissionId } : {}),
  };
  node.history = [...node.history, record];
  node.attempts += 1;
  delete node.humanMode;

  step.emit('approval-resolved', {
    nodeId: node.nodeId,
    attempt: approval.attempt,
    approvalId: approval.approvalId,
    message: blocking.length
      ? `Approval ${approval.approvalId} was answered by ${response.respondedBy}, but the answer has ${blocking.length} blocking issue(s).`
      : approval.quorum
        ? `Approval ${approval.approvalId} was decided by the vote of ${response.respondedBy}: ${shapeStatus}${decided}.`
        : `Approval ${approval.approvalId} was answered by ${response.respondedBy}: ${shapeStatus}.`,
    detail: {
      status: approval.status,
      respondedBy: response.respondedBy,
      ...(approval.votes ? { votes: approval.votes.length } : {}),
      ...(issues.length ? { issues } : {}),
    },
  });

  let reason: 'human-response-complete' | 'human-response-blocked';
  if (blocking.length) {
    node.lastIssues = issues;
    node.failureClass = 'validation';
    step.moveNode(node, 'blocked', 'node-blocked', `Node "${node.nodeId}" is blocked: the response did not pass validation.`, { issues });
    reason = 'human-response-blocked';
  } else {
    node.output = clone(value);
    node.lastIssues = [];
    delete node.failureClass;
    step.moveNode(node, 'completed', 'node-completed', `Node "${node.nodeId}" completed with the response of ${response.respondedBy}.`, {
      approvalStatus: shapeStatus,
    });
    reason = 'human-response-complete';
  }
  settle(step);
  const transition = step.finish(reason);
  const outcome: SubmitOutcome = {
    accepted: true,
    nodeId: node.nodeId,
    attempt: approval.attempt,
    nodeStatus: nodeRun(transition.state, node.nodeId).status,
    runStatus: transition.state.status,
    issues,
    approvalId: approval.approvalId,
    approvalStatus: approval.status,
    verdict: blocking.length ? 'rejected' : 'completed',
    ...(check.decision ? { quorum: quorumOutcome(check.decision, approval) } : {}),
  };
  outcome.message = describeHumanOutcome(outcome, response.respondedBy);
  if (response.submissionId) rememberSubmission(transition.state, response.submissionId, outcome);
  return { ...transition, outcome };
}

function quorumOutcome(decision: QuorumDecision, approval: Approval): NonNullable<SubmitOutcome['quorum']> {
  return {
    approvals: decision.approvals,
    required: decision.required,
    votes: approval.votes?.length ?? 0,
    waitingFor: decision.waitingFor,
    resolved: decision.resolved,
  };
}

/**
 * A vote that leaves its quorum approval pending: the vote is on the approval (and its event is
 * emitted); the node keeps waiting, with its deadline still counting from the request.
 */
function recordPendingVote(step: Step, approval: Approval, nodeId: string, submissionId: string | undefined, decision: QuorumDecision): AppliedMessage {
  // The checkpoint is the engine's, caused by the vote (docs/semantics.md §12).
  step.consequences();
  const transition = step.finish('approval-vote-recorded');
  const outcome: SubmitOutcome = {
    accepted: true,
    nodeId,
    attempt: approval.attempt,
    nodeStatus: nodeRun(transition.state, nodeId).status,
    runStatus: transition.state.status,
    issues: [],
    approvalId: approval.approvalId,
    approvalStatus: approval.status,
    quorum: quorumOutcome(decision, approval),
  };
  outcome.message = describeHumanOutcome(outcome, step.by);
  if (submissionId) rememberSubmission(transition.state, submissionId, outcome);
  return { ...transition, outcome };
}

/** `approved`, `rejected`, `asked for edits on`: a vote in words. */
function voteVerb(vote: QuorumVote): string {
  if (vote.requiredEdits?.length) return 'asked for edits on';
  return vote.approved ? 'approved' : 'rejected';
}
