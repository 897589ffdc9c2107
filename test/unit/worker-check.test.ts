/** Which pollers count as a live worker: those seen recently; the server lists stopped ones for a while. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STALE_POLLER_MS, classifyPollers, noWorkerMessage } from '../../src/client/worker-check';

const NOW = Date.parse('2026-12-02T12:00:00.000Z');
const at = (msAgo: number) => ({ lastAccessTime: { seconds: Math.floor((NOW - msAgo) / 1000), nanos: 0 } });

test('a poller seen within the stale window is live; an older one is a stopped worker', () => {
  const fresh = classifyPollers('q', [at(1_000)], NOW);
  assert.equal(fresh.live, 1);
  assert.equal(fresh.stale, 0);
  assert.equal(fresh.newestAgeMs, 1_000);
  const stopped = classifyPollers('q', [at(STALE_POLLER_MS + 5_000)], NOW);
  assert.equal(stopped.live, 0);
  assert.equal(stopped.stale, 1);
  assert.equal(stopped.lastSeen, new Date(NOW - STALE_POLLER_MS - 5_000).toISOString());
  assert.deepEqual(classifyPollers('q', [], NOW), { taskQueue: 'q', live: 0, stale: 0 });
  assert.equal(classifyPollers('q', [at(STALE_POLLER_MS + 1), at(10)], NOW).live, 1);
});

test('the message names the queue, when the last worker left, and how to start one', () => {
  const report = classifyPollers('plan-runs', [at(STALE_POLLER_MS * 2)], NOW);
  const text = noWorkerMessage({ ok: false, report, reason: 'none' }, 'query snapshot of run r1');
  assert.match(text, /^no worker is polling task queue plan-runs \(the last poll began at 2026-12-02T11:57:00\.000Z\), so query snapshot of run r1 cannot be answered/);
  const silent = noWorkerMessage({ ok: false, report: classifyPollers('q', [at(30_000)], NOW), reason: 'silent' }, 'x');
  assert.match(silent, /no worker answered within 1000 ms, so the one last seen has stopped or is stuck/);
  assert.match(text, /plan-runner worker --task-queue plan-runs/);
});
