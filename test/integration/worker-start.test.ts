/**
 * `createPlanWorker` opens and migrates the store, connects to Temporal and (for `runWorker`) checks
 * the search attributes at the same time (src/worker/index.ts). These tests check that a failure
 * still says what it said when the steps ran one after the other: a bad store URL before anything
 * connects, a store that cannot be opened ahead of a Temporal that cannot be reached, and Temporal
 * unreachable with a good store. And that a worker started from an unmigrated store file migrates
 * it (the shortcut for a current store must not skip that) and one started on a current store polls.
 * Real SQLite files, the real dev server (TEMPORAL_ADDRESS) where a test connects; nothing is mocked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TemporalUnavailableError } from '../../src/client/errors';
import { openStore, parseStoreUrl } from '../../src/store';
import { storeMigrations } from '../../src/store/migrations';
import { createPlanWorker } from '../../src/worker';
import { TEMPORAL_CONNECTION, testDelivery, testTaskQueue, workflowBundle } from './harness';

const ALL_MIGRATIONS = Object.keys(storeMigrations('sqlite')).sort();
/** A port nothing listens on: connecting fails at once (refused). */
const UNREACHABLE = '127.0.0.1:1';
let dir: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-worker-start-'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The message `fn` rejects with. */
async function failure(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof Error, `an Error, not ${String(error)}`);
    return error;
  }
  assert.fail('it should have failed');
}

test('an unusable store URL fails with the URL parser\'s message, whatever Temporal would say', async () => {
  const url = 'mysql://db.example/plans';
  const expected = await failure(async () => parseStoreUrl(url));
  const error = await failure(() => createPlanWorker({ address: UNREACHABLE, storeUrl: url, delivery: testDelivery(), taskQueue: 'unused' }));
  assert.equal(error.message, expected.message);
});

test('a store that cannot be opened is reported ahead of a Temporal that cannot be reached', async () => {
  // A file where the store's directory would have to be: the directory can never be created.
  const blocker = path.join(dir, 'not-a-directory');
  fs.writeFileSync(blocker, '');
  const url = path.join(blocker, 'store.db');
  const expected = await failure(() => openStore(url));
  const error = await failure(() => createPlanWorker({ address: UNREACHABLE, storeUrl: url, delivery: testDelivery(), taskQueue: 'unused' }));
  assert.equal(error.message, expected.message);
});

test('a good store and a Temporal that cannot be reached: the connection failure, explained', async () => {
  const url = path.join(dir, 'good.db');
  const error = await failure(() => createPlanWorker({ address: UNREACHABLE, storeUrl: url, delivery: testDelivery(), taskQueue: 'unused' }));
  assert.ok(error instanceof TemporalUnavailableError, `a TemporalUnavailableError, not ${error.name}: ${error.message}`);
});

test('a worker on an unmigrated store file migrates it; the next worker on it finds it current and polls', async () => {
  const url = path.join(dir, 'unmigrated.db');
  for (const round of [1, 2]) {
    const worker = await createPlanWorker({
      connectionSettings: TEMPORAL_CONNECTION,
      storeUrl: url,
      delivery: testDelivery(),
      taskQueue: testTaskQueue(`test-worker-start-${round}`),
      workflowBundle: await workflowBundle(),
      checkSearchAttributes: true,
    });
    const running = worker.run();
    worker.shutdown();
    await running;
  }
  const store = await openStore(url);
  try {
    assert.deepEqual(await store.migrate(), { applied: [], current: ALL_MIGRATIONS });
  } finally {
    await store.close();
  }
});
