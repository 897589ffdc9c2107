/**
 * Human-readable text for what the CLI reads from the store: event lines, the approvals table, a
 * node's attempts with their issues, checkpoints, spec versions and migration reports. Pure
 * functions (no I/O), so the CLI's text output can be tested without a store.
 */
import type { Checkpoint, Issue, RecordingProblem, RunEvent } from '../engine/types';
import { seqRanges } from '../engine/seq-ranges';
import { describeVotes, voteApproves } from '../engine/quorum';
import type { StoredApproval, StoredAttempt, StoredSpecVersion } from '../store/types';
import type { RunReplannedDetail } from '../engine/replan';
import type { MigrateResult } from './store-reads';
import type { ReplanPreview } from './plan-runner-client';

/** Rows as aligned columns (two spaces apart; the last column is not padded). */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n');
}

/** Width of the type column: the longest event type (`escalation-triggered`). */
const EVENT_TYPE_WIDTH = 20;

/**
 * One event as one line, with fixed columns so lines printed one at a time (`--follow`) still align:
 * `   12  2026-01-01T00:00:01.000Z  node-completed        Node "draft" completed (attempt 1).  (by agent:writer)`
 */
export function formatEventLine(event: RunEvent): string {
  return `${String(event.seq).padStart(5)}  ${event.at}  ${event.type.padEnd(EVENT_TYPE_WIDTH)}  ${event.message}${authorship(event)}`;
}

/** What kind of act an event that starts one is, in words (`bob's answer`). */
const ACT_NAMES: Partial<Record<RunEvent['type'], string>> = {
  'approval-resolved': 'answer',
  'approval-vote-recorded': 'vote',
  'node-completed': 'result',
  'node-partial': 'result',
  'validation-reported': 'result',
  'node-failed': 'result',
  'result-rejected': 'result',
  'run-started': 'start',
  'run-replanned': 'replan',
  'run-resumed': 'resume',
  'node-unblocked': 'retry',
};

/**
 * `  (by bob)` for an act; `  (by engine, after answer #12 by bob)` for what the engine did because
 * of it (the event's `detail.causedBy`), so nobody is credited with a consequence they did not choose.
 */
export function authorship(event: Pick<RunEvent, 'by' | 'detail'>): string {
  if (!event.by) return '';
  const cause = event.detail?.causedBy as { by?: unknown; seq?: unknown; type?: unknown } | undefined;
  if (!cause || typeof cause.by !== 'string') return `  (by ${event.by})`;
  const act = (typeof cause.type === 'string' && ACT_NAMES[cause.type as RunEvent['type']]) || (typeof cause.type === 'string' ? cause.type : 'act');
  const seq = typeof cause.seq === 'number' ? ` #${cause.seq}` : '';
  return `  (by ${event.by}, after ${act}${seq} by ${cause.by})`;
}

/** `human:editors (alice, bob)`: an approval's owner and its named approvers. */
export function approvalOwner(approval: Pick<StoredApproval, 'owner' | 'approvers'>): string {
  const owner = approval.owner ? `${approval.owner.kind}:${approval.owner.ref}` : '';
  return approval.approvers?.length ? `${owner} (${approval.approvers.join(', ')})` : owner;
}

/**
 * `2 of 3: alice ✔, carol ✘`: a quorum approval's votes (approvals of required, then each vote in
 * order); `-` for an approval without a quorum.
 */
export function votesCell(approval: Pick<StoredApproval, 'quorum' | 'votes'>): string {
  if (!approval.quorum) return '-';
  const votes = approval.votes ?? [];
  const approvals = votes.filter(voteApproves).length;
  return `${approvals} of ${approval.quorum.required}: ${describeVotes(votes)}`;
}

/**
 * The `plan-runner approvals` table. A review of a failed task is marked `(review)`. A VOTES column
 * (see `votesCell`) is added when an approval in the list has a quorum.
 */
export function approvalsTable(approvals: StoredApproval[]): string {
  const quorum = approvals.some((approval) => approval.quorum);
  return table([
    ['APPROVAL', 'RUN', 'NODE', 'STATUS', 'OWNER (APPROVERS)', 'REQUESTED', ...(quorum ? ['VOTES'] : []), 'RESPONDED BY'],
    ...approvals.map((approval) => [
      approval.kind === 'review' ? `${approval.approvalId} (review)` : approval.approvalId,
      approval.runId,
      approval.nodeId,
      approval.status,
      approvalOwner(approval),
      approval.requestedAt,
      ...(quorum ? [votesCell(approval)] : []),
      approval.respondedBy ?? '-',
    ]),
  ]);
}

function issueRows(issues: Issue[]): string[][] {
  return issues.map((issue) => [issue.severity, issue.code, issue.path || '-', issue.message]);
}

/**
 * The `plan-runner attempts` text: one line per attempt (number, status, by, at, failure class and
 * message), then its issues (severity, code, path, message) and artifacts, indented under it.
 */
export function attemptsText(attempts: StoredAttempt[]): string {
  const lines: string[] = [];
  const head = table(
    attempts.map((attempt) => [
      `attempt ${attempt.attempt}`,
      attempt.status,
      `by ${attempt.by}`,
      `at ${attempt.at}`,
      attempt.failureClass ? `failure ${attempt.failureClass}${attempt.failureMessage ? `: ${attempt.failureMessage}` : ''}` : '',
    ]),
  ).split('\n');
  attempts.forEach((attempt, index) => {
    lines.push(head[index]);
    if (attempt.issues.length) {
      for (const row of table(issueRows(attempt.issues)).split('\n')) lines.push(`    ${row}`);
    }
    for (const artifact of attempt.artifacts ?? []) {
      lines.push(`    artifact ${artifact.name} (${artifact.kind}): ${artifact.pointer}`);
    }
  });
  return lines.join('\n');
}

/** The `plan-runner checkpoints` table. */
export function checkpointsTable(checkpoints: Checkpoint[]): string {
  const list = (ids: string[]) => (ids.length ? ids.join(',') : '-');
  return table([
    ['SEQ', 'REASON', 'RUN STATUS', 'AT', 'READY', 'ACTIVE', 'COMPLETED'],
    ...checkpoints.map((checkpoint) => [
      String(checkpoint.sequence),
      checkpoint.reason,
      checkpoint.runStatus,
      checkpoint.at,
      list(checkpoint.readyNodeIds),
      list(checkpoint.activeNodeIds),
      list(checkpoint.completedNodeIds),
    ]),
  ]);
}

/** The `plan-runner specs` table: one line per spec version (recorded time, node count, title). */
export function specVersionsTable(versions: StoredSpecVersion[]): string {
  return table([
    ['VERSION', 'RECORDED', 'NODES', 'TITLE'],
    ...versions.map((version) => [
      String(version.specVersion),
      version.recordedAt,
      String(version.spec.nodes?.length ?? 0),
      version.spec.title ?? '-',
    ]),
  ]);
}

/** The `plan-runner migrate` text. */
export function migrateText(result: MigrateResult): string {
  const lines = [`store: ${result.location} (${result.dialect})`];
  if (result.applied.length) {
    lines.push(`applied ${result.applied.length} migration${result.applied.length === 1 ? '' : 's'}:`);
    for (const name of result.applied) lines.push(`  ${name}`);
  } else {
    lines.push(`up to date: nothing to apply (${result.current.length} migration${result.current.length === 1 ? '' : 's'} applied before)`);
  }
  return lines.join('\n');
}

/** `kept a, b; reset c; added d; removed e` (empty groups left out). */
function replanGroups(changes: Pick<RunReplannedDetail, 'kept' | 'reset' | 'added' | 'removed'>): string {
  const groups = (
    [
      ['kept', changes.kept],
      ['reset', changes.reset],
      ['added', changes.added],
      ['removed', changes.removed],
    ] as const
  )
    .filter(([, ids]) => ids.length > 0)
    .map(([label, ids]) => `${label} ${ids.join(', ')}`);
  return groups.length ? groups.join('; ') : 'no nodes';
}

/**
 * The `plan-runner replan` summary (stderr):
 * `Run r1 replanned to version 2: kept research; reset draft, approve; added publish`, then the
 * nodes whose work in flight was abandoned, the reason and the new spec's warnings, one line each.
 */
export function replanSummary(runId: string, changes: RunReplannedDetail, runStatus?: string): string {
  const lines = [`Run ${runId} replanned to version ${changes.toVersion}: ${replanGroups(changes)}${runStatus ? ` (run ${runStatus})` : ''}`];
  if (changes.stoppedNodeIds.length) lines.push(`  stopped (work in flight abandoned): ${changes.stoppedNodeIds.join(', ')}`);
  if (changes.reason) lines.push(`  reason: ${changes.reason}`);
  for (const warning of changes.warnings ?? []) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}

/**
 * The `plan-runner replan --dry-run` text: what would be kept, reset, added, removed and stopped
 * (a `-` for none), and the refusal the run would answer with, if any.
 */
export function replanPreviewText(preview: ReplanPreview): string {
  const list = (ids: string[]) => (ids.length ? ids.join(', ') : '-');
  const lines = [
    `dry run (nothing sent): run ${preview.runId} (plan ${preview.planId}, ${preview.runStatus}), ` +
      `spec version ${preview.fromVersion} → ${preview.toVersion}` +
      (preview.basedOnSeq !== undefined ? `, as recorded up to seq ${preview.basedOnSeq}` : ''),
  ];
  const rows: string[][] = [
    ['  kept', list(preview.kept)],
    ['  reset', list(preview.reset)],
    ['  added', list(preview.added)],
    ['  removed', list(preview.removed)],
    ['  changed', list(preview.changed)],
  ];
  if (preview.affected.length) rows.push(['  affected', `${list(preview.affected)} (downstream of a change)`]);
  if (preview.stoppedNodeIds.length) rows.push(['  stopped', `${list(preview.stoppedNodeIds)} (work in flight abandoned)`]);
  lines.push(table(rows));
  for (const warning of preview.warnings) lines.push(`warning: ${warning.path}: ${warning.message}`);
  if (preview.refusal) lines.push(`would be refused (${preview.refusal.reason}): ${preview.refusal.message}`);
  return lines.join('\n');
}

/**
 * The `status` line for a run whose records the store refused: since when, why, that the run goes
 * on in Temporal regardless, and which events the store is missing.
 */
export function recordingLine(problem: RecordingProblem): string {
  const first = problem.failedSeqs[0];
  const listed = seqRanges(problem.failedSeqs) + (problem.failedCount > problem.failedSeqs.length ? `, … (${problem.failedCount} in all)` : '');
  if (problem.status === 'failing') {
    return (
      `recording to the store is failing since ${problem.since}: ${problem.reason}; the run keeps going in Temporal; ` +
      `events after seq ${first === undefined ? 0 : first - 1} may be missing from the store (not stored: ${listed})`
    );
  }
  return (
    `recording to the store failed from ${problem.since} to ${problem.lastFailureAt}: ${problem.reason}; the run keeps going in Temporal ` +
    `and its later events are stored again; missing from the store: events ${listed}`
  );
}
