/**
 * Validation failures, failure actions, refusals and operator commands on a real Temporal server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { startHarness, plan, runId, eventually, type Harness } from './harness';
import type { PlanSpec } from '../../src/engine';
import { RunFinishedError } from '../../src/client/errors';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const schemas = {
  Notes: { type: 'object', required: ['summary'], properties: { summary: { type: 'string', minLength: 5 } } },
};

function noted(id: string, node: Partial<PlanSpec['nodes'][number]>, extraNodes: PlanSpec['nodes'] = [], edges: PlanSpec['edges'] = []) {
  return plan(id, [{ id: 'write', outputSchema: 'Notes', ...node }, ...extraNodes], edges, { schemas });
}

const node = async (id: string, nodeId: string) => (await h.client.snapshot(id)).nodes.find((n) => n.id === nodeId)!;

describe('validation failures', () => {
  test('a validation failure is retried, the retry carries the issues, and the next attempt succeeds', async () => {
    const { runId: id } = await h.client.start(noted('retry', { retry: { maxAttempts: 3, retryOn: ['validation'] } }), { runId: runId('retry') });
    const first = await h.client.submitResult(id, { nodeId: 'write', attempt: 1, structuredOutput: { summary: 'no' } });
    assert.equal(first.nodeStatus, 'running', 'dispatched again');
    assert.equal(first.issues[0].code, 'schema');
    assert.equal(first.issues[0].severity, 'blocking');
    const item = await h.client.workItem(id, 'write');
    assert.equal(item?.attempt, 2);
    assert.equal(item?.previousIssues[0].code, 'schema', 'the new work item carries the previous issues');
    const second = await h.client.submitResult(id, { nodeId: 'write', attempt: 2, structuredOutput: { summary: 'long enough' } });
    assert.equal(second.nodeStatus, 'completed');
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');
    assert.equal(final.nodes[0].attempts, 2);
    const types = (await h.client.events(id)).map((event) => event.type);
    assert.ok(types.includes('validation-reported') && types.includes('node-unblocked'));
  });

  test('a validation failure routed to human review is completed by the human’s answer', async () => {
    const spec = noted(
      'review',
      { onFailure: [{ on: 'validation', action: 'human-review' }] },
      [{ id: 'next', type: 'task', owner: { kind: 'agent', ref: 'next' } }],
      [{ from: 'write', to: 'next', map: { summary: 'output.summary' } }],
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('review') });
    const outcome = await h.client.submitResult(id, { nodeId: 'write', structuredOutput: { summary: 1 } });
    assert.equal(outcome.nodeStatus, 'awaiting-human');
    const snapshot = await h.client.snapshot(id);
    assert.equal(snapshot.status, 'awaiting-human');
    assert.deepEqual(
      snapshot.approvals.map((a) => [a.approvalId, a.kind, a.status]),
      [['write#2', 'review', 'pending']],
    );
    // The reviewer answers with the corrected output; it is validated against the output schema too.
    const answer = await h.client.respond(id, { nodeId: 'write', respondedBy: 'editor', response: { summary: 'fixed by a human' } });
    assert.equal(answer.nodeStatus, 'completed');
    const next = await h.client.workItem(id, 'next');
    assert.deepEqual(next?.resolvedInput, { summary: 'fixed by a human' }, "the human's response became the output");
    assert.equal(snapshot.failureCount, 1);
    await h.client.cancel(id, { by: 'test' });
  });

  test('`replan` blocks the run and `retry` finishes it', async () => {
    const { runId: id } = await h.client.start(noted('replan', { onFailure: [{ on: 'agent-error', action: 'replan' }] }), { runId: runId('replan') });
    const outcome = await h.client.submitResult(id, { nodeId: 'write', failure: { class: 'agent-error', message: 'tool crashed' } });
    assert.equal(outcome.nodeStatus, 'blocked');
    assert.equal((await h.client.snapshot(id)).status, 'blocked');
    await assert.rejects(h.client.submitResult(id, { nodeId: 'write', structuredOutput: { summary: 'too late' } }), /not running/);
    const retried = await h.client.retry(id, { nodeId: 'write', by: 'operator' });
    assert.equal(retried.runStatus, 'running');
    const item = await h.client.workItem(id, 'write');
    assert.equal(item?.attempt, 2, 'attempt numbers continue after a retry');
    await h.client.submitResult(id, { nodeId: 'write', attempt: 2, structuredOutput: { summary: 'works now' } });
    assert.equal((await h.client.result(id)).status, 'completed');
    const checkpoints = (await h.client.events(id)).filter((e) => e.type === 'checkpoint-saved').map((e) => e.detail?.reason);
    assert.ok(checkpoints.includes('node-result-replan') && checkpoints.includes('node-retried'));
  });

  test('`abort` fails the run and hands out no more work', async () => {
    const spec = noted('abort', {}, [{ id: 'after', type: 'task', owner: { kind: 'agent', ref: 'after' } }], [{ from: 'write', to: 'after' }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('abort') });
    const outcome = await h.client.submitResult(id, { nodeId: 'write', structuredOutput: {} });
    assert.equal(outcome.nodeStatus, 'failed');
    assert.equal(outcome.runStatus, 'failed');
    const snapshot = await h.client.snapshot(id);
    assert.equal(snapshot.status, 'failed');
    assert.equal((await node(id, 'after')).status, 'pending');
    const events = await h.client.events(id);
    assert.ok(events.some((e) => e.type === 'node-failed' && e.nodeId === 'write'));
    assert.ok(events.some((e) => e.type === 'run-status-changed' && e.toStatus === 'failed'));
    await h.client.cancel(id, { by: 'test' });
  });
});

describe('refusals', () => {
  test('stale, duplicate and unknown-node submissions: refused by update, recorded as result-rejected by signal', async () => {
    const spec = noted('refusals', { retry: { maxAttempts: 3 } });
    const { runId: id } = await h.client.start(spec, { runId: runId('refusals') });
    await h.client.submitResult(id, { nodeId: 'write', attempt: 1, submissionId: 's-1', structuredOutput: { summary: 'x' } });
    assert.equal((await h.client.workItem(id, 'write'))?.attempt, 2);
    const seqBefore = (await h.client.snapshot(id)).lastSeq;

    await assert.rejects(h.client.submitResult(id, { nodeId: 'write', attempt: 1, structuredOutput: { summary: 'stale one' } }), (error: Error & { reason?: string }) => error.reason === 'stale-attempt');
    await assert.rejects(h.client.submitResult(id, { nodeId: 'ghost', structuredOutput: {} }), (error: Error & { reason?: string }) => error.reason === 'unknown-node');
    const duplicate = await h.client.submitResult(id, { nodeId: 'write', attempt: 1, submissionId: 's-1', structuredOutput: { summary: 'x' } });
    assert.equal(duplicate.duplicate, true, 'a seen submissionId returns the first outcome');
    assert.equal(duplicate.attempt, 1);
    const afterUpdates = await h.client.snapshot(id);
    assert.equal(afterUpdates.lastSeq, seqBefore, 'refused and duplicate updates record nothing');
    assert.equal(afterUpdates.nodes[0].attempts, 1);

    await h.client.signalResult(id, { nodeId: 'write', attempt: 1, structuredOutput: { summary: 'stale one' } });
    await h.client.signalResult(id, { nodeId: 'ghost', structuredOutput: {} });
    await h.client.signalResult(id, { nodeId: 'write', attempt: 1, submissionId: 's-1', structuredOutput: { summary: 'x' } });
    const rejected = await eventually(async () => {
      const events = (await h.client.events(id)).filter((event) => event.type === 'result-rejected');
      return events.length === 3 ? events : undefined;
    }, 'three result-rejected events');
    assert.deepEqual(
      rejected.map((event) => event.detail?.reason),
      ['stale-attempt', 'unknown-node', 'duplicate-submission'],
    );
    const final = await h.client.snapshot(id);
    assert.equal(final.nodes[0].attempts, 1, 'rejected signals recorded no attempt');
    assert.equal(final.nodes[0].status, 'running');
    await h.client.cancel(id, { by: 'test' });
  });

  test('an invalid spec is refused before any workflow starts', async () => {
    const bad = { id: 'bad plan!', nodes: [{ id: 'a', type: 'task' }], edges: [{ from: 'a', to: 'zzz' }] };
    const id = runId('invalid');
    await assert.rejects(h.client.start(bad, { runId: id }), (error: Error & { errors?: Array<{ path: string }> }) => {
      const paths = (error.errors ?? []).map((problem) => problem.path);
      assert.ok(paths.includes('$.id'), `expected $.id in ${paths.join(', ')}`);
      assert.ok(paths.some((path) => path.startsWith('$.edges[0]')));
      assert.ok(paths.some((path) => path.startsWith('$.nodes[0]')), 'a task without an owner is reported');
      return true;
    });
    await assert.rejects(h.client.snapshot(id), /no run|not found/i, 'no workflow was started');
  });
});

describe('operations', () => {
  test('cancel aborts the run, closes approvals, and the workflow closes as Canceled; later messages are refused saying so', async () => {
    const spec = plan('cancel', [{ id: 'work' }, { id: 'ask', type: 'human-input' }], [], { maxConcurrency: 2 });
    const { runId: id } = await h.client.start(spec, { runId: runId('cancel') });
    try {
      await eventually(async () => ((await h.client.snapshot(id)).approvals.length === 1 ? true : undefined), 'approval requested');
      const outcome = await h.client.cancel(id, { by: 'operator', reason: 'no longer needed' });
      assert.equal(outcome.runStatus, 'aborted');
      // The workflow closes as Canceled, without a result: result() queries the final snapshot.
      await assert.rejects(h.client.client.workflow.getHandle(id).result(), (error: unknown) => error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure);
      const final = await h.client.result(id);
      assert.equal(final.status, 'aborted');
      assert.deepEqual(
        final.nodes.map((n) => n.status),
        ['cancelled', 'cancelled'],
      );
      assert.equal(final.approvals[0].status, 'cancelled');
      assert.deepEqual(await h.client.snapshot(id), final);

      const described = await h.client.describe(id);
      assert.equal(described.temporalStatus, 'CANCELLED');
      assert.equal(described.status, 'aborted', 'PlanRunStatus still says the run was aborted');
      assert.deepEqual(described.waitingOn, []);
      // The cancellation request came from the worker, with who cancelled and why.
      const history = await h.client.client.workflow.getHandle(id).fetchHistory();
      const requested = history.events?.find((event) => event.workflowExecutionCancelRequestedEventAttributes);
      assert.equal(requested?.workflowExecutionCancelRequestedEventAttributes?.cause, 'plan-runner: the run was cancelled by operator: no longer needed');
      assert.ok(history.events?.at(-1)?.workflowExecutionCanceledEventAttributes, 'the last event is WorkflowExecutionCanceled');

      // The store has the cancellation as before: who, why, and the run-cancelled checkpoint last.
      const stored = await h.store.getRun(id);
      assert.deepEqual([stored?.status, stored?.cancelledBy, stored?.cancelReason], ['aborted', 'operator', 'no longer needed']);
      const events = await h.client.events(id);
      assert.equal(events.at(-1)?.type, 'checkpoint-saved');
      assert.equal(events.at(-1)?.detail?.reason, 'run-cancelled');
      assert.ok(events.some((e) => e.type === 'run-status-changed' && e.toStatus === 'aborted' && e.by === 'operator'));

      // Later messages, by update or signal, are refused with how the run ended and what to do.
      const refusal = (error: unknown) => {
        assert.ok(error instanceof RunFinishedError, `expected RunFinishedError, got ${String(error)}`);
        assert.equal(error.reason, 'run-finished');
        assert.equal(error.temporalStatus, 'CANCELLED');
        assert.equal(error.runStatus, 'aborted');
        assert.ok(
          error.message.startsWith(`run ${id} was cancelled (by operator: no longer needed); it is aborted and takes no more messages: start a new run`),
          error.message,
        );
        assert.doesNotMatch(error.message, /Temporal status/);
        return true;
      };
      await assert.rejects(h.client.submitResult(id, { nodeId: 'work', structuredOutput: {} }), refusal);
      await assert.rejects(h.client.signalResult(id, { nodeId: 'work', structuredOutput: {} }), refusal);
      await assert.rejects(h.client.cancel(id, { by: 'operator' }), refusal);
      assert.equal((await h.client.events(id)).length, events.length, 'the refused messages recorded nothing');
    } finally {
      // Nothing is left open, whatever failed above (a closed workflow ignores this).
      await h.client.client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
    }
  });

  test("Temporal's own cancellation ends the run as aborted, with events and a final checkpoint", async () => {
    const spec = plan('temporal-cancel', [{ id: 'work' }, { id: 'ask', type: 'human-approval' }], [], { maxConcurrency: 2 });
    const { runId: id } = await h.client.start(spec, { runId: runId('temporal-cancel') });
    await h.client.waitForStatus(id, (snapshot) => snapshot.approvals.length === 1);
    await h.client.client.workflow.getHandle(id).cancel();
    await assert.rejects(h.client.client.workflow.getHandle(id).result(), /cancel/i, 'the workflow closes as cancelled');
    assert.equal((await h.client.describe(id)).temporalStatus, 'CANCELLED');
    assert.equal((await h.client.result(id)).status, 'aborted', 'result() gives the final snapshot of a run cancelled through Temporal too');
    const final = await h.client.snapshot(id);
    assert.equal(final.status, 'aborted');
    assert.deepEqual(final.nodes.map((n) => n.status), ['cancelled', 'cancelled']);
    assert.equal(final.approvals[0].status, 'cancelled');
    const events = await h.client.events(id);
    const last = events.at(-1);
    assert.equal(last?.type, 'checkpoint-saved');
    assert.equal(last?.detail?.reason, 'run-cancelled');
    assert.ok(events.some((e) => e.type === 'run-status-changed' && e.toStatus === 'aborted' && e.by === 'temporal'));
    const described = await eventually(async () => {
      const entry = await h.client.describe(id);
      return entry.status === 'aborted' ? entry : undefined;
    }, 'PlanRunStatus = aborted');
    assert.deepEqual(described.waitingOn, []);
    await assert.rejects(h.client.submitResult(id, { nodeId: 'work', structuredOutput: {} }), (error: unknown) => {
      assert.ok(error instanceof RunFinishedError, String(error));
      assert.ok(error.message.startsWith(`run ${id} was cancelled (by temporal: the workflow was cancelled through Temporal); it is aborted`), error.message);
      return true;
    });
  });

  test('a run is found through PlanWaitingOn, and leaves the inbox once the node is done', async () => {
    const owner = `writer-${runId('w')}`;
    const spec: PlanSpec = { id: 'inbox', title: 'Inbox plan', nodes: [{ id: 'draft', type: 'task', owner: { kind: 'agent', ref: owner } }, { id: 'ok', type: 'human-approval', owner: { kind: 'human', ref: 'editors' } }], edges: [{ from: 'draft', to: 'ok' }] };
    const { runId: id } = await h.client.start(spec, { runId: runId('inbox') });
    const found = await eventually(async () => {
      const entries = await h.client.inbox(`agent:${owner}`);
      return entries.find((entry) => entry.runId === id);
    }, 'the run in the agent inbox (visibility is eventually consistent)');
    assert.equal(found.runId, id);
    const listed = await h.client.list({ planId: 'inbox' });
    assert.ok(listed.some((entry) => entry.runId === id));
    await h.client.submitResult(id, { nodeId: 'draft', structuredOutput: {} });
    await eventually(async () => {
      const entries = await h.client.inbox(`agent:${owner}`);
      return entries.some((entry) => entry.runId === id) ? undefined : true;
    }, 'the run to leave the agent inbox');
    await eventually(async () => {
      const listedNow = await h.client.list({ status: 'awaiting-human', planId: 'inbox' });
      return listedNow.find((entry) => entry.runId === id);
    }, 'the run listed as awaiting-human');
    await h.client.cancel(id, { by: 'test' });
  });
});
