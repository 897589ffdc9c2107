/**
 * docs/semantics.md §7/§10/§12 on the engine side of persistence and delivery: what one transition records,
 * which events wake which agent, what a failed wake-up does, and the sink-disabled event.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createRunState,
  dispatchFailed,
  recordOf,
  resumeRun,
  retryNode,
  sinkDisabled,
  startRun,
  wakeUpsFor,
  type RunState,
} from '../../src/engine';
import { at, blocking, chain, Driver, edge, human, nodeOf, ok, plan, RUN_ID, statuses, T0, task, trace, warning } from './engine-helpers';

describe('transition records (what the store writes)', () => {
  it('the first record carries the spec, every node, the events and the checkpoint', () => {
    const spec = plan([task('a'), task('b')], chain('a', 'b'));
    const before = createRunState({ runId: RUN_ID, spec, input: { topic: 'x' }, now: T0 });
    const started = startRun(before, T0);
    const record = recordOf(undefined, started, { includeSpec: true });
    assert.ok(record);
    assert.deepEqual(record.run.spec, spec);
    assert.equal(record.run.lastSeq, started.state.seq);
    assert.equal(record.run.status, 'running');
    assert.deepEqual(record.run.input, { topic: 'x' });
    assert.deepEqual(
      record.nodes.map((n) => [n.nodeId, n.position, n.status]),
      [
        ['a', 0, 'running'],
        ['b', 1, 'pending'],
      ],
    );
    assert.deepEqual(record.events, started.events);
    assert.equal(record.checkpoint?.reason, 'run-started');
    assert.deepEqual(record.attempts, []);
  });

  it('later records carry only changed node runs, new attempts and changed approvals, and no spec', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 2 } }), task('b'), human('h')], chain('a', 'b', 'h')));
    const before = d.state;
    const t = d.submit('a', { x: 1 }, [blocking('no summary', '/summary')]);
    const record = recordOf(before, t);
    assert.ok(record);
    assert.equal(record.run.spec, undefined);
    assert.deepEqual(record.nodes.map((n) => n.nodeId), ['a'], 'b and h did not change');
    assert.equal(record.nodes[0].status, 'running');
    assert.equal(record.nodes[0].attempts, 1);
    assert.deepEqual(record.nodes[0].lastIssues, [blocking('no summary', '/summary')]);
    assert.deepEqual(
      record.attempts.map((a) => [a.nodeId, a.attempt, a.status, a.failureClass, a.issues.length]),
      [['a', 1, 'failed', 'validation', 1]],
    );
    assert.deepEqual(record.approvals, []);

    const before2 = d.state;
    const t2 = d.submit('a', { summary: 's' }, [warning('short', '/summary')]);
    const record2 = recordOf(before2, t2);
    assert.ok(record2);
    assert.deepEqual(record2.attempts.map((a) => [a.attempt, a.status]), [[2, 'partial']], 'attempt 1 is not sent again');
    assert.deepEqual(record2.nodes.map((n) => [n.nodeId, n.status]), [
      ['a', 'partial'],
      ['b', 'running'],
    ]);

    const before3 = d.state;
    const t3 = d.submit('b', { ok: true });
    const record3 = recordOf(before3, t3);
    assert.deepEqual(record3?.approvals.map((a) => [a.approvalId, a.status]), [['h#1', 'pending']]);
    const before4 = d.state;
    const record4 = recordOf(before4, d.respond('h', { approved: true }));
    assert.deepEqual(record4?.approvals.map((a) => [a.approvalId, a.status, a.respondedBy]), [['h#1', 'approved', 'alice']]);
    assert.equal(record4?.run.status, 'completed');
    assert.ok(record4?.run.finishedAt);
  });

  it('a transition without events records nothing', () => {
    const d = new Driver(plan([task('a')]));
    assert.equal(recordOf(d.state, { state: d.state, events: [], workItems: [] }), undefined);
  });
});

describe('wake-ups (docs/semantics.md §12)', () => {
  it('node-running wakes the agent owner with the work item; human and structural nodes wake nobody', () => {
    const d = new Driver(plan([task('a', { objective: 'write' }), human('h'), task('b')], [edge('a', 'h'), edge('h', 'b')]));
    const first = d.transitions[0];
    const wakeUps = wakeUpsFor(d.state, first.events);
    assert.equal(wakeUps.length, 1);
    assert.equal(wakeUps[0].agentRef, 'agent-a');
    assert.equal(wakeUps[0].eventType, 'node-running');
    assert.equal(wakeUps[0].eventId, `${RUN_ID}:${wakeUps[0].eventSeq}`);
    assert.equal(wakeUps[0].workItem.nodeId, 'a');
    assert.equal(wakeUps[0].workItem.attempt, 1);
    assert.equal(wakeUps[0].workItem.brief.objective, 'write');
    assert.equal(wakeUps[0].workItem.reason, 'node-running');
    const t = d.submit('a', { done: true });
    assert.deepEqual(wakeUpsFor(d.state, t.events), [], 'the approval request wakes no agent');
  });

  it('hidden nodes never wake their owner', () => {
    const d = new Driver(plan([task('a', { visibility: 'hidden' })]));
    assert.equal(d.status('a'), 'running');
    assert.deepEqual(wakeUpsFor(d.state, d.events), []);
  });

  it('a retry that unblocks and dispatches a node wakes its agent once, for the last event, with the previous issues', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 2 } })]));
    const t = d.submit('a', {}, [blocking('missing', '/x')]);
    assert.deepEqual(trace(t).filter((type) => type.startsWith('node-')), ['node-unblocked:a', 'node-running:a']);
    const wakeUps = wakeUpsFor(d.state, t.events);
    assert.equal(wakeUps.length, 1);
    assert.equal(wakeUps[0].eventType, 'node-running');
    assert.equal(wakeUps[0].attempt, 2);
    assert.deepEqual(wakeUps[0].workItem.previousIssues, [blocking('missing', '/x')]);
  });

  it('run-resumed wakes each running agent node', () => {
    const d = new Driver(plan([task('a'), task('b')], [], { maxConcurrency: 2 }));
    const t = d.take(ok(resumeRun(d.state, { by: 'ops' }, d.now())));
    assert.deepEqual(
      wakeUpsFor(d.state, t.events).map((w) => [w.nodeId, w.eventType]),
      [
        ['a', 'run-resumed'],
        ['b', 'run-resumed'],
      ],
    );
  });

  it('approval-resolved of a human review wakes the task node\'s agent owner with the work item', () => {
    const d = new Driver(plan([task('draft', { onFailure: [{ on: 'validation', action: 'human-review' }] }), task('next')], chain('draft', 'next')));
    const failed = d.submit('draft', { body: 'no title' }, [blocking('title is required', '/title')]);
    assert.equal(d.status('draft'), 'awaiting-human');
    assert.deepEqual(wakeUpsFor(d.state, failed.events), [], 'handing the result to a reviewer wakes no agent');

    const t = d.respond('draft', { title: 'Fixed', body: 'ok' }, 'carol');
    const resolved = t.events.find((event) => event.type === 'approval-resolved');
    assert.ok(resolved, 'the answer resolves the review');
    const wakeUps = wakeUpsFor(d.state, t.events).filter((w) => w.nodeId === 'draft');
    assert.equal(wakeUps.length, 1);
    const [wakeUp] = wakeUps;
    assert.equal(wakeUp.agentRef, 'agent-draft');
    assert.equal(wakeUp.eventType, 'approval-resolved');
    assert.equal(wakeUp.eventId, resolved.id);
    assert.equal(wakeUp.nodeId, 'draft');
    assert.equal(wakeUp.attempt, 2, 'the review is attempt 2 (approval draft#2)');
    assert.equal(resolved.approvalId, 'draft#2');
    assert.equal(wakeUp.workItem.nodeId, 'draft');
    assert.equal(wakeUp.workItem.attempt, 2);
    assert.equal(wakeUp.workItem.reason, 'approval-resolved');
    assert.deepEqual(wakeUp.workItem.owner, { kind: 'agent', ref: 'agent-draft' });
    // The downstream node it released is woken for its own node-running, separately.
    assert.deepEqual(
      wakeUpsFor(d.state, t.events).map((w) => [w.nodeId, w.agentRef, w.eventType]),
      [
        ['draft', 'agent-draft', 'approval-resolved'],
        ['next', 'agent-next', 'node-running'],
      ],
    );
  });

  /** A task blocked by its failure action `replan` (docs/semantics.md §7), then retried (§11). */
  function blockedForReplan(extra: Parameters<typeof task>[1] = {}, spec: { maxConcurrency?: number; other?: boolean } = {}): Driver {
    const nodes = [task('a', { onFailure: [{ on: 'validation', action: 'replan' }], ...extra }), ...(spec.other ? [task('b')] : [])];
    const d = new Driver(plan(nodes, [], spec.maxConcurrency ? { maxConcurrency: spec.maxConcurrency } : {}));
    d.submit('a', {}, [blocking('missing', '/x')]);
    assert.equal(d.status('a'), 'blocked');
    return d;
  }

  it('retrying a node blocked for a replan: node-unblocked (and the dispatch with it) wakes its agent once', () => {
    const d = blockedForReplan();
    assert.equal(d.state.status, 'blocked');
    const t = d.take(ok(retryNode(d.state, { nodeId: 'a', by: 'ops' }, d.now())));
    assert.deepEqual(trace(t).filter((type) => type.startsWith('node-')), ['node-unblocked:a', 'node-running:a']);
    const wakeUps = wakeUpsFor(d.state, t.events);
    assert.equal(wakeUps.length, 1, 'one wake-up per node and transition');
    assert.equal(wakeUps[0].agentRef, 'agent-a');
    assert.equal(wakeUps[0].nodeId, 'a');
    assert.equal(wakeUps[0].eventType, 'node-running', 'for the last waking event of the step');
    assert.equal(wakeUps[0].attempt, 2);
    assert.deepEqual(wakeUps[0].workItem.previousIssues, [blocking('missing', '/x')]);
  });

  it('retrying a node blocked for a replan that cannot run yet: node-unblocked itself wakes its agent', () => {
    // maxConcurrency 1: while a is blocked, b takes the only slot, so the retried a is only ready.
    const d = blockedForReplan({}, { maxConcurrency: 1, other: true });
    assert.equal(d.status('b'), 'running');
    const t = d.take(ok(retryNode(d.state, { nodeId: 'a', by: 'ops' }, d.now())));
    assert.equal(d.status('a'), 'ready');
    assert.deepEqual(trace(t).filter((type) => type.startsWith('node-')), ['node-unblocked:a']);
    const unblocked = t.events.find((event) => event.type === 'node-unblocked');
    const wakeUps = wakeUpsFor(d.state, t.events);
    assert.deepEqual(
      wakeUps.map((w) => [w.nodeId, w.agentRef, w.eventType, w.eventId]),
      [['a', 'agent-a', 'node-unblocked', unblocked?.id]],
    );
    assert.equal(wakeUps[0].workItem.nodeId, 'a');
    assert.equal(wakeUps[0].workItem.reason, 'node-unblocked');
    assert.deepEqual(wakeUps[0].workItem.previousIssues, [blocking('missing', '/x')]);
    // The event names the attempt that failed; the work item the one the agent will be handed next.
    assert.equal(unblocked?.attempt, 1);
    assert.equal(wakeUps[0].workItem.attempt, 2);
  });

  it('retrying a hidden node blocked for a replan wakes nobody, dispatched or not', () => {
    const dispatched = blockedForReplan({ visibility: 'hidden' });
    const t = dispatched.take(ok(retryNode(dispatched.state, { nodeId: 'a', by: 'ops' }, dispatched.now())));
    assert.deepEqual(trace(t).filter((type) => type.startsWith('node-')), ['node-unblocked:a', 'node-running:a']);
    assert.deepEqual(wakeUpsFor(dispatched.state, t.events), []);

    const waiting = blockedForReplan({ visibility: 'hidden' }, { maxConcurrency: 1, other: true });
    const t2 = waiting.take(ok(retryNode(waiting.state, { nodeId: 'a', by: 'ops' }, waiting.now())));
    assert.deepEqual(trace(t2).filter((type) => type.startsWith('node-')), ['node-unblocked:a']);
    assert.deepEqual(wakeUpsFor(waiting.state, t2.events), []);
  });
});

describe('dispatch failures (docs/semantics.md §12)', () => {
  function blockedByDispatch(): Driver {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    const t = dispatchFailed(d.state, { nodeId: 'a', attempt: 1, message: 'connection refused' }, d.now());
    assert.ok(t);
    d.take(t);
    return d;
  }

  it('blocks the node with class dispatch and the run, with checkpoint owner-dispatch-failed', () => {
    const d = blockedByDispatch();
    const t = d.transitions.at(-1)!;
    assert.deepEqual(statuses(d.state), { a: 'blocked', b: 'pending' });
    assert.equal(nodeOf(d.state, 'a').failureClass, 'dispatch');
    assert.equal(nodeOf(d.state, 'a').attempts, 0, 'no attempt was recorded: the agent never got the work');
    assert.equal(d.state.status, 'blocked');
    assert.equal(d.state.failureCount, 0);
    assert.deepEqual(trace(t), ['node-blocked:a', 'run-status-changed', 'checkpoint-saved']);
    assert.deepEqual(t.events[0].detail, { failureClass: 'dispatch', message: 'connection refused' });
    assert.equal(t.checkpoint?.reason, 'owner-dispatch-failed');
  });

  it('resume dispatches the node again with the same attempt and wakes its agent', () => {
    const d = blockedByDispatch();
    const t = d.take(ok(resumeRun(d.state, { by: 'ops' }, d.now())));
    assert.equal(d.status('a'), 'running');
    assert.equal(nodeOf(d.state, 'a').currentAttempt, 1);
    assert.equal(nodeOf(d.state, 'a').failureClass, undefined);
    assert.equal(d.state.status, 'running');
    assert.deepEqual(wakeUpsFor(d.state, t.events).map((w) => [w.nodeId, w.attempt]), [['a', 1]]);
    d.submit('a', { ok: 1 });
    assert.equal(d.status('b'), 'running');
  });

  it('retry also dispatches a dispatch-blocked node again', () => {
    const d = blockedByDispatch();
    d.take(ok(retryNode(d.state, { nodeId: 'a', by: 'ops' }, d.now())));
    assert.equal(d.status('a'), 'running');
  });

  it('a failure for an attempt the node has moved past changes nothing', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    d.submit('a', { ok: 1 });
    assert.equal(dispatchFailed(d.state, { nodeId: 'a', attempt: 1, message: 'late' }, d.now()), undefined);
    const stale: RunState = d.state;
    assert.equal(dispatchFailed(stale, { nodeId: 'b', attempt: 2, message: 'wrong attempt' }, d.now()), undefined);
    assert.equal(dispatchFailed(stale, { nodeId: 'nope', attempt: 1, message: 'unknown' }, d.now()), undefined);
  });
});

describe('sink-disabled event', () => {
  it('records an event without a checkpoint or any state change', () => {
    const d = new Driver(plan([task('a')]));
    const before = d.state;
    const t = sinkDisabled(before, { sinkId: 'audit', reason: 'HTTP 410 Gone' }, at(5000));
    assert.deepEqual(trace(t), ['sink-disabled']);
    assert.equal(t.checkpoint, undefined);
    assert.equal(t.events[0].seq, before.seq + 1);
    assert.deepEqual(t.events[0].detail, { sinkId: 'audit', reason: 'HTTP 410 Gone' });
    assert.deepEqual(statuses(t.state), statuses(before));
    assert.equal(t.state.checkpointSequence, before.checkpointSequence);
  });
});
