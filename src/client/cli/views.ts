/** What the CLI prints for a run: the JSON views of `status` and `list`, and an outcome's one-line summary. */
import type { RunSnapshot, SubmitOutcome } from '../../engine/types';
import type { RunListEntry } from '../plan-runner-client';
import { recordingLine, table, votesCell } from '../format';
import { brief } from './parse';
import { describeSpending, formatCost } from '../../engine/spending';

/** The `status` view of a snapshot (the JSON contract of `plan-runner status`). */
export function statusView(snapshot: RunSnapshot) {
  return {
    runId: snapshot.runId,
    planId: snapshot.planId,
    title: snapshot.title,
    specVersion: snapshot.specVersion,
    status: snapshot.status,
    ...(snapshot.parent ? { parent: snapshot.parent } : {}),
    nodes: snapshot.nodes.map((node) => ({
      id: node.id,
      type: node.type,
      status: node.status,
      attempts: node.attempts,
      ...(node.currentAttempt !== undefined ? { currentAttempt: node.currentAttempt } : {}),
      ...(node.maxAttempts !== undefined ? { maxAttempts: node.maxAttempts } : {}),
      output: node.output ?? null,
      ...(node.lastAttempt ? { lastAttempt: node.lastAttempt } : {}),
      ...(node.owner ? { owner: `${node.owner.kind}:${node.owner.ref}` } : {}),
      ...(node.failureClass ? { failureClass: node.failureClass } : {}),
      ...(node.issues?.length ? { issues: node.issues } : {}),
      ...(node.iteration !== undefined ? { iteration: node.iteration } : {}),
      ...(node.maxIterations !== undefined ? { maxIterations: node.maxIterations } : {}),
      ...(node.childRunId !== undefined ? { childRunId: node.childRunId, childRunIds: node.childRunIds ?? [node.childRunId] } : {}),
      // Only for nodes whose results reported usage, and nodes with a budget (docs/semantics.md, "Budgets").
      ...(node.usage ? { usage: node.usage } : {}),
      ...(node.budget ? { budget: node.budget } : {}),
      ...(node.instances
        ? {
            instances: node.instances.map((instance) => ({
              id: instance.id,
              index: instance.index,
              status: instance.status,
              attempts: instance.attempts,
              ...(instance.currentAttempt !== undefined ? { currentAttempt: instance.currentAttempt } : {}),
              output: instance.output ?? null,
              ...(instance.failureClass ? { failureClass: instance.failureClass } : {}),
              ...(instance.childRunId !== undefined ? { childRunId: instance.childRunId } : {}),
            })),
          }
        : {}),
    })),
    approvals: snapshot.approvals.map((approval) => ({
      approvalId: approval.approvalId,
      nodeId: approval.nodeId,
      status: approval.status,
      ...(approval.respondedBy ? { respondedBy: approval.respondedBy } : {}),
      ...(approval.quorum ? { quorum: approval.quorum, votes: approval.votes ?? [] } : {}),
    })),
    failureCount: snapshot.failureCount,
    lastSeq: snapshot.lastSeq,
    // The run's spending and its plan budget, only when there is any.
    ...(snapshot.usage ? { usage: snapshot.usage } : {}),
    ...(snapshot.budget ? { budget: snapshot.budget } : {}),
    // Only when the store refused records: scripts can test for the key.
    ...(snapshot.recording ? { recording: snapshot.recording } : {}),
  };
}

/** The `list --json` view of a run. */
export function listJson(run: RunListEntry) {
  return {
    runId: run.runId,
    planId: run.planId,
    status: run.status,
    waitingOn: run.waitingOn,
    ...(run.costUsd !== undefined ? { costUsd: run.costUsd } : {}),
    startTime: run.startTime.toISOString(),
    closeTime: run.closeTime?.toISOString(),
    temporalStatus: run.temporalStatus,
    ...(run.parentRunId !== undefined ? { parentRunId: run.parentRunId } : {}),
  };
}

/**
 * What `submit` and `respond` print for people: the outcome's own sentence (it says whether the
 * result passed and what comes next), and for a run that is now failed, the commands that move it on.
 */
export function submitSummary(outcome: SubmitOutcome, runId?: string): string {
  const prefix = outcome.duplicate ? 'already recorded (this submission id was seen before; nothing changed): ' : '';
  const sentence =
    outcome.message ??
    `recorded: node ${outcome.nodeId} attempt ${outcome.attempt} → ${outcome.nodeStatus}` +
      `${outcome.approvalStatus ? ` (approval ${outcome.approvalStatus})` : ''}; run ${outcome.runStatus}`;
  const lines = [prefix + sentence];
  if (runId && outcome.runStatus === 'failed' && outcome.nodeStatus === 'failed') {
    lines.push(
      `next: plan-runner retry ${runId} ${outcome.nodeId} (a new attempt), plan-runner replan ${runId} FILE, or plan-runner cancel ${runId}`,
    );
  }
  return lines.join('\n');
}

type StatusView = ReturnType<typeof statusView>;
type StatusNode = StatusView['nodes'][number];

/** `2 of 3`: the attempt a node is on (or last made) and its budget; `-` before the first. */
export function attemptCell(node: Pick<StatusNode, 'attempts' | 'currentAttempt' | 'maxAttempts' | 'status'>): string {
  const waiting = node.status === 'running' || node.status === 'awaiting-human';
  const attempt = waiting && node.currentAttempt !== undefined ? node.currentAttempt : node.attempts;
  if (!attempt) return '-';
  return node.maxAttempts !== undefined && node.maxAttempts > 1 ? `${attempt} of ${node.maxAttempts}` : String(attempt);
}

/** The OUTPUT cell: the accepted output, or why there is none (`attempt 1 rejected: …`). */
export function outputCell(node: StatusNode): string {
  if (node.output !== null && node.output !== undefined) return brief(node.output);
  const last = node.lastAttempt;
  if (!last || last.status !== 'failed') return '';
  const what = last.failureClass === 'validation' ? 'rejected' : `failed (${last.failureClass ?? 'error'})`;
  const firstIssue = node.issues?.find((issue) => issue.severity === 'blocking');
  const why = firstIssue ? `${firstIssue.path ? `${firstIssue.path}: ` : ''}${firstIssue.message}` : last.failureMessage;
  return brief(`(attempt ${last.attempt} ${what}${why ? `: ${why}` : ''})`);
}

/** The lines under the header that say why a run is where it is and what moves it on. */
export function statusGuidance(view: StatusView): string[] {
  const lines: string[] = [];
  const run = view.runId;
  if (view.status === 'blocked' && view.budget?.exceeded) {
    // Blocked by its plan's budget (docs/semantics.md, "Budgets"): only a raise or a cancel moves it.
    lines.push(`reason: the run went over its budget (${describeSpending(view.usage, view.budget)}): nothing new starts; results of running nodes are still recorded`);
    lines.push(`next: plan-runner budget ${run} --max-cost USD and/or --max-tokens N (higher limits), or plan-runner cancel ${run}`);
  } else if (view.status === 'failed' || view.status === 'blocked') {
    for (const node of view.nodes.filter((n) => n.status === 'failed' || n.status === 'blocked')) {
      const last = node.lastAttempt;
      const firstIssue = node.issues?.find((issue) => issue.severity === 'blocking');
      const why = firstIssue
        ? `${firstIssue.path ? `${firstIssue.path}: ` : ''}${firstIssue.message}`
        : (last?.failureMessage ?? node.failureClass ?? 'no reason recorded');
      lines.push(
        `reason: node ${node.id} ${node.status}${node.failureClass ? ` (${node.failureClass})` : ''}` +
          `${last ? ` after attempt ${attemptCell({ ...node, status: 'failed' })}` : ''}: ${why}`,
      );
    }
    lines.push(
      `next: plan-runner retry ${run} NODE (a new attempt; --input to change its input), plan-runner replan ${run} FILE, or plan-runner cancel ${run}`,
    );
    if (view.status === 'failed') lines.push('(a failed run stays open in Temporal, status Running, so that it can still be retried or replanned)');
  } else if (view.status === 'awaiting-human') {
    for (const approval of view.approvals.filter((a) => a.status === 'pending')) {
      const votes = approval.quorum ? ` (votes ${votesCell(approval)})` : '';
      lines.push(`waiting: ${approval.approvalId} on node ${approval.nodeId}${votes}; answer with plan-runner respond ${run} --node ${approval.nodeId} … --by WHO`);
    }
  } else if (view.status === 'aborted') {
    const unreached = view.nodes.filter((n) => n.status === 'pending').length;
    if (unreached) lines.push(`${unreached} node(s) were never reached: the run was cancelled first (shown as "not reached")`);
  }
  return lines;
}

type Spending = { costUsd?: number; inputTokens?: number; outputTokens?: number; tokens: number };

/** `$0.42 · 1200 tok`: what a node's attempts spent; `-` when they reported nothing. */
export function spentCell(node: { usage?: Spending }): string {
  const usage = node.usage;
  if (!usage) return '-';
  const parts: string[] = [];
  if (usage.costUsd !== undefined) parts.push(`$${formatCost(usage.costUsd)}`);
  if (usage.inputTokens !== undefined || usage.outputTokens !== undefined) parts.push(`${usage.tokens} tok`);
  return parts.join(' · ') || '-';
}

/**
 * `spent: $1.60 of $1.00, 1200 of 5000 tokens (over budget)`: the run's spending against its plan
 * budget, or the sums alone; undefined for a run that reported no usage and has no budget.
 */
export function spentLine(view: StatusView): string | undefined {
  if (!view.usage && !view.budget) return undefined;
  if (!view.budget) return `spent: ${spentCell(view)}`;
  return `spent: ${describeSpending(view.usage, view.budget)}${view.budget.exceeded ? ' (over budget)' : ''}`;
}

/** What `plan-runner status` prints for people. */
export function statusText(view: StatusView): string {
  const lines = [`run ${view.runId}  plan ${view.planId}${view.title ? ` (${view.title})` : ''}  spec v${view.specVersion}  status ${view.status}`];
  if (view.recording) lines.push(recordingLine(view.recording));
  if (view.parent) lines.push(`child run of ${view.parent.runId} (node ${view.parent.nodeId}, attempt ${view.parent.attempt})`);
  const spent = spentLine(view);
  if (spent) lines.push(spent);
  lines.push(...statusGuidance(view));
  lines.push('');
  const finished = view.status === 'completed' || view.status === 'aborted';
  // A looping node's iteration ("2 of 3") shows only when the plan loops; a fanned-out node's
  // instances are listed, indented, under it.
  const loops = view.nodes.some((node) => node.iteration !== undefined);
  // A CHILD RUN column only when a plan node started one (docs/semantics.md, "Sub-plans").
  const children = view.nodes.some((node) => node.childRunId !== undefined || node.instances?.some((instance) => instance.childRunId !== undefined));
  // A SPENT column only when a result reported usage: the output of other runs stays as it was.
  const spending = view.nodes.some((node) => node.usage !== undefined);
  const iterationCell = (node: { iteration?: number; maxIterations?: number }) =>
    node.iteration === undefined ? '' : `${node.iteration}${node.maxIterations !== undefined ? ` of ${node.maxIterations}` : ''}`;
  lines.push(
    table([
      ['NODE', 'TYPE', 'STATUS', ...(loops ? ['ITERATION'] : []), 'ATTEMPT', ...(spending ? ['SPENT'] : []), 'OWNER', ...(children ? ['CHILD RUN'] : []), 'OUTPUT'],
      ...view.nodes.flatMap((node) => [
        [
          node.id,
          node.type,
          finished && node.status === 'pending' ? 'not reached' : node.status,
          ...(loops ? [iterationCell(node)] : []),
          attemptCell(node),
          ...(spending ? [spentCell(node)] : []),
          node.owner ?? '',
          ...(children ? [node.childRunId ?? ''] : []),
          outputCell(node),
        ],
        ...(node.instances ?? []).map((instance) => [
          `  ${instance.id}`,
          '',
          instance.status,
          ...(loops ? [''] : []),
          attemptCell({ ...instance, maxAttempts: node.maxAttempts }),
          ...(spending ? [''] : []),
          '',
          ...(children ? [instance.childRunId ?? ''] : []),
          instance.output !== null ? brief(instance.output) : instance.failureClass ? `(failed: ${instance.failureClass})` : '',
        ]),
      ]),
    ]),
  );
  for (const node of view.nodes) {
    for (const issue of node.issues ?? []) lines.push(`  ${node.id}: ${issue.severity} ${issue.path ? `${issue.path}: ` : ''}${issue.message}`);
  }
  if (view.approvals.length) {
    // A VOTES column only when an approval has a quorum: the output of other runs stays as it was.
    const quorum = view.approvals.some((a) => a.quorum);
    lines.push('');
    lines.push(
      table([
        ['APPROVAL', 'NODE', 'STATUS', ...(quorum ? ['VOTES'] : []), 'BY'],
        ...view.approvals.map((a) => [a.approvalId, a.nodeId, a.status, ...(quorum ? [votesCell(a)] : []), a.respondedBy ?? '']),
      ]),
    );
  }
  return lines.join('\n');
}
