/**
 * Crash between the store write and the delivery: the worker process (configured from the
 * environment, as in production) is SIGKILLed after a transition is in the store but before the
 * sink received it. After a new worker process starts: no row is duplicated or lost, and every event
 * reaches the sink (duplicates at the receiver are allowed; it de-duplicates by webhook-id).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { startHarness, plan, runId, eventually, startWorkerProcess, closeAll, type Harness } from './harness';
import { WebhookReceiver, orderViolation } from './webhook-receiver';

/** The worker's delivery configuration, from the environment as in production. */
function sinkEnv(): Record<string, string> {
  return {
    PLAN_WEBHOOK_URL: sink.url,
    PLAN_WEBHOOK_SECRET: sink.secret,
    PLAN_DELIVERY_RETRY_INITIAL_MS: '200',
    PLAN_DELIVERY_RETRY_MAX_MS: '1000',
  };
}

let h: Harness;
let worker: ChildProcess | undefined;
const sink = new WebhookReceiver();
before(async () => {
  h = await startHarness({ withWorker: false });
  await sink.start();
});
after(async () => {
  worker?.kill('SIGKILL');
  await closeAll(() => h?.close(), () => sink.stop());
});

test('a worker killed after the store write and before delivery: no duplicate rows, every event delivered', async () => {
  sink.failNext = Number.MAX_SAFE_INTEGER; // the sink refuses everything until the crash
  worker = await startWorkerProcess(h.taskQueue, sinkEnv());
  const spec = plan('crash-delivery', [{ id: 'one' }, { id: 'two' }], [{ from: 'one', to: 'two' }]);
  const { runId: id } = await h.client.start(spec, { runId: runId('crash-delivery') });
  await h.client.submitResult(id, { nodeId: 'one', structuredOutput: { value: 1 } });
  const snapshot = await h.client.snapshot(id);

  // Wait until the transition is in the store while the sink still has not accepted it.
  await eventually(async () => ((await h.store.getRun(id))?.lastSeq === snapshot.lastSeq ? true : undefined), 'the store write');
  assert.ok(sink.acceptedSeqs(id).length === 0, 'nothing delivered yet');
  assert.ok(sink.requests.some((r) => r.body?.event?.runId === id), 'delivery was attempted (and refused)');

  worker.kill('SIGKILL');
  await once(worker, 'exit');
  sink.failNext = 0;
  // Accepted by Temporal while no worker runs.
  await h.client.signalResult(id, { nodeId: 'two', attempt: 1, submissionId: 'two-1', structuredOutput: { value: 2 } });

  worker = await startWorkerProcess(h.taskQueue, sinkEnv());
  const final = await h.client.result(id);
  assert.equal(final.status, 'completed');

  const events = await h.store.listEvents(id);
  assert.deepEqual(events.map((e) => e.seq), Array.from({ length: final.lastSeq }, (_, i) => i + 1), 'no event row lost or duplicated');
  assert.deepEqual((await h.store.listAttempts(id, 'one')).map((a) => a.attempt), [1]);
  assert.deepEqual((await h.store.listAttempts(id, 'two')).map((a) => a.attempt), [1]);
  const checkpoints = await h.store.listCheckpoints(id);
  assert.deepEqual(checkpoints.map((c) => c.sequence), Array.from({ length: final.checkpointSequence }, (_, i) => i + 1));
  assert.equal((await h.store.getRun(id))?.status, 'completed');

  await eventually(async () => (sink.acceptedSeqs(id).length === final.lastSeq ? true : undefined), 'every event at the receiver', 30_000);
  assert.deepEqual(sink.acceptedSeqs(id), events.map((e) => e.seq));
  assert.equal(orderViolation(sink.accepted(id)), undefined);
  assert.ok(sink.requests.every((r) => r.verified));
});
