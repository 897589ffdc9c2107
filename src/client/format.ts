/**
 * Human-readable text for what the CLI reads from the store: event lines, the approvals table, a
 * node's attempts with their issues, checkpoints and migration reports. Pure functions (no I/O), so
 * the CLI's text output can be tested without a store.
 */
import type { Checkpoint, Issue, RunEvent } from '../engine/types';
import type { StoredApproval, StoredAttempt } from '../store/types';
import type { MigrateResult } from './store-reads';

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
  return (
    `${String(event.seq).padStart(5)}  ${event.at}  ${event.type.padEnd(EVENT_TYPE_WIDTH)}  ${event.message}` +
    (event.by ? `  (by ${event.by})` : '')
  );
}

/** `human:editors (alice, bob)`: an approval's owner and its named approvers. */
export function approvalOwner(approval: Pick<StoredApproval, 'owner' | 'approvers'>): string {
  const owner = approval.owner ? `${approval.owner.kind}:${approval.owner.ref}` : '';
  return approval.approvers?.length ? `${owner} (${approval.approvers.join(', ')})` : owner;
}

/** The `plan-runner approvals` table. A review of a failed task is marked `(review)`. */
export function approvalsTable(approvals: StoredApproval[]): string {
  return table([
    ['APPROVAL', 'RUN', 'NODE', 'STATUS', 'OWNER (APPROVERS)', 'REQUESTED', 'RESPONDED BY'],
    ...approvals.map((approval) => [
      approval.kind === 'review' ? `${approval.approvalId} (review)` : approval.approvalId,
      approval.runId,
      approval.nodeId,
      approval.status,
      approvalOwner(approval),
      approval.requestedAt,
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
