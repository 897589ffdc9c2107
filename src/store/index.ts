/**
 * The plan store: where the worker records every transition (runs, node runs, attempts, approvals,
 * checkpoints, events) and where the client, the CLI and the delivery activities read them.
 *
 *   const store = await openStore();            // PLAN_STORE_URL, else .data/plan-runner.db
 *   await store.migrate();                      // idempotent; the worker does it at start
 *   await store.recordTransitions(runId, records);
 */
import { parseStoreUrl, STORE_URL_VARIABLE, type StoreConfig } from './config';
import { connectPostgres, connectSqlite, type ConnectOptions } from './connect';
import { openError, StoreError } from './errors';
import { KyselyPlanStore } from './plan-store';
import type { PlanStore } from './types';
import { sqliteWriteLock } from './write-lock';

export * from './types';
export { parseStoreUrl, storeConfigFromEnv, redactPostgresUrl, DEFAULT_SQLITE_FILE, STORE_URL_VARIABLE } from './config';
export type { StoreConfig, SqliteStoreConfig, PostgresStoreConfig } from './config';
export { StoreError } from './errors';
export { KyselyPlanStore } from './plan-store';
export { TABLES } from './schema';
export type { StoredUser, StoredSession } from './identity';

export interface OpenStoreOptions extends ConnectOptions {
  /** Resolves relative SQLite paths (default: process.cwd()). */
  cwd?: string;
  /** Where `url` comes from when it is undefined (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Apply pending migrations right away (default false: the worker and `plan-runner migrate` do). */
  migrate?: boolean;
}

/**
 * Opens the store `url` names (default `$PLAN_STORE_URL`; unset → the SQLite file
 * `.data/plan-runner.db` under the working directory) and checks that it answers. An invalid URL or
 * a database that cannot be reached is an Error naming the store and the reason.
 */
export async function openStore(url?: string, options: OpenStoreOptions = {}): Promise<PlanStore> {
  const env = options.env ?? process.env;
  const config: StoreConfig = parseStoreUrl(url ?? env[STORE_URL_VARIABLE], options.cwd);
  let store: KyselyPlanStore;
  try {
    store =
      config.dialect === 'sqlite'
        ? new KyselyPlanStore({ dialect: 'sqlite', location: config.location, db: connectSqlite(config), writeLock: sqliteWriteLock(config.file) })
        : new KyselyPlanStore({ dialect: 'postgres', location: config.location, db: connectPostgres(config, options) });
  } catch (error) {
    throw openError(config.dialect, config.location, error);
  }
  try {
    await store.ping();
    if (options.migrate) await store.migrate();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error instanceof StoreError ? error : openError(config.dialect, config.location, error);
  }
  return store;
}
