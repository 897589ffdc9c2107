/**
 * Which pollers count as a live worker: those seen recently whose worker did not report that it shut
 * down. The server lists stopped workers for minutes; a worker that is listed and did not say it
 * stopped is waited for, however slow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SHUTDOWN_SKEW_MS,
  STALE_POLLER_MS,
  classifyPollers,
  noWorkerMessage,
  unansweredMessage,
  verdictOf,
  type WorkerVerdict,
} from '../../src/client/worker-check';

const NOW = Date.parse('2026-12-02T12:00:00.000Z');
const time = (msAgo: number) => ({ seconds: Math.floor((NOW - msAgo) / 1000), nanos: ((NOW - msAgo) % 1000) * 1e6 });
const at = (msAgo: number, identity = '100@host') => ({ identity, lastAccessTime: time(msAgo) });
const RUNNING = 1;
const SHUTTING_DOWN = 2;
const SHUTDOWN = 3;
const beat = (status: number, msAgo: number | undefined, identity = '100@host', taskQueue = 'q') => ({
  workerIdentity: identity,
  taskQueue,
  status,
  ...(msAgo === undefined ? {} : { heartbeatTime: time(msAgo) }),
});

test('a poller seen within the stale window is live; an older one is a stopped worker', () => {
  const fresh = classifyPollers('q', [at(1_000)], NOW);
  assert.equal(fresh.live, 1);
  assert.equal(fresh.stale, 0);
  assert.equal(fresh.newestAgeMs, 1_000);
  const stopped = classifyPollers('q', [at(STALE_POLLER_MS + 5_000)], NOW);
  assert.equal(stopped.live, 0);
  assert.equal(stopped.stale, 1);
  assert.equal(stopped.lastSeen, new Date(NOW - STALE_POLLER_MS - 5_000).toISOString());
  assert.deepEqual(classifyPollers('q', [], NOW), { taskQueue: 'q', live: 0, stopped: 0, stale: 0 });
  assert.equal(classifyPollers('q', [at(STALE_POLLER_MS + 1), at(10, '200@host')], NOW).live, 1);
  // An idle live worker's newest poll is up to ~60 s old (the server ends a long poll after ~60 s).
  assert.equal(classifyPollers('q', [at(60_000)], NOW).live, 1);
});

test('a recent poller whose worker reported it shut down is gone at once', () => {
  const report = classifyPollers('q', [at(5_000)], NOW, [beat(SHUTTING_DOWN, 3_000)]);
  assert.equal(report.live, 0);
  assert.equal(report.stopped, 1);
  assert.deepEqual(report.stoppedWorkers, [{ identity: '100@host', at: new Date(NOW - 3_000).toISOString() }]);
  assert.deepEqual(verdictOf(report), { ok: false, report, reason: 'stopped' });
  assert.equal(classifyPollers('q', [at(5_000)], NOW, [beat(SHUTDOWN, 3_000)]).stopped, 1);
});

test('a poller is live unless its worker clearly stopped after the poll began', () => {
  // Running, or no heartbeat at all (the first one comes a minute after start): live.
  assert.equal(classifyPollers('q', [at(5_000)], NOW, [beat(RUNNING, 30_000)]).live, 1);
  assert.equal(classifyPollers('q', [at(5_000)], NOW, []).live, 1);
  // Another worker (other identity) shut down: this one is still live.
  assert.equal(classifyPollers('q', [at(5_000)], NOW, [beat(SHUTTING_DOWN, 3_000, '999@other')]).live, 1);
  // The same identity on another task queue says nothing about this one.
  assert.equal(classifyPollers('q', [at(5_000)], NOW, [beat(SHUTTING_DOWN, 3_000, '100@host', 'other-q')]).live, 1);
  // One worker of the process shut down, another with the same identity still runs: live.
  assert.equal(classifyPollers('q', [at(5_000)], NOW, [beat(SHUTTING_DOWN, 3_000), beat(RUNNING, 20_000)]).live, 1);
  // A poll that began after the shutdown (a worker started again in the same process): live.
  assert.equal(classifyPollers('q', [at(1_000)], NOW, [beat(SHUTTING_DOWN, 1_000 + SHUTDOWN_SKEW_MS + 1_000)]).live, 1);
  // A shutdown without a time cannot be compared with the polls: proves nothing.
  assert.equal(classifyPollers('q', [at(5_000)], NOW, [beat(SHUTTING_DOWN, undefined)]).live, 1);
  // A poller without an identity cannot be matched to a heartbeat.
  assert.equal(classifyPollers('q', [{ lastAccessTime: time(5_000) }], NOW, [beat(SHUTTING_DOWN, 3_000)]).live, 1);
});

test('no poller, or only stale ones: no worker', () => {
  const none = classifyPollers('q', [], NOW);
  assert.deepEqual(verdictOf(none), { ok: false, report: none, reason: 'none' });
  assert.equal(verdictOf(classifyPollers('q', [at(STALE_POLLER_MS * 2)], NOW)).ok, false);
  assert.equal(verdictOf(classifyPollers('q', [at(1_000)], NOW)).ok, true);
});

test('the message names the queue, when the last worker left, and how to start one', () => {
  const never = noWorkerMessage(verdictOf(classifyPollers('plan-runs', [], NOW)) as Extract<WorkerVerdict, { ok: false }>, 'query snapshot of run r1');
  assert.equal(
    never,
    'no worker is polling task queue plan-runs, so query snapshot of run r1 cannot be answered: ' +
      'start one on that queue (plan-runner worker --task-queue plan-runs, or ./temporal-dev.sh worker)',
  );
  const report = classifyPollers('plan-runs', [at(STALE_POLLER_MS * 2)], NOW);
  const text = noWorkerMessage({ ok: false, report, reason: 'none' }, 'query snapshot of run r1');
  assert.match(text, /^no worker is polling task queue plan-runs \(the last poll began at 2026-12-02T11:57:00\.000Z\), so query snapshot of run r1 cannot be answered/);
  assert.match(text, /plan-runner worker --task-queue plan-runs/);
  const left = classifyPollers('plan-runs', [at(5_000)], NOW, [beat(SHUTTING_DOWN, 3_000, '100@host', 'plan-runs')]);
  assert.match(
    noWorkerMessage({ ok: false, report: left, reason: 'stopped' }, 'x'),
    /^no worker is polling task queue plan-runs \(the worker last seen, 100@host, shut down at 2026-12-02T11:59:57\.000Z\), so x cannot/,
  );
});

test('a listed worker that did not answer is called slow or killed, not missing', () => {
  const report = classifyPollers('plan-runs', [at(5_000)], NOW);
  const text = unansweredMessage(report, 'query snapshot of run r1', 20_000);
  assert.match(text, /^the worker on task queue plan-runs \(its latest poll began at 2026-12-02T11:59:55\.000Z\) did not answer query snapshot of run r1 within 20 s: it is busy or stuck/);
  assert.match(text, /killed without shutting down less than 90 s ago/);
  assert.doesNotMatch(text, /no worker is polling task queue/);
  assert.match(unansweredMessage(report, 'x', 1_500), /within 1\.5 s/);
});
