/**
 * docs/semantics.md §8: human responses: targeting, refusals, shapes per node type, approval statuses, routing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyHumanResponse, cancelRun, checkHumanResponse } from '../../src/engine';
import { at, blocking, Driver, edge, eventsOf, human, nodeOf, ok, plan, refused, task, trace, warning, exactCopy } from './engine-helpers';

const respond = (d: Driver, payload: Record<string, unknown>, issues = [] as Parameters<typeof applyHumanResponse>[2]) =>
  applyHumanResponse(d.state, payload, issues, at(1));

describe('engine human: approval requests (§6, §8)', () => {
  it('a ready human node becomes awaiting-human with approval <node>#1 showing brief, input and options', () => {
    const d = new Driver(
      plan([task('a'), human('pick', 'human-decision', { options: ['x', 'y'], objective: 'Pick one', approvers: ['alice'] })], [edge('a', 'pick', { map: { v: 'output.v' } })]),
    );
    const t = d.submit('a', { v: 1 });
    assert.equal(d.status('pick'), 'awaiting-human');
    assert.equal(d.state.status, 'awaiting-human');
    const requested = eventsOf(t.events, 'approval-requested', 'pick')[0];
    assert.equal(requested.approvalId, 'pick#1');
    assert.equal(requested.attempt, 1);
    assert.deepEqual(requested.detail?.brief, { objective: 'Pick one' });
    assert.deepEqual(requested.detail?.resolvedInput, { v: 1 });
    assert.deepEqual(requested.detail?.options, ['x', 'y']);
    assert.deepEqual(requested.detail?.approvers, ['alice']);
    assert.deepEqual(requested.detail?.owner, { kind: 'human', ref: 'people-pick' });
    assert.equal(t.workItems.length, 0, 'people are not agents: no work item');
    assert.equal(d.state.approvals.length, 1);
    assert.deepEqual(
      { id: d.state.approvals[0].approvalId, status: d.state.approvals[0].status, kind: d.state.approvals[0].kind, approvers: d.state.approvals[0].approvers },
      { id: 'pick#1', status: 'pending', kind: 'node', approvers: ['alice'] },
    );
  });
});

describe('engine human: approval statuses and routing (§8)', () => {
  const spec = plan(
    [human('approve', 'human-approval', { approvers: ['alice', 'bob'] }), task('publish'), task('archive')],
    [edge('approve', 'publish', { when: 'output.approved == true' }), edge('approve', 'archive', { when: 'output.approved == false', map: { why: 'output.comments' } })],
  );

  it('approved (approved, no edits): completed, publish runs, archive skipped', () => {
    const d = new Driver(spec);
    const t = d.respond('approve', { approved: true, requiredEdits: [] }, 'alice');
    assert.equal(t.outcome.approvalStatus, 'approved');
    assert.equal(d.state.approvals[0].status, 'approved');
    assert.equal(d.state.approvals[0].respondedBy, 'alice');
    assert.equal(d.status('approve'), 'completed');
    assert.deepEqual(nodeOf(d.state, 'approve').output, { approved: true, requiredEdits: [] });
    assert.equal(d.status('publish'), 'running');
    assert.equal(d.status('archive'), 'skipped');
    const resolved = eventsOf(t.events, 'approval-resolved', 'approve')[0];
    assert.equal(resolved.approvalId, 'approve#1');
    assert.equal(resolved.detail?.status, 'approved');
    assert.equal(resolved.by, 'alice');
    assert.equal(t.checkpoint?.reason, 'human-response-complete');
    assert.deepEqual(trace(t).slice(0, 2), ['approval-resolved:approve', 'node-completed:approve']);
  });

  it('rejected is a completed node and routes via when: output.approved == false', () => {
    const d = new Driver(spec);
    const t = d.respond('approve', { approved: false, comments: 'off-topic' }, 'bob');
    assert.equal(t.outcome.approvalStatus, 'rejected');
    assert.equal(d.status('approve'), 'completed');
    assert.equal(d.status('publish'), 'skipped');
    assert.equal(d.status('archive'), 'running');
    assert.deepEqual(nodeOf(d.state, 'archive').resolvedInput, { why: 'off-topic' });
  });

  it('changes-requested when edits are listed (even with approved: true)', () => {
    for (const approved of [true, false]) {
      const d = new Driver(spec);
      const t = d.respond('approve', { approved, requiredEdits: ['fix the title'] }, 'alice');
      assert.equal(t.outcome.approvalStatus, 'changes-requested');
      assert.equal(d.status('approve'), 'completed');
    }
  });

  it('refuses a responder who is not among the approvers (not-authorized), changing nothing', () => {
    const d = new Driver(spec);
    const before = exactCopy(d.state);
    refused(respond(d, { nodeId: 'approve', respondedBy: 'mallory', response: { approved: true } }), 'not-authorized');
    assert.deepEqual(d.state, before);
  });

  it('refuses an approval response without its shape (invalid-response)', () => {
    const d = new Driver(spec);
    refused(respond(d, { nodeId: 'approve', respondedBy: 'alice', response: { approved: 'yes' } }), 'invalid-response');
    refused(respond(d, { nodeId: 'approve', respondedBy: 'alice', response: { ok: true } }), 'invalid-response');
    refused(respond(d, { nodeId: 'approve', respondedBy: 'alice', response: { approved: true, requiredEdits: 'all' } }), 'invalid-response');
  });

  it('refuses a malformed payload (no respondedBy, non-object response)', () => {
    const d = new Driver(spec);
    refused(respond(d, { nodeId: 'approve', response: { approved: true } }), 'invalid-payload');
    refused(respond(d, { nodeId: 'approve', respondedBy: 'alice', response: 'yes' }), 'invalid-payload');
  });
});

describe('engine human: other node types (§8)', () => {
  it('human-decision: decision must be one of the options, else invalid-response', () => {
    const d = new Driver(plan([human('pick', 'human-decision', { options: ['blog', 'newsletter'] }), task('b')], [edge('pick', 'b', { when: 'output.decision == "blog"' })]));
    refused(respond(d, { nodeId: 'pick', respondedBy: 'x', response: { decision: 'tweet' } }), 'invalid-response');
    refused(respond(d, { nodeId: 'pick', respondedBy: 'x', response: { choice: 'blog' } }), 'invalid-response');
    refused(respond(d, { nodeId: 'pick', respondedBy: 'x', response: { decision: 1 } }), 'invalid-response');
    const t = d.respond('pick', { decision: 'blog', comments: 'obviously' }, 'x');
    assert.equal(t.outcome.approvalStatus, 'responded');
    assert.equal(d.status('pick'), 'completed');
    assert.deepEqual(nodeOf(d.state, 'pick').output, { decision: 'blog', comments: 'obviously' });
    assert.equal(d.status('b'), 'running');
  });

  it('human-review-edit needs an `edited` object', () => {
    const d = new Driver(plan([human('edit', 'human-review-edit'), task('b')], [edge('edit', 'b', { map: { text: 'output.edited.text' } })]));
    refused(respond(d, { nodeId: 'edit', respondedBy: 'x', response: { approved: true } }), 'invalid-response');
    refused(respond(d, { nodeId: 'edit', respondedBy: 'x', response: { edited: 'text' } }), 'invalid-response');
    refused(respond(d, { nodeId: 'edit', respondedBy: 'x', response: { edited: ['a'] } }), 'invalid-response');
    d.respond('edit', { edited: { text: 'better' }, approved: true }, 'x');
    assert.equal(d.status('edit'), 'completed');
    assert.deepEqual(nodeOf(d.state, 'b').resolvedInput, { text: 'better' });
  });

  it('human-input takes any object', () => {
    const d = new Driver(plan([human('ask', 'human-input'), task('b')], [edge('ask', 'b', { map: { topic: 'output.topic' } })]));
    d.respond('ask', { topic: 'durable agents', anything: [1, 2] }, 'x');
    assert.equal(d.status('ask'), 'completed');
    assert.deepEqual(nodeOf(d.state, 'b').resolvedInput, { topic: 'durable agents' });
    const e = new Driver(plan([human('ask', 'human-input')]));
    e.respond('ask', {}, 'x');
    assert.equal(e.state.status, 'completed');
  });

  it('no approvers (absent or empty) means anyone may answer', () => {
    for (const approvers of [undefined, []]) {
      const d = new Driver(plan([human('ok', 'human-approval', approvers ? { approvers } : {})]));
      d.respond('ok', { approved: true }, 'random-person');
      assert.equal(d.state.status, 'completed');
    }
  });
});

describe('engine human: blocking issues (§8)', () => {
  it('a response with blocking issues: node blocked, run blocked, approval-resolved carries the issues', () => {
    const d = new Driver(plan([human('ask', 'human-input', { outputSchema: 'Topic' }), task('b')], [edge('ask', 'b')], { schemas: { Topic: { type: 'object', required: ['topic'] } } }));
    const issue = blocking('must have required property topic', '');
    const t = d.respond('ask', { nope: 1 }, 'x', [issue]);
    assert.equal(d.status('ask'), 'blocked');
    assert.equal(d.state.status, 'blocked');
    assert.equal(d.status('b'), 'pending');
    assert.equal(t.checkpoint?.reason, 'human-response-blocked');
    const resolved = eventsOf(t.events, 'approval-resolved', 'ask')[0];
    assert.deepEqual(resolved.detail?.issues, [issue]);
    assert.equal(resolved.detail?.status, 'invalid');
    assert.equal(eventsOf(t.events, 'node-blocked', 'ask').length, 1);
    assert.equal(t.outcome.nodeStatus, 'blocked');
    assert.equal(nodeOf(d.state, 'ask').output, undefined, 'an invalid answer is not the output');
    // The approval is closed: nothing is pending any more.
    refused(respond(d, { nodeId: 'ask', respondedBy: 'x', response: { topic: 't' } }), 'no-pending-approval');
  });

  it('warnings alone complete the node and are reported on approval-resolved', () => {
    const d = new Driver(plan([human('ask', 'human-input')]));
    const t = d.respond('ask', { t: 1 }, 'x', [warning()]);
    assert.equal(d.status('ask'), 'completed');
    assert.deepEqual(eventsOf(t.events, 'approval-resolved')[0].detail?.issues, [warning()]);
  });

  it('checkHumanResponse asks for outputSchema and completion checks on the response', () => {
    const d = new Driver(plan([human('ask', 'human-input', { outputSchema: 'Topic', completionChecks: [{ kind: 'required', path: 'topic' }] })], [], { schemas: { Topic: { type: 'object' } } }));
    const check = checkHumanResponse(d.state, { nodeId: 'ask', respondedBy: 'x', response: { topic: 't' } });
    assert.ok(!check.refused && !check.duplicate && check.validation);
    assert.equal(check.validation.schemaRef, 'Topic');
    assert.deepEqual(check.validation.value, { topic: 't' });
    assert.deepEqual(check.validation.checks, [{ kind: 'required', path: 'topic' }]);
    assert.deepEqual(check.validation.context.output, { topic: 't' });
    assert.equal(check.approval.approvalId, 'ask#1');
  });
});

describe('engine human: targeting and refusals (§8)', () => {
  const two = plan([human('h1', 'human-input'), human('h2', 'human-input'), task('t')], [], { maxConcurrency: 3 });

  it('without a node or approval id, the only pending approval is the target', () => {
    const d = new Driver(plan([human('h1', 'human-input')]));
    d.respond(undefined, { v: 1 }, 'x');
    assert.equal(d.status('h1'), 'completed');
  });

  it('two pending approvals and no node named: ambiguous-approval', () => {
    const d = new Driver(two);
    assert.equal(d.status('h1'), 'awaiting-human');
    assert.equal(d.status('h2'), 'awaiting-human');
    refused(respond(d, { respondedBy: 'x', response: {} }), 'ambiguous-approval');
    d.respond('h2', { v: 2 }, 'x');
    assert.equal(d.status('h2'), 'completed');
    assert.equal(d.status('h1'), 'awaiting-human');
  });

  it('an approvalId targets its approval; a non-pending one is approval-mismatch', () => {
    const d = new Driver(two);
    refused(respond(d, { approvalId: 'h1#2', respondedBy: 'x', response: {} }), 'approval-mismatch');
    refused(respond(d, { approvalId: 'h1#1', nodeId: 'h2', respondedBy: 'x', response: {} }), 'approval-mismatch');
    const t = ok(respond(d, { approvalId: 'h1#1', respondedBy: 'x', response: {} }));
    assert.equal(t.outcome.nodeId, 'h1');
    assert.equal(t.outcome.approvalId, 'h1#1');
  });

  it('a stale approval id (already answered) is refused', () => {
    const d2 = new Driver(two);
    d2.respond('h1', {}, 'x');
    refused(respond(d2, { approvalId: 'h1#1', respondedBy: 'x', response: {} }), 'approval-mismatch');
  });

  it('unknown node, task node and nothing pending are refused', () => {
    const d = new Driver(two);
    refused(respond(d, { nodeId: 'ghost', respondedBy: 'x', response: {} }), 'unknown-node');
    refused(respond(d, { nodeId: 't', respondedBy: 'x', response: {} }), 'no-pending-approval');
    const e = new Driver(plan([task('a')]));
    refused(applyHumanResponse(e.state, { respondedBy: 'x', response: {} }, [], at(1)), 'no-pending-approval');
  });

  it('a human node that is not awaiting yet has no pending approval', () => {
    const d = new Driver(plan([task('a'), human('h', 'human-input')], [{ from: 'a', to: 'h' }]));
    refused(respond(d, { nodeId: 'h', respondedBy: 'x', response: {} }), 'no-pending-approval');
  });

  it('responses after the run finished are refused (run-finished)', () => {
    const d = new Driver(two);
    d.take(ok(cancelRun(d.state, { by: 'ops' }, at(1))));
    refused(respond(d, { nodeId: 'h1', respondedBy: 'x', response: {} }), 'run-finished');
  });

  it('a duplicate submissionId returns the first outcome and changes nothing', () => {
    const d = new Driver(two);
    const first = ok(respond(d, { nodeId: 'h1', respondedBy: 'x', submissionId: 'r-1', response: { v: 1 } }));
    d.take(first);
    const before = exactCopy(d.state);
    const again = ok(respond(d, { nodeId: 'h2', respondedBy: 'y', submissionId: 'r-1', response: { v: 2 } }));
    assert.deepEqual(again.outcome, { ...first.outcome, duplicate: true });
    assert.equal(again.events.length, 0);
    assert.equal(again.checkpoint, undefined);
    assert.deepEqual(again.state, before);
    assert.equal(d.status('h2'), 'awaiting-human');
  });

  it('the human attempt is recorded in the node history', () => {
    const d = new Driver(plan([human('h', 'human-approval')]));
    d.respond('h', { approved: true, comments: 'fine' }, 'alice');
    const h = nodeOf(d.state, 'h');
    assert.equal(h.attempts, 1);
    assert.deepEqual(
      { attempt: h.history[0].attempt, kind: h.history[0].kind, by: h.history[0].by, status: h.history[0].status, output: h.history[0].output },
      { attempt: 1, kind: 'human', by: 'alice', status: 'completed', output: { approved: true, comments: 'fine' } },
    );
  });
});
