/**
 * docs/semantics.md §7: agent results: refusals, idempotency, recording, retries and failure actions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyAgentSubmission, cancelRun, checkAgentSubmission, checkHumanResponse, type PlanNode } from '../../src/engine';
import { at, blocking, chain, Driver, edge, eventsOf, human, nodeOf, ok, plan, refused, structural, task, trace, types, warning, exactCopy } from './engine-helpers';

describe('engine results: refusals (§7)', () => {
  const spec = plan([task('a'), human('h'), structural('s'), task('b')], [edge('a', 's'), edge('s', 'b')]);

  it('refuses an unknown node', () => {
    const d = new Driver(spec);
    refused(applyAgentSubmission(d.state, { nodeId: 'nope', structuredOutput: {} }, [], at(1)), 'unknown-node');
  });

  it('refuses a human node and a structural node (not-agent-node)', () => {
    const d = new Driver(spec);
    refused(applyAgentSubmission(d.state, { nodeId: 'h', structuredOutput: {} }, [], at(1)), 'not-agent-node');
    refused(applyAgentSubmission(d.state, { nodeId: 's', structuredOutput: {} }, [], at(1)), 'not-agent-node');
  });

  it('refuses a task node that is not running (pending, completed)', () => {
    const d = new Driver(spec);
    refused(applyAgentSubmission(d.state, { nodeId: 'b', structuredOutput: {} }, [], at(1)), 'node-not-running');
    d.respond('h', { approved: true });
    d.submit('a', {});
    d.submit('b', {});
    // the run completed: run-finished comes first
    refused(applyAgentSubmission(d.state, { nodeId: 'b', structuredOutput: {} }, [], at(9)), 'run-finished');
  });

  it('refuses a completed node in a run that still runs', () => {
    const d = new Driver(plan([task('a'), task('b')], [], { maxConcurrency: 2 }));
    d.submit('a', {});
    refused(applyAgentSubmission(d.state, { nodeId: 'a', structuredOutput: {} }, [], at(9)), 'node-not-running');
  });

  it('refuses a stale attempt and accepts the current one', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 3 } })]));
    d.submit('a', {}, [blocking()]);
    assert.equal(nodeOf(d.state, 'a').currentAttempt, 2);
    refused(applyAgentSubmission(d.state, { nodeId: 'a', attempt: 1, structuredOutput: {} }, [], at(9)), 'stale-attempt');
    refused(applyAgentSubmission(d.state, { nodeId: 'a', attempt: 3, structuredOutput: {} }, [], at(9)), 'stale-attempt');
    const t = ok(applyAgentSubmission(d.state, { nodeId: 'a', attempt: 2, structuredOutput: {} }, [], at(9)));
    assert.equal(t.outcome.attempt, 2);
    assert.equal(t.outcome.nodeStatus, 'completed');
  });

  it('refuses a malformed payload', () => {
    const d = new Driver(spec);
    refused(applyAgentSubmission(d.state, { structuredOutput: {} }, [], at(1)), 'invalid-payload');
    refused(applyAgentSubmission(d.state, { nodeId: 'a', attempt: 0 }, [], at(1)), 'invalid-payload');
    refused(applyAgentSubmission(d.state, { nodeId: 'a', failure: { class: 'weird', message: 'x' } }, [], at(1)), 'invalid-payload');
  });

  it('refuses results after cancel (run-finished)', () => {
    const d = new Driver(spec);
    d.take(ok(cancelRun(d.state, { by: 'ops' }, at(1))));
    refused(applyAgentSubmission(d.state, { nodeId: 'a', structuredOutput: {} }, [], at(2)), 'run-finished');
  });

  it('a refusal changes nothing', () => {
    const d = new Driver(spec);
    const before = exactCopy(d.state);
    refused(applyAgentSubmission(d.state, { nodeId: 'b', structuredOutput: {} }, [], at(1)), 'node-not-running');
    assert.deepEqual(d.state, before);
  });
});

describe('engine results: validation request (§7)', () => {
  it('checkAgentSubmission asks for the output schema and completion checks, with the would-be context', () => {
    const checks: PlanNode['completionChecks'] = [{ kind: 'required', path: 'summary' }, { kind: 'artifact', name: 'notes', severity: 'warning' }];
    const d = new Driver(
      plan([task('a', { outputSchema: 'Notes', completionChecks: checks })], [], {
        schemas: { Notes: { type: 'object', properties: { src: { $ref: 'Src' } } }, Src: { type: 'string' }, Unused: {} },
      }),
      { topic: 't' },
    );
    const check = checkAgentSubmission(d.state, {
      nodeId: 'a',
      structuredOutput: { summary: 's' },
      artifacts: [{ name: 'notes', kind: 'file', pointer: 'p' }],
    });
    assert.ok(!check.refused && !check.duplicate);
    assert.ok(check.validation);
    assert.equal(check.validation.schemaRef, 'Notes');
    assert.deepEqual(Object.keys(check.validation.schemas).sort(), ['Notes', 'Src']);
    assert.deepEqual(check.validation.value, { summary: 's' });
    assert.deepEqual(check.validation.checks, checks);
    assert.equal(check.validation.schemaIssueCode, 'schema');
    assert.deepEqual(check.validation.context.output, { summary: 's' });
    assert.equal(check.validation.context.artifact.notes.pointer, 'p');
    assert.deepEqual(check.validation.context.input, { topic: 't' });
    assert.deepEqual(check.validation.context.run, { input: { topic: 't' } });
  });

  it('a reported failure needs no validation', () => {
    const d = new Driver(plan([task('a')]));
    const check = checkAgentSubmission(d.state, { nodeId: 'a', failure: { message: 'no' } });
    assert.ok(!check.refused && !check.duplicate);
    assert.equal(check.validation, null);
  });
});

describe('engine results: recording and completion (§7)', () => {
  it('records the attempt, output, notes, handoff and artifacts; node-completed', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    const t = d.submit('a', { v: 1 }, [], {
      notes: 'done quickly',
      handoffContext: { tip: 'see notes' },
      artifacts: [{ name: 'notes', kind: 'file', pointer: 'file://n' }],
      by: 'agent:researcher-7',
      submissionId: 'sub-1',
    });
    const a = nodeOf(d.state, 'a');
    assert.equal(a.status, 'completed');
    assert.equal(a.attempts, 1);
    assert.deepEqual(a.output, { v: 1 });
    assert.equal(a.notes, 'done quickly');
    assert.deepEqual(a.handoffContext, { tip: 'see notes' });
    assert.equal(a.artifacts.notes.pointer, 'file://n');
    assert.equal(a.history.length, 1);
    assert.equal(a.history[0].attempt, 1);
    assert.equal(a.history[0].by, 'agent:researcher-7');
    assert.equal(a.history[0].status, 'completed');
    assert.equal(a.history[0].submissionId, 'sub-1');
    assert.deepEqual(types(t).slice(0, 1), ['node-completed']);
    assert.equal(t.checkpoint?.reason, 'node-result-complete');
    assert.deepEqual(t.outcome, {
      accepted: true,
      nodeId: 'a',
      attempt: 1,
      nodeStatus: 'completed',
      runStatus: 'running',
      issues: [],
      verdict: 'completed',
      message: 'Result accepted: node "a" completed (attempt 1); run running.',
    });
    // the next node receives the upstream handoff
    assert.equal(t.workItems.length, 1);
    assert.deepEqual(t.workItems[0].handoff, { a: { tip: 'see notes' } });
  });

  it('warnings make the node partial (node-partial) and downstream still runs', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    const t = d.submit('a', { v: 1 }, [warning('only 2 sources', 'sources')]);
    assert.equal(d.status('a'), 'partial');
    assert.equal(eventsOf(t.events, 'node-partial', 'a').length, 1);
    assert.equal(eventsOf(t.events, 'validation-reported').length, 0);
    assert.equal(nodeOf(d.state, 'a').history[0].status, 'partial');
    assert.equal(d.status('b'), 'running');
    d.submit('b', {});
    assert.equal(d.state.status, 'completed', 'partial counts as successful for the run');
  });

  it('the submission is recorded by the agent owner when no `by` is given', () => {
    const d = new Driver(plan([task('a')]));
    const t = d.submit('a', {});
    assert.equal(nodeOf(d.state, 'a').history[0].by, 'agent:agent-a');
    assert.equal(t.events[0].by, 'agent:agent-a');
  });
});

describe('engine results: idempotency (§7)', () => {
  it('a duplicate submissionId returns the first outcome with duplicate:true and changes nothing', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 3 } }), task('b')], chain('a', 'b')));
    const first = d.submit('a', { v: 1 }, [blocking()], { submissionId: 'sub-1' });
    assert.equal(first.outcome.nodeStatus, 'running');
    const before = exactCopy(d.state);
    // Same id again, even with different content and no issues: nothing changes.
    const again = ok(applyAgentSubmission(d.state, { nodeId: 'a', submissionId: 'sub-1', structuredOutput: { v: 2 } }, [], at(99_000)));
    assert.deepEqual(again.outcome, { ...first.outcome, duplicate: true });
    assert.equal(again.events.length, 0);
    assert.equal(again.checkpoint, undefined);
    assert.equal(again.workItems.length, 0);
    assert.deepEqual(again.state, before);
    assert.equal(again.state.seq, before.seq);
    assert.equal(nodeOf(again.state, 'a').attempts, 1);
  });

  it('a duplicate after the run finished still answers with the first outcome', () => {
    const d = new Driver(plan([task('a')]));
    const first = d.submit('a', {}, [], { submissionId: 's' });
    assert.equal(d.state.status, 'completed');
    const again = ok(applyAgentSubmission(d.state, { nodeId: 'a', submissionId: 's', structuredOutput: {} }, [], at(9)));
    assert.equal(again.outcome.duplicate, true);
    assert.equal(again.outcome.runStatus, first.outcome.runStatus);
  });
});

describe('engine results: retries (§7)', () => {
  it('retries while attempts < maxAttempts; the retry work item carries the previous issues', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 3, retryOn: ['validation'] } })]));
    const issue = blocking('summary is required', 'summary');
    const t1 = d.submit('a', {}, [issue]);
    assert.deepEqual(trace(t1).slice(0, 3), ['validation-reported:a', 'node-unblocked:a', 'node-running:a']);
    assert.equal(t1.checkpoint?.reason, 'node-result-retry');
    assert.equal(d.status('a'), 'running');
    assert.equal(nodeOf(d.state, 'a').currentAttempt, 2);
    assert.equal(t1.workItems.length, 1);
    assert.equal(t1.workItems[0].attempt, 2);
    assert.deepEqual(t1.workItems[0].previousIssues, [issue]);
    assert.equal(t1.workItems[0].reason, 'retry');
    assert.equal(d.state.failureCount, 0, 'a retry is not a failure action');
    const reported = eventsOf(t1.events, 'validation-reported', 'a')[0];
    assert.equal(reported.detail?.failureClass, 'validation');
    assert.deepEqual(reported.detail?.issues, [issue]);

    d.submit('a', {}, [issue]);
    assert.equal(nodeOf(d.state, 'a').currentAttempt, 3);
    const t3 = d.submit('a', {}, [issue]);
    // 3 attempts used: the default action (abort) decides.
    assert.equal(d.status('a'), 'failed');
    assert.equal(nodeOf(d.state, 'a').attempts, 3);
    assert.equal(t3.checkpoint?.reason, 'node-result-failed');
    assert.equal(d.state.failureCount, 1);
    assert.deepEqual(nodeOf(d.state, 'a').history.map((h) => [h.attempt, h.status, h.failureClass]), [
      [1, 'failed', 'validation'],
      [2, 'failed', 'validation'],
      [3, 'failed', 'validation'],
    ]);
  });

  it('a success on a retry clears the previous issues', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 2 } })]));
    d.submit('a', {}, [blocking()]);
    d.submit('a', { ok: true });
    const a = nodeOf(d.state, 'a');
    assert.equal(a.status, 'completed');
    assert.deepEqual(a.lastIssues, []);
    assert.equal(a.failureClass, undefined);
  });

  it('an empty retryOn retries every class', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 2 } })]));
    d.fail('a', 'timeout');
    assert.equal(d.status('a'), 'running');
    assert.equal(nodeOf(d.state, 'a').currentAttempt, 2);
  });

  it('a class not in retryOn goes to onFailure directly, attempts left or not', () => {
    const d = new Driver(
      plan([task('a', { retry: { maxAttempts: 5, retryOn: ['validation'] }, onFailure: [{ on: 'agent-error', action: 'replan' }] })]),
    );
    const t = d.fail('a', undefined, 'tool crashed');
    assert.equal(d.status('a'), 'blocked');
    assert.equal(nodeOf(d.state, 'a').failureClass, 'agent-error', 'the default class of a reported failure is agent-error');
    assert.equal(eventsOf(t.events, 'node-unblocked').length, 0);
    assert.equal(nodeOf(d.state, 'a').history[0].failureMessage, 'tool crashed');
  });

  it('the default maxAttempts is 1: the first failure goes to onFailure', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 1, retryOn: ['validation'] } })]));
    d.submit('a', {}, [blocking()]);
    assert.equal(d.status('a'), 'failed');
    const e = new Driver(plan([task('a')]));
    e.submit('a', {}, [blocking()]);
    assert.equal(e.status('a'), 'failed');
  });

  it('an agent-reported failure class wins over validation issues', () => {
    const d = new Driver(plan([task('a', { onFailure: [{ on: 'timeout', action: 'skip' }] })]));
    d.take(ok(applyAgentSubmission(d.state, { nodeId: 'a', failure: { class: 'timeout', message: 'slow' } }, [blocking()], at(5))));
    assert.equal(d.status('a'), 'skipped');
  });

  it('the first matching onFailure rule decides', () => {
    const d = new Driver(
      plan([task('a', { onFailure: [{ on: 'agent-error', action: 'skip' }, { on: 'validation', action: 'replan' }, { on: 'validation', action: 'skip' }] })]),
    );
    d.submit('a', {}, [blocking()]);
    assert.equal(d.status('a'), 'blocked');
  });
});

describe('engine results: failure actions (§7)', () => {
  it('abort: node failed, run failed (node-failed, run-status-changed), no more dispatch', () => {
    const d = new Driver(plan([task('a'), task('b'), task('c'), task('after-a')], [edge('a', 'after-a')], { maxConcurrency: 2 }));
    assert.deepEqual([d.status('a'), d.status('b'), d.status('c')], ['running', 'running', 'ready']);
    const t = d.submit('a', {}, [blocking()]);
    assert.deepEqual(trace(t), ['validation-reported:a', 'node-failed:a', 'run-status-changed', 'checkpoint-saved']);
    assert.equal(eventsOf(t.events, 'run-status-changed')[0].toStatus, 'failed');
    assert.equal(d.state.status, 'failed');
    assert.equal(d.state.failureCount, 1);
    assert.equal(d.status('c'), 'ready', 'a failed run dispatches nothing new');
    assert.equal(d.status('after-a'), 'pending');
    // The node that was already running can still report; still nothing new is dispatched.
    const t2 = d.submit('b', {});
    assert.equal(d.status('b'), 'completed');
    assert.equal(d.status('c'), 'ready');
    assert.equal(t2.workItems.length, 0);
    assert.equal(d.state.status, 'failed');
  });

  it('human-review: awaiting-human with approval <node>#<attempt> showing the issues; the response becomes the output', () => {
    const d = new Driver(
      plan([task('draft', { onFailure: [{ on: 'validation', action: 'human-review' }], outputSchema: 'Draft' }), task('next')], [edge('draft', 'next', { map: { title: 'output.title' } })], {
        schemas: { Draft: { type: 'object', required: ['title'] } },
      }),
    );
    const issue = blocking('title is required', 'title');
    const t = d.submit('draft', { body: 'no title' }, [issue]);
    assert.equal(d.status('draft'), 'awaiting-human');
    assert.equal(d.state.status, 'awaiting-human');
    assert.equal(t.checkpoint?.reason, 'node-result-human-review');
    assert.equal(d.state.failureCount, 1);
    const requested = eventsOf(t.events, 'approval-requested', 'draft')[0];
    assert.equal(requested.approvalId, 'draft#2');
    assert.deepEqual(requested.detail?.issues, [issue]);
    assert.equal(requested.detail?.kind, 'review');
    assert.deepEqual(requested.detail?.output, { body: 'no title' });
    const approval = d.state.approvals[0];
    assert.equal(approval.approvalId, 'draft#2');
    assert.equal(approval.kind, 'review');
    assert.deepEqual(approval.issues, [issue]);
    assert.equal(approval.status, 'pending');

    const r = d.respond('draft', { title: 'Fixed', body: 'ok' }, 'carol');
    assert.equal(d.status('draft'), 'completed');
    assert.deepEqual(nodeOf(d.state, 'draft').output, { title: 'Fixed', body: 'ok' });
    assert.equal(r.outcome.approvalStatus, 'responded');
    assert.equal(r.checkpoint?.reason, 'human-response-complete');
    assert.deepEqual(nodeOf(d.state, 'next').resolvedInput, { title: 'Fixed' });
    assert.equal(d.status('next'), 'running');
  });

  it('human-review: the reviewer answer is validated against outputSchema; blocking issues block the node', () => {
    const d = new Driver(plan([task('draft', { onFailure: [{ on: 'validation', action: 'human-review' }], outputSchema: 'Draft' })], [], { schemas: { Draft: { type: 'object' } } }));
    d.submit('draft', {}, [blocking()]);
    // The agent can no longer answer: the node waits for a person.
    refused(applyAgentSubmission(d.state, { nodeId: 'draft', structuredOutput: {} }, [], at(1)), 'node-not-running');
    const check = checkHumanResponse(d.state, { nodeId: 'draft', respondedBy: 'anyone-at-all', response: { title: 1 } });
    assert.ok(!check.refused && !check.duplicate && check.validation, 'a review takes any object from anyone');
    assert.equal(check.validation.schemaRef, 'Draft');
    d.respond('draft', { title: 1 }, 'carol', [blocking('title must be string', 'title')]);
    assert.equal(d.status('draft'), 'blocked');
    assert.equal(d.state.status, 'blocked');
    assert.equal(d.state.approvals[0].status, 'invalid');
  });

  it('replan: node blocked, run blocked (node-blocked)', () => {
    const d = new Driver(plan([task('a', { onFailure: [{ on: 'validation', action: 'replan' }] }), task('b')], chain('a', 'b')));
    const t = d.submit('a', {}, [blocking()]);
    assert.equal(d.status('a'), 'blocked');
    assert.equal(d.state.status, 'blocked');
    assert.equal(eventsOf(t.events, 'node-blocked', 'a').length, 1);
    assert.equal(t.checkpoint?.reason, 'node-result-replan');
    assert.equal(d.state.failureCount, 1);
  });

  it('skip: node skipped, its outgoing edges inactive, downstream skipped', () => {
    const d = new Driver(plan([task('a', { onFailure: [{ on: 'validation', action: 'skip' }] }), task('b'), task('c')], chain('a', 'b', 'c')));
    const t = d.submit('a', { ok: true }, [blocking()]);
    assert.deepEqual(trace(t).slice(0, 4), ['validation-reported:a', 'node-skipped:a', 'node-skipped:b', 'node-skipped:c']);
    assert.equal(t.checkpoint?.reason, 'node-result-skip');
    assert.equal(d.state.status, 'completed');
    assert.equal(d.state.failureCount, 1);
  });

  it('failureCount adds one per failure action across nodes', () => {
    const d = new Driver(
      plan([task('a', { onFailure: [{ on: 'agent-error', action: 'skip' }] }), task('b', { onFailure: [{ on: 'agent-error', action: 'skip' }] })]),
    );
    d.fail('a', 'agent-error');
    d.fail('b', 'agent-error');
    assert.equal(d.state.failureCount, 2);
  });
});
