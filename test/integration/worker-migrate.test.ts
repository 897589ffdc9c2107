/**
 * The worker migrates its store at start (src/worker/index.ts): every other integration test migrates
 * the store itself first, so this one points a worker at a brand-new, empty SQLite file that nobody
 * migrated, runs a one-task plan through it, and checks that the run was recorded there and that the
 * migrations table lists every current migration. It never touches PLAN_STORE_URL's database.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import LibsqlDatabase from 'libsql';
import { NativeConnection } from '@temporalio/worker';
import { PlanRunnerClient } from '../../src/client/plan-runner-client';
import { createPlanWorker, type PlanWorker } from '../../src/worker';
import { openStore } from '../../src/store';
import { MIGRATION_TABLE, storeMigrations } from '../../src/store/migrations';
import { TEMPORAL_CONNECTION, eventually, plan, runId, terminateOpenRuns, testDelivery, testTaskQueue, workflowBundle } from './harness';

const taskQueue = testTaskQueue('test-migrate');
let dir: string;
let file: string;
let connection: NativeConnection | undefined;
let worker: PlanWorker | undefined;
let running: Promise<void> | undefined;
let client: PlanRunnerClient | undefined;
/** The run, while it may still be open (so a failed test does not leave it waiting on the server). */
let openRun: string | undefined;
let bundle: Awaited<ReturnType<typeof workflowBundle>>;

before(async () => {
  // First: building the bundle installs the quiet Temporal runtime, which must precede any connection.
  bundle = await workflowBundle();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-runner-worker-migrate-'));
  file = path.join(dir, 'fresh.db');
  connection = await NativeConnection.connect(TEMPORAL_CONNECTION.nativeConnectionOptions);
});

after(async () => {
  if (client) await terminateOpenRuns(client.client, taskQueue, openRun ? [openRun] : []);
  if (worker) {
    worker.shutdown();
    await running?.catch(() => undefined);
  }
  await client?.close();
  await connection?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a worker started on an empty, never-migrated SQLite store migrates it and records the run there', { timeout: 120_000 }, async () => {
  assert.equal(fs.existsSync(file), false, 'the store file does not exist before the worker starts');

  // The worker opens the store from its URL itself (no `store` passed in), as `plan-runner worker` does.
  worker = await createPlanWorker({
    connection,
    connectionSettings: TEMPORAL_CONNECTION,
    taskQueue,
    storeUrl: file,
    delivery: testDelivery(),
    workflowBundle: bundle,
    // If the store was not migrated, recording retries forever and a graceful shutdown would wait for it.
    workerOptions: { shutdownForceTime: '10s' },
  });
  assert.equal(worker.store.location, file);
  running = worker.run();

  client = await PlanRunnerClient.connect({ connectionSettings: TEMPORAL_CONNECTION, taskQueue, storeUrl: file });
  const id = runId('migrate');
  await client.start(plan('worker-migrate', [{ id: 'only' }]), { runId: id });
  openRun = id;
  // Without the migration the worker cannot record anything: fail here, with the store's error, not
  // on the update's timeout below.
  await eventually(async () => (await client!.events(id)).length > 0, 'the run-started records in the fresh store');

  const outcome = await client.submitResult(id, { nodeId: 'only', structuredOutput: { value: 1 } });
  assert.equal(outcome.nodeStatus, 'completed');
  const final = await client.result(id);
  assert.equal(final.status, 'completed');
  openRun = undefined;

  worker.shutdown();
  await running;
  worker = undefined;

  // Afterwards, through the store API: the whole run is there, and nothing was left to migrate.
  const store = await openStore(file);
  try {
    const events = await eventually(async () => {
      const listed = await store.listEvents(id);
      return listed.length === final.lastSeq ? listed : undefined;
    }, `the store to hold all ${final.lastSeq} events`);
    assert.deepEqual(events.map((e) => e.seq), Array.from({ length: final.lastSeq }, (_, i) => i + 1));
    assert.equal(events[0].type, 'run-started');
    assert.ok(events.some((e) => e.type === 'node-completed' && e.nodeId === 'only'));
    assert.equal((await store.getRun(id))?.status, 'completed');
    assert.equal((await store.getNodeRun(id, 'only'))?.status, 'completed');

    const current = Object.keys(storeMigrations('sqlite')).sort();
    const report = await store.migrate();
    assert.deepEqual(report.applied, [], 'the worker had applied every migration');
    assert.deepEqual([...report.current].sort(), current);
  } finally {
    await store.close();
  }

  // And the migrations table itself, read directly.
  const db = new LibsqlDatabase(file, { readonly: true });
  try {
    const rows = db.prepare(`select name from ${MIGRATION_TABLE} order by name`).all() as Array<{ name: string }>;
    assert.deepEqual(rows.map((row) => row.name), Object.keys(storeMigrations('sqlite')).sort());
  } finally {
    db.close();
  }
});
