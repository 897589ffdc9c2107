/**
 * A batch of transition records leaves exactly the rows that writing the same records one call per
 * record leaves (issue 14: `recordTransitions` writes a batch with one statement per table). Each
 * test writes the same records to two runs, one in batches, one record per call, and compares every
 * row of every table of the two runs, and what the store's reads return.
 *
 * The records are made by hand, not by the engine, to reach what the engine rarely hands the store
 * in one batch: a node written by several records, an attempt recorded twice, an approval updated
 * twice, a spec (a replan, a continue-as-new) in the middle of a batch that drops nodes written before
 * it, records already written, an event seq or a checkpoint sequence seen twice.
 *
 * The store is PLAN_STORE_URL when it is set (e.g. a shared PostgreSQL), else a fresh SQLite file in
 * a temporary directory; run ids are unique per process, so the file can run again and again against
 * one database:
 *
 *   node --test dist/test/integration/store-batch.test.js
 *   PLAN_STORE_URL=postgres://postgres@127.0.0.1:55432/plan_runner_test node --test dist/test/integration/store-batch.test.js
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import type { Approval, AttemptRow, Checkpoint, NodeRunRecord, PlanSpec, RunEvent, TransitionRecord } from '../../src/engine';
import { openStore, parseStoreUrl, type PlanStore } from '../../src/store';
import { connectPostgres, connectSqlite } from '../../src/store/connect';
import type { Database } from '../../src/store/schema';
import { fcParams, seedLine } from '../unit/fc-params';

const FILE = 'dist/test/integration/store-batch.test.js';
const SUFFIX = randomUUID().slice(0, 8);
/** Where a run id goes in a record template; `materialize` puts the real one in. */
const RUN = '@@run@@';

let tmpDir: string;
let store: PlanStore;
let db: Kysely<Database>;

before(async () => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-batch-test-'));
  const url = process.env.PLAN_STORE_URL?.trim() || path.join(tmpDir, 'store.db');
  store = await openStore(url, { migrate: true });
  // A direct connection to read the rows themselves, not what the store's reads make of them.
  const config = parseStoreUrl(url);
  db = config.dialect === 'postgres' ? connectPostgres(config, { poolSize: 2 }) : connectSqlite(config);
});

after(async () => {
  await store?.close();
  await db?.destroy();
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

let runCounter = 0;
const newRunId = (name: string) => `batch-${name}-${SUFFIX}-${++runCounter}`;

/** The records of `template` (written with RUN for the run id) for run `runId`. */
function materialize(template: TransitionRecord[], runId: string): TransitionRecord[] {
  return JSON.parse(JSON.stringify(template).replaceAll(RUN, runId)) as TransitionRecord[];
}

// ---- Comparing two runs ------------------------------------------------------------------------------

const RUN_TABLES = ['runs', 'run_specs', 'node_runs', 'attempts', 'validation_issues', 'artifacts', 'approvals', 'checkpoints', 'events'] as const;

/** Every row of the run in every table, with the run id put back to RUN, in a fixed order. */
async function rowsOf(runId: string): Promise<Record<string, string[]>> {
  const tables: Record<string, string[]> = {};
  for (const table of RUN_TABLES) {
    const rows = await db.selectFrom(table).selectAll().where('run_id', '=', runId).execute();
    // Each row as its columns sorted by name; the rows sorted, since only the set of rows counts.
    tables[table] = rows.map((row) => JSON.stringify(Object.entries(row).sort(([a], [b]) => a.localeCompare(b))).replaceAll(runId, RUN)).sort();
  }
  return tables;
}

/** What the store's reads say of the run, with the run id put back to RUN. */
async function readsOf(runId: string, nodeIds: readonly string[]): Promise<unknown> {
  const reads = {
    run: await store.getRun(runId),
    spec: await store.getSpec(runId),
    specVersions: await store.listSpecVersions(runId),
    nodeRuns: await store.listNodeRuns(runId),
    attempts: await Promise.all(nodeIds.map((nodeId) => store.listAttempts(runId, nodeId))),
    approvals: await store.listApprovals({ runId }),
    checkpoints: await store.listCheckpoints(runId),
    events: await store.listEvents(runId),
  };
  return JSON.parse(JSON.stringify(reads).replaceAll(runId, RUN));
}

interface Written {
  lastSeq: number;
  written: number;
  skipped: number;
}

/** Writes `records` in calls of `sizes` records each (the last size repeats), and sums the results. */
async function writeInCalls(runId: string, records: TransitionRecord[], sizes: readonly number[]): Promise<Written> {
  const total: Written = { lastSeq: 0, written: 0, skipped: 0 };
  for (let i = 0, call = 0; i < records.length; call++) {
    const size = Math.max(1, sizes[Math.min(call, sizes.length - 1)]);
    const result = await store.recordTransitions(runId, records.slice(i, i + size));
    total.lastSeq = result.lastSeq;
    total.written += result.written;
    total.skipped += result.skipped;
    i += size;
  }
  return total;
}

/**
 * Writes `prefix` one record per call to two fresh runs, then `rest` to one of them in calls of
 * `sizes` and to the other one record per call, and checks that the two runs have the same rows and
 * read the same. Returns the batched run's id, for checks of what the rows are.
 */
async function compareBatchWithOneByOne(template: { prefix: TransitionRecord[]; rest: TransitionRecord[]; sizes: readonly number[]; nodeIds: readonly string[] }): Promise<string> {
  const batched = newRunId('batched');
  const single = newRunId('single');
  for (const runId of [batched, single]) await writeInCalls(runId, materialize(template.prefix, runId), [1]);
  const a = await writeInCalls(batched, materialize(template.rest, batched), template.sizes);
  const b = await writeInCalls(single, materialize(template.rest, single), [1]);
  if (template.rest.length > 0) assert.deepEqual(a, b, 'the same counts of written and skipped records, the same last seq');
  assert.deepEqual(await rowsOf(batched), await rowsOf(single), 'the same rows in every table');
  assert.deepEqual(await readsOf(batched, template.nodeIds), await readsOf(single, template.nodeIds), 'the same reads');
  return batched;
}

// ---- Records by hand ---------------------------------------------------------------------------------

const at = (seconds: number) => new Date(Date.parse('2026-05-01T08:00:00.000Z') + seconds * 1000).toISOString();

function specOf(version: number, nodeIds: readonly string[]): PlanSpec {
  return {
    id: 'batch-plan',
    title: `Batch plan v${version}`,
    nodes: nodeIds.map((id) => ({ id, type: 'task' as const, owner: { kind: 'agent' as const, ref: id } })),
    edges: [],
  };
}

function event(seq: number, message = `event ${seq}`, nodeId?: string): RunEvent {
  return { id: `${RUN}:${seq}`, seq, runId: RUN, planId: 'batch-plan', type: 'node-running', ...(nodeId ? { nodeId } : {}), message, by: 'engine', at: at(seq) };
}

function nodeRun(nodeId: string, status: NodeRunRecord['status'], extra: Partial<NodeRunRecord> = {}): NodeRunRecord {
  const instance = /^(\w+)\[(\d+)\]$/.exec(nodeId);
  return {
    nodeId,
    position: nodeId.charCodeAt(0) - 97,
    type: 'task',
    status,
    attempts: 0,
    lastIssues: [],
    ...(instance ? { instanceOf: instance[1], index: Number(instance[2]) } : {}),
    ...extra,
  };
}

function attempt(nodeId: string, number: number, extra: Partial<AttemptRow> = {}): AttemptRow {
  return { nodeId, attempt: number, kind: 'agent', by: `agent:${nodeId}`, at: at(number), status: 'completed', issues: [], artifacts: [], ...extra };
}

function approval(approvalId: string, status: Approval['status'], extra: Partial<Approval> = {}): Approval {
  const [nodeId, number] = approvalId.split('#');
  return {
    approvalId,
    nodeId,
    attempt: Number(number),
    owner: { kind: 'human', ref: 'editors' },
    approvers: ['alice', 'bob'],
    status,
    kind: 'node',
    requestedAt: at(1),
    issues: [],
    ...extra,
  };
}

function checkpoint(sequence: number, reason: Checkpoint['reason'] = 'node-result-complete', extra: Partial<Checkpoint> = {}): Checkpoint {
  return { sequence, reason, runStatus: 'running', readyNodeIds: [], activeNodeIds: [], completedNodeIds: [], nodeStatuses: {}, artifactIds: [], at: at(sequence), ...extra };
}

interface RecordParts {
  events: RunEvent[];
  nodes?: NodeRunRecord[];
  attempts?: AttemptRow[];
  approvals?: Approval[];
  checkpoint?: Checkpoint;
  spec?: { version: number; nodeIds: readonly string[] };
  status?: TransitionRecord['run']['status'];
  /** The run row's lastSeq (default: the highest event seq). */
  lastSeq?: number;
}

function record(parts: RecordParts): TransitionRecord {
  const top = Math.max(0, ...parts.events.map((e) => e.seq));
  return {
    run: {
      runId: RUN,
      planId: 'batch-plan',
      title: `Batch plan at ${top}`,
      specVersion: parts.spec?.version ?? 1,
      status: parts.status ?? 'running',
      input: { topic: 'batches' },
      failureCount: top % 3,
      checkpointSequence: parts.checkpoint?.sequence ?? 0,
      lastSeq: parts.lastSeq ?? top,
      startedAt: at(0),
      updatedAt: at(top),
      ...(parts.spec ? { spec: specOf(parts.spec.version, parts.spec.nodeIds) } : {}),
    },
    nodes: parts.nodes ?? [],
    attempts: parts.attempts ?? [],
    approvals: parts.approvals ?? [],
    events: parts.events,
    ...(parts.checkpoint ? { checkpoint: parts.checkpoint } : {}),
  };
}

// ---- Tests ---------------------------------------------------------------------------------------------

describe('store: a batch of records leaves the rows of one call per record', () => {
  test('one batch: repeated nodes, an attempt and an approval twice, a replan in the middle, records already written', async () => {
    const start = record({
      events: [event(1), event(2)],
      spec: { version: 1, nodeIds: ['a', 'b', 'c', 'd'] },
      nodes: [nodeRun('a', 'ready'), nodeRun('b', 'pending'), nodeRun('c', 'pending'), nodeRun('d', 'pending'), nodeRun('c[0]', 'pending')],
      checkpoint: checkpoint(1, 'run-started'),
    });
    const rest = [
      // Written already (by the prefix): skipped.
      start,
      record({
        events: [event(3, 'a runs', 'a'), event(4)],
        nodes: [nodeRun('a', 'running', { currentAttempt: 1 }), nodeRun('d', 'running', { currentAttempt: 1 })],
        approvals: [approval('d#1', 'pending')],
        checkpoint: checkpoint(2),
      }),
      record({
        events: [event(5, 'a done', 'a')],
        nodes: [nodeRun('a', 'completed', { attempts: 1, output: { text: 'first' }, finishedAt: at(5) }), nodeRun('b', 'running'), nodeRun('c[0]', 'running')],
        attempts: [
          attempt('a', 1, {
            output: { text: 'first' },
            issues: [{ severity: 'warning', code: 'short', message: 'could be longer', path: '/text' }],
            artifacts: [{ name: 'doc', kind: 'uri', pointer: 's3://a/1' }],
          }),
        ],
        approvals: [approval('d#1', 'changes-requested', { respondedBy: 'alice', resolvedAt: at(5), response: { approved: false } })],
        checkpoint: checkpoint(3),
      }),
      // Out of order: its seq is below what was written; skipped.
      record({ events: [event(4, 'late')], nodes: [nodeRun('a', 'failed')] }),
      record({
        // The same attempt again, with other values and one more issue and artifact: the first row
        // of each key stays, the new keys are added.
        events: [event(6)],
        nodes: [nodeRun('d', 'completed', { attempts: 1 }), nodeRun('b', 'running', { notes: 'b again' })],
        attempts: [
          attempt('a', 1, {
            output: { text: 'second' },
            issues: [
              { severity: 'blocking', code: 'other', message: 'not kept' },
              { severity: 'warning', code: 'kept', message: 'a new index' },
            ],
            artifacts: [
              { name: 'doc', kind: 'uri', pointer: 's3://a/not-kept' },
              { name: 'cover', kind: 'file', pointer: '/tmp/cover.png' },
            ],
          }),
          attempt('d', 1),
        ],
        approvals: [approval('d#1', 'approved', { respondedBy: 'bob', resolvedAt: at(6), response: { approved: true } })],
        // A checkpoint sequence seen before in the batch: the first stays.
        checkpoint: checkpoint(3, 'node-result-retry'),
      }),
      // The replan: c and d are dropped (and c's instance), after this batch's earlier records wrote
      // d and c[0]; e is new.
      record({
        events: [event(7), event(8)],
        spec: { version: 2, nodeIds: ['a', 'b', 'e'] },
        nodes: [nodeRun('e', 'pending')],
        checkpoint: checkpoint(4, 'node-result-replan'),
      }),
      record({
        // An event seq seen before in the batch comes with a new one: the first row of a seq stays.
        events: [event(8, 'not kept'), event(9, 'e runs', 'e')],
        // d written again after the replan: it stays, as it would have.
        nodes: [nodeRun('e', 'running'), nodeRun('d', 'skipped')],
        approvals: [approval('e#1', 'pending')],
        checkpoint: checkpoint(5),
      }),
      // A continued execution carries spec 2 again: run_specs keeps its first row; the delete runs again.
      record({ events: [event(10)], spec: { version: 2, nodeIds: ['a', 'b', 'd', 'e'] }, nodes: [nodeRun('b', 'completed')], status: 'completed' }),
    ];
    const nodeIds = ['a', 'b', 'c', 'd', 'e', 'c[0]'];
    const batched = await compareBatchWithOneByOne({ prefix: [start], rest, sizes: [rest.length], nodeIds });

    // What the rows are (the comparison alone would pass if both ways were wrong alike).
    assert.deepEqual(await store.recordTransitions(batched, materialize(rest, batched)), { lastSeq: 10, written: 0, skipped: rest.length });
    const nodeRuns = await store.listNodeRuns(batched);
    assert.deepEqual(
      nodeRuns.map((n) => [n.nodeId, n.status, n.notes]),
      [
        ['a', 'completed', undefined],
        ['b', 'completed', undefined],
        ['d', 'skipped', undefined],
        ['e', 'running', undefined],
      ],
    );
    const [a1] = await store.listAttempts(batched, 'a');
    assert.deepEqual(a1.output, { text: 'first' });
    assert.deepEqual(
      a1.issues.map((i) => i.code),
      ['short', 'kept'],
    );
    assert.deepEqual(
      a1.artifacts.map((x) => x.pointer),
      ['s3://a/1', '/tmp/cover.png'],
    );
    assert.deepEqual(
      (await store.listApprovals({ runId: batched })).map((x) => [x.approvalId, x.status, x.respondedBy]).sort(),
      [
        ['d#1', 'approved', 'bob'],
        ['e#1', 'pending', undefined],
      ],
    );
    assert.deepEqual(
      (await store.listCheckpoints(batched)).map((c) => [c.sequence, c.reason]),
      [
        [1, 'run-started'],
        [2, 'node-result-complete'],
        [3, 'node-result-complete'],
        [4, 'node-result-replan'],
        [5, 'node-result-complete'],
      ],
    );
    const events = await store.listEvents(batched);
    assert.deepEqual(
      events.map((e) => e.seq),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.equal(events[7].message, 'event 8');
    assert.deepEqual(
      (await store.listSpecVersions(batched)).map((v) => [v.specVersion, v.spec.nodes.map((n) => n.id)]),
      [
        [1, ['a', 'b', 'c', 'd']],
        [2, ['a', 'b', 'e']],
      ],
    );
    // runs.spec is the last spec carried, and the run row the last record's.
    assert.deepEqual((await store.getSpec(batched))?.nodes.map((n) => n.id), ['a', 'b', 'd', 'e']);
    const run = await store.getRun(batched);
    assert.equal(run?.status, 'completed');
    assert.equal(run?.lastSeq, 10);
  });

  test('a batch whose records are all written already changes nothing', async () => {
    const records = [record({ events: [event(1)], nodes: [nodeRun('a', 'ready')] }), record({ events: [event(2)], nodes: [nodeRun('a', 'running')] })];
    await compareBatchWithOneByOne({ prefix: records, rest: records, sizes: [2], nodeIds: ['a'] });
  });

  test('a start of 1,000 node runs (more than one statement takes) and 50 records in one batch', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `n${i}`);
    const start = record({ events: [event(1)], spec: { version: 1, nodeIds: ids }, nodes: ids.map((id) => ({ ...nodeRun(id, 'pending'), position: Number(id.slice(1)) })) });
    const rest = Array.from({ length: 50 }, (_, r) =>
      record({
        events: Array.from({ length: 6 }, (_, e) => event(2 + r * 6 + e)),
        nodes: [nodeRun(`n${r}`, 'running'), nodeRun(`n${(r * 7) % 1000}`, 'completed')],
        attempts: [attempt(`n${r}`, 1)],
        checkpoint: checkpoint(r + 1),
      }),
    );
    const batched = await compareBatchWithOneByOne({ prefix: [], rest: [start, ...rest], sizes: [51], nodeIds: ['n0', 'n7', 'n49'] });
    assert.equal((await store.listNodeRuns(batched)).length, 1000);
    assert.equal((await store.listEvents(batched)).length, 301);
  });

  test('random batches (fast-check): the rows of one call per record', async (t) => {
    const parameters = fcParams(60);
    t.diagnostic(seedLine(parameters, FILE));
    await fc.assert(
      fc.asyncProperty(historyArb, async ({ records, prefix, sizes }) => {
        await compareBatchWithOneByOne({ prefix: records.slice(0, prefix), rest: records.slice(prefix), sizes, nodeIds: NODE_POOL });
      }),
      parameters,
    );
  });
});

// ---- Random records ----------------------------------------------------------------------------------

const BASE_NODES = ['a', 'b', 'c', 'd'];
/** Base nodes and instances of two of them (a fan-out). */
const NODE_POOL = [...BASE_NODES, 'c[0]', 'c[1]', 'd[0]'];
const APPROVAL_POOL = ['a#1', 'b#1', 'b#2'];

const nodeRunArb = fc
  .record({
    nodeId: fc.constantFrom(...NODE_POOL),
    status: fc.constantFrom<NodeRunRecord['status']>('pending', 'ready', 'running', 'completed', 'failed'),
    attempts: fc.nat(3),
    output: fc.option(fc.constantFrom({ n: 1 }, 'text', null), { nil: undefined }),
    notes: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
  })
  .map(({ nodeId, status, attempts, output, notes }) => nodeRun(nodeId, status, { attempts, ...(output !== undefined ? { output } : {}), ...(notes ? { notes } : {}) }));

const issueArb = fc.record({ severity: fc.constantFrom<'blocking' | 'warning'>('blocking', 'warning'), code: fc.constantFrom('p', 'q', 'r'), message: fc.constantFrom('m1', 'm2') });
const artifactArb = fc.record({ name: fc.constantFrom('doc', 'img', 'log'), kind: fc.constantFrom('uri', 'file'), pointer: fc.constantFrom('s3://1', 's3://2', '/tmp/3') });

const attemptArb = fc
  .record({
    nodeId: fc.constantFrom(...NODE_POOL),
    number: fc.integer({ min: 1, max: 3 }),
    status: fc.constantFrom<AttemptRow['status']>('completed', 'partial', 'failed'),
    issues: fc.array(issueArb, { maxLength: 3 }),
    artifacts: fc.array(artifactArb, { maxLength: 3 }),
    by: fc.constantFrom('agent:1', 'agent:2'),
  })
  .map(({ nodeId, number, status, issues, artifacts, by }) => attempt(nodeId, number, { status, issues, artifacts, by }));

const approvalArb = fc
  .record({
    approvalId: fc.constantFrom(...APPROVAL_POOL),
    status: fc.constantFrom<Approval['status']>('pending', 'approved', 'changes-requested'),
    respondedBy: fc.option(fc.constantFrom('alice', 'bob'), { nil: undefined }),
  })
  .map(({ approvalId, status, respondedBy }) => approval(approvalId, status, respondedBy ? { respondedBy, resolvedAt: at(9) } : {}));

const recordArb = fc
  .record({
    // Seqs jump about: records may repeat seqs, come out of order (skipped) or overlap (a seq twice).
    seqs: fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 3 }),
    lastSeqBelow: fc.boolean(),
    nodes: fc.array(nodeRunArb, { maxLength: 4 }),
    attempts: fc.array(attemptArb, { maxLength: 2 }),
    approvals: fc.array(approvalArb, { maxLength: 2 }),
    checkpoint: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    checkpointReason: fc.constantFrom<Checkpoint['reason']>('node-result-complete', 'node-result-retry'),
    // A spec now and then: start, replan or continue-as-new; now and then one without nodes (no delete).
    spec: fc.option(fc.record({ version: fc.integer({ min: 1, max: 3 }), nodeIds: fc.subarray(BASE_NODES) }), { nil: undefined, freq: 5 }),
    status: fc.constantFrom<TransitionRecord['run']['status']>('running', 'completed'),
  })
  .map((r) =>
    record({
      events: r.seqs.map((seq, i) => event(seq, `event ${seq}.${i}`)),
      nodes: r.nodes,
      attempts: r.attempts,
      approvals: r.approvals,
      ...(r.checkpoint !== undefined ? { checkpoint: checkpoint(r.checkpoint, r.checkpointReason) } : {}),
      ...(r.spec ? { spec: r.spec } : {}),
      status: r.status,
      // The run row's lastSeq is the top seq (as the engine makes it) or below it: the events decide.
      ...(r.lastSeqBelow ? { lastSeq: Math.min(...r.seqs) - 1 } : {}),
    }),
  );

const historyArb = fc
  .record({
    records: fc.array(recordArb, { minLength: 1, maxLength: 12 }),
    prefix: fc.nat(4),
    sizes: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }),
  })
  .map(({ records, prefix, sizes }) => ({ records, prefix: Math.min(prefix, records.length - 1), sizes }));
