/**
 * Generated plans on the real dev server (issue 9): a sample of valid generated specs (tasks, every
 * human node type, switches, joins, conditions, maps, trivial input/output schemas, retries) each
 * start and run to their end, driven in lockstep with the pure engine. Each run must complete with
 * the same node statuses the pure engine predicts, and its history must hold no WorkflowTaskFailed.
 *
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 PLAN_STORE_URL=/tmp/props-$$.db node --test --test-concurrency=1 dist/test/integration/spec-fuzz-live.test.js
 *
 * The sample comes from `FC_SEED` (random when unset, printed as a diagnostic): the same seed gives
 * the same plans and the same answers. `FC_NUM_RUNS` changes the sample size (default 20).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  applyAgentSubmission,
  applyHumanResponse,
  applyInputChecks,
  createRunState,
  pendingInputChecks,
  startRun,
  type PlanSpec,
  type RunState,
  type Transition,
} from '../../src/engine';
import { validatePlanSpecWithSchemas } from '../../src/activities/validation/spec';
import { fcParams } from '../unit/fc-params';
import { DECISION_OPTIONS, planArb } from '../unit/plan-arbitraries';
import { runId, startHarness, type Harness } from './harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const parameters = fcParams(20);
const plans = fc.sample(planArb({ maxNodes: 6, timers: false, inputSchemas: true, outputSchemas: true }), { seed: parameters.seed, numRuns: parameters.numRuns });

/** A small deterministic hash, so answers depend on (plan, node, attempt) only. */
function hash(text: string): number {
  let value = 2166136261;
  for (let i = 0; i < text.length; i++) value = Math.imul(value ^ text.charCodeAt(i), 16777619) >>> 0;
  return value;
}

type Answer = { kind: 'result'; payload: Record<string, unknown> } | { kind: 'response'; payload: Record<string, unknown> };

/** What the agent or person answers for the node's current attempt (valid for its schema and type). */
function answerFor(spec: PlanSpec, planIndex: number, nodeId: string, attempt: number): Answer {
  const node = spec.nodes.find((candidate) => candidate.id === nodeId)!;
  const k = hash(`${planIndex}/${nodeId}/${attempt}`);
  const output = { ok: k % 2 === 0, n: (k >>> 3) % 7 - 1, kind: ['a', 'b', 'c'][(k >>> 6) % 3], approved: (k >>> 9) % 2 === 0, decision: DECISION_OPTIONS[(k >>> 11) % 3] };
  if (node.type === 'task') {
    // A node that may retry agent errors fails its first attempt: the retry must work live too.
    const retries = (node.retry?.maxAttempts ?? 1) > 1 && (!node.retry?.retryOn?.length || node.retry.retryOn.includes('agent-error'));
    if (retries && attempt === 1) return { kind: 'result', payload: { nodeId, attempt, failure: { message: 'the first try fails' } } };
    return { kind: 'result', payload: { nodeId, attempt, submissionId: `${nodeId}-${attempt}`, structuredOutput: output } };
  }
  const response =
    node.type === 'human-approval'
      ? { approved: output.approved, comments: 'generated' }
      : node.type === 'human-decision'
        ? { decision: node.options![(k >>> 13) % node.options!.length] }
        : node.type === 'human-review-edit'
          ? { edited: { ok: output.ok, n: output.n }, approved: true }
          : { ok: output.ok, n: output.n, kind: output.kind };
  return { kind: 'response', payload: { nodeId, respondedBy: 'alice', response } };
}

/** The pure engine's side of the lockstep: the shell's input checks pass (`{type: object}` schemas). */
function settleInputs(state: RunState, now: string): RunState {
  for (let checks = pendingInputChecks(state); checks.length > 0; checks = pendingInputChecks(state)) {
    state = applyInputChecks(state, checks.map((check) => ({ nodeId: check.nodeId, issues: [] })), now).state;
  }
  return state;
}

const active = (nodes: Array<{ id?: string; nodeId?: string; status: string }>) =>
  nodes.filter((node) => node.status === 'running' || node.status === 'awaiting-human').map((node) => node.id ?? node.nodeId);

describe(`generated plans on the dev server (seed ${parameters.seed}, ${plans.length} plans)`, () => {
  plans.forEach(({ spec }, planIndex) => {
    test(`plan ${planIndex}: ${spec.nodes.length} nodes (${spec.nodes.map((node) => node.type).join(', ')}), ${spec.edges?.length ?? 0} edges`, async (t) => {
      t.diagnostic(`seed ${parameters.seed}, plan ${planIndex}: ${JSON.stringify(spec)}`);
      const validation = validatePlanSpecWithSchemas(spec);
      assert.deepEqual(validation.errors, [], 'the generated spec is valid');
      const now = '2026-01-01T00:00:00.000Z';
      let pure = settleInputs(startRun(createRunState({ runId: 'pure', spec: validation.spec!, input: { topic: 'ai', n: 2 }, now }), now).state, now);
      const { runId: id } = await h.client.start(spec, { runId: runId(`fuzz-${planIndex}`), input: { topic: 'ai', n: 2 } });
      const handle = h.client.client.workflow.getHandle(id);
      try {
        for (let step = 0; step < 60; step++) {
          const snapshot = await h.client.waitForStatus(id, (s) => s.status !== 'running' || s.nodes.some((node) => node.status === 'running' || node.status === 'awaiting-human'));
          assert.deepEqual(active(snapshot.nodes), active(pure.nodes), `step ${step}: the live run waits on the nodes the pure engine waits on`);
          if (snapshot.status === 'completed' || pure.status === 'completed') break;
          // The first active node in spec order answers, in both worlds.
          const next = pure.nodes.find((node) => node.status === 'running' || node.status === 'awaiting-human');
          assert.ok(next, `step ${step}: the run ${snapshot.status} waits on nothing`);
          const answer = answerFor(spec, planIndex, next.nodeId, next.currentAttempt!);
          const outcome = answer.kind === 'result' ? await h.client.submitResult(id, answer.payload as never) : await h.client.respond(id, answer.payload as never);
          const applied = answer.kind === 'result' ? applyAgentSubmission(pure, answer.payload, [], now) : applyHumanResponse(pure, answer.payload, [], now);
          assert.ok(!('refused' in applied && applied.refused), `the pure engine accepts the same answer: ${JSON.stringify(applied)}`);
          pure = settleInputs((applied as Transition).state, now);
          assert.equal(outcome.issues.length, 0, `the answer for ${next.nodeId} passes its schema: ${JSON.stringify(outcome.issues)}`);
        }
        const final = await h.client.result(id);
        assert.equal(final.status, 'completed', 'a plan answered validly completes');
        assert.equal(pure.status, 'completed');
        assert.deepEqual(
          Object.fromEntries(final.nodes.map((node) => [node.id, node.status])),
          Object.fromEntries(pure.nodes.map((node) => [node.nodeId, node.status])),
          'the live run routes (skips, joins) like the pure engine',
        );
        const history = await handle.fetchHistory();
        const failedTasks = (history.events ?? []).filter((event) => event.workflowTaskFailedEventAttributes);
        assert.deepEqual(
          failedTasks.map((event) => event.workflowTaskFailedEventAttributes?.failure?.message),
          [],
          'no workflow task failed',
        );
        const events = await h.client.events(id);
        assert.deepEqual(events.map((event) => event.seq), events.map((_, i) => i + 1), 'event seqs are contiguous from 1');
      } finally {
        const description = await handle.describe().catch(() => undefined);
        if (description?.status.name === 'RUNNING') await handle.terminate('spec-fuzz-live cleanup').catch(() => undefined);
      }
    });
  });
});
