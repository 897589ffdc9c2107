/**
 * The demo (scripts/demo.ts) end to end, as CI runs it: no terminal, so nobody is asked anything.
 * It needs the Temporal dev server (TEMPORAL_ADDRESS, started by `./temporal-dev.sh test`) and the
 * build (dist/scripts/demo.js); the demo brings its own worker on a private task queue and its own
 * agents (a local HTTP server that receives signed wake-ups). It records into the store PLAN_STORE_URL
 * names (unset: .data/plan-runner.db under the working directory), which the tests read back.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import * as path from 'node:path';
import { PlanRunnerClient } from '../../src/client/plan-runner-client';
import { openStore } from '../../src/store';
import { TEMPORAL_ADDRESS, TEMPORAL_CONNECTION, registerTaskQueue, terminateOpenRuns } from './harness';

const DEMO = path.resolve(__dirname, '..', '..', 'scripts', 'demo.js');

interface DemoResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The demo closes its run itself: it completes, and on a failure or Ctrl-C the demo cancels (else
 * terminates) it. Should a demo be killed or hang anyway, after() stops it and terminates whatever is
 * still open on the private task queues the demos printed (each logged for the check after the suite).
 */
const demos = new Set<ChildProcess>();
const demoQueues = new Set<string>();
after(async () => {
  for (const child of demos) {
    // SIGTERM first: the demo closes its run on it; SIGKILL when it does not exit.
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  if (demoQueues.size === 0) return;
  const client = await PlanRunnerClient.connect({ connectionSettings: TEMPORAL_CONNECTION });
  try {
    for (const queue of demoQueues) await terminateOpenRuns(client.client, queue);
  } finally {
    await client.close();
  }
});

/** Runs the demo like CI does: stdin is not a terminal, CI=true, no PLAN_TASK_QUEUE. */
function runDemo(args: string[], overrides: NodeJS.ProcessEnv = {}): Promise<DemoResult> {
  // PLAN_CONSOLE_PORT=0: the demo's console on any free port, never one another checkout serves on.
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', TEMPORAL_ADDRESS, PLAN_CONSOLE_PORT: '0', ...overrides };
  delete env.PLAN_TASK_QUEUE;
  delete env.FORCE_COLOR;
  const onSuiteServer = env.TEMPORAL_ADDRESS === TEMPORAL_ADDRESS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    demos.add(child);
    child.on('exit', () => demos.delete(child));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // `  worker     in-process, task queue plan-runs-demo-…`: printed before the demo starts its run.
      const queue = /task queue (plan-runs-demo-[\w-]+)/.exec(stdout)?.[1];
      if (queue && onSuiteServer && !demoQueues.has(queue)) {
        demoQueues.add(queue);
        registerTaskQueue(queue);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The final table's status per node: lines like `  publish   completed  1  {…}`. */
function finalStatuses(stdout: string): Record<string, string> {
  const table = stdout.slice(stdout.lastIndexOf('NODE'));
  const statuses: Record<string, string> = {};
  for (const match of table.matchAll(/^ {2}(research|draft|review|approve|publish|announce|archive)\s+(\S+)\s+\d+/gm)) {
    statuses[match[1]] = match[2];
  }
  return statuses;
}

function runIdOf(stdout: string): string {
  const match = /\/namespaces\/[^/\s]+\/workflows\/((?:blog-post|revise)-demo-[0-9a-f]+)/.exec(stdout);
  assert.ok(match, `the output links the run in the Web UI:\n${stdout}`);
  return match[1];
}

async function snapshotStatuses(runId: string): Promise<Record<string, string>> {
  const client = await PlanRunnerClient.connect({ connectionSettings: TEMPORAL_CONNECTION });
  try {
    const workflow = await client.client.workflow.getHandle(runId).describe();
    assert.equal(workflow.status.name, 'COMPLETED', 'the demo leaves no run open: its workflow has completed');
    const snapshot = await client.snapshot(runId); // a completed run answers from its result
    assert.equal(snapshot.status, 'completed');
    return Object.fromEntries(snapshot.nodes.map((node) => [node.id, node.status]));
  } finally {
    await client.close();
  }
}

/**
 * The wake-ups the demo's agents received, as printed: `wake-up  researcher  research attempt 2 (node-running)`.
 * Each as `agent node#attempt (event type)`.
 */
function wakeUps(stdout: string): string[] {
  return [...stdout.matchAll(/^ {2}wake-up {2}(\S+)\s+(\S+) attempt (\d+) \(([a-z-]+)\)$/gm)].map(
    ([, agent, node, attempt, type]) => `${agent} ${node}#${attempt} (${type})`,
  );
}

/**
 * The store lines of the summary name the store the demo used (the one PLAN_STORE_URL names, opened
 * here from the same environment and working directory), with a query to run against it; and the
 * store holds the run's events, ending with the run completed.
 */
async function checkStore(out: string, runId: string, twice = { node: 'research', by: 'agent:researcher' }): Promise<void> {
  const store = await openStore(process.env.PLAN_STORE_URL);
  try {
    const location = store.location;
    assert.ok(out.includes(`Store:    ${store.dialect}  ${location}`), `the summary names the store (${store.dialect} ${location}):\n${out}`);
    const sql = `"SELECT seq, type, node_id, message FROM events WHERE run_id = '${runId}' ORDER BY seq"`;
    const client = store.dialect === 'postgres' ? 'psql' : 'sqlite3';
    const sqlLine = out.split('\n').find((line) => line.startsWith('  SQL:'));
    assert.ok(sqlLine, `the summary has a SQL line:\n${out}`);
    assert.ok(sqlLine.startsWith(`  SQL:      ${client} `) && sqlLine.includes(location) && sqlLine.endsWith(sql), sqlLine);
    assert.match(out, new RegExp(`npx plan-runner events ${runId}\\b`));
    assert.match(out, new RegExp(`npx plan-runner attempts ${runId} ${twice.node}\\b`));

    const events = await store.listEvents(runId);
    assert.ok(events.length > 0, `the store at ${location} has events of run ${runId}`);
    assert.deepEqual(
      events.map((event) => event.seq),
      events.map((_, index) => index + 1),
      'the events are recorded in seq order, without gaps',
    );
    const last = events.filter((event) => event.type !== 'checkpoint-saved').at(-1);
    assert.equal(last?.type, 'run-status-changed', JSON.stringify(last));
    assert.equal(last?.toStatus, 'completed');
    const run = await store.getRun(runId);
    assert.equal(run?.status, 'completed');
    assert.equal(run?.lastSeq, events.at(-1)?.seq, 'the run row and the event log agree');
    // Both attempts the demo printed of the node it runs twice are in the store (the research
    // rejected then accepted; the draft and its revision).
    const attempts = await store.listAttempts(runId, twice.node);
    assert.deepEqual(
      attempts.map((attempt) => [attempt.attempt, attempt.by]),
      [
        [1, twice.by],
        [2, twice.by],
      ],
    );
  } finally {
    await store.close();
  }
}

function explain(result: DemoResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

describe('demo', { timeout: 300_000 }, () => {
  test('--yes: the post is approved, published and announced; the archive branch is skipped', async () => {
    const result = await runDemo(['--yes']);
    assert.equal(result.code, 0, explain(result));
    const out = result.stdout;
    assert.doesNotMatch(out, /\x1b\[/, 'no colors when stdout is not a terminal');
    assert.match(out, /researcher submits an incomplete result \(missing sources\)/);
    assert.match(out, /rejected \(1 blocking issue\)/, 'the first research attempt is rejected');
    assert.match(out, /alice approves the post/);
    assert.match(out, /Run blog-post-demo-[0-9a-f]+: completed/);
    const expected = { research: 'completed', draft: 'completed', approve: 'completed', publish: 'completed', announce: 'completed', archive: 'skipped' };
    assert.deepEqual(finalStatuses(out), expected, explain(result));
    const runId = runIdOf(out);
    assert.match(out, new RegExp(`Web UI:\\s+http\\S*/workflows/${runId}`), 'the summary repeats the Web UI link');
    // The console it served: alice can sign in (a token printed once, or a reminder when she has one).
    assert.match(out, new RegExp(`console {4}http://127\\.0\\.0\\.1:\\d+/runs/${runId} `), 'the run\'s console page');
    assert.match(out, /console {4}http:\/\/127\.0\.0\.1:\d+ {2}sign in as alice with (prt_[\w-]{43} |her personal token)/);
    const store = await openStore(process.env.PLAN_STORE_URL);
    try {
      assert.ok((await store.listUsers()).some((user) => user.name === 'alice' && !user.revokedAt), 'alice is a console user');
    } finally {
      await store.close();
    }
    // A status command that reaches the server the demo used: --address unless it is the default one.
    const flags =
      (['127.0.0.1:7233', 'localhost:7233'].includes(TEMPORAL_ADDRESS) ? '' : ` --address ${TEMPORAL_ADDRESS}`) +
      (process.env.TEMPORAL_NAMESPACE && process.env.TEMPORAL_NAMESPACE !== 'default' ? ` --namespace ${process.env.TEMPORAL_NAMESPACE}` : '');
    assert.ok(out.includes(`npx plan-runner${flags} status ${runId}`), `the summary prints npx plan-runner${flags} status ${runId}:\n${out}`);
    // The agents got their work as wake-ups: the researcher twice (its first result is rejected).
    assert.deepEqual(
      wakeUps(out),
      [
        'researcher research#1 (node-running)',
        'researcher research#2 (node-running)',
        'writer draft#1 (node-running)',
        'publisher publish#1 (node-running)',
        'publisher announce#1 (node-running)',
      ],
      explain(result),
    );
    assert.doesNotMatch(result.stderr, /failed verification/, 'every wake-up passed signature verification');
    assert.deepEqual(await snapshotStatuses(runId), expected, 'the run in Temporal agrees with the printed table');
    await checkStore(out, runId);
  });

  test('--no: the post is rejected, the archive branch runs; publish and announce are skipped', async () => {
    const result = await runDemo(['--no']);
    assert.equal(result.code, 0, explain(result));
    const out = result.stdout;
    assert.match(out, /alice rejects the post/);
    const expected = { research: 'completed', draft: 'completed', approve: 'completed', publish: 'skipped', announce: 'skipped', archive: 'completed' };
    assert.deepEqual(finalStatuses(out), expected, explain(result));
    const runId = runIdOf(out);
    assert.deepEqual(
      wakeUps(out),
      [
        'researcher research#1 (node-running)',
        'researcher research#2 (node-running)',
        'writer draft#1 (node-running)',
        'publisher archive#1 (node-running)',
      ],
      explain(result),
    );
    assert.deepEqual(await snapshotStatuses(runId), expected);
    await checkStore(out, runId);
  });

  test('no server at a non-default address: the hints name that address', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve)); // a free port: nothing answers there
    const result = await runDemo(['--yes'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    assert.equal(result.code, 1, explain(result));
    assert.ok(result.stderr.includes(`Cannot reach Temporal at 127.0.0.1:${port}.`), explain(result));
    assert.ok(result.stderr.includes(`TEMPORAL_ADDRESS=127.0.0.1:${port} ./temporal-dev.sh server`), explain(result));
    assert.ok(result.stderr.includes(`TEMPORAL_ADDRESS=127.0.0.1:${port} ./temporal-dev.sh demo`), explain(result));
  });
});

test('demo --plan revise --yes: the editor asks for edits once, the loop maps them into the second draft, approved in iteration 2', async () => {
  const { code, stdout, stderr } = await runDemo(['--plan', 'revise', '--yes']);
  assert.equal(code, 0, `demo failed:\n${stdout}\n${stderr}`);
  const runId = runIdOf(stdout);
  assert.match(runId, /^revise-demo-/);
  assert.match(stdout, /writer revises the draft \(iteration 2\) with the editor's edits: a shorter title; add one example/);
  assert.match(stdout, /loop-iterated|iteration 2 of 3 starts/);
  assert.deepEqual(finalStatuses(stdout), { draft: 'completed', review: 'completed', publish: 'completed', archive: 'skipped' });
  assert.deepEqual(await snapshotStatuses(runId), { draft: 'completed', review: 'completed', publish: 'completed', archive: 'skipped' });
  await checkStore(stdout, runId, { node: 'draft', by: 'agent:writer' });
});
