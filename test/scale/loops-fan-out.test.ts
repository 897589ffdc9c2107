/**
 * Loops and fan-out at scale, on a real Temporal dev server and store (run with
 * `npm run build && ./temporal-dev.sh test dist/test/scale/loops-fan-out.test.js`):
 *
 * - a 1,000-instance fan-out (forEach over 1,000 topics, 50 at a time), and
 * - a loop that goes round 50 times,
 *
 * both complete with every execution's history under 10,000 events (the workflow continues as new
 * on its own, default options), the store's events exactly 1..lastSeq, and one attempt row per
 * instance or iteration. Agents answer by signal in rounds, as in scale.test.ts; progress is read
 * from the store. Timings are printed, never asserted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, runId, plan, type Harness } from '../integration/harness';
import { countBy, firstRunIdOf, eventLogProblems, executions, log, Stopwatch, sum, terminateIfRunning, waitFor, type Execution } from './helpers';
import type { StoredNodeRun } from '../../src/store/types';

const MAX_HISTORY = 10_000;
const TEST_TIMEOUT_MS = 20 * 60_000;
const ROUND_TIMEOUT_MS = 2 * 60_000;

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});


async function storedNodeRuns(id: string, ready: (nodes: StoredNodeRun[]) => boolean, what: string): Promise<StoredNodeRun[]> {
  return waitFor(
    async () => {
      const nodes = await h.store.listNodeRuns(id);
      return ready(nodes) ? nodes : undefined;
    },
    what,
    ROUND_TIMEOUT_MS,
  );
}

function assertShortHistories(runs: Execution[]): void {
  assert.equal(runs.at(-1)?.status, 'COMPLETED');
  assert.ok(runs.slice(0, -1).every((run) => run.status === 'CONTINUED_AS_NEW'), runs.map((run) => run.status).join(','));
  for (const run of runs) assert.ok(run.historyLength < MAX_HISTORY, `execution ${run.runId} has ${run.historyLength} history events`);
}

const report = (runs: Execution[]) =>
  `${runs.length} execution(s), history lengths ${runs.map((run) => run.historyLength).join(' / ')}, messages ${runs.map((run) => run.messages).join(' / ')}`;

describe('scale: loops and fan-out', () => {
  test('a 1,000-instance fan-out completes: short histories, every event and attempt stored once', { timeout: TEST_TIMEOUT_MS }, async () => {
    const clock = new Stopwatch();
    const COUNT = 1000;
    const AT_ONCE = 50;
    const spec = plan(
      'scale-fan-out',
      [{ id: 'planner' }, { id: 'research', forEach: { items: 'input.topics', maxItems: COUNT, maxConcurrency: AT_ONCE } } as never, { id: 'write' }],
      [
        { from: 'planner', to: 'research', map: { topics: 'output.topics' } },
        { from: 'research', to: 'write', map: { notes: 'output.items' } },
      ],
      { maxConcurrency: AT_ONCE + 1 },
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('scale-fan-out') });
    const firstRunId = await firstRunIdOf(h, id);
    try {
      await h.client.signalResult(id, { nodeId: 'planner', attempt: 1, submissionId: 'planner#1', structuredOutput: { topics: Array.from({ length: COUNT }, (_, i) => `t${i}`) } });
      let nodeRuns = await storedNodeRuns(id, (nodes) => nodes.filter((n) => n.instanceOf === 'research' && n.status === 'running').length === AT_ONCE, 'the first instances to run');
      clock.lap('fan-out started');
      let rounds = 0;
      let signals = 1;
      let mostRunning = 0;
      for (;;) {
        const running = nodeRuns.filter((n) => n.instanceOf === 'research' && n.status === 'running');
        if (running.length === 0) break;
        mostRunning = Math.max(mostRunning, running.length);
        rounds += 1;
        await Promise.all(
          running.map((n) =>
            h.client.signalResult(id, { nodeId: n.nodeId, attempt: n.currentAttempt, submissionId: `${n.nodeId}#${n.currentAttempt}`, structuredOutput: { index: n.index } }),
          ),
        );
        signals += running.length;
        const sent = new Set(running.map((n) => n.nodeId));
        nodeRuns = await storedNodeRuns(id, (nodes) => nodes.every((n) => !sent.has(n.nodeId) || n.status === 'completed'), `round ${rounds} to be recorded`);
      }
      clock.lap(`${rounds} rounds`);
      assert.ok(mostRunning <= AT_ONCE, `${mostRunning} instances ran at once`);
      const write = nodeRuns.find((n) => n.nodeId === 'write');
      assert.equal(write?.status, 'running');
      await h.client.signalResult(id, { nodeId: 'write', attempt: 1, submissionId: 'write#1', structuredOutput: {} });
      signals += 1;
      const final = await h.client.result(id);
      assert.equal(final.status, 'completed');
      const research = final.nodes.find((n) => n.id === 'research');
      const items = (research?.output as { items: Array<{ index: number }> }).items;
      assert.equal(items.length, COUNT);
      assert.ok(items.every((item, i) => item.index === i), 'the outputs in list order');

      const runs = await executions(h, id, firstRunId);
      assertShortHistories(runs);
      // A hand-over waits for a quiet moment, so under load one execution may take all 1,002
      // messages; what must hold is that no execution's history grows past the bound.
      for (const run of runs) assert.ok(run.messages <= 1100, `execution ${run.runId} took ${run.messages} messages: ${report(runs)}`);
      assert.equal(sum(runs.map((run) => run.kinds.signal ?? 0)), signals, 'every signal in exactly one execution');

      const events = await h.store.listEvents(id);
      assert.deepEqual(eventLogProblems(events, id, final.lastSeq), []);
      const types = countBy(events, (event) => event.type);
      assert.equal(types['fan-out-started'], 1);
      assert.equal(types['fan-out-completed'], 1);
      const stored = await h.store.listNodeRuns(id);
      const instances = stored.filter((n) => n.instanceOf === 'research');
      assert.equal(instances.length, COUNT);
      assert.ok(instances.every((n, i) => n.index === i && n.status === 'completed' && n.attempts === 1));
      log(`1,000-instance fan-out: ${clock.totalMs / 1000}s wall (${clock.summary()}); ${rounds} rounds, ${final.lastSeq} events; ${report(runs)}`);
    } finally {
      await terminateIfRunning(h, id);
    }
  });

  test('a loop that goes round 50 times completes: short histories, one attempt row per iteration', { timeout: TEST_TIMEOUT_MS }, async () => {
    const clock = new Stopwatch();
    const ITERATIONS = 50;
    const spec = plan(
      'scale-loop',
      [{ id: 'work' }, { id: 'check' }, { id: 'done' }],
      [
        { from: 'work', to: 'check', map: { n: 'output.n' } },
        { from: 'check', to: 'done', when: 'output.again == false' },
        { from: 'check', to: 'work', when: 'output.again == true', map: { previous: 'output.n' }, loop: { maxIterations: ITERATIONS, onExhausted: 'fail' } },
      ],
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('scale-loop') });
    const firstRunId = await firstRunIdOf(h, id);
    let signals = 0;
    try {
      for (let i = 1; i <= ITERATIONS; i++) {
        // Attempt numbers continue across iterations: iteration i is attempt i of each body node.
        await storedNodeRuns(id, (nodes) => nodes.some((n) => n.nodeId === 'work' && n.status === 'running' && n.currentAttempt === i), `work, iteration ${i}`);
        await h.client.signalResult(id, { nodeId: 'work', attempt: i, submissionId: `work#${i}`, structuredOutput: { n: i } });
        await storedNodeRuns(id, (nodes) => nodes.some((n) => n.nodeId === 'check' && n.status === 'running' && n.currentAttempt === i), `check, iteration ${i}`);
        await h.client.signalResult(id, { nodeId: 'check', attempt: i, submissionId: `check#${i}`, structuredOutput: { n: i, again: i < ITERATIONS } });
        signals += 2;
      }
      await storedNodeRuns(id, (nodes) => nodes.some((n) => n.nodeId === 'done' && n.status === 'running'), 'done to run');
      await h.client.signalResult(id, { nodeId: 'done', attempt: 1, submissionId: 'done#1', structuredOutput: {} });
      signals += 1;
      const final = await h.client.result(id);
      assert.equal(final.status, 'completed');
      clock.lap(`${ITERATIONS} iterations`);

      const runs = await executions(h, id, firstRunId);
      assertShortHistories(runs);
      assert.equal(sum(runs.map((run) => run.kinds.signal ?? 0)), signals, 'every signal in exactly one execution');
      const events = await h.store.listEvents(id);
      assert.deepEqual(eventLogProblems(events, id, final.lastSeq), []);
      assert.equal(countBy(events, (event) => event.type)['loop-iterated'], ITERATIONS - 1);
      const attempts = await h.store.listAttempts(id, 'work');
      assert.deepEqual(attempts.map((a) => [a.attempt, a.iteration ?? 1]), Array.from({ length: ITERATIONS }, (_, i) => [i + 1, i + 1]));
      log(`50-iteration loop: ${clock.totalMs / 1000}s wall; ${final.lastSeq} events; ${report(runs)}`);
    } finally {
      await terminateIfRunning(h, id);
    }
  });
});
