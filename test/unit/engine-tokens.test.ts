/**
 * Work-item tokens (docs/semantics.md, "Who may act"): every attempt's work item carries a token
 * derived from the run's secret; a run that requires tokens takes a result only with the current
 * attempt's, tells a stale token from a wrong one, and never puts a token in an event or a row.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  applyAgentSubmission,
  checkAgentSubmission,
  createRunState,
  currentWorkItem,
  recordOf,
  retryNode,
  startRun,
  workItemToken,
  WORK_ITEM_TOKEN_PREFIX,
  type PlanSpec,
  type RunState,
} from '../../src/engine';
import { T0, at, chain, ok, plan, refused, task } from './engine-helpers';
import { fcParams } from './fc-params';

const SECRET = 'secret-of-the-run';

function started(spec: PlanSpec, options: { secret?: string; require?: boolean } = {}): RunState {
  const state = createRunState({ runId: 'run-t', spec, now: T0, tokenSecret: options.secret ?? SECRET, requireWorkItemTokens: options.require });
  return startRun(state, T0).state;
}

function tokenOf(state: RunState, nodeId: string): string {
  const item = currentWorkItem(state, nodeId);
  assert.ok(item?.token, `node ${nodeId} has a work item with a token`);
  return item.token;
}

describe('work-item tokens', () => {
  it('work items carry a token per attempt, different across nodes, attempts and runs', () => {
    const state = started(plan([task('a'), task('b')], [], { maxConcurrency: 2 }));
    const a = tokenOf(state, 'a');
    const b = tokenOf(state, 'b');
    assert.ok(a.startsWith(WORK_ITEM_TOKEN_PREFIX));
    assert.notEqual(a, b);
    assert.equal(a, workItemToken(SECRET, 'run-t', 'a', 1));
    assert.notEqual(a, workItemToken(SECRET, 'run-t', 'a', 2));
    assert.notEqual(a, workItemToken(SECRET, 'run-other', 'a', 1));
    assert.notEqual(a, workItemToken('another-secret', 'run-t', 'a', 1));
  });

  it('a run without a secret (started before tokens) hands out no token and takes results without one', () => {
    const state = startRun(createRunState({ runId: 'old', spec: plan([task('a')]), now: T0 }), T0).state;
    assert.equal(currentWorkItem(state, 'a')?.token, undefined);
    ok(applyAgentSubmission(state, { nodeId: 'a', structuredOutput: {} }, [], at(1000)));
  });

  it('when tokens are not required, a missing token is fine but a wrong one is refused', () => {
    const state = started(plan([task('a')]));
    ok(applyAgentSubmission(state, { nodeId: 'a', structuredOutput: {} }, [], at(1000)));
    ok(applyAgentSubmission(state, { nodeId: 'a', token: tokenOf(state, 'a'), structuredOutput: {} }, [], at(1000)));
    refused(applyAgentSubmission(state, { nodeId: 'a', token: 'wit_guess', structuredOutput: {} }, [], at(1000)), 'invalid-token');
  });

  for (const how of ['plan', 'worker'] as const) {
    it(`required by the ${how}: no token is invalid-token, the current one passes`, () => {
      const spec = plan([task('a')], [], how === 'plan' ? { requireWorkItemTokens: true } : {});
      const state = started(spec, { require: how === 'worker' });
      const missing = refused(applyAgentSubmission(state, { nodeId: 'a', structuredOutput: {} }, [], at(1000)), 'invalid-token');
      assert.match(missing.message, /token/);
      const done = ok(applyAgentSubmission(state, { nodeId: 'a', token: tokenOf(state, 'a'), structuredOutput: {} }, [], at(1000)));
      assert.equal(done.outcome.nodeStatus, 'completed');
    });
  }

  it("another attempt's token is stale-attempt; another node's or a made-up one is invalid-token; no message echoes a token", () => {
    const spec = plan([task('a', { retry: { maxAttempts: 3 } }), task('b')], chain('a', 'b'), { requireWorkItemTokens: true });
    let state = started(spec);
    const first = tokenOf(state, 'a');
    state = ok(applyAgentSubmission(state, { nodeId: 'a', token: first, failure: { message: 'try again' } }, [], at(1000))).state;
    const second = tokenOf(state, 'a');
    assert.notEqual(second, first);
    const stale = refused(applyAgentSubmission(state, { nodeId: 'a', token: first, structuredOutput: {} }, [], at(2000)), 'stale-attempt');
    assert.match(stale.message, /attempt 1 .*current attempt is 2/);
    const foreign = refused(applyAgentSubmission(state, { nodeId: 'a', token: workItemToken(SECRET, 'run-t', 'b', 1), structuredOutput: {} }, [], at(2000)), 'invalid-token');
    for (const refusal of [stale, foreign]) {
      assert.ok(!refusal.message.includes(first) && !refusal.message.includes(second), 'the refusal does not echo a token');
    }
    ok(applyAgentSubmission(state, { nodeId: 'a', token: second, structuredOutput: {} }, [], at(2000)));
  });

  it('a retried node hands out a new token; the old one is stale', () => {
    const spec = plan([task('a')], [], { requireWorkItemTokens: true });
    let state = started(spec);
    const first = tokenOf(state, 'a');
    state = ok(applyAgentSubmission(state, { nodeId: 'a', token: first, failure: { message: 'no' } }, [], at(1000))).state;
    assert.equal(state.status, 'failed');
    state = ok(retryNode(state, { nodeId: 'a', by: 'op' }, at(2000))).state;
    const second = tokenOf(state, 'a');
    assert.notEqual(second, first);
    refused(applyAgentSubmission(state, { nodeId: 'a', token: first, structuredOutput: {} }, [], at(3000)), 'stale-attempt');
  });

  it('a duplicate submission on a run that requires tokens answers only with a token of that node', () => {
    const spec = plan([task('a'), task('b')], chain('a', 'b'), { requireWorkItemTokens: true });
    const state0 = started(spec);
    const token = tokenOf(state0, 'a');
    const done = ok(applyAgentSubmission(state0, { nodeId: 'a', token, submissionId: 's1', structuredOutput: {} }, [], at(1000)));
    const again = checkAgentSubmission(done.state, { nodeId: 'a', token, submissionId: 's1', structuredOutput: {} });
    assert.ok(!again.refused && again.duplicate, 'the first outcome again');
    refused(checkAgentSubmission(done.state, { nodeId: 'a', submissionId: 's1', structuredOutput: {} }), 'invalid-token');
  });

  it('tokens and the secret never reach events or store rows', () => {
    const spec = plan([task('a'), task('b')], chain('a', 'b'), { requireWorkItemTokens: true });
    const state0 = started(spec);
    const token = tokenOf(state0, 'a');
    const start = startRun(createRunState({ runId: 'run-t', spec, now: T0, tokenSecret: SECRET }), T0);
    const done = ok(applyAgentSubmission(state0, { nodeId: 'a', token, structuredOutput: { x: 1 } }, [], at(1000)));
    for (const [before, transition] of [[undefined, start], [state0, done]] as const) {
      const record = JSON.stringify(recordOf(before, transition));
      assert.ok(!record.includes(SECRET), 'no secret in rows or events');
      assert.ok(!record.includes(WORK_ITEM_TOKEN_PREFIX), 'no token in rows or events');
    }
  });

  it('property: only the current attempt\'s token is taken', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.string({ minLength: 1, maxLength: 40 }), (failures, guess) => {
        const spec = plan([task('a', { retry: { maxAttempts: 10 } })], [], { requireWorkItemTokens: true });
        let state = started(spec);
        const tokens: string[] = [];
        for (let i = 0; i < failures; i += 1) {
          tokens.push(tokenOf(state, 'a'));
          state = ok(applyAgentSubmission(state, { nodeId: 'a', token: tokens[i], failure: { message: 'again' } }, [], at(1000 * (i + 1)))).state;
        }
        const current = tokenOf(state, 'a');
        for (const old of tokens) refused(checkAgentSubmission(state, { nodeId: 'a', token: old, structuredOutput: {} }), 'stale-attempt');
        if (guess !== current) {
          const check = checkAgentSubmission(state, { nodeId: 'a', token: guess, structuredOutput: {} });
          assert.ok(check.refused);
        }
        assert.ok(!checkAgentSubmission(state, { nodeId: 'a', token: current, structuredOutput: {} }).refused);
      }),
      fcParams(50),
    );
  });
});
