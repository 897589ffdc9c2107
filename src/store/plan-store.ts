/**
 * The PlanStore on Kysely: one implementation for SQLite and PostgreSQL.
 *
 * Writes are idempotent on (run id, event seq). `recordTransitions` runs in ONE transaction that
 * first makes sure the run's row exists, then locks it (PostgreSQL: `SELECT … FOR UPDATE`; SQLite:
 * the write lock `BEGIN IMMEDIATE` took) and reads `last_seq`, the highest event seq stored. A record
 * whose events are all at or below it was written before (a retried activity, a replayed workflow)
 * and is skipped as a whole; the others are written together, one statement per table (see
 * `writeRecords`), with inserts that ignore rows already present and upserts of the node runs and
 * approvals they changed. Two callers writing the same batch at once (two workers after a timeout)
 * queue on the row lock: the second finds `last_seq` moved and skips.
 */
import { Migrator, sql, type Expression, type Insertable, type Kysely, type SqlBool, type Transaction } from 'kysely';
import type { PlanNode, PlanSpec, RunEvent, TransitionRecord, Checkpoint } from '../engine';
import { isConnectionError, StoreError, withLocation } from './errors';
import { decodeJson, encodeJson } from './json-codec';
import { deleteSession, insertSession, insertUser, revokeUser, selectSession, selectUserByTokenHash, selectUsers, type StoredSession, type StoredUser } from './identity';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, migrationProvider, storeMigrations } from './migrations';
import {
  approvalRow,
  artifactRows,
  attemptRow,
  checkpointRow,
  eventRow,
  issueRows,
  nodeRunRow,
  runRow,
  runSpecRow,
  storedApproval,
  storedArtifact,
  storedAttempt,
  storedCheckpoint,
  storedEvent,
  storedIssue,
  storedNodeRun,
  storedRun,
  storedSpecVersion,
} from './rows';
import type { ApprovalsTable, Database, NodeRunsTable } from './schema';
import type {
  ApprovalFilter,
  EventRange,
  MigrationReport,
  PlanStore,
  RecordResult,
  SinkStatus,
  StoreDialect,
  ChangedRun,
  StoredApproval,
  StoredAttempt,
  StoredNodeRun,
  StoredRun,
  StoredSpecVersion,
} from './types';
import type { Mutex } from './write-lock';

/**
 * Bound parameters per INSERT: half SQLite's limit (32766), a quarter of PostgreSQL's (65535). A
 * batch's rows of one table then go in one statement (a batch of 50 records has some 250 events of
 * 15 columns), and the start of a 1,000-node run writes its node runs in two.
 */
const MAX_PARAMETERS = 16_000;
/** Transient failures (a deadlock, a busy SQLite file past its timeout) are retried this often. */
const MAX_TRIES = 4;

const RUN_COLUMNS = [
  'run_id',
  'plan_id',
  'title',
  'spec_version',
  'status',
  'input',
  'failure_count',
  'checkpoint_sequence',
  'last_seq',
  'started_at',
  'updated_at',
  'finished_at',
  'cancelled_by',
  'cancel_reason',
  'parent_run_id',
] as const;

const NODE_RUN_UPDATE_COLUMNS = [
  'position',
  'type',
  'status',
  'attempts',
  'current_attempt',
  'resolved_input',
  'output',
  'notes',
  'handoff_context',
  'failure_class',
  'last_issues',
  'approval_id',
  'scheduled_until',
  'started_at',
  'finished_at',
  'iteration',
  'instance_of',
  'instance_index',
  'child_run_id',
] as const;

const APPROVAL_UPDATE_COLUMNS = [
  'node_id',
  'attempt',
  'kind',
  'owner_kind',
  'owner_ref',
  'approvers',
  'status',
  'requested_at',
  'resolved_at',
  'responded_by',
  'response',
  'issues',
  'quorum',
  'votes',
] as const;

/**
 * Fails to compile when a column of `Table` other than its key is missing from `Updated`. A batch
 * sends only the last row of a key (see `writeRecords`), which leaves what the rows one after the
 * other would only if the upsert replaces every column.
 */
type EveryColumnUpdated<Table, Key extends keyof Table, Updated extends keyof Table> = [Exclude<keyof Table, Key | Updated>] extends [never] ? true : never;
const NODE_RUNS_UPDATED: EveryColumnUpdated<NodeRunsTable, 'run_id' | 'node_id', (typeof NODE_RUN_UPDATE_COLUMNS)[number]> = true;
const APPROVALS_UPDATED: EveryColumnUpdated<ApprovalsTable, 'run_id' | 'approval_id', (typeof APPROVAL_UPDATE_COLUMNS)[number]> = true;
void NODE_RUNS_UPDATED;
void APPROVALS_UPDATED;

export interface KyselyPlanStoreOptions {
  dialect: StoreDialect;
  location: string;
  db: Kysely<Database>;
  /** SQLite: the process-wide write lock of the file (see write-lock.ts). */
  writeLock?: Mutex;
}

export class KyselyPlanStore implements PlanStore {
  readonly dialect: StoreDialect;
  readonly location: string;
  private readonly db: Kysely<Database>;
  private readonly writeLock?: Mutex;
  private closed = false;

  constructor(options: KyselyPlanStoreOptions) {
    this.dialect = options.dialect;
    this.location = options.location;
    this.db = options.db;
    this.writeLock = options.writeLock;
  }

  // ---- setup -------------------------------------------------------------------------------------

  /** Checks that the database answers (used by `openStore`). */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /**
   * Applies pending migrations, all of them or (`to`) up to and including the one named: for tests
   * and for checking an upgrade step by step. It never migrates down: a `to` older than what the
   * store has applied is an error, as is an unknown name.
   */
  async migrate(options: { to?: string } = {}): Promise<MigrationReport> {
    // Every worker start and `plan-runner migrate` come here, and almost always the store is already
    // current: one read of the bookkeeping table says so without Kysely's Migrator, which checks and
    // creates its tables, takes its lock and reads the list twice (~15 ms of a worker's start on
    // SQLite, a few round trips on PostgreSQL). Anything but exactly this version's migrations (no
    // table yet, one missing, one this version does not know) goes the Migrator's way below, which
    // applies what is pending or fails with the same messages as before.
    if (options.to === undefined) {
      const current = await this.guard(() => this.appliedIfCurrent());
      if (current) return { applied: [], current };
    }
    return this.guard(() =>
      this.write(async () => {
        const migrator = new Migrator({
          db: this.db,
          provider: migrationProvider(this.dialect),
          migrationTableName: MIGRATION_TABLE,
          migrationLockTableName: MIGRATION_LOCK_TABLE,
        });
        const target = options.to;
        if (target !== undefined) {
          const known = await migrator.getMigrations();
          const index = known.findIndex((m) => m.name === target);
          if (index < 0) {
            throw new StoreError(`No migration named ${target} (known: ${known.map((m) => m.name).join(', ')}).`, this.location);
          }
          const later = known.slice(index + 1).find((m) => m.executedAt !== undefined);
          if (later) {
            throw new StoreError(`The plan store at ${this.location} already has ${later.name}: it is never migrated down to ${target}.`, this.location);
          }
        }
        // Two processes migrating at once serialize on Kysely's lock (PostgreSQL: an advisory lock;
        // SQLite: the immediate transaction). What can still race is creating Kysely's own
        // bookkeeping tables, which Kysely re-checks; a retry covers anything left.
        let lastError: unknown;
        for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
          const { error, results = [] } = target === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(target);
          if (!error) {
            const current = (await migrator.getMigrations()).filter((m) => m.executedAt !== undefined).map((m) => m.name);
            return { applied: results.filter((r) => r.status === 'Success').map((r) => r.migrationName), current };
          }
          lastError = error;
          if (isConnectionError(error)) break;
          await sleep(50 * attempt);
        }
        throw this.failure(`Could not migrate the plan store at ${this.location}`, lastError);
      }),
    );
  }

  /**
   * The names of the applied migrations when they are exactly this version's (every one, no other);
   * undefined otherwise, or when the table cannot be read (not created yet, the database down: the
   * Migrator then says what is wrong). A read only: it takes no lock and writes nothing.
   */
  private async appliedIfCurrent(): Promise<string[] | undefined> {
    const known = Object.keys(storeMigrations(this.dialect)).sort();
    let applied: string[];
    try {
      const { rows } = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(this.db);
      applied = rows.map((row) => row.name).sort();
    } catch {
      return undefined;
    }
    return applied.length === known.length && applied.every((name, i) => name === known[i]) ? applied : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }

  // ---- the write path ----------------------------------------------------------------------------

  async recordTransitions(runId: string, records: TransitionRecord[]): Promise<RecordResult> {
    for (const record of records) {
      if (record.run.runId !== runId) throw new Error(`recordTransitions(${runId}): a record belongs to run ${record.run.runId}`);
      const stray = record.events.find((event) => event.runId !== runId);
      if (stray) throw new Error(`recordTransitions(${runId}): event ${stray.id} belongs to run ${stray.runId}`);
    }
    if (records.length === 0) {
      const run = await this.getRun(runId);
      return { lastSeq: run?.lastSeq ?? 0, written: 0, skipped: 0 };
    }
    return this.guard(() => this.write(() => this.retrying(() => this.db.transaction().execute((trx) => this.recordIn(trx, runId, records)))));
  }

  private async recordIn(trx: Transaction<Database>, runId: string, records: TransitionRecord[]): Promise<RecordResult> {
    // The row must exist before it can be locked. A concurrent inserter makes this wait for its
    // commit (unique key), then do nothing.
    await trx
      .insertInto('runs')
      .values({ ...runRow(records[0].run), last_seq: 0, spec: null })
      .onConflict((oc) => oc.column('run_id').doNothing())
      .execute();
    let watermark = trx.selectFrom('runs').select('last_seq').where('run_id', '=', runId);
    if (this.dialect === 'postgres') watermark = watermark.forUpdate();
    let lastSeq = (await watermark.executeTakeFirstOrThrow()).last_seq;

    // Which records to write is decided first, record by record, exactly as when each was written
    // on its own: a record is new when its highest seq is above the highest seq written so far.
    const toWrite: TransitionRecord[] = [];
    let skipped = 0;
    for (const record of records) {
      const top = highestSeq(record);
      if (top <= lastSeq) {
        skipped++;
        continue;
      }
      toWrite.push(record);
      lastSeq = top;
    }
    if (toWrite.length > 0) await this.writeRecords(trx, runId, toWrite, lastSeq);
    return { lastSeq, written: toWrite.length, skipped };
  }

  /**
   * Writes `records` (in seq order, all new) with one statement per table, per chunk of rows, instead
   * of one per table per record: a batch of 50 records was about 250 statements, it is now about 7.
   * The rows are the ones writing the records one after the other would leave:
   *
   * - `runs` takes the last record's row and seq (each record's update replaced the one before) and
   *   the last spec any of them carried;
   * - node runs and approvals are upserts that replace every column (NODE_RUN_UPDATE_COLUMNS and
   *   APPROVAL_UPDATE_COLUMNS are checked to cover the table below), so the last row of a key is
   *   what the key ends up as. Only that row is sent: PostgreSQL refuses an `ON CONFLICT DO UPDATE`
   *   that touches one key twice ("command cannot affect row a second time");
   * - attempts, issues, artifacts, checkpoints, events and spec versions are inserts that ignore a
   *   row whose key is there. Both databases apply the rows of one statement in order, a row
   *   conflicting with an earlier row of the same statement included (SQLite row by row; PostgreSQL's
   *   `DO NOTHING` checks the rows the statement inserted too), so the first row of a key wins, as it
   *   did across statements. No deduplication here: that would also have to know every unique key
   *   (events have two) and the rows already stored to be exact;
   * - a record carrying a spec with nodes deletes the node runs of nodes the spec no longer has,
   *   including those the batch's earlier records wrote, but not those of later records. So node
   *   runs go in segments: the rows before such a record, the delete, the rows from it on. Only
   *   node runs need that: no other table is touched by the delete (nothing references node_runs).
   */
  private async writeRecords(trx: Transaction<Database>, runId: string, records: readonly TransitionRecord[], top: number): Promise<void> {
    const last = records[records.length - 1];
    const spec = records.reduce<PlanSpec | undefined>((latest, record) => record.run.spec ?? latest, undefined);
    await trx
      .updateTable('runs')
      .set({ ...runRow(last.run), last_seq: top, ...(spec ? { spec: encodeJson(spec) } : {}) })
      .where('run_id', '=', runId)
      // Never backwards, even if a caller hands records out of order.
      .where('last_seq', '<=', top)
      .execute();

    // Every version stays readable after a replan replaces runs.spec. The first record of a version
    // wins: a later one carrying the same version (a replayed or continued execution) changes nothing.
    const specRows = records.flatMap((record) => (record.run.spec ? [runSpecRow(runId, record.run, record.run.spec)] : []));
    for (const rows of chunks(specRows)) {
      await trx
        .insertInto('run_specs')
        .values(rows)
        .onConflict((oc) => oc.columns(['run_id', 'spec_version']).doNothing())
        .execute();
    }

    // Node runs by key, the last row of a key winning, up to the next record that carries a spec.
    let nodeRuns = new Map<string, Insertable<NodeRunsTable>>();
    for (const record of records) {
      const recordSpec = record.run.spec;
      if (recordSpec && recordSpec.nodes.length > 0) {
        await this.upsertNodeRuns(trx, [...nodeRuns.values()]);
        nodeRuns = new Map();
        // A new spec (start, or a replan's continue-as-new) defines the node set: node runs of nodes
        // it no longer has would otherwise linger in listNodeRuns. Their attempts and events stay. The
        // instances of a node it still has stay too (a fan-out goes on across continue-as-new).
        const nodeIds = recordSpec.nodes.map((node) => node.id);
        await trx
          .deleteFrom('node_runs')
          .where('run_id', '=', runId)
          .where('node_id', 'not in', nodeIds)
          .where((eb) => eb.or([eb('instance_of', 'is', null), eb('instance_of', 'not in', nodeIds)]))
          .execute();
      }
      for (const node of record.nodes) nodeRuns.set(node.nodeId, nodeRunRow(runId, node));
    }
    await this.upsertNodeRuns(trx, [...nodeRuns.values()]);

    // Attempts are immutable once recorded: insert, ignore what is there. Attempts before their
    // issues and artifacts, which reference them.
    const attempts = records.flatMap((record) => record.attempts);
    for (const rows of chunks(attempts.map((attempt) => attemptRow(runId, attempt)))) {
      await trx.insertInto('attempts').values(rows).onConflict((oc) => oc.doNothing()).execute();
    }
    for (const rows of chunks(attempts.flatMap((attempt) => issueRows(runId, attempt)))) {
      await trx.insertInto('validation_issues').values(rows).onConflict((oc) => oc.doNothing()).execute();
    }
    for (const rows of chunks(attempts.flatMap((attempt) => artifactRows(runId, attempt)))) {
      await trx.insertInto('artifacts').values(rows).onConflict((oc) => oc.doNothing()).execute();
    }

    const approvals = new Map<string, Insertable<ApprovalsTable>>();
    for (const record of records) for (const approval of record.approvals) approvals.set(approval.approvalId, approvalRow(runId, approval));
    for (const rows of chunks([...approvals.values()])) {
      await trx
        .insertInto('approvals')
        .values(rows)
        .onConflict((oc) => oc.columns(['run_id', 'approval_id']).doUpdateSet(excluded(APPROVAL_UPDATE_COLUMNS)))
        .execute();
    }

    const checkpoints = records.flatMap((record) => (record.checkpoint ? [checkpointRow(runId, record.checkpoint)] : []));
    for (const rows of chunks(checkpoints)) {
      await trx.insertInto('checkpoints').values(rows).onConflict((oc) => oc.doNothing()).execute();
    }
    for (const rows of chunks(records.flatMap((record) => record.events.map(eventRow)))) {
      await trx.insertInto('events').values(rows).onConflict((oc) => oc.doNothing()).execute();
    }
  }

  /** Upserts node runs, at most one row per node (see `writeRecords`). */
  private async upsertNodeRuns(trx: Transaction<Database>, nodeRuns: Array<Insertable<NodeRunsTable>>): Promise<void> {
    for (const rows of chunks(nodeRuns)) {
      await trx
        .insertInto('node_runs')
        .values(rows)
        .onConflict((oc) => oc.columns(['run_id', 'node_id']).doUpdateSet(excluded(NODE_RUN_UPDATE_COLUMNS)))
        .execute();
    }
  }

  // ---- reads -------------------------------------------------------------------------------------

  async getRun(runId: string): Promise<StoredRun | undefined> {
    return this.guard(async () => {
      const row = await this.db.selectFrom('runs').select(RUN_COLUMNS).where('run_id', '=', runId).executeTakeFirst();
      return row ? storedRun(row) : undefined;
    });
  }

  async listActiveRunsChangedSince(since: string, limit: number): Promise<ChangedRun[]> {
    return this.guard(async () => {
      const rows = await this.db
        .selectFrom('runs')
        .select(['run_id', 'spec_version', 'updated_at'])
        .where('status', 'in', ['running', 'awaiting-human', 'blocked'])
        .where('updated_at', '>=', since)
        .orderBy('updated_at')
        .limit(limit)
        .execute();
      return rows.map((row) => ({ runId: row.run_id, specVersion: row.spec_version, updatedAt: row.updated_at }));
    });
  }

  async getSpec(runId: string, version?: number): Promise<PlanSpec | undefined> {
    return this.guard(async () => {
      if (version === undefined) {
        const row = await this.db.selectFrom('runs').select('spec').where('run_id', '=', runId).executeTakeFirst();
        return decodeJson<PlanSpec>(row?.spec);
      }
      const row = await this.db
        .selectFrom('run_specs')
        .select('spec')
        .where('run_id', '=', runId)
        .where('spec_version', '=', version)
        .executeTakeFirst();
      return decodeJson<PlanSpec>(row?.spec);
    });
  }

  async listSpecVersions(runId: string): Promise<StoredSpecVersion[]> {
    return this.guard(async () => {
      const rows = await this.db.selectFrom('run_specs').selectAll().where('run_id', '=', runId).orderBy('spec_version').execute();
      return rows.map(storedSpecVersion);
    });
  }

  async getPlanNode(runId: string, nodeId: string): Promise<PlanNode | undefined> {
    const spec = await this.getSpec(runId);
    return spec?.nodes.find((node) => node.id === nodeId);
  }

  async getNodeRun(runId: string, nodeId: string): Promise<StoredNodeRun | undefined> {
    return this.guard(async () => {
      const row = await this.db.selectFrom('node_runs').selectAll().where('run_id', '=', runId).where('node_id', '=', nodeId).executeTakeFirst();
      return row ? storedNodeRun(row) : undefined;
    });
  }

  async listNodeRuns(runId: string): Promise<StoredNodeRun[]> {
    return this.guard(async () => {
      const rows = await this.db.selectFrom('node_runs').selectAll().where('run_id', '=', runId).orderBy('position').orderBy('instance_index').orderBy('node_id').execute();
      return rows.map(storedNodeRun);
    });
  }

  async listEvents(runId: string, range: EventRange = {}): Promise<RunEvent[]> {
    return this.guard(async () => {
      let query = this.db
        .selectFrom('events')
        .selectAll()
        .where('run_id', '=', runId)
        .where('seq', '>', range.afterSeq ?? 0)
        .orderBy('seq');
      if (range.uptoSeq !== undefined) query = query.where('seq', '<=', range.uptoSeq);
      if (range.limit !== undefined) query = query.limit(range.limit);
      return (await query.execute()).map(storedEvent);
    });
  }

  async listAttempts(runId: string, nodeId: string): Promise<StoredAttempt[]> {
    return this.guard(async () => {
      const [attempts, issues, artifacts] = await Promise.all([
        this.db.selectFrom('attempts').selectAll().where('run_id', '=', runId).where('node_id', '=', nodeId).orderBy('attempt').execute(),
        this.db
          .selectFrom('validation_issues')
          .selectAll()
          .where('run_id', '=', runId)
          .where('node_id', '=', nodeId)
          .orderBy('attempt')
          .orderBy('idx')
          .execute(),
        this.db.selectFrom('artifacts').selectAll().where('run_id', '=', runId).where('node_id', '=', nodeId).orderBy('attempt').orderBy('idx').execute(),
      ]);
      return attempts.map((row) =>
        storedAttempt(
          row,
          issues.filter((issue) => issue.attempt === row.attempt).map(storedIssue),
          artifacts.filter((artifact) => artifact.attempt === row.attempt).map(storedArtifact),
        ),
      );
    });
  }

  async listApprovals(filter: ApprovalFilter = {}): Promise<StoredApproval[]> {
    return this.guard(async () => {
      let query = this.db.selectFrom('approvals').selectAll();
      if (filter.runId !== undefined) query = query.where('run_id', '=', filter.runId);
      if (filter.pending) query = query.where('status', '=', 'pending');
      const by = filter.by;
      if (by !== undefined) {
        query = query.where((eb) => eb.or([eb('owner_ref', '=', by), eb('responded_by', '=', by), this.approversInclude(by)]));
      }
      query = query.orderBy('requested_at', 'desc').orderBy('run_id').orderBy('approval_id');
      if (filter.limit !== undefined) query = query.limit(filter.limit);
      return (await query.execute()).map(storedApproval);
    });
  }

  /** `approvers` (a JSON array of strings) contains `who`, exactly. */
  private approversInclude(who: string): Expression<SqlBool> {
    if (this.dialect === 'postgres') return sql<SqlBool>`${sql.ref('approvers')} @> ${JSON.stringify([who])}::jsonb`;
    return sql<SqlBool>`exists (select 1 from json_each(${sql.ref('approvals.approvers')}) where json_each.value = ${who})`;
  }

  async listCheckpoints(runId: string): Promise<Checkpoint[]> {
    return this.guard(async () => {
      const rows = await this.db.selectFrom('checkpoints').selectAll().where('run_id', '=', runId).orderBy('sequence').execute();
      return rows.map(storedCheckpoint);
    });
  }

  // ---- delivery bookkeeping ----------------------------------------------------------------------

  async getSinkStatus(sinkId: string): Promise<SinkStatus> {
    return this.guard(async () => {
      const row = await this.db.selectFrom('sink_status').selectAll().where('sink_id', '=', sinkId).executeTakeFirst();
      return row ? { sinkId, disabledAt: row.disabled_at, reason: row.reason } : { sinkId };
    });
  }

  async disableSink(sinkId: string, reason: string, at: string): Promise<void> {
    await this.guard(() =>
      this.write(() =>
        this.db
          .insertInto('sink_status')
          .values({ sink_id: sinkId, disabled_at: at, reason })
          // Disabled again (another run's delivery also got a 410): the first time stays on record.
          .onConflict((oc) => oc.column('sink_id').doNothing())
          .execute(),
      ),
    );
  }

  async enableSink(sinkId: string): Promise<void> {
    await this.guard(() => this.write(() => this.db.deleteFrom('sink_status').where('sink_id', '=', sinkId).execute()));
  }

  async recordDelivery(sinkId: string, runId: string, deliveredSeq: number, at: string): Promise<void> {
    await this.guard(() =>
      this.write(() =>
        this.db
          .insertInto('deliveries')
          .values({ sink_id: sinkId, run_id: runId, delivered_seq: deliveredSeq, updated_at: at })
          .onConflict((oc) =>
            oc
              .columns(['sink_id', 'run_id'])
              .doUpdateSet((eb) => ({ delivered_seq: eb.ref('excluded.delivered_seq'), updated_at: eb.ref('excluded.updated_at') }))
              // A late (retried) report of older progress never moves it backwards.
              .where('deliveries.delivered_seq', '<', (eb) => eb.ref('excluded.delivered_seq')),
          )
          .execute(),
      ),
    );
  }

  async getDelivery(sinkId: string, runId: string): Promise<number> {
    return this.guard(async () => {
      const row = await this.db
        .selectFrom('deliveries')
        .select('delivered_seq')
        .where('sink_id', '=', sinkId)
        .where('run_id', '=', runId)
        .executeTakeFirst();
      return row?.delivered_seq ?? 0;
    });
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  /** SQLite: one writer per file in this process (see write-lock.ts). PostgreSQL: row locks do it. */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    return this.writeLock ? this.writeLock.run(fn) : fn();
  }

  /** Retries a transaction that failed for a transient reason; safe because every write is idempotent. */
  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (attempt >= MAX_TRIES || !isTransient(error)) throw error;
        await sleep(25 * attempt + Math.random() * 25);
      }
    }
  }

  // ---- Identity (migration 0005; src/store/identity.ts) ---------------------------------------------

  /** Adds a person with the hash of their token; false when the name is taken. */
  async addUser(name: string, tokenHash: string, at: string): Promise<boolean> {
    return this.guard(() => this.write(() => insertUser(this.db, name, tokenHash, at)));
  }

  async listUsers(): Promise<StoredUser[]> {
    return this.guard(() => selectUsers(this.db));
  }

  async userByTokenHash(tokenHash: string): Promise<StoredUser | undefined> {
    return this.guard(() => selectUserByTokenHash(this.db, tokenHash));
  }

  async revokeUser(name: string, at: string): Promise<boolean> {
    return this.guard(() => this.write(() => revokeUser(this.db, name, at)));
  }

  async createSession(sessionHash: string, userName: string, at: string, expiresAt: string): Promise<void> {
    await this.guard(() => this.write(() => insertSession(this.db, sessionHash, userName, at, expiresAt)));
  }

  async getSession(sessionHash: string, now: string): Promise<StoredSession | undefined> {
    return this.guard(() => selectSession(this.db, sessionHash, now));
  }

  async endSession(sessionHash: string, now: string): Promise<void> {
    await this.guard(() => this.write(() => deleteSession(this.db, sessionHash, now)));
  }

  /** Names the store in connection failures. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError(`The plan store at ${this.location} is closed.`, this.location);
    try {
      return await fn();
    } catch (error) {
      throw withLocation(this.dialect, this.location, error);
    }
  }

  private failure(message: string, cause: unknown): StoreError {
    const reason = cause instanceof Error ? cause.message || String((cause as { code?: unknown }).code ?? cause.name) : String(cause);
    return new StoreError(`${message}: ${reason}`, this.location, { cause });
  }
}

/** The highest event seq of a record: its identity for idempotency. */
function highestSeq(record: TransitionRecord): number {
  return record.events.reduce((top, event) => Math.max(top, event.seq), record.run.lastSeq);
}

/** `SET col = excluded.col` for every column: an upsert that takes the new row as it is. */
function excluded<C extends string>(columns: readonly C[]) {
  return (eb: { ref(reference: string): unknown }) => Object.fromEntries(columns.map((column) => [column, eb.ref(`excluded.${column}`)])) as never;
}

/** `rows` (all with the same columns) in chunks of at most MAX_PARAMETERS values. */
function chunks<T extends object>(rows: T[]): T[][] {
  if (rows.length === 0) return [];
  const size = Math.max(1, Math.floor(MAX_PARAMETERS / Object.keys(rows[0]).length));
  const result: T[][] = [];
  for (let i = 0; i < rows.length; i += size) result.push(rows.slice(i, i + size));
  return result;
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** Deadlock / serialization failure (PostgreSQL), busy or locked file past busy_timeout (SQLite). */
function isTransient(error: unknown): boolean {
  const code = codeOf(error);
  return code === '40001' || code === '40P01' || code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
