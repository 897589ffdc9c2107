/**
 * docs/semantics.md §3 (conditions as the engine evaluates them on edges), §4 (input mapping) and §5 (readiness,
 * skips, structural nodes, scheduling).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyInputChecks, pendingInputChecks, pendingTimers, promoteDueNodes } from '../../src/engine';
import { at, chain, Driver, edge, eventsOf, human, nodeOf, plan, run, statuses, structural, submit, T0, task, trace, types } from './engine-helpers';

describe('engine readiness: roots and input mapping (§4)', () => {
  it('a root node gets the run input as its resolved input and is dispatched', () => {
    const state = run(plan([task('a')]), { topic: 'durable agents', n: 3 });
    assert.deepEqual(nodeOf(state, 'a').resolvedInput, { topic: 'durable agents', n: 3 });
    assert.equal(statuses(state).a, 'running');
  });

  it('a spec without an edges list runs every node as a root', () => {
    const state = run({ id: 'no-edges', nodes: [task('a'), task('b')], maxConcurrency: 2 }, { k: 1 });
    assert.deepEqual(statuses(state), { a: 'running', b: 'running' });
    assert.deepEqual(nodeOf(state, 'b').resolvedInput, { k: 1 });
  });

  it('the resolved input is a copy: later changes to the run input object do not leak in', () => {
    const input = { topic: 'x' };
    const state = run(plan([task('a')]), input);
    input.topic = 'changed';
    assert.deepEqual(nodeOf(state, 'a').resolvedInput, { topic: 'x' });
  });

  it('maps into nested paths, creating objects on the way, and leaves out undefined values', () => {
    const d = new Driver(
      plan([task('a'), task('b')], [edge('a', 'b', { map: { 'a.b.c': 'output.x', 'meta.topic': 'run.input.topic', gone: 'output.missing', 'deep.gone': 'output.nope.nope' } })]),
      { topic: 't' },
    );
    d.submit('a', { x: 42 });
    const input = nodeOf(d.state, 'b').resolvedInput as Record<string, unknown>;
    assert.deepEqual(input, { a: { b: { c: 42 } }, meta: { topic: 't' } });
    assert.equal('gone' in input, false);
    assert.equal('deep' in input, false, 'a missing value must not even create the objects on its way');
  });

  it('maps from input, artifact and run.input of the source context', () => {
    const d = new Driver(
      plan([task('a'), task('b')], [edge('a', 'b', { map: { fromInput: 'input.topic', link: 'artifact.notes.pointer', kind: 'artifact.notes.kind', runTopic: 'run.input.topic' } })]),
      { topic: 'T' },
    );
    d.submit('a', { ok: true }, [], { artifacts: [{ name: 'notes', kind: 'file', pointer: 's3://bucket/notes.md' }] });
    assert.deepEqual(nodeOf(d.state, 'b').resolvedInput, { fromInput: 'T', link: 's3://bucket/notes.md', kind: 'file', runTopic: 'T' });
  });

  it('a later edge overwrites an earlier one (spec order), also over a nested object', () => {
    const d = new Driver(
      plan(
        [task('a'), task('b'), task('c')],
        [edge('a', 'c', { map: { v: 'output.v', 'obj.x': 'output.v', keep: 'output.v' } }), edge('b', 'c', { map: { v: 'output.v', obj: 'output.v' } })],
      ),
      {},
    );
    // maxConcurrency 1: a runs first, then b.
    d.submit('a', { v: 'from-a' });
    d.submit('b', { v: 'from-b' });
    assert.deepEqual(nodeOf(d.state, 'c').resolvedInput, { v: 'from-b', obj: 'from-b', keep: 'from-a' });
  });

  it('edge order, not completion order, decides who wins', () => {
    const d = new Driver(
      plan([task('a'), task('b'), task('c')], [edge('b', 'c', { map: { v: 'output.v' } }), edge('a', 'c', { map: { v: 'output.v' } })], { maxConcurrency: 2 }),
      {},
    );
    d.submit('b', { v: 'from-b' });
    d.submit('a', { v: 'from-a' });
    assert.deepEqual(nodeOf(d.state, 'c').resolvedInput, { v: 'from-a' }, 'edge a→c comes later in the spec');
  });

  it('nested targets from different edges merge; a later scalar replaces an earlier object and vice versa; null is written', () => {
    const d = new Driver(
      plan(
        [task('a'), task('b'), task('c')],
        [
          edge('a', 'c', { map: { 'm.x': 'output.x', s: 'output.x', o: 'output.obj', n: 'output.nothing' } }),
          edge('b', 'c', { map: { 'm.y': 'output.y', 's.deep': 'output.y', o: 'output.y' } }),
        ],
        { maxConcurrency: 2 },
      ),
    );
    d.submit('a', { x: 1, obj: { k: 1 }, nothing: null });
    d.submit('b', { y: 2 });
    assert.deepEqual(nodeOf(d.state, 'c').resolvedInput, { m: { x: 1, y: 2 }, s: { deep: 2 }, o: 2, n: null });
  });

  it('a whole output can be mapped', () => {
    const d = new Driver(plan([task('a'), task('b')], [edge('a', 'b', { map: { prev: 'output' } })]));
    d.submit('a', { x: [1, { y: 2 }] });
    assert.deepEqual(nodeOf(d.state, 'b').resolvedInput, { prev: { x: [1, { y: 2 }] } });
  });

  it('a non-root node without maps gets an empty object, not the run input', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')), { topic: 'x' });
    d.submit('a', { v: 1 });
    assert.deepEqual(nodeOf(d.state, 'b').resolvedInput, {});
  });

  it('the resolved input is fixed once set: it does not follow later changes upstream', () => {
    const d = new Driver(plan([task('a'), task('b'), task('c')], [edge('a', 'c', { map: { v: 'output.v' } }), edge('b', 'c')], { maxConcurrency: 3 }), {});
    d.submit('a', { v: 1 });
    d.submit('b', {});
    assert.deepEqual(nodeOf(d.state, 'c').resolvedInput, { v: 1 });
  });
});

describe('engine readiness: waiting and skipping (§5)', () => {
  it('a node waits until every upstream node finished', () => {
    const d = new Driver(plan([task('a'), task('b'), task('c')], [edge('a', 'c'), edge('b', 'c')], { maxConcurrency: 2 }));
    d.submit('a', {});
    assert.equal(d.status('c'), 'pending');
    d.submit('b', {});
    assert.equal(d.status('c'), 'running');
  });

  it('skips propagate down a chain: a → b (when false) → c → d are all skipped', () => {
    const d = new Driver(plan([task('a'), task('b'), task('c'), task('d')], [edge('a', 'b', { when: 'output.go == true' }), ...chain('b', 'c', 'd')]));
    const t = d.submit('a', { go: false });
    assert.deepEqual(statuses(d.state), { a: 'completed', b: 'skipped', c: 'skipped', d: 'skipped' });
    assert.deepEqual(
      trace(t).filter((type) => type.startsWith('node-skipped')),
      ['node-skipped:b', 'node-skipped:c', 'node-skipped:d'],
    );
    const skipped = eventsOf(t.events, 'node-skipped', 'c')[0];
    assert.equal(skipped.fromStatus, 'pending');
    assert.equal(skipped.toStatus, 'skipped');
    assert.equal(d.state.status, 'completed');
    assert.equal(eventsOf(d.events, 'node-running', 'c').length, 0, 'nothing behind a skipped branch runs');
  });

  it('skips propagate whatever the position order (downstream nodes listed first)', () => {
    const d = new Driver(plan([task('d'), task('c'), task('b'), task('a')], [edge('a', 'b', { when: 'output.go' }), edge('b', 'c'), edge('c', 'd')]));
    assert.equal(d.status('a'), 'running');
    const t = d.submit('a', { go: false });
    assert.deepEqual(statuses(d.state), { d: 'skipped', c: 'skipped', b: 'skipped', a: 'completed' });
    assert.deepEqual(trace(t).filter((type) => type.startsWith('node-skipped')), ['node-skipped:b', 'node-skipped:c', 'node-skipped:d']);
  });

  it('diamond: a → b (skipped) and a → c both feed d; d runs with c\'s mapping only', () => {
    const d = new Driver(
      plan(
        [task('a'), task('b'), task('c'), task('d')],
        [edge('a', 'b', { when: 'output.big == true' }), edge('a', 'c'), edge('b', 'd', { map: { from: 'output.name' } }), edge('c', 'd', { map: { other: 'output.name' } })],
      ),
    );
    d.submit('a', { big: false });
    assert.equal(d.status('b'), 'skipped');
    d.submit('c', { name: 'c' });
    assert.equal(d.status('d'), 'running');
    assert.deepEqual(nodeOf(d.state, 'd').resolvedInput, { other: 'c' });
  });

  it('a human node behind a skipped branch is skipped: no approval is requested', () => {
    const d = new Driver(plan([task('a'), human('h'), task('b')], [edge('a', 'h', { when: 'output.ask' }), edge('h', 'b')]));
    d.submit('a', { ask: false });
    assert.deepEqual(statuses(d.state), { a: 'completed', h: 'skipped', b: 'skipped' });
    assert.equal(d.state.approvals.length, 0);
    assert.equal(eventsOf(d.events, 'approval-requested').length, 0);
  });

  it('an unconditional edge from a skipped node is not active (no run behind a skipped branch)', () => {
    const d = new Driver(plan([task('a'), task('b'), task('c')], [edge('a', 'b', { when: 'output.ok' }), edge('b', 'c')]));
    d.submit('a', { ok: 0 });
    assert.equal(d.status('c'), 'skipped');
  });

  it('a node with one active and one skipped upstream still runs', () => {
    const d = new Driver(
      plan([task('a'), task('b'), task('c')], [edge('a', 'b', { when: 'output.go == true' }), edge('b', 'c'), edge('a', 'c', { map: { v: 'output.v' } })]),
    );
    d.submit('a', { go: false, v: 7 });
    assert.equal(d.status('b'), 'skipped');
    assert.equal(d.status('c'), 'running');
    assert.deepEqual(nodeOf(d.state, 'c').resolvedInput, { v: 7 });
  });

  it('a partial upstream activates its edges', () => {
    const d = new Driver(plan([task('a'), task('b')], [edge('a', 'b', { map: { v: 'output.v' } })]));
    d.submit('a', { v: 1 }, [{ severity: 'warning', code: 'x', message: 'short' }]);
    assert.equal(d.status('a'), 'partial');
    assert.equal(d.status('b'), 'running');
    assert.deepEqual(nodeOf(d.state, 'b').resolvedInput, { v: 1 });
  });

  it('a failed upstream keeps its downstream pending (not skipped)', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    d.fail('a', 'agent-error');
    assert.equal(d.status('a'), 'failed');
    assert.equal(d.status('b'), 'pending');
  });

  it('a blocked upstream keeps its downstream pending', () => {
    const d = new Driver(plan([task('a', { onFailure: [{ on: 'agent-error', action: 'replan' }] }), task('b')], chain('a', 'b')));
    d.fail('a', 'agent-error');
    assert.equal(d.status('a'), 'blocked');
    assert.equal(d.status('b'), 'pending');
  });
});

describe('engine readiness: conditions on edges (§3)', () => {
  /** a → b with `when`; returns b's status after a completes with `output`. */
  const route = (when: string, output: unknown, input: unknown = {}) => {
    const d = new Driver(plan([task('a'), task('b')], [edge('a', 'b', { when })]), input);
    d.submit('a', output);
    return d.status('b');
  };

  it('missing paths are false for ==, ordering and truthiness', () => {
    assert.equal(route('output.missing == 1', {}), 'skipped');
    assert.equal(route('output.missing > 0', {}), 'skipped');
    assert.equal(route('output.missing', {}), 'skipped');
    assert.equal(route('output.a.b.c == true', { a: 1 }), 'skipped');
    assert.equal(route('output.missing == null', {}), 'skipped', 'missing is not null');
    // Strict inequality: a missing value is != any literal (the engine's reading of §3's "strict").
    assert.equal(route('output.missing != 1', {}), 'running');
  });

  it('strings and numbers never compare equal ("5" vs 5 is strict)', () => {
    assert.equal(route('output.n == 5', { n: '5' }), 'skipped');
    assert.equal(route('output.n == 5', { n: 5 }), 'running');
    assert.equal(route("output.n == '5'", { n: '5' }), 'running');
    assert.equal(route('output.n == "5"', { n: 5 }), 'skipped');
    assert.equal(route('output.n != 5', { n: '5' }), 'running');
    assert.equal(route('output.n >= 5', { n: '7' }), 'skipped', 'ordering compares numbers only');
    assert.equal(route('output.n >= 5', { n: 7 }), 'running');
    assert.equal(route('output.n < 5', { n: 4.5 }), 'running');
  });

  it('booleans, null and bare strings', () => {
    assert.equal(route('output.ok == true', { ok: true }), 'running');
    assert.equal(route('output.ok == true', { ok: 'true' }), 'skipped');
    assert.equal(route('output.v == null', { v: null }), 'running');
    assert.equal(route('output.kind == draft', { kind: 'draft' }), 'running');
    assert.equal(route('output.ok', { ok: 'yes' }), 'running');
    assert.equal(route('output.ok', { ok: '' }), 'skipped');
  });

  it('a prose condition is not executable and counts as true', () => {
    assert.equal(route('if the draft looks good', { anything: false }), 'running');
  });

  it('"always" and a missing when are true', () => {
    assert.equal(route('always', {}), 'running');
  });

  it('conditions see input, artifacts and run.input of the source', () => {
    assert.equal(route('input.topic == "x"', {}, { topic: 'x' }), 'running');
    assert.equal(route('run.input.n > 2', {}, { n: 3 }), 'running');
    assert.equal(route('run.input.n > 2', {}, { n: 2 }), 'skipped');
  });
});

describe('engine readiness: switch and join (§5)', () => {
  const spec = plan(
    [task('classify'), structural('route', 'switch'), task('short'), task('long'), structural('merge', 'join'), task('publish')],
    [
      edge('classify', 'route', { map: { size: 'output.size', words: 'output.words' } }),
      edge('route', 'short', { when: 'output.size == "short"', map: { words: 'input.words' } }),
      edge('route', 'long', { when: 'input.size == "long"', map: { words: 'output.words' } }),
      edge('short', 'merge', { map: { text: 'output.text', via: 'input.words' } }),
      edge('long', 'merge', { map: { text: 'output.text' } }),
      edge('merge', 'publish', { map: { text: 'output.text' } }),
    ],
  );

  it('a switch auto-completes with its resolved input as output; one branch taken, one skipped; the join completes with the taken branch', () => {
    const d = new Driver(spec);
    const t1 = d.submit('classify', { size: 'short', words: 120, extra: 'not mapped' });
    const route = nodeOf(d.state, 'route');
    assert.equal(route.status, 'completed');
    assert.deepEqual(route.output, { size: 'short', words: 120 });
    assert.deepEqual(route.output, route.resolvedInput);
    assert.equal(eventsOf(t1.events, 'node-auto-completed', 'route').length, 1);
    assert.equal(eventsOf(t1.events, 'node-running', 'route').length, 0, 'structural nodes never run');
    assert.equal(d.status('short'), 'running');
    assert.equal(d.status('long'), 'skipped');
    assert.deepEqual(nodeOf(d.state, 'short').resolvedInput, { words: 120 });

    const t2 = d.submit('short', { text: 'hello' });
    const merge = nodeOf(d.state, 'merge');
    assert.equal(merge.status, 'completed');
    assert.deepEqual(merge.resolvedInput, { text: 'hello', via: 120 });
    assert.deepEqual(merge.output, { text: 'hello', via: 120 });
    assert.ok(trace(t2).includes('node-auto-completed:merge'));
    assert.equal(d.status('publish'), 'running');
    assert.deepEqual(nodeOf(d.state, 'publish').resolvedInput, { text: 'hello' });
    d.submit('publish', {});
    assert.equal(d.state.status, 'completed');
  });

  it('the other branch (tested on input.x) is taken for the other value', () => {
    const d = new Driver(spec);
    d.submit('classify', { size: 'long', words: 5000 });
    assert.equal(d.status('short'), 'skipped');
    assert.equal(d.status('long'), 'running');
    d.submit('long', { text: 'essay' });
    assert.deepEqual(nodeOf(d.state, 'merge').output, { text: 'essay' });
  });

  it('a join whose every branch is skipped is skipped, and so is everything after it', () => {
    const d = new Driver(spec);
    d.submit('classify', { size: 'medium' });
    assert.deepEqual(statuses(d.state), { classify: 'completed', route: 'completed', short: 'skipped', long: 'skipped', merge: 'skipped', publish: 'skipped' });
    assert.equal(d.state.status, 'completed');
  });

  it('a structural root completes at start with the run input', () => {
    const t = new Driver(plan([structural('start', 'switch'), task('a')], [edge('start', 'a', { map: { t: 'output.topic' } })]), { topic: 'x' });
    assert.equal(t.status('start'), 'completed');
    assert.deepEqual(nodeOf(t.state, 'start').output, { topic: 'x' });
    assert.deepEqual(nodeOf(t.state, 'a').resolvedInput, { t: 'x' });
  });
});

describe('engine readiness: input schema checks (§5)', () => {
  const spec = plan(
    [task('a'), task('b', { inputSchema: 'BIn', onFailure: [{ on: 'input', action: 'skip' }] }), task('c')],
    [edge('a', 'b', { map: { v: 'output.v' } }), edge('b', 'c')],
    { schemas: { BIn: { type: 'object', required: ['v'] } } },
  );

  it('a node with an inputSchema waits for its input check; pendingInputChecks returns the request', () => {
    const d = new Driver(spec);
    d.submit('a', { v: 1 });
    const b = nodeOf(d.state, 'b');
    assert.equal(b.status, 'pending');
    assert.equal(b.inputCheckPending, true);
    assert.equal(d.state.status, 'running', 'a pending input check can still move');
    const checks = pendingInputChecks(d.state);
    assert.equal(checks.length, 1);
    assert.equal(checks[0].nodeId, 'b');
    assert.equal(checks[0].request.schemaRef, 'BIn');
    assert.deepEqual(checks[0].request.schemas, { BIn: { type: 'object', required: ['v'] } });
    assert.deepEqual(checks[0].request.value, { v: 1 });
    assert.equal(checks[0].request.schemaIssueCode, 'input-schema');
  });

  it('a passing input check makes the node ready and dispatches it', () => {
    const d = new Driver(spec);
    d.submit('a', { v: 1 });
    const t = d.take(applyInputChecks(d.state, [{ nodeId: 'b', issues: [] }], at(5000)));
    assert.equal(d.status('b'), 'running');
    assert.deepEqual(types(t).slice(0, 3), ['node-ready', 'node-running', 'ownership-transition']);
    assert.equal(pendingInputChecks(d.state).length, 0);
    assert.ok(t.checkpoint);
  });

  it('a blocking input issue is failure class input, handled by onFailure (here: skip, downstream skipped)', () => {
    const d = new Driver(spec);
    d.submit('a', {});
    const issues = [{ severity: 'blocking' as const, code: 'input-schema', message: 'must have required property v', path: '' }];
    const t = d.take(applyInputChecks(d.state, [{ nodeId: 'b', issues }], at(5000)));
    assert.equal(d.status('b'), 'skipped');
    assert.equal(nodeOf(d.state, 'b').failureClass, 'input');
    assert.equal(d.status('c'), 'skipped');
    assert.equal(d.state.failureCount, 1);
    const reported = eventsOf(t.events, 'validation-reported', 'b')[0];
    assert.equal(reported.detail?.failureClass, 'input');
    assert.equal(t.checkpoint?.reason, 'node-result-skip');
    assert.equal(d.state.status, 'completed');
  });

  it('an input failure without an onFailure rule aborts the run', () => {
    const d = new Driver(plan([task('a', { inputSchema: 'S' })], [], { schemas: { S: { type: 'object' } } }));
    assert.equal(nodeOf(d.state, 'a').inputCheckPending, true);
    d.take(applyInputChecks(d.state, [{ nodeId: 'a', issues: [{ severity: 'blocking', code: 'input-schema', message: 'no' }] }], at(1)));
    assert.equal(d.status('a'), 'failed');
    assert.equal(d.state.status, 'failed');
  });

  it('an input failure is not retried, even with attempts left and an empty retryOn (same input, same result)', () => {
    const d = new Driver(plan([task('a', { inputSchema: 'S', retry: { maxAttempts: 3 }, onFailure: [{ on: 'input', action: 'replan' }] })], [], { schemas: { S: {} } }));
    const t = d.take(applyInputChecks(d.state, [{ nodeId: 'a', issues: [{ severity: 'blocking', code: 'input-schema', message: 'no' }] }], at(1)));
    assert.equal(d.status('a'), 'blocked');
    assert.equal(eventsOf(t.events, 'node-unblocked').length, 0);
    assert.equal(nodeOf(d.state, 'a').attempts, 0, 'an input failure is not an attempt');
  });

  it('an input failure with human-review asks a reviewer for the output', () => {
    const d = new Driver(plan([task('a', { inputSchema: 'S', onFailure: [{ on: 'input', action: 'human-review' }] })], [], { schemas: { S: {} } }));
    const issue = { severity: 'blocking' as const, code: 'input-schema', message: 'no' };
    d.take(applyInputChecks(d.state, [{ nodeId: 'a', issues: [issue] }], at(1)));
    assert.equal(d.status('a'), 'awaiting-human');
    assert.equal(d.state.approvals[0].approvalId, 'a#1');
    assert.deepEqual(d.state.approvals[0].issues, [issue]);
    d.respond('a', { done: 'by hand' }, 'reviewer');
    assert.equal(d.state.status, 'completed');
  });

  it('input warnings do not fail the check', () => {
    const d = new Driver(spec);
    d.submit('a', { v: 1 });
    d.take(applyInputChecks(d.state, [{ nodeId: 'b', issues: [{ severity: 'warning', code: 'input-schema', message: 'hm' }] }], at(5000)));
    assert.equal(d.status('b'), 'running');
  });

  it('results for nodes without a pending check are ignored', () => {
    const d = new Driver(spec);
    const t = applyInputChecks(d.state, [{ nodeId: 'a', issues: [{ severity: 'blocking', code: 'x', message: 'x' }] }], at(5000));
    assert.equal(statuses(t.state).a, 'running');
    assert.equal(t.events.length, 0);
    assert.equal(t.checkpoint, undefined);
  });
});

describe('engine readiness: delays and notBefore (§5)', () => {
  it('delayAfterPredecessorMs schedules the node; pendingTimers lists it; promotion at that time dispatches it', () => {
    const d = new Driver(plan([task('a'), task('b', { delayAfterPredecessorMs: 60_000 })], chain('a', 'b')));
    const t = d.submit('a', {}, [], {}, at(1000));
    const b = nodeOf(d.state, 'b');
    assert.equal(b.status, 'scheduled');
    assert.equal(b.scheduledUntil, at(61_000));
    const scheduled = eventsOf(t.events, 'node-scheduled', 'b')[0];
    assert.deepEqual({ ...scheduled.detail, causedBy: undefined }, { until: at(61_000), reason: 'delayAfterPredecessorMs', causedBy: undefined });
    assert.equal(d.state.status, 'running', 'a node waiting on a timer keeps the run running');
    assert.deepEqual(pendingTimers(d.state), [
      { key: 'ready:b', kind: 'ready', nodeId: 'b', at: at(61_000), summary: `b: delayAfterPredecessorMs until ${at(61_000)}` },
    ]);

    const early = promoteDueNodes(d.state, at(60_999));
    assert.equal(statuses(early.state).b, 'scheduled');
    assert.equal(early.events.length, 0);
    assert.equal(early.checkpoint, undefined, 'nothing changed, no checkpoint');

    const due = d.take(promoteDueNodes(d.state, at(61_000)));
    assert.deepEqual(trace(due).slice(0, 3), ['node-ready:b', 'node-running:b', 'ownership-transition:b']);
    assert.equal(due.checkpoint?.reason, 'delayed-node-promoted');
    assert.equal(d.status('b'), 'running');
    assert.equal(nodeOf(d.state, 'b').scheduledUntil, undefined);
    assert.deepEqual(pendingTimers(d.state), []);
    assert.equal(due.workItems.length, 1);
  });

  it('a late timer (after the due time) also promotes', () => {
    const d = new Driver(plan([task('a', { delayAfterPredecessorMs: 10 })]));
    assert.equal(d.status('a'), 'scheduled');
    d.take(promoteDueNodes(d.state, at(99_999)));
    assert.equal(d.status('a'), 'running');
  });

  it('notBefore in the future schedules until then; in the past it does not', () => {
    const future = new Driver(plan([task('a', { notBefore: '2026-12-01T09:00:00Z' })]));
    assert.equal(future.status('a'), 'scheduled');
    assert.equal(nodeOf(future.state, 'a').scheduledUntil, '2026-12-01T09:00:00.000Z');
    assert.equal(eventsOf(future.events, 'node-scheduled', 'a')[0].detail?.reason, 'notBefore');
    const past = new Driver(plan([task('a', { notBefore: '2025-01-01T00:00:00Z' })]));
    assert.equal(past.status('a'), 'running');
    const exactlyNow = new Driver(plan([task('a', { notBefore: T0 })]));
    assert.equal(exactlyNow.status('a'), 'running', 'notBefore == now does not lie ahead');
  });

  it('the later of delay and notBefore wins', () => {
    const d = new Driver(plan([task('a', { delayAfterPredecessorMs: 1000, notBefore: at(5000) })]));
    assert.equal(nodeOf(d.state, 'a').scheduledUntil, at(5000));
    assert.equal(nodeOf(d.state, 'a').scheduledReason, 'notBefore');
  });

  it('a scheduled structural node auto-completes when promoted', () => {
    const d = new Driver(plan([structural('s', 'switch', { delayAfterPredecessorMs: 1000 }), task('a')], chain('s', 'a')));
    assert.equal(d.status('s'), 'scheduled');
    const t = d.take(promoteDueNodes(d.state, at(1000)));
    assert.deepEqual(trace(t).slice(0, 3), ['node-auto-completed:s', 'node-ready:a', 'node-running:a']);
  });
});

// Keep `submit` (the functional helper) exercised too.
describe('engine readiness: functional helpers', () => {
  it('submit() on a started run completes a single node run', () => {
    const t = submit(run(plan([task('a')])), 'a', { done: true });
    assert.equal(t.state.status, 'completed');
  });
});
