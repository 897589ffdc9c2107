/**
 * What a step shares with the state it started from (copy-on-write, see `Step`), and what the state
 * keeps when a run continues as new (`compactForHandOver`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyAgentSubmission,
  applyHumanResponse,
  cancelRun,
  compactForHandOver,
  fireDueTimers,
  recordOf,
  resumeRun,
  retryNode,
  type RunState,
  type Transition,
} from '../../src/engine';
import { replanRun } from '../../src/engine/replan';
import { at, blocking, chain, Driver, human, nodeOf, ok, plan, refused, task } from './engine-helpers';

/** Runs `operation` on `state` and asserts that `state` reads exactly as before. */
function leavesUntouched(state: RunState, operation: (state: RunState) => unknown): void {
  const before = JSON.stringify(state);
  operation(state);
  assert.equal(JSON.stringify(state), before);
}

describe('engine: a step never changes the state it started from', () => {
  it('agent results, human answers, operations, timers and replans leave the previous state as it was', () => {
    const d = new Driver(
      plan(
        [
          task('a', { retry: { maxAttempts: 3 }, timeoutMs: 60_000 }),
          human('h', 'human-approval'),
          task('b'),
        ],
        chain('a', 'h', 'b'),
      ),
    );
    leavesUntouched(d.state, (s) => ok(applyAgentSubmission(s, { nodeId: 'a', submissionId: 's1', structuredOutput: { x: 1 } }, [blocking()], at(1000))));
    leavesUntouched(d.state, (s) => ok(applyAgentSubmission(s, { nodeId: 'a', failure: { message: 'no' } }, [], at(1000))));
    leavesUntouched(d.state, (s) => fireDueTimers(s, at(120_000)));
    leavesUntouched(d.state, (s) => ok(cancelRun(s, { by: 'ops' }, at(1000))));
    leavesUntouched(d.state, (s) => ok(resumeRun(s, { by: 'ops' }, at(1000))));
    leavesUntouched(d.state, (s) => ok(replanRun(s, { by: 'ops', spec: plan([task('a'), task('z')], chain('a', 'z')) }, at(1000))));
    d.submit('a', { x: 1 });
    leavesUntouched(d.state, (s) => ok(applyHumanResponse(s, { nodeId: 'h', respondedBy: 'alice', submissionId: 'r1', response: { approved: true } }, [], at(5000))));
    leavesUntouched(d.state, (s) => ok(applyHumanResponse(s, { nodeId: 'h', respondedBy: 'alice', response: { approved: true } }, [blocking()], at(5000))));
    d.respond('h', { approved: true }, 'alice', [blocking()]);
    leavesUntouched(d.state, (s) => ok(retryNode(s, { nodeId: 'h', by: 'ops', input: { again: true } }, at(9000))));
  });

  it('unchanged node runs share their values with the previous state, so the record lists only what changed', () => {
    const d = new Driver(plan([task('a'), task('b'), task('c')], chain('a', 'b'), { maxConcurrency: 1 }));
    const before = d.state;
    const t: Transition = d.submit('a', { x: 1 });
    // c was ready and waits for a slot: untouched, its values are the same objects.
    assert.equal(nodeOf(t.state, 'c').history, nodeOf(before, 'c').history);
    assert.equal(nodeOf(t.state, 'c').resolvedInput, nodeOf(before, 'c').resolvedInput);
    const record = recordOf(before, t);
    assert.deepEqual(
      record?.nodes.map((node) => [node.nodeId, node.status]),
      [
        ['a', 'completed'],
        ['b', 'running'],
      ],
    );
    assert.deepEqual(record?.attempts.map((attempt) => [attempt.nodeId, attempt.attempt]), [['a', 1]]);
  });
});

describe('engine: the state handed to the next execution (continue-as-new)', () => {
  it('drops the attempt history of finished nodes, keeps the latest attempts of the others and the counters', () => {
    const d = new Driver(plan([task('done', { retry: { maxAttempts: 3 } }), task('busy', { retry: { maxAttempts: 10 } })], [], { maxConcurrency: 2 }));
    d.fail('done', 'agent-error');
    d.submit('done', { ok: true });
    for (let i = 0; i < 7; i++) d.fail('busy', 'agent-error');
    const compact = compactForHandOver(d.state, { attemptsPerNode: 3 });
    const done = nodeOf(compact, 'done');
    assert.deepEqual(done.history, []);
    assert.equal(done.attempts, 2);
    assert.deepEqual(done.output, { ok: true });
    const busy = nodeOf(compact, 'busy');
    assert.deepEqual(busy.history.map((attempt) => attempt.attempt), [5, 6, 7]);
    assert.equal(busy.attempts, 7);
    assert.equal(busy.currentAttempt, 8);
    // The original is not touched.
    assert.equal(nodeOf(d.state, 'busy').history.length, 7);
    assert.equal(nodeOf(d.state, 'done').history.length, 2);

    // The compacted state carries on: a stale attempt is refused, the current one is numbered on.
    refused(applyAgentSubmission(compact, { nodeId: 'busy', attempt: 3, structuredOutput: {} }, [], at(99_000)), 'stale-attempt');
    const next = ok(applyAgentSubmission(compact, { nodeId: 'busy', attempt: 8, structuredOutput: { fine: true } }, [], at(99_000)));
    assert.equal(nodeOf(next.state, 'busy').status, 'completed');
    assert.deepEqual(recordOf(compact, next)?.attempts.map((attempt) => attempt.attempt), [8]);
  });

  it('keeps a window of the most recent submission ids, which still de-duplicate', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 20 } })]));
    for (let i = 1; i <= 12; i++) d.take(ok(applyAgentSubmission(d.state, { nodeId: 'a', submissionId: `s${i}`, failure: { message: 'again' } }, [], at(i * 1000))));
    const compact = compactForHandOver(d.state, { submissionIds: 5 });
    assert.deepEqual(Object.keys(compact.submissions), ['s8', 's9', 's10', 's11', 's12']);
    const repeat = ok(applyAgentSubmission(compact, { nodeId: 'a', submissionId: 's10', failure: { message: 'again' } }, [], at(50_000)));
    assert.equal(repeat.outcome.duplicate, true);
    assert.equal(repeat.outcome.attempt, 10);
    assert.equal(repeat.events.length, 0);
    // An id outside the window is a new submission again: the window is a bound, documented as such.
    const old = ok(applyAgentSubmission(compact, { nodeId: 'a', submissionId: 's1', failure: { message: 'again' } }, [], at(50_000)));
    assert.equal(old.outcome.duplicate, undefined);
    assert.equal(old.outcome.attempt, 13);
  });
});
