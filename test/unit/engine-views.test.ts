/**
 * Read-only views: snapshot, current work item, waitingOn, current details; and the example plan
 * /work/shared/examples/blog-post.plan.yaml run end to end through the engine.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { currentDetails, currentWorkItem, DETAIL_NODE_LINES, PlanSpec, snapshotOf, waitingOn } from '../../src/engine';
import { blocking, chain, Driver, edge, eventsOf, human, nodeOf, plan, statuses, task, warning } from './engine-helpers';

describe('engine views', () => {
  it('waitingOn lists agent:<ref> and human:<ref> of active nodes, sorted and de-duplicated', () => {
    const d = new Driver(
      plan([task('a', { owner: { kind: 'agent', ref: 'writer' } }), task('b', { owner: { kind: 'agent', ref: 'writer' } }), human('h', 'human-input', { owner: { kind: 'human', ref: 'editors' } })], [], { maxConcurrency: 3 }),
    );
    assert.deepEqual(waitingOn(d.state), ['agent:writer', 'human:editors']);
    d.submit('a', {});
    d.submit('b', {});
    assert.deepEqual(waitingOn(d.state), ['human:editors']);
    d.respond('h', {});
    assert.deepEqual(waitingOn(d.state), []);
  });

  it('waitingOn names the reviewer of a human review (deadline.escalateTo, else "reviewers")', () => {
    const d = new Driver(plan([task('a', { onFailure: [{ on: 'validation', action: 'human-review' }] })]));
    d.submit('a', {}, [blocking()]);
    assert.deepEqual(waitingOn(d.state), ['human:reviewers']);
    const e = new Driver(
      plan([task('a', { onFailure: [{ on: 'validation', action: 'human-review' }], deadline: { afterMs: 1000, escalateTo: { kind: 'human', ref: 'lead' } } })]),
    );
    e.submit('a', {}, [blocking()]);
    assert.deepEqual(waitingOn(e.state), ['human:lead']);
  });

  it('snapshotOf lists nodes in spec order with status, attempts, output and issues', () => {
    const d = new Driver(plan([task('z', { label: 'Zed' }), task('a'), human('m', 'human-input')], [edge('z', 'm'), edge('a', 'm')], { maxConcurrency: 2 }), { q: 1 });
    d.submit('a', { v: 1 }, [warning('w')]);
    const snapshot = snapshotOf(d.state);
    assert.deepEqual(snapshot.nodes.map((node) => node.id), ['z', 'a', 'm']);
    assert.deepEqual(snapshot.nodes.map((node) => node.status), ['running', 'partial', 'pending']);
    assert.equal(snapshot.nodes[0].label, 'Zed');
    assert.deepEqual(snapshot.nodes[0].owner, { kind: 'agent', ref: 'agent-z' });
    assert.deepEqual(snapshot.nodes[1].output, { v: 1 });
    assert.equal(snapshot.nodes[1].attempts, 1);
    assert.equal(snapshot.runId, 'run-1');
    assert.equal(snapshot.planId, 'test-plan');
    assert.equal(snapshot.title, 'Test plan');
    assert.equal(snapshot.status, 'running');
    assert.deepEqual(snapshot.input, { q: 1 });
    assert.equal(snapshot.lastSeq, d.events.length);
    assert.equal(snapshot.checkpointSequence, d.transitions.length);
    assert.equal(snapshot.failureCount, 0);
    // JSON-clean (it travels through Temporal queries)
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)).nodes.length, 3);
  });

  it('snapshotOf shows approvals and failed node issues', () => {
    const d = new Driver(plan([task('a'), human('h', 'human-approval', { approvers: ['alice'] })], chain('a', 'h')));
    d.submit('a', {});
    const snapshot = snapshotOf(d.state);
    assert.deepEqual(snapshot.approvals, [
      { approvalId: 'h#1', nodeId: 'h', status: 'pending', attempt: 1, kind: 'node', owner: { kind: 'human', ref: 'people-h' }, approvers: ['alice'], respondedBy: undefined },
    ]);
    const e = new Driver(plan([task('a')]));
    e.submit('a', {}, [blocking('nope', 'x')]);
    const failed = snapshotOf(e.state).nodes[0];
    assert.equal(failed.failureClass, 'validation');
    assert.deepEqual(failed.issues, [blocking('nope', 'x')]);
  });

  it('currentWorkItem answers for running task nodes only', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 2 } }), human('h', 'human-input'), task('b')], chain('a', 'h', 'b')), { t: 1 });
    const item = currentWorkItem(d.state, 'a');
    assert.equal(item?.attempt, 1);
    assert.equal(item?.reason, 'dispatch');
    assert.deepEqual(item?.resolvedInput, { t: 1 });
    assert.deepEqual(item, d.transitions[0].workItems[0]);
    d.submit('a', {}, [blocking('again')]);
    const retry = currentWorkItem(d.state, 'a');
    assert.equal(retry?.attempt, 2);
    assert.equal(retry?.reason, 'retry');
    assert.deepEqual(retry?.previousIssues, [blocking('again')]);
    assert.equal(currentWorkItem(d.state, 'b'), null);
    assert.equal(currentWorkItem(d.state, 'ghost'), null);
    d.submit('a', {});
    assert.equal(currentWorkItem(d.state, 'h'), null, 'human nodes have no work item');
  });

  it('currentDetails has one line per node', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    const details = currentDetails(d.state);
    assert.match(details, /Test plan\*\*: running/);
    assert.match(details, /`a` running/);
    assert.match(details, /`b` pending/);
    assert.match(details, /\(1 running · 1 pending\)/);
  });

  it('currentDetails of a large plan lists only the nodes in play, up to a limit', () => {
    const count = DETAIL_NODE_LINES * 2 + 10;
    const nodes = Array.from({ length: count }, (_, i) => task(`t${i}`));
    const d = new Driver(plan(nodes, chain('t0', 't1')));
    // t0 runs, t1 waits for it (pending), the other roots are ready: in play, but more than the limit.
    const details = currentDetails(d.state);
    const lines = details.split('\n').filter((line) => line.startsWith('- '));
    assert.equal(lines.length, DETAIL_NODE_LINES + 1);
    assert.doesNotMatch(details, /`t1` pending/, 'pending nodes are not listed in a large plan');
    assert.match(lines.at(-1) ?? '', /… and \d+ more/);
  });
});

describe('engine: blog-post example end to end', () => {
  const file = [path.resolve(__dirname, '../../../examples/blog-post.plan.yaml')].find((candidate) => existsSync(candidate));
  const load = () => {
    assert.ok(file, 'blog-post.plan.yaml not found');
    return PlanSpec.parse(parse(readFileSync(file, 'utf8')));
  };
  const notes = { summary: 'Durable execution keeps agent plans alive.', sources: ['a', 'b', 'c'], confidence: 0.9 };

  /** research (one retry) → draft (one human review) → approve. */
  function toApproval(): Driver {
    const d = new Driver(load(), { topic: 'durable agents' });
    assert.equal(d.status('research'), 'running');
    assert.deepEqual(nodeOf(d.state, 'research').resolvedInput, { topic: 'durable agents' });

    // research: schema error → retried (validation is in retryOn), then passes with a warning → partial
    const r1 = d.submit('research', { summary: 'short' }, [blocking('must NOT have fewer than 20 characters', 'summary')]);
    assert.equal(r1.workItems[0].attempt, 2);
    assert.equal(r1.workItems[0].previousIssues[0].path, 'summary');
    d.submit('research', { ...notes, sources: ['a'] }, [warning('sources has fewer than 3 items', 'sources')]);
    assert.equal(d.status('research'), 'partial');
    assert.deepEqual(nodeOf(d.state, 'draft').resolvedInput, { notes: notes.summary, sources: ['a'], topic: 'durable agents' });

    // draft: invalid → human review (onFailure) → the reviewer's answer is the output
    const d1 = d.submit('draft', { title: 'Durable agents' }, [blocking("must have required property 'body'", '')]);
    assert.equal(eventsOf(d1.events, 'approval-requested', 'draft')[0].approvalId, 'draft#2');
    assert.equal(d.state.status, 'awaiting-human');
    d.respond('draft', { title: 'Durable agents', body: 'Long form text.' }, 'carol');
    assert.equal(d.status('draft'), 'completed');
    assert.equal(d.status('approve'), 'awaiting-human');
    assert.deepEqual(nodeOf(d.state, 'approve').resolvedInput, { title: 'Durable agents', body: 'Long form text.' });
    assert.equal(d.state.approvals.at(-1)?.approvalId, 'approve#1');
    assert.deepEqual(d.state.approvals.at(-1)?.approvers, ['alice', 'bob']);
    return d;
  }

  it('approve path: publish and announce run, archive is skipped', () => {
    const d = toApproval();
    d.respond('approve', { approved: true }, 'alice');
    assert.equal(d.status('archive'), 'skipped');
    assert.equal(d.status('publish'), 'running');
    d.submit('publish', { url: 'https://blog.example/durable' });
    assert.deepEqual(nodeOf(d.state, 'announce').resolvedInput, { url: 'https://blog.example/durable' });
    d.submit('announce', {});
    assert.deepEqual(statuses(d.state), {
      research: 'partial',
      draft: 'completed',
      approve: 'completed',
      publish: 'completed',
      announce: 'completed',
      archive: 'skipped',
    });
    assert.equal(d.state.status, 'completed');
    assert.equal(d.state.failureCount, 1, 'the human review of the draft');
    assert.deepEqual(d.events.map((event) => event.seq), d.events.map((_, i) => i + 1));
  });

  it('reject path: archive runs, publish and announce are skipped', () => {
    const d = toApproval();
    d.respond('approve', { approved: false, comments: 'not now' }, 'bob');
    assert.deepEqual(statuses(d.state), {
      research: 'partial',
      draft: 'completed',
      approve: 'completed',
      publish: 'skipped',
      announce: 'skipped',
      archive: 'running',
    });
    d.submit('archive', {});
    assert.equal(d.state.status, 'completed');
  });

  it('an approver outside the list is refused; changes requested also route to archive', () => {
    const d = toApproval();
    const payload = { nodeId: 'approve', respondedBy: 'mallory', response: { approved: true } };
    assert.throws(() => d.respond(payload.nodeId, payload.response, payload.respondedBy), /not-authorized/);
    const t = d.respond('approve', { approved: false, requiredEdits: ['shorter intro'] }, 'bob');
    assert.equal(t.outcome.approvalStatus, 'changes-requested');
    assert.equal(d.status('archive'), 'running');
  });
});
