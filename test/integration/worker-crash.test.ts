/**
 * Durability: the worker process is killed (SIGKILL, no graceful shutdown) in the middle of a run, a
 * result arrives while no worker is up, and a new worker process finishes the run with nothing lost.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { startHarness, plan, runId, eventually, startWorkerProcess, type Harness } from './harness';

let h: Harness;
let worker: ChildProcess | undefined;
before(async () => {
  h = await startHarness({ withWorker: false });
});
after(async () => {
  worker?.kill('SIGKILL');
  await h?.close();
});

test('killing the worker mid-run and starting a new one finishes the run with nothing lost', async () => {
  const spec = plan(
    'crash',
    [{ id: 'one' }, { id: 'two' }, { id: 'three' }],
    [
      { from: 'one', to: 'two', map: { fromOne: 'output.value' } },
      { from: 'two', to: 'three', map: { fromTwo: 'output.value' } },
    ],
  );
  worker = await startWorkerProcess(h.taskQueue);
  const { runId: id } = await h.client.start(spec, { runId: runId('crash') });
  await h.client.submitResult(id, { nodeId: 'one', structuredOutput: { value: 1 } });
  const before = await h.client.snapshot(id);

  worker.kill('SIGKILL');
  await once(worker, 'exit');
  // Accepted by the server and kept in history while no worker runs.
  await h.client.signalResult(id, { nodeId: 'two', attempt: 1, submissionId: 'two-1', structuredOutput: { value: 2 } });

  worker = await startWorkerProcess(h.taskQueue);
  const afterRestart = await eventually(async () => {
    const snapshot = await h.client.snapshot(id);
    return snapshot.nodes[2].status === 'running' ? snapshot : undefined;
  }, 'the new worker to process the result sent while no worker was up', 60_000);
  assert.deepEqual(afterRestart.nodes.map((n) => [n.id, n.status, n.attempts]), [
    ['one', 'completed', 1],
    ['two', 'completed', 1],
    ['three', 'running', 0],
  ]);
  assert.deepEqual((await h.client.workItem(id, 'three'))?.resolvedInput, { fromTwo: 2 });

  await h.client.submitResult(id, { nodeId: 'three', structuredOutput: { value: 3 } });
  const final = await h.client.result(id);
  assert.equal(final.status, 'completed');
  const events = await h.client.events(id);
  assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1), 'no event lost or repeated');
  assert.deepEqual(
    events.slice(0, before.lastSeq).map((e) => e.id),
    Array.from({ length: before.lastSeq }, (_, i) => `${id}:${i + 1}`),
    'events recorded before the crash are unchanged',
  );
  assert.equal(events.filter((e) => e.type === 'node-completed').length, 3);
});
