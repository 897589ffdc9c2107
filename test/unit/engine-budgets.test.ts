/**
 * docs/semantics.md, "Budgets": `usage` on results (recorded per attempt, summed per node and run),
 * `budget` on task nodes and on the plan (validated with paths), `budget-warning` once per budget,
 * a node over its budget failing with class `budget` (no retry, `onFailure` decides), a run over
 * its plan's budget `blocked` until `raiseBudget` or `cancel`, and plans without budgets unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyAgentSubmission,
  cancelRun,
  compactForHandOver,
  currentDetails,
  raiseBudget,
  recordOf,
  retryNode,
  snapshotOf,
  type PlanNode,
  type PlanSpec,
} from '../../src/engine';
import { validatePlanSpec } from '../../src/engine/validate-spec';
import { blocking, chain, Driver, edge, eventsOf, human, nodeOf, ok, plan, refused, task, trace } from './engine-helpers';

const usage = (inputTokens: number, outputTokens: number, costUsd?: number) => ({ usage: { inputTokens, outputTokens, ...(costUsd !== undefined ? { costUsd } : {}) } });
const costing = (costUsd: number) => ({ usage: { costUsd } });
const lastCheckpointReason = (d: Driver) => d.transitions.at(-1)?.checkpoint?.reason;

describe('engine budgets: validation (docs/semantics.md §2, "Budgets")', () => {
  const errorsOf = (spec: PlanSpec) => validatePlanSpec(spec).errors.map((e) => `${e.path}: ${e.message}`);

  it('accepts budgets on task nodes and on the plan', () => {
    const result = validatePlanSpec(plan([task('a', { budget: { maxTokens: 1000, warnAt: 0.5 } })], [], { budget: { maxCostUsd: 2 } }));
    assert.ok(result.valid, result.errors.map((e) => e.message).join('; '));
  });

  it('a budget on a human node is an error at its path', () => {
    const errors = errorsOf(plan([task('a'), human('b', 'human-approval', { budget: { maxCostUsd: 1 } } as Partial<PlanNode>)], [edge('a', 'b')]));
    assert.equal(errors.length, 1);
    assert.match(errors[0], /^\$\.nodes\[1\]\.budget: .*only applies to task nodes/);
  });

  it('a budget needs a limit, on a node and on the plan', () => {
    assert.match(errorsOf(plan([task('a', { budget: { warnAt: 0.5 } })]))[0], /^\$\.nodes\[0\]\.budget: .*needs a limit/);
    assert.match(errorsOf(plan([task('a')], [], { budget: {} }))[0], /^\$\.budget: .*the plan.*needs a limit/);
  });

  it('limits are non-negative and warnAt is a fraction in (0, 1]', () => {
    assert.match(errorsOf(plan([task('a', { budget: { maxTokens: -1 } })])).join('\n'), /\$\.nodes\[0\]\.budget\.maxTokens: .*negative/);
    assert.match(errorsOf(plan([task('a')], [], { budget: { maxCostUsd: 1, warnAt: 1.5 } })).join('\n'), /\$\.budget\.warnAt: .*at most 1/);
    assert.match(errorsOf(plan([task('a')], [], { budget: { maxCostUsd: 1, warnAt: 0 } })).join('\n'), /\$\.budget\.warnAt: .*more than 0/);
    assert.match(errorsOf(plan([task('a', { budget: { maxTokens: 10, costs: 1 } as never })])).join('\n'), /\$\.nodes\[0\]\.budget/);
  });
});

describe('engine budgets: usage on results', () => {
  it('is recorded with the attempt and summed per node and run', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 2 } }), task('b')], chain('a', 'b')));
    d.submit('a', {}, [blocking()], usage(100, 20, 0.1));
    d.submit('a', { ok: true }, [], usage(50, 30, 0.2));
    d.submit('b', { ok: true }, [], { usage: { outputTokens: 5 } });
    const a = nodeOf(d.state, 'a');
    assert.deepEqual(a.history.map((record) => record.usage), [
      { inputTokens: 100, outputTokens: 20, costUsd: 0.1 },
      { inputTokens: 50, outputTokens: 30, costUsd: 0.2 },
    ]);
    // 0.1 + 0.2 is 0.3 here, not 0.30000000000000004.
    assert.deepEqual(a.usage, { inputTokens: 150, outputTokens: 50, costUsd: 0.3 });
    const snapshot = snapshotOf(d.state);
    assert.deepEqual(snapshot.nodes.find((n) => n.id === 'a')?.usage, { inputTokens: 150, outputTokens: 50, costUsd: 0.3, tokens: 200 });
    assert.deepEqual(snapshot.nodes.find((n) => n.id === 'b')?.usage, { outputTokens: 5, tokens: 5 });
    assert.deepEqual(snapshot.usage, { inputTokens: 150, outputTokens: 55, costUsd: 0.3, tokens: 205 });
    assert.equal(snapshot.budget, undefined);
    assert.equal(snapshot.status, 'completed');
  });

  it('a failure report may carry usage too', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 2 } })]));
    d.take(ok(applyAgentSubmission(d.state, { nodeId: 'a', failure: { message: 'tool down' }, ...costing(0.5) }, [], d.now())));
    assert.deepEqual(nodeOf(d.state, 'a').usage, { costUsd: 0.5 });
    assert.equal(d.status('a'), 'running');
  });

  it('negative, non-finite or unknown usage fields are refused with their path', () => {
    const d = new Driver(plan([task('a')]));
    for (const bad of [{ inputTokens: -1 }, { costUsd: 'free' }, { tokens: 3 }]) {
      const refusal = refused(applyAgentSubmission(d.state, { nodeId: 'a', usage: bad }, [], d.now()), 'invalid-payload');
      assert.match(refusal.message, /usage/);
    }
    assert.equal(d.status('a'), 'running');
  });

  it('goes into the attempt row the store writes', () => {
    const d = new Driver(plan([task('a')]));
    const before = d.state;
    const transition = d.submit('a', {}, [], usage(10, 2, 0.01));
    const record = recordOf(before, transition);
    assert.deepEqual(record?.attempts.map((row) => row.usage), [{ inputTokens: 10, outputTokens: 2, costUsd: 0.01 }]);
  });

  it('survives the hand-over to the next execution, which drops old attempt records', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    d.submit('a', {}, [], usage(10, 2, 0.25));
    const handed = compactForHandOver(d.state);
    assert.equal(nodeOf(handed, 'a').history.length, 0);
    assert.deepEqual(snapshotOf(handed).nodes.find((n) => n.id === 'a')?.usage, { inputTokens: 10, outputTokens: 2, costUsd: 0.25, tokens: 12 });
    assert.deepEqual(handed.usage, { inputTokens: 10, outputTokens: 2, costUsd: 0.25 });
  });

  it('instances of a fan-out add to their node and to the run', () => {
    const d = new Driver(plan([task('r', { forEach: { items: 'input.topics' } })], [], { maxConcurrency: 2 }), { topics: ['x', 'y'] });
    d.submit('r[0]', {}, [], costing(0.5));
    d.submit('r[1]', {}, [], costing(0.25));
    assert.deepEqual(snapshotOf(d.state).nodes[0].usage, { costUsd: 0.75, tokens: 0 });
    assert.deepEqual(d.state.usage, { costUsd: 0.75 });
  });
});

describe('engine budgets: a node budget', () => {
  const budgeted = (extra: Partial<PlanNode> = {}) =>
    plan([task('draft', { budget: { maxTokens: 1000 }, retry: { maxAttempts: 3 }, ...extra }), task('publish'), task('cheap')], [
      edge('draft', 'publish'),
      edge('draft', 'cheap', { when: 'always' }),
    ]);

  it('records the attempt, then fails the node with class budget, without retry; onFailure decides', () => {
    const d = new Driver(budgeted({ onFailure: [{ on: 'budget', action: 'skip' }] }));
    const transition = d.submit('draft', { text: 'long' }, [], usage(900, 200));
    const node = nodeOf(d.state, 'draft');
    assert.equal(node.attempts, 1);
    assert.equal(node.history[0].status, 'failed');
    assert.equal(node.history[0].failureClass, 'budget');
    assert.deepEqual(node.history[0].usage, { inputTokens: 900, outputTokens: 200 });
    assert.ok(node.history[0].issues.some((issue) => issue.code === 'budget' && /1100 of 1000 tokens/.test(issue.message)));
    // Three attempts allowed, but another attempt costs more: no retry.
    assert.equal(d.status('draft'), 'skipped');
    assert.equal(node.failureClass, 'budget');
    assert.deepEqual(trace(transition).slice(0, 3), ['budget-warning:draft', 'budget-exceeded:draft', 'node-skipped:draft']);
    const exceeded = eventsOf(d.events, 'budget-exceeded', 'draft')[0];
    assert.deepEqual(exceeded.detail?.passed, ['maxTokens']);
    assert.equal(exceeded.detail?.scope, 'node');
    assert.equal(d.state.failureCount, 1);
    assert.equal(d.status('publish'), 'skipped');
    assert.equal(d.state.status, 'completed');
    assert.equal(transition.checkpoint?.reason, 'node-result-skip');
  });

  it('with the default onFailure the node fails and the run fails; the outcome says why', () => {
    const d = new Driver(budgeted());
    const result = ok(applyAgentSubmission(d.state, { nodeId: 'draft', structuredOutput: {}, ...usage(1001, 0) }, [], d.now()));
    d.take(result);
    assert.equal(d.status('draft'), 'failed');
    assert.equal(d.state.status, 'failed');
    assert.equal(result.outcome.failureClass, 'budget');
    assert.equal(result.outcome.verdict, 'rejected');
    assert.equal(result.outcome.failureAction, 'abort');
    assert.equal(result.outcome.nextAttempt, undefined);
    assert.match(result.outcome.message ?? '', /over its budget, so not retried/);
  });

  it('counts over the node\'s attempts; exactly at the limit is not over it; the warning fires once', () => {
    const d = new Driver(budgeted({ budget: { maxTokens: 1000, warnAt: 0.5 } }));
    d.submit('draft', {}, [blocking()], usage(500, 0)); // 50%: warning
    assert.equal(eventsOf(d.events, 'budget-warning', 'draft').length, 1);
    assert.equal(d.status('draft'), 'running');
    d.submit('draft', {}, [blocking()], usage(400, 0)); // 90%: no second warning
    assert.equal(eventsOf(d.events, 'budget-warning', 'draft').length, 1);
    d.submit('draft', { done: true }, [], usage(100, 0)); // exactly 1000: within
    assert.equal(d.status('draft'), 'completed');
    assert.equal(eventsOf(d.events, 'budget-exceeded').length, 0);
  });

  it('a cost budget works the same way, warning at 80% by default', () => {
    const d = new Driver(plan([task('a', { budget: { maxCostUsd: 1 }, retry: { maxAttempts: 5 } })]));
    d.submit('a', {}, [blocking()], costing(0.7));
    assert.equal(eventsOf(d.events, 'budget-warning').length, 0);
    d.submit('a', {}, [blocking()], costing(0.1));
    const warning = eventsOf(d.events, 'budget-warning', 'a');
    assert.equal(warning.length, 1);
    assert.deepEqual(warning[0].detail?.budget, { maxCostUsd: 1, warnAt: 0.8 });
    d.submit('a', {}, [blocking()], costing(0.21));
    assert.equal(nodeOf(d.state, 'a').failureClass, 'budget');
    assert.equal(d.status('a'), 'failed');
  });

  it('an operator retry gives the node its budget afresh', () => {
    const d = new Driver(budgeted());
    d.submit('draft', {}, [], usage(1200, 0));
    assert.equal(d.status('draft'), 'failed');
    d.take(ok(retryNode(d.state, { nodeId: 'draft', by: 'ops' }, d.now())));
    assert.equal(d.status('draft'), 'running');
    d.submit('draft', { ok: true }, [], usage(900, 0));
    assert.equal(d.status('draft'), 'completed');
    // The node's sum still counts every attempt.
    assert.deepEqual(nodeOf(d.state, 'draft').usage, { inputTokens: 2100, outputTokens: 0 });
  });

  it('a loop iteration starts the body nodes\' budgets over', () => {
    const spec = plan([task('draft', { budget: { maxTokens: 100 } }), task('review')], [
      edge('draft', 'review'),
      edge('review', 'draft', { when: 'output.again == true', loop: { maxIterations: 3 } }),
    ]);
    const d = new Driver(spec);
    d.submit('draft', {}, [], usage(90, 0));
    d.submit('review', { again: true }, []);
    assert.equal(d.status('draft'), 'running');
    d.submit('draft', {}, [], usage(90, 0)); // 180 in all, 90 in this iteration
    assert.equal(d.status('draft'), 'completed');
    assert.equal(eventsOf(d.events, 'budget-warning', 'draft').length, 2); // once per iteration's budget
  });

  it('results without usage never trip a budget', () => {
    const d = new Driver(budgeted({ budget: { maxTokens: 0 } }));
    d.submit('draft', { ok: true }, []);
    assert.equal(d.status('draft'), 'completed');
  });
});

describe('engine budgets: the plan budget', () => {
  // Two agents at once, so a result can arrive while the run is blocked.
  const spec = () =>
    plan([task('a'), task('b'), task('c'), task('d')], [edge('a', 'd'), edge('b', 'd'), edge('c', 'd')], { maxConcurrency: 2, budget: { maxCostUsd: 1 } });

  it('passing it emits budget-exceeded and blocks the run; active results are still recorded; nothing new starts', () => {
    const d = new Driver(spec());
    assert.deepEqual([d.status('a'), d.status('b'), d.status('c')], ['running', 'running', 'ready']);
    const over = d.submit('a', { ok: true }, [], costing(1.5));
    assert.equal(d.status('a'), 'completed');
    assert.equal(d.state.status, 'blocked');
    assert.equal(over.checkpoint?.reason, 'budget-exceeded');
    const exceeded = eventsOf(d.events, 'budget-exceeded');
    assert.equal(exceeded.length, 1);
    assert.equal(exceeded[0].nodeId, undefined);
    assert.equal(exceeded[0].detail?.scope, 'plan');
    assert.deepEqual(exceeded[0].detail?.passed, ['maxCostUsd']);
    // c was ready and stays ready: nothing new is dispatched.
    assert.equal(d.status('c'), 'ready');
    // b's result is still recorded, and still nothing starts.
    d.submit('b', { ok: true }, [], costing(0.1));
    assert.equal(d.status('b'), 'completed');
    assert.equal(d.status('c'), 'ready');
    assert.equal(d.state.status, 'blocked');
    assert.equal(eventsOf(d.events, 'budget-exceeded').length, 1);
    assert.deepEqual(snapshotOf(d.state).budget, { maxCostUsd: 1, warnAt: 0.8, exceeded: true });
    assert.match(currentDetails(d.state), /Spent: \$1\.60 of \$1\.00 ⛔ over budget/);
  });

  it('raiseBudget lets it go on (event budget-raised, checkpoint budget-raised)', () => {
    const d = new Driver(spec());
    d.submit('a', {}, [], costing(1.5));
    const raised = d.take(ok(raiseBudget(d.state, { maxCostUsd: 5, by: 'ops' }, d.now())));
    assert.equal(raised.checkpoint?.reason, 'budget-raised');
    assert.deepEqual(trace(raised).slice(0, 3), ['budget-raised', 'node-running:c', 'ownership-transition:c']);
    const event = eventsOf(d.events, 'budget-raised')[0];
    assert.equal(event.by, 'ops');
    assert.deepEqual(event.detail?.to, { maxCostUsd: 5 });
    assert.equal(d.state.status, 'running');
    assert.match(raised.summary ?? '', /goes on/);
    assert.deepEqual(snapshotOf(d.state).budget, { maxCostUsd: 5, warnAt: 0.8, exceeded: false });
  });

  it('a raise that is still below the spending leaves the run blocked', () => {
    const d = new Driver(spec());
    d.submit('a', {}, [], costing(3));
    const raised = d.take(ok(raiseBudget(d.state, { maxCostUsd: 2, by: 'ops' }, d.now())));
    assert.equal(d.state.status, 'blocked');
    assert.equal(d.status('c'), 'ready');
    assert.match(raised.summary ?? '', /stays blocked/);
    d.take(ok(raiseBudget(d.state, { maxCostUsd: 4, by: 'ops' }, d.now())));
    assert.equal(d.state.status, 'running');
    assert.equal(d.status('c'), 'running');
  });

  it('refuses a raise that raises nothing', () => {
    const d = new Driver(spec());
    refused(raiseBudget(d.state, { by: 'ops' }, d.now()), 'invalid-payload');
    refused(raiseBudget(d.state, { maxCostUsd: -1, by: 'ops' }, d.now()), 'invalid-payload');
    assert.match(refused(raiseBudget(d.state, { maxCostUsd: 1, by: 'ops' }, d.now()), 'budget-not-raised').message, /not above the limit in force \(1\)/);
    assert.match(refused(raiseBudget(d.state, { maxTokens: 5000, by: 'ops' }, d.now()), 'budget-not-raised').message, /no token limit/);
    const unbudgeted = new Driver(plan([task('a')]));
    assert.match(refused(raiseBudget(unbudgeted.state, { maxCostUsd: 5 }, unbudgeted.now()), 'budget-not-raised').message, /has no budget/);
    const done = new Driver(plan([task('a')], [], { budget: { maxCostUsd: 1 } }));
    done.submit('a', {}, []);
    refused(raiseBudget(done.state, { maxCostUsd: 5 }, done.now()), 'run-finished');
  });

  it('warns once at warnAt; a raised budget may warn again', () => {
    const d = new Driver(plan([task('a'), task('b'), task('c'), task('e')], chain('a', 'b', 'c', 'e'), { budget: { maxTokens: 1000, warnAt: 0.5 } }));
    d.submit('a', {}, [], usage(400, 0));
    assert.equal(eventsOf(d.events, 'budget-warning').length, 0);
    d.submit('b', {}, [], usage(200, 0));
    const warnings = eventsOf(d.events, 'budget-warning');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].detail?.scope, 'plan');
    assert.equal(d.state.status, 'running');
    d.submit('c', {}, [], usage(300, 0));
    assert.equal(eventsOf(d.events, 'budget-warning').length, 1);
    d.take(ok(raiseBudget(d.state, { maxTokens: 4000, by: 'ops' }, d.now()))); // 900 is below 50% of 4000
    d.submit('e', {}, [], usage(1200, 0)); // 2100: past 50% of the new budget
    assert.equal(eventsOf(d.events, 'budget-warning').length, 2);
    assert.equal(d.state.status, 'completed');
  });

  it('a blocked run can be cancelled', () => {
    const d = new Driver(spec());
    d.submit('a', {}, [], costing(2));
    d.take(ok(cancelRun(d.state, { by: 'ops' }, d.now())));
    assert.equal(d.state.status, 'aborted');
    assert.equal(d.status('c'), 'cancelled');
  });

  it('a node budget and the plan budget both apply', () => {
    const d = new Driver(plan([task('a', { budget: { maxCostUsd: 0.5 }, onFailure: [{ on: 'budget', action: 'skip' }] }), task('b')], [], { maxConcurrency: 2, budget: { maxCostUsd: 0.6 } }));
    d.submit('a', {}, [], costing(0.7));
    assert.equal(d.status('a'), 'skipped');
    assert.equal(d.state.status, 'blocked');
    assert.deepEqual(eventsOf(d.events, 'budget-exceeded').map((e) => e.nodeId ?? 'plan'), ['a', 'plan']);
  });
});

describe('engine budgets: plans and results without them', () => {
  it('behave exactly as before: no budget events, no usage or budget in the snapshot, details unchanged', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    d.submit('a', { ok: true }, []);
    d.submit('b', { ok: true }, []);
    assert.equal(d.events.filter((event) => event.type.startsWith('budget')).length, 0);
    const snapshot = snapshotOf(d.state);
    assert.equal('usage' in snapshot, false);
    assert.equal('budget' in snapshot, false);
    assert.equal(snapshot.nodes.some((node) => 'usage' in node || 'budget' in node), false);
    assert.equal('usage' in d.state, false);
    assert.doesNotMatch(currentDetails(d.state), /Spent/);
    assert.equal(nodeOf(d.state, 'a').history[0].usage, undefined);
  });
});
