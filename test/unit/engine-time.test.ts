/**
 * docs/semantics.md §5 and §9 in the pure engine: one timer model (`pendingTimers`) and what firing does
 * (`fireDueTimers`): delayed nodes, attempt timeouts, node deadlines (warning, escalation, onExpiry)
 * and the plan's deadline. Wake-ups (§12) and `waitingOn` after an escalation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyAgentSubmission,
  applyHumanResponse,
  dispatchFailed,
  fireDueTimers,
  pendingTimers,
  promoteDueNodes,
  resumeRun,
  retryNode,
  snapshotOf,
  waitingOn,
  wakeUpsFor,
  type PlanNode,
  type RunState,
} from '../../src/engine';
import { at, chain, Driver, edge, eventsOf, human, nodeOf, ok, plan, refused, statuses, task, trace, types, exactCopy } from './engine-helpers';

const SEC = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const keys = (state: RunState) => pendingTimers(state).map((timer) => `${timer.key}@${timer.at}`);

describe('time: delayed nodes (§5) through fireDueTimers', () => {
  it('notBefore holds a node in scheduled until exactly that moment', () => {
    const d = new Driver(plan([task('a', { notBefore: at(HOUR) })]));
    assert.equal(d.status('a'), 'scheduled');
    assert.deepEqual(pendingTimers(d.state), [
      { key: 'ready:a', kind: 'ready', nodeId: 'a', at: at(HOUR), summary: `a: notBefore until ${at(HOUR)}` },
    ]);
    const early = fireDueTimers(d.state, at(HOUR - 1));
    assert.deepEqual(early.events, []);
    assert.equal(early.checkpoint, undefined);
    assert.equal(statuses(early.state).a, 'scheduled');
    const due = d.take(fireDueTimers(d.state, at(HOUR)));
    assert.deepEqual(trace(due), ['node-ready:a', 'node-running:a', 'ownership-transition:a', 'checkpoint-saved']);
    assert.equal(due.checkpoint?.reason, 'delayed-node-promoted');
    assert.deepEqual(pendingTimers(d.state), []);
  });

  it('delayAfterPredecessorMs holds a human node until the delay has passed', () => {
    const d = new Driver(plan([task('a'), human('h', 'human-input', { delayAfterPredecessorMs: 30 * SEC })], chain('a', 'h')));
    d.submit('a', {}, [], {}, at(10 * SEC));
    assert.equal(d.status('h'), 'scheduled');
    assert.deepEqual(keys(d.state), [`ready:h@${at(40 * SEC)}`]);
    assert.equal(fireDueTimers(d.state, at(40 * SEC - 1)).events.length, 0);
    d.take(fireDueTimers(d.state, at(40 * SEC)));
    assert.equal(d.status('h'), 'awaiting-human');
  });

  it('promoteDueNodes is the same function (kept for existing callers)', () => {
    const d = new Driver(plan([task('a', { timeoutMs: 1000 })]));
    assert.deepEqual(promoteDueNodes(d.state, at(1000)), fireDueTimers(d.state, at(1000)));
    assert.equal(statuses(promoteDueNodes(d.state, at(1000)).state).a, 'failed', 'it fires timeouts too');
  });
});

describe('time: attempt timeouts (§9)', () => {
  const retrying = () =>
    new Driver(plan([task('a', { timeoutMs: 60 * SEC, retry: { maxAttempts: 2, retryOn: ['timeout'] } }), task('b')], chain('a', 'b')));

  it('lists the timeout at dispatch + timeoutMs; firing earlier changes nothing', () => {
    const d = retrying();
    assert.equal(nodeOf(d.state, 'a').startedAt, at(0));
    assert.deepEqual(pendingTimers(d.state), [
      { key: 'timeout:a#1', kind: 'timeout', nodeId: 'a', attempt: 1, at: at(60 * SEC), summary: `a: timeout of attempt 1 at ${at(60 * SEC)}` },
    ]);
    const before = exactCopy(d.state);
    const early = fireDueTimers(d.state, at(60 * SEC - 1));
    assert.deepEqual(early.events, []);
    assert.equal(early.checkpoint, undefined);
    assert.deepEqual(early.state, before);
  });

  it('at the timeout the attempt fails with class timeout and is retried with a new attempt and a new timer', () => {
    const d = retrying();
    const t = d.take(fireDueTimers(d.state, at(60 * SEC)));
    assert.deepEqual(trace(t), ['node-timed-out:a', 'node-unblocked:a', 'node-running:a', 'ownership-transition:a', 'checkpoint-saved']);
    assert.equal(t.checkpoint?.reason, 'deadline');
    const timedOut = eventsOf(t.events, 'node-timed-out', 'a')[0];
    assert.equal(timedOut.attempt, 1);
    assert.equal(timedOut.by, 'engine');
    assert.equal(timedOut.detail?.failureClass, 'timeout');
    assert.equal(timedOut.detail?.cause, 'timeout');
    assert.equal(timedOut.detail?.dueAt, at(60 * SEC));
    assert.equal(types(t).includes('validation-reported'), false, 'node-timed-out reports the failure');

    const a = nodeOf(d.state, 'a');
    assert.equal(a.attempts, 1);
    assert.equal(a.currentAttempt, 2);
    assert.equal(a.startedAt, at(60 * SEC));
    assert.equal(a.history.length, 1);
    assert.equal(a.history[0].attempt, 1);
    assert.equal(a.history[0].status, 'failed');
    assert.equal(a.history[0].failureClass, 'timeout');
    assert.equal(a.history[0].by, 'engine');
    assert.equal(a.history[0].kind, 'agent');
    assert.equal(a.lastIssues[0].code, 'timeout');

    assert.equal(t.workItems.length, 1);
    assert.equal(t.workItems[0].attempt, 2);
    assert.equal(t.workItems[0].previousIssues[0].code, 'timeout', 'the next attempt learns that the last one timed out');
    assert.deepEqual(keys(d.state), [`timeout:a#2@${at(120 * SEC)}`]);

    // A late result for attempt 1 is stale; one for attempt 2 is accepted and cancels its timer.
    const stale = refused(applyAgentSubmission(d.state, { nodeId: 'a', attempt: 1, structuredOutput: {} }, [], at(61 * SEC)), 'stale-attempt');
    assert.match(stale.message, /attempt 1 timed out/);
    d.take(ok(applyAgentSubmission(d.state, { nodeId: 'a', attempt: 2, structuredOutput: { ok: true } }, [], at(62 * SEC))));
    assert.equal(d.status('a'), 'completed');
    assert.equal(d.status('b'), 'running');
    assert.deepEqual(keys(d.state), [], 'b has no timeout; a no longer runs');
  });

  it('when attempts are used up, onFailure decides: skip lets the rest of the plan continue', () => {
    const d = new Driver(
      plan([task('a', { timeoutMs: 10 * SEC, onFailure: [{ on: 'timeout', action: 'skip' }] }), task('b'), task('c')], [edge('a', 'c'), edge('b', 'c')], { maxConcurrency: 2 }),
    );
    const t = d.take(fireDueTimers(d.state, at(10 * SEC)));
    assert.deepEqual(trace(t).slice(0, 2), ['node-timed-out:a', 'node-skipped:a']);
    assert.equal(t.checkpoint?.reason, 'deadline');
    assert.equal(d.status('a'), 'skipped');
    assert.equal(d.state.failureCount, 1);
    refused(applyAgentSubmission(d.state, { nodeId: 'a', attempt: 1, structuredOutput: {} }, [], at(11 * SEC)), 'node-not-running');
    const late = refused(applyAgentSubmission(d.state, { nodeId: 'a', structuredOutput: {} }, [], at(11 * SEC)), 'node-not-running');
    assert.match(late.message, /timed out/);
    d.submit('b', {}, [], {}, at(12 * SEC));
    assert.equal(d.status('c'), 'running', 'c still has an active edge from b');
  });

  it('retryOn without timeout does not retry a timeout: the default onFailure aborts the run', () => {
    const d = new Driver(plan([task('a', { timeoutMs: 5 * SEC, retry: { maxAttempts: 3, retryOn: ['validation'] } })]));
    d.take(fireDueTimers(d.state, at(5 * SEC)));
    assert.equal(d.status('a'), 'failed');
    assert.equal(d.state.status, 'failed');
    assert.equal(nodeOf(d.state, 'a').failureClass, 'timeout');
    assert.deepEqual(pendingTimers(d.state), []);
  });

  it('an empty retryOn retries a timeout', () => {
    const d = new Driver(plan([task('a', { timeoutMs: 5 * SEC, retry: { maxAttempts: 2 } })]));
    d.take(fireDueTimers(d.state, at(5 * SEC)));
    assert.equal(d.status('a'), 'running');
    assert.equal(nodeOf(d.state, 'a').currentAttempt, 2);
  });

  it('a result before the timeout cancels the timer; firing at the old time then changes nothing', () => {
    const d = retrying();
    d.submit('a', { done: true }, [], {}, at(30 * SEC));
    assert.equal(pendingTimers(d.state).some((timer) => timer.key.startsWith('timeout:a')), false);
    const t = fireDueTimers(d.state, at(60 * SEC));
    assert.deepEqual(t.events, []);
    assert.equal(statuses(t.state).a, 'completed');
  });

  it('a failed result that is retried restarts the clock for the new attempt', () => {
    const d = retrying();
    d.fail('a', 'timeout', 'my tool call timed out', at(20 * SEC));
    assert.deepEqual(keys(d.state), [`timeout:a#2@${at(80 * SEC)}`]);
  });

  it('timeoutMs 0 means no limit; timeoutMs on a human node is ignored', () => {
    const d = new Driver(plan([task('a', { timeoutMs: 0 }), human('h', 'human-input', { timeoutMs: 1000 })], [], { maxConcurrency: 2 }));
    assert.deepEqual(pendingTimers(d.state), []);
  });

  it('several timeouts due at once fire by due time, then spec position', () => {
    const d = new Driver(
      plan([task('a', { timeoutMs: 20 * SEC }), task('b', { timeoutMs: 10 * SEC }), task('c', { timeoutMs: 20 * SEC })], [], {
        maxConcurrency: 3,
      }),
    );
    assert.deepEqual(
      pendingTimers(d.state).map((timer) => timer.key),
      ['timeout:b#1', 'timeout:a#1', 'timeout:c#1'],
    );
    const t = fireDueTimers(d.state, at(HOUR));
    assert.deepEqual(
      eventsOf(t.events, 'node-timed-out').map((event) => event.nodeId),
      ['b', 'a', 'c'],
    );
  });

  it('resume hands the node out again and restarts its timeout clock (not its deadline)', () => {
    const d = new Driver(plan([task('a', { timeoutMs: 60 * SEC, deadline: { afterMs: 10 * HOUR } })]));
    d.take(ok(resumeRun(d.state, { by: 'ops' }, at(50 * SEC))));
    assert.equal(nodeOf(d.state, 'a').startedAt, at(0));
    assert.equal(nodeOf(d.state, 'a').dispatchedAt, at(50 * SEC));
    assert.deepEqual(keys(d.state), [`timeout:a#1@${at(110 * SEC)}`, `deadline:a#1@${at(10 * HOUR)}`]);
    assert.deepEqual(fireDueTimers(d.state, at(60 * SEC)).events, [], 'the old due time has no effect any more');
  });

  it('a node blocked by a failed dispatch has no timers; resume brings them back (an expired deadline fires at once)', () => {
    const d = new Driver(plan([task('a', { timeoutMs: 60 * SEC, deadline: { afterMs: 10 * SEC } })]));
    const blocked = dispatchFailed(d.state, { nodeId: 'a', attempt: 1, message: 'connection refused' }, at(SEC));
    assert.ok(blocked);
    d.take(blocked);
    assert.deepEqual(pendingTimers(d.state), []);
    d.take(ok(resumeRun(d.state, { by: 'ops' }, at(20 * SEC))));
    assert.deepEqual(keys(d.state), [`deadline:a#1@${at(10 * SEC)}`, `timeout:a#1@${at(80 * SEC)}`]);
    const t = d.take(fireDueTimers(d.state, at(20 * SEC)));
    assert.deepEqual(types(t), ['escalation-triggered', 'checkpoint-saved']);
    assert.equal(d.status('a'), 'running');
  });
});

describe('time: node deadlines (§9)', () => {
  const lead = { kind: 'human' as const, ref: 'lead' };
  const approvalPlan = (deadline: PlanNode['deadline'], extra: Partial<PlanNode> = {}) =>
    plan([human('approve', 'human-approval', { deadline, ...extra }), task('publish')], chain('approve', 'publish'));

  it('a 2-day human deadline: warning exactly at 2d − warnBeforeMs, escalation at 2d, then it keeps waiting', () => {
    const d = new Driver(approvalPlan({ afterMs: 2 * DAY, warnBeforeMs: 4 * HOUR, escalateTo: lead }));
    assert.equal(d.status('approve'), 'awaiting-human');
    assert.deepEqual(pendingTimers(d.state), [
      {
        key: 'deadline-warning:approve#1',
        kind: 'deadline-warning',
        nodeId: 'approve',
        attempt: 1,
        at: at(2 * DAY - 4 * HOUR),
        summary: `approve: deadline warning for attempt 1 at ${at(2 * DAY - 4 * HOUR)}`,
      },
      {
        key: 'deadline:approve#1',
        kind: 'deadline',
        nodeId: 'approve',
        attempt: 1,
        at: at(2 * DAY),
        summary: `approve: deadline of attempt 1 at ${at(2 * DAY)} (escalates to human:lead)`,
      },
    ]);
    assert.deepEqual(fireDueTimers(d.state, at(2 * DAY - 4 * HOUR - 1)).events, []);

    const warned = d.take(fireDueTimers(d.state, at(2 * DAY - 4 * HOUR)));
    assert.deepEqual(trace(warned), ['deadline-warning:approve', 'checkpoint-saved']);
    assert.equal(warned.checkpoint?.reason, 'deadline');
    const warning = eventsOf(warned.events, 'deadline-warning')[0];
    assert.equal(warning.attempt, 1);
    assert.deepEqual(warning.detail, { dueAt: at(2 * DAY), warnAt: at(2 * DAY - 4 * HOUR), owner: { kind: 'human', ref: 'people-approve' } });
    assert.deepEqual(keys(d.state), [`deadline:approve#1@${at(2 * DAY)}`], 'the warning never fires twice');
    assert.deepEqual(fireDueTimers(d.state, at(2 * DAY - 4 * HOUR)).events, []);
    assert.deepEqual(waitingOn(d.state), ['human:people-approve']);

    const escalated = d.take(fireDueTimers(d.state, at(2 * DAY)));
    assert.deepEqual(trace(escalated), ['escalation-triggered:approve', 'checkpoint-saved']);
    const escalation = eventsOf(escalated.events, 'escalation-triggered')[0];
    assert.equal(escalation.attempt, 1);
    assert.deepEqual(escalation.detail, { dueAt: at(2 * DAY), owner: { kind: 'human', ref: 'people-approve' }, escalateTo: lead, onExpiry: 'escalate' });
    assert.equal(d.status('approve'), 'awaiting-human', 'onExpiry escalate keeps waiting');
    assert.equal(d.state.approvals[0].status, 'pending');
    assert.deepEqual(pendingTimers(d.state), []);
    assert.deepEqual(waitingOn(d.state), ['human:lead', 'human:people-approve'], 'the escalated human finds the run in their inbox');
    assert.deepEqual(wakeUpsFor(d.state, [...warned.events, ...escalated.events]), [], 'people are not woken through agent wake-ups');
    assert.deepEqual(fireDueTimers(d.state, at(3 * DAY)).events, [], 'the escalation never fires twice');

    d.respond('approve', { approved: true }, 'alice', [], at(2 * DAY + HOUR));
    assert.equal(d.status('approve'), 'completed');
    assert.deepEqual(waitingOn(d.state), ['agent:agent-publish']);
  });

  it('a late timer fires the warning and the escalation in one transition, warning first', () => {
    const d = new Driver(approvalPlan({ afterMs: 2 * DAY, warnBeforeMs: 4 * HOUR, escalateTo: lead }));
    const t = d.take(fireDueTimers(d.state, at(5 * DAY)));
    assert.deepEqual(trace(t), ['deadline-warning:approve', 'escalation-triggered:approve', 'checkpoint-saved']);
    assert.deepEqual(fireDueTimers(d.state, at(6 * DAY)).events, []);
  });

  it('no warning without warnBeforeMs; the deadline counts from dispatch, not from run start', () => {
    const d = new Driver(plan([task('a'), human('h', 'human-input', { deadline: { afterMs: HOUR } })], chain('a', 'h')));
    assert.deepEqual(pendingTimers(d.state), [], 'h is not active yet');
    d.submit('a', {}, [], {}, at(10 * HOUR));
    assert.deepEqual(keys(d.state), [`deadline:h#1@${at(11 * HOUR)}`]);
  });

  it('agent-owned node: the warning wakes the owner, the escalation wakes escalateTo when it is an agent', () => {
    const d = new Driver(plan([task('a', { deadline: { afterMs: 10 * SEC, warnBeforeMs: 2 * SEC, escalateTo: { kind: 'agent', ref: 'supervisor' } } })]));
    const warned = d.take(fireDueTimers(d.state, at(8 * SEC)));
    const warningWakeUps = wakeUpsFor(d.state, warned.events);
    assert.deepEqual(
      warningWakeUps.map((w) => [w.eventType, w.agentRef, w.nodeId, w.attempt, w.workItem.reason]),
      [['deadline-warning', 'agent-a', 'a', 1, 'deadline-warning']],
    );
    const escalated = d.take(fireDueTimers(d.state, at(10 * SEC)));
    const escalationWakeUps = wakeUpsFor(d.state, escalated.events);
    assert.deepEqual(
      escalationWakeUps.map((w) => [w.eventType, w.agentRef, w.nodeId, w.attempt, w.eventId]),
      [['escalation-triggered', 'supervisor', 'a', 1, eventsOf(escalated.events, 'escalation-triggered')[0].id]],
    );
    assert.equal(escalationWakeUps[0].workItem.nodeId, 'a');
    assert.deepEqual(waitingOn(d.state), ['agent:agent-a', 'agent:supervisor']);
    d.submit('a', {}, [], {}, at(11 * SEC));
    assert.deepEqual(waitingOn(d.state), [], 'escalateTo is no longer waited on once the node finished');
  });

  it('agent-owned node without escalateTo: the escalation wakes the owner', () => {
    const d = new Driver(plan([task('a', { deadline: { afterMs: 10 * SEC } })]));
    const t = d.take(fireDueTimers(d.state, at(10 * SEC)));
    assert.deepEqual(wakeUpsFor(d.state, t.events).map((w) => [w.eventType, w.agentRef]), [['escalation-triggered', 'agent-a']]);
    assert.deepEqual(eventsOf(t.events, 'escalation-triggered')[0].detail?.escalateTo, { kind: 'agent', ref: 'agent-a' });
  });

  it('a warning and an escalation to another agent in one transition wake both agents', () => {
    const d = new Driver(plan([task('a', { deadline: { afterMs: 10 * SEC, warnBeforeMs: 2 * SEC, escalateTo: { kind: 'agent', ref: 'supervisor' } } })]));
    const t = d.take(fireDueTimers(d.state, at(HOUR)));
    assert.deepEqual(wakeUpsFor(d.state, t.events).map((w) => [w.eventType, w.agentRef]), [
      ['deadline-warning', 'agent-a'],
      ['escalation-triggered', 'supervisor'],
    ]);
  });

  it('an escalation to a human wakes no agent; a hidden node wakes nobody', () => {
    const d = new Driver(plan([task('a', { deadline: { afterMs: 10 * SEC, warnBeforeMs: SEC, escalateTo: lead } })]));
    const t = d.take(fireDueTimers(d.state, at(10 * SEC)));
    assert.deepEqual(wakeUpsFor(d.state, t.events).map((w) => [w.eventType, w.agentRef]), [['deadline-warning', 'agent-a']]);
    assert.deepEqual(waitingOn(d.state), ['agent:agent-a', 'human:lead']);
    const hidden = new Driver(plan([task('a', { visibility: 'hidden', deadline: { afterMs: 10 * SEC, warnBeforeMs: SEC } })]));
    const th = hidden.take(fireDueTimers(hidden.state, at(10 * SEC)));
    assert.deepEqual(types(th).slice(0, 2), ['deadline-warning', 'escalation-triggered']);
    assert.deepEqual(wakeUpsFor(hidden.state, th.events), []);
  });

  it('onExpiry fail on a human node: the approval expires and onFailure routes the node (skip → downstream continues)', () => {
    const d = new Driver(
      plan(
        [task('draft'), human('approve', 'human-approval', { deadline: { afterMs: DAY, escalateTo: lead, onExpiry: 'fail' }, onFailure: [{ on: 'timeout', action: 'skip' }] }), task('publish')],
        [edge('draft', 'approve'), edge('draft', 'publish'), edge('approve', 'publish')],
      ),
    );
    d.submit('draft', { text: 'x' }, [], {}, at(HOUR));
    assert.deepEqual(keys(d.state), [`deadline:approve#1@${at(HOUR + DAY)}`]);
    assert.match(pendingTimers(d.state)[0].summary, /escalates to human:lead, then fails/);
    const t = d.take(fireDueTimers(d.state, at(HOUR + DAY)));
    assert.deepEqual(trace(t).slice(0, 6), [
      'escalation-triggered:approve',
      'approval-resolved:approve',
      'node-timed-out:approve',
      'node-skipped:approve',
      'node-ready:publish',
      'node-running:publish',
    ]);
    assert.equal(t.checkpoint?.reason, 'deadline');
    assert.equal(eventsOf(t.events, 'escalation-triggered')[0].detail?.onExpiry, 'fail');
    assert.equal(eventsOf(t.events, 'node-timed-out')[0].detail?.cause, 'deadline');
    assert.deepEqual(eventsOf(t.events, 'approval-resolved')[0].detail, { status: 'expired' });
    assert.equal(d.state.approvals[0].status, 'expired');
    assert.equal(d.state.approvals[0].resolvedAt, at(HOUR + DAY));
    assert.equal(snapshotOf(d.state).approvals[0].status, 'expired');
    const approve = nodeOf(d.state, 'approve');
    assert.equal(approve.status, 'skipped');
    assert.equal(approve.failureClass, 'timeout');
    assert.deepEqual(
      approve.history.map((h) => [h.attempt, h.kind, h.by, h.status, h.failureClass]),
      [[1, 'human', 'engine', 'failed', 'timeout']],
    );
    assert.equal(d.status('publish'), 'running');
    assert.deepEqual(waitingOn(d.state), ['agent:agent-publish'], 'the lead is not waited on once the node failed');

    const late = refused(applyHumanResponse(d.state, { nodeId: 'approve', respondedBy: 'alice', response: { approved: true } }, [], at(2 * DAY)), 'no-pending-approval');
    assert.match(late.message, /expired/);
    const byId = refused(applyHumanResponse(d.state, { approvalId: 'approve#1', respondedBy: 'alice', response: { approved: true } }, [], at(2 * DAY)), 'approval-mismatch');
    assert.match(byId.message, /expired/);
  });

  it('onExpiry fail on a human node without onFailure aborts the run; retry opens a new approval with its own deadline', () => {
    const d = new Driver(approvalPlan({ afterMs: HOUR, onExpiry: 'fail' }));
    d.take(fireDueTimers(d.state, at(HOUR)));
    assert.equal(d.status('approve'), 'failed');
    assert.equal(d.state.status, 'failed');
    assert.deepEqual(pendingTimers(d.state), []);
    d.take(ok(retryNode(d.state, { nodeId: 'approve', by: 'ops' }, at(2 * HOUR))));
    assert.equal(d.status('approve'), 'awaiting-human');
    assert.deepEqual(d.state.approvals.map((a) => [a.approvalId, a.status]), [['approve#1', 'expired'], ['approve#2', 'pending']]);
    assert.deepEqual(keys(d.state), [`deadline:approve#2@${at(3 * HOUR)}`]);
  });

  it('onExpiry fail on a task node retries when attempts remain; the new attempt has new deadline timers', () => {
    const d = new Driver(plan([task('a', { retry: { maxAttempts: 2 }, deadline: { afterMs: HOUR, warnBeforeMs: 10 * 60_000, onExpiry: 'fail' } })]));
    const t = d.take(fireDueTimers(d.state, at(HOUR)));
    assert.deepEqual(trace(t), [
      'deadline-warning:a',
      'escalation-triggered:a',
      'node-timed-out:a',
      'node-unblocked:a',
      'node-running:a',
      'ownership-transition:a',
      'checkpoint-saved',
    ]);
    assert.equal(nodeOf(d.state, 'a').currentAttempt, 2);
    assert.deepEqual(keys(d.state), [`deadline-warning:a#2@${at(2 * HOUR - 10 * 60_000)}`, `deadline:a#2@${at(2 * HOUR)}`]);
    refused(applyAgentSubmission(d.state, { nodeId: 'a', attempt: 1, structuredOutput: {} }, [], at(HOUR + 1)), 'stale-attempt');
    // Attempt 2 misses its deadline too: no attempts left, the default onFailure aborts.
    d.take(fireDueTimers(d.state, at(2 * HOUR)));
    assert.equal(d.status('a'), 'failed');
    assert.deepEqual(nodeOf(d.state, 'a').history.map((h) => [h.attempt, h.failureClass]), [[1, 'timeout'], [2, 'timeout']]);
  });

  it('a human review of a failed task attempt has no deadline timers', () => {
    const d = new Driver(plan([task('a', { deadline: { afterMs: HOUR, escalateTo: lead }, onFailure: [{ on: 'validation', action: 'human-review' }] })]));
    d.fail('a', 'validation', 'bad', at(SEC));
    assert.equal(d.status('a'), 'awaiting-human');
    assert.deepEqual(pendingTimers(d.state), []);
  });
});

describe('time: the plan deadline (§9)', () => {
  const lead = { kind: 'human' as const, ref: 'lead' };

  it('warning and escalation count from run start, carry no node, wake nobody; the run keeps going', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b'), { deadline: { afterMs: 10 * HOUR, warnBeforeMs: HOUR, escalateTo: lead } }));
    assert.deepEqual(pendingTimers(d.state), [
      { key: 'plan-deadline-warning', kind: 'plan-deadline-warning', at: at(9 * HOUR), summary: `plan deadline warning at ${at(9 * HOUR)}` },
      { key: 'plan-deadline', kind: 'plan-deadline', at: at(10 * HOUR), summary: `plan deadline at ${at(10 * HOUR)} (escalates to human:lead)` },
    ]);
    const warned = d.take(fireDueTimers(d.state, at(9 * HOUR)));
    assert.deepEqual(trace(warned), ['deadline-warning', 'checkpoint-saved']);
    assert.deepEqual(warned.events[0].detail, { scope: 'plan', dueAt: at(10 * HOUR), warnAt: at(9 * HOUR), escalateTo: lead });
    assert.equal(warned.events[0].nodeId, undefined);
    assert.equal(d.state.planDeadlineWarnedAt, at(9 * HOUR));
    assert.deepEqual(wakeUpsFor(d.state, warned.events), []);
    assert.deepEqual(keys(d.state), [`plan-deadline@${at(10 * HOUR)}`]);

    const escalated = d.take(fireDueTimers(d.state, at(10 * HOUR)));
    assert.deepEqual(trace(escalated), ['escalation-triggered', 'checkpoint-saved']);
    assert.deepEqual(escalated.events[0].detail, { scope: 'plan', dueAt: at(10 * HOUR), escalateTo: lead, onExpiry: 'escalate' });
    assert.equal(d.state.status, 'running');
    assert.deepEqual(pendingTimers(d.state), []);
    assert.deepEqual(waitingOn(d.state), ['agent:agent-a', 'human:lead']);
    assert.deepEqual(fireDueTimers(d.state, at(20 * HOUR)).events, [], 'plan timers never fire twice');
  });

  it('plan timers sort after node timers due at the same moment, and vanish when the run finishes', () => {
    const d = new Driver(plan([task('a', { timeoutMs: HOUR })], [], { deadline: { afterMs: HOUR } }));
    assert.deepEqual(
      pendingTimers(d.state).map((timer) => timer.key),
      ['timeout:a#1', 'plan-deadline'],
    );
    d.submit('a', {}, [], {}, at(SEC));
    assert.equal(d.state.status, 'completed');
    assert.deepEqual(pendingTimers(d.state), []);
  });

  it('onExpiry fail: every active, ready, scheduled or blocked node fails with class timeout and the run fails', () => {
    const d = new Driver(
      plan(
        [
          task('a'),
          human('h', 'human-input'),
          task('s', { notBefore: at(DAY) }),
          task('r', { onFailure: [{ on: 'agent-error', action: 'replan' }] }),
          task('next'),
        ],
        [edge('a', 'next')],
        { maxConcurrency: 3, deadline: { afterMs: 10 * HOUR, onExpiry: 'fail' } },
      ),
    );
    d.fail('r', 'agent-error', 'boom', at(SEC));
    assert.deepEqual(statuses(d.state), { a: 'running', h: 'awaiting-human', s: 'scheduled', r: 'blocked', next: 'pending' });
    const t = d.take(fireDueTimers(d.state, at(10 * HOUR)));
    assert.equal(t.checkpoint?.reason, 'deadline');
    assert.deepEqual(trace(t), [
      'escalation-triggered',
      'node-timed-out:a',
      'node-failed:a',
      'approval-resolved:h',
      'node-timed-out:h',
      'node-failed:h',
      'node-failed:s',
      'node-failed:r',
      'run-status-changed',
      'checkpoint-saved',
    ]);
    assert.deepEqual(statuses(d.state), { a: 'failed', h: 'failed', s: 'failed', r: 'failed', next: 'pending' });
    assert.equal(d.state.status, 'failed');
    assert.equal(d.state.approvals[0].status, 'expired');
    assert.equal(d.state.failureCount, 1 + 4);
    for (const id of ['a', 'h', 's', 'r']) assert.equal(nodeOf(d.state, id).failureClass, 'timeout', id);
    assert.deepEqual(nodeOf(d.state, 'a').history.map((h) => [h.attempt, h.kind, h.failureClass]), [[1, 'agent', 'timeout']]);
    assert.deepEqual(nodeOf(d.state, 'h').history.map((h) => [h.attempt, h.kind, h.failureClass]), [[1, 'human', 'timeout']]);
    assert.deepEqual(nodeOf(d.state, 's').history, [], 's never started: no attempt is recorded');
    assert.equal(nodeOf(d.state, 's').scheduledUntil, undefined);
    assert.deepEqual(pendingTimers(d.state), []);
    assert.deepEqual(waitingOn(d.state), []);
    refused(applyAgentSubmission(d.state, { nodeId: 'a', structuredOutput: {} }, [], at(11 * HOUR)), 'node-not-running');
  });
});

describe('time: purity and determinism', () => {
  const spec = plan(
    [
      task('a', { timeoutMs: HOUR, retry: { maxAttempts: 3 }, deadline: { afterMs: 2 * HOUR, warnBeforeMs: HOUR } }),
      human('h', 'human-approval', { deadline: { afterMs: HOUR, warnBeforeMs: 30 * 60_000, escalateTo: { kind: 'agent', ref: 'boss' }, onExpiry: 'fail' }, retry: { maxAttempts: 2 } }),
      task('later', { notBefore: at(90 * 60_000) }),
    ],
    [],
    { maxConcurrency: 3, deadline: { afterMs: 5 * HOUR, warnBeforeMs: HOUR } },
  );

  it('the same state and time give deep-equal transitions and leave the input state untouched', () => {
    const d = new Driver(spec);
    const before = exactCopy(d.state);
    const first = fireDueTimers(d.state, at(3 * HOUR));
    const second = fireDueTimers(d.state, at(3 * HOUR));
    assert.deepEqual(first, second);
    assert.deepEqual(d.state, before);
    assert.ok(first.events.length > 5, 'plenty happened');
    assert.deepEqual(pendingTimers(d.state), pendingTimers(exactCopy(d.state)));
  });

  it('a late step fires what was due in due-time order; retried attempts start their clocks at the late moment', () => {
    const d = new Driver(spec);
    const t = d.take(fireDueTimers(d.state, at(3 * HOUR)));
    const interesting = ['deadline-warning', 'escalation-triggered', 'node-timed-out', 'node-ready', 'approval-requested'];
    assert.deepEqual(
      t.events.filter((e) => interesting.includes(e.type)).map((e) => `${e.type}:${e.nodeId}#${e.attempt ?? ''}`),
      [
        'deadline-warning:h#1', // +30 min
        'deadline-warning:a#1', // +1 h (warning before timeout at the same moment)
        'node-timed-out:a#1', // +1 h
        'escalation-triggered:h#1', // +1 h, later in the spec than a
        'node-timed-out:h#1',
        'approval-requested:h#2',
        'node-ready:later#', // +90 min
      ],
    );
    assert.equal(eventsOf(t.events, 'deadline', 'a').length, 0);
    assert.equal(eventsOf(t.events, 'escalation-triggered', 'a').length, 0, "a's first deadline went with its first attempt");
    assert.equal(nodeOf(d.state, 'a').startedAt, at(3 * HOUR));
    assert.deepEqual(keys(d.state), [
      `deadline-warning:h#2@${at(3 * HOUR + 30 * 60_000)}`,
      `deadline-warning:a#2@${at(4 * HOUR)}`,
      `timeout:a#2@${at(4 * HOUR)}`,
      `deadline:h#2@${at(4 * HOUR)}`,
      `plan-deadline-warning@${at(4 * HOUR)}`,
      `deadline:a#2@${at(5 * HOUR)}`,
      `plan-deadline@${at(5 * HOUR)}`,
    ]);
  });

  it('every timer is retired by its firing: the state after firing lists nothing due', () => {
    const d = new Driver(spec);
    for (const moment of [HOUR / 2, HOUR, 90 * 60_000, 2 * HOUR, 3 * HOUR, 5 * HOUR, 10 * HOUR]) {
      d.take(fireDueTimers(d.state, at(moment)));
      assert.deepEqual(
        pendingTimers(d.state).filter((timer) => Date.parse(timer.at) <= Date.parse(at(moment))),
        [],
        `at +${moment} ms`,
      );
    }
  });
});
