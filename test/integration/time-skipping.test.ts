/**
 * Day-long timers on Temporal's time-skipping test server (TEMPORAL_TEST_SERVER_PATH): each test
 * waits days of workflow time and takes well under a second of wall time. This file starts its own
 * test server; skipped time is global to a server, so its tests run one after another.
 *
 * Time skips when `env.sleep(ms)` asks for it, and while `result()` waits for a workflow to close.
 * Wake-ups are real activities posting to a real HTTP receiver: after a skip, the test polls for
 * them in wall-clock time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { plan, runId, eventually, testDelivery } from './harness';
import { startTimeSkippingHarness, type TimeSkippingHarness } from './time-skipping-env';
import { WebhookReceiver, type ReceivedRequest } from './webhook-receiver';
import type { RunEvent } from '../../src/engine';

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const statuses = (snapshot: { nodes: Array<{ id: string; status: string }> }) =>
  Object.fromEntries(snapshot.nodes.map((node) => [node.id, node.status]));
const ms = (iso: string | undefined) => Date.parse(String(iso));
const iso = (time: number) => new Date(time).toISOString();
const find = (events: RunEvent[], type: string, nodeId?: string) => {
  const found = events.find((event) => event.type === type && (nodeId === undefined || event.nodeId === nodeId));
  assert.ok(found, `event ${type}${nodeId ? ` of ${nodeId}` : ''} recorded`);
  return found;
};
/** Every event of `type` (of `nodeId` when given). */
const all = (events: RunEvent[], type: string, nodeId?: string) =>
  events.filter((event) => event.type === type && (nodeId === undefined || event.nodeId === nodeId));
/**
 * A timer fires a little after the `until` the engine computed, never before: the workflow computes
 * the delay from its task's start time, but the server starts the timer when the task completes,
 * tens of milliseconds later (measured: ~40 ms). The promotion is stamped with the time of the task
 * that handles the fired timer. Between skips the test server's clock runs at wall-clock speed.
 */
const TASK_SLACK_MS = 5_000;

/** The event happened at `expected` workflow time, or up to TASK_SLACK_MS after it, never before. */
const assertAt = (event: RunEvent, expected: number, what: string) => {
  const at = ms(event.at);
  assert.ok(at >= expected, `${what} at ${event.at}, not before ${iso(expected)}`);
  assert.ok(at - expected < TASK_SLACK_MS, `${what} at ${event.at}, right after ${iso(expected)}`);
};

/** The run's events from the store once one matches `predicate` (the worker records them a moment after the transition). */
const eventsWhere = (h: TimeSkippingHarness, id: string, predicate: (event: RunEvent) => boolean, what: string) =>
  eventually(async () => {
    const events = await h.client.events(id);
    return events.some(predicate) ? events : undefined;
  }, `${what} in the store`);

/** The run's events from the store once they include `type` of `nodeId` (the worker records them a moment after the transition). */
const eventsWith = (h: TimeSkippingHarness, id: string, type: string, nodeId: string) =>
  eventsWhere(h, id, (event) => event.type === type && event.nodeId === nodeId, `event ${type} of ${nodeId}`);

/** Skips the test server's clock to `target` (ms since epoch); nothing when it is already there. */
const skipTo = async (h: TimeSkippingHarness, target: number) => {
  const gap = target - (await h.now()).getTime();
  if (gap > 0) await h.env.sleep(gap);
};

interface TimerRecord {
  summary: string;
  fired: boolean;
  canceled: boolean;
}

/** The workflow's Temporal timers from its history: summary (what the Web UI shows), fired or canceled. */
async function timersOf(h: TimeSkippingHarness, id: string): Promise<TimerRecord[]> {
  const history = await h.client.client.workflow.getHandle(id).fetchHistory();
  const timers = new Map<string, TimerRecord>();
  for (const event of history.events ?? []) {
    const started = event.timerStartedEventAttributes;
    if (started?.timerId) {
      const payload = event.userMetadata?.summary;
      timers.set(started.timerId, {
        summary: payload ? String(defaultPayloadConverter.fromPayload(payload as never)) : '',
        fired: false,
        canceled: false,
      });
    }
    const fired = event.timerFiredEventAttributes?.timerId;
    if (fired) timers.get(fired)!.fired = true;
    const canceled = event.timerCanceledEventAttributes?.timerId;
    if (canceled) timers.get(canceled)!.canceled = true;
  }
  return [...timers.values()];
}

describe('time-skipping test server', () => {
  let h: TimeSkippingHarness;
  /** Agent endpoints: `writer` and `supervisor` are woken here (paths /hook/writer, /hook/supervisor). */
  let agents: WebhookReceiver;
  before(async () => {
    agents = await new WebhookReceiver().start();
    h = await startTimeSkippingHarness({
      delivery: testDelivery({
        agents: {
          writer: { url: `${agents.url}/writer`, secret: agents.secret },
          supervisor: { url: `${agents.url}/supervisor`, secret: agents.secret },
        },
      }),
    });
  });
  after(async () => {
    await h?.close();
    await agents?.stop();
  });

  test('delayAfterPredecessorMs of 2 days and notBefore 3 days ahead run after days of workflow time, in seconds', async () => {
    const wallStart = Date.now();
    const t0 = await h.now();
    const notBefore = new Date(t0.getTime() + 3 * DAY).toISOString();
    const spec = plan(
      'time-skip',
      [{ id: 'a' }, { id: 'b', delayAfterPredecessorMs: 2 * DAY }, { id: 'c', notBefore }],
      [{ from: 'a', to: 'b' }],
      { maxConcurrency: 3 },
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('time-skip') });
    const started = await h.client.snapshot(id);
    assert.deepEqual(statuses(started), { a: 'running', b: 'pending', c: 'scheduled' });

    const outcome = await h.client.submitResult(id, { nodeId: 'a', structuredOutput: {} });
    assert.equal(outcome.nodeStatus, 'completed');
    let events = await eventsWith(h, id, 'node-scheduled', 'b');
    const completedA = find(events, 'node-completed', 'a');
    const bUntil = ms(completedA.at) + 2 * DAY;
    const scheduledB = find(events, 'node-scheduled', 'b');
    const { causedBy: _causedBy, ...scheduledDetail } = scheduledB.detail ?? {};
    assert.deepEqual(scheduledDetail, { until: new Date(bUntil).toISOString(), reason: 'delayAfterPredecessorMs' });
    assert.deepEqual(find(events, 'node-scheduled', 'c').detail, { until: notBefore, reason: 'notBefore' });
    assert.deepEqual(statuses(await h.client.snapshot(id)), { a: 'completed', b: 'scheduled', c: 'scheduled' });

    // One hour short of b's delay: nothing moves.
    await h.env.sleep(bUntil - (await h.now()).getTime() - HOUR);
    assert.deepEqual(statuses(await h.client.snapshot(id)), { a: 'completed', b: 'scheduled', c: 'scheduled' });

    // Past b's delay: b runs, c still waits for its notBefore.
    await h.env.sleep(HOUR + 1);
    const bRunning = await eventually(async () => {
      const snapshot = await h.client.snapshot(id);
      return snapshot.nodes.find((node) => node.id === 'b')?.status === 'running' ? snapshot : undefined;
    }, 'b running after 2 days');
    assert.equal(statuses(bRunning).c, 'scheduled');
    events = await eventsWith(h, id, 'node-running', 'b');
    const readyB = find(events, 'node-ready', 'b');
    assert.ok(ms(readyB.at) >= bUntil, `b promoted at ${readyB.at}, not before ${new Date(bUntil).toISOString()}`);
    assert.ok(ms(readyB.at) - bUntil < TASK_SLACK_MS, `b promoted at ${readyB.at}, right after ${new Date(bUntil).toISOString()}`);
    assert.equal(find(events, 'node-running', 'b').at, readyB.at);
    await h.client.submitResult(id, { nodeId: 'b', structuredOutput: {} });

    // One hour short of c's notBefore: c still waits. Past it: c runs.
    await h.env.sleep(ms(notBefore) - (await h.now()).getTime() - HOUR);
    assert.equal(statuses(await h.client.snapshot(id)).c, 'scheduled');
    await h.env.sleep(HOUR + 1);
    await eventually(async () => (statuses(await h.client.snapshot(id)).c === 'running' ? true : undefined), 'c running after 3 days');
    events = await eventsWith(h, id, 'node-running', 'c');
    const readyC = find(events, 'node-ready', 'c');
    assert.ok(ms(readyC.at) >= ms(notBefore) && ms(readyC.at) - ms(notBefore) < TASK_SLACK_MS, `c promoted at ${readyC.at}, right after ${notBefore}`);
    const promoted = events.filter((event) => event.type === 'checkpoint-saved' && event.detail?.reason === 'delayed-node-promoted');
    assert.equal(promoted.length, 2, 'one promotion checkpoint per timer');

    await h.client.submitResult(id, { nodeId: 'c', structuredOutput: {} });
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');
    assert.ok(ms(final.finishedAt) - t0.getTime() >= 3 * DAY, 'the run took three days of workflow time');
    // The search attributes registered on the test server were upserted by the workflow.
    const described = await h.client.describe(id);
    assert.equal(described.planId, 'time-skip');
    assert.equal(described.status, 'completed');
    const wallMs = Date.now() - wallStart;
    assert.ok(wallMs < 60_000, `took ${wallMs} ms of wall time`);
  });

  test('awaiting the result skips time by itself: a join delayed by 2 days completes the run', async () => {
    const wallStart = Date.now();
    const spec = plan(
      'time-skip-result',
      [{ id: 'a' }, { id: 'wait', type: 'join', delayAfterPredecessorMs: 2 * DAY }],
      [{ from: 'a', to: 'wait' }],
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('time-skip-result') });
    await h.client.submitResult(id, { nodeId: 'a', structuredOutput: {} });
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');
    const events = await h.client.events(id);
    const until = ms(find(events, 'node-scheduled', 'wait').detail?.until as string);
    assert.equal(until, ms(find(events, 'node-completed', 'a').at) + 2 * DAY);
    const autoCompleted = find(events, 'node-auto-completed', 'wait');
    assert.ok(ms(autoCompleted.at) >= until && ms(autoCompleted.at) - until < TASK_SLACK_MS, `wait completed at ${autoCompleted.at}`);
    assert.ok(Date.now() - wallStart < 30_000);
  });

  test("Temporal's cancellation of a run waiting on a day-long timer ends it aborted, with a run-cancelled checkpoint", async () => {
    const spec = plan('time-skip-cancel', [{ id: 'later', delayAfterPredecessorMs: DAY }, { id: 'ask', type: 'human-approval' }], [], { maxConcurrency: 2 });
    const { runId: id } = await h.client.start(spec, { runId: runId('time-skip-cancel') });
    assert.deepEqual(statuses(await h.client.snapshot(id)), { later: 'scheduled', ask: 'awaiting-human' });
    const handle = h.client.client.workflow.getHandle(id);
    await handle.cancel();
    await assert.rejects(handle.result(), (error: unknown) => error instanceof WorkflowFailedError && /cancel/i.test(String(error.cause?.message ?? error.message)));
    const run = await h.store.getRun(id);
    assert.equal(run?.status, 'aborted');
    assert.equal(run?.cancelledBy, 'temporal');
    const checkpoints = await h.store.listCheckpoints(id);
    assert.equal(checkpoints.at(-1)?.reason, 'run-cancelled');
    const nodes = await h.store.listNodeRuns(id);
    assert.deepEqual(
      nodes.map((node) => [node.nodeId, node.status]),
      [
        ['later', 'cancelled'],
        ['ask', 'cancelled'],
      ],
    );
    const events = await h.client.events(id);
    assert.ok(events.some((event) => event.type === 'run-status-changed' && event.toStatus === 'aborted' && event.by === 'temporal'));
    assert.equal(events.at(-1)?.type, 'checkpoint-saved');
  });

  test('a task timeout of 1 hour fails attempt 1 with class timeout, the retry policy dispatches attempt 2, a late result for attempt 1 is stale', async () => {
    const wallStart = Date.now();
    const spec = plan(
      'time-skip-timeout',
      [{ id: 'work', timeoutMs: HOUR, retry: { maxAttempts: 2, retryOn: ['timeout'] } }, { id: 'after' }],
      [{ from: 'work', to: 'after' }],
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('time-skip-timeout') });
    let events = await eventsWith(h, id, 'node-running', 'work');
    const dispatched1 = ms(find(events, 'node-running', 'work').at);

    // A minute short of the timeout: attempt 1 still runs.
    await skipTo(h, dispatched1 + HOUR - MINUTE);
    const work = (await h.client.snapshot(id)).nodes[0];
    assert.deepEqual([work.status, work.currentAttempt, work.attempts], ['running', 1, 0]);

    // Past it: attempt 1 timed out, attempt 2 is dispatched in the same transition.
    await skipTo(h, dispatched1 + HOUR + 1);
    await eventually(async () => {
      const node = (await h.client.snapshot(id)).nodes[0];
      return node.status === 'running' && node.currentAttempt === 2 ? node : undefined;
    }, 'attempt 2 running after the timeout');
    events = await eventsWhere(h, id, (e) => e.type === 'node-running' && e.nodeId === 'work' && e.attempt === 2, 'node-running of attempt 2');
    const timedOut = all(events, 'node-timed-out', 'work');
    assert.equal(timedOut.length, 1);
    assert.equal(timedOut[0].attempt, 1);
    assertAt(timedOut[0], dispatched1 + HOUR, 'node-timed-out');
    assert.equal(timedOut[0].detail?.failureClass, 'timeout');
    assert.equal(timedOut[0].detail?.timeoutMs, HOUR);
    const unblocked = find(events, 'node-unblocked', 'work');
    assert.equal(unblocked.at, timedOut[0].at);
    const running2 = all(events, 'node-running', 'work')[1];
    assert.equal(running2.attempt, 2);
    assert.equal(running2.at, timedOut[0].at, 'attempt 2 is dispatched right when attempt 1 times out');
    assert.ok(events.some((e) => e.type === 'checkpoint-saved' && e.detail?.reason === 'deadline' && e.at === timedOut[0].at));

    const stored = await h.store.listAttempts(id, 'work');
    assert.deepEqual(
      stored.map((a) => [a.attempt, a.status, a.failureClass, a.by]),
      [[1, 'failed', 'timeout', 'engine']],
      'attempt 1 is recorded as failed with class timeout',
    );
    const item = await h.client.workItem(id, 'work');
    assert.equal(item?.attempt, 2);
    assert.equal(item?.previousIssues[0]?.code, 'timeout', 'the new work item says why attempt 1 failed');

    // The agent of attempt 1 reports late: refused as stale, nothing recorded.
    const seqBefore = (await h.client.snapshot(id)).lastSeq;
    await assert.rejects(
      h.client.submitResult(id, { nodeId: 'work', attempt: 1, structuredOutput: { late: true } }),
      (error: Error & { reason?: string }) => error.reason === 'stale-attempt',
    );
    assert.equal((await h.client.snapshot(id)).lastSeq, seqBefore);

    const done = await h.client.submitResult(id, { nodeId: 'work', attempt: 2, structuredOutput: { ok: true } });
    assert.equal(done.nodeStatus, 'completed');
    // Attempt 2's timeout would have been due at its dispatch + 1 h: skipping past it changes nothing.
    await skipTo(h, ms(running2.at) + HOUR + MINUTE);
    const snapshot = await h.client.snapshot(id);
    assert.deepEqual(statuses(snapshot), { work: 'completed', after: 'running' });
    assert.equal(snapshot.nodes[0].attempts, 2);
    events = await h.client.events(id);
    assert.equal(all(events, 'node-timed-out').length, 1, 'no timeout for the completed attempt 2');
    assert.deepEqual(
      (await h.store.listAttempts(id, 'work')).map((a) => [a.attempt, a.status]),
      [
        [1, 'failed'],
        [2, 'completed'],
      ],
    );

    await h.client.submitResult(id, { nodeId: 'after', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
    // One Temporal timer per attempt, named after what it waits for: attempt 1's fired, attempt 2's was cancelled.
    const timers = await timersOf(h, id);
    assert.deepEqual(
      timers.map((t) => [t.summary.replace(/ at .*/, ''), t.fired, t.canceled]),
      [
        ['work: timeout of attempt 1', true, false],
        ['work: timeout of attempt 2', false, true],
      ],
    );
    assert.ok(Date.now() - wallStart < 15_000);
  });

  test('a 2-day deadline on a human approval warns at 44 h, escalates to human:lead at 48 h and keeps waiting', async () => {
    const spec = plan('time-skip-human-deadline', [
      {
        id: 'approve',
        type: 'human-approval',
        owner: { kind: 'human', ref: 'editors' },
        deadline: { afterMs: 2 * DAY, warnBeforeMs: 4 * HOUR, escalateTo: { kind: 'human', ref: 'lead' } },
      },
    ]);
    const { runId: id } = await h.client.start(spec, { runId: runId('time-skip-human-deadline') });
    let events = await eventsWith(h, id, 'approval-requested', 'approve');
    const requested = ms(find(events, 'approval-requested', 'approve').at);
    const waitingBefore = await eventually(async () => {
      const described = await h.client.describe(id);
      return described.waitingOn.length > 0 ? described.waitingOn : undefined;
    }, 'PlanWaitingOn after start');
    assert.deepEqual(waitingBefore, ['human:editors']);

    await skipTo(h, requested + 44 * HOUR - MINUTE);
    assert.equal(all(await h.client.queryEvents(id), 'deadline-warning').length, 0, 'no warning before 44 h');
    await skipTo(h, requested + 44 * HOUR + 1);
    events = await eventsWith(h, id, 'deadline-warning', 'approve');
    const warning = find(events, 'deadline-warning', 'approve');
    assertAt(warning, requested + 44 * HOUR, 'deadline-warning');
    assert.equal(warning.attempt, 1);
    assert.deepEqual(warning.detail, { dueAt: iso(requested + 2 * DAY), warnAt: iso(requested + 44 * HOUR), owner: { kind: 'human', ref: 'editors' } });
    assert.equal(all(events, 'escalation-triggered').length, 0);

    await skipTo(h, requested + 2 * DAY - MINUTE);
    assert.equal(all(await h.client.queryEvents(id), 'escalation-triggered').length, 0, 'no escalation before 48 h');
    await skipTo(h, requested + 2 * DAY + 1);
    events = await eventsWith(h, id, 'escalation-triggered', 'approve');
    const escalation = find(events, 'escalation-triggered', 'approve');
    assertAt(escalation, requested + 2 * DAY, 'escalation-triggered');
    assert.deepEqual(escalation.detail, {
      dueAt: iso(requested + 2 * DAY),
      owner: { kind: 'human', ref: 'editors' },
      escalateTo: { kind: 'human', ref: 'lead' },
      onExpiry: 'escalate',
    });

    // onExpiry escalate (the default): the approval keeps waiting, now also on human:lead.
    const snapshot = await h.client.snapshot(id);
    assert.equal(snapshot.status, 'awaiting-human');
    assert.deepEqual(statuses(snapshot), { approve: 'awaiting-human' });
    assert.deepEqual(snapshot.approvals.map((a) => [a.approvalId, a.status]), [['approve#1', 'pending']]);
    const waitingOn = await eventually(async () => {
      const described = await h.client.describe(id);
      return described.waitingOn.includes('human:lead') ? described.waitingOn : undefined;
    }, 'PlanWaitingOn to include human:lead');
    assert.deepEqual(waitingOn, ['human:editors', 'human:lead']);

    const answer = await h.client.respond(id, { nodeId: 'approve', respondedBy: 'lead', response: { approved: true } });
    assert.equal(answer.nodeStatus, 'completed');
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');
    events = await h.client.events(id);
    assert.equal(all(events, 'deadline-warning').length, 1);
    assert.equal(all(events, 'escalation-triggered').length, 1);
    const timers = await timersOf(h, id);
    assert.deepEqual(
      timers.map((t) => [t.summary.replace(/ at .*/, ''), t.fired]),
      [
        ['approve: deadline warning for attempt 1', true],
        ['approve: deadline of attempt 1', true],
      ],
    );
    assert.match(timers[1].summary, /escalates to human:lead/);
  });

  test('deadline wake-ups: the owner agent is woken by the warning, the escalateTo agent by the escalation, each with the work item', async () => {
    const spec = plan('time-skip-wake', [
      {
        id: 'draft',
        owner: { kind: 'agent', ref: 'writer' },
        objective: 'Draft the post',
        deadline: { afterMs: 2 * DAY, warnBeforeMs: DAY, escalateTo: { kind: 'agent', ref: 'supervisor' } },
      },
    ]);
    const { runId: id } = await h.client.start(spec, { runId: runId('time-skip-wake') });
    const wakeUps = (agent: string): ReceivedRequest[] =>
      agents.requests.filter((r) => r.verified && r.status < 300 && r.path === `/hook/${agent}` && r.body?.workItem?.runId === id);
    const wokenBy = (agent: string, eventType: string) =>
      eventually(async () => wakeUps(agent).find((r) => r.body.eventType === eventType), `${agent} woken by ${eventType}`);

    const dispatchWake = await wokenBy('writer', 'node-running');
    let events = await eventsWith(h, id, 'node-running', 'draft');
    const running = find(events, 'node-running', 'draft');
    const dispatched = ms(running.at);
    assert.equal(dispatchWake.id, running.id, 'webhook-id is the id of the event that woke the agent');

    await skipTo(h, dispatched + DAY + 1);
    const warningWake = await wokenBy('writer', 'deadline-warning');
    events = await eventsWith(h, id, 'deadline-warning', 'draft');
    const warning = find(events, 'deadline-warning', 'draft');
    assertAt(warning, dispatched + DAY, 'deadline-warning');
    assert.equal(warningWake.id, warning.id);
    assert.equal(warningWake.body.workItem.nodeId, 'draft');
    assert.equal(warningWake.body.workItem.attempt, 1);
    assert.equal(warningWake.body.workItem.brief.objective, 'Draft the post');
    assert.equal(wakeUps('supervisor').length, 0, 'the supervisor is not woken by the warning');

    await skipTo(h, dispatched + 2 * DAY + 1);
    const escalationWake = await wokenBy('supervisor', 'escalation-triggered');
    events = await eventsWith(h, id, 'escalation-triggered', 'draft');
    const escalation = find(events, 'escalation-triggered', 'draft');
    assertAt(escalation, dispatched + 2 * DAY, 'escalation-triggered');
    assert.equal(escalationWake.id, escalation.id);
    assert.equal(escalationWake.body.workItem.nodeId, 'draft');
    assert.equal(escalationWake.body.workItem.attempt, 1);
    assert.equal(escalationWake.body.workItem.owner.ref, 'writer', 'the work item is the writer’s task');
    assert.equal(escalationWake.body.workItem.brief.objective, 'Draft the post');
    assert.deepEqual((await h.client.snapshot(id)).nodes.map((n) => [n.id, n.status, n.currentAttempt]), [['draft', 'running', 1]]);
    const waitingOn = await eventually(async () => {
      const described = await h.client.describe(id);
      return described.waitingOn.includes('agent:supervisor') ? described.waitingOn : undefined;
    }, 'PlanWaitingOn to include agent:supervisor');
    assert.deepEqual(waitingOn, ['agent:supervisor', 'agent:writer']);

    await h.client.submitResult(id, { nodeId: 'draft', attempt: 1, structuredOutput: { text: 'late but done' } });
    assert.equal((await h.client.result(id)).status, 'completed');
    const types = (agent: string) => [...new Set(wakeUps(agent).map((r) => r.body.eventType))];
    assert.deepEqual(types('writer'), ['node-running', 'deadline-warning'], 'the owner is woken on dispatch and by the warning');
    assert.deepEqual(types('supervisor'), ['escalation-triggered'], 'escalateTo is woken by the escalation only');
  });

  test('onExpiry fail on a task routes through onFailure: the node is skipped after 1 day, downstream runs, the run completes', async () => {
    const spec = plan(
      'time-skip-expiry-skip',
      [
        { id: 'slow', deadline: { afterMs: DAY, onExpiry: 'fail' }, onFailure: [{ on: 'timeout', action: 'skip' }] },
        { id: 'other' },
        { id: 'merge' },
        { id: 'only' },
      ],
      [
        { from: 'slow', to: 'merge' },
        { from: 'other', to: 'merge' },
        { from: 'slow', to: 'only' },
      ],
      { maxConcurrency: 2 },
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('time-skip-expiry-skip') });
    let events = await eventsWith(h, id, 'node-running', 'slow');
    const dispatched = ms(find(events, 'node-running', 'slow').at);
    await h.client.submitResult(id, { nodeId: 'other', structuredOutput: {} });

    await skipTo(h, dispatched + DAY - MINUTE);
    assert.deepEqual(statuses(await h.client.snapshot(id)), { slow: 'running', other: 'completed', merge: 'pending', only: 'pending' });
    await skipTo(h, dispatched + DAY + 1);
    const snapshot = await eventually(async () => {
      const s = await h.client.snapshot(id);
      return s.nodes.find((n) => n.id === 'merge')?.status === 'running' ? s : undefined;
    }, 'merge running after slow expired');
    assert.deepEqual(statuses(snapshot), { slow: 'skipped', other: 'completed', merge: 'running', only: 'skipped' });
    assert.equal(snapshot.nodes[0].failureClass, 'timeout');
    assert.equal(snapshot.failureCount, 1);

    events = await eventsWith(h, id, 'node-running', 'merge');
    const escalation = find(events, 'escalation-triggered', 'slow');
    assertAt(escalation, dispatched + DAY, 'escalation-triggered');
    assert.equal(escalation.detail?.onExpiry, 'fail');
    assert.deepEqual(escalation.detail?.escalateTo, { kind: 'agent', ref: 'slow' }, 'no escalateTo: the owner');
    const timedOut = find(events, 'node-timed-out', 'slow');
    assert.equal(timedOut.at, escalation.at);
    assert.equal(timedOut.detail?.failureClass, 'timeout');
    assert.equal(timedOut.detail?.cause, 'deadline');
    assert.deepEqual(find(events, 'node-skipped', 'slow').detail, { failureClass: 'timeout', action: 'skip' });
    assert.equal(find(events, 'node-skipped', 'only').at, escalation.at, 'the skip propagates');
    assert.equal(find(events, 'node-running', 'merge').at, escalation.at);
    assert.deepEqual(
      (await h.store.listAttempts(id, 'slow')).map((a) => [a.attempt, a.status, a.failureClass]),
      [[1, 'failed', 'timeout']],
    );

    await h.client.submitResult(id, { nodeId: 'merge', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
  });

  test('onExpiry fail on a human approval: the approval expires unanswered and the node fails with class timeout', async () => {
    const spec = plan('time-skip-expiry-human', [
      { id: 'sign', type: 'human-approval', owner: { kind: 'human', ref: 'legal' }, deadline: { afterMs: DAY, onExpiry: 'fail' } },
    ]);
    const { runId: id } = await h.client.start(spec, { runId: runId('time-skip-expiry-human') });
    let events = await eventsWith(h, id, 'approval-requested', 'sign');
    const requested = ms(find(events, 'approval-requested', 'sign').at);

    await skipTo(h, requested + DAY + 1);
    const snapshot = await eventually(async () => {
      const s = await h.client.snapshot(id);
      return s.status === 'failed' ? s : undefined;
    }, 'the run failed after the deadline');
    assert.deepEqual(
      snapshot.nodes.map((n) => [n.id, n.status, n.failureClass]),
      [['sign', 'failed', 'timeout']],
    );
    assert.deepEqual(snapshot.approvals.map((a) => [a.approvalId, a.status]), [['sign#1', 'expired']]);

    events = await eventsWhere(h, id, (e) => e.type === 'run-status-changed' && e.toStatus === 'failed', 'run failed');
    const escalation = find(events, 'escalation-triggered', 'sign');
    assertAt(escalation, requested + DAY, 'escalation-triggered');
    assert.deepEqual(escalation.detail?.escalateTo, { kind: 'human', ref: 'legal' });
    const resolved = find(events, 'approval-resolved', 'sign');
    assert.equal(resolved.detail?.status, 'expired');
    assert.equal(resolved.at, escalation.at);
    assert.equal(find(events, 'node-timed-out', 'sign').detail?.failureClass, 'timeout');
    assert.equal(find(events, 'node-failed', 'sign').detail?.failureClass, 'timeout');
    const stored = await h.client.approvals({ runId: id });
    assert.deepEqual(stored.map((a) => [a.approvalId, a.status]), [['sign#1', 'expired']]);

    // Too late to answer.
    await assert.rejects(
      h.client.respond(id, { nodeId: 'sign', respondedBy: 'legal', response: { approved: true } }),
      (error: Error & { reason?: string }) => error.reason === 'no-pending-approval',
    );
    await h.client.cancel(id, { by: 'test' });
  });

  test('a plan deadline of 3 days warns at 2 days and escalates at 3 days; the run keeps going', async () => {
    const spec = plan('time-skip-plan-deadline', [{ id: 'work' }], [], {
      deadline: { afterMs: 3 * DAY, warnBeforeMs: DAY, escalateTo: { kind: 'human', ref: 'lead' } },
    });
    const { runId: id } = await h.client.start(spec, { runId: runId('time-skip-plan-deadline') });
    let events = await eventsWith(h, id, 'node-running', 'work');
    const start = ms(find(events, 'run-started').at);
    assert.equal(ms((await h.client.snapshot(id)).startedAt), start);

    await skipTo(h, start + 2 * DAY - MINUTE);
    assert.equal(all(await h.client.queryEvents(id), 'deadline-warning').length, 0);
    await skipTo(h, start + 2 * DAY + 1);
    events = await eventsWhere(h, id, (e) => e.type === 'deadline-warning', 'the plan deadline warning');
    const warning = find(events, 'deadline-warning');
    assert.equal(warning.nodeId, undefined, 'a plan-level warning names no node');
    assertAt(warning, start + 2 * DAY, 'plan deadline-warning');
    assert.deepEqual(warning.detail, { scope: 'plan', dueAt: iso(start + 3 * DAY), warnAt: iso(start + 2 * DAY), escalateTo: { kind: 'human', ref: 'lead' } });

    await skipTo(h, start + 3 * DAY - MINUTE);
    assert.equal(all(await h.client.queryEvents(id), 'escalation-triggered').length, 0);
    await skipTo(h, start + 3 * DAY + 1);
    events = await eventsWhere(h, id, (e) => e.type === 'escalation-triggered', 'the plan escalation');
    const escalation = find(events, 'escalation-triggered');
    assert.equal(escalation.nodeId, undefined);
    assertAt(escalation, start + 3 * DAY, 'plan escalation-triggered');
    assert.deepEqual(escalation.detail, { scope: 'plan', dueAt: iso(start + 3 * DAY), escalateTo: { kind: 'human', ref: 'lead' }, onExpiry: 'escalate' });
    const snapshot = await h.client.snapshot(id);
    assert.equal(snapshot.status, 'running');
    assert.deepEqual(statuses(snapshot), { work: 'running' });
    const waitingOn = await eventually(async () => {
      const described = await h.client.describe(id);
      return described.waitingOn.includes('human:lead') ? described.waitingOn : undefined;
    }, 'PlanWaitingOn to include human:lead');
    assert.deepEqual(waitingOn, ['agent:work', 'human:lead']);

    await h.client.submitResult(id, { nodeId: 'work', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
    events = await h.client.events(id);
    assert.equal(all(events, 'deadline-warning').length, 1);
    assert.equal(all(events, 'escalation-triggered').length, 1);
  });

  test('a plan deadline with onExpiry fail fails the run: active and waiting nodes fail with class timeout, approvals expire', async () => {
    const t0 = await h.now();
    const spec = plan(
      'time-skip-plan-fail',
      [{ id: 'a' }, { id: 'ask', type: 'human-approval' }, { id: 'later' }, { id: 'tomorrow', notBefore: iso(t0.getTime() + 2 * DAY) }],
      [{ from: 'a', to: 'later' }],
      { maxConcurrency: 2, deadline: { afterMs: DAY, onExpiry: 'fail' } },
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('time-skip-plan-fail') });
    let events = await eventsWith(h, id, 'node-running', 'a');
    const start = ms(find(events, 'run-started').at);
    assert.deepEqual(statuses(await h.client.snapshot(id)), { a: 'running', ask: 'awaiting-human', later: 'pending', tomorrow: 'scheduled' });

    await skipTo(h, start + DAY - MINUTE);
    assert.equal((await h.client.snapshot(id)).status, 'running');
    await skipTo(h, start + DAY + 1);
    const snapshot = await eventually(async () => {
      const s = await h.client.snapshot(id);
      return s.status === 'failed' ? s : undefined;
    }, 'the run failed at the plan deadline');
    assert.deepEqual(
      snapshot.nodes.map((n) => [n.id, n.status, n.failureClass]),
      [
        ['a', 'failed', 'timeout'],
        ['ask', 'failed', 'timeout'],
        ['later', 'pending', undefined],
        ['tomorrow', 'failed', 'timeout'],
      ],
    );
    assert.deepEqual(snapshot.approvals.map((a) => [a.approvalId, a.status]), [['ask#1', 'expired']]);

    events = await eventsWhere(h, id, (e) => e.type === 'run-status-changed' && e.toStatus === 'failed', 'run failed');
    const escalation = find(events, 'escalation-triggered');
    assert.equal(escalation.nodeId, undefined);
    assertAt(escalation, start + DAY, 'plan escalation-triggered');
    assert.equal(escalation.detail?.onExpiry, 'fail');
    assert.deepEqual(
      all(events, 'node-timed-out').map((e) => [e.nodeId, e.attempt, e.detail?.cause, e.at === escalation.at]),
      [
        ['a', 1, 'plan-deadline', true],
        ['ask', 1, 'plan-deadline', true],
      ],
    );
    assert.deepEqual(all(events, 'node-failed').map((e) => e.nodeId), ['a', 'ask', 'tomorrow']);
    assert.deepEqual((await h.store.listAttempts(id, 'a')).map((a) => [a.attempt, a.status, a.failureClass]), [[1, 'failed', 'timeout']]);
    const checkpoints = await h.store.listCheckpoints(id);
    assert.equal(checkpoints.at(-1)?.reason, 'deadline');
    assert.equal(checkpoints.at(-1)?.runStatus, 'failed');

    // The failed node's notBefore passes: it stays failed, its timer was cancelled.
    await skipTo(h, t0.getTime() + 2 * DAY + MINUTE);
    assert.equal(statuses(await h.client.snapshot(id)).tomorrow, 'failed');
    assert.equal(all(await h.client.queryEvents(id), 'node-ready', 'tomorrow').length, 0);
    const timers = await timersOf(h, id);
    const tomorrowTimer = timers.find((t) => t.summary.startsWith('tomorrow:'));
    assert.deepEqual([tomorrowTimer?.fired, tomorrowTimer?.canceled], [false, true]);
    await h.client.cancel(id, { by: 'test' });
  });
});
