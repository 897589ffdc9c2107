/**
 * Store errors that say which store failed and why, so "could not connect" names the database a
 * person has to fix (PLAN_STORE_URL without its password, or the SQLite file's path).
 */
import type { StoreDialect } from './types';

export class StoreError extends Error {
  constructor(
    message: string,
    readonly location: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** Error codes that mean "the database cannot be reached or opened", not "this query is wrong". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOENT',
  'ENOTDIR',
  'EISDIR',
  'EPIPE',
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name: the database does not exist
  '57P01', // admin_shutdown
  '57P02',
  '57P03', // cannot_connect_now (starting up)
  '53300', // too_many_connections
  'SQLITE_CANTOPEN',
  'SQLITE_NOTADB',
  'SQLITE_CORRUPT',
  'SQLITE_READONLY',
  'SQLITE_PERM',
  'SQLITE_AUTH',
  'SQLITE_IOERR',
]);

/** True for an error code that means the database cannot be reached or opened (PostgreSQL 08… too). */
export function isConnectionCode(code: string): boolean {
  return CONNECTION_CODES.has(code) || code.startsWith('08') || code.startsWith('SQLITE_IOERR');
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isConnectionError(error: unknown): boolean {
  if (error instanceof StoreError) return false;
  const code = codeOf(error);
  if (code && isConnectionCode(code)) return true;
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(message);
}

/** A readable reason: pg's connection refusals are AggregateErrors with an empty message. */
export function reasonOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    const reasons = [...new Set(error.errors.map(reasonOf))];
    return reasons.join('; ');
  }
  if (error instanceof Error) {
    const code = codeOf(error);
    const message = error.message || code || error.name;
    return code && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(error);
}

function hintFor(error: unknown, dialect: StoreDialect): string {
  const codes = error instanceof AggregateError ? error.errors.map(codeOf) : [codeOf(error)];
  if (dialect === 'postgres') {
    if (codes.includes('ECONNREFUSED')) return ' Is PostgreSQL running there? For a local one: ./temporal-dev.sh postgres start';
    if (codes.includes('3D000')) return ' Create the database first (createdb), or fix the database name in PLAN_STORE_URL.';
    if (codes.includes('28P01') || codes.includes('28000')) return ' Check the user and password in PLAN_STORE_URL.';
  }
  return '';
}

/** "Could not open the plan store at LOCATION: why" (with a hint when there is an obvious one). */
export function openError(dialect: StoreDialect, location: string, error: unknown): StoreError {
  const what = dialect === 'postgres' ? 'PostgreSQL' : 'SQLite';
  return new StoreError(`Could not open the plan store (${what}) at ${location}: ${reasonOf(error)}.${hintFor(error, dialect)}`, location, {
    cause: error,
  });
}

/** Adds the store's location to connection failures; other errors (bugs, constraint violations) pass unchanged. */
export function withLocation(dialect: StoreDialect, location: string, error: unknown): unknown {
  return isConnectionError(error) ? openError(dialect, location, error) : error;
}

/**
 * The message for a SQLite store file that is not there: what `plan-runner events` (and every other
 * read) says for a missing file, and what `plan-runner migrate` and the worker say when the file
 * cannot be created either (`cannotCreate` is why, e.g. its directory cannot be made). One text, so
 * the same mistake reads the same wherever it is made.
 */
export function noStoreMessage(location: string, cannotCreate?: string): string {
  const where = `no store at ${location}: nothing was recorded there`;
  const fix =
    "Run plan-runner in the worker's directory, or set PLAN_STORE_URL (or --store) to the store the worker writes to " +
    '(e.g. postgres://user:password@host:5432/db)';
  if (cannotCreate === undefined) return `${where}. ${fix}; \`plan-runner migrate\` creates an empty store.`;
  return `${where}, and none can be created there (${cannotCreate}). ${fix}.`;
}

/**
 * What a failed store write means for trying again:
 * - `rejected`: the database refused *these rows* (bad data, a constraint, a value too large). The
 *   same write fails the same way every time, so retrying it only holds the run up forever.
 * - `unavailable`: anything else (the database is down or busy, a deadlock, a table not migrated
 *   yet, an error we do not recognise): worth retrying, since nothing is lost by waiting.
 */
export type StoreFailureKind = 'rejected' | 'unavailable';

/** SQLite result codes (primary and extended) that reject the data itself. */
const SQLITE_REJECTED_CODES = ['SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_TOOBIG'];
/**
 * PostgreSQL SQLSTATE classes that reject the data itself: 22 data exception (22P02 invalid text,
 * 22P05 untranslatable character such as `\u0000` in jsonb, 22001 too long, …), 23 integrity
 * constraint violation (check, unique, foreign key, not null; also what a trigger raises with
 * `check_violation`) and 54 program limit exceeded (a row or value too large).
 */
const POSTGRES_REJECTED_CLASSES = ['22', '23', '54'];

/**
 * Classifies a failed store write (see `StoreFailureKind`). Looks through `cause` chains and
 * AggregateErrors: a connection problem anywhere in them makes the whole failure `unavailable`.
 */
export function storeFailureKind(error: unknown): StoreFailureKind {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  const collect = (item: unknown) => {
    if (item === null || item === undefined || seen.has(item)) return;
    seen.add(item);
    const code = codeOf(item);
    if (code) codes.push(code);
    if (item instanceof AggregateError) item.errors.forEach(collect);
    if (item instanceof Error) collect(item.cause);
  };
  collect(error);
  if (isConnectionError(error) || codes.some(isConnectionCode)) return 'unavailable';
  return codes.some(isRejectionCode) ? 'rejected' : 'unavailable';
}

/** True for a PostgreSQL SQLSTATE or SQLite code that rejects the data rather than the connection. */
export function isRejectionCode(code: string): boolean {
  if (code.startsWith('SQLITE_')) return SQLITE_REJECTED_CODES.some((prefix) => code === prefix || code.startsWith(`${prefix}_`));
  return /^[0-9A-Z]{5}$/.test(code) && POSTGRES_REJECTED_CLASSES.includes(code.slice(0, 2));
}
