/**
 * docs/semantics.md §11 replan in the pure engine: what is kept, what starts over, what closes, and what never
 * restarts (seq, checkpoints, attempt numbers, submissions).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyAgentSubmission,
  applyHumanResponse,
  cancelRun,
  recordOf,
  replanRun,
  specChanges,
  type PlanSpec,
  type RunReplannedDetail,
  type RunState,
} from '../../src/engine';
import { at, blocking, chain, Driver, edge, eventsOf, human, nodeOf, ok, plan, refused, statuses, task, trace, exactCopy } from './engine-helpers';

function replan(d: Driver, spec: unknown, extra: Record<string, unknown> = {}) {
  return d.take(ok(replanRun(d.state, { spec, by: 'ops', ...extra }, d.now())));
}

function replannedDetail(events: Array<{ type: string; detail?: Record<string, unknown> }>): RunReplannedDetail {
  const found = events.filter((event) => event.type === 'run-replanned');
  assert.equal(found.length, 1, 'exactly one run-replanned event');
  return found[0].detail as unknown as RunReplannedDetail;
}

const frozen = (state: RunState) => exactCopy(state);

describe('engine replan (§11): kept, reset, added, removed', () => {
  // v1: a → b → c, a → x. After a and b: c running, x ready (maxConcurrency 1).
  const v1 = plan([task('a'), task('b', { objective: 'Draft' }), task('c'), task('x')], [...chain('a', 'b', 'c'), edge('a', 'x')]);
  // v2: b's objective changed, x removed, d added (after a).
  const v2 = plan([task('a'), task('b', { objective: 'Draft it better' }), task('c'), task('d')], [...chain('a', 'b', 'c'), edge('a', 'd')]);

  function started() {
    const d = new Driver(v1);
    d.submit('a', { topic: 'tea' }, [], { artifacts: [{ name: 'notes', kind: 'uri', pointer: 's3://n' }], notes: 'done' });
    d.submit('b', { draft: 1 });
    assert.deepEqual(statuses(d.state), { a: 'completed', b: 'completed', c: 'running', x: 'ready' });
    return d;
  }

  it('keeps unchanged completed nodes; changed, affected and added nodes start over; removed nodes vanish', () => {
    const d = started();
    const aBefore = frozen(d.state).nodes[0];
    const seqBefore = d.state.seq;
    const checkpointBefore = d.state.checkpointSequence;
    const t = replan(d, v2, { reason: 'better drafts' });

    assert.deepEqual(nodeOf(d.state, 'a'), aBefore, 'a keeps status, output, attempts, history, artifacts');
    assert.deepEqual(nodeOf(d.state, 'a').output, { topic: 'tea' });
    assert.deepEqual(Object.keys(nodeOf(d.state, 'a').artifacts), ['notes']);
    assert.deepEqual(statuses(d.state), { a: 'completed', b: 'running', c: 'pending', d: 'ready' });
    assert.deepEqual(d.state.nodes.map((node) => node.nodeId), ['a', 'b', 'c', 'd'], 'new spec order; x is gone');
    assert.equal(d.state.spec.nodes[1].objective, 'Draft it better');
    assert.equal(d.state.specVersion, 2);
    assert.equal(d.state.status, 'running');

    const detail = replannedDetail(t.events);
    assert.deepEqual(detail, {
      fromVersion: 1,
      toVersion: 2,
      kept: ['a'],
      reset: ['b', 'c'],
      added: ['d'],
      removed: ['x'],
      changed: ['b'],
      stoppedNodeIds: ['c'],
      reason: 'better drafts',
    });
    const replanned = eventsOf(t.events, 'run-replanned')[0];
    assert.equal(replanned.by, 'ops');
    assert.match(replanned.message, /version 1 → 2/);

    // b reruns in the same transition, on a's kept output; its attempt numbers continue.
    assert.deepEqual(
      t.workItems.map((item) => [item.nodeId, item.attempt]),
      [['b', 2]],
    );
    assert.deepEqual(nodeOf(d.state, 'b').resolvedInput, {}, 'b was resolved again (a → b has no map)');
    assert.equal(nodeOf(d.state, 'b').output, undefined, 'a reset node loses its old output');
    assert.equal(nodeOf(d.state, 'b').history.length, 1, 'but keeps its attempt history');
    assert.equal(nodeOf(d.state, 'c').attempts, 1, 'c was dispatched as attempt 1: that number is used up');
    assert.deepEqual(trace(t), ['run-replanned', 'node-ready:b', 'node-ready:d', 'node-running:b', 'ownership-transition:b', 'checkpoint-saved']);

    // seq and checkpoints continue; the checkpoint has the new node set.
    assert.equal(t.events[0].seq, seqBefore + 1);
    assert.equal(t.events[0].id, `run-1:${seqBefore + 1}`);
    assert.deepEqual(
      t.events.map((event) => event.seq),
      t.events.map((_, i) => seqBefore + 1 + i),
    );
    assert.equal(t.checkpoint?.reason, 'run-replanned');
    assert.equal(t.checkpoint?.sequence, checkpointBefore + 1);
    assert.deepEqual(t.checkpoint?.nodeStatuses, { a: 'completed', b: 'running', c: 'pending', d: 'ready' });

    // The run goes on under v2: c waits for b, then d.
    d.submit('b', { draft: 2 });
    assert.deepEqual(statuses(d.state), { a: 'completed', b: 'completed', c: 'running', d: 'ready' });
    assert.equal(nodeOf(d.state, 'c').currentAttempt, 2);
    d.submit('c', {});
    d.submit('d', {});
    assert.equal(d.state.status, 'completed');
  });

  it('a stale result for a node of the old version is refused', () => {
    const d = started();
    replan(d, v2);
    // c was running attempt 1 under v1; it now waits (pending) for b.
    refused(applyAgentSubmission(d.state, { nodeId: 'c', attempt: 1, structuredOutput: {} }, [], at(99_000)), 'node-not-running');
    refused(applyAgentSubmission(d.state, { nodeId: 'x', structuredOutput: {} }, [], at(99_000)), 'unknown-node');
  });

  it('a node downstream of a changed node starts over, even when it was completed or skipped', () => {
    const v1s = plan([task('a'), task('b'), task('c')], [edge('a', 'b', { when: 'output.ok == true' }), edge('b', 'c'), edge('a', 'c', { when: 'output.ok == false' })]);
    // z (a root) keeps the run open while a, b and c are done.
    const open = new Driver(plan([...v1s.nodes, task('z')], v1s.edges));
    open.submit('a', { ok: false });
    open.submit('c', {});
    assert.deepEqual(statuses(open.state), { a: 'completed', b: 'skipped', c: 'completed', z: 'running' });
    const v2s = plan([task('a', { objective: 'decide again' }), task('b'), task('c'), task('z')], v1s.edges);
    const t = replan(open, v2s);
    assert.deepEqual(replannedDetail(t.events).reset, ['a', 'b', 'c', 'z']);
    assert.deepEqual(replannedDetail(t.events).changed, ['a']);
    assert.deepEqual(statuses(open.state), { a: 'running', b: 'pending', c: 'pending', z: 'ready' });
    open.submit('a', { ok: true });
    assert.deepEqual(statuses(open.state), { a: 'completed', b: 'running', c: 'pending', z: 'ready' });
  });

  it('a skipped node with an unchanged definition and unchanged upstream keeps its status', () => {
    const d = new Driver(plan([task('a'), task('b'), task('z')], [edge('a', 'b', { when: 'output.ok == true' })]));
    d.submit('a', { ok: false });
    assert.deepEqual(statuses(d.state), { a: 'completed', b: 'skipped', z: 'running' });
    const t = replan(d, plan([task('a'), task('b'), task('z', { objective: 'new' })], [edge('a', 'b', { when: 'output.ok == true' })]));
    assert.deepEqual(replannedDetail(t.events).kept, ['a', 'b']);
    assert.deepEqual(statuses(d.state), { a: 'completed', b: 'skipped', z: 'running' });
    assert.equal(nodeOf(d.state, 'z').currentAttempt, 2, 'z was running attempt 1: it restarts as attempt 2');
  });
});

describe('engine replan (§11): blocked, failed and waiting runs', () => {
  const blockedSpec = plan([task('a', { onFailure: [{ on: 'validation', action: 'replan' }] }), task('b')], chain('a', 'b'));

  it('the blocked node of a blocked run (onFailure replan) runs again; the run is active; failureCount is kept', () => {
    const d = new Driver(blockedSpec);
    d.submit('a', { v: 0 }, [blocking('too short', 'text')]);
    assert.equal(d.status('a'), 'blocked');
    assert.equal(d.state.status, 'blocked');
    assert.equal(d.state.failureCount, 1);
    const v2 = plan([task('a', { instructions: 'write more', onFailure: [{ on: 'validation', action: 'replan' }] }), task('b')], chain('a', 'b'));
    const t = replan(d, v2);
    assert.deepEqual(statuses(d.state), { a: 'running', b: 'pending' });
    assert.equal(d.state.status, 'running');
    assert.equal(d.state.failureCount, 1);
    assert.deepEqual(nodeOf(d.state, 'a').lastIssues, [], 'a fresh start carries no issues of the old version');
    assert.equal(nodeOf(d.state, 'a').failureClass, undefined);
    const changed = eventsOf(t.events, 'run-status-changed');
    assert.deepEqual(
      changed.map((event) => [event.fromStatus, event.toStatus]),
      [['blocked', 'running']],
    );
    assert.deepEqual(
      t.workItems.map((item) => [item.nodeId, item.attempt, item.brief.instructions]),
      [['a', 2, 'write more']],
    );
    d.submit('a', { v: 1 });
    assert.deepEqual(statuses(d.state), { a: 'completed', b: 'running' });
  });

  it('replanning with the very same spec restarts the blocked node too (it was not finished)', () => {
    const d = new Driver(blockedSpec);
    d.submit('a', { v: 0 }, [blocking()]);
    const t = replan(d, blockedSpec);
    assert.deepEqual(replannedDetail(t.events).changed, []);
    assert.deepEqual(replannedDetail(t.events).reset, ['a', 'b']);
    assert.equal(d.status('a'), 'running');
    assert.equal(d.state.specVersion, 2);
  });

  it('a failed run (abort) becomes active again', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    d.fail('a', 'agent-error');
    assert.equal(d.state.status, 'failed');
    replan(d, plan([task('a', { objective: 'again' }), task('b')], chain('a', 'b')));
    assert.equal(d.state.status, 'running');
    assert.deepEqual(statuses(d.state), { a: 'running', b: 'pending' });
  });

  it('pending approvals of the old version are closed; the human node asks again with a new approval id', () => {
    const d = new Driver(plan([task('a'), human('h', 'human-approval', { approvers: ['alice'] })], chain('a', 'h')));
    d.submit('a', { v: 1 });
    assert.equal(d.state.status, 'awaiting-human');
    assert.equal(d.state.approvals[0].approvalId, 'h#1');
    const t = replan(d, plan([task('a'), human('h', 'human-approval', { approvers: ['alice', 'bob'] })], chain('a', 'h')));
    assert.deepEqual(
      d.state.approvals.map((approval) => [approval.approvalId, approval.status, approval.approvers]),
      [
        ['h#1', 'cancelled', ['alice']],
        ['h#2', 'pending', ['alice', 'bob']],
      ],
    );
    assert.equal(d.state.approvals[0].resolvedAt, t.events[0].at);
    assert.deepEqual(trace(t), ['run-replanned', 'approval-resolved:h', 'node-ready:h', 'approval-requested:h', 'checkpoint-saved']);
    const resolved = eventsOf(t.events, 'approval-resolved', 'h')[0];
    assert.equal(resolved.approvalId, 'h#1');
    assert.equal(resolved.detail?.status, 'cancelled');
    assert.deepEqual(replannedDetail(t.events).stoppedNodeIds, ['h']);
    assert.equal(d.state.status, 'awaiting-human');
    // The old approval cannot be answered any more; the new one can, by bob.
    refused(applyHumanResponse(d.state, { approvalId: 'h#1', respondedBy: 'alice', response: { approved: true } }, [], at(99_000)), 'approval-mismatch');
    d.respond('h', { approved: true }, 'bob');
    assert.equal(d.state.status, 'completed');
  });

  it('a node removed and later added back continues its approval numbers', () => {
    const withH = plan([task('a'), human('h', 'human-input')], [], { maxConcurrency: 2 });
    const d = new Driver(withH);
    assert.equal(d.state.approvals[0].approvalId, 'h#1');
    replan(d, plan([task('a')], [], { maxConcurrency: 2 }));
    assert.deepEqual(d.state.nodes.map((node) => node.nodeId), ['a']);
    assert.equal(d.state.approvals[0].status, 'cancelled');
    replan(d, withH);
    assert.deepEqual(
      d.state.approvals.map((approval) => [approval.approvalId, approval.status]),
      [
        ['h#1', 'cancelled'],
        ['h#2', 'pending'],
      ],
    );
    assert.equal(d.state.specVersion, 3);
  });
});

describe('engine replan (§11): what never restarts', () => {
  it('a reset node gets its whole retry budget again, with attempt numbers continuing', () => {
    const spec = plan([task('a', { retry: { maxAttempts: 2 }, onFailure: [{ on: 'validation', action: 'replan' }] })]);
    const d = new Driver(spec);
    d.submit('a', {}, [blocking()]);
    d.submit('a', {}, [blocking()]);
    assert.equal(d.status('a'), 'blocked');
    replan(d, plan([task('a', { objective: 'clearer', retry: { maxAttempts: 2 }, onFailure: [{ on: 'validation', action: 'replan' }] })]));
    assert.equal(nodeOf(d.state, 'a').currentAttempt, 3);
    d.submit('a', {}, [blocking()]);
    assert.equal(d.status('a'), 'running', 'attempt 3 is the first of two since the replan: retried');
    assert.equal(nodeOf(d.state, 'a').currentAttempt, 4);
    d.submit('a', {}, [blocking()]);
    assert.equal(d.status('a'), 'blocked', 'the budget of two is spent again');
  });

  it('a task node removed and later added back continues its attempt numbers (no attempt row is overwritten)', () => {
    const withB = plan([task('a'), task('b', { retry: { maxAttempts: 3 } })], [], { maxConcurrency: 2 });
    const d = new Driver(withB);
    d.submit('b', {}, [blocking()]);
    d.submit('b', {}, [blocking()]);
    assert.equal(nodeOf(d.state, 'b').currentAttempt, 3);
    replan(d, plan([task('a')], [], { maxConcurrency: 2 }));
    assert.deepEqual(d.state.retiredAttempts, { b: 3 });
    replan(d, withB);
    assert.equal(d.status('b'), 'running');
    assert.equal(nodeOf(d.state, 'b').currentAttempt, 4, 'attempts 1-2 were recorded and 3 was handed out before the removal');
  });

  it('attempt numbers continue for a reset node that had attempts: the store key (run, node, attempt) stays unique', () => {
    const spec = plan([task('a', { retry: { maxAttempts: 2 }, onFailure: [{ on: 'validation', action: 'replan' }] })]);
    const d = new Driver(spec);
    d.submit('a', {}, [blocking()]);
    d.submit('a', {}, [blocking()]);
    assert.equal(d.status('a'), 'blocked');
    assert.equal(nodeOf(d.state, 'a').attempts, 2);
    const t = replan(d, plan([task('a', { retry: { maxAttempts: 4 }, onFailure: [{ on: 'validation', action: 'replan' }] })]));
    assert.deepEqual(
      t.workItems.map((item) => [item.nodeId, item.attempt]),
      [['a', 3]],
    );
    assert.equal(eventsOf(t.events, 'node-running', 'a')[0].attempt, 3);
    assert.equal(nodeOf(d.state, 'a').attempts, 2);
    assert.deepEqual(nodeOf(d.state, 'a').history.map((record) => record.attempt), [1, 2]);
    const before = d.state;
    const done = d.submit('a', { fixed: true });
    assert.equal(done.outcome.attempt, 3);
    assert.deepEqual(nodeOf(d.state, 'a').history.map((record) => record.attempt), [1, 2, 3]);
    // The store gets one new attempt row (3), never a second row for 1 or 2.
    assert.deepEqual(recordOf(before, done)?.attempts.map((row) => row.attempt), [3]);
    // The replan itself adds no attempt row.
    assert.deepEqual(recordOf(d.transitions[d.transitions.length - 3].state, t)?.attempts, []);
  });

  it('the submissions dedupe map is kept: a redelivered result after the replan changes nothing', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    const first = d.take(ok(applyAgentSubmission(d.state, { nodeId: 'a', submissionId: 's-1', structuredOutput: { v: 1 } }, [], at(500))));
    replan(d, plan([task('a'), task('b', { objective: 'new' })], chain('a', 'b')));
    assert.deepEqual(d.state.submissions['s-1'], first.outcome);
    const again = ok(applyAgentSubmission(d.state, { nodeId: 'a', submissionId: 's-1', structuredOutput: { v: 2 } }, [], at(99_000)));
    assert.equal(again.outcome.duplicate, true);
    assert.equal(again.events.length, 0);
    assert.equal(again.state, d.state);
  });

  it('seq and checkpoint sequence continue across two replans', () => {
    const d = new Driver(plan([task('a'), task('b')], [], { maxConcurrency: 1 }));
    const t1 = replan(d, plan([task('a', { objective: '1' }), task('b')], [], { maxConcurrency: 1 }));
    const t2 = replan(d, plan([task('a', { objective: '2' }), task('b')], [], { maxConcurrency: 1 }));
    const seqs = d.events.map((event) => event.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
    );
    assert.equal((t2.checkpoint?.sequence ?? 0) - (t1.checkpoint?.sequence ?? 0), 1);
    assert.equal(d.state.checkpointSequence, t2.checkpoint?.sequence);
    assert.equal(d.state.specVersion, 3);
    assert.deepEqual(replannedDetail(t2.events).reset, ['a', 'b']);
  });

  it('is deterministic and leaves its input state untouched', () => {
    const d = new Driver(plan([task('a'), task('b'), human('h', 'human-input')], chain('a', 'b'), { maxConcurrency: 2 }));
    d.submit('a', { v: 1 });
    assert.deepEqual(statuses(d.state), { a: 'completed', b: 'running', h: 'awaiting-human' });
    const before = frozen(d.state);
    const payload = { spec: plan([task('a'), task('b', { objective: 'x' }), task('n')], chain('a', 'b')), by: 'ops' };
    const one = ok(replanRun(d.state, payload, at(50_000)));
    const two = ok(replanRun(d.state, payload, at(50_000)));
    assert.deepEqual(one, two);
    assert.deepEqual(d.state, before);
    assert.notEqual(one.state, d.state);
  });
});

describe('engine replan (§11): refusals', () => {
  it('an invalid spec is refused with every problem as path: message, and the run is untouched', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    const before = frozen(d.state);
    const bad = { id: 'test-plan', nodes: [{ id: 'a', type: 'task' }, task('b')], edges: [edge('a', 'zz')] };
    const refusal = refused(replanRun(d.state, { spec: bad, by: 'ops' }, at(9000)), 'invalid-spec');
    assert.match(refusal.message, /\$\.nodes\[0\]\.owner: node "a" is a task node and needs an agent owner/);
    assert.match(refusal.message, /\$\.edges\[0\]\.to: edge a → zz leads to "zz"/);
    assert.match(refusal.message, /2 problem/);
    assert.deepEqual(d.state, before);
    refused(replanRun(d.state, { spec: 'not a spec', by: 'ops' }, at(9000)), 'invalid-spec');
  });

  it('a spec with another plan id is refused', () => {
    const d = new Driver(plan([task('a')]));
    const before = frozen(d.state);
    const refusal = refused(replanRun(d.state, { spec: plan([task('a')], [], { id: 'other-plan' }), by: 'ops' }, at(9000)), 'invalid-spec');
    assert.match(refusal.message, /\$\.id: .*"other-plan".*"test-plan"/);
    assert.deepEqual(d.state, before);
  });

  it('a payload without a spec is refused as invalid-payload', () => {
    const d = new Driver(plan([task('a')]));
    const refusal = refused(replanRun(d.state, { by: 'ops' }, at(9000)), 'invalid-payload');
    assert.match(refusal.message, /spec: a plan spec is required/);
    refused(replanRun(d.state, { spec: plan([task('a')]), by: '' }, at(9000)), 'invalid-payload');
  });

  it('a finished run (completed or aborted) refuses', () => {
    const done = new Driver(plan([task('a')]));
    done.submit('a', {});
    assert.equal(done.state.status, 'completed');
    refused(replanRun(done.state, { spec: plan([task('a'), task('b')]), by: 'ops' }, at(9000)), 'run-finished');
    const cancelled = new Driver(plan([task('a')]));
    cancelled.take(ok(cancelRun(cancelled.state, { by: 'ops' }, at(1))));
    refused(replanRun(cancelled.state, { spec: plan([task('a')]), by: 'ops' }, at(9000)), 'run-finished');
  });

  it('validation warnings of the new spec travel in the event detail', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    const t = replan(d, plan([task('a'), task('b')], [edge('a', 'b', { when: 'if it looks good' })]));
    const detail = replannedDetail(t.events);
    assert.equal(detail.warnings?.length, 1);
    assert.match(detail.warnings?.[0] ?? '', /^\$\.edges\[0\]\.when: /);
  });
});

describe('specChanges', () => {
  const base: PlanSpec = plan(
    [task('a', { outputSchema: 'Out' }), task('b', { inputSchema: 'In' }), task('c')],
    [edge('a', 'b', { map: { x: 'output.x' } }), edge('b', 'c')],
    { schemas: { Out: { type: 'object' }, In: { $ref: 'Shared' }, Shared: { type: 'object' }, Unused: {} } },
  );
  const withSchemas = (schemas: NonNullable<PlanSpec['schemas']>): PlanSpec => ({ ...base, schemas: { ...base.schemas, ...schemas } });

  it('reports nothing for the same spec, whatever the key order, and treats a missing when as always', () => {
    const reordered = JSON.parse(JSON.stringify(base)) as PlanSpec;
    reordered.nodes[0] = { outputSchema: 'Out', owner: { ref: 'agent-a', kind: 'agent' }, type: 'task', id: 'a' };
    reordered.edges = [edge('a', 'b', { map: { x: 'output.x' }, when: 'always' }), edge('b', 'c', { map: {} })];
    assert.deepEqual(specChanges(base, reordered), { kept: ['a', 'b', 'c'], changed: [], affected: [], added: [], removed: [] });
  });

  it('a changed node makes everything downstream affected', () => {
    const next = { ...base, nodes: [task('a', { outputSchema: 'Out', label: 'A' }), base.nodes[1], base.nodes[2]] };
    assert.deepEqual(specChanges(base, next), { kept: [], changed: ['a'], affected: ['b', 'c'], added: [], removed: [] });
  });

  it('a changed incoming edge (when or map) changes the target only', () => {
    const whenChanged = { ...base, edges: [edge('a', 'b', { map: { x: 'output.x' } }), edge('b', 'c', { when: 'output.ok == true' })] };
    assert.deepEqual(specChanges(base, whenChanged).changed, ['c']);
    assert.deepEqual(specChanges(base, whenChanged).kept, ['a', 'b']);
    const mapChanged = { ...base, edges: [edge('a', 'b', { map: { y: 'output.x' } }), edge('b', 'c')] };
    assert.deepEqual(specChanges(base, mapChanged), { kept: ['a'], changed: ['b'], affected: ['c'], added: [], removed: [] });
  });

  it('a referenced schema (directly or through $ref) counts; an unreferenced one does not', () => {
    assert.deepEqual(specChanges(base, withSchemas({ Out: { type: 'object', required: ['x'] } })).changed, ['a']);
    assert.deepEqual(specChanges(base, withSchemas({ Shared: { type: 'array' } })).changed, ['b']);
    assert.deepEqual(specChanges(base, withSchemas({ Unused: { type: 'string' } })).changed, []);
  });

  it('added and removed nodes; a node gaining an edge from a new node is changed', () => {
    const next = plan([task('a', { outputSchema: 'Out' }), task('n'), task('b', { inputSchema: 'In' })], [edge('a', 'b', { map: { x: 'output.x' } }), edge('n', 'b')], {
      schemas: base.schemas,
    });
    assert.deepEqual(specChanges(base, next), { kept: ['a'], changed: ['b'], affected: [], added: ['n'], removed: ['c'] });
  });
});
