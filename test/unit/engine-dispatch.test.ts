/**
 * docs/semantics.md §6: dispatch (concurrency, human nodes first, ownership) and the run-status table.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cancelRun, deriveRunStatus } from '../../src/engine';
import { at, blocking, chain, Driver, eventsOf, human, ok, plan, statuses, task, trace } from './engine-helpers';

const running = (d: Driver) => d.state.nodes.filter((node) => node.status === 'running').map((node) => node.nodeId);

describe('engine dispatch: concurrency (§6)', () => {
  const roots = (maxConcurrency?: number) => plan([task('a'), task('b'), task('c')], [], maxConcurrency ? { maxConcurrency } : {});

  it('maxConcurrency 1 (also the default): one task at a time, in position order', () => {
    for (const spec of [roots(1), roots()]) {
      const d = new Driver(spec);
      assert.deepEqual(running(d), ['a']);
      assert.deepEqual(statuses(d.state), { a: 'running', b: 'ready', c: 'ready' });
      d.submit('a', {});
      assert.deepEqual(running(d), ['b']);
      d.submit('b', {});
      assert.deepEqual(running(d), ['c']);
      const max = Math.max(...d.transitions.map((t) => t.state.nodes.filter((n) => n.status === 'running').length));
      assert.equal(max, 1);
    }
  });

  it('maxConcurrency 3: all three roots run at once, one work item each', () => {
    const d = new Driver(roots(3));
    assert.deepEqual(running(d), ['a', 'b', 'c']);
    const start = d.transitions[0];
    assert.deepEqual(start.workItems.map((item) => item.nodeId), ['a', 'b', 'c']);
    assert.equal(eventsOf(start.events, 'ownership-transition').length, 3);
  });

  it('maxConcurrency 2 of 3: the third waits until a slot frees', () => {
    const d = new Driver(roots(2));
    assert.deepEqual(running(d), ['a', 'b']);
    d.submit('b', {});
    assert.deepEqual(running(d), ['a', 'c']);
  });

  it('a node awaiting a human takes a concurrency slot', () => {
    const d = new Driver(plan([human('h', 'human-input'), task('a')], [], { maxConcurrency: 1 }));
    assert.equal(d.status('h'), 'awaiting-human');
    assert.equal(d.status('a'), 'ready');
  });

  it('human nodes are dispatched before ready task nodes, whatever their position', () => {
    const d = new Driver(plan([task('a'), task('b'), human('h', 'human-input')], [], { maxConcurrency: 2 }));
    assert.deepEqual(statuses(d.state), { a: 'running', b: 'ready', h: 'awaiting-human' });
    assert.deepEqual(trace(d.transitions[0]).filter((type) => /approval-requested|node-running/.test(type)), ['approval-requested:h', 'node-running:a']);
    const e = new Driver(plan([task('a'), human('h', 'human-input')]));
    assert.deepEqual(statuses(e.state), { a: 'ready', h: 'awaiting-human' });
    assert.equal(e.state.status, 'awaiting-human');
    e.respond('h', {});
    assert.equal(e.status('a'), 'running');
  });

  it('when a slot frees, a newly ready human node goes before an older ready task node', () => {
    const d = new Driver(plan([task('a'), task('b'), human('h', 'human-input')], [{ from: 'a', to: 'h' }]));
    assert.deepEqual(statuses(d.state), { a: 'running', b: 'ready', h: 'pending' });
    d.submit('a', {});
    assert.deepEqual(statuses(d.state), { a: 'completed', b: 'ready', h: 'awaiting-human' });
    d.respond('h', {});
    assert.equal(d.status('b'), 'running');
  });

  it('node-running and ownership-transition carry the owner; the work item is the brief and input', () => {
    const d = new Driver(
      plan([task('a', { label: 'Research', objective: 'Find facts', instructions: 'Be brief', deliverables: ['notes'], successCriteria: ['3 sources'], toolPolicy: { web: true }, outputSchema: 'Notes' })], [], {
        schemas: { Notes: {} },
      }),
      { topic: 't' },
    );
    const t = d.transitions[0];
    const runningEvent = eventsOf(t.events, 'node-running', 'a')[0];
    assert.equal(runningEvent.fromStatus, 'ready');
    assert.equal(runningEvent.toStatus, 'running');
    assert.equal(runningEvent.attempt, 1);
    const ownership = eventsOf(t.events, 'ownership-transition', 'a')[0];
    assert.deepEqual(ownership.detail, { owner: { kind: 'agent', ref: 'agent-a' } });
    assert.deepEqual(t.workItems, [
      {
        runId: 'run-1',
        planId: 'test-plan',
        nodeId: 'a',
        attempt: 1,
        owner: { kind: 'agent', ref: 'agent-a' },
        brief: {
          label: 'Research',
          objective: 'Find facts',
          instructions: 'Be brief',
          deliverables: ['notes'],
          successCriteria: ['3 sources'],
          toolPolicy: { web: true },
          outputSchema: 'Notes',
        },
        resolvedInput: { topic: 't' },
        handoff: {},
        previousIssues: [],
        reason: 'dispatch',
        iteration: 1,
      },
    ]);
  });
});

describe('engine dispatch: run status table (§6)', () => {
  it('running while a task runs', () => {
    assert.equal(new Driver(plan([task('a')])).state.status, 'running');
  });

  it('awaiting-human when only a human waits', () => {
    const d = new Driver(plan([human('h', 'human-input')]));
    assert.equal(d.state.status, 'awaiting-human');
    assert.equal(eventsOf(d.events, 'run-status-changed')[0].toStatus, 'awaiting-human');
  });

  it('running (not awaiting-human) while a human waits and a task runs', () => {
    const d = new Driver(plan([human('h', 'human-input'), task('a')], [], { maxConcurrency: 2 }));
    assert.equal(d.status('h'), 'awaiting-human');
    assert.equal(d.status('a'), 'running');
    assert.equal(d.state.status, 'running');
    d.submit('a', {});
    assert.equal(d.state.status, 'awaiting-human');
  });

  it('running while a node waits on a timer', () => {
    const d = new Driver(plan([task('a', { delayAfterPredecessorMs: 5000 })]));
    assert.equal(d.status('a'), 'scheduled');
    assert.equal(d.state.status, 'running');
  });

  it('blocked when nothing can move', () => {
    const d = new Driver(plan([task('a', { onFailure: [{ on: 'validation', action: 'replan' }] }), task('b')], chain('a', 'b')));
    d.submit('a', {}, [blocking()]);
    assert.equal(d.state.status, 'blocked');
    const changed = eventsOf(d.events, 'run-status-changed').at(-1);
    assert.deepEqual([changed?.fromStatus, changed?.toStatus], ['running', 'blocked']);
  });

  it('a blocked node does not block the run while another node runs', () => {
    const d = new Driver(plan([task('a', { onFailure: [{ on: 'validation', action: 'replan' }] }), task('b')], [], { maxConcurrency: 2 }));
    d.submit('a', {}, [blocking()]);
    assert.equal(d.state.status, 'running');
    d.submit('b', {});
    assert.equal(d.state.status, 'blocked');
  });

  it('completed when every node is completed, partial or skipped; finishedAt set', () => {
    const d = new Driver(plan([task('a'), task('b'), task('c')], [...chain('a', 'b'), { from: 'a', to: 'c', when: 'output.no' }]));
    d.submit('a', {}, [{ severity: 'warning', code: 'w', message: 'w' }]);
    const t = d.submit('b', {}, [], {}, at(7000));
    assert.equal(d.state.status, 'completed');
    assert.equal(d.state.finishedAt, at(7000));
    const changed = eventsOf(t.events, 'run-status-changed')[0];
    assert.equal(changed.toStatus, 'completed');
  });

  it('failed after an abort; aborted after cancel', () => {
    const d = new Driver(plan([task('a')]));
    d.fail('a', 'agent-error');
    assert.equal(d.state.status, 'failed');
    d.take(ok(cancelRun(d.state, { by: 'ops' }, at(1))));
    assert.equal(d.state.status, 'aborted');
  });

  it('deriveRunStatus agrees with the stored status throughout a run', () => {
    const d = new Driver(plan([task('a'), human('h'), task('b')], chain('a', 'h', 'b')));
    d.submit('a', {});
    d.respond('h', { approved: true });
    d.submit('b', {});
    for (const t of d.transitions) assert.equal(deriveRunStatus(t.state), t.state.status);
    assert.deepEqual(
      eventsOf(d.events, 'run-status-changed').map((event) => event.toStatus),
      ['awaiting-human', 'running', 'completed'],
    );
  });
});
