/**
 * More loops on a real server, worker and store (docs/semantics.md, "Loops"; §9 for timers): a loop
 * exhausted with `onExhausted: fail` and handled by the node's `onFailure` rule (human-review, and the
 * default abort when no rule names the class); nested loops whose inner count starts over each time
 * the outer loop goes round; a task timeout and a human deadline inside a body, armed again in every
 * iteration; and a continue-as-new in the middle of a loop that loses, repeats or renumbers nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { PlanSpec, RunEvent } from '../../src/engine';
import { startHarness, plan, runId, eventually, type Harness } from './harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const node = (snapshot: { nodes: Array<{ id: string }> }, id: string) => {
  const found = snapshot.nodes.find((n) => n.id === id);
  assert.ok(found, `no node ${id} in the snapshot`);
  return found as (typeof snapshot.nodes)[number] & Record<string, any>;
};
const statuses = (snapshot: { nodes: Array<{ id: string; status: string }> }) => Object.fromEntries(snapshot.nodes.map((n) => [n.id, n.status]));
const ofType = (events: RunEvent[], type: string, nodeId?: string) => events.filter((e) => e.type === type && (nodeId === undefined || e.nodeId === nodeId));

/** The store's events once the one that `done` looks for is recorded (the store is written after each transition). */
async function storedEvents(id: string, done: (events: RunEvent[]) => boolean, what: string): Promise<RunEvent[]> {
  return eventually(async () => {
    const events = await h.store.listEvents(id);
    return done(events) ? events : undefined;
  }, what);
}

/** Every event seq is there once, 1..N, and the last one is the run's lastSeq. */
function assertContiguous(events: RunEvent[], lastSeq: number): void {
  assert.deepEqual(events.map((e) => e.seq), Array.from({ length: events.length }, (_, i) => i + 1), 'event seqs are 1..N with no gap or repeat');
  assert.equal(events.length, lastSeq, 'the store has every event up to the run\'s lastSeq');
  assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'event ids are unique');
}

/**
 * check → publish when ok; check → draft when not ok, at most twice, then `check` fails with class
 * loop-exhausted. `check` has a retry budget that must NOT be used for that failure.
 */
const exhaustingPlan = (onFailure: NonNullable<PlanSpec['nodes'][number]['onFailure']>) =>
  plan(
    'loop-fail',
    [{ id: 'draft' }, { id: 'check', retry: { maxAttempts: 3 }, onFailure }, { id: 'publish' }],
    [
      { from: 'draft', to: 'check', map: { text: 'output.text' } },
      { from: 'check', to: 'publish', when: 'output.ok == true', map: { verdict: 'output.note' } },
      { from: 'check', to: 'draft', when: 'output.ok == false', map: { fix: 'output.note' }, loop: { maxIterations: 2, onExhausted: 'fail' } },
    ],
  );

async function exhaust(id: string): Promise<void> {
  for (let i = 1; i <= 2; i++) {
    await h.client.submitResult(id, { nodeId: 'draft', attempt: i, structuredOutput: { text: `draft ${i}` } });
    await h.client.submitResult(id, { nodeId: 'check', attempt: i, structuredOutput: { ok: false, note: `not yet ${i}` } });
  }
}

describe('loop exhausted with onExhausted: fail', () => {
  test('the node fails with class loop-exhausted, its onFailure human-review rule opens a review (no retry), the answer routes on', async () => {
    const spec = exhaustingPlan([
      { on: 'validation', action: 'skip' },
      { on: 'loop-exhausted', action: 'human-review' },
    ]);
    const { runId: id } = await h.client.start(spec, { runId: runId('loop-fail-review') });
    await exhaust(id);

    const snapshot = await h.client.snapshot(id);
    assert.equal(snapshot.status, 'awaiting-human');
    const check = node(snapshot, 'check');
    assert.equal(check.status, 'awaiting-human', 'onFailure human-review, not the retry budget (3 attempts) and not the validation rule');
    assert.equal(check.failureClass, 'loop-exhausted');
    assert.equal(check.iteration, 2);
    assert.equal(check.currentAttempt, 3);
    assert.equal(node(snapshot, 'draft').status, 'completed', 'the loop did not go round a third time');
    assert.equal(node(snapshot, 'publish').status, 'pending');
    assert.equal(snapshot.failureCount, 1);
    assert.deepEqual(
      snapshot.approvals.map((a) => [a.approvalId, a.kind, a.status]),
      [['check#3', 'review', 'pending']],
    );

    // The store says the same: the class on the node_runs row, the exhaustion and the review in the events.
    const rows = await eventually(async () => {
      const found = (await h.store.listNodeRuns(id)).find((r) => r.nodeId === 'check');
      return found?.status === 'awaiting-human' ? found : undefined;
    }, 'check awaiting review in the store');
    assert.equal(rows.failureClass, 'loop-exhausted');
    assert.equal(rows.iteration, 2);
    const events = await storedEvents(id, (all) => all.some((e) => e.type === 'approval-requested' && e.nodeId === 'check'), 'the review request in the store');
    const exhausted = ofType(events, 'loop-exhausted');
    assert.equal(exhausted.length, 1);
    assert.equal(exhausted[0].nodeId, 'check');
    assert.equal(exhausted[0].iteration, 2);
    const { edge, iterations, maxIterations, onExhausted } = exhausted[0].detail ?? {};
    assert.deepEqual({ edge, iterations, maxIterations, onExhausted }, { edge: 2, iterations: 2, maxIterations: 2, onExhausted: 'fail' });
    assert.equal(ofType(events, 'loop-iterated').length, 1, 'only the first rejection went round');
    const review = ofType(events, 'approval-requested', 'check');
    assert.equal(review.length, 1);
    assert.equal(review[0].seq > exhausted[0].seq, true);
    assert.equal(review[0].detail?.kind, 'review');
    assert.equal(review[0].approvalId, 'check#3');
    assert.deepEqual(review[0].detail?.output, { ok: false, note: 'not yet 2' }, 'the reviewer sees the output that exhausted the loop');
    assert.deepEqual(
      events.filter((e) => e.nodeId === 'check' && e.seq > exhausted[0].seq && e.type === 'node-unblocked'),
      [],
      'no retry for loop-exhausted',
    );
    // The attempt itself passed; the failure is the loop's, not the agent's.
    const attempts = await h.store.listAttempts(id, 'check');
    assert.deepEqual(attempts.map((a) => [a.attempt, a.iteration, a.status]), [[1, 1, 'completed'], [2, 2, 'completed']]);

    // The reviewer's corrected output completes the node, and the forward edge routes on it.
    const answered = await h.client.respond(id, { nodeId: 'check', respondedBy: 'carol', response: { ok: true, note: 'ship it' } });
    assert.equal(answered.nodeStatus, 'completed');
    const publish = await h.client.workItem(id, 'publish');
    assert.deepEqual(publish?.resolvedInput, { verdict: 'ship it' });
    await h.client.submitResult(id, { nodeId: 'publish', structuredOutput: {} });
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');
    assert.deepEqual(statuses(final), { draft: 'completed', check: 'completed', publish: 'completed' });
    assert.equal(node(final, 'check').failureClass, undefined, 'the review cleared the failure');
    const reviewed = await eventually(async () => {
      const all = await h.store.listAttempts(id, 'check');
      return all.length === 3 ? all : undefined;
    }, 'the review attempt in the store');
    assert.deepEqual(reviewed.map((a) => [a.attempt, a.kind, a.by, a.iteration]), [
      [1, 'agent', 'agent:check', 1],
      [2, 'agent', 'agent:check', 2],
      [3, 'human', 'carol', 2],
    ]);
    const stored = await storedEvents(id, (all) => all.some((e) => e.type === 'run-status-changed' && e.toStatus === 'completed'), 'the completion in the store');
    assertContiguous(stored, final.lastSeq);
  });

  test('with no rule for the class (only one for another class) the default abort fails the node and the run; a retry can finish it', async () => {
    const spec = exhaustingPlan([{ on: 'validation', action: 'skip' }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('loop-fail-abort') });
    await exhaust(id);

    const snapshot = await h.client.snapshot(id);
    assert.equal(snapshot.status, 'failed');
    assert.equal(node(snapshot, 'check').status, 'failed');
    assert.equal(node(snapshot, 'check').failureClass, 'loop-exhausted');
    assert.equal(node(snapshot, 'publish').status, 'pending', 'a failed node keeps its downstream waiting');
    assert.equal((await h.client.client.workflow.getHandle(id).describe()).status.name, 'RUNNING', 'a failed run stays open');

    const events = await storedEvents(id, (all) => all.some((e) => e.type === 'node-failed'), 'node-failed in the store');
    const failed = ofType(events, 'node-failed', 'check');
    assert.equal(failed.length, 1);
    assert.equal(failed[0].iteration, 2);
    assert.equal(failed[0].detail?.failureClass, 'loop-exhausted');
    assert.equal(failed[0].detail?.action, 'abort');
    assert.ok(ofType(events, 'loop-exhausted', 'check')[0].seq < failed[0].seq);
    assert.ok(events.some((e) => e.type === 'run-status-changed' && e.toStatus === 'failed'));
    assert.equal(
      (await eventually(async () => (await h.store.listNodeRuns(id)).find((r) => r.nodeId === 'check' && r.status === 'failed'), 'failed row')).failureClass,
      'loop-exhausted',
    );

    // An operator retries the node; an answer that takes the forward edge finishes the run.
    await h.client.retry(id, { nodeId: 'check', by: 'op' });
    const item = await h.client.workItem(id, 'check');
    assert.equal(item?.attempt, 3);
    assert.equal(item?.iteration, 2);
    await h.client.submitResult(id, { nodeId: 'check', attempt: 3, structuredOutput: { ok: true, note: 'fine now' } });
    await h.client.submitResult(id, { nodeId: 'publish', structuredOutput: {} });
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');
    assert.deepEqual(statuses(final), { draft: 'completed', check: 'completed', publish: 'completed' });
  });

  // A retried node that finishes again with the loop's `when` still true exhausts the spent loop
  // again and fails again (onExhausted: fail): its loop edges are evaluated at every finish.
  test(
    'a retried node that finishes again with the loop condition true is exhausted again and fails again',
    async () => {
      const spec = exhaustingPlan([]);
      const { runId: id } = await h.client.start(spec, { runId: runId('loop-fail-retry') });
      try {
        await exhaust(id);
        assert.equal((await h.client.snapshot(id)).status, 'failed');
        await h.client.retry(id, { nodeId: 'check', by: 'op' });
        const outcome = await h.client.submitResult(id, { nodeId: 'check', attempt: 3, structuredOutput: { ok: false, note: 'still not' } });
        const snapshot = await h.client.snapshot(id);
        const events = await storedEvents(id, (all) => all.at(-1)?.seq === snapshot.lastSeq, 'every event in the store');
        assert.equal(ofType(events, 'loop-exhausted', 'check').length, 2, 'the second finish exhausts the loop again');
        assert.equal(node(snapshot, 'check').status, 'failed');
        assert.equal(node(snapshot, 'check').failureClass, 'loop-exhausted');
        assert.equal(outcome.runStatus, 'failed');
        assert.notEqual(snapshot.status, 'completed', 'an exhausted loop with onExhausted: fail never lets the run complete past it');
      } finally {
        await h.client.cancel(id, { by: 'test' }).catch(() => undefined);
      }
    },
  );
});

test('nested loops: the inner loop counts from 1 again each time the outer loop goes round', async () => {
  // outline → write → edit → signoff → publish; edit → write (inner, 3 times at most);
  // signoff → outline (outer, twice at most). Inner body: write, edit. Outer body: all four.
  const spec = plan(
    'nested',
    [{ id: 'outline' }, { id: 'write' }, { id: 'edit' }, { id: 'signoff' }, { id: 'publish' }],
    [
      { from: 'outline', to: 'write' },
      { from: 'write', to: 'edit' },
      { from: 'edit', to: 'write', when: 'output.again == true', loop: { maxIterations: 3 } },
      { from: 'edit', to: 'signoff' },
      { from: 'signoff', to: 'outline', when: 'output.again == true', loop: { maxIterations: 2 } },
      { from: 'signoff', to: 'publish' },
    ],
  );
  const { runId: id } = await h.client.start(spec, { runId: runId('nested') });
  const seen: Array<[string, number, number]> = [];
  const submit = async (nodeId: string, output: Record<string, unknown>) => {
    // Waited for: a query that reaches the run's first workflow task is answered before the start
    // is recorded (the work item appears once it is).
    const item = await eventually(async () => (await h.client.workItem(id, nodeId)) ?? undefined, `${nodeId} to have a work item`);
    seen.push([nodeId, item.attempt, item.iteration]);
    await h.client.submitResult(id, { nodeId, attempt: item.attempt, structuredOutput: output });
  };

  // Outer iteration 1: the inner loop goes round once (write/edit in iterations 1 and 2).
  await submit('outline', {});
  await submit('write', { v: 1 });
  await submit('edit', { again: true });
  await submit('write', { v: 2 });
  await submit('edit', { again: false });
  await submit('signoff', { again: true });
  let snapshot = await h.client.snapshot(id);
  assert.equal(node(snapshot, 'outline').iteration, 2, 'the outer loop went round');
  assert.equal(node(snapshot, 'write').iteration, 1, 'the inner loop starts over');
  assert.equal(node(snapshot, 'edit').iteration, 1);
  assert.equal(node(snapshot, 'write').status, 'pending');

  // Outer iteration 2: the inner loop gets all three of its iterations again (it would be exhausted
  // after one more round if its count had carried over from the first outer iteration).
  await submit('outline', {});
  await submit('write', { v: 3 });
  await submit('edit', { again: true });
  await submit('write', { v: 4 });
  await submit('edit', { again: true });
  snapshot = await h.client.snapshot(id);
  assert.equal(node(snapshot, 'write').status, 'running', 'the inner loop went round a third time in outer iteration 2');
  assert.equal(node(snapshot, 'write').iteration, 3);
  assert.equal(node(snapshot, 'write').maxIterations, 3);
  await submit('write', { v: 5 });
  // The inner loop is spent: asked to go round once more, it is exhausted and the forward edge runs signoff.
  await submit('edit', { again: true });
  await submit('signoff', { again: true });
  snapshot = await h.client.snapshot(id);
  assert.equal(node(snapshot, 'publish').status, 'running', 'the outer loop is exhausted: the forward edge decides');
  assert.equal(node(snapshot, 'outline').iteration, 2);
  await submit('publish', {});
  const final = await h.client.result(id);
  assert.equal(final.status, 'completed');

  assert.deepEqual(seen, [
    ['outline', 1, 1],
    ['write', 1, 1],
    ['edit', 1, 1],
    ['write', 2, 2],
    ['edit', 2, 2],
    ['signoff', 1, 1],
    ['outline', 2, 2],
    ['write', 3, 1],
    ['edit', 3, 1],
    ['write', 4, 2],
    ['edit', 4, 2],
    ['write', 5, 3],
    ['edit', 5, 3],
    ['signoff', 2, 2],
    ['publish', 1, 1],
  ]);

  // The store: every attempt with its iteration, the loop events with theirs.
  await eventually(async () => ((await h.store.listAttempts(id, 'publish')).length === 1 ? true : undefined), 'publish in the store');
  const attempts = Object.fromEntries(
    await Promise.all(['outline', 'write', 'edit', 'signoff', 'publish'].map(async (n) => [n, await h.store.listAttempts(id, n)] as const)),
  );
  assert.deepEqual(attempts.outline.map((a) => [a.attempt, a.iteration]), [[1, 1], [2, 2]]);
  assert.deepEqual(attempts.write.map((a) => [a.attempt, a.iteration, (a.output as { v: number }).v]), [[1, 1, 1], [2, 2, 2], [3, 1, 3], [4, 2, 4], [5, 3, 5]]);
  assert.deepEqual(attempts.edit.map((a) => [a.attempt, a.iteration]), [[1, 1], [2, 2], [3, 1], [4, 2], [5, 3]]);
  assert.deepEqual(attempts.signoff.map((a) => [a.attempt, a.iteration]), [[1, 1], [2, 2]]);
  assert.deepEqual(attempts.publish.map((a) => [a.attempt, a.iteration]), [[1, undefined]], 'a node outside every loop has no iteration');

  const events = await storedEvents(id, (all) => all.some((e) => e.type === 'run-status-changed' && e.toStatus === 'completed'), 'the completion in the store');
  assertContiguous(events, final.lastSeq);
  assert.deepEqual(
    ofType(events, 'loop-iterated').map((e) => [e.detail?.edge, e.nodeId, e.iteration, e.detail?.nodeIds]),
    [
      [2, 'write', 2, ['write', 'edit']],
      [4, 'outline', 2, ['outline', 'write', 'edit', 'signoff']],
      [2, 'write', 2, ['write', 'edit']],
      [2, 'write', 3, ['write', 'edit']],
    ],
  );
  assert.deepEqual(ofType(events, 'loop-exhausted').map((e) => [e.detail?.edge, e.nodeId, e.iteration, e.detail?.iterations]), [
    [2, 'edit', 3, 3],
    [4, 'signoff', 2, 2],
  ]);
  // Each write dispatch says which inner iteration it belongs to.
  assert.deepEqual(ofType(events, 'node-running', 'write').map((e) => [e.attempt, e.iteration]), [[1, 1], [2, 2], [3, 1], [4, 2], [5, 3]]);
  const rows = await h.store.listNodeRuns(id);
  assert.deepEqual(rows.map((r) => [r.nodeId, r.iteration]), [['outline', 2], ['write', 3], ['edit', 3], ['signoff', 2], ['publish', undefined]]);
});

test('a task timeout and a human deadline in a loop body fire again in iteration 2, and the retry budget starts over', async () => {
  const TIMEOUT_MS = 1500;
  const DEADLINE_MS = 1500;
  const spec = plan(
    'loop-timers',
    [
      { id: 'work', timeoutMs: TIMEOUT_MS, retry: { maxAttempts: 2, retryOn: ['timeout'] } },
      {
        id: 'check',
        type: 'human-approval',
        deadline: { afterMs: DEADLINE_MS, warnBeforeMs: 700, escalateTo: { kind: 'human', ref: 'lead' }, onExpiry: 'escalate' },
      },
      { id: 'done' },
    ],
    [
      { from: 'work', to: 'check' },
      { from: 'check', to: 'done', when: 'output.approved == true' },
      { from: 'check', to: 'work', when: 'output.approved == false', loop: { maxIterations: 2 } },
    ],
  );
  const { runId: id } = await h.client.start(spec, { runId: runId('loop-timers') });
  const currentAttempt = async (nodeId: string) => node(await h.client.snapshot(id), nodeId).currentAttempt as number | undefined;

  for (const iteration of [1, 2]) {
    const first = iteration === 1 ? 1 : 3;
    // The first attempt of this iteration times out and is retried (in iteration 2 only if the
    // budget of 2 attempts started over: attempts 1 and 2 were spent in iteration 1).
    await eventually(async () => ((await currentAttempt('work')) === first + 1 ? true : undefined), `work attempt ${first} to time out (iteration ${iteration})`, 15_000);
    const item = await h.client.workItem(id, 'work');
    assert.equal(item?.iteration, iteration);
    assert.equal(item?.attempt, first + 1);
    assert.ok(item?.previousIssues.some((issue) => issue.code === 'timeout'), 'the retry carries the timeout issue');
    await h.client.submitResult(id, { nodeId: 'work', attempt: first + 1, structuredOutput: { iteration } });
    // The approval's deadline warns and escalates, then the person answers.
    await storedEvents(
      id,
      (all) => all.some((e) => e.type === 'escalation-triggered' && e.nodeId === 'check' && e.iteration === iteration),
      `check's deadline to expire in iteration ${iteration}`,
    );
    const pending = (await h.client.snapshot(id)).approvals.filter((a) => a.status === 'pending');
    assert.deepEqual(pending.map((a) => a.approvalId), [`check#${iteration}`], 'the escalation keeps the approval open');
    await h.client.respond(id, { nodeId: 'check', respondedBy: 'lead', response: { approved: iteration === 2 } });
  }
  await h.client.submitResult(id, { nodeId: 'done', structuredOutput: {} });
  const final = await h.client.result(id);
  assert.equal(final.status, 'completed');

  const events = await storedEvents(id, (all) => all.some((e) => e.type === 'run-status-changed' && e.toStatus === 'completed'), 'the completion in the store');
  assertContiguous(events, final.lastSeq);
  const running = ofType(events, 'node-running', 'work');
  assert.deepEqual(running.map((e) => [e.attempt, e.iteration]), [[1, 1], [2, 1], [3, 2], [4, 2]]);
  const timedOut = ofType(events, 'node-timed-out', 'work');
  assert.deepEqual(timedOut.map((e) => [e.attempt, e.iteration, e.detail?.cause, e.detail?.failureClass]), [
    [1, 1, 'timeout', 'timeout'],
    [3, 2, 'timeout', 'timeout'],
  ]);
  // Each timeout is due timeoutMs after its own attempt's dispatch, so iteration 2's clock was armed anew.
  for (const event of timedOut) {
    const dispatched = running.find((r) => r.attempt === event.attempt) as RunEvent;
    assert.equal(Date.parse(String(event.detail?.dueAt)) - Date.parse(dispatched.at), TIMEOUT_MS, `attempt ${event.attempt} times out ${TIMEOUT_MS} ms after its dispatch`);
    assert.ok(Date.parse(event.at) >= Date.parse(String(event.detail?.dueAt)));
  }
  assert.equal(ofType(events, 'node-failed', 'work').length, 0, 'no attempt ran out of budget');

  const requested = ofType(events, 'approval-requested', 'check');
  assert.deepEqual(requested.map((e) => [e.approvalId, e.iteration]), [['check#1', 1], ['check#2', 2]]);
  const warnings = ofType(events, 'deadline-warning', 'check');
  const escalations = ofType(events, 'escalation-triggered', 'check');
  assert.deepEqual(warnings.map((e) => [e.attempt, e.iteration]), [[1, 1], [2, 2]], 'one warning per iteration');
  assert.deepEqual(escalations.map((e) => [e.attempt, e.iteration, (e.detail?.escalateTo as { ref: string }).ref]), [[1, 1, 'lead'], [2, 2, 'lead']]);
  for (const [i, escalation] of escalations.entries()) {
    assert.equal(Date.parse(String(escalation.detail?.dueAt)) - Date.parse(requested[i].at), DEADLINE_MS, 'the deadline counts from its own iteration\'s request');
    assert.ok(Date.parse(escalation.at) > Date.parse(requested[i].at));
  }
  assert.ok(Date.parse(requested[1].at) > Date.parse(escalations[0].at), 'iteration 2 started after iteration 1\'s deadline');

  const attempts = await h.store.listAttempts(id, 'work');
  assert.deepEqual(attempts.map((a) => [a.attempt, a.iteration, a.status, a.failureClass, a.by]), [
    [1, 1, 'failed', 'timeout', 'engine'],
    [2, 1, 'completed', undefined, 'agent:work'],
    [3, 2, 'failed', 'timeout', 'engine'],
    [4, 2, 'completed', undefined, 'agent:work'],
  ]);
});

/** The chain of executions from `firstRunId`, following each continue-as-new in the histories themselves. */
async function executions(id: string, firstRunId: string): Promise<Array<{ runId: string; status: string }>> {
  const chain: Array<{ runId: string; status: string }> = [];
  let current: string | undefined = firstRunId;
  while (current) {
    const handle: WorkflowHandle = h.client.client.workflow.getHandle(id, current);
    const description = await handle.describe();
    chain.push({ runId: current, status: description.status.name });
    if (description.status.name !== 'CONTINUED_AS_NEW') break;
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await handle.fetchHistory();
    current = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return chain;
}

test('continue-as-new in the middle of a loop: the loop count, iterations and attempts carry over; events stay 1..N', async () => {
  // draft → review; review → draft when rejected (3 runs at most), → publish when approved,
  // → archive when rejected (taken once the loop is spent).
  const spec = plan(
    'loop-can',
    [{ id: 'draft' }, { id: 'review' }, { id: 'publish' }, { id: 'archive' }],
    [
      { from: 'draft', to: 'review', map: { text: 'output.text' } },
      { from: 'review', to: 'publish', when: 'output.ok == true' },
      { from: 'review', to: 'archive', when: 'output.ok == false' },
      { from: 'review', to: 'draft', when: 'output.ok == false', map: { edits: 'output.edits' }, loop: { maxIterations: 3 } },
    ],
  );
  const id = runId('loop-can');
  await h.client.start(spec, { runId: id, options: { continueAsNewAfterMessages: 3 } });
  const handle = () => h.client.client.workflow.getHandle(id);
  const firstRunId = (await handle().describe()).runId;
  const handedOver = async (from: string) =>
    eventually(async () => {
      const now = (await handle().describe()).runId;
      return now !== from ? now : undefined;
    }, `the run to continue as new after execution ${from}`);

  await h.client.submitResult(id, { nodeId: 'draft', attempt: 1, structuredOutput: { text: 'v1' } });
  await h.client.submitResult(id, { nodeId: 'review', attempt: 1, structuredOutput: { ok: false, edits: ['e1'] } });
  await h.client.submitResult(id, { nodeId: 'draft', attempt: 2, structuredOutput: { text: 'v2' } });
  // Third message: the run hands over with review running in iteration 2, mid-body.
  const second = await handedOver(firstRunId);
  let snapshot = await h.client.snapshot(id);
  assert.equal(node(snapshot, 'review').status, 'running');
  assert.equal(node(snapshot, 'review').iteration, 2);
  const review2 = await h.client.workItem(id, 'review');
  assert.deepEqual([review2?.attempt, review2?.iteration, review2?.resolvedInput], [2, 2, { text: 'v2' }]);

  await h.client.submitResult(id, { nodeId: 'review', attempt: 2, structuredOutput: { ok: false, edits: ['e2'] } });
  const draft3 = await h.client.workItem(id, 'draft');
  assert.deepEqual([draft3?.attempt, draft3?.iteration, draft3?.resolvedInput], [3, 3, { edits: ['e2'] }], 'iteration 3 after the hand-over');
  await h.client.submitResult(id, { nodeId: 'draft', attempt: 3, structuredOutput: { text: 'v3' } });
  // Sixth message: the third rejection. The loop has run 3 times (counted across the hand-over), so
  // it is exhausted and archive runs; then the run hands over again.
  const outcome = await h.client.submitResult(id, { nodeId: 'review', attempt: 3, structuredOutput: { ok: false, edits: ['e3'] } });
  assert.equal(outcome.nodeStatus, 'completed');
  await handedOver(second);
  snapshot = await h.client.snapshot(id);
  assert.deepEqual(statuses(snapshot), { draft: 'completed', review: 'completed', publish: 'skipped', archive: 'running' });
  assert.equal(node(snapshot, 'draft').iteration, 3);
  await h.client.submitResult(id, { nodeId: 'archive', structuredOutput: {} });
  const final = await h.client.result(id);
  assert.equal(final.status, 'completed');
  assert.deepEqual(statuses(final), { draft: 'completed', review: 'completed', publish: 'skipped', archive: 'completed' });

  const runs = await executions(id, firstRunId);
  assert.ok(runs.length >= 3, `expected at least 3 executions, got ${runs.length}`);
  assert.ok(runs.slice(0, -1).every((run) => run.status === 'CONTINUED_AS_NEW'));
  assert.equal(runs.at(-1)?.status, 'COMPLETED');

  const events = await storedEvents(id, (all) => all.length === final.lastSeq, 'every event in the store');
  assertContiguous(events, final.lastSeq);
  assert.deepEqual(ofType(events, 'loop-iterated').map((e) => e.iteration), [2, 3]);
  assert.deepEqual(ofType(events, 'loop-exhausted').map((e) => [e.iteration, e.detail?.iterations]), [[3, 3]]);
  assert.deepEqual(ofType(events, 'node-running', 'draft').map((e) => [e.attempt, e.iteration]), [[1, 1], [2, 2], [3, 3]]);
  assert.equal(ofType(events, 'run-started').length, 1, 'a hand-over does not start the run again');

  // One attempt row per (node, attempt), each with its iteration; nothing repeated by the hand-overs.
  const all = (await Promise.all(['draft', 'review', 'publish', 'archive'].map((n) => h.store.listAttempts(id, n)))).flat();
  const keys = all.map((a) => `${a.nodeId}#${a.attempt}`);
  assert.equal(new Set(keys).size, keys.length, `duplicate attempt rows: ${keys.join(', ')}`);
  assert.deepEqual(
    all.map((a) => [a.nodeId, a.attempt, a.iteration, (a.output as { text?: string }).text ?? (a.output as { edits?: string[] }).edits?.[0] ?? null]),
    [
      ['draft', 1, 1, 'v1'],
      ['draft', 2, 2, 'v2'],
      ['draft', 3, 3, 'v3'],
      ['review', 1, 1, 'e1'],
      ['review', 2, 2, 'e2'],
      ['review', 3, 3, 'e3'],
      ['archive', 1, undefined, null],
    ],
  );
  const rows = await h.store.listNodeRuns(id);
  assert.deepEqual(rows.map((r) => [r.nodeId, r.status, r.attempts, r.iteration]), [
    ['draft', 'completed', 3, 3],
    ['review', 'completed', 3, 3],
    ['publish', 'skipped', 0, undefined],
    ['archive', 'completed', 1, undefined],
  ]);
});
