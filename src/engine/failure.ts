/**
 * What happens after a failed attempt (docs/semantics.md §7): retry while attempts remain and the class is
 * retryable, else the first matching `onFailure` rule decides (default `abort`).
 */
import { requestHuman } from './dispatch';
import { specNode } from './run-state';
import type { FailureAction, FailureClass } from './spec';
import type { Step } from './step';
import type { CheckpointReason, EventType, Issue, NodeRun } from './types';

/**
 * How the failed attempt is reported. By default event `validation-reported`; a timeout the engine
 * detected itself (docs/semantics.md §9) reports `node-timed-out` instead, with its own message and detail.
 */
export interface FailureReport {
  type: EventType;
  message: string;
  detail?: Record<string, unknown>;
}

/** `node` is editable (`Step.edit`), as in every rule that takes the node run it changes. */
export function handleFailedAttempt(
  step: Step,
  node: NodeRun,
  failureClass: FailureClass,
  issues: Issue[],
  failureMessage?: string,
  report?: FailureReport,
): CheckpointReason {
  const spec = specNode(step.state, node.nodeId);
  node.failureClass = failureClass;
  node.lastIssues = issues;
  step.emit(report?.type ?? 'validation-reported', {
    nodeId: node.nodeId,
    attempt: node.currentAttempt ?? node.attempts,
    message: report?.message ?? describeFailure(node.nodeId, failureClass, issues, failureMessage),
    detail: { failureClass, issues, ...(failureMessage ? { failureMessage } : {}), ...report?.detail },
  });

  const maxAttempts = spec.retry?.maxAttempts ?? 1;
  const retryOn = spec.retry?.retryOn ?? [];
  // Input failures are not retried: the same input would fail the same check again.
  const retryable = failureClass !== 'input' && (retryOn.length === 0 || retryOn.includes(failureClass));
  const used = node.attempts - (node.attemptBase ?? 0);
  if (used < maxAttempts && retryable) {
    step.moveNode(
      node,
      'ready',
      'node-unblocked',
      `Node "${node.nodeId}" will be tried again (attempt ${used + 1} of ${maxAttempts}${node.attemptBase ? ` since the replan, attempt number ${node.attempts + 1}` : ''}).`,
      { failureClass, previousIssues: issues },
    );
    return 'node-result-retry';
  }

  const action: FailureAction = spec.onFailure?.find((rule) => rule.on === failureClass)?.action ?? 'abort';
  step.state.failureCount += 1;
  return applyFailureAction(step, node, action, failureClass);
}

/** What the plan does with a failure that is not tried again (`onFailure`; default abort). */
export function applyFailureAction(step: Step, node: NodeRun, action: FailureAction, failureClass: FailureClass): CheckpointReason {
  const detail = { failureClass, action };
  switch (action) {
    case 'human-review':
      requestHuman(step, node, 'review');
      return 'node-result-human-review';
    case 'replan':
      step.moveNode(node, 'blocked', 'node-blocked', `Node "${node.nodeId}" is blocked (${failureClass}): it waits for a replan or a retry.`, detail);
      return 'node-result-replan';
    case 'skip':
      step.moveNode(node, 'skipped', 'node-skipped', `Node "${node.nodeId}" was skipped after a ${failureClass} failure.`, detail);
      return 'node-result-skip';
    case 'abort':
      step.moveNode(node, 'failed', 'node-failed', `Node "${node.nodeId}" failed (${failureClass}) and aborted the run.`, detail);
      return 'node-result-failed';
  }
}

function describeFailure(nodeId: string, failureClass: FailureClass, issues: Issue[], failureMessage?: string): string {
  if (failureClass === 'validation' || failureClass === 'input') {
    const blocking = issues.filter((issue) => issue.severity === 'blocking');
    const first = blocking[0];
    const where = first?.path ? ` at ${first.path}` : '';
    const more = blocking.length > 1 ? ` (and ${blocking.length - 1} more)` : '';
    return `Node "${nodeId}" failed ${failureClass === 'input' ? 'its input check' : 'validation'}: ${first?.message ?? 'blocking issue'}${where}${more}.`;
  }
  return `Node "${nodeId}" reported a ${failureClass} failure${failureMessage ? `: ${failureMessage}` : ''}.`;
}
