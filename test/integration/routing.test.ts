/**
 * Routing on a real Temporal server: mapped inputs, switches and joins, approvals, concurrency.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, plan, runId, type Harness } from './harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const statuses = (snapshot: { nodes: Array<{ id: string; status: string }> }) =>
  Object.fromEntries(snapshot.nodes.map((node) => [node.id, node.status]));

describe('routing', () => {
  test('a linear plan with mapped inputs runs to completion', async () => {
    const spec = plan(
      'linear',
      [{ id: 'research' }, { id: 'draft' }, { id: 'publish' }],
      [
        { from: 'research', to: 'draft', map: { 'brief.notes': 'output.summary', topic: 'input.topic' } },
        { from: 'draft', to: 'publish', map: { url: 'output.url', 'meta.topic': 'input.topic' } },
      ],
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('linear'), input: { topic: 'durable agents' } });

    const research = await h.client.workItem(id, 'research');
    assert.deepEqual(research?.resolvedInput, { topic: 'durable agents' }, 'a root node gets the run input');
    await h.client.submitResult(id, { nodeId: 'research', structuredOutput: { summary: 'notes' } });

    const draft = await h.client.workItem(id, 'draft');
    assert.deepEqual(draft?.resolvedInput, { brief: { notes: 'notes' }, topic: 'durable agents' });
    await h.client.submitResult(id, { nodeId: 'draft', structuredOutput: { url: 'https://example.test/post' } });

    const publish = await h.client.workItem(id, 'publish');
    assert.deepEqual(publish?.resolvedInput, { url: 'https://example.test/post', meta: { topic: 'durable agents' } });
    const outcome = await h.client.submitResult(id, { nodeId: 'publish', structuredOutput: { done: true } });
    assert.equal(outcome.runStatus, 'completed');

    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');
    assert.deepEqual(statuses(final), { research: 'completed', draft: 'completed', publish: 'completed' });
    const events = await h.client.events(id);
    assert.deepEqual(
      events.map((event) => event.seq),
      events.map((_, i) => i + 1),
      'event seqs are contiguous from 1',
    );
    assert.equal(events.at(-1)?.type, 'checkpoint-saved');
    assert.ok(events.some((event) => event.type === 'run-status-changed' && event.toStatus === 'completed'));
  });

  test('a switch takes one branch, skips the other, skips propagate and the join completes', async () => {
    const spec = plan(
      'switch-join',
      [
        { id: 'classify' },
        { id: 'route', type: 'switch' },
        { id: 'short-path' },
        { id: 'long-path' },
        { id: 'long-followup' },
        { id: 'merge', type: 'join' },
        { id: 'finish' },
      ],
      [
        { from: 'classify', to: 'route', map: { size: 'output.size' } },
        { from: 'route', to: 'short-path', when: "output.size == 'short'", map: { size: 'input.size' } },
        { from: 'route', to: 'long-path', when: "output.size == 'long'" },
        { from: 'long-path', to: 'long-followup' },
        { from: 'short-path', to: 'merge', map: { text: 'output.text' } },
        { from: 'long-followup', to: 'merge', map: { text: 'output.text' } },
        { from: 'merge', to: 'finish', map: { text: 'output.text' } },
      ],
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('switch') });
    await h.client.submitResult(id, { nodeId: 'classify', structuredOutput: { size: 'short' } });
    const mid = await h.client.snapshot(id);
    assert.deepEqual(statuses(mid), {
      classify: 'completed',
      route: 'completed',
      'short-path': 'running',
      'long-path': 'skipped',
      'long-followup': 'skipped',
      merge: 'pending',
      finish: 'pending',
    });
    assert.deepEqual((await h.client.workItem(id, 'short-path'))?.resolvedInput, { size: 'short' });
    await h.client.submitResult(id, { nodeId: 'short-path', structuredOutput: { text: 'brief' } });
    const finish = await h.client.workItem(id, 'finish');
    assert.deepEqual(finish?.resolvedInput, { text: 'brief' }, 'the join passes the taken branch through');
    await h.client.submitResult(id, { nodeId: 'finish', structuredOutput: {} });
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');
    const events = await h.client.events(id);
    assert.deepEqual(
      events.filter((event) => event.type === 'node-skipped').map((event) => event.nodeId),
      ['long-path', 'long-followup'],
    );
    assert.deepEqual(
      events.filter((event) => event.type === 'node-auto-completed').map((event) => event.nodeId),
      ['route', 'merge'],
    );
  });

  test('an approval approved and one rejected route to different nodes', async () => {
    const spec = plan(
      'approval-routing',
      [{ id: 'approve', type: 'human-approval', approvers: ['alice', 'bob'] }, { id: 'publish' }, { id: 'archive' }],
      [
        { from: 'approve', to: 'publish', when: 'output.approved == true' },
        { from: 'approve', to: 'archive', when: 'output.approved == false' },
      ],
    );
    const approved = await h.client.start(spec, { runId: runId('approved') });
    const rejected = await h.client.start(spec, { runId: runId('rejected') });
    assert.equal((await h.client.snapshot(approved.runId)).status, 'awaiting-human');

    const yes = await h.client.respond(approved.runId, { nodeId: 'approve', respondedBy: 'alice', response: { approved: true } });
    assert.equal(yes.approvalStatus, 'approved');
    const no = await h.client.respond(rejected.runId, { respondedBy: 'bob', response: { approved: false, comments: 'off-topic' } });
    assert.equal(no.approvalStatus, 'rejected');
    assert.equal(no.nodeStatus, 'completed', 'a rejection is a completed node');

    assert.deepEqual(statuses(await h.client.snapshot(approved.runId)), { approve: 'completed', publish: 'running', archive: 'skipped' });
    assert.deepEqual(statuses(await h.client.snapshot(rejected.runId)), { approve: 'completed', publish: 'skipped', archive: 'running' });
    const approvals = (await h.client.snapshot(rejected.runId)).approvals;
    assert.deepEqual(
      approvals.map((a) => [a.approvalId, a.status, a.respondedBy]),
      [['approve#1', 'rejected', 'bob']],
    );
  });

  test('an approver outside `approvers` is refused and nothing changes', async () => {
    const spec = plan('approvers', [{ id: 'approve', type: 'human-approval', approvers: ['alice'] }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('approvers') });
    await h.client.waitForStatus(id, 'awaiting-human');
    const before = await h.client.snapshot(id);
    await assert.rejects(
      h.client.respond(id, { nodeId: 'approve', respondedBy: 'mallory', response: { approved: true } }),
      (error: Error & { reason?: string }) => {
        assert.equal(error.reason, 'not-authorized');
        assert.match(error.message, /mallory/);
        return true;
      },
    );
    const afterRefusal = await h.client.snapshot(id);
    assert.equal(afterRefusal.lastSeq, before.lastSeq, 'a refused update records nothing');
    assert.equal(afterRefusal.approvals[0].status, 'pending');
    await h.client.respond(id, { nodeId: 'approve', respondedBy: 'alice', response: { approved: true } });
    assert.equal((await h.client.result(id)).status, 'completed');
  });

  test('two branches run at once under maxConcurrency 2, one at a time under 1', async () => {
    const nodes = [{ id: 'start' }, { id: 'left' }, { id: 'right' }, { id: 'end', type: 'join' as const }];
    const edges = [
      { from: 'start', to: 'left' },
      { from: 'start', to: 'right' },
      { from: 'left', to: 'end' },
      { from: 'right', to: 'end' },
    ];
    const parallel = await h.client.start(plan('parallel', nodes, edges, { maxConcurrency: 2 }), { runId: runId('parallel') });
    const serial = await h.client.start(plan('serial', nodes, edges), { runId: runId('serial') });
    for (const id of [parallel.runId, serial.runId]) {
      await h.client.submitResult(id, { nodeId: 'start', structuredOutput: {} });
    }
    const p = statuses(await h.client.snapshot(parallel.runId));
    assert.equal(p.left, 'running');
    assert.equal(p.right, 'running');
    const s = statuses(await h.client.snapshot(serial.runId));
    assert.deepEqual([s.left, s.right], ['running', 'ready']);

    await h.client.submitResult(parallel.runId, { nodeId: 'right', structuredOutput: {} });
    await h.client.submitResult(parallel.runId, { nodeId: 'left', structuredOutput: {} });
    assert.equal((await h.client.result(parallel.runId)).status, 'completed');
    await h.client.cancel(serial.runId, { by: 'test' });
  });
});
