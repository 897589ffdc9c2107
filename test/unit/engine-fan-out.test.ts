/**
 * Fan-out (docs/semantics.md, "Fan-out"): one instance per item with its own attempts, retries and
 * approvals; `forEach.maxConcurrency`; `partial` with null where an instance was skipped; an empty
 * list; too many items; abort and retry; instance ids in every message; loops and joins around a
 * fanned-out node; the hand-over; and the static checks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validatePlanSpec } from '../../src/engine/validate-spec';
import { applyAgentSubmission, applyHumanResponse, compactForHandOver, currentDetails, currentWorkItem, pendingTimers, retryNode, snapshotOf } from '../../src/engine';
import type { PlanNode, RunEvent } from '../../src/engine';
import { Driver, at, blocking, edge, eventsOf, human, nodeOf, ok, plan, refused, structural, task } from './engine-helpers';
import { mostActiveAtOnce } from '../support/fan-out';

/** plan → research (forEach over input.topics) → write. */
const fanOut = (forEach: Record<string, unknown> = {}, extra: Partial<PlanNode> = {}) =>
  plan(
    [task('plan'), task('research', { forEach: { items: 'input.topics', ...forEach }, ...extra } as Partial<PlanNode>), task('write')],
    [edge('plan', 'research', { map: { topics: 'output.topics', audience: 'output.audience' } }), edge('research', 'write', { map: { notes: 'output.items' } })],
  );

const topics = (n: number) => Array.from({ length: n }, (_, i) => `topic-${i}`);

describe('fan-out: forEach over a list', () => {
  it('five items, maxConcurrency 2: never more than 2 active; one retried after a validation failure, one skipped → partial with null', () => {
    const spec = fanOut({ maxConcurrency: 2 }, { retry: { maxAttempts: 2, retryOn: ['validation'] }, onFailure: [{ on: 'agent-error', action: 'skip' }] });
    const d = new Driver({ ...spec, maxConcurrency: 10 });
    const t = d.submit('plan', { topics: topics(5), audience: 'ops' });
    const started = eventsOf(t.events, 'fan-out-started', 'research');
    assert.equal(started.length, 1);
    assert.equal(started[0].detail?.count, 5);
    assert.equal(d.status('research'), 'running');
    assert.deepEqual(['research[0]', 'research[1]', 'research[2]'].map((id) => d.status(id)), ['running', 'running', 'ready']);

    const item = currentWorkItem(d.state, 'research[1]');
    assert.deepEqual(item?.resolvedInput, { topics: topics(5), audience: 'ops', item: 'topic-1', index: 1 });
    assert.equal(item?.item, 'topic-1');
    assert.equal(item?.index, 1);
    assert.equal(currentWorkItem(d.state, 'research'), null, 'the node itself is not handed out');

    // research[0] fails validation once, then passes; research[1] reports an agent error: skipped.
    d.submit('research[0]', { text: 'bad' }, [blocking('too short', 'text')]);
    assert.equal(d.status('research[0]'), 'running', 'retried at once (a slot was free for it)');
    assert.equal(nodeOf(d.state, 'research[0]').currentAttempt, 2);
    d.fail('research[1]', 'agent-error');
    assert.equal(d.status('research[1]'), 'skipped');
    d.submit('research[0]', { text: 'zero' });
    d.submit('research[2]', { text: 'two' });
    d.submit('research[3]', { text: 'three' });
    assert.equal(d.status('research'), 'running');
    const last = d.submit('research[4]', { text: 'four' });

    assert.equal(d.status('research'), 'partial');
    assert.deepEqual(nodeOf(d.state, 'research').output, { items: [{ text: 'zero' }, null, { text: 'two' }, { text: 'three' }, { text: 'four' }] });
    assert.equal(eventsOf(last.events, 'fan-out-completed', 'research').length, 1);
    const { causedBy: _cause, ...tally } = eventsOf(last.events, 'fan-out-completed')[0].detail ?? {};
    assert.deepEqual(tally, { count: 5, completed: 4, partial: 0, skipped: 1 });
    assert.equal(last.checkpoint?.reason, 'fan-out-completed');
    assert.equal(d.status('write'), 'running');
    assert.deepEqual(nodeOf(d.state, 'write').resolvedInput, { notes: [{ text: 'zero' }, null, { text: 'two' }, { text: 'three' }, { text: 'four' }] });
    assert.equal(mostActiveAtOnce(d.events, 'research'), 2);
    // Attempts are per instance: research[0] has two, the others one.
    assert.deepEqual(nodeOf(d.state, 'research[0]').history.map((r) => r.attempt), [1, 2]);
    assert.equal(nodeOf(d.state, 'research[2]').history.length, 1);
    assert.ok(d.events.some((e) => e.type === 'node-completed' && e.nodeId === 'research[3]'), 'each instance emits its own node events');
  });

  it('without a limit of its own, instances use the run\'s maxConcurrency', () => {
    const d = new Driver({ ...fanOut(), maxConcurrency: 3 });
    d.submit('plan', { topics: topics(5) });
    assert.equal(d.state.nodes.filter((n) => n.instanceOf === 'research' && n.status === 'running').length, 3);
  });

  it('an empty list completes the node at once with { items: [] }', () => {
    const d = new Driver(fanOut());
    const t = d.submit('plan', { topics: [] });
    assert.equal(d.status('research'), 'completed');
    assert.deepEqual(nodeOf(d.state, 'research').output, { items: [] });
    assert.equal(eventsOf(t.events, 'fan-out-started')[0].detail?.count, 0);
    assert.equal(d.status('write'), 'running');
  });

  it('more than maxItems, or not a list: the node fails with class input (not retried)', () => {
    for (const value of [topics(4), 'not a list', undefined]) {
      const d = new Driver(fanOut({ maxItems: 3 }, { retry: { maxAttempts: 3 } }));
      d.submit('plan', { topics: value });
      const research = nodeOf(d.state, 'research');
      assert.equal(research.status, 'failed', String(value));
      assert.equal(research.failureClass, 'input');
      assert.equal(research.lastIssues[0].code, 'for-each-items');
      assert.match(research.lastIssues[0].message, Array.isArray(value) ? /4 entries, more than forEach\.maxItems \(3\)/ : /not a list/);
      assert.equal(d.state.status, 'failed');
      assert.equal(d.state.nodes.filter((n) => n.instanceOf).length, 0);
    }
  });

  it('the default maxItems is 100', () => {
    const d = new Driver(fanOut());
    d.submit('plan', { topics: topics(101) });
    assert.equal(d.status('research'), 'failed');
    const ok100 = new Driver({ ...fanOut(), maxConcurrency: 5 });
    ok100.submit('plan', { topics: topics(100) });
    assert.equal(ok100.state.nodes.filter((n) => n.instanceOf).length, 100);
  });

  it('instance ids in messages: the node itself and an instance it does not have are refused with what to name', () => {
    const d = new Driver(fanOut());
    const early = refused(applyAgentSubmission(d.state, { nodeId: 'research', structuredOutput: {} }, [], at(5)), 'node-not-running');
    assert.match(early.message, /has no instances yet/);
    d.submit('plan', { topics: topics(3) });
    const own = refused(applyAgentSubmission(d.state, { nodeId: 'research', structuredOutput: {} }, [], at(5)), 'node-not-running');
    assert.match(own.message, /name one of its 3 instance\(s\), research\[0\] … research\[2\]/);
    const missing = refused(applyAgentSubmission(d.state, { nodeId: 'research[7]', structuredOutput: {} }, [], at(5)), 'unknown-node');
    assert.match(missing.message, /has 3 instance\(s\) \(research\[0\] … research\[2\]\), so "research\[7\]" does not exist/);
    refused(applyAgentSubmission(d.state, { nodeId: 'plan[0]', structuredOutput: {} }, [], at(5)), 'unknown-node');
  });

  it('an instance\'s timeout is its own', () => {
    const d = new Driver({ ...fanOut({ maxConcurrency: 2 }, { timeoutMs: 60_000 }), maxConcurrency: 5 });
    d.submit('plan', { topics: topics(3) });
    const keys = pendingTimers(d.state).map((t) => t.key);
    assert.deepEqual(keys, ['timeout:research[0]#1', 'timeout:research[1]#1']);
  });

  it('abort: an instance that fails for good fails the node and cancels the others; retry runs the failed and cancelled ones again', () => {
    const d = new Driver({ ...fanOut(), maxConcurrency: 2 });
    d.submit('plan', { topics: topics(3) });
    d.submit('research[1]', { text: 'one' });
    const t = d.fail('research[0]', 'agent-error');
    assert.equal(d.status('research[0]'), 'failed');
    assert.equal(d.status('research[2]'), 'cancelled');
    assert.equal(d.status('research'), 'failed');
    assert.equal(d.state.status, 'failed');
    const cancelled = eventsOf(t.events, 'node-cancelled', 'research[2]');
    assert.equal(cancelled.length, 1, 'the cancelled instance\'s agent is woken with node-cancelled');

    const retried = ok(retryNode(d.state, { nodeId: 'research[0]', by: 'ops' }, at(100)));
    d.take(retried);
    assert.match(retried.summary ?? '', /research\[0\], research\[2\] run again/);
    assert.equal(d.status('research'), 'running');
    assert.equal(d.status('research[1]'), 'completed', 'finished instances keep their results');
    assert.equal(nodeOf(d.state, 'research[0]').currentAttempt, 2, 'attempt numbers continue');
    d.submit('research[0]', { text: 'zero' });
    d.submit('research[2]', { text: 'two' });
    assert.equal(d.status('research'), 'completed');
    assert.deepEqual(nodeOf(d.state, 'research').output, { items: [{ text: 'zero' }, { text: 'one' }, { text: 'two' }] });
  });

  it('human nodes fan out: one approval per instance, answered by instance id', () => {
    const spec = plan(
      [task('plan'), human('approve', 'human-approval', { forEach: { items: 'input.drafts' } } as Partial<PlanNode>), task('send')],
      [edge('plan', 'approve', { map: { drafts: 'output.drafts' } }), edge('approve', 'send', { map: { decisions: 'output.items' } })],
      { maxConcurrency: 5 },
    );
    const d = new Driver(spec);
    d.submit('plan', { drafts: ['a', 'b', 'c'] });
    const approvals = d.state.approvals.filter((a) => a.status === 'pending').map((a) => a.approvalId);
    assert.deepEqual(approvals, ['approve[0]#1', 'approve[1]#1', 'approve[2]#1']);
    assert.equal(d.state.status, 'awaiting-human');
    const requested = eventsOf(d.events, 'approval-requested', 'approve[1]')[0];
    assert.equal((requested.detail?.resolvedInput as { item: string }).item, 'b');
    refused(applyHumanResponse(d.state, { respondedBy: 'alice', response: { approved: true } }, [], at(50)), 'ambiguous-approval');
    const own = refused(applyHumanResponse(d.state, { nodeId: 'approve', respondedBy: 'alice', response: { approved: true } }, [], at(50)), 'no-pending-approval');
    assert.match(own.message, /name one of its 3 instance/);
    d.respond('approve[1]', { approved: true });
    d.respond('approve[0]', { approved: false });
    d.respond(undefined, { approved: true }, 'bob', [], at(60_000)); // the only one left
    assert.equal(d.status('approve'), 'completed');
    assert.deepEqual(
      (nodeOf(d.state, 'approve').output as { items: Array<{ approved: boolean }> }).items.map((i) => i.approved),
      [false, true, true],
    );
  });

  it('snapshot lists instances under their node; the details count them by status', () => {
    const d = new Driver({ ...fanOut({ maxConcurrency: 1 }), maxConcurrency: 4 });
    d.submit('plan', { topics: topics(3) });
    d.submit('research[0]', { text: 'zero' });
    const snapshot = snapshotOf(d.state);
    assert.deepEqual(snapshot.nodes.map((n) => n.id), ['plan', 'research', 'write']);
    const research = snapshot.nodes.find((n) => n.id === 'research');
    assert.deepEqual(research?.instances, [
      { id: 'research[0]', index: 0, status: 'completed', attempts: 1, currentAttempt: 1, output: { text: 'zero' } },
      { id: 'research[1]', index: 1, status: 'running', attempts: 0, currentAttempt: 1 },
      { id: 'research[2]', index: 2, status: 'ready', attempts: 0 },
    ]);
    assert.match(currentDetails(d.state), /`research` running \(3 instances: 1 completed · 1 running · 1 ready\)/);
    assert.doesNotMatch(currentDetails(d.state), /`research\[0\]`/);
  });

  it('the hand-over keeps each finished output once: in the node output after the node finished', () => {
    const d = new Driver({ ...fanOut(), maxConcurrency: 3 });
    d.submit('plan', { topics: topics(3) });
    d.submit('research[0]', { text: 'zero' });
    const midway = compactForHandOver(d.state);
    assert.deepEqual(nodeOf(midway, 'research[0]').output, { text: 'zero' }, 'still needed for the node output');
    assert.equal(nodeOf(midway, 'research[0]').resolvedInput, undefined);
    d.submit('research[1]', { text: 'one' });
    d.submit('research[2]', { text: 'two' });
    const after = compactForHandOver(d.state);
    assert.equal(nodeOf(after, 'research[1]').output, undefined);
    assert.deepEqual(snapshotOf(after).nodes.find((n) => n.id === 'research')?.instances?.[1].output, { text: 'one' });
    assert.ok(JSON.stringify(after).length < JSON.stringify(d.state).length);
  });

  it('a fanned-out node in a loop body fans out afresh each iteration; instance attempt numbers continue', () => {
    const spec = plan(
      [task('plan'), task('research', { forEach: { items: 'input.topics' } } as Partial<PlanNode>), human('review')],
      [
        edge('plan', 'research', { map: { topics: 'output.topics' } }),
        edge('research', 'review'),
        edge('review', 'research', { when: 'output.approved == false', map: { topics: 'output.requiredEdits' }, loop: { maxIterations: 2 } } as never),
      ],
      { maxConcurrency: 4 },
    );
    const d = new Driver(spec);
    d.submit('plan', { topics: ['a', 'b', 'c'] });
    for (const i of [0, 1, 2]) d.submit(`research[${i}]`, { i });
    d.respond('review', { approved: false, requiredEdits: ['x', 'y'] });
    assert.equal(nodeOf(d.state, 'research').fanOut?.count, 2);
    assert.deepEqual(d.state.nodes.filter((n) => n.instanceOf).map((n) => [n.nodeId, n.iteration, n.currentAttempt]), [
      ['research[0]', 2, 2],
      ['research[1]', 2, 2],
    ]);
    assert.equal(currentWorkItem(d.state, 'research[1]')?.item, 'y');
    d.submit('research[0]', {});
    d.submit('research[1]', {});
    assert.equal(d.status('review'), 'awaiting-human');
  });

  it('a fanned-out losing branch of a join is cancelled with each of its instances', () => {
    const spec = plan(
      [task('start'), task('fast'), task('slow', { forEach: { items: 'input.topics' } } as Partial<PlanNode>), structural('first', 'join', { join: { mode: 'any' } } as Partial<PlanNode>)],
      [edge('start', 'fast'), edge('start', 'slow', { map: { topics: 'output.topics' } }), edge('fast', 'first'), edge('slow', 'first')],
      { maxConcurrency: 5 },
    );
    const d = new Driver(spec);
    d.submit('start', { topics: ['a', 'b'] });
    d.submit('slow[0]', {});
    const t = d.submit('fast', {});
    assert.equal(d.status('slow'), 'cancelled');
    assert.equal(d.status('slow[1]'), 'cancelled');
    assert.equal(d.status('slow[0]'), 'completed');
    assert.equal(eventsOf(t.events, 'node-cancelled', 'slow[1]').length, 1);
    assert.equal(d.state.status, 'completed');
  });
});

describe('fan-out: static checks', () => {
  const errorsOf = (nodes: PlanNode[]) => validatePlanSpec(plan(nodes)).errors.map((e) => `${e.path}: ${e.message}`);

  it('items must be a path into the input; maxItems at most 1000; only task and human nodes', () => {
    assert.match(errorsOf([task('a', { forEach: { items: 'input topics' } } as Partial<PlanNode>)]).join('\n'), /nodes\[0\]\.forEach\.items: .*not a dotted path/);
    assert.match(errorsOf([task('a', { forEach: { items: 'output.topics' } } as Partial<PlanNode>)]).join('\n'), /must be a path into the node's input or the run input/);
    assert.match(errorsOf([task('a', { forEach: { items: 'input.t', maxItems: 1001 } } as Partial<PlanNode>)]).join('\n'), /forEach\.maxItems.*at most 1000/);
    assert.match(errorsOf([structural('j', 'switch', { forEach: { items: 'input.t' } } as Partial<PlanNode>)]).join('\n'), /only applies to task, human and plan nodes/);
    assert.deepEqual(errorsOf([task('a', { forEach: { items: 'run.input.topics', maxItems: 1000, maxConcurrency: 3 } } as Partial<PlanNode>)]), []);
  });
});
