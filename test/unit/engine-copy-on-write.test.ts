/**
 * Copy-on-write node runs (src/engine/step.ts, `editNode` in src/engine/run-state.ts): a step shares
 * the node runs it does not edit with the state it started from, and `recordOf` takes a shared node
 * run as unchanged without comparing it. Two things must hold for that to be safe, checked here after
 * every transition of a few whole runs (agent results with retries and hand-overs, a fan-out, human
 * answers and quorum votes, timers, input checks, loops, budgets, operations and a replan):
 *
 * - the state a transition started from is never changed (deep-equal to an exact copy taken before,
 *   and every node run still the object it was);
 * - `recordOf` gives exactly the rows a full field-by-field comparison with that copy gives (the
 *   behaviour before copy-on-write), in the same order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainPlan, fanOutPlan } from '../../bench/engine-step';
import {
  applyAgentSubmission,
  applyHumanResponse,
  applyInputChecks,
  cancelRun,
  compactForHandOver,
  createRunState,
  dispatchFailed,
  fireDueTimers,
  nodeRunRecord,
  raiseBudget,
  recordOf,
  replanRun,
  resumeRun,
  retryNode,
  startRun,
  type AttemptRow,
  type NodeRunRecord,
  type PlanSpec,
  type Refusal,
  type RunState,
  type Transition,
} from '../../src/engine';
import { at, edge, exactCopy, human, ok, plan, task } from './engine-helpers';

/** The node rows and attempts of a transition, found by comparing every node run with `before` field by field. */
function fullDiff(before: RunState | undefined, after: RunState): { nodes: NodeRunRecord[]; attempts: AttemptRow[] } {
  const nodes: NodeRunRecord[] = [];
  const attempts: AttemptRow[] = [];
  after.nodes.forEach((node, position) => {
    const previous = before?.nodes.find((candidate) => candidate.nodeId === node.nodeId);
    const row = nodeRunRecord(node, position);
    // Every field a `node_runs` row holds, position and id included, compared as JSON.
    if (!previous || JSON.stringify(nodeRunRecord(previous, position)) !== JSON.stringify(row)) nodes.push(row);
    const known = new Set((previous?.history ?? []).map((attempt) => attempt.attempt));
    for (const attempt of node.history) if (!known.has(attempt.attempt)) attempts.push({ nodeId: node.nodeId, ...attempt });
  });
  return { nodes, attempts };
}

/** Drives a run and checks both properties after every transition. */
class Checked {
  state: RunState;
  transitions = 0;
  rows = 0;
  private clock = 0;

  constructor(spec: PlanSpec, input: unknown = {}) {
    this.state = createRunState({ runId: 'cow-run', spec, input, now: at(0) });
    this.apply((state, now) => startRun(state, now));
  }

  now(advance = 1000): string {
    this.clock += advance;
    return at(this.clock);
  }

  /** Applies one engine operation to the current state; returns the transition (refusals fail the test). */
  apply(operation: (state: RunState, now: string) => Transition | Refusal | undefined, advance = 1000): Transition {
    const before = this.state;
    const copy = exactCopy(before);
    const nodeRuns = before.nodes.slice();
    const transition = operation(before, this.now(advance));
    assert.ok(transition, 'the operation changed nothing');
    const applied = ok(transition);
    assert.deepStrictEqual(before, copy, 'the state before the transition was changed');
    assert.ok(
      before.nodes.every((node, i) => node === nodeRuns[i]),
      'a node run of the state before the transition was replaced',
    );
    const record = recordOf(before, applied);
    if (record) {
      const expected = fullDiff(copy, applied.state);
      assert.deepStrictEqual(record.nodes, expected.nodes, `node rows of transition ${this.transitions}`);
      assert.deepStrictEqual(record.attempts, expected.attempts, `attempts of transition ${this.transitions}`);
      // And the whole record is the one the state before gives when nothing is shared with it.
      assert.deepStrictEqual(record, recordOf(copy, applied));
      this.rows += record.nodes.length;
    }
    this.transitions += 1;
    this.state = applied.state;
    return applied;
  }

  submit(nodeId: string, output: unknown, extra: Record<string, unknown> = {}): Transition {
    return this.apply((state, now) => applyAgentSubmission(state, { nodeId, structuredOutput: output, ...extra }, [], now));
  }

  fail(nodeId: string, extra: Record<string, unknown> = {}): Transition {
    return this.apply((state, now) => applyAgentSubmission(state, { nodeId, failure: { class: 'agent-error', message: 'broke' }, ...extra }, [], now));
  }

  respond(nodeId: string, response: Record<string, unknown>, by = 'alice'): Transition {
    return this.apply((state, now) => applyHumanResponse(state, { nodeId, respondedBy: by, response }, [], now));
  }

  /** The continue-as-new hand-over, through JSON as the workflow does: node runs that are not frozen. */
  handOver(): void {
    const { spec, ...rest } = compactForHandOver(this.state);
    this.state = { ...(JSON.parse(JSON.stringify(rest)) as Omit<RunState, 'spec'>), spec };
    // JSON gives plain objects; the engine keeps the submission log on a null-prototype one.
    this.state.submissions = Object.assign(Object.create(null) as RunState['submissions'], this.state.submissions);
  }

  status(nodeId: string): string | undefined {
    return this.state.nodes.find((node) => node.nodeId === nodeId)?.status;
  }

  running(): string[] {
    return this.state.nodes.filter((node) => node.status === 'running' && node.fanOut === undefined).map((node) => node.nodeId);
  }
}

describe('engine copy-on-write: the state before is never changed, records are those of a full comparison', () => {
  it('a 100-node plan run to the end, with retries, submission ids and hand-overs through JSON', () => {
    const spec = chainPlan('cow-chains', 100, 10, { maxConcurrency: 10 });
    // Every seventh node fails once and is tried again.
    spec.nodes.forEach((node, i) => {
      if (i % 7 === 0) node.retry = { maxAttempts: 2 };
    });
    const retried = new Set(spec.nodes.filter((node) => node.retry).map((node) => node.id));
    const run = new Checked(spec);
    const failed = new Set<string>();
    for (let round = 0; run.running().length > 0; round += 1) {
      for (const nodeId of run.running()) {
        const attempt = run.state.nodes.find((node) => node.nodeId === nodeId)?.currentAttempt;
        const extra = { attempt, submissionId: `${nodeId}-${attempt}` };
        if (retried.has(nodeId) && !failed.has(nodeId)) {
          failed.add(nodeId);
          run.fail(nodeId, extra);
        } else {
          run.submit(nodeId, { n: round, from: nodeId }, extra);
        }
        if (run.transitions % 60 === 0) run.handOver();
      }
    }
    assert.equal(run.state.status, 'completed');
    assert.equal(run.transitions, 1 + 100 + failed.size);
    assert.ok(run.rows > 200, `only ${run.rows} node rows recorded`);
  });

  it('a 25-instance fan-out', () => {
    const run = new Checked(fanOutPlan('cow-fan-out', 25));
    run.submit('planner', { topics: Array.from({ length: 25 }, (_, i) => `topic ${i}`) });
    while (run.running().some((id) => id.startsWith('research['))) {
      for (const id of run.running()) run.submit(id, { summary: id }, { usage: { costUsd: 0.01 } });
    }
    run.submit('write', { text: 'done' });
    assert.equal(run.state.status, 'completed');
  });

  it('human answers, quorum votes, timers, input checks, a loop, budgets, operations and a replan', () => {
    const spec = plan(
      [
        task('draft', { retry: { maxAttempts: 3 }, timeoutMs: 10_000 }),
        human('review'),
        task('polish', { inputSchema: 'S', delayAfterPredecessorMs: 5_000 }),
        task('fan', { forEach: { items: 'input.topics', maxConcurrency: 2 } }),
        human('sign', 'human-approval', { approvers: ['a', 'b', 'c'], quorum: { required: 2 } }),
        task('final', { deadline: { afterMs: 60_000, warnBeforeMs: 10_000 } }),
      ],
      [
        edge('draft', 'review'),
        edge('review', 'draft', { when: 'output.approved == false', loop: { maxIterations: 2 } } as never),
        edge('review', 'polish'),
        edge('polish', 'fan', { map: { topics: 'output.topics' } }),
        edge('fan', 'sign'),
        edge('sign', 'final'),
      ],
      { schemas: { S: {} }, maxConcurrency: 3, budget: { maxCostUsd: 0.5 } },
    );
    const run = new Checked(spec);
    assert.equal(run.status('draft'), 'running');

    // A timeout: the attempt fails and is tried again.
    run.apply((state, now) => fireDueTimers(state, now), 10_000);
    assert.equal(run.status('draft'), 'running');
    run.submit('draft', { text: 'v1' });
    assert.equal(run.status('review'), 'awaiting-human');

    // Changes asked for: the loop takes the body round again.
    run.respond('review', { approved: false });
    assert.equal(run.status('draft'), 'running');

    // The agent cannot be woken; resume hands the attempt out again.
    const attempt = run.state.nodes.find((node) => node.nodeId === 'draft')?.currentAttempt as number;
    run.apply((state, now) => dispatchFailed(state, { nodeId: 'draft', attempt, message: 'unreachable' }, now));
    assert.equal(run.status('draft'), 'blocked');
    run.apply((state, now) => resumeRun(state, { by: 'ops' }, now));
    assert.equal(run.status('draft'), 'running');
    run.fail('draft');
    run.submit('draft', { text: 'v2' });
    run.respond('review', { approved: true });

    // The input check, then the delay.
    assert.equal(run.state.nodes.find((node) => node.nodeId === 'polish')?.inputCheckPending, true);
    run.apply((state, now) => applyInputChecks(state, [{ nodeId: 'polish', issues: [] }], now));
    assert.equal(run.status('polish'), 'scheduled');
    run.apply((state, now) => fireDueTimers(state, now), 5_000);
    assert.equal(run.status('polish'), 'running');

    // The fan-out goes over the plan's budget, which is raised.
    run.submit('polish', { topics: ['a', 'b', 'c', 'd'] });
    assert.deepEqual(run.running(), ['fan[0]', 'fan[1]']);
    run.submit('fan[0]', { n: 0 }, { usage: { costUsd: 0.3 } });
    run.submit('fan[1]', { n: 1 }, { usage: { costUsd: 0.3 } });
    assert.equal(run.state.status, 'blocked');
    run.apply((state, now) => raiseBudget(state, { maxCostUsd: 10, by: 'ops' }, now));
    assert.deepEqual(run.running(), ['fan[2]', 'fan[3]']);

    // An instance fails for good: the node fails; a retry runs it again.
    run.fail('fan[2]');
    assert.equal(run.status('fan'), 'failed');
    run.apply((state, now) => retryNode(state, { nodeId: 'fan', by: 'ops' }, now));
    for (const id of run.running()) run.submit(id, { n: id });
    assert.equal(run.status('sign'), 'awaiting-human');

    // Quorum: the first vote leaves the approval pending, the second decides.
    run.respond('sign', { approved: true }, 'a');
    assert.equal(run.status('sign'), 'awaiting-human');
    run.respond('sign', { approved: true }, 'b');
    assert.equal(run.status('final'), 'running');

    // The deadline warning, then a replan that changes the last node, then a cancel.
    run.apply((state, now) => fireDueTimers(state, now), 50_000);
    assert.ok(run.state.nodes.find((node) => node.nodeId === 'final')?.deadlineWarned);
    const replanned = structuredClone(spec);
    replanned.nodes[5] = { ...replanned.nodes[5], objective: 'Finish it differently' };
    run.apply((state, now) => replanRun(state, { spec: replanned, by: 'ops' }, now));
    assert.equal(run.state.specVersion, 2);
    assert.equal(run.status('final'), 'running');
    assert.equal(run.status('draft'), 'completed');
    run.apply((state, now) => cancelRun(state, { by: 'ops', reason: 'enough' }, now));
    assert.equal(run.state.status, 'aborted');
  });

  it('a node run the state before shares cannot be edited in place', () => {
    const run = new Checked(plan([task('a'), task('b')], [edge('a', 'b')]));
    const before = run.state;
    run.submit('a', { ok: true });
    // `b` was edited by the step (it started), `a` too; the state before keeps its own, frozen.
    for (const node of before.nodes) assert.ok(Object.isFrozen(node));
    assert.throws(() => {
      (before.nodes[1] as { status: string }).status = 'completed';
    }, TypeError);
    assert.equal(before.nodes[1].status, 'pending');
  });
});
