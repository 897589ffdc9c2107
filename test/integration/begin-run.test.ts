/**
 * A new run begins in one local activity (patch `begin-in-one-activity`) on a real Temporal server
 * and store: the worker's settings, the run input's check and the store write of the start go in one
 * `beginRun`, and the execution records one patch marker. An input the plan's schema refuses writes
 * nothing and fails the run as before; a store that refuses the start still lets the run go on (the
 * settings are then read on their own).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, runId, type Harness } from './harness';
import { installStoreRejections, type StoreRejections } from './store-rejections';
import { PlanIdKey, PlanRunStatusKey, PlanWaitingOnKey, WORKFLOW_TYPE, type PlanRunInput } from '../../src/workflows/definitions';
import type { PlanSpec } from '../../src/engine/spec';

let h: Harness;
let rejections: StoreRejections;
before(async () => {
  h = await startHarness();
  rejections = await installStoreRejections();
});
after(async () => {
  await rejections?.close();
  await h?.close();
});

/** The markers of a run's history: local activity types and patch ids, in order. */
async function markers(id: string): Promise<string[]> {
  const history = await h.client.client.workflow.getHandle(id).fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const marker = event.markerRecordedEventAttributes;
    if (!marker) return [];
    const text = Object.values(marker.details ?? {})
      .flatMap((payloads) => payloads.payloads ?? [])
      .map((payload) => Buffer.from(payload.data ?? new Uint8Array()).toString())
      .join(' ');
    return [(/"activity_type":"([^"]*)"/.exec(text) ?? /"patch_id":"([^"]*)"/.exec(text) ?? /"id":"([^"]*)"/.exec(text))?.[1] ?? '?'];
  });
}

const topicPlan = (id: string): PlanSpec => ({
  id,
  inputSchema: 'Topic',
  schemas: { Topic: { type: 'object', required: ['topic'], properties: { topic: { type: 'string', minLength: 3 } } } },
  nodes: [
    { id: 'draft', type: 'task', owner: { kind: 'agent', ref: 'writer' } },
    { id: 'publish', type: 'task', owner: { kind: 'agent', ref: 'editor' } },
  ],
  edges: [{ from: 'draft', to: 'publish', map: { topic: 'input.topic' } }],
});

describe('a run begins in one local activity', () => {
  test('settings, input check and the start recorded in one beginRun; one patch marker; an update right after the start is answered', async () => {
    const id = runId('begin-one');
    await h.client.start(topicPlan('begin-one'), { runId: id, input: { topic: 'durable agents' } });
    // Sent at once: it waits for the run's first workflow task (the one activity), then is applied.
    const outcome = await h.client.submitResult(id, { nodeId: 'draft', structuredOutput: { text: 'hello' } });
    assert.equal(outcome.nodeStatus, 'completed');
    await h.client.submitResult(id, { nodeId: 'publish', structuredOutput: {} });
    const done = await h.client.result(id);
    assert.equal(done.status, 'completed');
    const seen = await markers(id);
    assert.deepEqual(seen.slice(0, 2), ['begin-in-one-activity', 'beginRun'], seen.join(', '));
    assert.deepEqual(seen.filter((marker) => marker.includes('-')), ['begin-in-one-activity'], `one patch marker: ${seen.join(', ')}`);
    assert.ok(!seen.includes('deliverySettings') && !seen.includes('validateBatch'), seen.join(', '));
    // The start's events are in the store, in order, before the results' (nothing lost or doubled).
    const stored = await h.store.listEvents(id);
    const applied = await h.client.queryEvents(id);
    assert.deepEqual(stored.map((event) => event.seq), applied.map((event) => event.seq));
    assert.equal(stored[0]?.type, 'run-started');
    assert.ok(stored.some((event) => event.type === 'node-running' && event.nodeId === 'draft'));
  });

  test('an input the plan refuses writes nothing, and the run fails with what is wrong', async () => {
    const id = runId('begin-refused');
    // Past the client's own check of the input, as a client in another language could start it.
    const args: PlanRunInput = { spec: topicPlan('begin-refused'), input: { topic: 'x' } };
    const handle = await h.client.client.workflow.start(WORKFLOW_TYPE, {
      args: [args],
      workflowId: id,
      taskQueue: h.taskQueue,
      typedSearchAttributes: [
        { key: PlanIdKey, value: 'begin-refused' },
        { key: PlanRunStatusKey, value: 'running' },
        { key: PlanWaitingOnKey, value: [] },
      ],
    });
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error as { cause?: { message?: string; type?: string } },
    );
    assert.ok(failure, 'the run should have failed');
    assert.match(failure.cause?.message ?? '', /Invalid run input: topic: .*fewer than 3 characters/);
    assert.deepEqual(await markers(id), ['begin-in-one-activity', 'beginRun']);
    assert.equal(await h.store.getRun(id), undefined, 'nothing of the run is stored');
    assert.deepEqual(await h.store.listEvents(id), []);
  });

  test('a start the store refuses: the settings are read on their own and the run goes on', async () => {
    const id = runId('begin-rejected');
    await rejections.rejectRun(id);
    await h.client.start(topicPlan('begin-rejected'), { runId: id, input: { topic: 'durable agents' } });
    for (const nodeId of ['draft', 'publish']) {
      assert.equal((await h.client.submitResult(id, { nodeId, structuredOutput: {} })).nodeStatus, 'completed');
    }
    const done = await h.client.result(id);
    assert.equal(done.status, 'completed');
    assert.equal(done.recording?.status, 'failing');
    const seen = await markers(id);
    assert.deepEqual(seen.slice(0, 3), ['begin-in-one-activity', 'beginRun', 'deliverySettings'], seen.join(', '));
  });
});
