/**
 * The run lifecycle across workflow executions (docs/semantics.md §11): replan, and continue-as-new when a run
 * has handled many messages, on a real Temporal dev server and store. Nothing may be lost or
 * repeated across the boundary: state, submission de-duplication, timers, events and deliveries.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { startHarness, plan, runId, eventually, testDelivery, closeAll, executionChain, type Harness } from './harness';
import { WebhookReceiver, orderViolation } from './webhook-receiver';
import { replanRunUpdate, replanSignal } from '../../src/workflows/definitions';
import type { PlanSpec } from '../../src/engine';

let h: Harness;
const sink = new WebhookReceiver();
before(async () => {
  await sink.start();
  h = await startHarness({ delivery: testDelivery({ sinks: [{ id: `lifecycle-${runId('sink')}`, url: sink.url, secret: sink.secret }] }) });
});
after(() => closeAll(() => h?.close(), () => sink.stop()));

/** The Temporal run id of the execution a workflow id currently points at. */
async function currentRunId(id: string): Promise<string> {
  return (await h.client.client.workflow.getHandle(id).describe()).runId;
}

const executions = (id: string, firstRunId: string) => executionChain(h.client.client, id, firstRunId);


const linear = (extra: Partial<PlanSpec['nodes'][number]> = {}): PlanSpec =>
  plan('replan', [{ id: 'a' }, { id: 'b', objective: 'first version', ...extra }, { id: 'c' }], [
    { from: 'a', to: 'b', map: { fromA: 'output.value' } },
    { from: 'b', to: 'c' },
  ]);

describe('replan', () => {
  test('completed nodes keep their outputs, changed and new nodes run, and the run continues as new', async () => {
    const { runId: id } = await h.client.start(linear(), { runId: runId('replan') });
    const firstRunId = await currentRunId(id);
    await h.client.submitResult(id, { nodeId: 'a', structuredOutput: { value: 41 } });
    const before = await h.client.snapshot(id);

    const v2: PlanSpec = {
      ...linear({ objective: 'second version' }),
      nodes: [...linear({ objective: 'second version' }).nodes, { id: 'd', type: 'task', owner: { kind: 'agent', ref: 'd' } }],
      edges: [...(linear().edges ?? []), { from: 'c', to: 'd' }],
    };
    const outcome = await h.client.replan(id, v2, { by: 'planner' });
    assert.equal(outcome.specVersion, 2);
    assert.deepEqual(outcome.changes.kept, ['a']);
    assert.deepEqual(outcome.changes.changed, ['b']);
    assert.deepEqual(outcome.changes.added, ['d']);

    // The next execution carries on: a keeps its output, b runs again with its mapped input.
    const item = await eventually(async () => (await h.client.workItem(id, 'b').catch(() => null)) ?? undefined, 'b running in v2');
    assert.equal(item.brief.objective, 'second version');
    assert.deepEqual(item.resolvedInput, { fromA: 41 });
    const snapshot = await h.client.snapshot(id);
    assert.equal(snapshot.specVersion, 2);
    assert.deepEqual(snapshot.nodes.find((n) => n.id === 'a')?.output, { value: 41 });
    assert.equal(snapshot.nodes.find((n) => n.id === 'a')?.attempts, 1);
    assert.ok(snapshot.lastSeq > before.lastSeq);

    for (const nodeId of ['b', 'c', 'd']) await h.client.submitResult(id, { nodeId, structuredOutput: { value: nodeId } });
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');
    assert.equal(final.specVersion, 2);
    assert.deepEqual(final.nodes.map((n) => [n.id, n.status]), [
      ['a', 'completed'],
      ['b', 'completed'],
      ['c', 'completed'],
      ['d', 'completed'],
    ]);

    const runs = await executions(id, firstRunId);
    assert.deepEqual(runs.map((run) => run.status), ['CONTINUED_AS_NEW', 'COMPLETED'], 'one execution per spec version');

    // The store links the versions: one run row (now at version 2 with the new spec), one event log.
    const stored = await h.store.listEvents(id);
    assert.deepEqual(stored.map((e) => e.seq), stored.map((_, i) => i + 1), 'events continue across executions');
    const replanned = stored.filter((e) => e.type === 'run-replanned');
    assert.equal(replanned.length, 1);
    assert.deepEqual([replanned[0].detail?.fromVersion, replanned[0].detail?.toVersion], [1, 2]);
    assert.equal((await h.store.getRun(id))?.specVersion, 2);
    assert.deepEqual((await h.store.getSpec(id))?.nodes.map((n) => n.id), ['a', 'b', 'c', 'd']);
    assert.equal((await h.store.listAttempts(id, 'a')).length, 1);
  });

  test('an invalid new spec is refused with the problem paths and the run goes on untouched', async () => {
    const { runId: id } = await h.client.start(linear(), { runId: runId('replan-bad') });
    const firstRunId = await currentRunId(id);
    await h.client.submitResult(id, { nodeId: 'a', structuredOutput: { value: 1 } });
    const before = await h.client.snapshot(id);
    const broken = { ...linear(), edges: [{ from: 'a', to: 'nowhere' }] };
    await assert.rejects(
      h.client.client.workflow.getHandle(id).executeUpdate(replanRunUpdate, { args: [{ spec: broken, by: 'planner' }] }),
      (error: unknown) => {
        assert.ok(error instanceof WorkflowUpdateFailedError);
        const cause = error.cause as { type?: string; message: string; details?: Array<{ reason?: string }> };
        assert.equal(cause.type, 'PlanRunRefused');
        assert.equal(cause.details?.[0]?.reason, 'invalid-spec');
        assert.match(cause.message, /edges\[0\]\.to/);
        return true;
      },
    );
    assert.deepEqual(await h.client.snapshot(id), before, 'nothing changed');
    assert.equal(await currentRunId(id), firstRunId, 'no new execution');
    await h.client.cancel(id, { by: 'test' });
  });

  test('by signal: an invalid spec is recorded as operation-rejected and changes nothing else; a valid one replans', async () => {
    const { runId: id } = await h.client.start(linear(), { runId: runId('replan-signal') });
    const firstRunId = await currentRunId(id);
    await h.client.submitResult(id, { nodeId: 'a', structuredOutput: { value: 7 } });
    const before = await h.client.snapshot(id);
    const handle = h.client.client.workflow.getHandle(id);

    await handle.signal(replanSignal, { spec: { ...linear(), edges: [{ from: 'a', to: 'nowhere' }] }, by: 'planner' });
    const rejected = await eventually(async () => (await h.store.listEvents(id)).find((e) => e.type === 'operation-rejected'), 'the refusal in the store');
    assert.equal(rejected.seq, before.lastSeq + 1);
    assert.equal(rejected.by, 'planner');
    assert.equal(rejected.detail?.operation, 'replan');
    assert.equal(rejected.detail?.reason, 'invalid-spec');
    assert.match(rejected.message, /edges\[0\]\.to/);
    const after = await h.client.snapshot(id);
    assert.deepEqual(after.nodes, before.nodes, 'no node changed');
    assert.equal(after.specVersion, 1);
    assert.equal(after.lastSeq, rejected.seq, 'the refusal is the only new event');
    assert.equal(await currentRunId(id), firstRunId, 'no new execution');

    await handle.signal(replanSignal, { spec: linear({ objective: 'by signal' }), by: 'planner' });
    const item = await eventually(async () => (await h.client.workItem(id, 'b').catch(() => null))?.brief.objective === 'by signal' || undefined, 'b running in v2');
    assert.equal(item, true);
    assert.equal((await h.client.snapshot(id)).specVersion, 2);
    // The replanned state is applied (and queryable) in the first execution, which then hands over.
    await eventually(async () => (await currentRunId(id)) !== firstRunId || undefined, 'the replan to continue as new');
    await h.client.cancel(id, { by: 'test' });
  });
});

describe('continue-as-new', () => {
  test('after many messages the run continues as new: state, de-duplication, timers and deliveries carry over', async () => {
    const id = runId('can');
    const spec = plan(
      'can',
      [
        { id: 'work', retry: { maxAttempts: 50 } },
        { id: 'later', notBefore: new Date(Date.now() + 6000).toISOString() },
      ],
      [],
      { maxConcurrency: 2 },
    );
    await h.client.start(spec, { runId: id, options: { continueAsNewAfterMessages: 4 } });
    const firstRunId = await currentRunId(id);

    // 12 failed attempts (half by update, half by signal), each with a submission id.
    const firstOutcome = await h.client.submitResult(id, { nodeId: 'work', submissionId: 'sub-1', failure: { message: 'try again' } });
    assert.equal(firstOutcome.attempt, 1);
    for (let i = 2; i <= 12; i++) {
      const submission = { nodeId: 'work', attempt: i, submissionId: `sub-${i}`, failure: { message: `failure ${i}` } };
      if (i % 2 === 0) await h.client.submitResult(id, submission);
      else await h.client.signalResult(id, submission);
      await eventually(async () => ((await h.client.snapshot(id)).nodes[0].attempts >= i ? true : undefined), `attempt ${i} recorded`);
    }
    // A retried delivery of the very first submission, several executions later, changes nothing.
    const again = await h.client.submitResult(id, { nodeId: 'work', submissionId: 'sub-1', failure: { message: 'try again' } });
    assert.equal(again.duplicate, true);
    assert.equal(again.attempt, 1);
    assert.equal((await h.client.snapshot(id)).nodes[0].attempts, 12, 'the duplicate did not count as an attempt');

    await h.client.submitResult(id, { nodeId: 'work', attempt: 13, structuredOutput: { done: true } });
    // `later` was scheduled before the first continue-as-new; its timer is re-armed from the state.
    await eventually(async () => ((await h.client.snapshot(id)).nodes[1].status === 'running' ? true : undefined), 'later to run', 30_000);
    await h.client.submitResult(id, { nodeId: 'later', structuredOutput: {} });
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');
    assert.equal(final.nodes[0].attempts, 13);

    const runs = await executions(id, firstRunId);
    assert.ok(runs.length >= 3, `expected several executions, got ${runs.length}`);
    assert.ok(runs.slice(0, -1).every((run) => run.status === 'CONTINUED_AS_NEW'));
    assert.equal(runs.at(-1)?.status, 'COMPLETED');
    for (const run of runs) assert.ok(run.historyLength < 200, `execution ${run.runId} has ${run.historyLength} events`);

    const stored = await h.store.listEvents(id);
    assert.equal(stored.length, final.lastSeq);
    assert.deepEqual(stored.map((e) => e.seq), stored.map((_, i) => i + 1), 'no event lost or repeated across executions');
    assert.deepEqual((await h.store.listAttempts(id, 'work')).map((a) => a.attempt), Array.from({ length: 13 }, (_, i) => i + 1));
    await eventually(async () => (sink.acceptedSeqs(id).length === final.lastSeq ? true : undefined), 'every event at the sink');
    assert.deepEqual(sink.acceptedSeqs(id), stored.map((e) => e.seq));
    assert.equal(orderViolation(sink.accepted(id)), undefined);
  });
});
