/**
 * docs/semantics.md, "Quorum approvals": validation of `quorum`, one vote per approver, resolution as
 * soon as the outcome is certain (required approvals, a veto, out of reach), the node's output, and
 * how a pending quorum approval shows its votes (snapshot, details, waiting-on, store records).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyHumanResponse,
  cancelRun,
  checkHumanResponse,
  compactForHandOver,
  currentDetails,
  decideQuorum,
  fireDueTimers,
  pendingTimers,
  recordOf,
  replanRun,
  retryNode,
  snapshotOf,
  waitingOn,
  type PlanNode,
  type QuorumVote,
} from '../../src/engine';
import { validatePlanSpec } from '../../src/engine/validate-spec';
import { at, blocking, Driver, edge, eventsOf, human, nodeOf, ok, plan, refused, task, trace } from './engine-helpers';

const APPROVERS = ['alice', 'bob', 'carol', 'dave'];

/** The example: 2 of alice, bob, carol, dave; carol may veto. */
function signOff(extra: Partial<PlanNode> = {}): PlanNode {
  return human('sign-off', 'human-approval', { approvers: APPROVERS, quorum: { required: 2, veto: ['carol'] }, ...extra });
}

const routed = (node = signOff()) =>
  plan([node, task('publish'), task('archive')], [
    edge('sign-off', 'publish', { when: 'output.approved == true' }),
    edge('sign-off', 'archive', { when: 'output.approved == false', map: { edits: 'output.requiredEdits' } }),
  ]);

const vote = (d: Driver, by: string, response: Record<string, unknown>, now = d.now()) =>
  applyHumanResponse(d.state, { nodeId: 'sign-off', respondedBy: by, response }, [], now);

const votesOf = (d: Driver) => d.state.approvals.find((a) => a.approvalId === 'sign-off#1')?.votes;

describe('engine quorum: validation (docs/semantics.md §2, "Quorum approvals")', () => {
  const errorsOf = (node: PlanNode) => validatePlanSpec(plan([node])).errors.map((e) => `${e.path}: ${e.message}`);

  it('accepts the example', () => {
    const result = validatePlanSpec(routed());
    assert.ok(result.valid, result.errors.map((e) => e.message).join('; '));
  });

  it('needs non-empty approvers', () => {
    const missing = errorsOf(human('q', 'human-approval', { quorum: { required: 1 } }));
    assert.equal(missing.length, 1);
    assert.match(missing[0], /^\$\.nodes\[0\]\.approvers: .*quorum.*needs "approvers"/);
    const empty = errorsOf(human('q', 'human-approval', { approvers: [], quorum: { required: 1 } }));
    assert.match(empty[0], /^\$\.nodes\[0\]\.approvers: /);
  });

  it('needs 1 ≤ required ≤ the number of approvers', () => {
    assert.match(errorsOf(human('q', 'human-approval', { approvers: ['a', 'b'], quorum: { required: 3 } }))[0], /^\$\.nodes\[0\]\.quorum\.required: .*is 3, but only 2 approver/);
    assert.match(errorsOf(human('q', 'human-approval', { approvers: ['a', 'b'], quorum: { required: 0 } }))[0], /^\$\.nodes\[0\]\.quorum\.required: .*must be at least 1/);
    assert.match(errorsOf(human('q', 'human-approval', { approvers: ['a', 'b'], quorum: { required: 1.5 } }))[0], /^\$\.nodes\[0\]\.quorum\.required: .*must be a whole number/);
    assert.deepEqual(errorsOf(human('q', 'human-approval', { approvers: ['a', 'b'], quorum: { required: 2 } })), []);
  });

  it('veto holders must be approvers', () => {
    const errors = errorsOf(human('q', 'human-approval', { approvers: ['a', 'b'], quorum: { required: 1, veto: ['a', 'zed'] } }));
    assert.equal(errors.length, 1);
    assert.match(errors[0], /^\$\.nodes\[0\]\.quorum\.veto\[1\]: .*"zed" is not among the approvers/);
  });

  it('approvers are listed once, and the count is of distinct approvers', () => {
    const errors = errorsOf(human('q', 'human-approval', { approvers: ['a', 'b', 'a'], quorum: { required: 3 } }));
    assert.ok(errors.some((e) => /^\$\.nodes\[0\]\.approvers\[2\]: .*listed twice/.test(e)), errors.join('\n'));
    assert.ok(errors.some((e) => /^\$\.nodes\[0\]\.quorum\.required: .*only 2 approver/.test(e)), errors.join('\n'));
  });

  it('only human-approval nodes take a quorum; unknown fields are refused', () => {
    const other = errorsOf(human('q', 'human-decision', { options: ['x'], approvers: ['a'], quorum: { required: 1 } }));
    assert.match(other[0], /^\$\.nodes\[0\]\.quorum: .*only applies to human-approval nodes/);
    const onTask = errorsOf(task('t', { quorum: { required: 1 } }));
    assert.match(onTask[0], /^\$\.nodes\[0\]\.quorum: /);
    const unknown = validatePlanSpec(plan([human('q', 'human-approval', { approvers: ['a'], quorum: { required: 1, vetos: ['a'] } as never })]));
    assert.ok(unknown.errors.some((e) => e.path === '$.nodes[0].quorum' || e.path.startsWith('$.nodes[0].quorum')), JSON.stringify(unknown.errors));
  });
});

describe('engine quorum: votes and resolution', () => {
  it('the approval request carries the quorum, and the approval starts with no votes', () => {
    const d = new Driver(routed());
    const requested = eventsOf(d.events, 'approval-requested', 'sign-off')[0];
    assert.deepEqual(requested.detail?.quorum, { required: 2, veto: ['carol'] });
    assert.deepEqual(requested.detail?.approvers, APPROVERS);
    assert.deepEqual(d.state.approvals[0].quorum, { required: 2, veto: ['carol'] });
    assert.deepEqual(d.state.approvals[0].votes, []);
  });

  it('2 of 4: the first approval keeps it pending, a second vote by the same person is refused, the second approver approves', () => {
    const d = new Driver(routed());
    const first = d.take(ok(vote(d, 'alice', { approved: true, comments: 'fine by me' }, at(1000))));
    assert.deepEqual(trace(first), ['approval-vote-recorded:sign-off', 'checkpoint-saved']);
    const recorded = eventsOf(first.events, 'approval-vote-recorded')[0];
    assert.deepEqual(recorded.detail, { by: 'alice', approved: true });
    assert.equal(recorded.by, 'alice');
    assert.equal(recorded.approvalId, 'sign-off#1');
    assert.match(recorded.message, /alice approved approval sign-off#1: 1 of 2 approvals; waiting for bob, carol, dave/);
    assert.equal(first.checkpoint?.reason, 'approval-vote-recorded');
    const saved = eventsOf(first.events, 'checkpoint-saved')[0];
    assert.equal(saved.by, 'engine', 'the checkpoint is the engine\'s consequence of the vote');
    assert.deepEqual(saved.detail?.causedBy, { by: 'alice', seq: recorded.seq, type: 'approval-vote-recorded' });
    assert.equal(d.status('sign-off'), 'awaiting-human');
    assert.equal(d.state.approvals[0].status, 'pending');
    assert.equal(nodeOf(d.state, 'sign-off').attempts, 0, 'a vote is not an attempt: the approval is');
    assert.deepEqual(votesOf(d), [{ by: 'alice', approved: true, comments: 'fine by me', at: at(1000) }]);
    assert.equal(first.outcome.approvalStatus, 'pending');
    assert.equal(first.outcome.nodeStatus, 'awaiting-human');
    assert.deepEqual(first.outcome.quorum, { approvals: 1, required: 2, votes: 1, waitingFor: ['bob', 'carol', 'dave'], resolved: false });
    assert.match(first.outcome.message ?? '', /Vote recorded: alice .* 1 of 2 approvals so far; it stays pending, waiting for bob, carol, dave/);

    const again = refused(vote(d, 'alice', { approved: false }), 'already-voted');
    assert.match(again.message, /alice already voted on approval sign-off#1 \(approved at .*\); each approver votes once/);
    refused(vote(d, 'mallory', { approved: true }), 'not-authorized');
    refused(vote(d, 'bob', { approved: 'yes' }), 'invalid-response');

    const second = d.take(ok(vote(d, 'bob', { approved: true }, at(5000))));
    assert.deepEqual(trace(second).slice(0, 3), ['approval-vote-recorded:sign-off', 'approval-resolved:sign-off', 'node-completed:sign-off']);
    assert.equal(second.checkpoint?.reason, 'human-response-complete');
    assert.equal(eventsOf(second.events, 'node-running', 'publish')[0].by, 'engine');
    assert.equal((eventsOf(second.events, 'node-running', 'publish')[0].detail?.causedBy as { type?: string }).type, 'approval-vote-recorded');
    assert.equal(second.outcome.approvalStatus, 'approved');
    assert.deepEqual(second.outcome.quorum, { approvals: 2, required: 2, votes: 2, waitingFor: ['carol', 'dave'], resolved: true });
    const resolved = eventsOf(second.events, 'approval-resolved')[0];
    assert.deepEqual(resolved.detail, { status: 'approved', respondedBy: 'bob', votes: 2 });
    assert.match(resolved.message, /decided by the vote of bob: approved \(2 of 2 approvals\)/);
    assert.equal(d.status('sign-off'), 'completed');
    assert.equal(d.status('publish'), 'running');
    assert.equal(d.status('archive'), 'skipped');
    const output = {
      approved: true,
      status: 'approved',
      votes: [
        { by: 'alice', approved: true, comments: 'fine by me', at: at(1000) },
        { by: 'bob', approved: true, at: at(5000) },
      ],
      requiredEdits: [],
    };
    assert.deepEqual(nodeOf(d.state, 'sign-off').output, output);
    const approval = d.state.approvals[0];
    assert.deepEqual({ status: approval.status, respondedBy: approval.respondedBy, response: approval.response, resolvedAt: approval.resolvedAt }, { status: 'approved', respondedBy: 'bob', response: output, resolvedAt: at(5000) });
    const attempts = nodeOf(d.state, 'sign-off').history;
    assert.equal(attempts.length, 1);
    assert.deepEqual({ attempt: attempts[0].attempt, by: attempts[0].by, status: attempts[0].status, output: attempts[0].output }, { attempt: 1, by: 'bob', status: 'completed', output });
    // Closed: the others are told so.
    refused(vote(d, 'dave', { approved: true }), 'no-pending-approval');
  });

  it("a veto holder's rejection resolves it at once, whatever the others said", () => {
    const d = new Driver(routed());
    d.take(ok(vote(d, 'alice', { approved: true })));
    const t = d.take(ok(vote(d, 'carol', { approved: false, comments: 'not this quarter' })));
    assert.equal(t.outcome.approvalStatus, 'rejected');
    assert.match(eventsOf(t.events, 'approval-resolved')[0].message, /rejected \(1 of 2 approvals; vetoed by carol\)/);
    assert.equal(d.status('sign-off'), 'completed');
    assert.equal(d.status('archive'), 'running');
    assert.equal(d.status('publish'), 'skipped');
    const output = nodeOf(d.state, 'sign-off').output as { approved: boolean; status: string; votes: QuorumVote[] };
    assert.equal(output.approved, false);
    assert.equal(output.status, 'rejected');
    assert.deepEqual(output.votes.map((v) => [v.by, v.approved]), [['alice', true], ['carol', false]]);
  });

  it('a veto as the first vote resolves it on the first vote', () => {
    const d = new Driver(routed());
    const t = d.take(ok(vote(d, 'carol', { approved: false })));
    assert.equal(t.outcome.approvalStatus, 'rejected');
    assert.equal(d.status('sign-off'), 'completed');
  });

  it('three rejections of four with required 2: pending after two, rejected after the third (2 can no longer be reached)', () => {
    const d = new Driver(routed(signOff({ quorum: { required: 2 } })));
    d.take(ok(vote(d, 'alice', { approved: false })));
    const second = d.take(ok(vote(d, 'bob', { approved: false })));
    assert.equal(second.outcome.approvalStatus, 'pending', 'carol and dave could still make 2');
    assert.equal(d.status('sign-off'), 'awaiting-human');
    const third = d.take(ok(vote(d, 'carol', { approved: false })));
    assert.equal(third.outcome.approvalStatus, 'rejected');
    assert.match(eventsOf(third.events, 'approval-resolved')[0].message, /0 of 2 approvals; 2 can no longer be reached/);
    assert.equal(d.status('sign-off'), 'completed');
    assert.equal(d.status('archive'), 'running');
    refused(vote(d, 'dave', { approved: true }), 'no-pending-approval');
  });

  it('resolves as soon as required is out of reach: 3 of 4 after the second rejection', () => {
    const d = new Driver(routed(signOff({ quorum: { required: 3 } })));
    const first = d.take(ok(vote(d, 'alice', { approved: false })));
    assert.equal(first.outcome.approvalStatus, 'pending');
    const second = d.take(ok(vote(d, 'bob', { approved: false })));
    assert.equal(second.outcome.approvalStatus, 'rejected', 'carol and dave alone cannot make 3');
    assert.deepEqual(second.outcome.quorum?.waitingFor, ['carol', 'dave']);
  });

  it('with required = all approvers, the first rejection is already certain', () => {
    const d = new Driver(routed(human('sign-off', 'human-approval', { approvers: ['alice', 'bob'], quorum: { required: 2 } })));
    d.take(ok(vote(d, 'alice', { approved: true })));
    const t = d.take(ok(vote(d, 'bob', { approved: false })));
    assert.equal(t.outcome.approvalStatus, 'rejected');
  });

  it('changes-requested instead of rejected when any vote asked for edits; edits come in vote order', () => {
    const d = new Driver(routed(signOff({ quorum: { required: 2 } })));
    d.take(ok(vote(d, 'alice', { approved: false, requiredEdits: ['fix the title'] })));
    d.take(ok(vote(d, 'bob', { approved: false })));
    const t = d.take(ok(vote(d, 'carol', { approved: false, requiredEdits: ['shorter', 'add sources'] })));
    assert.equal(t.outcome.approvalStatus, 'changes-requested');
    const output = nodeOf(d.state, 'sign-off').output as Record<string, unknown>;
    assert.equal(output.approved, false);
    assert.equal(output.status, 'changes-requested');
    assert.deepEqual(output.requiredEdits, ['fix the title', 'shorter', 'add sources']);
    assert.deepEqual(nodeOf(d.state, 'archive').resolvedInput, { edits: ['fix the title', 'shorter', 'add sources'] });
  });

  it('an approval with edits does not count towards required', () => {
    const d = new Driver(routed(signOff({ quorum: { required: 2 } })));
    d.take(ok(vote(d, 'alice', { approved: true, requiredEdits: ['typo'] })));
    const t = d.take(ok(vote(d, 'bob', { approved: true })));
    assert.equal(t.outcome.approvalStatus, 'pending');
    assert.deepEqual(t.outcome.quorum?.approvals, 1);
    const last = d.take(ok(vote(d, 'dave', { approved: true })));
    assert.equal(last.outcome.approvalStatus, 'approved', 'approved once 2 approved without edits');
    const output = nodeOf(d.state, 'sign-off').output as Record<string, unknown>;
    assert.equal(output.status, 'approved');
    assert.deepEqual(output.requiredEdits, ['typo'], 'the edits asked for are kept in the output');
  });

  it("a veto holder who approves but asks for edits does not approve: it ends the approval as changes-requested", () => {
    const d = new Driver(routed());
    const t = d.take(ok(vote(d, 'carol', { approved: true, requiredEdits: ['one more chart'] })));
    assert.equal(t.outcome.approvalStatus, 'changes-requested');
  });

  it('a veto holder who approves counts like anyone else', () => {
    const d = new Driver(routed());
    d.take(ok(vote(d, 'carol', { approved: true })));
    const t = d.take(ok(vote(d, 'dave', { approved: true })));
    assert.equal(t.outcome.approvalStatus, 'approved');
  });

  it('required 1 of 1 behaves like a single approval, with the quorum output', () => {
    const d = new Driver(routed(human('sign-off', 'human-approval', { approvers: ['alice'], quorum: { required: 1 } })));
    const t = d.take(ok(vote(d, 'alice', { approved: true })));
    assert.equal(t.outcome.approvalStatus, 'approved');
    assert.equal((nodeOf(d.state, 'sign-off').output as { status: string }).status, 'approved');
  });

  it('a repeated submissionId returns the first outcome and changes nothing', () => {
    const d = new Driver(routed());
    const payload = { nodeId: 'sign-off', respondedBy: 'alice', response: { approved: true }, submissionId: 'vote-1' };
    const first = d.take(ok(applyHumanResponse(d.state, payload, [], d.now())));
    const again = ok(applyHumanResponse(d.state, payload, [], d.now()));
    assert.equal(again.outcome.duplicate, true);
    assert.equal(again.state, d.state);
    assert.deepEqual({ ...again.outcome, duplicate: undefined }, { ...first.outcome, duplicate: undefined });
  });

  it('only the vote that resolves the approval is validated, as the output it makes', () => {
    const d = new Driver(
      plan([signOff({ outputSchema: 'Verdict', completionChecks: [{ kind: 'required', path: 'votes' }] })], [], { schemas: { Verdict: { type: 'object', required: ['approved', 'votes'] } } }),
    );
    const pending = checkHumanResponse(d.state, { nodeId: 'sign-off', respondedBy: 'alice', response: { approved: true } }, undefined, at(1000));
    assert.ok(!pending.refused && !pending.duplicate);
    assert.equal(pending.validation, undefined, 'a vote that leaves it pending makes no output: nothing to validate');
    d.take(ok(vote(d, 'alice', { approved: true }, at(1000))));
    const deciding = checkHumanResponse(d.state, { nodeId: 'sign-off', respondedBy: 'bob', response: { approved: true } }, undefined, at(2000));
    assert.ok(!deciding.refused && !deciding.duplicate && deciding.validation);
    assert.equal(deciding.validation.schemaRef, 'Verdict');
    assert.deepEqual(deciding.validation.value, {
      approved: true,
      status: 'approved',
      votes: [
        { by: 'alice', approved: true, at: at(1000) },
        { by: 'bob', approved: true, at: at(2000) },
      ],
      requiredEdits: [],
    });
    assert.deepEqual(deciding.validation.context.output, deciding.validation.value);
  });

  it('a deciding vote whose output has blocking issues blocks the node; a retry opens a new approval with fresh votes', () => {
    const d = new Driver(plan([signOff({ outputSchema: 'Verdict' })], [], { schemas: { Verdict: { type: 'object' } } }));
    d.take(ok(vote(d, 'alice', { approved: true })));
    const t = d.take(ok(applyHumanResponse(d.state, { nodeId: 'sign-off', respondedBy: 'bob', response: { approved: true } }, [blocking('no')], d.now())));
    assert.equal(t.outcome.verdict, 'rejected');
    assert.equal(d.state.approvals[0].status, 'invalid');
    assert.equal(d.status('sign-off'), 'blocked');
    d.take(ok(retryNode(d.state, { nodeId: 'sign-off', by: 'ops' }, d.now())));
    const reopened = d.state.approvals.find((a) => a.status === 'pending');
    assert.equal(reopened?.approvalId, 'sign-off#2');
    assert.deepEqual(reopened?.votes, []);
    const again = d.take(ok(applyHumanResponse(d.state, { nodeId: 'sign-off', respondedBy: 'alice', response: { approved: true } }, [], d.now())));
    assert.equal(again.outcome.approvalStatus, 'pending', 'alice votes again on the new approval');
  });

  it('cancel closes a pending quorum approval and keeps its votes', () => {
    const d = new Driver(routed());
    d.take(ok(vote(d, 'alice', { approved: true })));
    d.take(ok(cancelRun(d.state, { by: 'ops' }, d.now())));
    assert.equal(d.state.approvals[0].status, 'cancelled');
    assert.deepEqual(d.state.approvals[0].votes?.map((v) => v.by), ['alice']);
  });

  it('a replan closes a pending quorum approval as cancelled with its votes; the node asks again with no votes', () => {
    const d = new Driver(routed());
    d.take(ok(vote(d, 'alice', { approved: true })));
    const changed = routed(signOff({ objective: 'Sign off the launch' }));
    d.take(ok(replanRun(d.state, { spec: changed, by: 'ops' }, d.now())));
    const closed = d.state.approvals.find((a) => a.approvalId === 'sign-off#1');
    assert.equal(closed?.status, 'cancelled');
    assert.deepEqual(closed?.votes?.map((v) => v.by), ['alice']);
    const reopened = d.state.approvals.find((a) => a.status === 'pending');
    assert.equal(reopened?.approvalId, 'sign-off#2');
    assert.deepEqual(reopened?.votes, []);
  });

  it('the deadline applies to the whole approval: votes do not move it, and expiry closes it with its votes', () => {
    const d = new Driver(routed(signOff({ deadline: { afterMs: 60_000, onExpiry: 'fail' } })));
    const deadline = () => pendingTimers(d.state).find((timer) => timer.kind === 'deadline')?.at;
    const due = deadline();
    assert.equal(due, at(60_000));
    d.take(ok(vote(d, 'alice', { approved: true }, at(30_000))));
    assert.equal(deadline(), due, 'a vote does not restart the clock');
    d.take(fireDueTimers(d.state, at(60_000)));
    assert.equal(d.state.approvals[0].status, 'expired');
    assert.deepEqual(d.state.approvals[0].votes?.map((v) => v.by), ['alice']);
    assert.equal(d.status('sign-off'), 'failed');
    refused(vote(d, 'bob', { approved: true }), 'no-pending-approval');
  });

  it('plans without quorum: one answer resolves, and the approval carries no quorum or votes', () => {
    const d = new Driver(routed(human('sign-off', 'human-approval', { approvers: APPROVERS })));
    assert.equal('quorum' in d.state.approvals[0], false);
    assert.equal('votes' in d.state.approvals[0], false);
    const t = d.take(ok(vote(d, 'alice', { approved: true })));
    assert.deepEqual(trace(t).slice(0, 2), ['approval-resolved:sign-off', 'node-completed:sign-off']);
    assert.deepEqual(nodeOf(d.state, 'sign-off').output, { approved: true });
    assert.equal(t.outcome.quorum, undefined);
    assert.equal('quorum' in (snapshotOf(d.state).approvals[0] ?? {}), false);
  });

  it('each fan-out instance has its own quorum and votes', () => {
    const d = new Driver(plan([signOff({ forEach: { items: 'input.posts' } })]), { posts: ['a', 'b'] }, undefined);
    assert.deepEqual(d.state.approvals.map((a) => a.approvalId), ['sign-off[0]#1']);
    const first = ok(applyHumanResponse(d.state, { nodeId: 'sign-off[0]', respondedBy: 'alice', response: { approved: true } }, [], d.now()));
    d.take(first);
    assert.equal(first.outcome.approvalStatus, 'pending');
    d.take(ok(applyHumanResponse(d.state, { nodeId: 'sign-off[0]', respondedBy: 'bob', response: { approved: true } }, [], d.now())));
    const second = d.state.approvals.find((a) => a.approvalId === 'sign-off[1]#1');
    assert.deepEqual(second?.votes, [], 'the next instance starts with no votes');
  });
});

describe('engine quorum: the pending approval shows its votes', () => {
  it('snapshot, current details, waiting-on and the store record show the votes so far', () => {
    const d = new Driver(routed());
    const before = d.state;
    const t = d.take(ok(vote(d, 'alice', { approved: true }, at(1000))));
    const snapshot = snapshotOf(d.state);
    assert.deepEqual(snapshot.approvals[0].quorum, { required: 2, veto: ['carol'] });
    assert.deepEqual(snapshot.approvals[0].votes, [{ by: 'alice', approved: true, at: at(1000) }]);
    assert.match(currentDetails(d.state), /`sign-off` awaiting-human: votes alice ✔ \(1 of 2 approvals; waiting for bob, carol, dave\)/);
    assert.deepEqual(waitingOn(d.state), ['human:bob', 'human:carol', 'human:dave', 'human:people-sign-off'], 'alice has voted: she is not waited on');
    const record = recordOf(before, t);
    assert.equal(record?.approvals.length, 1);
    assert.deepEqual(record?.approvals[0].votes, [{ by: 'alice', approved: true, at: at(1000) }]);
    assert.equal(record?.attempts.length, 0);
    assert.deepEqual(record?.events.map((e) => e.type), ['approval-vote-recorded', 'checkpoint-saved']);
  });

  it('the hand-over to a new execution keeps the votes', () => {
    const d = new Driver(routed());
    d.take(ok(vote(d, 'alice', { approved: true })));
    const handed = compactForHandOver(d.state);
    assert.deepEqual(handed.approvals[0].votes?.map((v) => v.by), ['alice']);
    refused(applyHumanResponse(handed, { nodeId: 'sign-off', respondedBy: 'alice', response: { approved: true } }, [], d.now()), 'already-voted');
    const next = ok(applyHumanResponse(handed, { nodeId: 'sign-off', respondedBy: 'bob', response: { approved: true } }, [], d.now()));
    assert.equal(next.outcome.approvalStatus, 'approved');
  });
});

describe('engine quorum: decideQuorum', () => {
  const v = (by: string, approved: boolean, requiredEdits?: string[]): QuorumVote => ({ by, approved, ...(requiredEdits ? { requiredEdits } : {}), at: at(0) });

  it('is pending while neither required, a veto nor out of reach', () => {
    assert.deepEqual(decideQuorum(APPROVERS, { required: 2 }, []), { resolved: false, approvals: 0, required: 2, waitingFor: APPROVERS });
    assert.equal(decideQuorum(APPROVERS, { required: 2 }, [v('alice', true), v('bob', false)]).resolved, false);
  });

  it('approved at required; vetoed; out of reach; changes-requested with edits', () => {
    assert.deepEqual(decideQuorum(APPROVERS, { required: 2 }, [v('alice', true), v('bob', true)]), {
      resolved: true,
      status: 'approved',
      why: 'required',
      approvals: 2,
      required: 2,
      waitingFor: ['carol', 'dave'],
    });
    const vetoed = decideQuorum(APPROVERS, { required: 2, veto: ['carol'] }, [v('carol', false)]);
    assert.ok(vetoed.resolved && vetoed.why === 'veto' && vetoed.vetoBy === 'carol' && vetoed.status === 'rejected');
    const reach = decideQuorum(APPROVERS, { required: 2 }, [v('alice', false), v('bob', false), v('carol', false, ['x'])]);
    assert.ok(reach.resolved && reach.why === 'out-of-reach' && reach.status === 'changes-requested');
  });
});
