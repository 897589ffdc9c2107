/**
 * Bounded loops (docs/semantics.md, "Loops"): a revise loop whose edits reach the next draft as
 * mapped input, exhaustion with `continue` and with `fail`, nested loops whose inner count starts
 * over, iteration in the context, the work item and the attempt records; and the static checks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validatePlanSpec } from '../../src/engine/validate-spec';
import { currentWorkItem, retryNode } from '../../src/engine';
import { Driver, edge, eventsOf, human, nodeOf, ok, plan, task } from './engine-helpers';

/** draft → review (approval) → publish when approved; back to draft with the edits, at most `max` times. */
const revise = (max = 3, onExhausted?: 'continue' | 'fail', extra: Record<string, unknown> = {}) =>
  plan(
    [task('draft', extra), human('review'), task('publish')],
    [
      edge('draft', 'review', { map: { text: 'output.text' } }),
      edge('review', 'publish', { when: 'output.approved == true' }),
      edge('review', 'draft', {
        when: 'output.approved == false',
        map: { edits: 'output.requiredEdits' },
        loop: { maxIterations: max, ...(onExhausted ? { onExhausted } : {}) },
      } as never),
    ],
  );

describe('loops: revise until approved', () => {
  it('rejected once with edits: the edits reach the second draft as input; approved in iteration 2; the run completes', () => {
    const d = new Driver(revise());
    assert.equal(nodeOf(d.state, 'draft').iteration, 1);
    d.submit('draft', { text: 'v1' });
    const t = d.respond('review', { approved: false, requiredEdits: ['shorter'] }, 'alice');
    const iterated = eventsOf(t.events, 'loop-iterated');
    assert.equal(iterated.length, 1);
    assert.deepEqual(iterated[0].detail?.nodeIds, ['draft', 'review']);
    assert.equal(iterated[0].detail?.iteration, 2);
    assert.equal(t.checkpoint?.reason, 'loop-iterated');
    assert.equal(d.status('publish'), 'pending', 'the forward edge did not decide: the loop went round');
    assert.equal(d.status('draft'), 'running');
    const draft = nodeOf(d.state, 'draft');
    assert.equal(draft.iteration, 2);
    assert.deepEqual(draft.resolvedInput, { edits: ['shorter'] });
    assert.equal(draft.currentAttempt, 2, 'attempt numbers continue');
    const item = currentWorkItem(d.state, 'draft');
    assert.equal(item?.iteration, 2);
    assert.deepEqual(item?.resolvedInput, { edits: ['shorter'] });
    d.submit('draft', { text: 'v2' });
    d.respond('review', { approved: true }, 'alice');
    d.submit('publish', {});
    assert.equal(d.state.status, 'completed');
    assert.deepEqual(nodeOf(d.state, 'draft').history.map((r) => [r.attempt, r.iteration]), [[1, 1], [2, 2]]);
    assert.deepEqual(nodeOf(d.state, 'review').history.map((r) => r.iteration), [1, 2]);
    assert.ok(d.events.filter((e) => e.nodeId === 'draft').every((e) => typeof e.iteration === 'number'));
  });

  it('exhausted with continue: the loop edge is inactive and the forward edges decide', () => {
    const d = new Driver(revise(2));
    d.submit('draft', {});
    d.respond('review', { approved: false }, 'alice');
    d.submit('draft', {});
    const t = d.respond('review', { approved: false }, 'alice');
    const exhausted = eventsOf(t.events, 'loop-exhausted');
    assert.equal(exhausted.length, 1);
    assert.equal(exhausted[0].detail?.iterations, 2);
    assert.equal(d.status('publish'), 'skipped');
    assert.equal(d.state.status, 'completed');
  });

  it('exhausted with fail: the node fails with class loop-exhausted and its onFailure decides', () => {
    const d = new Driver(revise(2, 'fail'));
    d.submit('draft', {});
    d.respond('review', { approved: false }, 'alice');
    d.submit('draft', {});
    d.respond('review', { approved: false }, 'alice');
    assert.equal(d.status('review'), 'failed');
    assert.equal(nodeOf(d.state, 'review').failureClass, 'loop-exhausted');
    assert.equal(d.state.status, 'failed');

    const skipping = plan(
      [task('draft'), task('review', { onFailure: [{ on: 'loop-exhausted', action: 'skip' }] }), task('after')],
      [edge('draft', 'review'), edge('review', 'after'), edge('review', 'draft', { when: 'output.ok == false', loop: { maxIterations: 2, onExhausted: 'fail' } } as never)],
    );
    const s = new Driver(skipping);
    for (let i = 0; i < 2; i++) {
      s.submit('draft', {});
      s.submit('review', { ok: false });
    }
    assert.equal(s.status('review'), 'skipped', 'onFailure: skip for loop-exhausted');
  });

  it('exhausted with fail, then retried: the next finish is evaluated again and exhausts the loop again', () => {
    const d = new Driver(revise(2, 'fail'));
    d.submit('draft', {});
    d.respond('review', { approved: false }, 'alice');
    d.submit('draft', {});
    d.respond('review', { approved: false }, 'alice');
    assert.equal(d.status('review'), 'failed');
    d.take(ok(retryNode(d.state, { nodeId: 'review' }, d.now())));
    const again = d.respond('review', { approved: false }, 'bob');
    assert.equal(eventsOf(again.events, 'loop-exhausted').length, 1, 'the spent loop is exhausted again');
    assert.equal(d.status('review'), 'failed');
    assert.equal(nodeOf(d.state, 'review').failureClass, 'loop-exhausted');
    d.take(ok(retryNode(d.state, { nodeId: 'review' }, d.now())));
    d.respond('review', { approved: true }, 'bob');
    assert.equal(d.status('publish'), 'running', 'an approval after the retry goes forward');
  });

  it('a when that tests iteration, and a retry budget that counts per iteration', () => {
    const spec = plan(
      [task('work', { retry: { maxAttempts: 2 } }), task('check')],
      [edge('work', 'check'), edge('check', 'work', { when: 'iteration < 3', loop: { maxIterations: 5 } } as never)],
    );
    const d = new Driver(spec);
    for (let i = 1; i <= 3; i++) {
      d.submit('work', {});
      assert.equal(nodeOf(d.state, 'check').iteration, i);
      d.submit('check', {});
    }
    assert.equal(d.state.status, 'completed', 'iteration 3 stops the loop by its condition');
    assert.equal(eventsOf(d.events, 'loop-iterated').length, 2);
  });

  it('nested loops: the inner count starts over each time the outer loop goes round', () => {
    const spec = plan(
      [task('plan'), task('write'), task('edit'), task('sign-off')],
      [
        edge('plan', 'write'),
        edge('write', 'edit'),
        edge('edit', 'write', { when: 'output.again == true', loop: { maxIterations: 2 } } as never),
        edge('edit', 'sign-off'),
        edge('sign-off', 'plan', { when: 'output.again == true', loop: { maxIterations: 2 } } as never),
      ],
    );
    const d = new Driver(spec);
    d.submit('plan', {});
    d.submit('write', {});
    d.submit('edit', { again: true });
    assert.equal(nodeOf(d.state, 'write').iteration, 2);
    d.submit('write', {});
    d.submit('edit', { again: true });
    assert.equal(d.status('sign-off'), 'running', 'the inner loop is exhausted: edit goes on');
    d.submit('sign-off', { again: true });
    assert.equal(nodeOf(d.state, 'plan').iteration, 2);
    assert.equal(nodeOf(d.state, 'write').iteration, 1, 'the inner loop starts over');
    d.submit('plan', {});
    d.submit('write', {});
    d.submit('edit', { again: true });
    assert.equal(nodeOf(d.state, 'write').iteration, 2, 'and may go round again');
  });
});

describe('loop validation', () => {
  const base = (edges: unknown[]) =>
    validatePlanSpec({
      id: 'p',
      nodes: ['a', 'b', 'c', 'd'].map((id) => ({ id, type: 'task', owner: { kind: 'agent', ref: id } })),
      edges,
    });
  const messages = (result: ReturnType<typeof base>) => result.errors.map((e) => `${e.path}: ${e.message}`).join('\n');

  it('a loop edge back to an ancestor is valid; without "loop" the same edge is a cycle that is reported', () => {
    assert.equal(base([{ from: 'a', to: 'b' }, { from: 'b', to: 'a', loop: { maxIterations: 3 } }]).valid, true);
    assert.match(messages(base([{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }])), /cycle: .*a → b → a|cycle: .*b → a → b/);
    assert.match(messages(base([{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }])), /loop: \{ maxIterations: 3 \}/);
  });
  it('a loop edge must point back; maxIterations is bounded', () => {
    assert.match(messages(base([{ from: 'a', to: 'b', loop: { maxIterations: 3 } }])), /\$\.edges\[0\]\.loop: .*must lead back to a node upstream of "a"/);
    assert.match(messages(base([{ from: 'a', to: 'b' }, { from: 'b', to: 'a', loop: { maxIterations: 1 } }])), /maxIterations.*at least 2/);
    assert.match(messages(base([{ from: 'a', to: 'b' }, { from: 'b', to: 'a', loop: { maxIterations: 1000 } }])), /maxIterations.*at most 100/);
  });
  it('bodies that overlap without nesting are reported with both edges', () => {
    const result = base([
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'c', to: 'd' },
      { from: 'c', to: 'a', loop: { maxIterations: 2 } },
      { from: 'd', to: 'b', loop: { maxIterations: 2 } },
    ]);
    assert.match(messages(result), /\$\.edges\[4\]\.loop: the loop bodies of \$\.edges\[3\] and \$\.edges\[4\] overlap/);
  });
});
