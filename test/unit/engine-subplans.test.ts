/**
 * Sub-plans (docs/semantics.md, "Sub-plans"): a plan node starts a child run, takes its report, and
 * the usual retry and failure rules apply; the effects tell the workflow which child runs to start
 * and to cancel; the child's own report; views and records.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cancelRun,
  createRunState,
  currentDetails,
  currentWorkItem,
  recordOf,
  replanRun,
  resumeRun,
  snapshotOf,
  startRun,
  subplanFinished,
  subplanReport,
  subplanSpec,
  waitingOn,
  type PlanNode,
  type PlanSpec,
  type SubplanFinished,
  type Transition,
} from '../../src/engine';
import { validatePlanSpec } from '../../src/engine/validate-spec';
import { Driver, RUN_ID, T0, at, edge, eventsOf, human, nodeOf, ok, structural, task } from './engine-helpers';

const vetVendor: PlanSpec = {
  id: 'vet-vendor',
  title: 'Vet a vendor',
  nodes: [task('check'), human('approve')],
  edges: [edge('check', 'approve', { map: { findings: 'output.findings' } })],
};
const leaf: PlanSpec = { id: 'leaf', nodes: [task('leaf-task')] };
const outer: PlanSpec = { id: 'outer', nodes: [{ id: 'inner', type: 'plan', plan: 'leaf' }] };

function parentPlan(vetNode: Partial<PlanNode> = {}, extra: Partial<PlanSpec> = {}): PlanSpec {
  return {
    id: 'onboard',
    plans: { 'vet-vendor': vetVendor, leaf, outer },
    nodes: [task('intake'), { id: 'vet', type: 'plan', plan: 'vet-vendor', label: 'Vet the vendor', ...vetNode }, task('sign')],
    edges: [edge('intake', 'vet', { map: { vendor: 'output.vendor' } }), edge('vet', 'sign', { map: { verdict: 'output.nodes.approve.approved', childRun: 'output.runId' } })],
    ...extra,
  };
}

/** The report a child sends when it completed, with the given node outputs. */
function completed(d: Driver, nodeId: string, nodes: Record<string, unknown>, partial = false): SubplanFinished {
  const node = nodeOf(d.state, nodeId);
  return { nodeId, attempt: node.currentAttempt as number, childRunId: node.childRunId as string, status: 'completed', output: { runId: node.childRunId as string, nodes }, ...(partial ? { partial } : {}) };
}
function ended(d: Driver, nodeId: string, status: 'failed' | 'aborted', reason = 'node "check" failed (agent-error: no data)'): SubplanFinished {
  const node = nodeOf(d.state, nodeId);
  return { nodeId, attempt: node.currentAttempt as number, childRunId: node.childRunId as string, status, reason };
}
function report(d: Driver, payload: SubplanFinished): Transition {
  const transition = subplanFinished(d.state, payload, d.now());
  assert.ok(transition, 'the report was taken');
  return d.take(transition);
}

describe('sub-plans: the parent', () => {
  it('a ready plan node starts its child: running, subplan-started with the child run id, a start effect with the sub-plan and the resolved input', () => {
    assert.equal(validatePlanSpec(parentPlan()).valid, true);
    const d = new Driver(parentPlan());
    const t = d.submit('intake', { vendor: 'acme' });
    assert.equal(d.status('vet'), 'running');
    const [started] = eventsOf(t.events, 'subplan-started', 'vet');
    assert.equal(started.detail?.childRunId, `${RUN_ID}.vet`);
    assert.equal(started.detail?.plan, 'vet-vendor');
    assert.equal(started.toStatus, 'running');
    assert.deepEqual(t.subplans?.start, [{ nodeId: 'vet', attempt: 1, childRunId: `${RUN_ID}.vet`, plan: 'vet-vendor', spec: vetVendor, input: { vendor: 'acme' } }]);
    assert.deepEqual(t.subplans?.cancel, []);
    // Nobody is woken, nobody is waited on, no work item: the child run does the work.
    assert.deepEqual(t.workItems, []);
    assert.equal(currentWorkItem(d.state, 'vet'), null);
    assert.deepEqual(waitingOn(d.state), []);
    assert.match(currentDetails(d.state), /`vet` running: child run `run-1\.vet`/);
    assert.equal(snapshotOf(d.state).nodes[1].childRunId, `${RUN_ID}.vet`);
  });

  it('a completed child completes the node with { runId, nodes }, a mapping reads output.nodes.<id>, and nothing is cancelled', () => {
    const d = new Driver(parentPlan());
    d.submit('intake', { vendor: 'acme' });
    const t = report(d, completed(d, 'vet', { check: { findings: ['ok'] }, approve: { approved: true } }));
    assert.equal(d.status('vet'), 'completed');
    assert.deepEqual(nodeOf(d.state, 'vet').output, { runId: 'run-1.vet', nodes: { check: { findings: ['ok'] }, approve: { approved: true } } });
    assert.equal(eventsOf(t.events, 'node-completed', 'vet')[0].by, 'run:run-1.vet');
    assert.equal(t.subplans, undefined, 'a child that completed closes by itself');
    assert.deepEqual(nodeOf(d.state, 'sign').resolvedInput, { verdict: true, childRun: 'run-1.vet' });
    const attempt = nodeOf(d.state, 'vet').history.at(-1);
    assert.equal(attempt?.kind, 'subplan');
    assert.equal(attempt?.status, 'completed');
    assert.equal(t.checkpoint?.reason, 'node-result-complete');
  });

  it('a child with a partial node makes the node partial', () => {
    const d = new Driver(parentPlan());
    d.submit('intake', { vendor: 'acme' });
    const t = report(d, completed(d, 'vet', { check: {}, approve: { approved: true } }, true));
    assert.equal(d.status('vet'), 'partial');
    assert.equal(eventsOf(t.events, 'node-partial', 'vet').length, 1);
    assert.equal(d.status('sign'), 'running');
  });

  it('a failed child fails the attempt with class subplan; the retry rule starts a new child (.2) and the failed one is cancelled', () => {
    const d = new Driver(parentPlan({ retry: { maxAttempts: 2, retryOn: ['subplan'] } }));
    d.submit('intake', { vendor: 'acme' });
    const t = report(d, ended(d, 'vet', 'failed'));
    const [reported] = eventsOf(t.events, 'validation-reported', 'vet');
    assert.equal(reported.detail?.failureClass, 'subplan');
    assert.match(reported.message, /no data/);
    assert.equal(d.status('vet'), 'running');
    assert.equal(nodeOf(d.state, 'vet').childRunId, 'run-1.vet.2');
    assert.deepEqual(t.subplans?.start.map((s) => [s.childRunId, s.attempt]), [['run-1.vet.2', 2]]);
    assert.deepEqual(t.subplans?.cancel.map((c) => c.childRunId), ['run-1.vet']);
    assert.equal(t.checkpoint?.reason, 'node-result-retry');
    assert.deepEqual(snapshotOf(d.state).nodes[1].childRunIds, ['run-1.vet', 'run-1.vet.2']);
    // The second child completes: the node completes.
    report(d, completed(d, 'vet', { check: {}, approve: { approved: false } }));
    assert.equal(d.status('vet'), 'completed');
    assert.deepEqual(nodeOf(d.state, 'sign').resolvedInput, { verdict: false, childRun: 'run-1.vet.2' });
  });

  it('without a retry, a failed child fails the node and the run (onFailure default abort); the failed child is cancelled', () => {
    const d = new Driver(parentPlan());
    d.submit('intake', { vendor: 'acme' });
    const t = report(d, ended(d, 'vet', 'failed'));
    assert.equal(d.status('vet'), 'failed');
    assert.equal(nodeOf(d.state, 'vet').failureClass, 'subplan');
    assert.equal(d.state.status, 'failed');
    assert.deepEqual(t.subplans?.cancel.map((c) => c.childRunId), ['run-1.vet']);
    assert.equal(snapshotOf(d.state).nodes[1].lastAttempt?.failureMessage, 'node "check" failed (agent-error: no data)');
  });

  it('an aborted child fails the attempt too (onFailure skip applies), and is not cancelled again', () => {
    const d = new Driver(parentPlan({ onFailure: [{ on: 'subplan', action: 'skip' }] }));
    d.submit('intake', { vendor: 'acme' });
    const t = report(d, ended(d, 'vet', 'aborted', 'child run run-1.vet was cancelled by bob'));
    assert.equal(d.status('vet'), 'skipped');
    assert.equal(t.subplans, undefined);
    assert.equal(d.status('sign'), 'skipped');
  });

  it('a report for another child, another attempt, or a finished run changes nothing; a malformed one neither', () => {
    const d = new Driver(parentPlan());
    d.submit('intake', { vendor: 'acme' });
    const good = completed(d, 'vet', {});
    assert.equal(subplanFinished(d.state, { ...good, childRunId: 'run-1.vet.7' }, at(9000)), undefined);
    assert.equal(subplanFinished(d.state, { ...good, attempt: 2 }, at(9000)), undefined);
    assert.equal(subplanFinished(d.state, { ...good, nodeId: 'intake' }, at(9000)), undefined);
    assert.equal(subplanFinished(d.state, { ...good, status: 'done' }, at(9000)), undefined);
    const cancelled = ok(cancelRun(d.state, { by: 'ops' }, at(9000)));
    assert.equal(subplanFinished(cancelled.state, good, at(9500)), undefined);
  });

  it('cancelling the parent cancels its running children', () => {
    const d = new Driver(parentPlan());
    d.submit('intake', { vendor: 'acme' });
    const t = d.take(ok(cancelRun(d.state, { by: 'ops', reason: 'vendor withdrew' }, d.now())));
    assert.equal(d.status('vet'), 'cancelled');
    assert.deepEqual(t.subplans?.cancel, [{ nodeId: 'vet', childRunId: 'run-1.vet', reason: 'its parent run run-1 was cancelled by ops' }]);
    assert.deepEqual(t.subplans?.start, []);
  });

  it('resume hands nothing out for a plan node (its child works by itself)', () => {
    const d = new Driver(parentPlan());
    d.submit('intake', { vendor: 'acme' });
    const t = d.take(ok(resumeRun(d.state, { by: 'ops' }, d.now())));
    assert.deepEqual(t.workItems, []);
    assert.deepEqual(eventsOf(t.events, 'run-resumed').map((e) => e.nodeId), [undefined]);
    assert.equal(t.subplans, undefined);
  });

  it('forEach runs one child per item (<runId>.vet[i]), and the node completes with their outputs as items', () => {
    const spec = parentPlan({ forEach: { items: 'input.vendors' } }, { maxConcurrency: 5 });
    spec.edges = [edge('intake', 'vet', { map: { vendors: 'output.vendors' } }), edge('vet', 'sign', { map: { all: 'output.items' } })];
    const d = new Driver(spec);
    const t = d.submit('intake', { vendors: ['acme', 'globex'] });
    assert.deepEqual(t.subplans?.start.map((s) => [s.nodeId, s.childRunId, s.input]), [
      ['vet[0]', 'run-1.vet[0]', { vendors: ['acme', 'globex'], item: 'acme', index: 0 }],
      ['vet[1]', 'run-1.vet[1]', { vendors: ['acme', 'globex'], item: 'globex', index: 1 }],
    ]);
    report(d, completed(d, 'vet[1]', { approve: { approved: false } }));
    assert.equal(d.status('vet'), 'running');
    report(d, completed(d, 'vet[0]', { approve: { approved: true } }));
    assert.equal(d.status('vet'), 'completed');
    assert.deepEqual(nodeOf(d.state, 'sign').resolvedInput, {
      all: [
        { runId: 'run-1.vet[0]', nodes: { approve: { approved: true } } },
        { runId: 'run-1.vet[1]', nodes: { approve: { approved: false } } },
      ],
    });
    assert.equal(snapshotOf(d.state).nodes[1].instances?.[1].childRunId, 'run-1.vet[1]');
  });

  it('a join that goes ahead without a plan branch cancels its child', () => {
    const spec: PlanSpec = {
      id: 'race',
      maxConcurrency: 3,
      plans: { 'vet-vendor': vetVendor },
      nodes: [task('fast'), { id: 'slow', type: 'plan', plan: 'vet-vendor' }, structural('first', 'join', { join: { mode: 'any' } })],
      edges: [edge('fast', 'first'), edge('slow', 'first')],
    };
    const d = new Driver(spec);
    assert.equal(d.status('slow'), 'running');
    const t = d.submit('fast', {});
    assert.equal(d.status('slow'), 'cancelled');
    assert.deepEqual(t.subplans?.cancel.map((c) => c.childRunId), ['run-1.slow']);
  });

  it('a replan that resets a running plan node cancels its child and starts a new one with the next attempt number', () => {
    const d = new Driver(parentPlan());
    d.submit('intake', { vendor: 'acme' });
    const next = parentPlan({ label: 'Vet the vendor again' });
    const t = d.take(ok(replanRun(d.state, { spec: next, by: 'ops' }, d.now())));
    assert.deepEqual(t.subplans?.cancel.map((c) => c.childRunId), ['run-1.vet']);
    assert.deepEqual(t.subplans?.start.map((s) => s.childRunId), ['run-1.vet.2']);
  });

  it('a child spec carries the registry entries it includes in turn', () => {
    assert.deepEqual(subplanSpec(parentPlan(), 'outer'), { ...outer, plans: { leaf } });
    assert.deepEqual(subplanSpec(parentPlan(), 'vet-vendor'), vetVendor);
  });

  it('records: the child run row names its parent; the plan node row its child run', () => {
    const child = createRunState({ runId: 'run-1.vet', spec: vetVendor, input: {}, now: T0, parent: { runId: 'run-1', nodeId: 'vet', attempt: 1 } });
    const started = startRun(child, T0);
    assert.equal(recordOf(undefined, started)?.run.parentRunId, 'run-1');
    const d = new Driver(parentPlan());
    const before = d.state;
    const t = d.submit('intake', { vendor: 'acme' });
    assert.equal(recordOf(before, t)?.nodes.find((n) => n.nodeId === 'vet')?.childRunId, 'run-1.vet');
    assert.equal(recordOf(before, t)?.run.parentRunId, undefined);
  });
});

describe('sub-plans: the child’s report', () => {
  const childOf = (spec: PlanSpec, parent = { runId: 'run-1', nodeId: 'vet', attempt: 2 }) => {
    const d = new Driver(spec);
    d.state = { ...d.state, runId: 'run-1.vet.2', parent };
    return d;
  };

  it('is nothing while the child runs, or for a run without a parent', () => {
    const d = childOf(vetVendor);
    assert.equal(subplanReport(d.state), undefined);
    const plain = new Driver(vetVendor);
    plain.submit('check', { findings: [] });
    assert.equal(subplanReport(plain.state), undefined);
  });

  it('completed: every node of the child with its output (null where skipped), partial when one was', () => {
    const d = childOf({ ...vetVendor, nodes: [task('check'), human('approve'), task('archive')], edges: [...(vetVendor.edges ?? []), edge('approve', 'archive', { when: 'output.approved == false' })] });
    d.submit('check', { findings: ['ok'] }, [{ severity: 'warning', code: 'x', message: 'thin' }]);
    d.respond('approve', { approved: true });
    assert.equal(d.state.status, 'completed');
    assert.deepEqual(subplanReport(d.state), {
      nodeId: 'vet',
      attempt: 2,
      childRunId: 'run-1.vet.2',
      status: 'completed',
      output: { runId: 'run-1.vet.2', nodes: { check: { findings: ['ok'] }, approve: { approved: true }, archive: null } },
      partial: true,
    });
  });

  it('failed: the reason names the failed node, its class and message; aborted: who cancelled', () => {
    const d = childOf(vetVendor);
    d.fail('check', 'agent-error', 'no data');
    assert.equal(d.state.status, 'failed');
    const failed = subplanReport(d.state);
    assert.equal(failed?.status, 'failed');
    assert.equal(failed?.reason, 'child run run-1.vet.2 failed: node "check" failed (agent-error: no data)');
    const aborted = subplanReport(ok(cancelRun(d.state, { by: 'bob', reason: 'wrong vendor' }, at(99_000))).state);
    assert.equal(aborted?.status, 'aborted');
    assert.equal(aborted?.reason, 'child run run-1.vet.2 was cancelled by bob: wrong vendor');
  });
});
