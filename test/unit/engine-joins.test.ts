/**
 * Join modes (docs/semantics.md, "Join modes"): `any` and `atLeast N` go ahead without waiting for
 * the rest, are skipped once N can no longer be reached, and cancel the branches that lost (waking
 * their agents), but never a node that also feeds something else.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validatePlanSpec } from '../../src/engine/validate-spec';
import { wakeUpsFor } from '../../src/engine/wake-ups';
import { Driver, edge, eventsOf, plan, statuses, structural, task } from './engine-helpers';

const race = (join: Record<string, unknown>, extraNodes = [] as ReturnType<typeof task>[], extraEdges = [] as ReturnType<typeof edge>[]) =>
  plan(
    [task('a'), task('b'), task('c'), structural('first', 'join', { join } as never), task('write'), ...extraNodes],
    [edge('a', 'first', { map: { a: 'output.text' } }), edge('b', 'first', { map: { b: 'output.text' } }), edge('c', 'first'), edge('first', 'write'), ...extraEdges],
    { maxConcurrency: 5 },
  );

describe('join any', () => {
  it('the first branch wins; the others are cancelled, their agents woken with node-cancelled; the run completes', () => {
    const d = new Driver(race({ mode: 'any' }));
    assert.deepEqual(statuses(d.state), { a: 'running', b: 'running', c: 'running', first: 'pending', write: 'pending' });
    const t = d.submit('b', { text: 'B wins' });
    assert.equal(d.status('first'), 'completed');
    assert.equal(d.status('a'), 'cancelled');
    assert.equal(d.status('c'), 'cancelled');
    assert.equal(d.status('write'), 'running');
    assert.deepEqual(d.state.nodes.find((n) => n.nodeId === 'first')?.output, { b: 'B wins' }, 'the input is mapped from the winning edge only');
    const cancelled = eventsOf(t.events, 'node-cancelled');
    assert.deepEqual(cancelled.map((e) => e.nodeId).sort(), ['a', 'c']);
    assert.equal(cancelled[0].by, 'engine');
    assert.equal(t.checkpoint?.reason, 'join-cancelled-branches');
    const woken = wakeUpsFor(d.state, t.events).filter((w) => w.eventType === 'node-cancelled');
    assert.deepEqual(woken.map((w) => w.nodeId).sort(), ['a', 'c']);
    d.submit('write', {});
    assert.equal(d.state.status, 'completed', 'nodes cancelled by a join do not keep the run from completing');
  });

  it('a late result for a cancelled branch is refused and changes nothing', async () => {
    const d = new Driver(race({ mode: 'any' }));
    d.submit('a', { text: 'A' });
    const { applyAgentSubmission } = await import('../../src/engine');
    const late = applyAgentSubmission(d.state, { nodeId: 'b', structuredOutput: { text: 'late' } }, [], '2026-01-01T02:00:00.000Z');
    assert.ok('refused' in late && late.refused);
  });

  it('with cancelRemaining: false the other branches keep running and their results are recorded', () => {
    const d = new Driver(race({ mode: 'any', cancelRemaining: false }));
    d.submit('a', { text: 'A' });
    assert.equal(d.status('first'), 'completed');
    assert.equal(d.status('b'), 'running');
    d.submit('b', { text: 'B' });
    assert.equal(d.status('b'), 'completed');
  });

  it('a node that also feeds another branch is not cancelled', () => {
    const d = new Driver(race({ mode: 'any' }, [task('audit')], [edge('c', 'audit')]));
    d.submit('a', { text: 'A' });
    assert.equal(d.status('b'), 'cancelled');
    assert.equal(d.status('c'), 'running', 'c also feeds audit');
  });

  it('a chain leading only into the join is cancelled back to where it forks off', () => {
    const spec = plan(
      [task('start'), task('fast'), task('slow1'), task('slow2'), structural('first', 'join', { join: { mode: 'any' } } as never)],
      [edge('start', 'fast'), edge('start', 'slow1'), edge('slow1', 'slow2'), edge('fast', 'first'), edge('slow2', 'first')],
      { maxConcurrency: 5 },
    );
    const d = new Driver(spec);
    d.submit('start', {});
    d.submit('fast', {});
    assert.equal(d.status('slow1'), 'cancelled');
    assert.equal(d.status('slow2'), 'cancelled', 'pending nodes of the losing chain are cancelled too');
    assert.equal(d.status('start'), 'completed', 'a finished node is left as it is');
    assert.equal(d.state.status, 'completed');
  });
});

describe('join atLeast', () => {
  it('atLeast 2 of 3 waits for two, then goes ahead and cancels the third', () => {
    const d = new Driver(race({ mode: 'atLeast', count: 2 }));
    d.submit('a', { text: 'A' });
    assert.equal(d.status('first'), 'pending');
    assert.equal(d.status('b'), 'running');
    d.submit('c', {});
    assert.equal(d.status('first'), 'completed');
    assert.equal(d.status('b'), 'cancelled');
  });

  it('is skipped once too few edges can still become active', () => {
    const spec = plan(
      [task('a'), task('b'), task('c'), structural('two', 'join', { join: { mode: 'atLeast', count: 2 } } as never), task('after')],
      [edge('a', 'two', { when: 'output.ok == true' }), edge('b', 'two', { when: 'output.ok == true' }), edge('c', 'two', { when: 'output.ok == true' }), edge('two', 'after')],
      { maxConcurrency: 5 },
    );
    const d = new Driver(spec);
    d.submit('a', { ok: false });
    assert.equal(d.status('two'), 'pending', 'two edges may still become active');
    d.submit('b', { ok: false });
    assert.equal(d.status('two'), 'skipped');
    assert.equal(d.status('after'), 'skipped');
    assert.match(eventsOf(d.events, 'node-skipped', 'two')[0].message, /needs 2 active incoming edge\(s\) and no more than 1 can be/);
  });
});

describe('join validation', () => {
  const check = (join: unknown, type = 'join') =>
    validatePlanSpec({
      id: 'p',
      nodes: [
        { id: 'a', type: 'task', owner: { kind: 'agent', ref: 'a' } },
        { id: 'b', type: 'task', owner: { kind: 'agent', ref: 'b' } },
        { id: 'j', type, ...(type === 'task' ? { owner: { kind: 'agent', ref: 'j' } } : {}), join },
      ],
      edges: [
        { from: 'a', to: 'j' },
        { from: 'b', to: 'j' },
      ],
    });
  it('accepts any, all and atLeast within the incoming edges', () => {
    assert.equal(check({ mode: 'any' }).valid, true);
    assert.equal(check({ mode: 'all' }).valid, true);
    assert.equal(check({ mode: 'atLeast', count: 2 }).valid, true);
  });
  it('refuses atLeast without count, count above the incoming edges, count on any, and join on a task', () => {
    const paths = (result: ReturnType<typeof check>) => result.errors.map((e) => `${e.path}: ${e.message}`);
    assert.match(paths(check({ mode: 'atLeast' })).join('\n'), /\$\.nodes\[2\]\.join\.count: .*needs "count"/);
    assert.match(paths(check({ mode: 'atLeast', count: 3 })).join('\n'), /\$\.nodes\[2\]\.join\.count: .*waits for 3 active incoming edges, but only 2/);
    assert.match(paths(check({ mode: 'any', count: 1 })).join('\n'), /join\.count: .*only applies to join mode atLeast/);
    assert.match(paths(check({ mode: 'any' }, 'task')).join('\n'), /\$\.nodes\[2\]\.join: .*only applies to join nodes/);
  });
});
