/**
 * Quorum approvals on a real Temporal server (docs/semantics.md, "Quorum approvals"): one vote per
 * approver, resolution as soon as the outcome is certain (required approvals, a veto, out of reach),
 * the votes of a pending approval in the snapshot, the store, the Web UI details, `status` and
 * `approvals`, and a deadline over the whole approval.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlanSpec } from '../../src/engine';
import { startHarness, plan, runId, eventually, type Harness, runCli } from './harness';


let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const cli = (...args: string[]) => runCli(h.taskQueue, ...args);

const statuses = (snapshot: { nodes: Array<{ id: string; status: string }> }) => Object.fromEntries(snapshot.nodes.map((node) => [node.id, node.status]));

/** The example, routed: approved → publish, otherwise → archive (with the edits asked for). */
function signOffPlan(id: string, quorum: { required: number; veto?: string[] }, extra: Record<string, unknown> = {}): PlanSpec {
  return plan(
    id,
    [
      { id: 'sign-off', type: 'human-approval', owner: { kind: 'human', ref: 'board' }, approvers: ['alice', 'bob', 'carol', 'dave'], quorum, ...extra },
      { id: 'publish' },
      { id: 'archive' },
    ],
    [
      { from: 'sign-off', to: 'publish', when: 'output.approved == true' },
      { from: 'sign-off', to: 'archive', when: 'output.approved == false', map: { edits: 'output.requiredEdits' } },
    ],
  );
}

const vote = (id: string, by: string, response: Record<string, unknown>) => h.client.respond(id, { nodeId: 'sign-off', respondedBy: by, response });

const refusedWith = (reason: string, pattern: RegExp) => (error: Error & { reason?: string }) => {
  assert.equal(error.reason, reason, error.message);
  assert.match(error.message, pattern);
  return true;
};

describe('quorum approvals', () => {
  test('2 of 4: the first approval keeps it pending, a repeat vote is refused (already-voted), the second approver approves', async () => {
    const { runId: id } = await h.client.start(signOffPlan('quorum-2-of-4', { required: 2, veto: ['carol'] }), { runId: runId('quorum-approve') });
    await h.client.waitForStatus(id, 'awaiting-human');

    const first = await vote(id, 'alice', { approved: true, comments: 'fine by me' });
    assert.equal(first.approvalStatus, 'pending');
    assert.equal(first.nodeStatus, 'awaiting-human');
    assert.deepEqual(first.quorum, { approvals: 1, required: 2, votes: 1, waitingFor: ['bob', 'carol', 'dave'], resolved: false });

    // The pending approval shows the vote: the snapshot (query), the Web UI details, PlanWaitingOn.
    const pending = await h.client.snapshot(id);
    assert.equal(pending.status, 'awaiting-human');
    assert.deepEqual(pending.approvals[0].quorum, { required: 2, veto: ['carol'] });
    assert.deepEqual(pending.approvals[0].votes?.map((v) => [v.by, v.approved, v.comments]), [['alice', true, 'fine by me']]);
    const handle = h.client.client.workflow.getHandle(id);
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    assert.match(metadata.currentDetails ?? '', /`sign-off` awaiting-human: votes alice ✔ \(1 of 2 approvals; waiting for bob, carol, dave\)/);
    const waitingOn = (await handle.describe()).searchAttributes.PlanWaitingOn;
    assert.deepEqual(waitingOn, ['human:board', 'human:bob', 'human:carol', 'human:dave'], 'alice voted: she is no longer waited on');

    // The store's approvals row holds the votes while the approval is pending.
    const row = await eventually(async () => (await h.store.listApprovals({ runId: id })).find((a) => a.votes?.length === 1), 'the vote in the store');
    assert.equal(row.status, 'pending');
    assert.deepEqual(row.quorum, { required: 2, veto: ['carol'] });
    assert.equal(row.votes?.[0].by, 'alice');

    // `status` and `approvals` show the votes so far.
    const status = await cli('status', id);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /waiting: sign-off#1 on node sign-off \(votes 1 of 2: alice ✔\)/);
    assert.match(status.stdout, /APPROVAL\s+NODE\s+STATUS\s+VOTES\s+BY/);
    const approvals = await cli('approvals', '--run', id, '--pending');
    assert.equal(approvals.code, 0, approvals.stderr);
    assert.match(approvals.stdout, /VOTES/);
    assert.match(approvals.stdout, /sign-off#1 .*pending .*1 of 2: alice ✔/);
    const approvalsJson = await cli('approvals', '--run', id, '--json');
    assert.deepEqual(JSON.parse(approvalsJson.stdout)[0].votes.map((v: { by: string }) => v.by), ['alice']);

    // A second answer by the same person is refused, through an update and through a signal.
    const before = await h.client.snapshot(id);
    await assert.rejects(vote(id, 'alice', { approved: false }), refusedWith('already-voted', /alice already voted on approval sign-off#1/));
    await assert.rejects(vote(id, 'mallory', { approved: true }), refusedWith('not-authorized', /mallory/));
    assert.equal((await h.client.snapshot(id)).lastSeq, before.lastSeq, 'a refused update records nothing');
    await h.client.signalResponse(id, { nodeId: 'sign-off', respondedBy: 'alice', response: { approved: true } });
    const rejected = await eventually(
      async () => (await h.client.events(id)).find((event) => event.type === 'result-rejected'),
      'the refused signal recorded',
    );
    assert.equal(rejected.detail?.reason, 'already-voted');

    // The second approver resolves it.
    const second = await vote(id, 'bob', { approved: true });
    assert.equal(second.approvalStatus, 'approved');
    assert.equal(second.nodeStatus, 'completed');
    const after = await h.client.snapshot(id);
    assert.deepEqual(statuses(after), { 'sign-off': 'completed', publish: 'running', archive: 'skipped' });
    const output = after.nodes[0].output as { approved: boolean; status: string; votes: Array<{ by: string; approved: boolean; at: string }>; requiredEdits: string[] };
    assert.equal(output.approved, true);
    assert.equal(output.status, 'approved');
    assert.deepEqual(output.votes.map((v) => [v.by, v.approved]), [['alice', true], ['bob', true]]);
    assert.ok(output.votes.every((v) => !Number.isNaN(Date.parse(v.at))), 'every vote has its time');
    assert.deepEqual(output.requiredEdits, []);
    await assert.rejects(vote(id, 'dave', { approved: true }), refusedWith('no-pending-approval', /sign-off/));

    await h.client.submitResult(id, { nodeId: 'publish', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
    const events = await eventually(async () => {
      const stored = await h.store.listEvents(id);
      return stored.some((event) => event.type === 'run-status-changed' && event.toStatus === 'completed') ? stored : undefined;
    }, 'every event in the store');
    assert.deepEqual(
      events.filter((event) => event.type === 'approval-vote-recorded').map((event) => event.detail),
      [
        { by: 'alice', approved: true },
        { by: 'bob', approved: true },
      ],
    );
    const resolved = events.filter((event) => event.type === 'approval-resolved');
    assert.equal(resolved.length, 1);
    assert.equal(resolved[0].detail?.status, 'approved');
    const stored = (await h.store.listApprovals({ runId: id }))[0];
    assert.equal(stored.status, 'approved');
    assert.equal(stored.respondedBy, 'bob');
    assert.equal(stored.votes?.length, 2);
    const attempts = await h.store.listAttempts(id, 'sign-off');
    assert.equal(attempts.length, 1, 'the approval is one attempt, whatever the number of votes');
    assert.deepEqual(attempts[0].output, output);
  });

  test("a veto holder's rejection resolves it at once", async () => {
    const { runId: id } = await h.client.start(signOffPlan('quorum-veto', { required: 2, veto: ['carol'] }), { runId: runId('quorum-veto') });
    await h.client.waitForStatus(id, 'awaiting-human');
    assert.equal((await vote(id, 'alice', { approved: true })).approvalStatus, 'pending');
    const veto = await vote(id, 'carol', { approved: false, comments: 'not this quarter' });
    assert.equal(veto.approvalStatus, 'rejected');
    assert.equal(veto.nodeStatus, 'completed');
    const snapshot = await h.client.snapshot(id);
    assert.deepEqual(statuses(snapshot), { 'sign-off': 'completed', publish: 'skipped', archive: 'running' });
    assert.equal((snapshot.nodes[0].output as { status: string }).status, 'rejected');
    await h.client.submitResult(id, { nodeId: 'archive', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
  });

  test('three rejections of four with required 2 resolve it once 2 can no longer be reached (after the third)', async () => {
    const { runId: id } = await h.client.start(signOffPlan('quorum-out-of-reach', { required: 2 }), { runId: runId('quorum-reach') });
    await h.client.waitForStatus(id, 'awaiting-human');
    assert.equal((await vote(id, 'alice', { approved: false })).approvalStatus, 'pending');
    const second = await vote(id, 'bob', { approved: false, requiredEdits: ['shorter'] });
    assert.equal(second.approvalStatus, 'pending', 'carol and dave could still make 2');
    const third = await vote(id, 'carol', { approved: false });
    assert.equal(third.approvalStatus, 'changes-requested', 'rejected, and a vote asked for edits');
    assert.deepEqual(third.quorum, { approvals: 0, required: 2, votes: 3, waitingFor: ['dave'], resolved: true });
    assert.deepEqual((await h.client.workItem(id, 'archive'))?.resolvedInput, { edits: ['shorter'] });
    await assert.rejects(vote(id, 'dave', { approved: true }), refusedWith('no-pending-approval', /sign-off/));
    await h.client.submitResult(id, { nodeId: 'archive', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
  });

  test('required 3 of 4 is out of reach after the second rejection', async () => {
    const { runId: id } = await h.client.start(signOffPlan('quorum-3-of-4', { required: 3 }), { runId: runId('quorum-3-of-4') });
    await h.client.waitForStatus(id, 'awaiting-human');
    assert.equal((await vote(id, 'alice', { approved: false })).approvalStatus, 'pending');
    const second = await vote(id, 'bob', { approved: false });
    assert.equal(second.approvalStatus, 'rejected', 'carol and dave alone cannot make 3');
    assert.deepEqual(statuses(await h.client.snapshot(id)), { 'sign-off': 'completed', publish: 'skipped', archive: 'running' });
    await h.client.submitResult(id, { nodeId: 'archive', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
  });

  test('the deadline applies to the whole approval: it expires with the votes it has', async () => {
    const spec = signOffPlan('quorum-deadline', { required: 2 }, { deadline: { afterMs: 3000, onExpiry: 'fail' } });
    const { runId: id } = await h.client.start(spec, { runId: runId('quorum-deadline') });
    await h.client.waitForStatus(id, 'awaiting-human');
    assert.equal((await vote(id, 'alice', { approved: true })).approvalStatus, 'pending');
    const failed = await h.client.waitForStatus(id, 'failed', { timeoutMs: 20_000 });
    assert.equal(failed.status, 'failed');
    const approval = (await h.client.snapshot(id)).approvals[0];
    assert.equal(approval.status, 'expired');
    assert.deepEqual(approval.votes?.map((v) => v.by), ['alice']);
    await h.client.cancel(id, { by: 'test', reason: 'done' });
  });
});
