/**
 * With no worker on a run's task queue, the commands that need one say so within a second or two
 * (exit 3, "no worker is polling task queue X") instead of waiting out a 20 s query or 60 s update.
 * A worker that stopped is still listed by the server for a while: it counts as gone once it has not
 * polled for a while (unit-tested in worker-check.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { main, type CliIO } from '../../src/client/cli';
import { startHarness, runId, plan, TEMPORAL_ADDRESS, type Harness } from './harness';

let h: Harness;
before(async () => {
  // A client only: nothing ever polls this task queue.
  h = await startHarness({ withWorker: false });
});
after(async () => {
  await h?.close(); // terminates the run nobody ever polled
});

function cli(...args: string[]) {
  return cliFor(h.taskQueue, h.store, ...args);
}

async function cliFor(taskQueue: string, store: Harness['store'], ...args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) };
  const t0 = Date.now();
  const code = await main(['node', 'plan-runner', ...args, '--address', TEMPORAL_ADDRESS, '--task-queue', taskQueue], io, { store });
  return { code, stdout, stderr, ms: Date.now() - t0 };
}

test('a queue no worker ever polled: status and submit say so at once (exit 3)', async () => {
  const id = runId('noworker');
  // The workflow starts (Temporal accepts it) but no worker ever runs it.
  await h.client.start(plan('no-worker', [{ id: 'a', owner: { kind: 'agent', ref: 'nobody-polls' } }]), { runId: id });

  const status = await cli('status', id);
  assert.equal(status.code, 3, status.stderr);
  assert.match(status.stderr, new RegExp(`no worker is polling task queue ${h.taskQueue}`));
  assert.match(status.stderr, /plan-runner worker --task-queue/);
  assert.ok(status.ms < 2000, `status answered in ${status.ms} ms`);

  const json = await cli('status', id, '--json');
  assert.equal(json.code, 3);
  assert.equal(JSON.parse(json.stdout.trim()).code, 'no-worker');

  const submit = await cli('submit', id, 'a', '--output', '{}');
  assert.equal(submit.code, 3, submit.stderr);
  assert.match(submit.stderr, /no worker is polling task queue/);
  assert.ok(submit.ms < 2000, `submit answered in ${submit.ms} ms`);

  const none = await cli('inbox', 'agent:nobody-polls');
  assert.equal(none.code, 0, 'a run that never ran waits on nobody yet (its search attributes are unset)');
});

test('after the worker stopped: status and inbox say so within 2 s, once for the whole inbox', async () => {
  const w = await startHarness();
  const id = runId('stopped');
  const owner = `agent:left-${id}`;
  try {
    await w.client.start(plan('worker-stopped', [{ id: 'a', owner: { kind: 'agent', ref: `left-${id}` } }]), { runId: id });
    const cliOn = (...args: string[]) => cliFor(w.taskQueue, w.store, ...args);
    // Wait until visibility lists the run as waiting on the owner (the worker set PlanWaitingOn).
    let inbox = await cliOn('inbox', owner);
    for (let i = 0; i < 80 && !inbox.stdout.includes(id); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      inbox = await cliOn('inbox', owner);
    }
    assert.match(inbox.stdout, new RegExp(id), 'the run is in the inbox while the worker runs');
    assert.equal((await cliOn('status', id)).code, 0);

    await w.stopWorker!();
    // The server still lists the stopped worker as a poller: the probe query finds nobody answers.
    const status = await cliOn('status', id);
    assert.equal(status.code, 3, status.stderr);
    assert.match(status.stderr, new RegExp(`no worker is polling task queue ${w.taskQueue}`));
    assert.ok(status.ms < 2000, `status answered in ${status.ms} ms`);

    const after = await cliOn('inbox', owner);
    assert.equal(after.code, 3, after.stderr + after.stdout);
    assert.equal(after.stderr.trim().split('\n').length, 1, `one diagnosis, not one per row: ${after.stderr}`);
    assert.match(after.stderr, new RegExp(`1 run\\(s\\) wait on ${owner}, but no worker is polling task queue ${w.taskQueue}`));
    assert.ok(after.ms < 2000, `inbox answered in ${after.ms} ms`);
  } finally {
    await w.close();
  }
});
