/**
 * Scale acceptance, on a real Temporal dev server and store (run with
 * `npm run build && ./temporal-dev.sh test dist/test/scale/scale.test.js`):
 *
 * - a run of a 1,000-node plan, and
 * - a run that receives 12,000 agent submissions (retries included),
 *
 * both complete with every execution's history under 10,000 events (the workflow continues as new
 * on its own, default options) and no duplicated or lost event in the store.
 *
 * Agents answer by signal (fire-and-forget, with `attempt` and `submissionId`), in rounds: read what
 * is running, signal all of it at once, wait until the run moved, repeat. Progress is read from the
 * store (what the workflow recorded), not by polling the `snapshot` query: a query that reaches an
 * execution while its closing workflow task (continue-as-new or completion) is in flight is answered
 * by replaying that whole execution on the worker, which would add a replay at every hand-over. One
 * snapshot query per test, at a moment no hand-over can happen, checks that the live view and the
 * store agree.
 *
 * Each test prints its timings (wall time, executions, history sizes, events per second); nothing
 * is asserted about time (speed targets live in bench/, as ratios).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, runId, type Harness } from '../integration/harness';
import { chainNodeId, chainsPlan, countBy, eventLogProblems, executions, log, retriesPlan, Stopwatch, sum, terminateIfRunning, waitFor, type Execution } from './helpers';
import type { StoredNodeRun } from '../../src/store/types';

/** Temporal's own ceiling is far higher; this is the acceptance bound per execution. */
const MAX_HISTORY = 10_000;
const TEST_TIMEOUT_MS = 20 * 60_000;

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

async function currentRunId(id: string): Promise<string> {
  return (await h.client.client.workflow.getHandle(id).describe()).runId;
}

/**
 * How long one round may take before the test calls the run stalled (a hang guard, not a speed
 * target: a normal round takes a second or two). A hand-over whose continue-as-new loses the race with
 * the next round's signals is rejected by the server (workflow task failed, UNHANDLED_COMMAND) and the
 * worker replays the whole execution. That replay must stay well inside the 10 s workflow task
 * timeout: when a 1,000-node step cost ~12 ms (bench/README.md) it did not, the task timed out again
 * and again, and the run stalled for minutes with every hand-over deferred.
 */
const ROUND_TIMEOUT_MS = 2 * 60_000;

/** The node runs the store holds for `id` once `ready` accepts them; a stall fails with the chain's state. */
async function storedNodeRuns(id: string, firstRunId: string, ready: (nodes: StoredNodeRun[]) => boolean, what: string): Promise<StoredNodeRun[]> {
  try {
    return await waitFor(
      async () => {
        const nodes = await h.store.listNodeRuns(id);
        return ready(nodes) ? nodes : undefined;
      },
      what,
      ROUND_TIMEOUT_MS,
    );
  } catch (error) {
    const runs = await executions(h, id, firstRunId).catch(() => []);
    throw new Error(`${(error as Error).message}. The run stalled; so far: ${runs.length ? reportExecutions(runs) : 'no executions'}`);
  }
}

/**
 * The live snapshot (query) and the store agree on every node's status and attempts. Nodes that
 * never moved may have no row in the store yet (the first record of a run holds only the nodes its
 * start changed): those must be pending.
 */
async function assertSnapshotMatchesStore(id: string): Promise<void> {
  const snapshot = await h.client.snapshot(id);
  const stored = new Map((await h.store.listNodeRuns(id)).map((node) => [node.nodeId, node]));
  const live = snapshot.nodes.filter((node) => stored.has(node.id));
  assert.deepEqual(
    live.map((node) => [node.id, stored.get(node.id)?.status, stored.get(node.id)?.attempts]),
    live.map((node) => [node.id, node.status, node.attempts]),
  );
  const unstored = snapshot.nodes.filter((node) => !stored.has(node.id));
  assert.deepEqual(unstored.filter((node) => node.status !== 'pending').map((node) => node.id), [], 'nodes missing from the store');
  assert.equal((await h.store.getRun(id))?.lastSeq, snapshot.lastSeq);
}

function reportExecutions(runs: Execution[]): string {
  const lengths = runs.map((run) => run.historyLength);
  const messages = runs.map((run) => run.messages);
  const kinds: Record<string, number> = {};
  for (const run of runs) for (const [kind, count] of Object.entries(run.kinds)) kinds[kind] = (kinds[kind] ?? 0) + count;
  return (
    `${runs.length} executions, history length min ${Math.min(...lengths)} / max ${Math.max(...lengths)} / total ${sum(lengths)}, ` +
    `messages per execution min ${Math.min(...messages)} / max ${Math.max(...messages)} ` +
    `(${Object.entries(kinds).map(([kind, count]) => `${kind} ${count}`).join(', ')})`
  );
}

/** The chain's shape: continued as new up to the last execution, which completed; every history short. */
function assertChain(runs: Execution[], signalsSent: number): void {
  assert.equal(runs.at(-1)?.status, 'COMPLETED');
  assert.ok(runs.slice(0, -1).every((run) => run.status === 'CONTINUED_AS_NEW'), runs.map((run) => run.status).join(','));
  for (const run of runs) assert.ok(run.historyLength < MAX_HISTORY, `execution ${run.runId} has ${run.historyLength} history events`);
  // Every signal sent landed in exactly one execution of the chain (none lost at a hand-over).
  assert.equal(sum(runs.map((run) => run.kinds.signal ?? 0)), signalsSent, 'signals in the histories');
  // An execution hands over only after the default 500 messages (it may take a few more: the
  // hand-over waits for a quiet moment, and a signal that races the closing task defers it).
  for (const run of runs.slice(0, -1)) assert.ok(run.messages >= 500, `execution ${run.runId} continued as new after ${run.messages} messages`);
  // ... but a hand-over is not put off indefinitely.
  for (const run of runs) assert.ok(run.messages <= 1000, `execution ${run.runId} took ${run.messages} messages without handing over: ${reportExecutions(runs)}`);
}

describe('scale', () => {
  test('a 1,000-node plan completes: short histories, every event stored exactly once', { timeout: TEST_TIMEOUT_MS }, async () => {
    const clock = new Stopwatch();
    const CHAINS = 100;
    const LENGTH = 10;
    const MAX_CONCURRENCY = 50;
    const spec = chainsPlan('scale-1000', CHAINS, LENGTH, MAX_CONCURRENCY);
    assert.equal(spec.nodes.length, 1000);
    const { runId: id } = await h.client.start(spec, { runId: runId('scale-1000') });
    const firstRunId = await currentRunId(id);
    clock.lap('start');
    try {
      let rounds = 0;
      let signals = 0;
      let nodeRuns = await storedNodeRuns(id, firstRunId, (nodes) => nodes.filter((node) => node.status === 'running').length === MAX_CONCURRENCY, 'the first nodes to run');
      const outputs = new Map<string, string>();
      const roundTimes: number[] = [];
      while (nodeRuns.length < spec.nodes.length || nodeRuns.some((node) => node.status !== 'completed')) {
        const roundStarted = Date.now();
        const running = nodeRuns.filter((node) => node.status === 'running');
        assert.ok(running.length > 0, `round ${rounds + 1}: nothing running`);
        assert.ok(running.length <= MAX_CONCURRENCY, `round ${rounds + 1}: ${running.length} nodes running`);
        rounds += 1;
        await Promise.all(
          running.map((node) => {
            const [chain, step] = node.nodeId.split('-');
            const path = `${outputs.get(chainNodeId(Number(chain.slice(1)), Number(step.slice(1)) - 1)) ?? ''}/${node.nodeId}`;
            outputs.set(node.nodeId, path);
            return h.client.signalResult(id, {
              nodeId: node.nodeId,
              attempt: node.currentAttempt,
              submissionId: `${node.nodeId}#${node.currentAttempt}`,
              structuredOutput: { step: Number(step.slice(1)), path },
            });
          }),
        );
        signals += running.length;
        const sent = new Set(running.map((node) => node.nodeId));
        nodeRuns = await storedNodeRuns(id, firstRunId, (nodes) => nodes.every((node) => !sent.has(node.nodeId) || node.status === 'completed'), `round ${rounds} (${sent.size} results) to be recorded`);
        roundTimes.push(Date.now() - roundStarted);
        // 250 results in, far from a hand-over (500): the live view agrees with the store.
        if (rounds === 5) await assertSnapshotMatchesStore(id);
      }
      const runMs = clock.lap(`${rounds} rounds`);
      const final = await h.client.result(id);
      assert.equal(final.status, 'completed');
      assert.equal(signals, 1000);
      assert.ok(final.nodes.every((node) => node.status === 'completed' && node.attempts === 1));

      const runs = await executions(h, id, firstRunId);
      clock.lap('histories');
      // 1,000 messages at the default 500 per execution: the run must have handed over at least once.
      assert.ok(runs.length >= 2, `expected at least 2 executions: ${reportExecutions(runs)}`);
      assertChain(runs, signals);

      // The store: events 1..lastSeq exactly once, one completed node run with one attempt per node.
      const events = await h.store.listEvents(id);
      assert.deepEqual(eventLogProblems(events, id, final.lastSeq), []);
      const types = countBy(events, (event) => event.type);
      assert.equal(types['node-completed'], 1000);
      assert.equal(types['node-running'], 1000);
      assert.equal(types['result-rejected'] ?? 0, 0);
      assert.equal(types['checkpoint-saved'], 1001, 'one checkpoint per transition (start + 1,000 results)');
      const run = await h.store.getRun(id);
      assert.equal(run?.lastSeq, final.lastSeq);
      assert.equal(run?.status, 'completed');
      nodeRuns = await h.store.listNodeRuns(id);
      assert.equal(nodeRuns.length, 1000);
      for (const node of nodeRuns) {
        assert.equal(node.status, 'completed', node.nodeId);
        assert.equal(node.attempts, 1, node.nodeId);
      }
      // Outputs flowed down each chain through the edge maps.
      const last = nodeRuns.find((node) => node.nodeId === chainNodeId(42, LENGTH - 1));
      assert.deepEqual(last?.resolvedInput, { previous: LENGTH - 2, chainSoFar: outputs.get(chainNodeId(42, LENGTH - 2)) });
      let attemptRows = 0;
      for (const node of nodeRuns) {
        const attempts = await h.store.listAttempts(id, node.nodeId);
        assert.deepEqual(
          attempts.map((attempt) => [attempt.attempt, attempt.status, attempt.submissionId]),
          [[1, 'completed', `${node.nodeId}#1`]],
          node.nodeId,
        );
        attemptRows += attempts.length;
      }
      assert.equal(attemptRows, 1000);
      const checkpoints = await h.store.listCheckpoints(id);
      assert.deepEqual(checkpoints.map((checkpoint) => checkpoint.sequence), Array.from({ length: 1001 }, (_, i) => i + 1));
      clock.lap('store audit');
      log(`1,000-node plan: ${clock.totalMs / 1000}s wall (${clock.summary()})`);
      log(`  ${rounds} rounds, ${signals} signals, ${final.lastSeq} events stored; ${(final.lastSeq / (runMs / 1000)).toFixed(0)} events/s, ${(signals / (runMs / 1000)).toFixed(1)} results/s`);
      log(`  round time: ${roundTimes.map((ms) => (ms / 1000).toFixed(1)).join(' ')} (s)`);
      log(`  ${reportExecutions(runs)}`);
    } finally {
      await terminateIfRunning(h, id);
    }
  });

  test('12,000 agent submissions (retries included) complete: short histories, every event and attempt stored once', { timeout: TEST_TIMEOUT_MS }, async () => {
    const clock = new Stopwatch();
    const NODES = 100;
    const ATTEMPTS = 120;
    const spec = retriesPlan('scale-retries', NODES, ATTEMPTS);
    const { runId: id } = await h.client.start(spec, { runId: runId('scale-retries') });
    const firstRunId = await currentRunId(id);
    const nodeIds = spec.nodes.map((node) => node.id);
    const submissionId = (nodeId: string, attempt: number) => `${nodeId}-a${attempt}`;
    clock.lap('start');
    try {
      let signals = 0;
      /** The execution (Temporal run id) current after each round. */
      const executionAfter: string[] = [];
      const duplicates: Array<{ via: 'update' | 'signal'; submissionId: string; originalRound: number; crossedExecution: boolean }> = [];
      let roundsMs = 0;
      const roundTimes: number[] = [];
      let duplicatesMs = 0;
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const roundStarted = Date.now();
        const success = attempt === ATTEMPTS;
        await Promise.all(
          nodeIds.map((nodeId) =>
            h.client.signalResult(id, {
              nodeId,
              attempt,
              submissionId: submissionId(nodeId, attempt),
              ...(success ? { structuredOutput: { attempt } } : { failure: { message: `attempt ${attempt} failed` } }),
            }),
          ),
        );
        signals += nodeIds.length;
        await storedNodeRuns(id, firstRunId, (nodes) => nodes.length === NODES && nodes.every((node) => node.attempts >= attempt), `round ${attempt} to be recorded`);
        executionAfter[attempt] = await currentRunId(id);
        const roundMs = Date.now() - roundStarted;
        roundTimes.push(roundMs);
        roundsMs += roundMs;
        // 300 submissions in, far from a hand-over (500): the live view agrees with the store.
        if (attempt === 3) await assertSnapshotMatchesStore(id);

        // Now and then an agent's retried delivery: an update answering from an older round (most
        // likely from an earlier execution: 500+ messages ago) and a signal repeating the last round.
        if (attempt % 20 === 10) {
          const duplicateStarted = Date.now();
          const updateNode = nodeIds[(attempt * 7) % NODES];
          const updateRound = attempt - 6;
          const outcome = await h.client.submitResult(id, {
            nodeId: updateNode,
            attempt: updateRound,
            submissionId: submissionId(updateNode, updateRound),
            failure: { message: `attempt ${updateRound} failed` },
          });
          assert.equal(outcome.duplicate, true, `update resending ${submissionId(updateNode, updateRound)}`);
          assert.equal(outcome.attempt, updateRound);
          assert.equal(outcome.nodeId, updateNode);
          const current = await currentRunId(id);
          duplicates.push({ via: 'update', submissionId: submissionId(updateNode, updateRound), originalRound: updateRound, crossedExecution: current !== executionAfter[updateRound] });

          const signalNode = nodeIds[(attempt * 13) % NODES];
          await h.client.signalResult(id, {
            nodeId: signalNode,
            attempt,
            submissionId: submissionId(signalNode, attempt),
            failure: { message: `attempt ${attempt} failed` },
          });
          signals += 1;
          duplicates.push({ via: 'signal', submissionId: submissionId(signalNode, attempt), originalRound: attempt, crossedExecution: false });
          // Nothing moved: no attempt counted twice.
          const stored = await h.store.listNodeRuns(id);
          assert.ok(stored.every((node) => node.attempts === attempt && node.status === 'running'), `after the duplicates of round ${attempt}`);
          duplicatesMs += Date.now() - duplicateStarted;
        }
        if (attempt % 20 === 0) log(`  round ${attempt}/${ATTEMPTS}: ${signals} signals, ${((Date.now() - roundStarted) / 1000).toFixed(2)}s this round`);
      }
      const runMs = clock.lap(`${ATTEMPTS} rounds`);
      const final = await h.client.result(id);
      assert.equal(final.status, 'completed');
      assert.ok(final.nodes.every((node) => node.status === 'completed' && node.attempts === ATTEMPTS));
      assert.ok(duplicates.some((duplicate) => duplicate.crossedExecution), 'at least one duplicate was resent to a later execution than its original');

      const runs = await executions(h, id, firstRunId);
      clock.lap('histories');
      assertChain(runs, signals);
      // 12,012 messages at 500+ per execution. Not necessarily 24: see assertChain.
      assert.ok(runs.length >= 12, `expected a long chain of executions, got ${runs.length}`);

      // The store: events 1..lastSeq exactly once; 120 attempts per node, numbered 1..120; the
      // duplicate signals recorded as refusals, the duplicate updates not at all.
      const events = await h.store.listEvents(id);
      assert.deepEqual(eventLogProblems(events, id, final.lastSeq), []);
      const types = countBy(events, (event) => event.type);
      assert.equal(types['node-running'], NODES * ATTEMPTS);
      assert.equal(types['validation-reported'], NODES * (ATTEMPTS - 1));
      assert.equal(types['node-unblocked'], NODES * (ATTEMPTS - 1));
      assert.equal(types['node-completed'], NODES);
      const rejected = events.filter((event) => event.type === 'result-rejected');
      assert.deepEqual(
        rejected.map((event) => [event.detail?.reason, event.detail?.submissionId]),
        duplicates.filter((duplicate) => duplicate.via === 'signal').map((duplicate) => ['duplicate-submission', duplicate.submissionId]),
      );
      const run = await h.store.getRun(id);
      assert.equal(run?.lastSeq, final.lastSeq);
      assert.equal(run?.status, 'completed');
      const nodeRuns = await h.store.listNodeRuns(id);
      assert.equal(nodeRuns.length, NODES);
      let attemptRows = 0;
      for (const node of nodeRuns) {
        assert.equal(node.status, 'completed', node.nodeId);
        assert.equal(node.attempts, ATTEMPTS, node.nodeId);
        const attempts = await h.store.listAttempts(id, node.nodeId);
        assert.deepEqual(attempts.map((attempt) => attempt.attempt), Array.from({ length: ATTEMPTS }, (_, i) => i + 1), node.nodeId);
        assert.deepEqual(attempts.map((attempt) => attempt.submissionId), Array.from({ length: ATTEMPTS }, (_, i) => submissionId(node.nodeId, i + 1)), node.nodeId);
        assert.equal(attempts.filter((attempt) => attempt.status === 'failed').length, ATTEMPTS - 1, node.nodeId);
        assert.equal(attempts.at(-1)?.status, 'completed', node.nodeId);
        attemptRows += attempts.length;
      }
      assert.equal(attemptRows, NODES * ATTEMPTS);
      clock.lap('store audit');
      const submissions = NODES * ATTEMPTS;
      log(`12,000 submissions: ${clock.totalMs / 1000}s wall (${clock.summary()})`);
      log(
        `  ${submissions} submissions + ${duplicates.length} duplicates (${duplicates.filter((d) => d.crossedExecution).length} across an execution boundary; ${(duplicatesMs / 1000).toFixed(1)}s), ` +
          `${final.lastSeq} events stored; ${(final.lastSeq / (runMs / 1000)).toFixed(0)} events/s, ${(submissions / (roundsMs / 1000)).toFixed(0)} submissions/s in the rounds`,
      );
      const sorted = [...roundTimes].sort((a, b) => a - b);
      log(`  round time: median ${(sorted[sorted.length >> 1] / 1000).toFixed(2)}s, max ${(sorted.at(-1)! / 1000).toFixed(2)}s`);
      log(`  ${reportExecutions(runs)}`);
    } finally {
      await terminateIfRunning(h, id);
    }
  });
});
