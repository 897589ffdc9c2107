/**
 * Join modes on a real server and worker (docs/semantics.md, "Join modes"): the first branch wins,
 * the losing branch's agent is woken at its endpoint with `node-cancelled` and a late result is
 * refused; atLeast 2 of 3; the store records the cancellation; the run completes. A join that can no
 * longer be reached is skipped (any, all and atLeast); a losing node that also feeds another branch
 * is left running, and a chain into the join is cancelled only back to where it forks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, plan, runId, eventually, testDelivery, closeAll, type Harness } from './harness';
import { WebhookReceiver } from './webhook-receiver';
import { RunRefusedError } from '../../src/client/errors';

let h: Harness;
let agent: WebhookReceiver;
before(async () => {
  agent = await new WebhookReceiver().start();
  h = await startHarness({
    delivery: testDelivery({
      agents: {
        fast: { url: `${agent.url}/fast`, secret: agent.secret },
        slow: { url: `${agent.url}/slow`, secret: agent.secret },
      },
    }),
  });
});
after(() => closeAll(() => h?.close(), () => agent?.stop()));

test('join any: the first branch wins, the loser is cancelled, its agent woken with node-cancelled, a late result refused', async () => {
  const spec = plan(
    'join-any',
    [
      { id: 'fast', owner: { kind: 'agent', ref: 'fast' } },
      { id: 'slow', owner: { kind: 'agent', ref: 'slow' } },
      { id: 'first', type: 'join', join: { mode: 'any' } },
      { id: 'write', owner: { kind: 'agent', ref: 'fast' } },
    ],
    [
      { from: 'fast', to: 'first', map: { text: 'output.text' } },
      { from: 'slow', to: 'first', map: { text: 'output.text' } },
      { from: 'first', to: 'write', map: { text: 'output.text' } },
    ],
    { maxConcurrency: 2 },
  );
  const { runId: id } = await h.client.start(spec, { runId: runId('join-any') });
  const forSlow = () => agent.requests.filter((r) => r.path.endsWith('/slow') && r.body?.workItem?.runId === id);
  await eventually(async () => (forSlow().length >= 1 ? true : undefined), 'slow is dispatched');

  await h.client.submitResult(id, { nodeId: 'fast', structuredOutput: { text: 'first!' } });
  const cancelWakeUp = await eventually(async () => forSlow().find((r) => r.body.eventType === 'node-cancelled'), 'slow is told it was cancelled');
  assert.equal(cancelWakeUp.verified, true);
  assert.equal(cancelWakeUp.body.workItem.nodeId, 'slow');

  const snapshot = await h.client.snapshot(id);
  assert.equal(snapshot.nodes.find((n) => n.id === 'slow')?.status, 'cancelled');
  assert.equal(snapshot.nodes.find((n) => n.id === 'write')?.status, 'running');

  await assert.rejects(
    h.client.submitResult(id, { nodeId: 'slow', structuredOutput: { text: 'too late' } }),
    (err: unknown) => err instanceof RunRefusedError && err.reason === 'node-not-running',
  );
  await h.client.submitResult(id, { nodeId: 'write', structuredOutput: {} });
  assert.equal((await h.client.result(id)).status, 'completed');

  const events = await h.store.listEvents(id);
  const cancelled = events.filter((e) => e.type === 'node-cancelled');
  assert.deepEqual(cancelled.map((e) => [e.nodeId, e.by, e.detail?.join]), [['slow', 'engine', 'first']]);
  assert.ok(events.some((e) => e.type === 'checkpoint-saved' && e.detail?.reason === 'join-cancelled-branches'));
});

test('join atLeast 2 of 3: goes ahead after two and cancels the third', async () => {
  const spec = plan(
    'join-two',
    [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'two', type: 'join', join: { mode: 'atLeast', count: 2 } }, { id: 'after' }],
    [
      { from: 'a', to: 'two' },
      { from: 'b', to: 'two' },
      { from: 'c', to: 'two' },
      { from: 'two', to: 'after' },
    ],
    { maxConcurrency: 3 },
  );
  const { runId: id } = await h.client.start(spec, { runId: runId('join-two') });
  await h.client.submitResult(id, { nodeId: 'a', structuredOutput: {} });
  let snapshot = await h.client.snapshot(id);
  assert.equal(snapshot.nodes.find((n) => n.id === 'two')?.status, 'pending', 'one of two is not enough');
  await h.client.submitResult(id, { nodeId: 'c', structuredOutput: {} });
  snapshot = await h.client.snapshot(id);
  assert.deepEqual(
    Object.fromEntries(snapshot.nodes.map((n) => [n.id, n.status])),
    { a: 'completed', b: 'cancelled', c: 'completed', two: 'completed', after: 'running' },
  );
  await h.client.submitResult(id, { nodeId: 'after', structuredOutput: {} });
  assert.equal((await h.client.result(id)).status, 'completed');
});

const statuses = (snapshot: { nodes: Array<{ id: string; status: string }> }) => Object.fromEntries(snapshot.nodes.map((n) => [n.id, n.status]));

test('a join nobody can reach any more is skipped: a switch routes away from every branch of an any and an all join', async () => {
  // route (switch) → a | b | other; a, b → first (any) and both (all); first → after1; both → after2.
  const spec = plan(
    'join-unreachable',
    [
      { id: 'route', type: 'switch' },
      { id: 'a' },
      { id: 'b' },
      { id: 'other' },
      { id: 'first', type: 'join', join: { mode: 'any' } },
      { id: 'both', type: 'join' },
      { id: 'after1' },
      { id: 'after2' },
    ],
    [
      { from: 'route', to: 'a', when: "output.pick == 'a'" },
      { from: 'route', to: 'b', when: "output.pick == 'b'" },
      { from: 'route', to: 'other', when: "output.pick == 'other'", map: { pick: 'output.pick' } },
      { from: 'a', to: 'first' },
      { from: 'b', to: 'first' },
      { from: 'a', to: 'both' },
      { from: 'b', to: 'both' },
      { from: 'first', to: 'after1' },
      { from: 'both', to: 'after2' },
    ],
    { maxConcurrency: 2 },
  );
  const { runId: id } = await h.client.start(spec, { runId: runId('join-unreachable'), input: { pick: 'other' } });
  const snapshot = await h.client.snapshot(id);
  assert.deepEqual(statuses(snapshot), {
    route: 'completed',
    a: 'skipped',
    b: 'skipped',
    other: 'running',
    first: 'skipped',
    both: 'skipped',
    after1: 'skipped',
    after2: 'skipped',
  });
  assert.deepEqual((await h.client.workItem(id, 'other'))?.resolvedInput, { pick: 'other' });
  const outcome = await h.client.submitResult(id, { nodeId: 'other', structuredOutput: {} });
  assert.equal(outcome.runStatus, 'completed');
  const final = await h.client.result(id);
  assert.equal(final.status, 'completed');
  assert.equal(final.nodes.find((n) => n.id === 'first')?.status, 'skipped');

  const events = await eventually(async () => {
    const all = await h.store.listEvents(id);
    return all.some((e) => e.type === 'run-status-changed' && e.toStatus === 'completed') ? all : undefined;
  }, 'the completion in the store');
  const skipped = events.filter((e) => e.type === 'node-skipped').map((e) => e.nodeId);
  assert.deepEqual(skipped.sort(), ['a', 'after1', 'after2', 'b', 'both', 'first']);
  const firstSkipped = events.find((e) => e.type === 'node-skipped' && e.nodeId === 'first');
  assert.equal(firstSkipped?.detail?.needed, 1, 'the racing join says how many it needed');
  assert.equal(events.filter((e) => e.type === 'node-cancelled').length, 0, 'nothing is cancelled by a join that never became ready');
  const rows = await h.store.listNodeRuns(id);
  assert.equal(rows.find((r) => r.nodeId === 'first')?.status, 'skipped');
  assert.equal(rows.find((r) => r.nodeId === 'both')?.status, 'skipped');
});

test('join atLeast 2 of 3 is skipped once two branches are skipped, while the third still runs; the run completes after it', async () => {
  const spec = plan(
    'join-too-few',
    [
      { id: 'route', type: 'switch' },
      { id: 'a' },
      { id: 'b' },
      { id: 'c' },
      { id: 'two', type: 'join', join: { mode: 'atLeast', count: 2 } },
      { id: 'after' },
    ],
    [
      { from: 'route', to: 'a' },
      { from: 'route', to: 'b', when: 'output.wide == true' },
      { from: 'route', to: 'c', when: 'output.wide == true' },
      { from: 'a', to: 'two' },
      { from: 'b', to: 'two' },
      { from: 'c', to: 'two' },
      { from: 'two', to: 'after' },
    ],
    { maxConcurrency: 3 },
  );
  const { runId: id } = await h.client.start(spec, { runId: runId('join-too-few'), input: { wide: false } });
  const snapshot = await h.client.snapshot(id);
  assert.deepEqual(statuses(snapshot), { route: 'completed', a: 'running', b: 'skipped', c: 'skipped', two: 'skipped', after: 'skipped' });
  assert.equal(snapshot.status, 'running');

  // a was not cancelled (the join never became ready): its result is accepted and ends the run.
  const outcome = await h.client.submitResult(id, { nodeId: 'a', structuredOutput: { text: 'A' } });
  assert.equal(outcome.accepted, true);
  assert.equal(outcome.nodeStatus, 'completed');
  const final = await h.client.result(id);
  assert.equal(final.status, 'completed');
  assert.deepEqual(statuses(final), { route: 'completed', a: 'completed', b: 'skipped', c: 'skipped', two: 'skipped', after: 'skipped' });

  const events = await eventually(async () => {
    const all = await h.store.listEvents(id);
    return all.some((e) => e.type === 'run-status-changed' && e.toStatus === 'completed') ? all : undefined;
  }, 'the completion in the store');
  const twoSkipped = events.filter((e) => e.type === 'node-skipped' && e.nodeId === 'two');
  assert.equal(twoSkipped.length, 1);
  assert.equal(twoSkipped[0].detail?.needed, 2);
  const aCompleted = events.find((e) => e.type === 'node-completed' && e.nodeId === 'a');
  assert.ok(aCompleted && twoSkipped[0].seq < aCompleted.seq, 'the join was skipped before a finished');
});

test('join any: a losing node that also feeds another branch is not cancelled; its result is accepted and the node it feeds runs', async () => {
  // fast, slow and helper race into `first`; slow also feeds `audit`, helper feeds only the join.
  const spec = plan(
    'join-shared-loser',
    [
      { id: 'fast', owner: { kind: 'agent', ref: 'fast' } },
      { id: 'slow', owner: { kind: 'agent', ref: 'slow' } },
      { id: 'helper', owner: { kind: 'agent', ref: 'fast' } },
      { id: 'first', type: 'join', join: { mode: 'any' } },
      { id: 'write' },
      { id: 'audit' },
    ],
    [
      { from: 'fast', to: 'first', map: { text: 'output.text' } },
      { from: 'slow', to: 'first', map: { text: 'output.text' } },
      { from: 'helper', to: 'first', map: { text: 'output.text' } },
      { from: 'slow', to: 'audit', map: { draft: 'output.text' } },
      { from: 'first', to: 'write', map: { text: 'output.text' } },
    ],
    { maxConcurrency: 3 },
  );
  const { runId: id } = await h.client.start(spec, { runId: runId('join-shared') });
  const wakeUps = (suffix: string) => agent.requests.filter((r) => r.path.endsWith(suffix) && r.body?.workItem?.runId === id);
  await eventually(async () => (wakeUps('/slow').length >= 1 ? true : undefined), 'slow is dispatched');

  await h.client.submitResult(id, { nodeId: 'fast', structuredOutput: { text: 'first!' } });
  // helper (only into the join) is cancelled and told so; slow runs on.
  await eventually(
    async () => wakeUps('/fast').find((r) => r.body.eventType === 'node-cancelled' && r.body.workItem.nodeId === 'helper'),
    'helper is told it was cancelled',
  );
  let snapshot = await h.client.snapshot(id);
  assert.deepEqual(statuses(snapshot), { fast: 'completed', slow: 'running', helper: 'cancelled', first: 'completed', write: 'running', audit: 'pending' });
  assert.deepEqual(snapshot.nodes.find((n) => n.id === 'first')?.output, { text: 'first!' });
  assert.deepEqual(
    wakeUps('/slow').filter((r) => r.body.eventType === 'node-cancelled'),
    [],
    'slow is not woken with node-cancelled',
  );

  const late = await h.client.submitResult(id, { nodeId: 'slow', structuredOutput: { text: 'thorough' } });
  assert.equal(late.accepted, true);
  assert.equal(late.nodeStatus, 'completed');
  snapshot = await h.client.snapshot(id);
  assert.equal(snapshot.nodes.find((n) => n.id === 'slow')?.status, 'completed');
  assert.equal(snapshot.nodes.find((n) => n.id === 'audit')?.status, 'running');
  assert.deepEqual(snapshot.nodes.find((n) => n.id === 'first')?.output, { text: 'first!' }, 'a branch that finishes later adds nothing to the join');
  assert.deepEqual((await h.client.workItem(id, 'audit'))?.resolvedInput, { draft: 'thorough' });
  assert.deepEqual((await h.client.workItem(id, 'write'))?.resolvedInput, { text: 'first!' });

  await h.client.submitResult(id, { nodeId: 'audit', structuredOutput: {} });
  await h.client.submitResult(id, { nodeId: 'write', structuredOutput: {} });
  const final = await h.client.result(id);
  assert.equal(final.status, 'completed');
  assert.deepEqual(statuses(final), { fast: 'completed', slow: 'completed', helper: 'cancelled', first: 'completed', write: 'completed', audit: 'completed' });

  const events = await eventually(async () => {
    const all = await h.store.listEvents(id);
    return all.some((e) => e.type === 'run-status-changed' && e.toStatus === 'completed') ? all : undefined;
  }, 'the completion in the store');
  assert.deepEqual(events.filter((e) => e.type === 'node-cancelled').map((e) => e.nodeId), ['helper']);
  assert.ok(events.some((e) => e.type === 'node-completed' && e.nodeId === 'slow'));
  assert.equal(events.filter((e) => e.type === 'result-rejected').length, 0);
  const slowAttempts = await h.store.listAttempts(id, 'slow');
  assert.deepEqual(slowAttempts.map((a) => [a.attempt, a.status, a.output]), [[1, 'completed', { text: 'thorough' }]]);
});

test('join any: a chain into the join is cancelled back to where it forks; the fork node, which also feeds another branch, runs on', async () => {
  // prep → deep → first; prep → audit; fast → first. When fast wins, deep (pending) is cancelled,
  // prep (running, and needed by audit) is not.
  const spec = plan(
    'join-fork',
    [
      { id: 'fast' },
      { id: 'prep' },
      { id: 'deep' },
      { id: 'first', type: 'join', join: { mode: 'any' } },
      { id: 'audit' },
      { id: 'write' },
    ],
    [
      { from: 'fast', to: 'first' },
      { from: 'prep', to: 'deep' },
      { from: 'deep', to: 'first' },
      { from: 'prep', to: 'audit', map: { notes: 'output.notes' } },
      { from: 'first', to: 'write' },
    ],
    { maxConcurrency: 2 },
  );
  const { runId: id } = await h.client.start(spec, { runId: runId('join-fork') });
  let snapshot = await h.client.snapshot(id);
  assert.deepEqual(statuses(snapshot), { fast: 'running', prep: 'running', deep: 'pending', first: 'pending', audit: 'pending', write: 'pending' });

  await h.client.submitResult(id, { nodeId: 'fast', structuredOutput: {} });
  snapshot = await h.client.snapshot(id);
  assert.deepEqual(statuses(snapshot), { fast: 'completed', prep: 'running', deep: 'cancelled', first: 'completed', audit: 'pending', write: 'running' });

  const outcome = await h.client.submitResult(id, { nodeId: 'prep', structuredOutput: { notes: 'n' } });
  assert.equal(outcome.nodeStatus, 'completed');
  snapshot = await h.client.snapshot(id);
  assert.equal(snapshot.nodes.find((n) => n.id === 'deep')?.status, 'cancelled', 'a cancelled node stays cancelled when its source finishes');
  await h.client.submitResult(id, { nodeId: 'write', structuredOutput: {} });
  assert.deepEqual((await h.client.workItem(id, 'audit'))?.resolvedInput, { notes: 'n' });
  await h.client.submitResult(id, { nodeId: 'audit', structuredOutput: {} });
  const final = await h.client.result(id);
  assert.equal(final.status, 'completed');
  assert.deepEqual(statuses(final), { fast: 'completed', prep: 'completed', deep: 'cancelled', first: 'completed', audit: 'completed', write: 'completed' });
  const events = await eventually(async () => {
    const all = await h.store.listEvents(id);
    return all.some((e) => e.type === 'run-status-changed' && e.toStatus === 'completed') ? all : undefined;
  }, 'the completion in the store');
  assert.deepEqual(events.filter((e) => e.type === 'node-cancelled').map((e) => [e.nodeId, e.detail?.join]), [['deep', 'first']]);
  assert.equal((await h.store.listAttempts(id, 'deep')).length, 0, 'deep never ran');
});
