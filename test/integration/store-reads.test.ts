/**
 * Reads from the store through the client library and the CLI (`node bin/plan-runner.js … --store`),
 * with no Temporal server: the store is filled with the records the real engine produces
 * (`createRunState`, `startRun`, `applyAgentSubmission`, `applyHumanResponse`, `recordOf`) and
 * written with `store.recordTransitions`, as the worker does.
 *
 * The store is PLAN_STORE_URL when it is set (e.g. a shared PostgreSQL), else a fresh SQLite file in a
 * temporary directory. Run ids and people are unique per test process, so the file can run again and
 * again against the same database.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  applyAgentSubmission,
  applyHumanResponse,
  createRunState,
  recordOf,
  replanRun,
  startRun,
  type Issue,
  type PlanSpec,
  type Refusal,
  type RunEvent,
  type RunState,
  type Transition,
  type TransitionRecord,
} from '../../src/engine';
import { openStore } from '../../src/store';
import type { PlanStore } from '../../src/store/types';
import { PlanRunnerClient } from '../../src/client/plan-runner-client';
import { StoreReader } from '../../src/client/store-reads';
import { NodeNotFoundError, RunNotFoundError, SpecVersionNotFoundError, StoreUnavailableError } from '../../src/client/errors';

const BIN = path.resolve(__dirname, '../../../bin/plan-runner.js');
const SUFFIX = randomUUID().slice(0, 8);
const ALICE = `alice-${SUFFIX}`;
const BOB = `bob-${SUFFIX}`;
const T0 = Date.parse('2026-03-01T09:00:00.000Z');

let tmp: string;
let storeUrl: string;
let store: PlanStore;


// ---- Records from the real engine -------------------------------------------------------------------

function spec(id: string): PlanSpec {
  return {
    id,
    title: `Store reads ${id}`,
    nodes: [
      { id: 'research', type: 'task', owner: { kind: 'agent', ref: 'researcher' }, retry: { maxAttempts: 2 } },
      { id: 'draft', type: 'task', owner: { kind: 'agent', ref: 'writer' } },
      { id: 'approve', type: 'human-approval', owner: { kind: 'human', ref: `editors-${SUFFIX}` }, approvers: [ALICE, BOB] },
    ],
    edges: [
      { from: 'research', to: 'draft' },
      { from: 'draft', to: 'approve' },
    ],
  };
}

function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && (value as { refused?: unknown }).refused === true;
}

/** One run driven through the engine; each step's record is written to the store. */
class RecordedRun {
  state: RunState;
  readonly events: RunEvent[] = [];
  private tick = 0;
  private first = true;

  constructor(
    readonly runId: string,
    planId = 'store-reads',
  ) {
    this.state = createRunState({ runId, spec: spec(planId), input: { topic: 'stores' }, now: this.now() });
  }

  now(): string {
    return new Date(T0 + 1000 * this.tick++).toISOString();
  }

  private async take(result: Transition | Refusal): Promise<void> {
    if (isRefusal(result)) assert.fail(`the engine refused: ${result.reason}: ${result.message}`);
    // As the workflow does: the spec travels on the first record and on a replan's (a new version).
    const includeSpec = this.first || result.state.specVersion !== this.state.specVersion;
    const record: TransitionRecord | undefined = recordOf(this.first ? undefined : this.state, result, { includeSpec });
    this.first = false;
    this.state = result.state;
    this.events.push(...result.events);
    if (record) await store.recordTransitions(this.runId, [record]);
  }

  start() {
    return this.take(startRun(this.state, this.now()));
  }

  submit(nodeId: string, output: unknown, issues: Issue[] = [], extra: Record<string, unknown> = {}) {
    return this.take(applyAgentSubmission(this.state, { nodeId, structuredOutput: output, ...extra }, issues, this.now()));
  }

  respond(by: string, response: Record<string, unknown>) {
    return this.take(applyHumanResponse(this.state, { nodeId: 'approve', respondedBy: by, response }, [], this.now()));
  }

  replan(newSpec: PlanSpec) {
    return this.take(replanRun(this.state, { spec: newSpec, by: 'ops', reason: 'a new version' }, this.now()));
  }
}

const SCHEMA_ISSUE: Issue = { severity: 'blocking', code: 'schema', path: 'summary', message: 'must NOT have fewer than 20 characters' };
const FEW_SOURCES: Issue = { severity: 'warning', code: 'min-length', path: 'sources', message: 'sources has fewer than 3 items' };

/** Run A: research fails validation once, then passes; draft done; the approval waits for ALICE or BOB. */
let runA: RecordedRun;
/** Run B: everything done, BOB approved: the run is completed. */
let runB: RecordedRun;

/** Opens (and migrates) the store, then records runs A and B. */
async function setUp(): Promise<void> {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-runner-store-reads-'));
  storeUrl = process.env.PLAN_STORE_URL || path.join(tmp, 'store.db');
  store = await openStore(storeUrl);
  await store.migrate();

  runA = new RecordedRun(`store-a-${SUFFIX}`);
  await runA.start();
  await runA.submit('research', { summary: 'short' }, [SCHEMA_ISSUE, FEW_SOURCES], { by: 'agent:researcher-1' });
  await runA.submit('research', { summary: 'A long enough summary of stores.', sources: ['a'] }, [FEW_SOURCES], {
    artifacts: [{ name: 'notes', kind: 'file', pointer: './notes.md' }],
  });
  await runA.submit('draft', { title: 'T', body: 'B' });

  runB = new RecordedRun(`store-b-${SUFFIX}`);
  await runB.start();
  await runB.submit('research', { summary: 'ok' });
  await runB.submit('draft', { title: 'T', body: 'B' });
  await runB.respond(BOB, { approved: true });
  assert.equal(runB.state.status, 'completed');
}

async function tearDown(): Promise<void> {
  await store?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

// ---- The CLI as a subprocess -------------------------------------------------------------------------

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `plan-runner ARGS --store <url>`; Temporal is pointed nowhere, so a stray connection would show. */
async function cli(...args: string[]): Promise<CliRun> {
  return cliWith(storeUrl, ...args);
}

async function cliWith(url: string, ...args: string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args, '--store', url, '--address', '127.0.0.1:1'], {
      env: { ...process.env, CI: 'true', PLAN_RUNNER_CONNECT_TIMEOUT_MS: '300' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
const json = (text: string) => JSON.parse(text.trim());

/** A CLI subprocess whose output can be read while it runs. */
function spawnCli(...args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args, '--store', storeUrl, '--address', '127.0.0.1:1'], {
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function until(probe: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// ---- Tests --------------------------------------------------------------------------------------

describe('reads from the store', () => {
  before(setUp);
  after(tearDown);

  describe('events', () => {
    test('the client reads every event in seq order, and --since / limit', async () => {
      const client = new PlanRunnerClient({ address: '127.0.0.1:1', storeUrl });
      try {
        const events = await client.events(runA.runId);
        assert.deepEqual(
          events.map((e) => [e.seq, e.type, e.nodeId ?? null]),
          runA.events.map((e) => [e.seq, e.type, e.nodeId ?? null]),
        );
        assert.deepEqual(events.at(-1), runA.events.at(-1), 'events come back as the engine emitted them');
        assert.deepEqual((await client.events(runA.runId, 5)).map((e) => e.seq), runA.events.slice(5).map((e) => e.seq));
        assert.deepEqual((await client.events(runA.runId, { sinceSeq: 2, limit: 3 })).map((e) => e.seq), [3, 4, 5]);
        assert.equal(client.storeLocation, store.location);
      } finally {
        await client.close();
      }
    });

    test('CLI: JSON Lines with --json, one text line per event otherwise, --since', async () => {
      const all = await cli('events', runA.runId, '--json');
      assert.equal(all.code, 0, all.stderr);
      const lines = jsonLines(all.stdout);
      assert.deepEqual(lines.map((e) => e.id), runA.events.map((e) => e.id));

      const since = await cli('events', runA.runId, '--since', '4', '--json');
      assert.equal(since.code, 0, since.stderr);
      assert.deepEqual(jsonLines(since.stdout).map((e) => e.seq), runA.events.filter((e) => e.seq > 4).map((e) => e.seq));

      const text = await cli('events', runA.runId, '--since', String(runA.events.length - 2));
      assert.equal(text.code, 0, text.stderr);
      const textLines = text.stdout.trimEnd().split('\n');
      assert.equal(textLines.length, 2);
      const last = runA.events.at(-1)!;
      // The last event (the checkpoint) is the engine's, after the act that began the step.
      assert.match(textLines[1], new RegExp(`^\\s*${last.seq}  ${last.at}  ${last.type}\\s+.*\\(by ${last.by}(, after \\w+ #\\d+ by \\S+)?\\)$`));
      assert.ok(textLines[1].includes(last.message));
    });

    test('an unknown run is exit 3 naming the store; a bad --since is exit 2', async () => {
      const unknown = await cli('events', `nope-${SUFFIX}`);
      assert.equal(unknown.code, 3, unknown.stderr);
      assert.match(unknown.stderr, new RegExp(`no run nope-${SUFFIX} in the store at `));
      assert.ok(unknown.stderr.includes(store.location), unknown.stderr);
      const unknownJson = await cli('events', `nope-${SUFFIX}`, '--json');
      assert.equal(unknownJson.code, 3);
      assert.equal(json(unknownJson.stdout).code, 'not-found');

      const bad = await cli('events', runA.runId, '--since', 'yesterday');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--since/);
    });
  });

  describe('approvals', () => {
    test('the client filters by pending, by person and by run', async () => {
      const client = new PlanRunnerClient({ address: '127.0.0.1:1', storeUrl });
      try {
        const pendingForAlice = await client.approvals({ pending: true, by: ALICE });
        assert.deepEqual(
          pendingForAlice.map((a) => [a.runId, a.approvalId, a.status]),
          [[runA.runId, 'approve#1', 'pending']],
        );
        const bob = await client.approvals({ by: BOB });
        assert.deepEqual(
          bob.map((a) => [a.runId, a.status, a.respondedBy ?? null]).sort(),
          [
            [runA.runId, 'pending', null],
            [runB.runId, 'approved', BOB],
          ].sort(),
        );
        assert.deepEqual((await client.approvals({ runId: runB.runId })).map((a) => a.status), ['approved']);
        assert.deepEqual(await client.approvals({ pending: true, runId: runB.runId }), []);
      } finally {
        await client.close();
      }
    });

    test('CLI: --pending --by --run --json, and the table', async () => {
      const pending = await cli('approvals', '--pending', '--by', ALICE, '--json');
      assert.equal(pending.code, 0, pending.stderr);
      const body = json(pending.stdout);
      assert.deepEqual(body.map((a: { runId: string; approvalId: string }) => [a.runId, a.approvalId]), [[runA.runId, 'approve#1']]);
      assert.deepEqual(body[0].approvers, [ALICE, BOB]);

      const ofB = await cli('approvals', '--run', runB.runId, '--json');
      assert.deepEqual(json(ofB.stdout).map((a: { respondedBy?: string }) => a.respondedBy), [BOB]);

      const table = await cli('approvals', '--by', BOB);
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trimEnd().split('\n');
      assert.match(lines[0], /^APPROVAL\s+RUN\s+NODE\s+STATUS\s+OWNER \(APPROVERS\)\s+REQUESTED\s+RESPONDED BY$/);
      assert.equal(lines.length, 3, table.stdout);
      const rowB = lines.find((line) => line.includes(runB.runId));
      assert.ok(rowB, table.stdout);
      assert.match(rowB, new RegExp(`^approve#1\\s+${runB.runId}\\s+approve\\s+approved\\s+human:editors-${SUFFIX} \\(${ALICE}, ${BOB}\\)\\s+\\S+\\s+${BOB}$`));

      const none = await cli('approvals', '--pending', '--by', `nobody-${SUFFIX}`);
      assert.equal(none.code, 0);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, /no pending approvals/);
    });
  });

  describe('attempts', () => {
    test('the client returns each attempt with its issues and artifacts', async () => {
      const client = new PlanRunnerClient({ address: '127.0.0.1:1', storeUrl });
      try {
        const attempts = await client.attempts(runA.runId, 'research');
        assert.deepEqual(
          attempts.map((a) => [a.attempt, a.status, a.by, a.failureClass ?? null]),
          [
            [1, 'failed', 'agent:researcher-1', 'validation'],
            [2, 'partial', 'agent:researcher', null],
          ],
        );
        assert.deepEqual(attempts[0].issues, [SCHEMA_ISSUE, FEW_SOURCES]);
        assert.deepEqual(attempts[1].issues, [FEW_SOURCES]);
        assert.deepEqual(attempts[1].artifacts, [{ name: 'notes', kind: 'file', pointer: './notes.md' }]);
        assert.deepEqual(await client.attempts(runA.runId, 'approve'), [], 'a node without attempts');
        await assert.rejects(client.attempts(runA.runId, 'nope'), NodeNotFoundError);
        await assert.rejects(client.attempts(`nope-${SUFFIX}`, 'research'), RunNotFoundError);
      } finally {
        await client.close();
      }
    });

    test('CLI: attempts with issues indented under them; unknown node or run is exit 3', async () => {
      const text = await cli('attempts', runA.runId, 'research');
      assert.equal(text.code, 0, text.stderr);
      const lines = text.stdout.trimEnd().split('\n');
      assert.match(lines[0], /^attempt 1\s+failed\s+by agent:researcher-1\s+at 2026-03-01T09:00:0\d\.000Z\s+failure validation$/);
      assert.match(lines[1], /^ {4}blocking\s+schema\s+summary\s+must NOT have fewer than 20 characters$/);
      assert.match(lines[2], /^ {4}warning\s+min-length\s+sources\s+sources has fewer than 3 items$/);
      assert.match(lines[3], /^attempt 2\s+partial\s+by agent:researcher\s+at \S+$/);
      assert.match(lines[4], /^ {4}warning\s+min-length\s+sources/);
      assert.equal(lines[5], '    artifact notes (file): ./notes.md');
      assert.equal(lines.length, 6);

      const asJson = await cli('attempts', runA.runId, 'research', '--json');
      const body = json(asJson.stdout);
      assert.equal(body.length, 2);
      assert.deepEqual(body[0].issues, [SCHEMA_ISSUE, FEW_SOURCES]);

      const node = await cli('attempts', runA.runId, 'nope');
      assert.equal(node.code, 3);
      assert.match(node.stderr, /has no node "nope"; its nodes: research, draft, approve/);
      const run = await cli('attempts', `nope-${SUFFIX}`, 'research');
      assert.equal(run.code, 3);
    });
  });

  describe('checkpoints', () => {
    test('client and CLI: every checkpoint in sequence order', async () => {
      const client = new PlanRunnerClient({ address: '127.0.0.1:1', storeUrl });
      let expected: string[];
      try {
        const checkpoints = await client.checkpoints(runA.runId);
        expected = runA.events.filter((e) => e.type === 'checkpoint-saved').map((e) => String(e.detail?.reason));
        assert.deepEqual(checkpoints.map((c) => c.reason), expected);
        assert.deepEqual(checkpoints.map((c) => c.sequence), expected.map((_, i) => i + 1));
        assert.deepEqual(checkpoints.at(-1)?.nodeStatuses, { research: 'partial', draft: 'completed', approve: 'awaiting-human' });
        await assert.rejects(client.checkpoints(`nope-${SUFFIX}`), RunNotFoundError);
      } finally {
        await client.close();
      }
      const asJson = await cli('checkpoints', runA.runId, '--json');
      assert.equal(asJson.code, 0, asJson.stderr);
      assert.deepEqual(json(asJson.stdout).map((c: { reason: string }) => c.reason), expected);
      const text = await cli('checkpoints', runA.runId);
      const lines = text.stdout.trimEnd().split('\n');
      assert.equal(lines.length, expected.length + 1);
      assert.match(lines[0], /^SEQ\s+REASON\s+RUN STATUS/);
      assert.match(lines.at(-1)!, new RegExp(`^${expected.length}\\s+node-result-complete\\s+awaiting-human\\s+\\S+\\s+-\\s+approve\\s+research,draft$`));
      assert.equal((await cli('checkpoints', `nope-${SUFFIX}`)).code, 3);
    });
  });

  describe('specs', () => {
    /** Run A's plan with a new title and a publish node after the approval. */
    function specV2(): PlanSpec {
      const v2 = spec('store-reads');
      v2.title = 'Store reads, version 2';
      v2.nodes.push({ id: 'publish', type: 'task', owner: { kind: 'agent', ref: 'publisher' } });
      v2.edges!.push({ from: 'approve', to: 'publish' });
      return v2;
    }

    /** Run C: research done, then replanned to specV2. */
    let runC: RecordedRun;
    let replannedAt: string;

    before(async () => {
      runC = new RecordedRun(`store-c-${SUFFIX}`);
      await runC.start();
      await runC.submit('research', { summary: 'A long enough summary of stores.' });
      await runC.replan(specV2());
      assert.equal(runC.state.specVersion, 2);
      replannedAt = runC.events.find((e) => e.type === 'run-replanned')!.at;
    });

    test('the store reader lists both versions of a replanned run and reads each; unknown run or version are not-found', async () => {
      const reader = new StoreReader({ url: storeUrl });
      try {
        const versions = await reader.specVersions(runC.runId);
        assert.deepEqual(versions, [
          { specVersion: 1, recordedAt: runC.events[0].at, spec: spec('store-reads') },
          { specVersion: 2, recordedAt: replannedAt, spec: specV2() },
        ]);
        assert.deepEqual(await reader.spec(runC.runId, 1), spec('store-reads'));
        assert.deepEqual(await reader.spec(runC.runId, 2), specV2());
        assert.deepEqual(await reader.spec(runC.runId), specV2(), 'without a version: the current spec');
        assert.deepEqual((await reader.specVersions(runA.runId)).map((v) => v.specVersion), [1]);
        await assert.rejects(reader.spec(runC.runId, 3), (err: unknown) => {
          assert.ok(err instanceof SpecVersionNotFoundError);
          assert.equal(err.code, 'not-found');
          assert.match(err.message, /has no spec version 3 \(its versions: 1, 2\)/);
          return true;
        });
        await assert.rejects(reader.specVersions(`nope-${SUFFIX}`), RunNotFoundError);
        await assert.rejects(reader.spec(`nope-${SUFFIX}`, 1), RunNotFoundError);
      } finally {
        await reader.close();
      }
      // The client library reads the same versions.
      const client = new PlanRunnerClient({ address: '127.0.0.1:1', storeUrl });
      try {
        assert.deepEqual((await client.specVersions(runC.runId)).map((v) => v.specVersion), [1, 2]);
        assert.deepEqual(await client.storedSpec(runC.runId, 1), spec('store-reads'));
        assert.deepEqual(await client.storedSpec(runC.runId), specV2());
        await assert.rejects(client.storedSpec(runC.runId, 3), SpecVersionNotFoundError);
      } finally {
        await client.close();
      }
    });

    test('CLI: one line per version; --json; --version N prints that spec as JSON', async () => {
      const text = await cli('specs', runC.runId);
      assert.equal(text.code, 0, text.stderr);
      const lines = text.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 3, text.stdout);
      assert.match(lines[0], /^VERSION\s+RECORDED\s+NODES\s+TITLE$/);
      assert.match(lines[1], new RegExp(`^1\\s+${runC.events[0].at}\\s+3\\s+Store reads store-reads$`));
      assert.match(lines[2], new RegExp(`^2\\s+${replannedAt}\\s+4\\s+Store reads, version 2$`));

      const asJson = await cli('specs', runC.runId, '--json');
      assert.equal(asJson.code, 0, asJson.stderr);
      const body = json(asJson.stdout);
      assert.deepEqual(body.map((v: { specVersion: number }) => v.specVersion), [1, 2]);
      assert.deepEqual(body[1].spec, specV2());

      const v1 = await cli('specs', runC.runId, '--version', '1');
      assert.equal(v1.code, 0, v1.stderr);
      assert.deepEqual(json(v1.stdout), spec('store-reads'), 'version 1 is still readable after the replan');
      assert.ok(v1.stdout.trimEnd().split('\n').length > 1, 'indented for people');
      const v2 = await cli('specs', runC.runId, '--version', '2', '--json');
      assert.equal(v2.code, 0, v2.stderr);
      assert.equal(v2.stdout.trimEnd().split('\n').length, 1, 'one line with --json');
      assert.deepEqual(json(v2.stdout), specV2());
    });

    test('CLI: an unknown run or version is exit 3 naming it; a bad --version is exit 2', async () => {
      const unknown = await cli('specs', `nope-${SUFFIX}`);
      assert.equal(unknown.code, 3, unknown.stderr);
      assert.match(unknown.stderr, new RegExp(`no run nope-${SUFFIX} in the store at `));
      assert.ok(unknown.stderr.includes(store.location), unknown.stderr);
      const unknownJson = await cli('specs', `nope-${SUFFIX}`, '--version', '1', '--json');
      assert.equal(unknownJson.code, 3);
      assert.equal(json(unknownJson.stdout).code, 'not-found');
      assert.equal(json(unknownJson.stdout).store, store.location);

      const version = await cli('specs', runC.runId, '--version', '3', '--json');
      assert.equal(version.code, 3, version.stderr);
      assert.equal(json(version.stdout).code, 'not-found');
      assert.match(version.stderr, new RegExp(`run ${runC.runId} has no spec version 3 \\(its versions: 1, 2\\)`));

      const bad = await cli('specs', runC.runId, '--version', '0');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--version/);
    });
  });

  describe('migrate', () => {
    test('creates a fresh SQLite store, then has nothing left to apply', async () => {
      const file = path.join(tmp, 'fresh', 'migrated.db');
      const first = await cliWith(file, 'migrate', '--json');
      assert.equal(first.code, 0, first.stderr);
      const report = json(first.stdout);
      assert.equal(report.dialect, 'sqlite');
      assert.equal(report.location, file);
      assert.ok(report.applied.length >= 1);
      assert.deepEqual(report.current, report.applied);
      assert.ok(fs.existsSync(file));

      const again = await cliWith(file, 'migrate');
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^store: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(sqlite\\)\\nup to date`));

      const empty = await cliWith(file, 'events', `nope-${SUFFIX}`);
      assert.equal(empty.code, 3, 'an empty store knows no run');
    });

    test('on the test store: reports where it is and what it has', async () => {
      const result = await cli('migrate', '--json');
      assert.equal(result.code, 0, result.stderr);
      const report = json(result.stdout);
      assert.equal(report.location, store.location);
      assert.deepEqual(report.applied, [], 'before() migrated it already');
      assert.ok(report.current.length >= 1);
    });
  });

  describe('follow', () => {
    test('client: followEvents yields events as they are recorded and ends when the run completes', async () => {
      const run = new RecordedRun(`store-f-${SUFFIX}`);
      await run.start();
      const client = new PlanRunnerClient({ address: '127.0.0.1:1', storeUrl });
      const seen: RunEvent[] = [];
      const steps = [
        () => run.submit('research', { summary: 'ok' }),
        () => run.submit('draft', { title: 'T', body: 'B' }),
        () => run.respond(ALICE, { approved: true }),
      ];
      try {
        for await (const event of client.followEvents(run.runId, { pollMs: 20 })) {
          seen.push(event);
          // Record the next step once everything recorded so far has been seen.
          if (event.seq === run.events.length && steps.length) await steps.shift()!();
        }
      } finally {
        await client.close();
      }
      assert.equal(steps.length, 0);
      assert.equal(run.state.status, 'completed');
      assert.deepEqual(seen.map((e) => e.seq), run.events.map((e) => e.seq), 'every event once, in order, through the last');
    });

    test('CLI: --follow --json waits for a run about to start, prints events as they are recorded, exits 0 when it finishes', async () => {
      const run = new RecordedRun(`store-g-${SUFFIX}`);
      const follower = spawnCli('events', run.runId, '--follow', '--json', '--poll', '50');
      const printed = () => jsonLines(follower.stdout()).length;
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(follower.child.exitCode, null, 'waits for the run to appear in the store');
      await run.start();
      await until(() => printed() === run.events.length, 'the first events');
      await run.submit('research', { summary: 'ok' });
      await until(() => printed() === run.events.length, 'the research events');
      await run.submit('draft', { title: 'T', body: 'B' });
      await until(() => printed() === run.events.length, 'the draft events');
      assert.equal(follower.child.exitCode, null, 'still following while the run waits for a person');
      await run.respond(BOB, { approved: true });
      const code = await follower.exit;
      assert.equal(code, 0, follower.stderr());
      assert.deepEqual(jsonLines(follower.stdout()).map((e) => e.seq), run.events.map((e) => e.seq));
      assert.equal(jsonLines(follower.stdout()).at(-1).type, 'checkpoint-saved');
    });

    test('CLI: --follow in text mode; Ctrl-C stops it cleanly with exit 0', async () => {
      const run = new RecordedRun(`store-h-${SUFFIX}`);
      await run.start();
      const follower = spawnCli('events', run.runId, '--follow', '--since', '1', '--poll', '50');
      const lines = () => follower.stdout().split('\n').filter(Boolean);
      await until(() => lines().length === run.events.length - 1, 'the events after seq 1');
      await run.submit('research', { summary: 'ok' });
      await until(() => lines().length === run.events.length - 1, 'the research events');
      assert.match(lines()[0], /^\s+2  \S+  node-ready\s+/);
      follower.child.kill('SIGINT');
      const code = await follower.exit;
      assert.equal(code, 0, follower.stderr());
      assert.match(follower.stderr(), new RegExp(`stopped following run ${run.runId} at seq ${run.events.length}`));
      assert.doesNotMatch(follower.stderr(), /\n\s+at /, 'no stack trace');
    });

    test('CLI: --follow on a finished run prints its log and exits; on an unknown run exit 3', async () => {
      const done = await cli('events', runB.runId, '--follow');
      assert.equal(done.code, 0, done.stderr);
      assert.equal(done.stdout.trimEnd().split('\n').length, runB.events.length);
      assert.match(done.stderr, new RegExp(`run ${runB.runId} is completed \\(last seq ${runB.events.length}\\)`));
      const startedAt = Date.now();
      const unknown = await cli('events', `nope-${SUFFIX}`, '--follow', '--wait', '300', '--poll', '50');
      assert.equal(unknown.code, 3, unknown.stderr);
      assert.match(unknown.stderr, new RegExp(`no run nope-${SUFFIX} in the store`));
      assert.ok(Date.now() - startedAt < 8000, 'gives up after --wait');
    });
  });

  describe('replan --dry-run', () => {
    /** Run A's plan with draft changed and a new publish node after the approval, as a JSON file. */
    function writeV2(name: string, change: (v2: PlanSpec) => void = () => undefined): string {
      const v2 = spec('store-reads');
      v2.nodes[1] = { ...v2.nodes[1], objective: 'Draft it again, shorter' };
      v2.nodes.push({ id: 'publish', type: 'task', owner: { kind: 'agent', ref: 'publisher' } });
      v2.edges!.push({ from: 'approve', to: 'publish' });
      change(v2);
      const file = path.join(tmp, name);
      fs.writeFileSync(file, JSON.stringify(v2, null, 2));
      return file;
    }

    test('compares with the spec in the store and prints what would be kept, reset, added, removed; sends nothing', async () => {
      const before = await store.getRun(runA.runId);
      const file = writeV2('v2.plan.json');
      const text = await cli('replan', runA.runId, file, '--dry-run');
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`^dry run \\(nothing sent\\): run ${runA.runId} \\(plan store-reads, awaiting-human\\), spec version 1 → 2`));
      assert.match(text.stdout, /^ {2}kept\s+research$/m);
      assert.match(text.stdout, /^ {2}reset\s+draft, approve$/m);
      assert.match(text.stdout, /^ {2}added\s+publish$/m);
      assert.match(text.stdout, /^ {2}removed\s+-$/m);
      assert.match(text.stdout, /^ {2}stopped\s+approve /m);

      const asJson = await cli('replan', runA.runId, file, '--dry-run', '--json', '--by', 'ops', '--reason', 'shorter drafts');
      assert.equal(asJson.code, 0, asJson.stderr);
      const preview = json(asJson.stdout);
      assert.deepEqual(
        [preview.kept, preview.reset, preview.added, preview.removed, preview.changed, preview.affected, preview.stoppedNodeIds],
        [['research'], ['draft', 'approve'], ['publish'], [], ['draft'], ['approve'], ['approve']],
      );
      assert.equal(preview.basedOnSeq, runA.events.length);
      assert.deepEqual(await store.getRun(runA.runId), before, 'the store is untouched');

      // The client gives the same preview, and the current spec.
      const client = new PlanRunnerClient({ address: '127.0.0.1:1', storeUrl });
      try {
        assert.deepEqual(await client.storedSpec(runA.runId), spec('store-reads'));
        assert.deepEqual(await client.previewReplan(runA.runId, JSON.parse(fs.readFileSync(file, 'utf8'))), preview);
      } finally {
        await client.close();
      }
    });

    test('an invalid spec is exit 1 with "PATH: message" lines, before the store is read', async () => {
      const file = writeV2('v2-invalid.plan.json', (v2) => {
        v2.edges!.push({ from: 'publish', to: 'nowhere' });
        (v2.nodes[0] as { owner?: unknown }).owner = undefined;
      });
      const run = await cliWith(path.join(tmp, 'absent.db'), 'replan', runA.runId, file, '--dry-run');
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /^invalid plan spec \(2 problems\):$/m);
      assert.match(run.stderr, /^\$\.edges\[3\]\.to: /m);
      assert.match(run.stderr, /^\$\.nodes\[0\]\.owner: /m);
      const asJson = await cli('replan', runA.runId, file, '--json');
      assert.equal(asJson.code, 1);
      assert.deepEqual(json(asJson.stdout).errors.map((e: { path: string }) => e.path).sort(), ['$.edges[3].to', '$.nodes[0].owner']);
    });

    test('a finished run or another plan id would be refused (exit 1); an unknown run is exit 3', async () => {
      const file = writeV2('v2-b.plan.json');
      const finished = await cli('replan', runB.runId, file, '--dry-run', '--json');
      assert.equal(finished.code, 1, finished.stderr);
      assert.equal(json(finished.stdout).refusal.reason, 'run-finished');

      const other = await cli('replan', runA.runId, writeV2('other.plan.json', (v2) => (v2.id = 'another-plan')), '--dry-run');
      assert.equal(other.code, 1);
      assert.match(other.stdout, /^would be refused \(invalid-spec\): \$\.id: /m);

      const unknown = await cli('replan', `nope-${SUFFIX}`, file, '--dry-run');
      assert.equal(unknown.code, 3, unknown.stderr);
      assert.match(unknown.stderr, new RegExp(`no run nope-${SUFFIX} in the store at `));
    });

    test('without --dry-run a valid spec is sent to Temporal (unreachable here: exit 3)', async () => {
      const run = await cli('replan', runA.runId, writeV2('v2-send.plan.json'));
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, /cannot reach Temporal at 127\.0\.0\.1:1/);
    });
  });

  describe('a store that cannot be opened', () => {
    test('an unreachable PostgreSQL is exit 3, naming it without its password, with the fix', async () => {
      const run = await cliWith('postgres://plan:s3cret@127.0.0.1:1/plans', 'events', 'any-run');
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, /127\.0\.0\.1:1\/plans/);
      assert.doesNotMatch(run.stderr, /s3cret/);
      assert.match(run.stderr, /PLAN_STORE_URL/);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      const asJson = await cliWith('postgres://plan:s3cret@127.0.0.1:1/plans', 'approvals', '--json');
      assert.equal(asJson.code, 3);
      const body = json(asJson.stdout);
      assert.equal(body.code, 'unavailable');
      assert.doesNotMatch(body.store, /s3cret/);
    });

    test('a SQLite path that is a directory is exit 3; the client throws StoreUnavailableError', async () => {
      const run = await cliWith(tmp, 'checkpoints', 'any-run');
      assert.equal(run.code, 3, run.stderr);
      assert.ok(run.stderr.includes(tmp), run.stderr);
      const client = new PlanRunnerClient({ address: '127.0.0.1:1', storeUrl: path.join(tmp, 'absent.db') });
      await assert.rejects(client.events('any-run'), (err: unknown) => {
        assert.ok(err instanceof StoreUnavailableError);
        assert.equal(err.location, path.join(tmp, 'absent.db'));
        return true;
      });
      await client.close();
      assert.equal(fs.existsSync(path.join(tmp, 'absent.db')), false, 'reading never creates a store');
    });
  });
});
