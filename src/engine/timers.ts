/**
 * Time (docs/semantics.md §5, §9): every timer a run needs, and what happens when one is due.
 *
 * `pendingTimers(state)` is computed from the run state alone (no clock, no memory of timers that
 * were started), so it survives continue-as-new and replay with just the state. The shell runs one
 * cancellable Temporal timer per key (named by `summary`, which the Web UI shows), cancels timers
 * whose key is no longer listed, and calls `fireDueTimers(state, now)` when one fires.
 *
 * | key                                 | kind                    | listed while                                        | due at                                  |
 * |-------------------------------------|-------------------------|-----------------------------------------------------|-----------------------------------------|
 * | `ready:<node>`                      | `ready`                 | the node is `scheduled`                             | `scheduledUntil`                        |
 * | `timeout:<node>#<attempt>`          | `timeout`               | a task node is `running` and has `timeoutMs` > 0    | `dispatchedAt` + `timeoutMs`            |
 * | `deadline-warning:<node>#<attempt>` | `deadline-warning`      | deadline active*, `warnBeforeMs` > 0, not yet fired | `startedAt` + `afterMs` − `warnBeforeMs` |
 * | `deadline:<node>#<attempt>`         | `deadline`              | deadline active*, not yet escalated                 | `startedAt` + `afterMs`                 |
 * | `plan-deadline-warning`             | `plan-deadline-warning` | run not finished, `warnBeforeMs` > 0, not yet fired | run start + `afterMs` − `warnBeforeMs`  |
 * | `plan-deadline`                     | `plan-deadline`         | run not finished, not yet escalated                 | run start + `afterMs`                   |
 *
 * *A node's deadline is active while a task node is `running`, or a human node awaits its own
 * response (`awaiting-human`, not a review of a failed task attempt).
 *
 * `fireDueTimers` fires every timer due at `now`, one at a time in order (due time, then spec
 * position with plan timers last, then kind), re-running readiness and dispatch after each, so a
 * timer that a firing creates or removes is seen by the next round. PURE: time only from `now`.
 */
import { closePendingApprovals } from './dispatch';
import { handleFailedAttempt } from './failure';
import { markReady } from './readiness';
import { isFinished, specNode } from './run-state';
import { settle } from './settle';
import { isHumanNodeType } from './spec-constants';
import type { Deadline, Owner, PlanNode } from './spec';
import { Step } from './step';
import type { AttemptRecord, CheckpointReason, Issue, NodeRun, PendingTimer, RunState, TimerKind, Transition } from './types';

/** Tie-break between timers due at the same moment on the same node (or both plan-level). */
const KIND_ORDER: readonly TimerKind[] = ['ready', 'deadline-warning', 'deadline', 'timeout', 'plan-deadline-warning', 'plan-deadline'];

/** Every timer the run needs now, sorted by due time, then spec position (plan timers last), then kind. */
export function pendingTimers(state: RunState): PendingTimer[] {
  if (isFinished(state)) return [];
  const timers: Array<PendingTimer & { position: number }> = [];
  state.nodes.forEach((node, position) => {
    const spec = specNode(state, node.nodeId);
    const id = node.nodeId;
    if (node.status === 'scheduled' && node.scheduledUntil) {
      timers.push({
        key: `ready:${id}`,
        kind: 'ready',
        nodeId: id,
        at: node.scheduledUntil,
        summary: `${id}: ${node.scheduledReason ?? 'delay'} until ${node.scheduledUntil}`,
        position,
      });
    }
    const attempt = node.currentAttempt;
    if (attempt === undefined) return;
    const timeoutFrom = node.dispatchedAt ?? node.startedAt;
    if (node.status === 'running' && spec.type === 'task' && spec.timeoutMs && timeoutFrom) {
      const at = iso(Date.parse(timeoutFrom) + spec.timeoutMs);
      timers.push({ key: `timeout:${id}#${attempt}`, kind: 'timeout', nodeId: id, attempt, at, summary: `${id}: timeout of attempt ${attempt} at ${at}`, position });
    }
    if (spec.deadline && node.startedAt && deadlineActive(node, spec)) {
      const { warnAt, dueAt } = deadlineTimes(node.startedAt, spec.deadline);
      const escalated = node.escalated?.attempt === attempt;
      if (warnAt && !escalated && node.deadlineWarned?.attempt !== attempt) {
        timers.push({
          key: `deadline-warning:${id}#${attempt}`,
          kind: 'deadline-warning',
          nodeId: id,
          attempt,
          at: warnAt,
          summary: `${id}: deadline warning for attempt ${attempt} at ${warnAt}`,
          position,
        });
      }
      if (!escalated) {
        timers.push({
          key: `deadline:${id}#${attempt}`,
          kind: 'deadline',
          nodeId: id,
          attempt,
          at: dueAt,
          summary: `${id}: deadline of attempt ${attempt} at ${dueAt} (${expiryText(spec.deadline, ownerOf(spec))})`,
          position,
        });
      }
    }
  });
  const plan = state.spec.deadline;
  if (plan) {
    const position = state.nodes.length;
    const { warnAt, dueAt } = deadlineTimes(state.startedAt, plan);
    if (warnAt && !state.planEscalatedAt && !state.planDeadlineWarnedAt) {
      timers.push({ key: 'plan-deadline-warning', kind: 'plan-deadline-warning', at: warnAt, summary: `plan deadline warning at ${warnAt}`, position });
    }
    if (!state.planEscalatedAt) {
      timers.push({ key: 'plan-deadline', kind: 'plan-deadline', at: dueAt, summary: `plan deadline at ${dueAt} (${expiryText(plan)})`, position });
    }
  }
  timers.sort(
    (a, b) => Date.parse(a.at) - Date.parse(b.at) || a.position - b.position || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind),
  );
  return timers.map(({ position: _position, ...timer }) => timer);
}

/**
 * Fires every timer due at `now` (docs/semantics.md §5, §9), in `pendingTimers` order, one at a time with
 * readiness and dispatch in between. Checkpoint reason: `delayed-node-promoted` when only delayed
 * nodes were promoted, else `deadline` (timeouts, deadline warnings and expiries). Firing early
 * (nothing due) changes nothing: no events, no checkpoint.
 */
export function fireDueTimers(state: RunState, now: string): Transition {
  const step = new Step(state, now, 'engine');
  const nowMs = Date.parse(now);
  let reason: CheckpointReason = 'delayed-node-promoted';
  // Every firing retires its timer for good (a promotion, a recorded warning or escalation, or a new
  // attempt), so this ends; the bound only turns a bug into an error instead of an endless loop.
  const limit = 8 + state.nodes.reduce((sum, node) => sum + 4 * ((specNode(state, node.nodeId).retry?.maxAttempts ?? 1) + 1), 0);
  for (let fired = 0; ; fired += 1) {
    const next = pendingTimers(step.state)[0];
    if (!next || Date.parse(next.at) > nowMs) break;
    if (fired >= limit) throw new Error(`engine invariant: timer ${next.key} is still due after ${fired} firings at ${now}`);
    fireTimer(step, next);
    if (next.kind !== 'ready') reason = 'deadline';
    settle(step);
  }
  settle(step);
  return step.finish(reason);
}

/** The name this module had before deadlines and timeouts: kept for existing callers. */
export function promoteDueNodes(state: RunState, now: string): Transition {
  return fireDueTimers(state, now);
}

function fireTimer(step: Step, timer: PendingTimer): void {
  switch (timer.kind) {
    case 'ready':
      return markReady(step, step.edit(timer.nodeId as string));
    case 'timeout':
      return fireTimeout(step, timer);
    case 'deadline-warning':
      return fireDeadlineWarning(step, timer);
    case 'deadline':
      return fireDeadline(step, timer);
    case 'plan-deadline-warning':
      return firePlanDeadlineWarning(step, timer);
    case 'plan-deadline':
      return firePlanDeadline(step, timer);
  }
}

function fireTimeout(step: Step, timer: PendingTimer): void {
  const node = step.edit(timer.nodeId as string);
  const limitMs = specNode(step.state, node.nodeId).timeoutMs as number;
  const attempt = timer.attempt as number;
  const issue = blockingIssue('timeout', `Attempt ${attempt} did not deliver a result within ${describeMs(limitMs)} (due ${timer.at}).`);
  failAttempt(step, node, issue, `Attempt ${attempt} of node "${node.nodeId}" timed out: no result within ${describeMs(limitMs)}.`, {
    cause: 'timeout',
    dueAt: timer.at,
    timeoutMs: limitMs,
  });
}

function fireDeadlineWarning(step: Step, timer: PendingTimer): void {
  const node = step.edit(timer.nodeId as string);
  const spec = specNode(step.state, node.nodeId);
  const attempt = timer.attempt as number;
  const { dueAt } = deadlineTimes(node.startedAt as string, spec.deadline as Deadline);
  const owner = ownerOf(spec);
  node.deadlineWarned = { attempt, at: step.now };
  step.emit('deadline-warning', {
    nodeId: node.nodeId,
    attempt,
    message: `Deadline warning: node "${node.nodeId}" (attempt ${attempt}) is due at ${dueAt}; ${owner.kind}:${owner.ref} is reminded.`,
    detail: { dueAt, warnAt: timer.at, owner },
  });
}

function fireDeadline(step: Step, timer: PendingTimer): void {
  const node = step.edit(timer.nodeId as string);
  const spec = specNode(step.state, node.nodeId);
  const deadline = spec.deadline as Deadline;
  const attempt = timer.attempt as number;
  const owner = ownerOf(spec);
  const to = deadline.escalateTo ?? owner;
  const onExpiry = deadline.onExpiry ?? 'escalate';
  node.escalated = { attempt, at: step.now, to, onExpiry };
  step.emit('escalation-triggered', {
    nodeId: node.nodeId,
    attempt,
    message:
      `Node "${node.nodeId}" (attempt ${attempt}) missed its deadline (${timer.at}): escalated to ${to.kind}:${to.ref}` +
      (onExpiry === 'fail' ? '; the attempt fails.' : '; it keeps waiting.'),
    detail: { dueAt: timer.at, owner, escalateTo: to, onExpiry },
  });
  if (onExpiry !== 'fail') return;
  closePendingApprovals(step, `the deadline of node "${node.nodeId}" passed`, {}, { status: 'expired', nodeId: node.nodeId });
  const issue = blockingIssue('deadline', `Attempt ${attempt} missed its deadline (${timer.at}).`);
  failAttempt(step, node, issue, `Attempt ${attempt} of node "${node.nodeId}" failed: its deadline passed (onExpiry: fail).`, {
    cause: 'deadline',
    dueAt: timer.at,
  });
}

function firePlanDeadlineWarning(step: Step, timer: PendingTimer): void {
  const deadline = step.state.spec.deadline as Deadline;
  const { dueAt } = deadlineTimes(step.state.startedAt, deadline);
  step.state.planDeadlineWarnedAt = step.now;
  step.emit('deadline-warning', {
    message: `Deadline warning: the plan is due at ${dueAt}.`,
    detail: { scope: 'plan', dueAt, warnAt: timer.at, ...(deadline.escalateTo ? { escalateTo: deadline.escalateTo } : {}) },
  });
}

/**
 * The plan's deadline expired. `escalate` (default): event only, the run keeps going. `fail`: the run
 * fails: every node that is active, ready, scheduled, blocked or waiting for its input check fails
 * with class `timeout` (no retry and no `onFailure`: the plan is out of time), active attempts are
 * recorded as timed out and their pending approvals expire. Pending nodes stay pending.
 */
function firePlanDeadline(step: Step, timer: PendingTimer): void {
  const deadline = step.state.spec.deadline as Deadline;
  const onExpiry = deadline.onExpiry ?? 'escalate';
  step.state.planEscalatedAt = step.now;
  const to = deadline.escalateTo ? `${deadline.escalateTo.kind}:${deadline.escalateTo.ref}` : undefined;
  step.emit('escalation-triggered', {
    message:
      `The plan missed its deadline (${timer.at})${to ? `: escalated to ${to}` : ''}` +
      (onExpiry === 'fail' ? '; the run fails.' : '; the run keeps going.'),
    detail: { scope: 'plan', dueAt: timer.at, ...(deadline.escalateTo ? { escalateTo: deadline.escalateTo } : {}), onExpiry },
  });
  if (onExpiry !== 'fail') return;
  const issue = blockingIssue('plan-deadline', `The plan's deadline passed (${timer.at}).`);
  for (let position = 0; position < step.state.nodes.length; position += 1) {
    const candidate = step.state.nodes[position];
    const active = candidate.status === 'running' || candidate.status === 'awaiting-human';
    const waiting = ['ready', 'scheduled', 'blocked'].includes(candidate.status) || (candidate.status === 'pending' && candidate.inputCheckPending);
    if (!active && !waiting) continue;
    const node = step.edit(position);
    if (active) {
      closePendingApprovals(step, "the plan's deadline passed", {}, { status: 'expired', nodeId: node.nodeId });
      const attempt = recordTimedOutAttempt(step, node, issue);
      step.emit('node-timed-out', {
        nodeId: node.nodeId,
        attempt,
        message: `Attempt ${attempt} of node "${node.nodeId}" was stopped: the plan's deadline passed.`,
        detail: { failureClass: 'timeout', issues: [issue], cause: 'plan-deadline', dueAt: timer.at },
      });
    }
    delete node.inputCheckPending;
    delete node.scheduledUntil;
    delete node.scheduledReason;
    node.failureClass = 'timeout';
    node.lastIssues = [issue];
    step.state.failureCount += 1;
    step.moveNode(node, 'failed', 'node-failed', `Node "${node.nodeId}" failed: the plan's deadline passed.`, {
      failureClass: 'timeout',
      cause: 'plan-deadline',
    });
  }
}

/** The attempt fails with class `timeout` and docs/semantics.md §7's retry and `onFailure` rules route the node (editable). */
function failAttempt(step: Step, node: NodeRun, issue: Issue, message: string, detail: Record<string, unknown>): void {
  recordTimedOutAttempt(step, node, issue);
  handleFailedAttempt(step, node, 'timeout', [issue], issue.message, { type: 'node-timed-out', message, detail });
}

/** Records the current attempt of `node` (editable) as failed with class `timeout` (like an agent's failure report). */
function recordTimedOutAttempt(step: Step, node: NodeRun, issue: Issue): number {
  const attempt = node.currentAttempt ?? node.attempts + 1;
  const record: AttemptRecord = {
    attempt,
    ...(node.iteration !== undefined ? { iteration: node.iteration } : {}),
    kind: node.status === 'running' ? 'agent' : 'human',
    by: 'engine',
    at: step.now,
    artifacts: [],
    issues: [issue],
    status: 'failed',
    failureClass: 'timeout',
    failureMessage: issue.message,
  };
  node.history = [...node.history, record];
  node.attempts += 1;
  // The node's output is its latest attempt's (docs/design-choices.md), and a timed-out attempt has none.
  delete node.output;
  delete node.humanMode;
  return attempt;
}


function deadlineActive(node: NodeRun, spec: PlanNode): boolean {
  if (node.status === 'running') return spec.type === 'task';
  if (node.status === 'awaiting-human') return isHumanNodeType(spec.type) && node.humanMode !== 'review';
  return false;
}

/** Due and warning times of a deadline counted from `from`; no warning without `warnBeforeMs` > 0. */
function deadlineTimes(from: string, deadline: Deadline): { warnAt?: string; dueAt: string } {
  const start = Date.parse(from);
  const due = start + deadline.afterMs;
  const warnAt = deadline.warnBeforeMs ? iso(Math.max(start, due - deadline.warnBeforeMs)) : undefined;
  return { dueAt: iso(due), ...(warnAt ? { warnAt } : {}) };
}

function expiryText(deadline: Deadline, owner?: Owner): string {
  const to = deadline.escalateTo ?? owner;
  const escalate = to ? `escalates to ${to.kind}:${to.ref}` : 'escalates';
  return deadline.onExpiry === 'fail' ? `${escalate}, then fails` : escalate;
}

function ownerOf(spec: PlanNode): Owner {
  return spec.owner ?? { kind: isHumanNodeType(spec.type) ? 'human' : 'agent', ref: 'unknown' };
}

function blockingIssue(code: string, message: string): Issue {
  return { severity: 'blocking', code, message };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function describeMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
