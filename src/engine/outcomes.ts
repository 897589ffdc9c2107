/**
 * What an accepted message did, in data and in one sentence: whether the result passed, which
 * attempt comes next or what the plan did about a failure, and where the node and run are now.
 * `accepted: true` only says the message was taken and recorded; `verdict` says whether the result
 * itself passed (docs/agent-contract.md, "What the answer means").
 */
import type { FailureAction } from './spec';
import type { CheckpointReason, Issue, NodeStatus, RunStatus, SubmitOutcome } from './types';

/** The failure action a checkpoint reason stands for (when the attempts are used up or not retried). */
export function failureActionOf(reason: CheckpointReason): FailureAction | undefined {
  switch (reason) {
    case 'node-result-human-review':
      return 'human-review';
    case 'node-result-replan':
      return 'replan';
    case 'node-result-skip':
      return 'skip';
    case 'node-result-failed':
      return 'abort';
    default:
      return undefined;
  }
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function firstBlocking(issues: Issue[]): string {
  const first = issues.find((issue) => issue.severity === 'blocking');
  if (!first) return '';
  return `: ${first.path ? `${first.path}: ` : ''}${first.message}`;
}

function whereNow(nodeId: string, nodeStatus: NodeStatus, runStatus: RunStatus): string {
  return `node "${nodeId}" is ${nodeStatus}, run ${runStatus}`;
}

/**
 * The sentence of an agent result's outcome, e.g.
 * `Result rejected (1 blocking issue: /sources: must have at least 1 item); attempt 2 of 2 is now running.`
 */
export function describeAgentOutcome(outcome: SubmitOutcome): string {
  const { nodeId, attempt, nodeStatus, runStatus, issues } = outcome;
  const warnings = issues.filter((issue) => issue.severity === 'warning').length;
  const blocking = issues.filter((issue) => issue.severity === 'blocking').length;
  switch (outcome.verdict) {
    case 'completed':
      return `Result accepted: node "${nodeId}" completed (attempt ${attempt}); run ${runStatus}.`;
    case 'partial':
      return `Result accepted with ${count(warnings, 'warning')}: node "${nodeId}" is partial (attempt ${attempt}); run ${runStatus}.`;
    default: {
      const head =
        outcome.verdict === 'rejected'
          ? `Result rejected (${count(blocking, 'blocking issue')}${firstBlocking(issues)})`
          : `Failure recorded for attempt ${attempt}${outcome.failureClass ? ` (${outcome.failureClass})` : ''}`;
      if (outcome.nextAttempt) {
        const next = `attempt ${outcome.nextAttempt.attempt} of ${outcome.nextAttempt.of}`;
        return nodeStatus === 'running'
          ? `${head}; ${next} is now running.`
          : `${head}; ${next} comes next (${whereNow(nodeId, nodeStatus, runStatus)}).`;
      }
      // A node over its budget is not tried again, whatever attempts are left (docs/semantics.md, "Budgets").
      const used =
        outcome.failureClass === 'budget'
          ? 'over its budget, so not retried'
          : outcome.maxAttempts !== undefined ? `no attempts left (${outcome.maxAttempts} of ${outcome.maxAttempts} used)` : 'not retried';
      switch (outcome.failureAction) {
        case 'human-review':
          return `${head}; ${used}: node "${nodeId}" waits for a person's review${outcome.approvalId ? ` (${outcome.approvalId})` : ''}.`;
        case 'replan':
          return `${head}; ${used}: node "${nodeId}" is blocked until a retry or a replan.`;
        case 'skip':
          return `${head}; ${used}: node "${nodeId}" was skipped; run ${runStatus}.`;
        default:
          return `${head}; ${used}: node "${nodeId}" failed and the run is ${runStatus}; retry the node, replan or cancel the run.`;
      }
    }
  }
}

/** The sentence of a human response's outcome, e.g. `Answer recorded: approval approve#1 approved by alice; …`. */
export function describeHumanOutcome(outcome: SubmitOutcome, respondedBy: string): string {
  const { nodeId, nodeStatus, runStatus, issues } = outcome;
  const approval = outcome.approvalId ? `approval ${outcome.approvalId}` : `node "${nodeId}"`;
  if (outcome.verdict === 'rejected') {
    return `Answer by ${respondedBy} not accepted (${count(issues.filter((i) => i.severity === 'blocking').length, 'blocking issue')}${firstBlocking(issues)}): ${whereNow(nodeId, nodeStatus, runStatus)}; retry the node to ask again.`;
  }
  const quorum = outcome.quorum;
  if (quorum && !quorum.resolved) {
    return `Vote recorded: ${respondedBy} on ${approval}, ${quorum.approvals} of ${quorum.required} approval${quorum.required === 1 ? '' : 's'} so far; it stays pending, waiting for ${quorum.waitingFor.join(', ')}.`;
  }
  if (quorum) {
    return `Vote recorded: ${approval} ${outcome.approvalStatus ?? 'responded'} with the vote of ${respondedBy} (${quorum.approvals} of ${quorum.required} approval${quorum.required === 1 ? '' : 's'}, ${count(quorum.votes, 'vote')}); ${whereNow(nodeId, nodeStatus, runStatus)}.`;
  }
  return `Answer recorded: ${approval} ${outcome.approvalStatus ?? 'responded'} by ${respondedBy}; ${whereNow(nodeId, nodeStatus, runStatus)}.`;
}
