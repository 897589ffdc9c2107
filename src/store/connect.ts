/**
 * Kysely instances for the two dialects.
 *
 * SQLite (libsql, better-sqlite3's API with prebuilt binaries):
 * - WAL journal, so readers (the CLI) never wait for the writer (the worker) and vice versa;
 * - `busy_timeout` 5 s, so a second process waits for the write lock instead of failing;
 * - every transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up front, so a
 *   transaction that reads (the run's last seq) and then writes can never fail half-way with
 *   SQLITE_BUSY when another process wrote in between (a DEFERRED transaction would);
 * - migrations run in a transaction too (SQLite's DDL is transactional, though Kysely's adapter says
 *   otherwise), so two processes migrating at once serialize on that write lock.
 *
 * PostgreSQL (pg.Pool): jsonb columns come back as JSON text (see json-codec.ts), and idle-client
 * errors are absorbed so a database restart does not crash the process (the next query reconnects).
 */
import LibsqlDatabase from 'libsql';
import { CompiledQuery, Kysely, PostgresDialect, SqliteAdapter, SqliteDialect, SqliteDriver, type DatabaseConnection, type DialectAdapter, type Driver, type SqliteDialectConfig } from 'kysely';
import type * as Pg from 'pg';
import type { PostgresStoreConfig, SqliteStoreConfig } from './config';
import type { Database } from './schema';
import { ensureStoreDirectory } from './files';

export const SQLITE_BUSY_TIMEOUT_MS = 5000;

export interface ConnectOptions {
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** PostgreSQL connect timeout (default 10 s). */
  connectTimeoutMs?: number;
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class StoreSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

function openSqliteFile(file: string, location: string): LibsqlDatabase.Database {
  // Fails at once (with the message `plan-runner events` gives) where the file can never be.
  if (file !== ':memory:') ensureStoreDirectory(file, location);
  const db = new LibsqlDatabase(file);
  try {
    // busy_timeout first: switching to WAL needs a lock another process may hold right now.
    db.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    if (file !== ':memory:') db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA foreign_keys = ON');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

export function connectSqlite(config: SqliteStoreConfig): Kysely<Database> {
  return new Kysely<Database>({
    dialect: new StoreSqliteDialect({ database: async () => openSqliteFile(config.file, config.location) }),
  });
}

const JSON_OIDS = new Set([114 /* json */, 3802 /* jsonb */]);

export function connectPostgres(config: PostgresStoreConfig, options: ConnectOptions = {}): Kysely<Database> {
  // pg (and its type parsers) only for a PostgreSQL store: a worker on SQLite never loads it (~20 ms).
  const pg = require('pg') as typeof Pg;
  const pool = new pg.Pool({
    connectionString: config.connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    // Keep JSON as text: one codec for both dialects, and a JSON string value stays distinguishable.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        JSON_OIDS.has(oid) ? (value: string) => value : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  pool.on('error', () => {
    // An idle client lost its connection (server restart, network). pg drops it from the pool; the
    // next query opens a new one, and fails with a clear error if the server is still gone.
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
