/**
 * Store paths that cannot work fail fast (issue 9). `PLAN_STORE_URL=/proc/x/y.db` used to make the
 * worker and `plan-runner migrate` hang silently (Node's recursive mkdir loops on /proc), while
 * `plan-runner events` on the same path failed at once. Now all three say the same thing at once.
 * Real processes, a real filesystem; the worker never gets as far as connecting to Temporal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPlanWorker } from '../../src/worker';
import { testDelivery, workflowBundle } from './harness';

const BIN = path.resolve(__dirname, '../../../bin/plan-runner.js');
const WORKER_MAIN = path.resolve(__dirname, '../../src/worker/main.js');
/** Well within "a few seconds", and far below the hang it replaces. */
const FAST_MS = 5000;

/** A path whose directory can never be made: /proc on Linux, else below a regular file. */
let impossible: string;
let dir: string;

before(async () => {
  await workflowBundle(); // installs the quiet Temporal runtime before createPlanWorker below
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-runner-store-paths-'));
  fs.writeFileSync(path.join(dir, 'a-file'), '');
  impossible = fs.existsSync('/proc/self') ? '/proc/x/y.db' : path.join(dir, 'a-file', 'x', 'y.db');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Exit> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, {
      env: { ...process.env, CI: 'true', ...env },
      // A hang would be killed here, and fail the timing assertions below rather than the suite.
      timeout: 3 * FAST_MS,
    });
    return { code: 0, stdout, stderr, ms: Date.now() - started };
  } catch (error) {
    const failed = error as { code: number | null; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr, ms: Date.now() - started };
  }
}

/** The first sentence of what `plan-runner events` says about the path: the message to reuse. */
async function eventsSays(store: string): Promise<string> {
  const events = await run([BIN, 'events', 'any-run', '--store', store]);
  assert.equal(events.code, 3, `events exits 3 (store unavailable): ${events.stderr}`);
  const sentence = /no store at [^:]+: nothing was recorded there/.exec(events.stderr)?.[0];
  assert.ok(sentence, `events names the missing store: ${events.stderr}`);
  return sentence;
}

test('plan-runner migrate on a path that cannot be created exits non-zero at once, with the message events gives', async () => {
  const expected = await eventsSays(impossible);
  const migrate = await run([BIN, 'migrate', '--store', impossible]);
  assert.ok(migrate.ms < FAST_MS, `migrate answered in ${migrate.ms} ms`);
  assert.equal(migrate.code, 3, `migrate exits 3 (store unavailable): ${migrate.stderr}`);
  assert.ok(migrate.stderr.includes(expected), `migrate says what events says ("${expected}"): ${migrate.stderr}`);
  assert.match(migrate.stderr, /none can be created there \(cannot create its directory: E[A-Z]+/);
  assert.equal(fs.existsSync(impossible), false);

  // --json: the same message as the error's text, with the store named.
  const asJson = await run([BIN, 'migrate', '--store', impossible, '--json']);
  assert.equal(asJson.code, 3);
  const error = JSON.parse(asJson.stdout.trim().split('\n').at(-1) as string) as { error: string; code: string; store: string };
  assert.equal(error.code, 'unavailable');
  assert.equal(error.store, impossible);
  assert.ok(error.error.includes(expected), error.error);
});

test('a worker on a path that cannot be created fails to start at once, with the message events gives', async () => {
  const expected = await eventsSays(impossible);

  // The worker process, configured from the environment as in production.
  const worker = await run([WORKER_MAIN], { PLAN_STORE_URL: impossible, PLAN_TASK_QUEUE: 'store-paths-never-polled' });
  assert.ok(worker.ms < FAST_MS, `the worker stopped in ${worker.ms} ms`);
  assert.equal(worker.code, 1, `the worker exits 1: ${worker.stderr}`);
  assert.ok(worker.stderr.includes(`plan-runner worker failed: ${expected}`), worker.stderr);

  // And createPlanWorker in-process, as an embedding application calls it.
  const started = Date.now();
  await assert.rejects(
    createPlanWorker({ storeUrl: impossible, taskQueue: 'store-paths-never-polled', delivery: testDelivery(), workflowBundle: await workflowBundle() }),
    (error: Error) => {
      assert.ok(error.message.startsWith(expected), error.message);
      return true;
    },
  );
  assert.ok(Date.now() - started < FAST_MS, `createPlanWorker rejected in ${Date.now() - started} ms`);
});

test('a store directory that is missing but can be made is still created by migrate', async () => {
  const file = path.join(dir, 'new', 'nested', 'runs.db');
  const migrate = await run([BIN, 'migrate', '--store', file]);
  assert.equal(migrate.code, 0, migrate.stderr);
  assert.ok(fs.statSync(file).isFile());
});
