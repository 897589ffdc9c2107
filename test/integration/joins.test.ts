/**
 * Join modes on a real server and worker (docs/semantics.md, "Join modes"): the first branch wins,
 * the losing branch's agent is woken at its endpoint with `node-cancelled` and a late result is
 * refused; atLeast 2 of 3; the store records the cancellation; the run completes.
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
