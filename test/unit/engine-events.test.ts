/**
 * docs/semantics.md §1, §10, §12: events (seq, ids, times, actors), checkpoints, rejected results, purity.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyAgentSubmission, createRunState, rejectSubmission, startRun, type Refusal, type RunEvent } from '../../src/engine';
import { at, blocking, chain, Driver, edge, eventsOf, human, isRefusal, ok, plan, RUN_ID, statuses, T0, task, types, exactCopy } from './engine-helpers';

/** A run that goes through most kinds of transitions. */
function busyRun(): Driver {
  const d = new Driver(
    plan(
      [task('a', { retry: { maxAttempts: 2 } }), human('h', 'human-approval'), task('b'), task('c', { delayAfterPredecessorMs: 1000 })],
      [edge('a', 'h'), edge('h', 'b', { when: 'output.approved == true' }), edge('h', 'c', { when: 'output.approved == false' })],
    ),
  );
  d.submit('a', {}, [blocking()]);
  d.submit('a', { v: 1 });
  d.respond('h', { approved: true });
  d.submit('b', {});
  return d;
}

describe('engine events (§1, §12)', () => {
  it('seq runs 1..n without gaps across transitions; ids are <runId>:<seq>; planId and runId are set', () => {
    const d = busyRun();
    assert.equal(d.state.status, 'completed');
    assert.deepEqual(
      d.events.map((event) => event.seq),
      d.events.map((_, i) => i + 1),
    );
    for (const event of d.events) {
      assert.equal(event.id, `${RUN_ID}:${event.seq}`);
      assert.equal(event.runId, RUN_ID);
      assert.equal(event.planId, 'test-plan');
      assert.ok(event.message.length > 0, `${event.type} has a message`);
      assert.ok(event.by.length > 0);
    }
    assert.equal(d.state.seq, d.events.length);
    assert.equal(new Set(d.events.map((event) => event.id)).size, d.events.length);
  });

  it('`at` is the `now` passed in, for every event of a transition', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    for (const event of d.transitions[0].events) assert.equal(event.at, T0);
    const t = d.submit('a', {}, [], {}, '2026-03-04T05:06:07.000Z');
    for (const event of t.events) assert.equal(event.at, '2026-03-04T05:06:07.000Z');
    assert.equal(d.state.updatedAt, '2026-03-04T05:06:07.000Z');
    assert.equal(t.checkpoint?.at, '2026-03-04T05:06:07.000Z');
  });

  it('only known event types are emitted', () => {
    const known = new Set([
      'run-started', 'run-status-changed', 'run-resumed', 'run-replanned', 'node-scheduled', 'node-ready', 'node-running',
      'ownership-transition', 'node-completed', 'node-partial', 'node-failed', 'node-blocked', 'node-skipped', 'node-unblocked',
      'node-auto-completed', 'node-timed-out', 'validation-reported', 'approval-requested', 'approval-resolved', 'result-rejected',
      'deadline-warning', 'escalation-triggered', 'checkpoint-saved',
    ]);
    for (const type of types(busyRun().events)) assert.ok(known.has(type), type);
  });

  it('the start emits run-started first, then readiness and dispatch, then the checkpoint', () => {
    const d = new Driver(plan([task('a')]), {}, T0);
    assert.deepEqual(types(d.transitions[0]), ['run-started', 'node-ready', 'node-running', 'ownership-transition', 'checkpoint-saved']);
    assert.equal(d.transitions[0].events[0].by, 'engine');
  });

  it("the act's own events are by its author; what the engine did next is by engine, after that act", () => {
    const d = new Driver(plan([task('a'), human('h')], chain('a', 'h')));
    const t1 = d.submit('a', {}, [], { by: 'agent:r2' });
    const [completed, ...rest] = t1.events;
    assert.equal(completed.type, 'node-completed');
    assert.equal(completed.by, 'agent:r2');
    assert.equal(completed.detail?.causedBy, undefined);
    assert.ok(rest.length > 0);
    for (const event of rest) {
      assert.equal(event.by, 'engine', `${event.type} is the engine's consequence`);
      assert.deepEqual(event.detail?.causedBy, { by: 'agent:r2', seq: completed.seq, type: 'node-completed' });
    }
    const t2 = d.respond('h', { approved: true }, 'alice');
    const own = t2.events.filter((event) => event.by === 'alice').map((event) => event.type);
    assert.ok(own.includes('node-completed'), `alice's answer completes the node: ${own.join(', ')}`);
    const after = t2.events.filter((event) => event.by !== 'alice');
    assert.ok(after.some((event) => event.type === 'run-status-changed'));
    assert.ok(after.every((event) => event.by === 'engine' && (event.detail?.causedBy as { by: string }).by === 'alice'));
  });
});

describe('engine checkpoints (§10)', () => {
  it('every changing transition has a checkpoint with a rising sequence and a checkpoint-saved event last', () => {
    const d = busyRun();
    const sequences = d.transitions.map((t) => t.checkpoint?.sequence);
    assert.deepEqual(sequences, sequences.map((_, i) => i + 1));
    for (const t of d.transitions) {
      const last = t.events.at(-1) as RunEvent;
      assert.equal(last.type, 'checkpoint-saved');
      const { causedBy: _causedBy, ...detail } = last.detail ?? {};
      assert.deepEqual(detail, { sequence: t.checkpoint?.sequence, reason: t.checkpoint?.reason, runStatus: t.state.status });
      assert.equal(eventsOf(t.events, 'checkpoint-saved').length, 1);
    }
    assert.deepEqual(
      d.transitions.map((t) => t.checkpoint?.reason),
      ['run-started', 'node-result-retry', 'node-result-complete', 'human-response-complete', 'node-result-complete'],
    );
    assert.equal(d.state.checkpointSequence, 5);
  });

  it('the checkpoint holds the run status and node status map after the transition', () => {
    const d = new Driver(plan([task('a'), task('b'), human('h', 'human-input'), task('c')], [edge('a', 'c')], { maxConcurrency: 2 }));
    const t = d.submit('a', { v: 1 }, [], { artifacts: [{ name: 'notes', kind: 'file', pointer: 'p' }] });
    const checkpoint = t.checkpoint;
    assert.ok(checkpoint);
    assert.equal(checkpoint.runStatus, t.state.status);
    assert.deepEqual(checkpoint.nodeStatuses, statuses(t.state));
    assert.deepEqual(checkpoint.nodeStatuses, { a: 'completed', b: 'running', h: 'awaiting-human', c: 'ready' });
    assert.deepEqual(checkpoint.readyNodeIds, ['c']);
    assert.deepEqual(checkpoint.activeNodeIds, ['b', 'h']);
    assert.deepEqual(checkpoint.completedNodeIds, ['a']);
    assert.deepEqual(checkpoint.artifactIds, ['a/notes']);
  });

  it('a rejected signal (rejectSubmission) records result-rejected with the reason and makes no checkpoint', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    const payload = { nodeId: 'b', submissionId: 'sub-9', by: 'agent:late', structuredOutput: {} };
    const refusal = applyAgentSubmission(d.state, payload, [], at(1)) as Refusal;
    assert.ok(isRefusal(refusal));
    const seqBefore = d.state.seq;
    const t = d.take(rejectSubmission(d.state, payload, refusal, at(2)));
    assert.deepEqual(types(t), ['result-rejected']);
    assert.equal(t.checkpoint, undefined);
    const event = t.events[0];
    assert.equal(event.seq, seqBefore + 1);
    assert.equal(event.nodeId, 'b');
    assert.equal(event.by, 'agent:late');
    assert.deepEqual(event.detail, { reason: 'node-not-running', requestedNodeId: 'b', submissionId: 'sub-9' });
    assert.equal(d.state.checkpointSequence, 1);
    assert.deepEqual(statuses(d.state), { a: 'running', b: 'pending' });
    // an unknown node is not attached to the event, but kept in the detail
    const unknown = rejectSubmission(d.state, { nodeId: 'ghost' }, { refused: true, reason: 'unknown-node', message: 'no' }, at(3));
    assert.equal(unknown.events[0].nodeId, undefined);
    assert.equal(unknown.events[0].detail?.requestedNodeId, 'ghost');
  });

  it('a transition that changes nothing makes no checkpoint and no events', () => {
    const d = new Driver(plan([task('a')]));
    d.submit('a', {}, [], { submissionId: 's' });
    const again = ok(applyAgentSubmission(d.state, { nodeId: 'a', submissionId: 's' }, [], at(1)));
    assert.equal(again.checkpoint, undefined);
    assert.deepEqual(again.events, []);
  });
});

describe('engine purity', () => {
  it('operations never mutate the state they are given', () => {
    const spec = plan([task('a'), human('h'), task('b')], chain('a', 'h', 'b'));
    const created = createRunState({ runId: RUN_ID, spec, input: { x: 1 }, now: T0 });
    const createdCopy = exactCopy(created);
    const started = startRun(created, T0);
    assert.deepEqual(created, createdCopy);
    const startedCopy = exactCopy(started.state);
    const t = ok(applyAgentSubmission(started.state, { nodeId: 'a', structuredOutput: { big: { nested: [1] } } }, [], at(1)));
    assert.deepEqual(started.state, startedCopy);
    assert.notEqual(t.state, started.state);
  });

  it('the same inputs give the same transition (deterministic)', () => {
    const a = busyRun();
    const b = busyRun();
    assert.deepEqual(a.events, b.events);
    assert.deepEqual(a.state, b.state);
  });

  it('state does not alias payloads: changing a submitted output afterwards changes nothing', () => {
    const d = new Driver(plan([task('a')]));
    const output = { list: [1, 2] };
    d.submit('a', output);
    output.list.push(3);
    assert.deepEqual(d.state.nodes[0].output, { list: [1, 2] });
  });

  it('createRunState: every node pending, no events yet, empty input default', () => {
    const state = createRunState({ runId: RUN_ID, spec: plan([task('a'), task('b')]), now: T0 });
    assert.deepEqual(statuses(state), { a: 'pending', b: 'pending' });
    assert.equal(state.seq, 0);
    assert.deepEqual(state.input, {});
    assert.equal(state.planId, 'test-plan');
    assert.equal(state.specVersion, 1);
  });
});
