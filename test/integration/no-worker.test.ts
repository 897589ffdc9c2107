/**
 * With no worker on a run's task queue, the commands that need one say so within a second or two
 * (exit 3, "no worker is polling task queue X") instead of waiting out a 20 s query or 60 s update;
 * the queue named is the one the run was started on. A worker that is there but slow is waited for,
 * and one killed without shutting down (still listed by the server) is said not to have answered,
 * not to be missing. Which pollers count as gone is unit-tested in worker-check.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { main, type CliIO } from '../../src/client/cli';
import { PlanRunnerClient } from '../../src/client/plan-runner-client';
import { NoWorkerError, RunUnresponsiveError } from '../../src/client/errors';
import { PlanIdKey, PlanRunStatusKey, PlanWaitingOnKey } from '../../src/workflows/definitions';
import { startHarness, runId, plan, startWorkerProcess, TEMPORAL_ADDRESS, TEMPORAL_CONNECTION, type Harness } from './harness';

let h: Harness;
const started: string[] = [];
const workers: ChildProcess[] = [];
before(async () => {
  // A client only: nothing ever polls this task queue.
  h = await startHarness({ withWorker: false });
});
after(async () => {
  for (const worker of workers) if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  for (const id of started) await h.client.client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
  await h?.close();
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

/** A worker process on `taskQueue`, killed (if still up) after the file. */
async function workerProcess(taskQueue: string): Promise<ChildProcess> {
  const worker = await startWorkerProcess(taskQueue);
  workers.push(worker);
  return worker;
}

async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test('a queue no worker ever polled: status and submit say so at once (exit 3)', async () => {
  const id = runId('noworker');
  // The workflow starts (Temporal accepts it) but no worker ever runs it.
  await h.client.start(plan('no-worker', [{ id: 'a', owner: { kind: 'agent', ref: 'nobody-polls' } }]), { runId: id });
  started.push(id);

  const status = await cli('status', id);
  assert.equal(status.code, 3, status.stderr);
  assert.match(status.stderr, new RegExp(`no worker is polling task queue ${h.taskQueue}, so query snapshot of run ${id} cannot be answered`));
  assert.match(status.stderr, /plan-runner worker --task-queue/);
  assert.ok(status.ms < 2000, `status answered in ${status.ms} ms`);

  const json = await cli('status', id, '--json');
  assert.equal(json.code, 3);
  const body = JSON.parse(json.stdout.trim());
  assert.equal(body.code, 'no-worker');
  assert.match(body.error, /no worker is polling task queue/);

  const submit = await cli('submit', id, 'a', '--output', '{}');
  assert.equal(submit.code, 3, submit.stderr);
  assert.match(submit.stderr, /no worker is polling task queue .*, so update submitNodeResult of run/);
  assert.ok(submit.ms < 2000, `submit answered in ${submit.ms} ms`);

  const none = await cli('inbox', 'agent:nobody-polls');
  assert.equal(none.code, 0, 'a run that never ran waits on nobody yet (its search attributes are unset)');
});

test('the queue named is the one the run was started on, not the client\'s; inbox says it once, within 2 s', async () => {
  // The CLI's own --task-queue has a worker; the runs were started on a queue that never had one.
  const w = await startHarness();
  const lonelyQueue = `never-polled-${randomUUID().slice(0, 8)}`;
  const owner = `agent:lonely-${randomUUID().slice(0, 8)}`;
  const ids = [runId('raw-a'), runId('raw-b')];
  try {
    for (const id of ids) {
      await w.client.client.workflow.start('planRun', {
        args: [{ spec: plan('raw-start', [{ id: 'a', owner: { kind: 'agent', ref: owner.slice('agent:'.length) } }]) }],
        workflowId: id,
        taskQueue: lonelyQueue,
        // What the worker would set once it ran the first step: here so that inbox lists the runs.
        typedSearchAttributes: [
          { key: PlanIdKey, value: 'raw-start' },
          { key: PlanRunStatusKey, value: 'running' },
          { key: PlanWaitingOnKey, value: [owner] },
        ],
      });
      started.push(id);
    }
    const cliOn = (...args: string[]) => cliFor(w.taskQueue, w.store, ...args);

    const status = await cliOn('status', ids[0]);
    assert.equal(status.code, 3, status.stderr);
    assert.match(status.stderr, new RegExp(`no worker is polling task queue ${lonelyQueue}\\b`));
    assert.doesNotMatch(status.stderr, new RegExp(w.taskQueue));
    assert.ok(status.ms < 2000, `status answered in ${status.ms} ms`);

    let inbox = await cliOn('inbox', owner);
    for (let i = 0; i < 40 && inbox.code === 0; i++) {
      // Visibility lists a new run a moment after its start.
      await new Promise((resolve) => setTimeout(resolve, 250));
      inbox = await cliOn('inbox', owner);
    }
    assert.equal(inbox.code, 3, inbox.stderr + inbox.stdout);
    assert.equal(inbox.stderr.trim().split('\n').length, 1, `one diagnosis, not one per row: ${inbox.stderr}`);
    assert.match(inbox.stderr, new RegExp(`2 run\\(s\\) wait on ${owner}, but no worker is polling task queue ${lonelyQueue}, so their nodes cannot be answered`));
    assert.ok(inbox.ms < 2000, `inbox answered in ${inbox.ms} ms`);
    const json = await cliOn('inbox', owner, '--json');
    assert.equal(json.code, 3);
    assert.equal(JSON.parse(json.stdout.trim()).code, 'no-worker');

    // A closed run still needs a worker for a query: the error says so, and where its record is.
    await w.client.client.workflow.getHandle(ids[1]).terminate('test: a closed run');
    const closed = await cliOn('status', ids[1]);
    assert.equal(closed.code, 3, closed.stderr);
    assert.match(closed.stderr, new RegExp(`no worker is polling task queue ${lonelyQueue}`));
    assert.match(closed.stderr, /The run is closed \(plan-runner's last status running, Temporal status TERMINATED\), and Temporal still needs a worker to answer a query about it/);
    assert.match(closed.stderr, new RegExp(`plan-runner events ${ids[1]}`));
  } finally {
    for (const id of ids) await w.client.client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
    await w.close();
  }
});

test('with a worker, status answers normally; after the worker stopped, status and inbox say so within 2 s', async () => {
  const w = await startHarness();
  const id = runId('stopped');
  const cancelled = runId('cancelled');
  const owner = `agent:left-${id}`;
  try {
    await w.client.start(plan('worker-stopped', [{ id: 'a', owner: { kind: 'agent', ref: `left-${id}` } }]), { runId: id });
    const cliOn = (...args: string[]) => cliFor(w.taskQueue, w.store, ...args);
    // A run cancelled while the worker runs: its workflow closes as Canceled.
    await w.client.start(plan('worker-stopped', [{ id: 'a' }]), { runId: cancelled });
    const cancel = await cliOn('cancel', cancelled, '--by', 'alice', '--reason', 'not needed');
    assert.equal(cancel.code, 0, cancel.stderr);
    // Wait until visibility lists the run as waiting on the owner (the worker set PlanWaitingOn).
    let inbox = await cliOn('inbox', owner);
    for (let i = 0; i < 80 && !inbox.stdout.includes(id); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      inbox = await cliOn('inbox', owner);
    }
    assert.equal(inbox.code, 0, inbox.stderr);
    assert.match(inbox.stdout, new RegExp(`${id}\\s+worker-stopped\\s+running\\s+a`), 'the run is in the inbox while the worker runs');

    const live = await cliOn('status', id);
    assert.equal(live.code, 0, live.stderr);
    assert.match(live.stdout, new RegExp(`^run ${id}  plan worker-stopped .* status running`));
    assert.equal(live.stderr, '');
    assert.ok(live.ms < 2000, `status with a worker answered in ${live.ms} ms`);

    await w.stopWorker!();
    // The server still lists the stopped worker as a poller; its heartbeat says it shut down.
    const status = await cliOn('status', id);
    assert.equal(status.code, 3, status.stderr);
    assert.match(status.stderr, new RegExp(`no worker is polling task queue ${w.taskQueue} \\(the worker last seen, \\S+, shut down at `));
    assert.ok(status.ms < 2000, `status answered in ${status.ms} ms`);

    const after = await cliOn('inbox', owner);
    assert.equal(after.code, 3, after.stderr + after.stdout);
    assert.equal(after.stderr.trim().split('\n').length, 1, `one diagnosis, not one per row: ${after.stderr}`);
    assert.match(after.stderr, new RegExp(`1 run\\(s\\) wait on ${owner}, but no worker is polling task queue ${w.taskQueue}`));
    assert.ok(after.ms < 2000, `inbox answered in ${after.ms} ms`);

    // The cancelled run is closed, but its final snapshot is a query too: the error says how it
    // ended (from the store) and where its record is.
    const closed = await cliOn('status', cancelled);
    assert.equal(closed.code, 3, closed.stderr);
    assert.match(closed.stderr, new RegExp(`no worker is polling task queue ${w.taskQueue}`));
    assert.match(closed.stderr, /The run is closed \(cancelled by alice \(not needed\), Temporal status CANCELLED\), and Temporal still needs a worker/);
    assert.match(closed.stderr, new RegExp(`plan-runner events ${cancelled} `));
    assert.ok(closed.ms < 2000, `status of the closed run answered in ${closed.ms} ms`);
    const events = await cliOn('events', cancelled);
    assert.equal(events.code, 0, 'the store answers without a worker');
    assert.match(events.stdout, /run-cancelled|cancel/);
  } finally {
    for (const run of [id, cancelled]) await w.client.client.workflow.getHandle(run).terminate('test cleanup').catch(() => undefined);
    await w.close();
  }
});

test('a worker that is there but slow is waited for, not called missing', async () => {
  const queue = `slow-${randomUUID().slice(0, 8)}`;
  const client = await PlanRunnerClient.connect({ connectionSettings: TEMPORAL_CONNECTION, taskQueue: queue, store: h.store });
  const worker = await workerProcess(queue);
  const id = runId('slow');
  try {
    await client.start(plan('slow-worker', [{ id: 'a' }]), { runId: id });
    started.push(id);
    await waitFor(async () => (await client.snapshot(id).catch(() => undefined))?.nodes[0].status === 'running', 'the run to start');

    // Paused, the worker neither answers nor polls again: slower than any check could wait for.
    worker.kill('SIGSTOP');
    const pending = cliFor(queue, h.store, 'status', id);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    worker.kill('SIGCONT');
    const status = await pending;
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^run ${id}  plan slow-worker`));
    assert.ok(status.ms >= 2500, `status waited for the paused worker (${status.ms} ms)`);
  } finally {
    worker.kill('SIGCONT');
    await client.client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
    worker.kill('SIGTERM');
    if (worker.exitCode === null && worker.signalCode === null) await once(worker, 'exit');
    await client.close();
  }
});

test('a worker killed without shutting down is listed for a while: the error says it did not answer', async () => {
  const queue = `killed-${randomUUID().slice(0, 8)}`;
  const client = await PlanRunnerClient.connect({ connectionSettings: TEMPORAL_CONNECTION, taskQueue: queue, store: h.store, queryTimeoutMs: 1500 });
  const worker = await workerProcess(queue);
  const id = runId('killed');
  try {
    await client.start(plan('killed-worker', [{ id: 'a' }]), { runId: id });
    started.push(id);
    await waitFor(async () => (await client.snapshot(id).catch(() => undefined))?.nodes[0].status === 'running', 'the run to start');

    worker.kill('SIGKILL');
    await once(worker, 'exit');
    const t0 = Date.now();
    const err = await client.snapshot(id).then(
      () => assert.fail('a killed worker cannot answer'),
      (error: unknown) => error,
    );
    assert.ok(err instanceof RunUnresponsiveError && !(err instanceof NoWorkerError), String(err));
    assert.equal(err.taskQueue, queue);
    assert.match(err.message, new RegExp(`^the worker on task queue ${queue} \\(its latest poll began at \\S+\\) did not answer query snapshot of run ${id} within 1\\.5 s`));
    assert.match(err.message, /killed without shutting down less than 90 s ago/);
    assert.ok(Date.now() - t0 < 5000, 'the query deadline, not more');
  } finally {
    await client.client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
    await client.close();
  }
});
