/**
 * Where the store lives: `PLAN_STORE_URL` parsed into a dialect and its connection details.
 *
 * - unset or empty                          → SQLite file `.data/plan-runner.db` under the working directory
 * - `file:path`, `file:///abs/path`          → SQLite file (relative paths resolve against the working directory)
 * - `sqlite:path`, `sqlite:///abs/path`      → SQLite file
 * - a bare path (`./runs.db`, `/var/lib/x.db`) → SQLite file
 * - `:memory:`                              → an in-memory SQLite database (tests only: nothing is shared)
 * - `postgres://…`, `postgresql://…`        → PostgreSQL
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreDialect } from './types';

export const STORE_URL_VARIABLE = 'PLAN_STORE_URL';
export const DEFAULT_SQLITE_FILE = path.join('.data', 'plan-runner.db');

export interface SqliteStoreConfig {
  dialect: Extract<StoreDialect, 'sqlite'>;
  /** Absolute path of the database file, or `:memory:`. */
  file: string;
  /** What error messages and `PlanStore.location` show: the absolute file path. */
  location: string;
}

export interface PostgresStoreConfig {
  dialect: Extract<StoreDialect, 'postgres'>;
  /** The URL as given (with its password): pg needs it to connect. */
  connectionString: string;
  /** The URL without its password, safe to print and log. */
  location: string;
}

export type StoreConfig = SqliteStoreConfig | PostgresStoreConfig;

const ACCEPTED_FORMS =
  'unset (SQLite file .data/plan-runner.db), file:PATH, sqlite:PATH, a bare file path, ' +
  'postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE or postgresql://…';

/**
 * Parses a store URL (`PLAN_STORE_URL`'s value). Relative SQLite paths resolve against `cwd`.
 * Throws an Error naming the variable and the accepted forms when the value is not one of them.
 */
export function parseStoreUrl(value: string | undefined, cwd: string = process.cwd()): StoreConfig {
  const raw = (value ?? '').trim();
  if (raw === '') return sqlite(path.resolve(cwd, DEFAULT_SQLITE_FILE));
  if (raw === ':memory:') return { dialect: 'sqlite', file: ':memory:', location: ':memory:' };

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(raw)?.[1]?.toLowerCase();
  // A Windows drive letter (`C:\data\x.db`) looks like a one-letter scheme: it is a path.
  if (scheme === undefined || (scheme.length === 1 && /^[A-Za-z]:[\\/]/.test(raw))) return sqlite(path.resolve(cwd, raw));

  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return postgres(raw);
    case 'file':
    case 'sqlite':
      return sqlite(path.resolve(cwd, fileUrlPath(raw, scheme)));
    default:
      throw invalid(hideCredentials(raw), `the scheme "${scheme}:" is not supported`);
  }
}

/** The store configuration from the environment (`PLAN_STORE_URL`). */
export function storeConfigFromEnv(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): StoreConfig {
  return parseStoreUrl(env[STORE_URL_VARIABLE], cwd);
}

/** A PostgreSQL URL without its password (also drops a `password` query parameter). */
export function redactPostgresUrl(value: string): string {
  try {
    const url = new URL(value);
    url.password = '';
    url.searchParams.delete('password');
    return url.toString();
  } catch {
    // Unparseable: never show what may be credentials.
    return hideCredentials(value);
  }
}

function sqlite(file: string): SqliteStoreConfig {
  return { dialect: 'sqlite', file, location: file };
}

function postgres(raw: string): PostgresStoreConfig {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(redactPostgresUrl(raw), 'it is not a valid URL');
  }
  if (!url.hostname && !url.searchParams.get('host')) throw invalid(redactPostgresUrl(raw), 'it names no host');
  if (url.pathname.replace(/^\//, '') === '') throw invalid(redactPostgresUrl(raw), 'it names no database (…/DATABASE)');
  return { dialect: 'postgres', connectionString: raw, location: redactPostgresUrl(raw) };
}

/** The path part of `file:…` / `sqlite:…`: `file:///abs` and `file://localhost/abs` are URLs, `file:rel` is a path. */
function fileUrlPath(raw: string, scheme: string): string {
  const rest = raw.slice(scheme.length + 1);
  let result: string;
  if (rest.startsWith('//')) {
    try {
      result = fileURLToPath(`file:${rest}`);
    } catch (error) {
      throw invalid(raw, (error as Error).message);
    }
  } else {
    // `file:data/x.db?mode=rwc`: options are not supported; drop them rather than make them part of the name.
    result = decodeURIComponent(rest.replace(/[?#].*$/, ''));
  }
  if (result === '') throw invalid(raw, 'it names no file');
  return result;
}

/** Any `scheme://user:password@…` without the password, for error messages. */
function hideCredentials(value: string): string {
  return value.replace(/^([^:]+:\/\/[^:@/]*):[^@/]*@/, '$1@');
}

function invalid(shown: string, why: string): Error {
  return new Error(`${STORE_URL_VARIABLE}="${shown}" is not a valid store URL: ${why}. Accepted forms: ${ACCEPTED_FORMS}.`);
}
