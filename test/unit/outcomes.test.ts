/**
 * What people read after they act: the outcome of a result or an answer says whether it passed and
 * what comes next; a second answer says who answered first; a retry names the next attempt; the
 * engine's consequences of someone's act are by `engine`, after that act; `status` shows the
 * attempt a node is on, never a rejected output as the node's, a failed run's reason and next step,
 * and nodes an aborted run never reached.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyHumanResponse, cancelRun, retryNode, snapshotOf } from '../../src/engine';
import { authorship } from '../../src/client/format';
import { attemptCell, outputCell, statusText, statusView, submitSummary } from '../../src/client/cli/views';
import { Driver, blocking, chain, edge, human, isRefusal, ok, plan, task, warning } from './engine-helpers';

const twoTries = () => task('research', { retry: { maxAttempts: 2 } });

describe('the outcome of an agent result says whether it passed and what comes next', () => {
  it('a rejected result with attempts left: rejected, and attempt 2 of 2 is now running', () => {
    const d = new Driver(plan([twoTries(), task('write')], chain('research', 'write')));
    const t = d.submit('research', { notes: 'x' }, [blocking('must have at least 1 item', '/sources')]);
    assert.equal(t.outcome.verdict, 'rejected');
    assert.deepEqual(t.outcome.nextAttempt, { attempt: 2, of: 2 });
    assert.equal(t.outcome.nodeStatus, 'running');
    assert.match(t.outcome.message ?? '', /^Result rejected \(1 blocking issue: \/sources: must have at least 1 item\); attempt 2 of 2 is now running\.$/);
    assert.match(submitSummary(t.outcome, 'run-1'), /rejected.*attempt 2 of 2 is now running/);
  });

  it('a rejected result with no attempts left: the node failed, the run failed, and the next step is named', () => {
    const d = new Driver(plan([task('research'), task('write')], chain('research', 'write')));
    const t = d.submit('research', {}, [blocking('bad')]);
    assert.equal(t.outcome.verdict, 'rejected');
    assert.equal(t.outcome.nextAttempt, undefined);
    assert.equal(t.outcome.failureAction, 'abort');
    assert.equal(t.outcome.runStatus, 'failed');
    assert.match(t.outcome.message ?? '', /no attempts left \(1 of 1 used\): node "research" failed and the run is failed/);
    assert.match(submitSummary(t.outcome, 'run-1'), /next: plan-runner retry run-1 research/);
  });

  it('an accepted result says accepted; warnings say partial; a reported failure says failure recorded', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 3 } }), task('b')], chain('a', 'b')));
    const failed = d.fail('a', 'timeout', 'took too long');
    assert.equal(failed.outcome.verdict, 'failed');
    assert.match(failed.outcome.message ?? '', /^Failure recorded for attempt 1 \(timeout\); attempt 2 of 3 is now running\.$/);
    const partial = d.submit('a', {}, [warning('short')]);
    assert.equal(partial.outcome.verdict, 'partial');
    assert.match(partial.outcome.message ?? '', /^Result accepted with 1 warning: node "a" is partial/);
    const done = d.submit('b', {});
    assert.equal(done.outcome.verdict, 'completed');
    assert.match(done.outcome.message ?? '', /^Result accepted: node "b" completed \(attempt 1\); run completed\.$/);
  });
});

describe('answers and operations', () => {
  it('a second answer to an approval says it was already answered, by whom and how', () => {
    const d = new Driver(plan([human('approve')]));
    d.respond('approve', { approved: true }, 'bob');
    const again = applyHumanResponse(d.state, { nodeId: 'approve', respondedBy: 'carol', response: { approved: false } }, [], '2026-01-01T01:00:00.000Z');
    assert.ok(isRefusal(again));
    assert.equal(again.reason, 'run-finished');
    const d2 = new Driver(plan([human('approve'), task('after')], chain('approve', 'after')));
    d2.respond('approve', { approved: true }, 'bob');
    const second = applyHumanResponse(d2.state, { respondedBy: 'carol', response: { approved: true } }, [], '2026-01-01T01:00:00.000Z');
    assert.ok(isRefusal(second));
    assert.equal(second.reason, 'no-pending-approval');
    assert.match(second.message, /already approved by bob at 2026-/);
    const byNode = applyHumanResponse(d2.state, { nodeId: 'approve', respondedBy: 'carol', response: { approved: true } }, [], '2026-01-01T01:00:00.000Z');
    assert.ok(isRefusal(byNode));
    assert.match(byNode.message, /approval approve#1 was already approved by bob/);
  });

  it('an answer of the wrong shape names the node type and the shape it takes', () => {
    const d = new Driver(plan([human('approve')]));
    const wrong = applyHumanResponse(d.state, { nodeId: 'approve', respondedBy: 'bob', response: { decision: 'yes' } }, [], '2026-01-01T01:00:00.000Z');
    assert.ok(isRefusal(wrong));
    assert.equal(wrong.reason, 'invalid-response');
    assert.match(wrong.message, /for a human-approval node \("approve"\).*It takes \{"approved": true\} or \{"approved": false\}/);
  });

  it('retry says which attempt is next', () => {
    const d = new Driver(plan([task('a')]));
    d.submit('a', {}, [blocking('bad')]);
    const t = ok(retryNode(d.state, { nodeId: 'a', by: 'bob' }, '2026-01-01T01:00:00.000Z'));
    assert.equal(t.summary, 'Node "a" was retried by bob: attempt 2 is now running.');
  });
});

describe("events credit the engine with its consequences, after the act that caused them", () => {
  it("a decision's skipped branch is by engine, after bob's answer (`after answer #N by bob`)", () => {
    const spec = plan(
      [human('choose', 'human-decision', { options: ['left', 'right'] }), task('left'), task('right')],
      [edge('choose', 'left', { when: 'output.decision == "left"' }), edge('choose', 'right', { when: 'output.decision == "right"' })],
    );
    const d = new Driver(spec);
    const t = d.respond('choose', { decision: 'left' }, 'bob');
    const answer = t.events.find((event) => event.type === 'approval-resolved');
    assert.equal(answer?.by, 'bob');
    const skipped = t.events.find((event) => event.type === 'node-skipped');
    assert.ok(skipped, `a branch is skipped: ${t.events.map((e) => e.type).join(', ')}`);
    assert.equal(skipped.by, 'engine');
    assert.match(authorship(skipped), new RegExp(`^  \\(by engine, after answer #${answer?.seq} by bob\\)$`));
    assert.equal(authorship(answer!), '  (by bob)');
  });
});

describe('status', () => {
  it('a node on its first attempt shows attempt 1, not 0; a rejected output is not shown as the output', () => {
    const d = new Driver(plan([twoTries()]));
    let view = statusView(snapshotOf(d.state));
    assert.equal(attemptCell(view.nodes[0]), '1 of 2');
    d.submit('research', { draft: 'rejected text' }, [blocking('too short', '/draft')]);
    view = statusView(snapshotOf(d.state));
    const node = view.nodes[0];
    assert.equal(attemptCell(node), '2 of 2');
    assert.equal(node.output, null);
    assert.equal(node.lastAttempt?.status, 'failed');
    assert.equal(outputCell(node), '(attempt 1 rejected: /draft: too short)');
    assert.doesNotMatch(statusText(view), /rejected text/);
  });

  it('a fanned-out node lists its instances under it (JSON and text); a looping node shows its iteration', () => {
    const d = new Driver(
      plan(
        [task('plan'), task('research', { forEach: { items: 'input.topics' } } as never), human('review')],
        [edge('plan', 'research', { map: { topics: 'output.topics' } }), edge('research', 'review'), edge('review', 'research', { when: 'output.approved == false', loop: { maxIterations: 3 } } as never)],
        { maxConcurrency: 5 },
      ),
    );
    d.submit('plan', { topics: ['a', 'b'] });
    d.submit('research[1]', { text: 'bee' });
    const view = statusView(snapshotOf(d.state));
    const research = view.nodes.find((n) => n.id === 'research');
    assert.deepEqual(research?.instances, [
      { id: 'research[0]', index: 0, status: 'running', attempts: 0, currentAttempt: 1, output: null },
      { id: 'research[1]', index: 1, status: 'completed', attempts: 1, currentAttempt: 1, output: { text: 'bee' } },
    ]);
    assert.equal(research?.iteration, 1);
    assert.equal(research?.maxIterations, 3);
    assert.equal(view.nodes.find((n) => n.id === 'plan')?.iteration, undefined, 'outside the loop body: no iteration');
    const lines = statusText(view).split('\n');
    const at = lines.findIndex((line) => line.startsWith('research '));
    assert.match(lines[0 + at + 1], /^  research\[0\]\s+running/);
    assert.match(lines[at + 2], /^  research\[1\]\s+completed.*bee/);
    assert.match(lines[at], /running\s+1 of 3/, 'the ITERATION column');
    assert.ok(lines.some((line) => /^NODE\s+TYPE\s+STATUS\s+ITERATION/.test(line)));
  });

  it('a failed run says why and what to do next', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    d.fail('a', 'agent-error', 'the API key was revoked');
    const text = statusText(statusView(snapshotOf(d.state)));
    assert.match(text, /status failed/);
    assert.match(text, /reason: node a failed \(agent-error\) after attempt 1: the API key was revoked/);
    assert.match(text, /next: plan-runner retry run-1 NODE/);
  });

  it('an aborted run shows the nodes it never reached as not reached', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    d.take(ok(cancelRun(d.state, { by: 'bob', reason: 'wrong topic' }, '2026-01-01T01:00:00.000Z')));
    const text = statusText(statusView(snapshotOf(d.state)));
    assert.match(text, /status aborted/);
    assert.match(text, /\bb\s+task\s+not reached/);
    assert.match(text, /1 node\(s\) were never reached/);
  });
});
