/**
 * docs/semantics.md §11: cancel, resume and retry (replan has its own file), and refused operation signals.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyAgentSubmission, applyHumanResponse, applyInputChecks, cancelRun, pendingInputChecks, pendingTimers, recordOf, rejectOperation, resumeRun, retryNode } from '../../src/engine';
import { at, blocking, chain, Driver, edge, eventsOf, human, nodeOf, ok, plan, refused, statuses, task, trace, types } from './engine-helpers';

describe('engine operations: cancel (§11)', () => {
  it('aborts the run, stops active nodes, closes pending approvals; further submissions are refused', () => {
    const d = new Driver(plan([task('a'), human('h', 'human-input'), task('b'), task('c')], [edge('a', 'c')], { maxConcurrency: 2 }));
    assert.deepEqual(statuses(d.state), { a: 'running', h: 'awaiting-human', b: 'ready', c: 'pending' });
    const t = d.take(ok(cancelRun(d.state, { by: 'ops', reason: 'wrong topic' }, at(5000))));
    assert.equal(d.state.status, 'aborted');
    assert.deepEqual(statuses(d.state), { a: 'cancelled', h: 'cancelled', b: 'cancelled', c: 'pending' });
    assert.equal(d.state.approvals[0].status, 'cancelled');
    assert.deepEqual(d.state.cancelled, { by: 'ops', reason: 'wrong topic', at: at(5000) });
    assert.equal(d.state.finishedAt, at(5000));
    assert.deepEqual(trace(t), ['approval-resolved:h', 'run-status-changed', 'checkpoint-saved']);
    const changed = eventsOf(t.events, 'run-status-changed')[0];
    assert.equal(changed.toStatus, 'aborted');
    assert.equal(changed.by, 'ops');
    assert.deepEqual(changed.detail, { by: 'ops', reason: 'wrong topic', stoppedNodeIds: ['a', 'h', 'b'] });
    assert.equal(t.checkpoint?.reason, 'run-cancelled');
    assert.equal(t.checkpoint?.runStatus, 'aborted');
    assert.equal(t.workItems.length, 0);

    refused(applyAgentSubmission(d.state, { nodeId: 'a', structuredOutput: {} }, [], at(6000)), 'run-finished');
    refused(applyHumanResponse(d.state, { nodeId: 'h', respondedBy: 'x', response: {} }, [], at(6000)), 'run-finished');
    refused(cancelRun(d.state, { by: 'ops' }, at(6000)), 'run-finished');
    refused(resumeRun(d.state, { by: 'ops' }, at(6000)), 'run-finished');
    refused(retryNode(d.state, { nodeId: 'a', by: 'ops' }, at(6000)), 'run-finished');
  });

  it('cancels scheduled nodes (their timers disappear) and pending input checks', () => {
    const d = new Driver(plan([task('a', { delayAfterPredecessorMs: 60_000 }), task('b', { inputSchema: 'S' })], [], { schemas: { S: {} }, maxConcurrency: 2 }));
    assert.equal(pendingTimers(d.state).length, 1);
    assert.equal(pendingInputChecks(d.state).length, 1);
    d.take(ok(cancelRun(d.state, { by: 'ops' }, at(1))));
    assert.deepEqual(pendingTimers(d.state), []);
    assert.deepEqual(pendingInputChecks(d.state), []);
    assert.deepEqual(statuses(d.state), { a: 'cancelled', b: 'cancelled' });
  });

  it('a failed run can be cancelled; a completed one cannot', () => {
    const d = new Driver(plan([task('a')]));
    d.fail('a', 'agent-error');
    ok(cancelRun(d.state, { by: 'ops' }, at(1)));
    const e = new Driver(plan([task('a')]));
    e.submit('a', {});
    refused(cancelRun(e.state, { by: 'ops' }, at(1)), 'run-finished');
  });
});

describe('engine operations: resume (§11)', () => {
  it('re-emits work items for running nodes with run-resumed events', () => {
    const d = new Driver(plan([task('a'), task('b'), human('h', 'human-input')], [], { maxConcurrency: 3 }));
    d.submit('a', { v: 1 }, [blocking('x')], {});
    const t = d.take(ok(resumeRun(d.state, { by: 'ops' }, at(9000))));
    assert.deepEqual(trace(t), ['run-resumed:b', 'checkpoint-saved']);
    assert.equal(t.events[0].by, 'ops');
    assert.deepEqual(t.workItems.map((item) => [item.nodeId, item.attempt, item.reason]), [['b', 1, 'resumed']]);
    assert.equal(t.checkpoint?.reason, 'run-resumed');
    assert.deepEqual(statuses(d.state), { a: 'failed', b: 'running', h: 'awaiting-human' });
  });

  it('with nothing running it still records run-resumed and re-evaluates the graph', () => {
    const d = new Driver(plan([human('h', 'human-input')]));
    const t = ok(resumeRun(d.state, { by: 'ops' }, at(1)));
    assert.deepEqual(types(t), ['run-resumed', 'checkpoint-saved']);
    assert.equal(t.workItems.length, 0);
  });

  it('is refused when the run is finished', () => {
    const d = new Driver(plan([task('a')]));
    d.submit('a', {});
    refused(resumeRun(d.state, { by: 'ops' }, at(1)), 'run-finished');
  });
});

describe('engine operations: retry (§11)', () => {
  it('a failed node becomes ready again and runs; attempt numbers continue; the run leaves failed', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 2 } }), task('b')], chain('a', 'b')), { topic: 't' });
    d.submit('a', {}, [blocking()]);
    d.submit('a', {}, [blocking()]);
    assert.equal(d.status('a'), 'failed');
    assert.equal(d.state.status, 'failed');
    const t = d.take(ok(retryNode(d.state, { nodeId: 'a', by: 'ops' }, at(9000))));
    assert.deepEqual(trace(t).slice(0, 3), ['node-unblocked:a', 'node-running:a', 'ownership-transition:a']);
    const unblocked = t.events[0];
    assert.deepEqual([unblocked.fromStatus, unblocked.toStatus, unblocked.by], ['failed', 'ready', 'ops']);
    assert.equal(t.checkpoint?.reason, 'node-retried');
    assert.equal(d.state.status, 'running');
    assert.equal(eventsOf(t.events, 'run-status-changed')[0].toStatus, 'running');
    assert.equal(nodeOf(d.state, 'a').currentAttempt, 3);
    assert.equal(t.workItems[0].attempt, 3);
    assert.deepEqual(t.workItems[0].resolvedInput, { topic: 't' }, 'no override: the resolved input stays');
    assert.equal(t.workItems[0].previousIssues.length, 1, 'the agent still sees what went wrong');
    assert.equal(nodeOf(d.state, 'a').failureClass, undefined);
    refused(applyAgentSubmission(d.state, { nodeId: 'a', attempt: 2, structuredOutput: {} }, [], at(9001)), 'stale-attempt');
    d.submit('a', { ok: true });
    assert.equal(d.status('b'), 'running');
  });

  it('an input override replaces the resolved input', () => {
    const d = new Driver(plan([task('a', { onFailure: [{ on: 'agent-error', action: 'replan' }] })]), { topic: 'old' });
    d.fail('a', 'agent-error');
    assert.equal(d.state.status, 'blocked');
    const t = d.take(ok(retryNode(d.state, { nodeId: 'a', by: 'ops', input: { topic: 'new' } }, at(1))));
    assert.deepEqual(nodeOf(d.state, 'a').resolvedInput, { topic: 'new' });
    assert.deepEqual(t.workItems[0].resolvedInput, { topic: 'new' });
    assert.equal(t.events[0].detail?.inputReplaced, true);
    assert.equal(d.state.status, 'running');
    assert.deepEqual(d.state.input, { topic: 'old' }, 'the run input itself is unchanged');
  });

  it('an input override on a node with an inputSchema goes through the input check again', () => {
    const d = new Driver(plan([task('a', { inputSchema: 'S', onFailure: [{ on: 'input', action: 'replan' }] })], [], { schemas: { S: {} } }));
    d.take(applyInputChecks(d.state, [{ nodeId: 'a', issues: [blocking('bad input', '', 'input-schema')] }], at(1)));
    assert.equal(d.status('a'), 'blocked');
    d.take(ok(retryNode(d.state, { nodeId: 'a', by: 'ops', input: { fixed: true } }, at(2))));
    assert.equal(d.status('a'), 'pending');
    assert.deepEqual(pendingInputChecks(d.state).map((check) => check.request.value), [{ fixed: true }]);
    d.take(applyInputChecks(d.state, [{ nodeId: 'a', issues: [] }], at(3)));
    assert.equal(d.status('a'), 'running');
  });

  it('a blocked human node asks its people again with a new approval id', () => {
    const d = new Driver(plan([human('h', 'human-input')]));
    d.respond('h', { x: 1 }, 'x', [blocking()]);
    assert.equal(d.status('h'), 'blocked');
    const t = d.take(ok(retryNode(d.state, { nodeId: 'h', by: 'ops' }, at(1))));
    assert.equal(eventsOf(t.events, 'approval-requested')[0].approvalId, 'h#2');
    assert.equal(d.state.status, 'awaiting-human');
    d.respond('h', { x: 2 }, 'x');
    assert.equal(d.state.status, 'completed');
  });

  it('a node blocked after a human review goes back to its agent', () => {
    const d = new Driver(plan([task('a', { onFailure: [{ on: 'validation', action: 'human-review' }] })]));
    d.submit('a', {}, [blocking()]);
    d.respond('a', {}, 'reviewer', [blocking()]);
    assert.equal(d.status('a'), 'blocked');
    const t = d.take(ok(retryNode(d.state, { nodeId: 'a', by: 'ops' }, at(1))));
    assert.equal(d.status('a'), 'running');
    assert.equal(t.workItems[0].attempt, 3);
  });

  it('refuses to retry a completed, running or unknown node', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    refused(retryNode(d.state, { nodeId: 'a', by: 'ops' }, at(1)), 'not-retryable');
    d.submit('a', {});
    refused(retryNode(d.state, { nodeId: 'a', by: 'ops' }, at(1)), 'not-retryable');
    refused(retryNode(d.state, { nodeId: 'ghost', by: 'ops' }, at(1)), 'unknown-node');
    refused(retryNode(d.state, { by: 'ops' }, at(1)), 'invalid-payload');
  });
});

describe('engine operations: a refused operation signal (README, "Design choices")', () => {
  it('is recorded as operation-rejected with the reason, and changes nothing else (no checkpoint)', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    const refusal = refused(retryNode(d.state, { nodeId: 'a', by: 'ops' }, at(1)), 'not-retryable');
    const before = d.state;
    const t = rejectOperation(before, 'retry', { nodeId: 'a', by: 'ops' }, refusal, at(2));
    assert.deepEqual(types(t), ['operation-rejected']);
    const [event] = t.events;
    assert.equal(event.seq, before.seq + 1);
    assert.equal(event.by, 'ops');
    assert.equal(event.nodeId, 'a');
    assert.deepEqual(event.detail, { operation: 'retry', reason: 'not-retryable', requestedNodeId: 'a' });
    assert.match(event.message, /^Rejected retry: /);
    assert.equal(t.checkpoint, undefined);
    assert.deepEqual(statuses(t.state), statuses(before));
    assert.equal(t.state.checkpointSequence, before.checkpointSequence);
    // The store gets the event and the run's new last seq, and no node row.
    const record = recordOf(before, t);
    assert.deepEqual(record?.nodes, []);
    assert.equal(record?.run.lastSeq, event.seq);
  });

  it('names no node that does not exist, and tolerates a payload without a by', () => {
    const d = new Driver(plan([task('a')]));
    const refusal = refused(retryNode(d.state, { nodeId: 'ghost', by: 'ops' }, at(1)), 'unknown-node');
    const [event] = rejectOperation(d.state, 'retry', { nodeId: 'ghost' }, refusal, at(2)).events;
    assert.equal(event.nodeId, undefined);
    assert.equal(event.by, 'unknown');
    assert.equal(event.detail?.requestedNodeId, 'ghost');
  });
});
