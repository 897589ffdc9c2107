/** The console's store reads that need no server: timers shown in a node's panel and who may answer. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { briefOf, mayAnswer, specNodeOf, timersOf } from '../../src/console/reads';
import type { PlanNode, PlanSpec } from '../../src/engine';

const task: PlanNode = { id: 'draft', type: 'task', owner: { kind: 'agent', ref: 'writer' }, objective: 'Write it', timeoutMs: 60_000, deadline: { afterMs: 3_600_000, warnBeforeMs: 600_000, onExpiry: 'fail' } };
const spec: PlanSpec = { id: 'p', nodes: [task, { id: 'research', type: 'task', forEach: { items: 'input.topics' } } as PlanNode] };

describe('console reads', () => {
  it('an active node shows its deadline warning, deadline and timeout, counted from the attempt start', () => {
    const timers = timersOf(task, spec, { status: 'running', startedAt: '2026-01-01T00:00:00.000Z' });
    assert.deepEqual(timers.map((t) => [t.kind, t.dueAt]), [
      ['deadline-warning', '2026-01-01T00:50:00.000Z'],
      ['deadline', '2026-01-01T01:00:00.000Z'],
      ['timeout', '2026-01-01T00:01:00.000Z'],
    ]);
    assert.match(timers[1].what, /then fail/);
  });

  it('a finished node has no timers; a scheduled one shows when it becomes ready', () => {
    assert.deepEqual(timersOf(task, spec, { status: 'completed', startedAt: '2026-01-01T00:00:00.000Z' }), []);
    assert.deepEqual(timersOf(task, spec, { status: 'scheduled', scheduledUntil: '2026-01-02T00:00:00.000Z' }).map((t) => t.kind), ['scheduled']);
  });

  it('approvers, when set, are the only ones who may answer', () => {
    assert.equal(mayAnswer({ approvers: [] }, 'anyone'), true);
    assert.equal(mayAnswer({ approvers: ['alice'] }, 'alice'), true);
    assert.equal(mayAnswer({ approvers: ['alice'] }, 'mallory'), false);
    // A quorum approval: an approver who voted has nothing left to answer.
    const quorum = { approvers: ['alice', 'bob'], votes: [{ by: 'alice', approved: true, at: 'T1' }] };
    assert.equal(mayAnswer(quorum, 'alice'), false);
    assert.equal(mayAnswer(quorum, 'bob'), true);
  });

  it('instances find their node; the brief holds only what the node sets', () => {
    assert.equal(specNodeOf(spec, 'research[3]')?.id, 'research');
    assert.equal(specNodeOf(spec, 'missing'), undefined);
    assert.deepEqual(briefOf(task), { objective: 'Write it' });
  });
});
