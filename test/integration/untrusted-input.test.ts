/**
 * Untrusted plans and payloads against a real server and store (SQLite or PostgreSQL, whichever
 * PLAN_STORE_URL names; `./temporal-dev.sh test` runs the suite on both). Each test is one of the
 * reproductions in docs/security.md: it used to poison the worker, freeze it, wedge the store or
 * lose a result. Messages are sent with the raw Temporal client where the plan-runner client would
 * refuse them first, so the workflow's own defences are what is tested.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { startHarness, plan, runId, type Harness } from './harness';
import { PlanValidationError, RunRefusedError } from '../../src/client';
import { nodeResultSignal, submitNodeResultUpdate, WORKFLOW_TYPE } from '../../src/workflows/definitions';
import type { PlanSpec } from '../../src/engine';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const raw = (id: string): WorkflowHandle => h.client.client.workflow.getHandle(id);

async function start(spec: PlanSpec, name: string): Promise<string> {
  const { runId: id } = await h.client.start(spec, { runId: runId(name) });
  return id;
}

/** The run's workflow history has no failed workflow task (the worker never choked on it). */
async function assertNoTaskFailures(id: string): Promise<void> {
  const history = await raw(id).fetchHistory();
  const failed = (history.events ?? []).filter((event) => event.workflowTaskFailedEventAttributes);
  assert.equal(failed.length, 0, `workflow task failures in ${id}: ${JSON.stringify(failed.map((e) => e.workflowTaskFailedEventAttributes?.failure?.message))}`);
}

/** The run's events in the store are 1..n with no gap or repeat. */
async function assertContiguousStore(id: string): Promise<number> {
  const events = await h.client.events(id);
  assert.deepEqual(
    events.map((event) => event.seq),
    events.map((_, i) => i + 1),
  );
  return events.length;
}

/** The refusal reason of a raw update that the workflow's validator refused. */
async function refusedReason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof WorkflowUpdateFailedError, String(error));
    const details = (error.cause as { details?: Array<{ reason?: string }> } | undefined)?.details;
    return details?.[0]?.reason ?? `no reason: ${String(error.cause)}`;
  }
  assert.fail('the update was accepted');
}

describe('untrusted input on a live worker', () => {
  test('reproduction 1: a plan with a __proto__ map target is refused by the workflow itself, and the next run on the worker is healthy', async () => {
    const poisoned = plan('poison', [{ id: 'a' }, { id: 'b' }], [{ from: 'a', to: 'b', map: { '__proto__.polluted': 'output.x' } }]);
    await assert.rejects(h.client.start(poisoned, { runId: runId('poison') }), PlanValidationError);
    // Bypassing the client: the workflow validates the spec before doing anything.
    const id = runId('poison-raw');
    const handle = await h.client.client.workflow.start(WORKFLOW_TYPE, { args: [{ spec: poisoned }], taskQueue: h.taskQueue, workflowId: id });
    await assert.rejects(handle.result(), (error: unknown) => error instanceof WorkflowFailedError && /__proto__/.test(String(error.cause?.message)));
    const healthy = await start(plan('healthy', [{ id: 'a' }]), 'healthy');
    await h.client.submitResult(healthy, { nodeId: 'a', structuredOutput: { x: 1 } });
    assert.equal((await h.client.result(healthy)).status, 'completed');
    await assertNoTaskFailures(healthy);
  });

  test('reproduction 2: a catastrophic matches pattern is answered at once, and another run answers throughout', async () => {
    const victim = await start(plan('victim', [{ id: 'a' }]), 'victim');
    const id = await start(plan('redos', [{ id: 'a', completionChecks: [{ kind: 'matches', path: 'text', pattern: '^(a+)+$' }] }]), 'redos');
    const submitted = h.client.submitResult(id, { nodeId: 'a', structuredOutput: { text: `${'a'.repeat(29)}b` } });
    // With a backtracking engine the worker was blocked for ~40 s; queries time out well before that.
    const [outcome, snapshot] = await Promise.all([submitted, h.client.snapshot(victim)]);
    assert.equal(snapshot.status, 'running');
    assert.equal(outcome.issues[0]?.code, 'matches');
    assert.equal((await h.client.attempts(id, 'a')).length, 1, 'the attempt is recorded');
    await assertNoTaskFailures(id);
  });

  test('reproduction 3: a NUL or a lone surrogate is refused (update) or recorded as result-rejected (signal); the run keeps recording', async () => {
    const id = await start(plan('nul', [{ id: 'a' }]), 'nul');
    for (const text of ['x\u0000y', 'x\ud800y']) {
      assert.equal(await refusedReason(raw(id).executeUpdate(submitNodeResultUpdate, { args: [{ nodeId: 'a', structuredOutput: { text } }] })), 'invalid-payload');
      await raw(id).signal(nodeResultSignal, { nodeId: 'a', structuredOutput: { text } });
    }
    // The store keeps recording: the next good result is answered (only after it is stored).
    const outcome = await h.client.submitResult(id, { nodeId: 'a', structuredOutput: { text: 'fine' } });
    assert.equal(outcome.nodeStatus, 'completed');
    const rejected = (await h.client.events(id)).filter((event) => event.type === 'result-rejected');
    assert.equal(rejected.length, 2);
    assert.ok(rejected.every((event) => event.detail?.reason === 'invalid-payload'));
    await assertContiguousStore(id);
    await assertNoTaskFailures(id);
  });

  test('reproduction 4: submission ids named like prototype members are recorded', async () => {
    const ids = ['constructor', 'toString', 'hasOwnProperty', '__proto__'];
    const id = await start(plan('protoids', [{ id: 'a', retry: { maxAttempts: 5 } }]), 'protoids');
    for (const submissionId of ids.slice(0, -1)) {
      const outcome = await h.client.submitResult(id, { nodeId: 'a', submissionId, failure: { class: 'agent-error', message: 'again' } });
      assert.equal(outcome.duplicate, undefined, submissionId);
    }
    const again = await h.client.submitResult(id, { nodeId: 'a', submissionId: 'constructor', structuredOutput: {} });
    assert.equal(again.duplicate, true, 'a resent id gets its first outcome');
    assert.equal(again.attempt, 1);
    const last = await h.client.submitResult(id, { nodeId: 'a', submissionId: '__proto__', structuredOutput: { ok: true } });
    assert.equal(last.nodeStatus, 'completed');
    const attempts = await h.client.attempts(id, 'a');
    assert.deepEqual(
      attempts.map((attempt) => attempt.attempt),
      [1, 2, 3, 4],
    );
  });

  test('reproduction 5: a 3 MB output is refused as payload-too-large at once, by the client and by the workflow', async () => {
    const id = await start(plan('huge', [{ id: 'a' }]), 'huge');
    const huge = { nodeId: 'a', structuredOutput: { text: 'x'.repeat(3 * 1024 * 1024) } };
    await assert.rejects(h.client.submitResult(id, huge), (error: unknown) => error instanceof RunRefusedError && error.reason === 'payload-too-large');
    // 1.5 MB passes the server's own limit and reaches the workflow's validator.
    const big = { nodeId: 'a', structuredOutput: { text: 'x'.repeat(1_500_000) } };
    assert.equal(await refusedReason(raw(id).executeUpdate(submitNodeResultUpdate, { args: [big] })), 'payload-too-large');
    assert.equal((await h.client.submitResult(id, { nodeId: 'a', structuredOutput: { small: true } })).nodeStatus, 'completed');
    await assertNoTaskFailures(id);
  });

  test('reproduction 6: a 5,000-deep toolPolicy is a validation error with its path, not a start failure', async () => {
    let value: Record<string, unknown> = {};
    for (let i = 0; i < 5000; i++) value = { a: value };
    const deep = plan('deep', [{ id: 'a', toolPolicy: value }]);
    await assert.rejects(h.client.start(deep, { runId: runId('deep') }), (error: unknown) => {
      assert.ok(error instanceof PlanValidationError);
      assert.match(error.errors[0].path, /^\$\.nodes\[0\]\.toolPolicy/);
      return true;
    });
  });

  test('reproduction 7: a non-object output is refused, and the next node never sees an empty mapping', async () => {
    const id = await start(plan('scalar', [{ id: 'a' }, { id: 'b' }], [{ from: 'a', to: 'b', map: { v: 'output.value' } }]), 'scalar');
    for (const output of [42, null, 'str', [1, 2]]) {
      assert.equal(await refusedReason(raw(id).executeUpdate(submitNodeResultUpdate, { args: [{ nodeId: 'a', structuredOutput: output } as never] })), 'invalid-payload');
    }
    await h.client.submitResult(id, { nodeId: 'a', structuredOutput: { value: 42 } });
    assert.deepEqual((await h.client.workItem(id, 'b'))?.resolvedInput, { v: 42 });
  });
});
