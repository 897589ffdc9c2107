/**
 * Reads from the plan store (events, approvals, attempts, checkpoints, spec versions) for the client
 * library and the CLI. The store is what the worker records every transition into (docs/semantics.md §7, §10, §12): a SQLite
 * file by default (`.data/plan-runner.db` under the current directory), or PostgreSQL when
 * `PLAN_STORE_URL` is `postgres://…`. Temporal stays the source of truth of a *live* run (snapshot,
 * work items); the store keeps the history, also of finished runs, without any worker running.
 *
 * The store opens lazily on the first read, so code that only talks to Temporal never touches the
 * database. Every failure surfaces as a `PlanRunnerError` that names the store's location:
 * `StoreUnavailableError` (cannot open or reach it), `StoreSetupError` (no tables yet),
 * `RunNotFoundError` / `NodeNotFoundError` / `SpecVersionNotFoundError` (nothing recorded under that
 * id).
 */
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_SQLITE_FILE, parseStoreUrl, redactPostgresUrl } from '../store/config';
import { StoreError, isConnectionCode, noStoreMessage } from '../store/errors';
import { ensureStoreDirectory } from '../store/files';
import { FINISHED_RUN_STATUSES, type Checkpoint, type RunEvent, type RunStatus } from '../engine/types';
import type { PlanSpec } from '../engine/spec';
import type {
  ApprovalFilter,
  MigrationReport,
  PlanStore,
  StoreDialect,
  StoredApproval,
  StoredAttempt,
  StoredRun,
  StoredSpecVersion,
} from '../store/types';
import {
  NodeNotFoundError,
  PlanRunnerError,
  PlanValidationError,
  RunNotFoundError,
  SpecVersionNotFoundError,
  StoreSetupError,
  StoreUnavailableError,
} from './errors';

/** The SQLite file used when PLAN_STORE_URL is unset, relative to the current directory. */
export const DEFAULT_STORE_FILE = DEFAULT_SQLITE_FILE;

/** Events read per store query while paging through a run's log. */
const EVENT_PAGE = 1000;

export interface StoreTarget {
  dialect: StoreDialect;
  /** The SQLite file's absolute path (or `:memory:`), or the PostgreSQL URL without its password. */
  location: string;
  /** SQLite only: the database file (undefined for an in-memory database). */
  file?: string;
  /** Set when the URL is not a valid store URL (the store then never opens). */
  invalid?: string;
}

/**
 * Where a store URL points, without opening it (the store's own parser, `src/store/config.ts`):
 * unset or empty → the SQLite file `.data/plan-runner.db` under `cwd`; `postgres://` /
 * `postgresql://` → PostgreSQL (shown without its password); `file:…`, `sqlite:…` or a plain path →
 * a SQLite file. An invalid URL is reported in `invalid`, not thrown.
 */
export function storeTarget(url: string | undefined, cwd: string = process.cwd()): StoreTarget {
  try {
    const config = parseStoreUrl(url, cwd);
    if (config.dialect === 'postgres') return { dialect: 'postgres', location: config.location };
    return { dialect: 'sqlite', location: config.location, ...(config.file !== ':memory:' ? { file: config.file } : {}) };
  } catch (err) {
    const raw = (url ?? '').trim();
    return {
      dialect: /^postgres(ql)?:/i.test(raw) ? 'postgres' : 'sqlite',
      location: redactPostgresUrl(raw),
      invalid: err instanceof Error ? err.message : String(err),
    };
  }
}

/** How to point plan-runner at another store: appended to "cannot open" messages. */
const STORE_HINT =
  'To read another store, set PLAN_STORE_URL (or --store) to the one the worker writes to, e.g. ' +
  `postgres://user:password@host:5432/db, or unset it for the SQLite file ${DEFAULT_STORE_FILE} under the current directory.`;

function isStoreError(err: unknown): err is StoreError {
  return err instanceof StoreError || (err instanceof Error && err.name === 'StoreError' && 'location' in err);
}

/** `text` ending with a full stop. */
function sentence(text: string): string {
  return /[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`;
}


/** Every error in a cause chain (and in AggregateError lists), outermost first. */
function errorChain(err: unknown): unknown[] {
  const seen: unknown[] = [];
  const queue: unknown[] = [err];
  while (queue.length && seen.length < 20) {
    const current = queue.shift();
    if (!current || seen.includes(current)) continue;
    seen.push(current);
    if (typeof current === 'object') {
      const { cause, errors } = current as { cause?: unknown; errors?: unknown };
      if (cause) queue.push(cause);
      if (Array.isArray(errors)) queue.push(...errors);
    }
  }
  return seen;
}

function describe(err: unknown): string {
  const parts: string[] = [];
  for (const item of errorChain(err)) {
    const text = item instanceof Error ? item.message : typeof item === 'string' ? item : '';
    const code = (item as { code?: unknown })?.code;
    const piece = text || (typeof code === 'string' ? code : '');
    if (piece && !parts.some((part) => part.includes(piece))) parts.push(piece);
  }
  return parts.join(': ') || String(err);
}

/**
 * Map an error from opening or reading the store to a plan-runner error naming `location`:
 * connection and file problems → `StoreUnavailableError`, missing tables → `StoreSetupError`.
 * Anything else (a bug) is returned unchanged.
 */
export function translateStoreError(err: unknown, location: string): Error {
  if (err instanceof PlanRunnerError) return err;
  const storeError = isStoreError(err) ? err : undefined;
  const where = storeError?.location || location;
  const chain = errorChain(err);
  const codes = chain
    .map((item) => (item as { code?: unknown })?.code)
    .filter((code): code is string => typeof code === 'string');
  const text = describe(err);
  if (codes.includes('42P01') || /no such table|relation "[^"]+" does not exist/i.test(text)) {
    return new StoreSetupError(
      where,
      `the store at ${where} has no plan-runner tables yet (${text}): run plan-runner migrate. ${STORE_HINT}`,
      { cause: err },
    );
  }
  if (
    codes.some(isConnectionCode) ||
    /connect|connection|terminated|timeout|unable to open|not a database|password authentication|getaddrinfo/i.test(text)
  ) {
    const message = storeError
      ? `${sentence(storeError.message)} ${STORE_HINT}`
      : `cannot open the store at ${where} (${text}). ${STORE_HINT}`;
    return new StoreUnavailableError(where, message, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

export interface StoreReaderOptions {
  /** Store URL. Default `$PLAN_STORE_URL`; unset → the SQLite file `.data/plan-runner.db` under the cwd. */
  url?: string;
  /** An open store to read from instead (not closed by `close()`). */
  store?: PlanStore;
  /** Deadline of one read. Default 20000 ms. */
  timeoutMs?: number;
  /**
   * Opens a store (tests). Default: `openStore` of `src/store`, loaded on first use so code that never
   * reads the store never loads the database drivers.
   */
  open?: (url: string | undefined) => PlanStore | Promise<PlanStore>;
}

export interface EventsOptions {
  /** Only events with seq > sinceSeq (default 0: all). */
  sinceSeq?: number;
  /** At most this many events (the oldest first). */
  limit?: number;
}

export interface FollowEventsOptions {
  /** Start after this seq (default 0: the whole log first). */
  sinceSeq?: number;
  /** How often the store is polled for new events. Default 500 ms. */
  pollMs?: number;
  /** Stop (without an error) when this signal aborts, e.g. on Ctrl-C. */
  signal?: AbortSignal;
  /**
   * Run statuses that end the stream, once every event up to the run's last seq was yielded. Default
   * `completed` and `aborted`: the run is finished. A `failed` run stays open (a node can be
   * retried), so it is followed on unless `failed` is listed here.
   */
  endOn?: readonly RunStatus[];
  /**
   * How long to wait for a run the store does not know yet (e.g. one started a moment ago, before the
   * worker recorded its first step) before throwing `RunNotFoundError`. Default 0: at once.
   */
  waitForRunMs?: number;
}

export interface ApprovalsOptions {
  /** Only approvals still waiting for an answer. */
  pending?: boolean;
  /** Approvals WHO may answer (owner ref or named approver) or has answered. */
  by?: string;
  /** Only approvals of this run. */
  runId?: string;
  /** At most this many (newest request first). */
  limit?: number;
}

export interface MigrateResult extends MigrationReport {
  dialect: StoreDialect;
  location: string;
}

function checkCount(name: string, value: number | undefined, min: number): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new PlanValidationError([{ path: name, message: `must be a whole number ≥ ${min} (got ${value})` }], [], name);
  }
}

/** Lazily opened store plus the reads the client offers. One per `PlanRunnerClient`. */
export class StoreReader {
  readonly dialect: StoreDialect;
  private readonly url: string | undefined;
  private readonly target: StoreTarget;
  private readonly injected?: PlanStore;
  private readonly timeoutMs: number;
  private readonly openFn?: StoreReaderOptions['open'];
  private opening?: Promise<PlanStore>;
  private openedLocation?: string;

  constructor(options: StoreReaderOptions = {}) {
    this.injected = options.store;
    this.url = options.url ?? process.env.PLAN_STORE_URL;
    this.target = options.store
      ? { dialect: options.store.dialect, location: options.store.location }
      : storeTarget(this.url);
    this.dialect = this.target.dialect;
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.openFn = options.open;
  }

  /**
   * Where the store is: the SQLite file's absolute path or the PostgreSQL URL without its password.
   * Known before the store is opened; once open, the store's own account of it.
   */
  get location(): string {
    return this.injected?.location ?? this.openedLocation ?? this.target.location;
  }

  /** True once the store was opened (or one was injected). */
  get isOpen(): boolean {
    return this.injected !== undefined || this.opening !== undefined;
  }

  /**
   * The open store. Reads never create a SQLite file: a missing file is `StoreUnavailableError`
   * (nothing was recorded there). `create: true` (used by `migrate`) creates it and its directory.
   */
  async store(options: { create?: boolean } = {}): Promise<PlanStore> {
    if (this.injected) return this.injected;
    if (this.target.invalid) {
      throw new StoreUnavailableError(this.location, `${this.target.invalid} Set PLAN_STORE_URL (or --store) to one of them.`);
    }
    if (this.target.file && !fs.existsSync(this.target.file)) {
      if (!options.create) {
        throw new StoreUnavailableError(this.location, noStoreMessage(this.location));
      }
      try {
        ensureStoreDirectory(this.target.file, this.location);
      } catch (err) {
        throw new StoreUnavailableError(this.location, err instanceof Error ? err.message : String(err), { cause: err });
      }
    }
    this.opening ??= this.openStore().catch((err) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  private async openStore(): Promise<PlanStore> {
    try {
      let store: PlanStore;
      if (this.openFn) {
        store = await this.openFn(this.url);
      } else {
        const { openStore } = await import('../store');
        store = await openStore(this.url);
      }
      if (typeof store.location === 'string' && store.location) this.openedLocation = store.location;
      return store;
    } catch (err) {
      const translated = translateStoreError(err, this.location);
      if (translated instanceof PlanRunnerError) throw translated;
      throw new StoreUnavailableError(this.location, `cannot open the store at ${this.location} (${describe(err)}). ${STORE_HINT}`, {
        cause: err,
      });
    }
  }

  /** Close the store if this reader opened it. A later read opens it again. */
  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    if (!opening) return;
    const store = await opening.catch(() => undefined);
    await store?.close();
  }

  /** Run one read with the deadline, translating errors. */
  private async call<T>(read: (store: PlanStore) => Promise<T>, options: { timeout?: boolean; create?: boolean } = {}): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const work = (async () => read(await this.store({ create: options.create })))();
    try {
      if (options.timeout === false) return await work;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new StoreUnavailableError(
                this.location,
                `the store at ${this.location} did not answer within ${this.timeoutMs} ms: is the database up? ${STORE_HINT}`,
              ),
            ),
          this.timeoutMs,
        );
      });
      return await Promise.race([work, deadline]);
    } catch (err) {
      throw translateStoreError(err, this.location);
    } finally {
      if (timer) clearTimeout(timer);
      work.catch(() => undefined);
    }
  }

  private notFound(runId: string): RunNotFoundError {
    return new RunNotFoundError(runId, '', { store: this.location });
  }

  /** The run's row, or `RunNotFoundError` naming the store. */
  async run(runId: string): Promise<StoredRun> {
    const run = await this.call((store) => store.getRun(runId));
    if (!run) throw this.notFound(runId);
    return run;
  }

  /** The run's events in seq order (after `sinceSeq`, at most `limit`). */
  async events(runId: string, options: EventsOptions = {}): Promise<RunEvent[]> {
    checkCount('sinceSeq', options.sinceSeq, 0);
    checkCount('limit', options.limit, 1);
    const events = await this.call((store) =>
      store.listEvents(runId, {
        ...(options.sinceSeq !== undefined ? { afterSeq: options.sinceSeq } : {}),
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
      }),
    );
    if (events.length === 0) await this.run(runId);
    return events;
  }

  /**
   * The run's events as they are recorded, in seq order, polling the store every `pollMs`. Ends when
   * the run's status is one of `endOn` (default: finished, i.e. `completed` or `aborted`) and every
   * event up to its last seq was yielded, or quietly when `signal` aborts. A run unknown to the store
   * throws `RunNotFoundError` (after waiting up to `waitForRunMs` for it to appear).
   */
  async *followEvents(runId: string, options: FollowEventsOptions = {}): AsyncGenerator<RunEvent, void, undefined> {
    checkCount('sinceSeq', options.sinceSeq, 0);
    const pollMs = options.pollMs ?? 500;
    if (!(pollMs > 0)) throw new PlanValidationError([{ path: 'pollMs', message: 'must be > 0' }], [], 'pollMs');
    const endOn = options.endOn ?? FINISHED_RUN_STATUSES;
    const signal = options.signal;
    let after = options.sinceSeq ?? 0;
    const waitUntil = Date.now() + (options.waitForRunMs ?? 0);
    let seen = false;
    while (!signal?.aborted) {
      // The run row first: events are written in the same transaction as the row, so every event up to
      // the row's lastSeq is readable by the time the events are listed below.
      const run = await this.call((store) => store.getRun(runId));
      if (!run) {
        if (seen || Date.now() + pollMs > waitUntil) throw this.notFound(runId);
        if (!(await this.pause(pollMs, signal))) return;
        continue;
      }
      seen = true;
      for (;;) {
        const page = await this.call((store) => store.listEvents(runId, { afterSeq: after, limit: EVENT_PAGE }));
        for (const event of page) {
          if (signal?.aborted) return;
          if (event.seq <= after) continue;
          yield event;
          after = event.seq;
        }
        if (page.length < EVENT_PAGE) break;
      }
      if (endOn.includes(run.status) && after >= run.lastSeq) return;
      if (!(await this.pause(pollMs, signal))) return;
    }
  }

  /** Sleep `ms`; false when `signal` aborted (at once, or during the sleep). */
  private async pause(ms: number, signal?: AbortSignal): Promise<boolean> {
    try {
      await sleep(ms, undefined, signal ? { signal } : undefined);
      return !signal?.aborted;
    } catch (err) {
      if (signal?.aborted) return false;
      throw err;
    }
  }

  /** Approvals across runs, newest request first. */
  async approvals(options: ApprovalsOptions = {}): Promise<StoredApproval[]> {
    checkCount('limit', options.limit, 1);
    const filter: ApprovalFilter = {};
    if (options.pending) filter.pending = true;
    if (options.by !== undefined) filter.by = options.by;
    if (options.runId !== undefined) filter.runId = options.runId;
    if (options.limit !== undefined) filter.limit = options.limit;
    return this.call((store) => store.listApprovals(filter));
  }

  /** A node's attempts in order, each with its issues and artifacts. */
  async attempts(runId: string, nodeId: string): Promise<StoredAttempt[]> {
    const attempts = await this.call((store) => store.listAttempts(runId, nodeId));
    if (attempts.length === 0) {
      await this.run(runId);
      // The plan's nodes (the current spec), not only those that have started: a node not reached yet
      // exists and simply has no attempts.
      const spec = await this.call((store) => store.getSpec(runId)).catch(() => undefined);
      const nodes = await this.call((store) => store.listNodeRuns(runId));
      const nodeIds = Array.isArray(spec?.nodes) ? spec.nodes.map((node) => node.id) : nodes.map((node) => node.nodeId);
      if (!nodeIds.includes(nodeId) && !nodes.some((node) => node.nodeId === nodeId)) {
        throw new NodeNotFoundError(runId, nodeId, nodeIds);
      }
    }
    return attempts;
  }

  /** The run's checkpoints in sequence order (docs/semantics.md §10). */
  async checkpoints(runId: string): Promise<Checkpoint[]> {
    const checkpoints = await this.call((store) => store.listCheckpoints(runId));
    if (checkpoints.length === 0) await this.run(runId);
    return checkpoints;
  }

  /**
   * The run's spec versions, oldest first (docs/semantics.md §11): the spec it started with (1) and each replan's,
   * with when the store first recorded it.
   */
  async specVersions(runId: string): Promise<StoredSpecVersion[]> {
    const versions = await this.call((store) => store.listSpecVersions(runId));
    if (versions.length === 0) await this.run(runId);
    return versions;
  }

  /**
   * One spec of the run: `version`, or without it the current one (the one it started with, or its
   * last replan's). `RunNotFoundError` for an unknown run, `SpecVersionNotFoundError` for a version
   * the run never had.
   */
  async spec(runId: string, version?: number): Promise<PlanSpec> {
    checkCount('version', version, 1);
    const spec = await this.call((store) => store.getSpec(runId, version));
    if (spec) return spec;
    const run = await this.run(runId);
    const versions = await this.call((store) => store.listSpecVersions(runId));
    throw new SpecVersionNotFoundError(
      runId,
      version ?? run.specVersion,
      versions.map((v) => v.specVersion),
    );
  }

  /** Apply pending migrations (creating the SQLite file if needed). */
  async migrate(): Promise<MigrateResult> {
    const report = await this.call((store) => store.migrate(), { timeout: false, create: true });
    const store = await this.store({ create: true });
    return { dialect: store.dialect, location: store.location, applied: report.applied, current: report.current };
  }
}
