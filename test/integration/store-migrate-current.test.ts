/**
 * `migrate()` on a store that is already current answers from one read of the bookkeeping table
 * (src/store/plan-store.ts, `appliedIfCurrent`), without Kysely's Migrator. These tests check that
 * the shortcut is taken only when it is right: a current store is left as it is (and no write lock
 * is taken), while a fresh store, a store some migrations behind and a store that lists a migration
 * this version does not know still go through the Migrator, with the results and messages they had
 * before. Real SQLite files in a temporary folder; nothing is mocked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import LibsqlDatabase from 'libsql';
import { KyselyPlanStore, openStore, type PlanStore } from '../../src/store';
import { MIGRATION_TABLE, storeMigrations } from '../../src/store/migrations';

const ALL_MIGRATIONS = Object.keys(storeMigrations('sqlite')).sort();
let dir: string;
const opened: PlanStore[] = [];

async function freshStore(): Promise<{ file: string; store: KyselyPlanStore }> {
  const file = path.join(dir, `${randomUUID().slice(0, 8)}.db`);
  const store = await openStore(file);
  opened.push(store);
  // KyselyPlanStore's migrate takes `to` (migrating part of the way), which the PlanStore interface does not.
  assert.ok(store instanceof KyselyPlanStore);
  return { file, store };
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-store-migrate-'));
});

after(async () => {
  for (const store of opened) await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a fresh store is migrated in full; a second migrate() reports it current and applies nothing', async () => {
  const { store } = await freshStore();
  assert.deepEqual(await store.migrate(), { applied: ALL_MIGRATIONS, current: ALL_MIGRATIONS });
  assert.deepEqual(await store.migrate(), { applied: [], current: ALL_MIGRATIONS });
});

test('a store some migrations behind still gets the ones it lacks', async () => {
  const { store } = await freshStore();
  const middle = ALL_MIGRATIONS[Math.floor(ALL_MIGRATIONS.length / 2)];
  await store.migrate({ to: middle });
  const report = await store.migrate();
  assert.deepEqual(report.applied, ALL_MIGRATIONS.slice(ALL_MIGRATIONS.indexOf(middle) + 1));
  assert.deepEqual(report.current, ALL_MIGRATIONS);
});

test('a current store is checked without the write lock: another process writing does not hold it up', async () => {
  const { file, store } = await freshStore();
  await store.migrate();
  // A second connection (as another process would) holds SQLite's write lock. The Migrator would
  // wait for it (busy_timeout, 5 s) and then fail; the read of a current store does not wait.
  const writer = new LibsqlDatabase(file);
  try {
    writer.exec('PRAGMA busy_timeout = 0');
    writer.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    assert.deepEqual(await store.migrate(), { applied: [], current: ALL_MIGRATIONS });
    assert.ok(performance.now() - started < 2000, 'migrate() of a current store did not wait for the write lock');
    writer.exec('ROLLBACK');
  } finally {
    writer.close();
  }
});

test('a store that lists a migration this version does not know still fails as before', async () => {
  const { file, store } = await freshStore();
  await store.migrate();
  const raw = new LibsqlDatabase(file);
  try {
    raw.prepare(`INSERT INTO ${MIGRATION_TABLE} (name, timestamp) VALUES (?, ?)`).run('9999-from-a-newer-version', new Date().toISOString());
  } finally {
    raw.close();
  }
  await assert.rejects(store.migrate(), /Could not migrate the plan store at .*9999-from-a-newer-version/s);
});
