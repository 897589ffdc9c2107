/**
 * A store that rejects a run's records for good (issue 9): the run keeps moving in Temporal, every
 * update is answered, `status` says what the store is missing, the write is not retried forever, and
 * other runs on the same worker record as usual. The rejections are real database errors from
 * triggers in the test database (store-rejections.ts), on SQLite or PostgreSQL (PLAN_STORE_URL).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, plan, runId, eventually, testDelivery, workerLog, closeAll, type Harness, runCli } from './harness';
import { WebhookReceiver } from './webhook-receiver';
import { installStoreRejections, REJECTION_MESSAGE, type StoreRejections } from './store-rejections';
import { eventsQuery, nodeResultSignal } from '../../src/workflows/definitions';
import type { RunEvent, RunSnapshot } from '../../src/engine';


let h: Harness;
let sink: WebhookReceiver;
let rejections: StoreRejections;

before(async () => {
  sink = await new WebhookReceiver().start();
  h = await startHarness({ delivery: testDelivery({ sinks: [{ id: runId('rejections-sink'), url: sink.url, secret: sink.secret }] }) });
  rejections = await installStoreRejections();
});
// The harness closes first: it terminates any run a failed test left open (they may be retrying a refused write).
after(() => closeAll(() => h?.close(), () => rejections?.close(), () => sink?.stop()));

/** Fails instead of hanging: the defect was an update that never answered. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

const cli = (...args: string[]) => runCli(h.taskQueue, ...args);

const chain = plan(
  'rejections',
  [{ id: 'research' }, { id: 'draft' }, { id: 'publish' }],
  [
    { from: 'research', to: 'draft' },
    { from: 'draft', to: 'publish' },
  ],
);

async function workflowEvents(id: string): Promise<RunEvent[]> {
  return h.client.client.workflow.getHandle(id).query(eventsQuery, {});
}

/**
 * The store writes (`recordTransitions` local-activity markers, and `validateAndRecordTransitions` ones
 * that wrote or failed writing) of a closed run's history, with the attempt each one
 * finished on and whether it failed (core records `activity_type` and `attempt` in the marker's `data` detail).
 */
async function recordMarkers(id: string): Promise<Array<{ attempt: number; failed: boolean }>> {
  const history = await h.client.client.workflow.getHandle(id).fetchHistory();
  const markers: Array<{ attempt: number; failed: boolean }> = [];
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (!marker) continue;
    const payload = marker.details?.data?.payloads?.[0]?.data;
    if (!payload) continue;
    const data = JSON.parse(Buffer.from(payload).toString('utf8')) as { activity_type?: string; attempt?: number };
    // A store write is `recordTransitions` or, with patch validate-and-record-in-one-activity, a
    // `validateAndRecordTransitions` that wrote (failed, it failed writing: it writes only without
    // issues), or with patch begin-in-one-activity a run's `beginRun` that wrote (the same).
    const mayWrite = data.activity_type === 'validateAndRecordTransitions' || data.activity_type === 'beginRun';
    if (mayWrite && !marker.failure) {
      const result = marker.details?.result?.payloads?.[0]?.data;
      if (!result || (JSON.parse(Buffer.from(result).toString('utf8')) as { recorded?: boolean }).recorded !== true) continue;
    } else if (data.activity_type !== 'recordTransitions' && !mayWrite) continue;
    markers.push({ attempt: data.attempt ?? 0, failed: Boolean(marker.failure) });
  }
  return markers;
}

describe('a store that rejects records', () => {
  test('a rejected record does not stop the run: it completes, updates answer, status says what is missing, others record normally', async () => {
    const id = runId('rejected-draft');
    const other = runId('recorded-normally');
    await rejections.rejectAttempts(id, 'draft');

    await h.client.start(chain, { runId: id });
    await within(15_000, 'research', h.client.submitResult(id, { nodeId: 'research', structuredOutput: { notes: 'n' } }));
    // The store refuses this transition's attempt row: the update still answers, at once.
    const drafted = await within(15_000, 'the draft update', h.client.submitResult(id, { nodeId: 'draft', structuredOutput: { text: 't' } }));
    assert.equal(drafted.nodeStatus, 'completed');

    // While the latest write was refused, the snapshot and `status` say so.
    const failing = await h.client.snapshot(id);
    assert.ok(failing.recording, 'the snapshot has recording');
    assert.equal(failing.recording.status, 'failing');
    assert.ok(failing.recording.failedSeqs.length > 0);
    assert.equal(failing.recording.failedCount, failing.recording.failedSeqs.length);
    assert.ok(failing.recording.reason.includes(REJECTION_MESSAGE), failing.recording.reason);
    assert.ok(failing.recording.reason.includes(h.store.location), `the reason names the store: ${failing.recording.reason}`);
    assert.ok(!Number.isNaN(Date.parse(failing.recording.since)));
    const firstMissing = failing.recording.failedSeqs[0];
    const text = await cli('status', id);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(
      text.stdout.includes(`recording to the store is failing since ${failing.recording.since}: `) &&
        text.stdout.includes(`the run keeps going in Temporal; events after seq ${firstMissing - 1} may be missing from the store`),
      text.stdout,
    );
    const json = await cli('status', id, '--json');
    assert.deepEqual((JSON.parse(json.stdout) as { recording?: unknown }).recording, failing.recording);

    // Another run on the same worker, meanwhile, is recorded in full.
    await h.client.start(chain, { runId: other });
    for (const nodeId of ['research', 'draft', 'publish']) {
      await within(15_000, `${other} ${nodeId}`, h.client.submitResult(other, { nodeId, structuredOutput: { ok: true } }));
    }
    const otherDone = await within(20_000, 'the other run', h.client.result(other));
    assert.equal(otherDone.status, 'completed');
    assert.equal(otherDone.recording, undefined, 'the other run has no recording problem');
    const otherEvents = await workflowEvents(other);
    assert.deepEqual((await h.client.events(other)).map((event) => event.seq), otherEvents.map((event) => event.seq));
    assert.equal((await h.client.storedRun(other)).status, 'completed');

    // The rejected run goes on to completion; later records are stored again.
    await within(15_000, 'publish', h.client.submitResult(id, { nodeId: 'publish', structuredOutput: { url: 'u' } }));
    const done: RunSnapshot = await within(20_000, 'the rejected run', h.client.result(id));
    assert.equal(done.status, 'completed');
    assert.ok(done.recording);
    assert.equal(done.recording.status, 'incomplete');
    assert.deepEqual(done.recording.failedSeqs, failing.recording.failedSeqs, 'only the refused record is missing');

    // Exactly the refused transition's events are missing from the store: the draft's result.
    const all = await workflowEvents(id);
    const stored = new Set((await h.client.events(id)).map((event) => event.seq));
    const missing = all.filter((event) => !stored.has(event.seq));
    assert.deepEqual(missing.map((event) => event.seq), done.recording.failedSeqs);
    assert.ok(missing.some((event) => event.nodeId === 'draft' && event.type === 'node-completed'), JSON.stringify(missing));
    assert.ok(stored.has(all[all.length - 1].seq), 'the last event is stored');
    const storedRun = await h.client.storedRun(id);
    assert.equal(storedRun.status, 'completed');
    assert.deepEqual((await h.client.attempts(id, 'draft')).length, 0);
    assert.deepEqual((await h.client.attempts(id, 'publish')).length, 1);

    // The finished run's status (from its result) still says it.
    const finalText = await cli('status', id);
    assert.match(finalText.stdout, /recording to the store failed from .*; the run keeps going in Temporal and its later events are stored again; missing from the store: events /);

    // The sink got every stored event and skipped the missing ones (the workflow closed: it did not wait for them).
    await eventually(async () => sink.acceptedSeqs(id).length === stored.size || undefined, 'deliveries of the stored events');
    assert.deepEqual(sink.acceptedSeqs(id), [...stored].sort((a, b) => a - b));

    // Not retried forever: the refused write failed on its first attempt, once.
    const markers = await recordMarkers(id);
    assert.deepEqual(markers.filter((marker) => marker.failed), [{ attempt: 1, failed: true }]);
    const failedAt = markers.findIndex((marker) => marker.failed);
    assert.ok(failedAt > 0 && failedAt < markers.length - 1, `writes succeed before and after the refused one: ${JSON.stringify(markers)}`);
    // And the worker log says which store refused what, and why.
    const logged = workerLog.find((entry) => entry.level === 'ERROR' && entry.message.includes(`run ${id}`));
    assert.ok(logged, 'the worker logged the rejection');
    assert.ok(logged.message.includes(h.store.location) && logged.message.includes(REJECTION_MESSAGE), logged.message);
  });

  test('a refused record in a batch costs only itself: the records around it in the same write are stored', async () => {
    // No worker polls this queue yet, so the start and three results reach the workflow together.
    // The start is recorded first, in the run's first local activity (patch begin-in-one-activity);
    // the three results are then applied one after another, and go to the store in one write.
    const queued = await startHarness({ withWorker: false });
    let worker: Harness | undefined;
    const id = runId('rejected-in-batch');
    try {
      await rejections.rejectAttempts(id, 'draft');
      await queued.client.start(chain, { runId: id });
      const handle = queued.client.client.workflow.getHandle(id);
      for (const nodeId of ['research', 'draft', 'publish']) await handle.signal(nodeResultSignal, { nodeId, structuredOutput: { ok: true } });
      worker = await startHarness({ taskQueue: queued.taskQueue });
      const done = await within(20_000, 'the run', queued.client.result(id));
      assert.equal(done.status, 'completed');
      assert.ok(done.recording);

      const all = await workflowEvents(id);
      const stored = new Set((await queued.client.events(id)).map((event) => event.seq));
      const missing = all.filter((event) => !stored.has(event.seq));
      assert.deepEqual(missing.map((event) => event.seq), done.recording.failedSeqs);
      assert.ok(missing.length > 0 && missing.every((event) => event.seq > 1 && event.seq < all.length), 'events before and after the refused ones are stored');
      assert.ok(missing.some((event) => event.nodeId === 'draft' && event.type === 'node-completed'));
      assert.equal((await queued.client.attempts(id, 'research')).length, 1);
      assert.equal((await queued.client.attempts(id, 'publish')).length, 1);
      // The start's write, then one write of several records, written again one by one.
      const markers = await recordMarkers(id);
      assert.deepEqual(markers, [
        { attempt: 1, failed: false },
        { attempt: 1, failed: true },
      ]);
      assert.ok(workerLog.some((entry) => entry.message.includes('writing them one by one')));
    } finally {
      await worker?.close();
      await queued.close();
    }
  });

  test('a run the store refuses entirely still completes, and every update answers', async () => {
    const id = runId('rejected-run');
    await rejections.rejectRun(id);
    await h.client.start(chain, { runId: id });
    for (const nodeId of ['research', 'draft', 'publish']) {
      const outcome = await within(15_000, nodeId, h.client.submitResult(id, { nodeId, structuredOutput: { ok: true } }));
      assert.equal(outcome.nodeStatus, 'completed');
    }
    const done = await within(20_000, 'the run', h.client.result(id));
    assert.equal(done.status, 'completed');
    assert.ok(done.recording);
    assert.equal(done.recording.status, 'failing');
    const all = await workflowEvents(id);
    assert.deepEqual(done.recording.failedSeqs, all.map((event) => event.seq), 'every event is missing');
    await assert.rejects(h.client.storedRun(id), /not found|no run/i);
    const markers = await recordMarkers(id);
    assert.ok(markers.length > 0 && markers.every((marker) => marker.failed && marker.attempt === 1), JSON.stringify(markers));
  });
});
