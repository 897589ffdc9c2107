/**
 * Day-long timers on Temporal's time-skipping test server (TEMPORAL_TEST_SERVER_PATH): each test
 * waits days of workflow time and takes well under a second of wall time. This file starts its own
 * test server; skipped time is global to a server, so its tests run one after another.
 *
 * Time skips when `env.sleep(ms)` asks for it, and while `result()` waits for a workflow to close.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { plan, runId, eventually } from './harness';
import { startTimeSkippingHarness, type TimeSkippingHarness } from './time-skipping-env';
import type { RunEvent } from '../../src/engine';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

const statuses = (snapshot: { nodes: Array<{ id: string; status: string }> }) =>
  Object.fromEntries(snapshot.nodes.map((node) => [node.id, node.status]));
const ms = (iso: string | undefined) => Date.parse(String(iso));
const find = (events: RunEvent[], type: string, nodeId?: string) => {
  const found = events.find((event) => event.type === type && (nodeId === undefined || event.nodeId === nodeId));
  assert.ok(found, `event ${type}${nodeId ? ` of ${nodeId}` : ''} recorded`);
  return found;
};
/**
 * A timer fires a little after the `until` the engine computed, never before: the workflow computes
 * the delay from its task's start time, but the server starts the timer when the task completes,
 * tens of milliseconds later (measured: ~40 ms). The promotion is stamped with the time of the task
 * that handles the fired timer. Between skips the test server's clock runs at wall-clock speed.
 */
const TASK_SLACK_MS = 5_000;

/** The run's events from the store once they include `type` of `nodeId` (the worker records them a moment after the transition). */
const eventsWith = (h: TimeSkippingHarness, id: string, type: string, nodeId: string) =>
  eventually(async () => {
    const events = await h.client.events(id);
    return events.some((event) => event.type === type && event.nodeId === nodeId) ? events : undefined;
  }, `event ${type} of ${nodeId} in the store`);

describe('time-skipping test server', () => {
  let h: TimeSkippingHarness;
  before(async () => {
    h = await startTimeSkippingHarness();
  });
  after(async () => {
    await h?.close();
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
    assert.deepEqual(scheduledB.detail, { until: new Date(bUntil).toISOString(), reason: 'delayAfterPredecessorMs' });
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
});
