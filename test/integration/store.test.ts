/**
 * The plan store (src/store) against a real database: the one PLAN_STORE_URL names, else a fresh
 * temporary SQLite file. Records come from the real engine, so what is read back is compared with
 * what the engine produced. Every test uses its own run ids, so the suite can run again and again
 * against one shared PostgreSQL database:
 *
 *   node --test dist/test/integration/store.test.js
 *   ./temporal-dev.sh postgres start
 *   PLAN_STORE_URL=postgres://postgres@127.0.0.1:55432/plan_runner_test node --test dist/test/integration/store.test.js
 *
 * Tests of SQLite specifics (two processes on one file, concurrent migration of a fresh file) always
 * use their own temporary SQLite files.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql, type Kysely } from 'kysely';
import {
  applyAgentSubmission,
  applyHumanResponse,
  createRunState,
  nodeRunRecord,
  recordOf,
  replanRun,
  runRecord,
  startRun,
  type PlanSpec,
  type RunEvent,
  type RunState,
  type Transition,
  type TransitionRecord,
} from '../../src/engine';
import { KyselyPlanStore, openStore, parseStoreUrl, type PlanStore } from '../../src/store';
import { connectPostgres, connectSqlite } from '../../src/store/connect';
import { storeMigrations } from '../../src/store/migrations';
import { backfillRunSpecs } from '../../src/store/migrations/0002-spec-versions';
import { encodeJson } from '../../src/store/json-codec';
import { storeFailureKind } from '../../src/store/errors';
import { hashSecret, newPersonalToken, newSessionId } from '../../src/console/tokens';
import { eventRow, runRow } from '../../src/store/rows';
import type { Database } from '../../src/store/schema';
import { at, blocking, edge, human, ok, plan, task, warning } from '../unit/engine-helpers';

const run = promisify(execFile);
const STORE_MODULE = path.resolve(__dirname, '../../src/store');

const SHARED_URL = process.env.PLAN_STORE_URL?.trim() || undefined;
let tmpDir: string;
let storeUrl: string;
let store: PlanStore;
let db: Kysely<Database>;
const opened: PlanStore[] = [];

async function open(url: string = storeUrl): Promise<PlanStore> {
  const instance = await openStore(url);
  opened.push(instance);
  return instance;
}

before(async () => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-store-test-'));
  storeUrl = SHARED_URL ?? path.join(tmpDir, 'store.db');
  store = await open();
  await store.migrate();
  // A direct connection to count rows, independent of the store's reads.
  const config = parseStoreUrl(storeUrl);
  db = config.dialect === 'postgres' ? connectPostgres(config, { poolSize: 2 }) : connectSqlite(config);
});

after(async () => {
  for (const instance of opened) await instance.close();
  await db?.destroy();
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

/**
 * What crosses Temporal: records travel as JSON payloads, so the store receives (and can only give
 * back) the engine's values without keys set to undefined. Expected values are normalized the same way.
 */
const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const uniqueRunId = (name: string) => `store-${name}-${randomUUID().slice(0, 8)}`;

// ---- A run driven by the real engine -------------------------------------------------------------

const SPEC: PlanSpec = plan(
  [
    task('draft', { retry: { maxAttempts: 2, retryOn: ['validation'] } }),
    human('approve', 'human-approval', { approvers: ['alice', 'bob'] }),
    task('publish'),
  ],
  [edge('draft', 'approve'), edge('approve', 'publish')],
);

interface Scenario {
  runId: string;
  records: TransitionRecord[];
  transitions: Transition[];
  events: RunEvent[];
  final: RunState;
  /** The state after each record (states[i] is after records[i]). */
  states: RunState[];
}

/**
 * Start → a draft with a blocking issue (retried) → a partial draft with artifacts and a warning →
 * alice approves → publish completes. Each step's record is what the workflow would hand the store.
 */
function scenario(runId: string): Scenario {
  let state = createRunState({ runId, spec: SPEC, input: { topic: 'Störe ✓', nothing: null }, now: at(0) });
  const transitions: Transition[] = [];
  const records: TransitionRecord[] = [];
  const states: RunState[] = [];
  const take = (transition: Transition) => {
    const record = recordOf(transitions.length === 0 ? undefined : state, transition, { includeSpec: transitions.length === 0 });
    assert.ok(record, 'every step of the scenario emits events');
    transitions.push(transition);
    records.push(json(record));
    state = transition.state;
    states.push(state);
  };
  take(startRun(state, at(0)));
  take(ok(applyAgentSubmission(state, { nodeId: 'draft', submissionId: 'sub-1', structuredOutput: { text: 'too short' } }, [blocking('text is too short', '/text')], at(1000))));
  take(
    ok(
      applyAgentSubmission(
        state,
        {
          nodeId: 'draft',
          submissionId: 'sub-2',
          by: 'agent:writer-7',
          structuredOutput: { text: 'A long enough draft', tags: ['a', 'b'], score: 0.5, empty: null },
          notes: 'second try',
          usage: { inputTokens: 1200, outputTokens: 340, costUsd: 0.0123 },
          handoffContext: { sources: ['https://example.com'] },
          artifacts: [
            { name: 'doc', kind: 'uri', pointer: 's3://bucket/doc.md', schemaRef: 'Doc', payload: { pages: 2 } },
            { name: 'cover', kind: 'file', pointer: '/tmp/cover.png' },
          ],
        },
        [warning('could be longer', '/text'), warning('no title', undefined, 'required')],
        at(2000),
      ),
    ),
  );
  take(ok(applyHumanResponse(state, { nodeId: 'approve', respondedBy: 'alice', response: { approved: true, comments: 'ship it' } }, [], at(3000))));
  take(ok(applyAgentSubmission(state, { nodeId: 'publish', structuredOutput: { url: 'https://blog/post' } }, [], at(4000))));
  assert.equal(state.status, 'completed', 'the scenario runs to completion');
  return { runId, records, transitions, events: json(transitions.flatMap((t) => t.events)), final: state, states };
}

const RUN_TABLES = ['runs', 'run_specs', 'node_runs', 'attempts', 'validation_issues', 'artifacts', 'approvals', 'checkpoints', 'events'] as const;

async function countRows(runId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of RUN_TABLES) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll().as('n'))
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

/** The rows the engine's records should leave, counted from the engine's own state. */
function expectedCounts(s: Scenario, upto = s.records.length): Record<string, number> {
  const state = s.states[upto - 1];
  const history = state.nodes.flatMap((node) => node.history);
  return {
    runs: 1,
    // The scenario never replans: the spec of its first record is its only version.
    run_specs: 1,
    node_runs: state.nodes.length,
    attempts: history.length,
    validation_issues: history.reduce((n, attempt) => n + attempt.issues.length, 0),
    artifacts: history.reduce((n, attempt) => n + attempt.artifacts.length, 0),
    approvals: state.approvals.length,
    checkpoints: s.transitions.slice(0, upto).filter((t) => t.checkpoint).length,
    events: s.transitions.slice(0, upto).reduce((n, t) => n + t.events.length, 0),
  };
}

/** The stored run as the engine sees it: the run record without the spec. */
function expectedRun(state: RunState) {
  const { spec: _spec, ...record } = runRecord(state, { includeSpec: true });
  return json(record);
}

// ---- Tests -------------------------------------------------------------------------------------

/** Every migration the code ships, in the order they apply. */
const ALL_MIGRATIONS = Object.keys(storeMigrations('sqlite')).sort();

describe('store: setup', () => {
  test('migrate is idempotent: a second call applies nothing and reports the same current list', async () => {
    const first = await store.migrate();
    const second = await store.migrate();
    assert.deepEqual(second.applied, []);
    assert.ok(second.current.includes('0001-initial'), `current: ${second.current.join(', ')}`);
    assert.deepEqual(second.current, first.current);
  });

  test('a fresh SQLite file migrated by three processes at once ends up migrated once, without errors', async () => {
    const file = path.join(tmpDir, `race-${randomUUID().slice(0, 8)}`, 'fresh.db');
    const script = `require(${JSON.stringify(STORE_MODULE)}).openStore(process.argv[1]).then(async (s) => { const r = await s.migrate(); await s.close(); console.log(JSON.stringify(r)); }).catch((e) => { console.error(e); process.exit(1); })`;
    const results = await Promise.all([1, 2, 3].map(() => run(process.execPath, ['-e', script, file])));
    const reports = results.map((r) => JSON.parse(r.stdout) as { applied: string[]; current: string[] });
    assert.deepEqual(
      reports.flatMap((r) => r.applied).sort(),
      ALL_MIGRATIONS,
      'each migration was applied by exactly one process',
    );
    for (const report of reports) assert.deepEqual(report.current, ALL_MIGRATIONS);
  });

  test('the store says where it is: the SQLite path, or the PostgreSQL URL without its password', async () => {
    const config = parseStoreUrl(storeUrl);
    assert.equal(store.dialect, config.dialect);
    assert.equal(store.location, config.location);
    assert.ok(!/:[^/@:]+@/.test(store.location), `no password in ${store.location}`);
  });
});

describe('store: recordTransitions and reads', () => {
  test('every read returns what the engine produced', async () => {
    const s = scenario(uniqueRunId('reads'));
    const result = await store.recordTransitions(s.runId, s.records);
    assert.deepEqual(result, { lastSeq: s.final.seq, written: s.records.length, skipped: 0 });

    // Events, one for one, in seq order; ranges.
    assert.deepEqual(await store.listEvents(s.runId), s.events);
    assert.deepEqual(await store.listEvents(s.runId, { afterSeq: 3, uptoSeq: 6 }), s.events.filter((e) => e.seq > 3 && e.seq <= 6));
    assert.deepEqual(await store.listEvents(s.runId, { afterSeq: 2, limit: 2 }), s.events.slice(2, 4));
    assert.deepEqual(await store.listEvents(uniqueRunId('nothing')), []);

    // The run row and the spec.
    assert.deepEqual(await store.getRun(s.runId), expectedRun(s.final));
    assert.deepEqual(await store.getSpec(s.runId), SPEC);
    assert.deepEqual(await store.getPlanNode(s.runId, 'approve'), SPEC.nodes[1]);
    assert.equal(await store.getPlanNode(s.runId, 'nope'), undefined);
    assert.equal(await store.getRun(uniqueRunId('missing')), undefined);

    // Node runs in spec order, as the engine's records describe them.
    const nodeRuns = await store.listNodeRuns(s.runId);
    assert.deepEqual(
      nodeRuns.map((n) => n.nodeId),
      SPEC.nodes.map((n) => n.id),
    );
    s.final.nodes.forEach((node, position) => assert.deepEqual(nodeRuns[position], json({ runId: s.runId, ...nodeRunRecord(node, position) })));
    assert.deepEqual(await store.getNodeRun(s.runId, 'draft'), nodeRuns[0]);
    assert.equal(await store.getNodeRun(s.runId, 'nope'), undefined);
    assert.equal(nodeRuns[0].status, 'partial');
    assert.deepEqual((nodeRuns[0].output as { empty: unknown }).empty, null, 'a JSON null inside a value survives');

    // Attempts with their issues (in order) and artifacts (in order).
    for (const node of s.final.nodes) {
      const attempts = await store.listAttempts(s.runId, node.nodeId);
      assert.deepEqual(
        attempts,
        json(node.history.map((attempt) => ({ runId: s.runId, nodeId: node.nodeId, ...attempt }))),
        `attempts of ${node.nodeId}`,
      );
    }
    const drafts = await store.listAttempts(s.runId, 'draft');
    assert.deepEqual(
      drafts.map((a) => [a.attempt, a.status, a.failureClass, a.issues.map((i) => i.code), a.artifacts.map((x) => x.name)]),
      [
        [1, 'failed', 'validation', ['schema'], []],
        [2, 'partial', undefined, ['min-length', 'required'], ['doc', 'cover']],
      ],
    );
    // What an attempt spent (migration 0007): kept as reported; NULL (absent) when it reported nothing.
    assert.deepEqual(drafts.map((a) => a.usage), [undefined, { inputTokens: 1200, outputTokens: 340, costUsd: 0.0123 }]);

    // Approvals and checkpoints.
    assert.deepEqual(
      await store.listApprovals({ runId: s.runId }),
      json(s.final.approvals.map((approval) => ({ runId: s.runId, ...approval }))),
    );
    assert.deepEqual(
      await store.listCheckpoints(s.runId),
      json(s.transitions.flatMap((t) => (t.checkpoint ? [t.checkpoint] : []))),
    );

    assert.deepEqual(await countRows(s.runId), expectedCounts(s));
  });

  test('records written one call at a time read the same as one batch', async () => {
    const s = scenario(uniqueRunId('steps'));
    for (const [i, record] of s.records.entries()) {
      const result = await store.recordTransitions(s.runId, [record]);
      assert.deepEqual(result, { lastSeq: s.states[i].seq, written: 1, skipped: 0 });
      assert.deepEqual(await countRows(s.runId), expectedCounts(s, i + 1), `rows after record ${i + 1}`);
      assert.deepEqual(await store.getRun(s.runId), expectedRun(s.states[i]));
    }
    assert.deepEqual(await store.listEvents(s.runId), s.events);
  });

  test('approvals: filters by run, pending, and who (owner, named approver, responder), newest first', async () => {
    const s = scenario(uniqueRunId('approvals'));
    // Up to the approval request: the approval is pending.
    await store.recordTransitions(s.runId, s.records.slice(0, 3));
    const pending = await store.listApprovals({ runId: s.runId, pending: true });
    assert.deepEqual(
      pending.map((a) => [a.approvalId, a.status, a.owner, a.approvers]),
      [['approve#1', 'pending', { kind: 'human', ref: 'people-approve' }, ['alice', 'bob']]],
    );
    for (const who of ['people-approve', 'alice', 'bob']) {
      assert.deepEqual(
        (await store.listApprovals({ runId: s.runId, by: who })).map((a) => a.approvalId),
        ['approve#1'],
        `${who} may answer`,
      );
    }
    assert.deepEqual(await store.listApprovals({ runId: s.runId, by: 'carol' }), [], 'carol may not');
    assert.deepEqual(await store.listApprovals({ runId: s.runId, by: 'ali' }), [], 'an approver is matched exactly, not as a substring');

    // The response: the same row is updated, no longer pending, and alice answered it.
    await store.recordTransitions(s.runId, s.records);
    assert.deepEqual(await store.listApprovals({ runId: s.runId, pending: true }), []);
    const [resolved] = await store.listApprovals({ runId: s.runId, by: 'alice' });
    assert.equal(resolved.status, 'approved');
    assert.equal(resolved.respondedBy, 'alice');
    assert.deepEqual(resolved.response, { approved: true, comments: 'ship it' });
    assert.deepEqual(await countRows(s.runId), expectedCounts(s));

    // Across runs, the newest request first.
    const later = scenario(uniqueRunId('approvals-later'));
    const shifted = later.records.map((record) => ({
      ...record,
      approvals: record.approvals.map((approval) => ({ ...approval, requestedAt: at(60_000) })),
    }));
    await store.recordTransitions(later.runId, shifted.slice(0, 3));
    const bob = await store.listApprovals({ by: 'bob' });
    const ours = bob.filter((a) => a.runId === s.runId || a.runId === later.runId).map((a) => a.runId);
    assert.deepEqual(ours, [later.runId, s.runId]);
    assert.equal((await store.listApprovals({ by: 'bob', limit: 1 })).length, 1);
    for (let i = 1; i < bob.length; i++) assert.ok(bob[i - 1].requestedAt >= bob[i].requestedAt, 'newest request first');
  });
});

// ---- Spec versions (docs/semantics.md §11) ------------------------------------------------------------------------

/** SPEC after a replan: `draft` gets an objective, `proofread` goes between `draft` and `approve`. */
const SPEC_V2: PlanSpec = plan(
  [
    task('draft', { retry: { maxAttempts: 2, retryOn: ['validation'] }, objective: 'Shorter, please' }),
    task('proofread'),
    human('approve', 'human-approval', { approvers: ['alice', 'bob'] }),
    task('publish'),
  ],
  [edge('draft', 'proofread'), edge('proofread', 'approve'), edge('approve', 'publish')],
  { title: 'Test plan, version 2' },
);

interface ReplannedRun {
  runId: string;
  /** Start and a draft (spec 1 on the first record), the replan (spec 2 on its record), a draft under spec 2. */
  records: TransitionRecord[];
  replannedAt: string;
  final: RunState;
}

/**
 * A run started under SPEC and replanned to SPEC_V2, recorded as the workflow records it: the spec
 * travels on the first record and on the record whose spec version changed. The last record, the
 * first of a continued execution, carries spec 2 again (`includeSpec` is up to the caller).
 */
function replannedRun(runId: string): ReplannedRun {
  let state = createRunState({ runId, spec: SPEC, input: { topic: 'versions' }, now: at(0) });
  const records: TransitionRecord[] = [];
  const take = (transition: Transition, includeSpec: boolean) => {
    const record = recordOf(records.length === 0 ? undefined : state, transition, { includeSpec });
    assert.ok(record);
    records.push(json(record));
    state = transition.state;
  };
  take(startRun(state, at(0)), true);
  take(ok(applyAgentSubmission(state, { nodeId: 'draft', structuredOutput: { text: 'v1 draft' } }, [], at(1000))), false);
  const replannedAt = at(2000);
  take(ok(replanRun(state, { spec: SPEC_V2, by: 'ops', reason: 'add proofreading' }, replannedAt)), true);
  assert.equal(state.specVersion, 2);
  take(ok(applyAgentSubmission(state, { nodeId: 'draft', structuredOutput: { text: 'v2 draft' } }, [], at(3000))), true);
  return { runId, records, replannedAt, final: state };
}

async function specRowCount(runId: string): Promise<number> {
  const row = await db
    .selectFrom('run_specs')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('store: spec versions', () => {
  test('a replanned run keeps both versions: listed in order, each readable; getSpec alone is the current one', async () => {
    const r = replannedRun(uniqueRunId('versions'));
    // Up to the replan: version 1 only.
    await store.recordTransitions(r.runId, r.records.slice(0, 2));
    assert.deepEqual(await store.listSpecVersions(r.runId), [{ specVersion: 1, recordedAt: at(0), spec: SPEC }]);
    assert.equal(await store.getSpec(r.runId, 2), undefined);

    await store.recordTransitions(r.runId, r.records.slice(2));
    assert.deepEqual(await store.listSpecVersions(r.runId), [
      { specVersion: 1, recordedAt: at(0), spec: SPEC },
      { specVersion: 2, recordedAt: r.replannedAt, spec: SPEC_V2 },
    ]);
    assert.deepEqual(await store.getSpec(r.runId, 1), SPEC, 'version 1 survives the replan');
    assert.deepEqual(await store.getSpec(r.runId, 2), SPEC_V2);
    assert.deepEqual(await store.getSpec(r.runId), SPEC_V2, 'runs.spec is the current spec');
    assert.equal((await store.getRun(r.runId))?.specVersion, 2);
    assert.equal(await store.getSpec(r.runId, 3), undefined);
    assert.deepEqual(await store.listSpecVersions(uniqueRunId('unknown')), []);
    assert.equal(await store.getSpec(uniqueRunId('unknown'), 1), undefined);
  });

  test('idempotent: the same batch twice, or a later record carrying a version again, leaves one row per version', async () => {
    const r = replannedRun(uniqueRunId('versions-twice'));
    await store.recordTransitions(r.runId, r.records);
    const first = await store.listSpecVersions(r.runId);
    assert.equal(await specRowCount(r.runId), 2);

    assert.equal((await store.recordTransitions(r.runId, r.records)).skipped, r.records.length);
    for (const record of r.records) await store.recordTransitions(r.runId, [record]);
    assert.equal(await specRowCount(r.runId), 2);

    // A new record (higher seq, so it is written) carrying spec 2 again, as the first record of a
    // continued execution would: the row of version 2 keeps the time it was first recorded.
    const again = ok(applyAgentSubmission(r.final, { nodeId: 'proofread', structuredOutput: { ok: true } }, [], at(9000)));
    const record = json(recordOf(r.final, again, { includeSpec: true })!);
    assert.equal(record.run.spec?.title, SPEC_V2.title);
    assert.equal((await store.recordTransitions(r.runId, [record])).written, 1);
    assert.equal(await specRowCount(r.runId), 2);
    assert.deepEqual(await store.listSpecVersions(r.runId), first);
    assert.equal(first[1].recordedAt, r.replannedAt);
  });

  test('deleting a run deletes its spec versions (ON DELETE CASCADE)', async () => {
    const r = replannedRun(uniqueRunId('versions-cascade'));
    await store.recordTransitions(r.runId, r.records);
    assert.equal(await specRowCount(r.runId), 2);
    await db.deleteFrom('runs').where('run_id', '=', r.runId).execute();
    assert.equal(await specRowCount(r.runId), 0);
  });

  test('the back-fill gives each run with a spec one row for its current version, and is idempotent', async () => {
    // Runs as a store from before 0002 left them: runs.spec set, no run_specs row.
    const v1 = uniqueRunId('backfill-v1');
    const v2 = uniqueRunId('backfill-v2');
    const noSpec = uniqueRunId('backfill-nospec');
    await insertLegacyRuns(db, { v1, v2, noSpec });

    await backfillRunSpecs(db);
    assert.deepEqual(await store.listSpecVersions(v1), [{ specVersion: 1, recordedAt: at(0), spec: SPEC }]);
    // A replanned run's current version dates from its last run-replanned event.
    assert.deepEqual(await store.listSpecVersions(v2), [{ specVersion: 2, recordedAt: at(7000), spec: SPEC_V2 }]);
    assert.deepEqual(await store.listSpecVersions(noSpec), []);

    await backfillRunSpecs(db);
    assert.equal(await specRowCount(v1), 1);
    assert.equal(await specRowCount(v2), 1);
  });

  test('migrating a store at 0001 to the latest back-fills run_specs (fresh SQLite file)', async () => {
    const file = path.join(tmpDir, `backfill-${randomUUID().slice(0, 8)}.db`);
    const old = await open(file);
    assert.ok(old instanceof KyselyPlanStore);
    assert.deepEqual((await old.migrate({ to: '0001-initial' })).applied, ['0001-initial']);
    const raw = connectSqlite({ dialect: 'sqlite', file, location: file });
    try {
      const tables = await raw.introspection.getTables();
      assert.ok(!tables.some((t) => t.name === 'run_specs'), 'no run_specs at 0001');
      await insertLegacyRuns(raw, { v1: 'legacy-v1', v2: 'legacy-v2', noSpec: 'legacy-nospec' });
    } finally {
      await raw.destroy();
    }
    await assert.rejects(old.migrate({ to: 'no-such-migration' }), /No migration named no-such-migration/);

    const report = await old.migrate();
    assert.deepEqual(report.applied, ['0002-spec-versions', '0003-iterations', '0004-instances', '0005-identity', '0006-quorum-votes', '0007-usage', '0008-subplans']);
    assert.deepEqual(report.current, ALL_MIGRATIONS);
    assert.deepEqual(await old.listSpecVersions('legacy-v1'), [{ specVersion: 1, recordedAt: at(0), spec: SPEC }]);
    assert.deepEqual(await old.listSpecVersions('legacy-v2'), [{ specVersion: 2, recordedAt: at(7000), spec: SPEC_V2 }]);
    assert.deepEqual(await old.listSpecVersions('legacy-nospec'), []);
    assert.deepEqual(await old.getSpec('legacy-v2', 2), await old.getSpec('legacy-v2'));
    // It never migrates down.
    await assert.rejects(old.migrate({ to: '0001-initial' }), /never migrated down/);
    assert.deepEqual((await old.migrate()).current, ALL_MIGRATIONS);
  });
});

/**
 * Three runs written straight into `runs` (and one event), as a store from before 0002 holds them: one
 * at spec version 1, one replanned to version 2 (its run-replanned event at at(7000)), one without a spec.
 */
async function insertLegacyRuns(target: Kysely<Database>, ids: { v1: string; v2: string; noSpec: string }): Promise<void> {
  const base = runRecord(createRunState({ runId: ids.v1, spec: SPEC, input: {}, now: at(0) }));
  // A 0001 `runs` table has no parent_run_id (0008-subplans adds it).
  const legacyRow = (record: typeof base) => {
    const { parent_run_id: _parent, ...row } = runRow(record);
    return row;
  };
  await target
    .insertInto('runs')
    .values([
      { ...legacyRow({ ...base, runId: ids.v1, updatedAt: at(5000) }), spec: encodeJson(SPEC) },
      { ...legacyRow({ ...base, runId: ids.v2, specVersion: 2, updatedAt: at(9000) }), spec: encodeJson(SPEC_V2) },
      { ...legacyRow({ ...base, runId: ids.noSpec }), spec: null },
    ])
    .execute();
  const replanned: RunEvent = {
    id: `${ids.v2}:3`,
    seq: 3,
    runId: ids.v2,
    planId: SPEC.id,
    type: 'run-replanned',
    message: 'replanned',
    by: 'ops',
    at: at(7000),
  };
  // A 0001 store has no iteration column (migration 0003 adds it).
  const { iteration: _iteration, ...legacyEvent } = eventRow(replanned);
  await target.insertInto('events').values(legacyEvent).execute();
}

describe('store: idempotency and concurrency', () => {
  test('the same batch recorded twice is skipped the second time, and no table gains a row', async () => {
    const s = scenario(uniqueRunId('twice'));
    await store.recordTransitions(s.runId, s.records);
    const before = await countRows(s.runId);
    const again = await store.recordTransitions(s.runId, s.records);
    assert.deepEqual(again, { lastSeq: s.final.seq, written: 0, skipped: s.records.length });
    // Replayed one by one, as a replayed workflow would.
    for (const record of s.records) assert.equal((await store.recordTransitions(s.runId, [record])).skipped, 1);
    assert.deepEqual(await countRows(s.runId), before);
    assert.deepEqual(before, expectedCounts(s));
    assert.deepEqual(await store.listEvents(s.runId), s.events);
  });

  test('a batch overlapping what is stored writes only its new records', async () => {
    const s = scenario(uniqueRunId('overlap'));
    await store.recordTransitions(s.runId, s.records.slice(0, 2));
    const result = await store.recordTransitions(s.runId, s.records);
    assert.deepEqual(result, { lastSeq: s.final.seq, written: s.records.length - 2, skipped: 2 });
    assert.deepEqual(await countRows(s.runId), expectedCounts(s));
    assert.deepEqual(await store.listEvents(s.runId), s.events);
  });

  test('an older batch after a newer one does not roll the run back', async () => {
    const s = scenario(uniqueRunId('older'));
    await store.recordTransitions(s.runId, s.records);
    const stale = await store.recordTransitions(s.runId, s.records.slice(1, 3));
    assert.deepEqual(stale, { lastSeq: s.final.seq, written: 0, skipped: 2 });
    assert.deepEqual(await store.getRun(s.runId), expectedRun(s.final));
    assert.deepEqual(
      (await store.listNodeRuns(s.runId)).map((n) => n.status),
      s.final.nodes.map((n) => n.status),
    );
    assert.equal((await store.listApprovals({ runId: s.runId }))[0].status, 'approved');
    assert.deepEqual(await countRows(s.runId), expectedCounts(s));
  });

  test('a record of another run is refused before anything is written', async () => {
    const s = scenario(uniqueRunId('mismatch'));
    await assert.rejects(store.recordTransitions(uniqueRunId('other'), s.records), /belongs to run/);
    assert.equal(await store.getRun(s.runId), undefined);
  });

  test('two store instances recording the same batch at once: no error, no duplicate, nothing lost', async () => {
    const s = scenario(uniqueRunId('race'));
    const [a, b] = [await open(), await open()];
    const results = await Promise.all([a.recordTransitions(s.runId, s.records), b.recordTransitions(s.runId, s.records)]);
    for (const result of results) {
      assert.equal(result.lastSeq, s.final.seq);
      assert.equal(result.written + result.skipped, s.records.length);
    }
    assert.equal(results[0].written + results[1].written, s.records.length, 'each record was written exactly once');
    assert.deepEqual(await countRows(s.runId), expectedCounts(s));
    assert.deepEqual(await store.listEvents(s.runId), s.events);
  });

  test('racing writers on a run that already exists: the row lock lets exactly one write each record', async () => {
    const s = scenario(uniqueRunId('race-existing'));
    await store.recordTransitions(s.runId, s.records.slice(0, 1));
    const writers = [await open(), await open(), await open()];
    const results = await Promise.all(writers.map((writer) => writer.recordTransitions(s.runId, s.records)));
    assert.equal(
      results.reduce((n, r) => n + r.written, 0),
      s.records.length - 1,
      `each new record written once: ${JSON.stringify(results)}`,
    );
    for (const result of results) assert.equal(result.written + result.skipped, s.records.length);
    assert.deepEqual(await store.getRun(s.runId), expectedRun(s.final));
    assert.deepEqual(await countRows(s.runId), expectedCounts(s));
  });

  test('three processes recording the same batch at once: no error, each record written exactly once', async () => {
    const s = scenario(uniqueRunId('processes'));
    const batchFile = path.join(tmpDir, `${s.runId}.json`);
    fs.writeFileSync(batchFile, JSON.stringify(s.records));
    const script = `
      const { openStore } = require(${JSON.stringify(STORE_MODULE)});
      const records = JSON.parse(require('node:fs').readFileSync(process.argv[3], 'utf8'));
      openStore(process.argv[1]).then(async (store) => {
        const result = await store.recordTransitions(process.argv[2], records);
        await store.close();
        console.log(JSON.stringify(result));
      }).catch((error) => { console.error(error); process.exit(1); });`;
    const outputs = await Promise.all([1, 2, 3].map(() => run(process.execPath, ['-e', script, storeUrl, s.runId, batchFile])));
    const results = outputs.map((o) => JSON.parse(o.stdout) as { lastSeq: number; written: number; skipped: number });
    assert.equal(
      results.reduce((n, r) => n + r.written, 0),
      s.records.length,
      `each record written once: ${JSON.stringify(results)}`,
    );
    for (const result of results) assert.equal(result.lastSeq, s.final.seq);
    assert.deepEqual(await countRows(s.runId), expectedCounts(s));
    assert.deepEqual(await store.listEvents(s.runId), s.events);
  });
});

describe('store: SQLite shared by a worker and the CLI', () => {
  test('two instances on one file: one writes transition by transition while the other reads', async () => {
    const file = path.join(tmpDir, `shared-${randomUUID().slice(0, 8)}.db`);
    const worker = await open(file);
    await worker.migrate();
    const cli = await open(file);
    const s = scenario(uniqueRunId('shared'));
    let writing = true;
    const seen: number[] = [];
    const reader = (async () => {
      while (writing) {
        const events = await cli.listEvents(s.runId);
        // Each read sees whole transitions: a prefix of the engine's events, never a torn one.
        assert.deepEqual(events, s.events.slice(0, events.length));
        assert.ok(events.length === 0 || s.transitions.some((_, i) => s.states[i].seq === events.length), `a transition boundary: ${events.length}`);
        seen.push(events.length);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (const record of s.records) {
      await worker.recordTransitions(s.runId, [record]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    writing = false;
    await reader;
    assert.ok(seen.length > 1, 'the reader read while the writer wrote');
    assert.deepEqual(await cli.listEvents(s.runId), s.events);
    assert.deepEqual(await cli.getRun(s.runId), expectedRun(s.final));
    // The CLI writes too (delivery bookkeeping) while the worker writes a batch: neither waits for nothing.
    const t = scenario(uniqueRunId('shared-2'));
    await Promise.all([worker.recordTransitions(t.runId, t.records), cli.disableSink(`sink-${t.runId}`, 'gone', at(0)), cli.recordDelivery('s', t.runId, 3, at(0))]);
    assert.deepEqual(await cli.listEvents(t.runId), t.events);
    assert.equal((await worker.getSinkStatus(`sink-${t.runId}`)).reason, 'gone');
  });

  test('the SQLite file gets WAL mode and its folder is created', async () => {
    const file = path.join(tmpDir, `nested-${randomUUID().slice(0, 8)}`, 'deeper', 'store.db');
    const fresh = await open(`file:${file}`);
    await fresh.migrate();
    assert.equal(fresh.location, file);
    assert.ok(fs.existsSync(file));
    const raw = connectSqlite({ dialect: 'sqlite', file, location: file });
    try {
      const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(raw);
      assert.equal(rows[0].journal_mode, 'wal');
    } finally {
      await raw.destroy();
    }
  });
});

describe('store: delivery bookkeeping', () => {
  test('a sink is disabled across runs and store instances until enabled again', async () => {
    const sinkId = `sink-${randomUUID().slice(0, 8)}`;
    assert.deepEqual(await store.getSinkStatus(sinkId), { sinkId });
    await store.disableSink(sinkId, 'HTTP 410 Gone', at(5000));
    await store.disableSink(sinkId, 'gave up', at(9000));
    const other = await open();
    assert.deepEqual(await other.getSinkStatus(sinkId), { sinkId, disabledAt: at(5000), reason: 'HTTP 410 Gone' }, 'the first disabling stays on record');
    await other.enableSink(sinkId);
    assert.deepEqual(await store.getSinkStatus(sinkId), { sinkId });
    await store.disableSink(sinkId, 'HTTP 410 Gone again', at(10_000));
    assert.equal((await store.getSinkStatus(sinkId)).reason, 'HTTP 410 Gone again');
  });

  test('delivery progress per sink and run only moves forward', async () => {
    const runId = uniqueRunId('delivery');
    const sinkId = `sink-${randomUUID().slice(0, 8)}`;
    assert.equal(await store.getDelivery(sinkId, runId), 0);
    await store.recordDelivery(sinkId, runId, 3, at(1));
    assert.equal(await store.getDelivery(sinkId, runId), 3);
    await store.recordDelivery(sinkId, runId, 7, at(2));
    await store.recordDelivery(sinkId, runId, 5, at(3));
    assert.equal(await store.getDelivery(sinkId, runId), 7, 'a late report of older progress does not move it back');
    assert.equal(await store.getDelivery(`${sinkId}-other`, runId), 0, 'per sink');
    assert.equal(await store.getDelivery(sinkId, `${runId}-other`), 0, 'per run');
  });
});

describe('store: configuration and errors', () => {
  test('PLAN_STORE_URL forms', () => {
    const cwd = path.join(tmpDir, 'cwd');
    assert.deepEqual(parseStoreUrl(undefined, cwd), { dialect: 'sqlite', file: path.join(cwd, '.data', 'plan-runner.db'), location: path.join(cwd, '.data', 'plan-runner.db') });
    assert.equal(parseStoreUrl('  ', cwd).location, path.join(cwd, '.data', 'plan-runner.db'));
    assert.equal(parseStoreUrl('file:runs/x.db', cwd).location, path.join(cwd, 'runs', 'x.db'));
    assert.equal(parseStoreUrl('file:///var/tmp/x.db', cwd).location, '/var/tmp/x.db');
    assert.equal(parseStoreUrl('sqlite:x.db', cwd).location, path.join(cwd, 'x.db'));
    assert.equal(parseStoreUrl('sqlite:///abs/x.db', cwd).location, '/abs/x.db');
    assert.equal(parseStoreUrl('./y.db', cwd).location, path.join(cwd, 'y.db'));
    assert.equal(parseStoreUrl('/abs/z.db', cwd).location, '/abs/z.db');
    const pg = parseStoreUrl('postgresql://me:s3cret@db.example:5433/plans?sslmode=require', cwd);
    assert.equal(pg.dialect, 'postgres');
    assert.equal(pg.location, 'postgresql://me@db.example:5433/plans?sslmode=require');
    assert.equal(parseStoreUrl('postgres://me@localhost/plans', cwd).location, 'postgres://me@localhost/plans');
  });

  test('a bad PLAN_STORE_URL is a clear error naming the variable and the accepted forms (never the password)', async () => {
    await assert.rejects(openStore('mysql://me:s3cret@db/plans'), (error: Error) => {
      assert.match(error.message, /PLAN_STORE_URL="mysql:\/\/me@db\/plans" is not a valid store URL/);
      assert.match(error.message, /postgres:\/\//);
      assert.match(error.message, /file:/);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
    await assert.rejects(openStore('postgres://me@db.example'), /PLAN_STORE_URL=.*names no database/);
  });

  test('a database that cannot be reached is an error saying which store and why', async () => {
    await assert.rejects(openStore('postgres://me:s3cret@127.0.0.1:1/plans'), (error: Error) => {
      assert.match(error.message, /Could not open the plan store \(PostgreSQL\) at postgres:\/\/me@127\.0\.0\.1:1\/plans: .*ECONNREFUSED/);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
    const blocker = path.join(tmpDir, 'a-file');
    fs.writeFileSync(blocker, 'not a folder');
    const impossible = path.join(blocker, 'sub', 'store.db');
    // A file that can never be made says what `plan-runner events` says for it (issue 9), and why.
    await assert.rejects(openStore(impossible), (error: Error) => {
      assert.ok(error.message.startsWith(`no store at ${impossible}: nothing was recorded there, and none can be created there (`), error.message);
      assert.match(error.message, /ENOTDIR|not a directory/);
      return true;
    });
  });

  test('a closed store refuses further calls with a clear error', async () => {
    const temporary = await openStore(storeUrl);
    await temporary.close();
    await temporary.close();
    await assert.rejects(temporary.getRun('x'), /plan store at .* is closed/);
  });
});

describe('store: identity (users and console sessions)', () => {
  const uniqueName = () => `user-${randomUUID().slice(0, 8)}`;
  const sessionRows = (userName: string) => db.selectFrom('sessions').selectAll().where('user_name', '=', userName).execute();

  test('a user is stored with the hash of their token, which finds them; a second add of the name is refused', async () => {
    const name = uniqueName();
    const token = newPersonalToken();
    assert.equal(await store.addUser(name, hashSecret(token), '2030-01-01T00:00:00.000Z'), true);
    const row = await db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
    assert.equal(row.token_hash, hashSecret(token));
    assert.ok(!JSON.stringify(row).includes(token.slice(4)), 'the token itself is never stored');
    assert.deepEqual(await store.userByTokenHash(hashSecret(token)), { name, createdAt: '2030-01-01T00:00:00.000Z' });
    assert.equal(await store.userByTokenHash(hashSecret(newPersonalToken())), undefined);
    assert.equal(await store.userByTokenHash(token), undefined, 'the token is not its hash');

    assert.equal(await store.addUser(name, hashSecret(newPersonalToken()), '2030-01-02T00:00:00.000Z'), false);
    assert.deepEqual(await store.userByTokenHash(hashSecret(token)), { name, createdAt: '2030-01-01T00:00:00.000Z' }, 'the refused add changed nothing');
    const listed = (await store.listUsers()).filter((user) => user.name === name);
    assert.deepEqual(listed, [{ name, createdAt: '2030-01-01T00:00:00.000Z' }]);
  });

  test('a session is found by its hash until it expires or ends; ending one also drops the expired ones', async () => {
    const name = uniqueName();
    await store.addUser(name, hashSecret(newPersonalToken()), '2030-01-01T00:00:00.000Z');
    const id = newSessionId();
    await store.createSession(hashSecret(id), name, '2030-01-01T00:00:00.000Z', '2030-01-01T12:00:00.000Z');
    assert.deepEqual(await store.getSession(hashSecret(id), '2030-01-01T11:59:59.999Z'), { userName: name, createdAt: '2030-01-01T00:00:00.000Z', expiresAt: '2030-01-01T12:00:00.000Z' });
    assert.equal(await store.getSession(hashSecret(id), '2030-01-01T12:00:00.000Z'), undefined, 'expired at expiresAt');
    assert.equal(await store.getSession(id, '2030-01-01T01:00:00.000Z'), undefined, 'the id is not its hash');
    assert.deepEqual((await sessionRows(name)).map((row) => row.session_hash), [hashSecret(id)], 'only the hash is stored');

    const other = newSessionId();
    const expired = newSessionId();
    await store.createSession(hashSecret(other), name, '2030-01-01T00:00:00.000Z', '2030-01-01T12:00:00.000Z');
    await store.createSession(hashSecret(expired), name, '2030-01-01T00:00:00.000Z', '2030-01-01T00:30:00.000Z');
    await store.endSession(hashSecret(id), '2030-01-01T01:00:00.000Z');
    assert.equal(await store.getSession(hashSecret(id), '2030-01-01T01:00:00.000Z'), undefined, 'signed out');
    assert.deepEqual((await sessionRows(name)).map((row) => row.session_hash), [hashSecret(other)], 'the expired one went too; the other stays');
    await assert.rejects(
      store.createSession(hashSecret(newSessionId()), uniqueName(), '2030-01-01T00:00:00.000Z', '2030-01-01T12:00:00.000Z'),
      (error: unknown) => storeFailureKind(error) === 'rejected',
      'a session belongs to a user that exists',
    );
  });

  test('revoking keeps the row, stops the token and ends every session; the name can then be added again', async () => {
    const name = uniqueName();
    const token = newPersonalToken();
    await store.addUser(name, hashSecret(token), '2030-01-01T00:00:00.000Z');
    const id = newSessionId();
    await store.createSession(hashSecret(id), name, '2030-01-01T00:00:00.000Z', '2030-01-01T12:00:00.000Z');
    assert.equal(await store.revokeUser(name, '2030-01-01T01:00:00.000Z'), true);
    assert.equal(await store.userByTokenHash(hashSecret(token)), undefined);
    assert.equal(await store.getSession(hashSecret(id), '2030-01-01T01:00:00.000Z'), undefined);
    assert.deepEqual(await sessionRows(name), [], 'the sessions are gone, not just hidden');
    assert.deepEqual((await store.listUsers()).filter((user) => user.name === name), [{ name, createdAt: '2030-01-01T00:00:00.000Z', revokedAt: '2030-01-01T01:00:00.000Z' }]);
    assert.equal(await store.revokeUser(name, '2030-01-01T02:00:00.000Z'), false, 'already revoked');
    assert.equal(await store.revokeUser(uniqueName(), '2030-01-01T02:00:00.000Z'), false, 'no such user');

    // A session made for a revoked person (a sign-in racing the revocation) signs nobody in.
    const late = newSessionId();
    await store.createSession(hashSecret(late), name, '2030-01-01T02:00:00.000Z', '2030-01-01T12:00:00.000Z');
    assert.equal(await store.getSession(hashSecret(late), '2030-01-01T02:00:00.000Z'), undefined);
    await store.endSession(hashSecret(late), '2030-01-01T02:00:00.000Z');

    const next = newPersonalToken();
    assert.equal(await store.addUser(name, hashSecret(next), '2030-01-03T00:00:00.000Z'), true);
    assert.deepEqual(await store.userByTokenHash(hashSecret(next)), { name, createdAt: '2030-01-03T00:00:00.000Z' });
    assert.equal(await store.userByTokenHash(hashSecret(token)), undefined, 'the old token stays dead');
    assert.deepEqual((await store.listUsers()).filter((user) => user.name === name), [{ name, createdAt: '2030-01-03T00:00:00.000Z' }]);
  });
});
