/**
 * CLI tests that need no Temporal server: validation, local refusals and usage errors. Commands that
 * would talk to a server get the unroutable address 127.0.0.1:1, so an accidental connection shows
 * up as exit code 3 instead of the expected 1 or 2.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main, parseArtifact, parseFailure, type CliIO } from '../../src/client/cli';
import { NodeNotFoundError, RunNotFoundError, StoreSetupError, StoreUnavailableError, TemporalUnavailableError } from '../../src/client/errors';
import {
  approvalsTable,
  attemptsText,
  checkpointsTable,
  formatEventLine,
  migrateText,
  replanPreviewText,
  replanSummary,
} from '../../src/client/format';
import { StoreReader, storeTarget, translateStoreError } from '../../src/client/store-reads';
import { parsePlanText } from '../../src/client/load-spec';
import { PlanRunnerClient, computeReplanPreview, defaultUiUrl } from '../../src/client/plan-runner-client';
import { PlanValidationError } from '../../src/client/errors';
import { replanRun, snapshotOf, type RunReplannedDetail } from '../../src/engine';
import { statusText, statusView } from '../../src/client/cli/views';
import type { PlanSpec } from '../../src/engine/spec';
import type { Checkpoint, NodeStatus, RunEvent, RunStatus } from '../../src/engine/types';
import type { PlanStore, StoredApproval, StoredAttempt, StoredRun } from '../../src/store/types';
import { Driver, chain, edge, human, ok, plan, task } from './engine-helpers';
import { StoreError } from '../../src/store/errors';

const NOWHERE = ['--address', '127.0.0.1:1'];

test('the worker command finds the worker module it loads lazily', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { WORKER_MODULE } = require('../../src/client/cli/commands/worker') as { WORKER_MODULE: string };
  assert.ok(fs.existsSync(require.resolve(WORKER_MODULE)), WORKER_MODULE);
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Run> {
  return cliWith({}, ...args);
}

/** The CLI with an injected store (`main`'s third argument). */
async function cliWith(deps: { store?: PlanStore }, ...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) };
  const code = await main(['node', 'plan-runner', ...args], io, deps);
  return { code, stdout, stderr };
}

function jsonOut(run: Run): any {
  const lines = run.stdout.trim().split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `expected one JSON line on stdout, got:\n${run.stdout}`);
  return JSON.parse(lines[0]);
}

const VALID = `
id: greet
title: Say hello
inputSchema: GreetInput
schemas:
  GreetInput: { type: object, required: [name], properties: { name: { type: string } } }
  Greeting: { type: object, required: [text], properties: { text: { type: string } } }
nodes:
  - id: write
    type: task
    owner: { kind: agent, ref: writer }
    outputSchema: Greeting
  - id: approve
    type: human-approval
    owner: { kind: human, ref: editors }
  - id: send
    type: task
    owner: { kind: agent, ref: sender }
edges:
  - { from: write, to: approve }
  - { from: approve, to: send, when: if the editor likes it }
`;

const INVALID = `
id: broken
nodes:
  - id: a
    type: task
  - id: a
    type: task
    owner: { kind: agent, ref: x }
  - id: b
    type: human-approval
    owner: { kind: agent, ref: y }
edges:
  - { from: a, to: nowhere }
`;

const SYNTAX_ERROR = `
id: oops
nodes:
  - id: a
    type: task
    owner: { kind: agent, ref: x
`;

let dir: string;
let validFile: string;
let invalidFile: string;
let syntaxFile: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-runner-cli-'));
  validFile = path.join(dir, 'valid.plan.yaml');
  invalidFile = path.join(dir, 'invalid.plan.yaml');
  syntaxFile = path.join(dir, 'syntax.plan.yaml');
  fs.writeFileSync(validFile, VALID);
  fs.writeFileSync(invalidFile, INVALID);
  fs.writeFileSync(syntaxFile, SYNTAX_ERROR);
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('plan-runner validate', () => {
  test('a valid file exits 0 and lists its warnings', async () => {
    const run = await cli('validate', validFile);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^warning: \$\.edges\[1\]\.when: .+/m);
    assert.match(run.stderr, /valid plan greet/);
  });

  test('--json on a valid file', async () => {
    const run = await cli('validate', validFile, '--json');
    assert.equal(run.code, 0);
    const body = jsonOut(run);
    assert.equal(body.valid, true);
    assert.deepEqual(body.errors, []);
    assert.ok(body.warnings.length >= 1);
    for (const warning of body.warnings) {
      assert.equal(typeof warning.path, 'string');
      assert.equal(typeof warning.message, 'string');
    }
  });

  test('an invalid file exits 1 with every problem as "PATH: message"', async () => {
    const run = await cli('validate', invalidFile);
    assert.equal(run.code, 1);
    const lines = run.stdout.trim().split('\n');
    assert.ok(lines.length >= 3, run.stdout);
    for (const line of lines) assert.match(line, /^(warning: )?\$[^\s:]*: \S.*/);
    assert.match(run.stdout, /^\$\.nodes\[0\]\.owner: /m);
    assert.match(run.stdout, /^\$\.edges\[0\]\.to: /m);
  });

  test('--json on an invalid file', async () => {
    const run = await cli('--json', 'validate', invalidFile);
    assert.equal(run.code, 1);
    const body = jsonOut(run);
    assert.equal(body.valid, false);
    assert.ok(body.errors.length >= 3);
    for (const problem of body.errors) {
      assert.deepEqual(Object.keys(problem).sort(), ['message', 'path']);
      assert.match(problem.path, /^\$/);
    }
    assert.ok(Array.isArray(body.warnings));
  });

  test('a YAML syntax error exits 1 with file:line:col', async () => {
    const run = await cli('validate', syntaxFile);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /syntax\.plan\.yaml:\d+:\d+/);
    const json = await cli('validate', syntaxFile, '--json');
    assert.equal(json.code, 1);
    const body = jsonOut(json);
    assert.equal(body.valid, false);
    assert.match(body.errors[0].message, /syntax\.plan\.yaml:\d+:\d+/);
  });

  test('a missing file exits 1', async () => {
    const run = await cli('validate', path.join(dir, 'nope.yaml'));
    assert.equal(run.code, 1);
  });

  test('--input is checked against the inputSchema', async () => {
    const ok = await cli('validate', validFile, '--input', '{"name":"Ada"}');
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const bad = await cli('validate', validFile, '--input', '{"nom":"Ada"}', '--json');
    assert.equal(bad.code, 1);
    const body = jsonOut(bad);
    assert.equal(body.valid, false);
    assert.match(body.errors[0].path, /^\$\.input/);
  });
});

describe('plan-runner start (no server needed to refuse)', () => {
  test('an invalid spec exits 1 with the problems and never connects', async () => {
    const startedAt = Date.now();
    const run = await cli(...NOWHERE, 'start', invalidFile);
    assert.equal(run.code, 1, `expected a validation refusal, got ${run.code}: ${run.stderr}`);
    assert.match(run.stderr, /\$\.edges\[0\]\.to: /);
    assert.doesNotMatch(run.stderr, /cannot reach Temporal/);
    assert.ok(Date.now() - startedAt < 3000, 'start must not try to connect');
  });

  test('--json: the problems as JSON, nothing started', async () => {
    const run = await cli(...NOWHERE, 'start', invalidFile, '--json');
    assert.equal(run.code, 1);
    const body = jsonOut(run);
    assert.match(body.error, /invalid plan spec/);
    assert.ok(body.errors.length >= 3);
    assert.equal(body.runId, undefined);
  });

  test('--input that is not JSON exits 1', async () => {
    const run = await cli(...NOWHERE, 'start', validFile, '--input', '{name: Ada}');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--input is not valid JSON/);
    const json = await cli(...NOWHERE, 'start', validFile, '--input', '{name', '--json');
    assert.equal(json.code, 1);
    assert.match(jsonOut(json).error, /--input is not valid JSON/);
  });

  test('an input that fails the inputSchema exits 1', async () => {
    const run = await cli(...NOWHERE, 'start', validFile, '--input', '{"name":42}', '--json');
    assert.equal(run.code, 1);
    const body = jsonOut(run);
    assert.match(body.error, /invalid run input/);
    assert.match(body.errors[0].path, /^\$\.input/);
  });

  test('a YAML syntax error exits 1', async () => {
    const run = await cli(...NOWHERE, 'start', syntaxFile);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /syntax\.plan\.yaml:\d+:\d+/);
  });
});

describe('plan-runner submit / respond (local checks)', () => {
  test('--fail with an unknown class exits 1 listing the valid classes', async () => {
    const run = await cli(...NOWHERE, 'submit', 'run-1', 'write', '--fail', 'bogus:x');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /unknown failure class "bogus"/);
    assert.match(run.stderr, /validation, agent-error, timeout, input, dispatch/);
    const json = await cli(...NOWHERE, 'submit', 'run-1', 'write', '--fail', 'bogus:x', '--json');
    assert.equal(json.code, 1);
    assert.deepEqual(jsonOut(json).validClasses, ['validation', 'agent-error', 'timeout', 'input', 'dispatch']);
  });

  test('--usage that is not JSON exits 1 before contacting the server', async () => {
    const run = await cli(...NOWHERE, 'submit', 'run-1', 'write', '--usage', '{inputTokens: 3}');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--usage is not valid JSON/);
  });

  test('--output that is not JSON exits 1', async () => {
    const run = await cli(...NOWHERE, 'submit', 'run-1', 'write', '--output', 'nope');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--output is not valid JSON/);
  });

  test('a bad --attempt is a usage error', async () => {
    const run = await cli(...NOWHERE, 'submit', 'run-1', 'write', '--attempt', 'zero');
    assert.equal(run.code, 2);
  });

  test('respond needs exactly one answer and --by', async () => {
    assert.equal((await cli(...NOWHERE, 'respond', 'run-1', '--by', 'alice')).code, 2);
    assert.equal((await cli(...NOWHERE, 'respond', 'run-1', '--by', 'alice', '--approve', '--reject')).code, 2);
    assert.equal((await cli(...NOWHERE, 'respond', 'run-1', '--approve')).code, 2);
  });

  test('respond --response must be a JSON object', async () => {
    const run = await cli(...NOWHERE, 'respond', 'run-1', '--by', 'alice', '--response', '[1]');
    assert.equal(run.code, 1);
  });
});

describe('plan-runner budget (local checks)', () => {
  test('refuses with a clear message when neither --max-cost nor --max-tokens is given', async () => {
    const run = await cli(...NOWHERE, 'budget', 'run-1');
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /needs a new limit: --max-cost USD and\/or --max-tokens N/);
    assert.doesNotMatch(run.stderr, /127\.0\.0\.1:1/); // refused before any connection
  });

  test('--max-cost must be a number ≥ 0', async () => {
    const run = await cli(...NOWHERE, 'budget', 'run-1', '--max-cost', 'lots');
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /must be a number ≥ 0/);
  });
});

describe('status text: budgets', () => {
  test('shows what was spent against the plan budget, a SPENT column, and how to go on when blocked', () => {
    const d = new Driver(plan([task('a'), task('b'), task('c')], [edge('a', 'c'), edge('b', 'c')], { maxConcurrency: 2, budget: { maxCostUsd: 1, maxTokens: 5000 } }));
    d.submit('a', { ok: true }, [], { usage: { inputTokens: 1000, outputTokens: 200, costUsd: 1.25 } });
    const view = statusView(snapshotOf(d.state));
    assert.equal(view.status, 'blocked');
    assert.deepEqual(view.usage, { inputTokens: 1000, outputTokens: 200, costUsd: 1.25, tokens: 1200 });
    assert.deepEqual(view.budget, { maxCostUsd: 1, maxTokens: 5000, warnAt: 0.8, exceeded: true });
    const text = statusText(view);
    assert.match(text, /^spent: \$1\.25 of \$1\.00, 1200 of 5000 tokens \(over budget\)$/m);
    assert.match(text, /^reason: the run went over its budget/m);
    assert.match(text, /^next: plan-runner budget run-1 --max-cost USD/m);
    assert.match(text, /NODE +TYPE +STATUS +ATTEMPT +SPENT +OWNER/);
    assert.match(text, /^a +task +completed +1 +\$1\.25 · 1200 tok/m);
  });

  test('a run without usage or budget prints no spent line and no SPENT column', () => {
    const d = new Driver(plan([task('a'), task('b')], chain('a', 'b')));
    d.submit('a', { ok: true });
    const view = statusView(snapshotOf(d.state));
    assert.equal('usage' in view, false);
    assert.equal('budget' in view, false);
    const text = statusText(view);
    assert.doesNotMatch(text, /spent|SPENT/);
  });
});

describe('addresses in hints and links', () => {
  test('the start hint names a non-default address, and no dev script for a remote one', () => {
    assert.match(new TemporalUnavailableError('127.0.0.1:7233').message, /is the server running\? \.\/temporal-dev\.sh server$/);
    assert.match(new TemporalUnavailableError('localhost:7233').message, /is the server running\? \.\/temporal-dev\.sh server$/);
    assert.match(new TemporalUnavailableError('127.0.0.1:7300').message, /is the server running\? TEMPORAL_ADDRESS=127\.0\.0\.1:7300 \.\/temporal-dev\.sh server$/);
    const remote = new TemporalUnavailableError('temporal.example.com:7233').message;
    assert.doesNotMatch(remote, /temporal-dev\.sh/);
    assert.match(remote, /--address \/ TEMPORAL_ADDRESS/);
  });

  test('Web UI links default to the dev server UI port of a local address (port + 1000)', () => {
    assert.equal(defaultUiUrl('127.0.0.1:7233'), 'http://localhost:8233');
    assert.equal(defaultUiUrl('localhost:7300'), 'http://localhost:8300');
    assert.equal(defaultUiUrl('[::1]:7400'), 'http://localhost:8400');
    assert.equal(defaultUiUrl('temporal.example.com:7233'), 'http://localhost:8233');
    assert.equal(defaultUiUrl('127.0.0.1:65000'), 'http://localhost:8233', 'no port above 65535');
    const previous = process.env.TEMPORAL_UI_URL;
    delete process.env.TEMPORAL_UI_URL;
    try {
      assert.equal(new PlanRunnerClient({ address: '127.0.0.1:7300' }).webUiUrl('r-1'), 'http://localhost:8300/namespaces/default/workflows/r-1');
      process.env.TEMPORAL_UI_URL = 'https://ui.example.com/';
      assert.equal(new PlanRunnerClient({ address: '127.0.0.1:7300' }).webUiUrl('r-1'), 'https://ui.example.com/namespaces/default/workflows/r-1');
    } finally {
      if (previous === undefined) delete process.env.TEMPORAL_UI_URL;
      else process.env.TEMPORAL_UI_URL = previous;
    }
  });
});

describe('plan-runner usage and connection errors', () => {
  test('an unknown command is a usage error', async () => {
    const run = await cli('frobnicate');
    assert.equal(run.code, 2);
    const json = await cli('frobnicate', '--json');
    assert.equal(json.code, 2);
    assert.ok(jsonOut(json).error);
  });

  test('--help exits 0', async () => {
    const run = await cli('--help');
    assert.equal(run.code, 0);
    assert.match(run.stdout, /validate/);
  });

  test('an unreachable server exits 3 with a hint', async () => {
    const previous = process.env.PLAN_RUNNER_CONNECT_TIMEOUT_MS;
    process.env.PLAN_RUNNER_CONNECT_TIMEOUT_MS = '300';
    try {
      const run = await cli(...NOWHERE, 'status', 'run-1');
      assert.equal(run.code, 3);
      // The hint names the address: the dev script needs it for any but the default one.
      assert.match(run.stderr, /cannot reach Temporal at 127\.0\.0\.1:1: is the server running\? TEMPORAL_ADDRESS=127\.0\.0\.1:1 \.\/temporal-dev\.sh server/);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      const json = await cli(...NOWHERE, 'status', 'run-1', '--json');
      assert.equal(json.code, 3);
      assert.match(jsonOut(json).error, /cannot reach Temporal/);
    } finally {
      if (previous === undefined) delete process.env.PLAN_RUNNER_CONNECT_TIMEOUT_MS;
      else process.env.PLAN_RUNNER_CONNECT_TIMEOUT_MS = previous;
    }
  });
});

describe('argument parsers', () => {
  test('parseArtifact', () => {
    assert.deepEqual(parseArtifact('notes=s3://bucket/notes.md'), { name: 'notes', kind: 'uri', pointer: 's3://bucket/notes.md' });
    assert.deepEqual(parseArtifact('notes:file=./a=b.md'), { name: 'notes', kind: 'file', pointer: './a=b.md' });
    assert.throws(() => parseArtifact('notes'));
    assert.throws(() => parseArtifact('=x'));
  });

  test('parseFailure', () => {
    assert.deepEqual(parseFailure('validation:bad output: twice'), { class: 'validation', message: 'bad output: twice' });
    assert.deepEqual(parseFailure('timeout'), { class: 'timeout', message: 'timeout' });
    assert.throws(() => parseFailure('bogus:x'), /valid classes/);
  });
});

describe('the compiled entry points', () => {
  const cliJs = path.join(__dirname, '..', '..', 'src', 'client', 'cli.js');
  const binJs = path.join(__dirname, '..', '..', '..', 'bin', 'plan-runner.js');

  test('node dist/src/client/cli.js validate --json', () => {
    const result = spawnSync(process.execPath, [cliJs, 'validate', invalidFile, '--json'], { encoding: 'utf8' });
    assert.equal(result.status, 1, result.stderr);
    assert.equal(JSON.parse(result.stdout).valid, false);
    const ok = spawnSync(process.execPath, [cliJs, 'validate', validFile], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
  });

  test('bin/plan-runner.js runs the CLI', { skip: !fs.existsSync(binJs) && 'bin/plan-runner.js missing' }, () => {
    const result = spawnSync(process.execPath, [binJs, 'validate', validFile, '--json'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).valid, true);
  });
});

// ---- store reads ---------------------------------------------------------------------------------

/** Runs `fn` with PLAN_STORE_URL set to `value` (or unset), restoring it afterwards. */
async function withStoreEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const previous = process.env.PLAN_STORE_URL;
  if (value === undefined) delete process.env.PLAN_STORE_URL;
  else process.env.PLAN_STORE_URL = value;
  try {
    return await fn();
  } finally {
    if (previous === undefined) delete process.env.PLAN_STORE_URL;
    else process.env.PLAN_STORE_URL = previous;
  }
}

describe('store commands: argument checks (no store is opened)', () => {
  test('a bad --since is a usage error (exit 2) naming the option', async () => {
    for (const bad of ['x', '-1', '1.5', '']) {
      const run = await cli(...NOWHERE, 'events', 'run-1', '--since', bad);
      assert.equal(run.code, 2, `--since ${JSON.stringify(bad)}: ${run.stderr}`);
      assert.match(run.stderr, /--since/);
      assert.match(run.stderr, /whole number ≥ 0/);
    }
    const json = await cli(...NOWHERE, 'events', 'run-1', '--since', 'soon', '--json');
    assert.equal(json.code, 2);
    assert.match(jsonOut(json).error, /--since/);
  });

  test('--limit with --follow and --stop-on-failed without --follow are usage errors', async () => {
    const both = await cli(...NOWHERE, 'events', 'run-1', '--follow', '--limit', '5');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--limit cannot be combined with --follow/);
    const stop = await cli(...NOWHERE, 'events', 'run-1', '--stop-on-failed');
    assert.equal(stop.code, 2);
    assert.match(stop.stderr, /--stop-on-failed only applies with --follow/);
    assert.equal((await cli(...NOWHERE, 'events', 'run-1', '--follow', '--poll', '0')).code, 2);
    assert.equal((await cli(...NOWHERE, 'events', 'run-1', '--limit', '0')).code, 2);
  });

  test('missing arguments and bad limits are usage errors', async () => {
    assert.equal((await cli(...NOWHERE, 'events')).code, 2);
    assert.equal((await cli(...NOWHERE, 'attempts', 'run-1')).code, 2);
    assert.equal((await cli(...NOWHERE, 'checkpoints')).code, 2);
    assert.equal((await cli(...NOWHERE, 'specs')).code, 2);
    assert.equal((await cli(...NOWHERE, 'specs', 'run-1', '--version', 'latest')).code, 2);
    assert.equal((await cli(...NOWHERE, 'approvals', '--limit', 'many')).code, 2);
    assert.equal((await cli(...NOWHERE, 'approvals', '--by')).code, 2);
    assert.equal((await cli(...NOWHERE, 'migrate', 'extra')).code, 2);
  });

  test('a SQLite store that does not exist is exit 3 naming the file and the fix, and is not created', async () => {
    const file = path.join(dir, 'missing', 'plan-runner.db');
    const run = await cli(...NOWHERE, '--store', file, 'events', 'run-1');
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, new RegExp(`no store at ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(run.stderr, /PLAN_STORE_URL/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(fs.existsSync(file), false, 'a read must not create the store');
    const json = await cli(...NOWHERE, '--store', file, 'approvals', '--json');
    assert.equal(json.code, 3);
    const body = jsonOut(json);
    assert.equal(body.code, 'unavailable');
    assert.equal(body.store, file);
  });

  test('PLAN_STORE_URL is used when --store is absent, and --store wins over it', async () => {
    const fromEnv = path.join(dir, 'env-store.db');
    const fromFlag = path.join(dir, 'flag-store.db');
    await withStoreEnv(fromEnv, async () => {
      const env = await cli(...NOWHERE, 'checkpoints', 'run-1', '--json');
      assert.equal(env.code, 3);
      assert.equal(jsonOut(env).store, fromEnv);
      const flag = await cli(...NOWHERE, '--store', fromFlag, 'checkpoints', 'run-1', '--json');
      assert.equal(flag.code, 3);
      assert.equal(jsonOut(flag).store, fromFlag);
    });
  });

  test('an invalid store URL is exit 3 with the accepted forms', async () => {
    const run = await cli(...NOWHERE, '--store', 'mysql://db/x', 'attempts', 'run-1', 'a');
    assert.equal(run.code, 3);
    assert.match(run.stderr, /not a valid store URL/);
    assert.match(run.stderr, /postgres:\/\//);
  });

  test('help says where the data comes from', async () => {
    const top = await cli('--help');
    assert.equal(top.code, 0);
    assert.match(top.stdout, /--store <url>/);
    assert.match(top.stdout, /PLAN_STORE_URL/);
    assert.match(top.stdout, /Where the data comes from:/);
    assert.match(top.stdout, /Temporal\s+start, submit/);
    assert.match(top.stdout, /the store\s+events, approvals, attempts, checkpoints, specs, migrate/);
    for (const command of ['events', 'approvals', 'attempts', 'checkpoints', 'specs']) {
      const help = await cli(command, '--help');
      assert.equal(help.code, 0);
      assert.match(help.stdout, /from the store/, `${command} --help`);
    }
    assert.match((await cli('status', '--help')).stdout, /from Temporal/);
  });
});

describe('storeTarget and error translation', () => {
  test('store locations', () => {
    assert.deepEqual(storeTarget(undefined, '/srv/app'), {
      dialect: 'sqlite',
      location: '/srv/app/.data/plan-runner.db',
      file: '/srv/app/.data/plan-runner.db',
    });
    assert.equal(storeTarget('runs.db', '/srv/app').file, '/srv/app/runs.db');
    assert.equal(storeTarget('file:///var/x.db', '/srv').file, '/var/x.db');
    const pg = storeTarget('postgres://alice:s3cret@db.example:5432/plans');
    assert.equal(pg.dialect, 'postgres');
    assert.doesNotMatch(pg.location, /s3cret/);
    assert.match(pg.location, /db\.example:5432\/plans/);
    assert.match(storeTarget('mysql://x/y').invalid ?? '', /not a valid store URL/);
  });

  test('connection failures, missing tables and other errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const unavailable = translateStoreError(refused, 'postgres://db/x');
    assert.ok(unavailable instanceof StoreUnavailableError);
    assert.equal(unavailable.location, 'postgres://db/x');
    assert.match(unavailable.message, /cannot open the store at postgres:\/\/db\/x .*ECONNREFUSED.*PLAN_STORE_URL/);
    const aggregate = new AggregateError([refused], '');
    assert.ok(translateStoreError(aggregate, 'x') instanceof StoreUnavailableError);
    const setup = translateStoreError(new Error('SQLITE_ERROR: no such table: runs'), '/tmp/x.db');
    assert.ok(setup instanceof StoreSetupError);
    assert.match(setup.message, /plan-runner migrate/);
    const wrapped = translateStoreError(
      new StoreError('Could not open the plan store (PostgreSQL) at postgres://u@db/x: connect ECONNREFUSED.', 'postgres://u@db/x', { cause: refused }),
      'fallback',
    );
    assert.ok(wrapped instanceof StoreUnavailableError);
    assert.equal(wrapped.location, 'postgres://u@db/x');
    assert.match(wrapped.message, /^Could not open the plan store \(PostgreSQL\) at postgres:\/\/u@db\/x: connect ECONNREFUSED\. To read another store, set PLAN_STORE_URL/);
    const bug = new TypeError('x is not a function');
    assert.equal(translateStoreError(bug, 'x'), bug);
  });
});

// ---- The client's store reads against an in-memory fake store (the real store is tested in
// test/integration/store-reads.test.ts). ----------------------------------------------------------

function event(runId: string, seq: number, type: RunEvent['type'] = 'node-ready', extra: Partial<RunEvent> = {}): RunEvent {
  return { id: `${runId}:${seq}`, seq, runId, planId: 'p', type, message: `event ${seq}`, by: 'engine', at: `2026-01-01T00:00:${String(seq).padStart(2, '0')}.000Z`, ...extra };
}

class FakeStore {
  readonly dialect = 'sqlite' as const;
  readonly location = '/fake/store.db';
  readonly runs = new Map<string, StoredRun>();
  readonly log = new Map<string, RunEvent[]>();
  reads = 0;
  closed = 0;
  /** Called before every listEvents (to append events "while following"). */
  onListEvents?: () => void;
  /** The newest events listEvents does not show yet (a store whose run row runs ahead of its events). */
  hidden = 0;

  addRun(runId: string, status: RunStatus = 'running'): void {
    this.runs.set(runId, {
      runId, planId: 'p', specVersion: 1, status, input: {}, failureCount: 0, checkpointSequence: 0, lastSeq: 0,
      startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
    });
    this.log.set(runId, []);
  }

  append(runId: string, count: number, status?: RunStatus): void {
    const run = this.runs.get(runId)!;
    const events = this.log.get(runId)!;
    for (let i = 0; i < count; i++) events.push(event(runId, events.length + 1));
    run.lastSeq = events.length;
    if (status) run.status = status;
  }

  async getRun(runId: string) {
    this.reads++;
    const run = this.runs.get(runId);
    return run ? { ...run } : undefined;
  }

  async listEvents(runId: string, range: { afterSeq?: number; uptoSeq?: number; limit?: number } = {}) {
    this.reads++;
    this.onListEvents?.();
    const log = this.log.get(runId) ?? [];
    const all = log.slice(0, log.length - this.hidden).filter((e) => e.seq > (range.afterSeq ?? 0));
    return range.limit ? all.slice(0, range.limit) : all;
  }

  async listNodeRuns() {
    return [{ nodeId: 'a' }, { nodeId: 'b' }];
  }

  async listAttempts() {
    return [];
  }

  async listCheckpoints() {
    return [];
  }

  async close() {
    this.closed++;
  }

  asStore(): PlanStore {
    return this as unknown as PlanStore;
  }
}

describe('client store reads (fake store)', () => {
  test('the store opens lazily: a client that never reads it never opens it, and close() closes what it opened', async () => {
    const fake = new FakeStore();
    fake.addRun('r1');
    let opened = 0;
    const reader = new StoreReader({ url: ':memory:', open: () => (opened++, fake.asStore()) });
    assert.equal(opened, 0);
    assert.equal(reader.isOpen, false);
    await reader.close();
    assert.equal(fake.closed, 0);
    await reader.events('r1');
    await reader.events('r1');
    assert.equal(opened, 1, 'opened once, on the first read');
    await reader.close();
    assert.equal(fake.closed, 1);

    // An injected store is never closed by the client.
    const client = new PlanRunnerClient({ address: '127.0.0.1:1', store: fake.asStore() });
    assert.equal(client.storeLocation, '/fake/store.db');
    assert.deepEqual(await client.events('r1'), []);
    await client.close();
    assert.equal(fake.closed, 1);
  });

  test('events: positional and object sinceSeq, limit, unknown run', async () => {
    const fake = new FakeStore();
    fake.addRun('r1');
    fake.append('r1', 5);
    const client = new PlanRunnerClient({ address: '127.0.0.1:1', store: fake.asStore() });
    assert.deepEqual((await client.events('r1')).map((e) => e.seq), [1, 2, 3, 4, 5]);
    assert.deepEqual((await client.events('r1', 3)).map((e) => e.seq), [4, 5]);
    assert.deepEqual((await client.events('r1', { sinceSeq: 1, limit: 2 })).map((e) => e.seq), [2, 3]);
    assert.deepEqual(await client.events('r1', 5), [], 'a known run with nothing new is an empty list');
    await assert.rejects(client.events('nope'), (err: unknown) => {
      assert.ok(err instanceof RunNotFoundError);
      assert.equal(err.store, '/fake/store.db');
      assert.match(err.message, /no run nope in the store at \/fake\/store\.db/);
      return true;
    });
    await assert.rejects(client.events('r1', -1), /sinceSeq/);
  });

  test('attempts of an unknown node name the known nodes', async () => {
    const fake = new FakeStore();
    fake.addRun('r1');
    const client = new PlanRunnerClient({ address: '127.0.0.1:1', store: fake.asStore() });
    await assert.rejects(client.attempts('r1', 'zz'), (err: unknown) => {
      assert.ok(err instanceof NodeNotFoundError);
      assert.match(err.message, /run r1 has no node "zz"; its nodes: a, b/);
      return true;
    });
    assert.deepEqual(await client.attempts('r1', 'a'), []);
    await assert.rejects(client.attempts('nope', 'a'), RunNotFoundError);
    await assert.rejects(client.checkpoints('nope'), RunNotFoundError);
  });

  test('followEvents yields new events in order and ends when the run is finished', async () => {
    const fake = new FakeStore();
    fake.addRun('r1');
    fake.append('r1', 2);
    let polls = 0;
    fake.onListEvents = () => {
      polls++;
      if (polls === 2) fake.append('r1', 3);
      if (polls === 3) fake.append('r1', 1, 'failed');
      if (polls === 4) fake.append('r1', 2, 'completed');
    };
    const client = new PlanRunnerClient({ address: '127.0.0.1:1', store: fake.asStore() });
    const seen: number[] = [];
    for await (const e of client.followEvents('r1', { sinceSeq: 1, pollMs: 5 })) seen.push(e.seq);
    assert.deepEqual(seen, [2, 3, 4, 5, 6, 7, 8], 'every event after sinceSeq once, in order, through the last one');
    assert.ok(polls >= 5, 'a failed run is followed on; it ends only once completed');
  });

  test('followEvents ends only once every event up to the run\'s lastSeq was yielded', async () => {
    const fake = new FakeStore();
    fake.addRun('r1');
    fake.append('r1', 5, 'completed');
    fake.hidden = 2;
    let lists = 0;
    fake.onListEvents = () => {
      if (++lists === 3) fake.hidden = 0;
    };
    const client = new PlanRunnerClient({ address: '127.0.0.1:1', store: fake.asStore() });
    const seen: number[] = [];
    for await (const e of client.followEvents('r1', { pollMs: 5 })) seen.push(e.seq);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });

  test('followEvents with endOn failed stops at a failed run; a signal stops it quietly', async () => {
    const fake = new FakeStore();
    fake.addRun('r1');
    fake.append('r1', 3, 'failed');
    const client = new PlanRunnerClient({ address: '127.0.0.1:1', store: fake.asStore() });
    const seen: number[] = [];
    for await (const e of client.followEvents('r1', { pollMs: 5, endOn: ['completed', 'aborted', 'failed'] })) seen.push(e.seq);
    assert.deepEqual(seen, [1, 2, 3]);

    const controller = new AbortController();
    const started = Date.now();
    const followed: number[] = [];
    setTimeout(() => controller.abort(), 100);
    for await (const e of client.followEvents('r1', { pollMs: 20, signal: controller.signal })) followed.push(e.seq);
    assert.deepEqual(followed, [1, 2, 3]);
    assert.ok(Date.now() - started < 2000, 'the abort ends the wait promptly');

    await assert.rejects(async () => {
      for await (const _ of client.followEvents('nope', { pollMs: 5 })) void _;
    }, RunNotFoundError);
  });
});

describe('followEvents: waiting for a run to appear', () => {
  test('waitForRunMs waits for a run the store does not know yet; without it, not found at once', async () => {
    const fake = new FakeStore();
    const client = new PlanRunnerClient({ address: '127.0.0.1:1', store: fake.asStore() });
    await assert.rejects(async () => {
      for await (const _ of client.followEvents('late', { pollMs: 5 })) void _;
    }, RunNotFoundError);
    setTimeout(() => {
      fake.addRun('late');
      fake.append('late', 2, 'completed');
    }, 60);
    const seen: number[] = [];
    for await (const e of client.followEvents('late', { pollMs: 10, waitForRunMs: 5000 })) seen.push(e.seq);
    assert.deepEqual(seen, [1, 2]);
    const startedAt = Date.now();
    await assert.rejects(async () => {
      for await (const _ of client.followEvents('never', { pollMs: 10, waitForRunMs: 100 })) void _;
    }, RunNotFoundError);
    assert.ok(Date.now() - startedAt >= 80, 'waited before giving up');
  });
});

describe('text formats', () => {
  test('event lines have fixed columns', () => {
    const line = formatEventLine(event('r1', 12, 'node-completed', { message: 'Node "draft" completed (attempt 1).', by: 'agent:writer' }));
    assert.equal(line, '   12  2026-01-01T00:00:12.000Z  node-completed        Node "draft" completed (attempt 1).  (by agent:writer)');
    const other = formatEventLine(event('r1', 3, 'escalation-triggered'));
    assert.equal(other.indexOf('event 3'), line.indexOf('Node "draft"'));
  });

  test('approvals table', () => {
    const approvals: StoredApproval[] = [
      { runId: 'r1', approvalId: 'approve#1', nodeId: 'approve', attempt: 1, kind: 'node', owner: { kind: 'human', ref: 'editors' }, approvers: ['alice', 'bob'], status: 'approved', requestedAt: 'T1', respondedBy: 'alice', issues: [] },
      { runId: 'r2', approvalId: 'draft#2', nodeId: 'draft', attempt: 2, kind: 'review', owner: { kind: 'human', ref: 'reviewers' }, approvers: [], status: 'pending', requestedAt: 'T2', issues: [] },
    ];
    const lines = approvalsTable(approvals).split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^APPROVAL\s+RUN\s+NODE\s+STATUS\s+OWNER \(APPROVERS\)\s+REQUESTED\s+RESPONDED BY$/);
    assert.match(lines[1], /^approve#1\s+r1\s+approve\s+approved\s+human:editors \(alice, bob\)\s+T1\s+alice$/);
    assert.match(lines[2], /^draft#2 \(review\)\s+r2\s+draft\s+pending\s+human:reviewers\s+T2\s+-$/);
  });

  test('approvals table: a VOTES column only when an approval has a quorum', () => {
    const quorum: StoredApproval = {
      runId: 'r1', approvalId: 'sign-off#1', nodeId: 'sign-off', attempt: 1, kind: 'node', owner: { kind: 'human', ref: 'board' }, approvers: ['alice', 'bob', 'carol'],
      status: 'pending', requestedAt: 'T1', issues: [], quorum: { required: 2, veto: [] },
      votes: [{ by: 'alice', approved: true, at: 'T2' }, { by: 'bob', approved: true, requiredEdits: ['typo'], at: 'T3' }],
    };
    const plain: StoredApproval = { runId: 'r2', approvalId: 'approve#1', nodeId: 'approve', attempt: 1, kind: 'node', owner: { kind: 'human', ref: 'editors' }, approvers: [], status: 'pending', requestedAt: 'T1', issues: [] };
    const lines = approvalsTable([quorum, plain]).split('\n');
    assert.match(lines[0], /^APPROVAL\s+RUN\s+NODE\s+STATUS\s+OWNER \(APPROVERS\)\s+REQUESTED\s+VOTES\s+RESPONDED BY$/);
    assert.match(lines[1], /^sign-off#1\s+r1\s+sign-off\s+pending\s+human:board \(alice, bob, carol\)\s+T1\s+1 of 2: alice ✔, bob ✘ \(1 edit\)\s+-$/);
    assert.match(lines[2], /^approve#1\s+.*T1\s+-\s+-$/);
    assert.doesNotMatch(approvalsTable([plain]), /VOTES/);
  });

  test('status shows the votes of a pending quorum approval', () => {
    const d = new Driver(plan([human('sign-off', 'human-approval', { approvers: ['alice', 'bob'], quorum: { required: 2 } })]));
    d.respond('sign-off', { approved: true }, 'alice');
    const view = statusView(snapshotOf(d.state));
    assert.deepEqual(view.approvals[0].votes?.map((v) => v.by), ['alice']);
    const text = statusText(view);
    assert.match(text, /waiting: sign-off#1 on node sign-off \(votes 1 of 2: alice ✔\); answer with/);
    assert.match(text, /APPROVAL\s+NODE\s+STATUS\s+VOTES\s+BY\n\S+\s+sign-off\s+pending\s+1 of 2: alice ✔/);
    const plainView = statusView(snapshotOf(new Driver(plan([human('ok', 'human-approval')])).state));
    assert.equal('votes' in plainView.approvals[0], false);
    assert.doesNotMatch(statusText(plainView), /VOTES/);
  });

  test('attempts with their issues indented under them', () => {
    const attempts: StoredAttempt[] = [
      { runId: 'r1', nodeId: 'research', attempt: 1, kind: 'agent', by: 'agent:researcher', at: 'T1', status: 'failed', failureClass: 'validation', issues: [
        { severity: 'blocking', code: 'schema', path: 'summary', message: 'must NOT have fewer than 20 characters' },
        { severity: 'warning', code: 'min-length', message: 'few sources' },
      ], artifacts: [] },
      { runId: 'r1', nodeId: 'research', attempt: 2, kind: 'agent', by: 'agent:researcher', at: 'T2', status: 'completed', issues: [], artifacts: [{ name: 'notes', kind: 'file', pointer: './notes.md' }] },
    ];
    const lines = attemptsText(attempts).split('\n');
    assert.equal(lines.length, 5, attemptsText(attempts));
    assert.match(lines[0], /^attempt 1\s+failed\s+by agent:researcher\s+at T1\s+failure validation$/);
    assert.match(lines[1], /^ {4}blocking\s+schema\s+summary\s+must NOT have fewer than 20 characters$/);
    assert.match(lines[2], /^ {4}warning\s+min-length\s+-\s+few sources$/);
    assert.match(lines[3], /^attempt 2\s+completed\s+by agent:researcher\s+at T2$/);
    assert.equal(lines[4], '    artifact notes (file): ./notes.md');
  });

  test('checkpoints and migrate', () => {
    const checkpoint: Checkpoint = { sequence: 2, reason: 'node-result-complete', runStatus: 'running', readyNodeIds: [], activeNodeIds: ['b'], completedNodeIds: ['a'], nodeStatuses: { a: 'completed', b: 'running' }, artifactIds: [], at: 'T1' };
    const lines = checkpointsTable([checkpoint]).split('\n');
    assert.match(lines[0], /^SEQ\s+REASON\s+RUN STATUS\s+AT\s+READY\s+ACTIVE\s+COMPLETED$/);
    assert.match(lines[1], /^2\s+node-result-complete\s+running\s+T1\s+-\s+b\s+a$/);
    assert.equal(
      migrateText({ dialect: 'sqlite', location: '/x.db', applied: ['0001-initial'], current: ['0001-initial'] }),
      'store: /x.db (sqlite)\napplied 1 migration:\n  0001-initial',
    );
    assert.match(migrateText({ dialect: 'postgres', location: 'postgres://db/x', applied: [], current: ['0001-initial'] }), /up to date/);
  });
});

// ---- replan ----------------------------------------------------------------------------------------

/** VALID with `send` changed (another owner) and a new `publish` after it. */
const VALID_V2 = VALID.replace('owner: { kind: agent, ref: sender }', 'owner: { kind: agent, ref: mailer }').replace(
  'edges:\n',
  '  - id: publish\n    type: task\n    owner: { kind: agent, ref: publisher }\nedges:\n  - { from: send, to: publish }\n',
);

/** A store that knows runs with a spec and node statuses: enough for `replan --dry-run`. */
class ReplanFakeStore {
  readonly dialect = 'sqlite' as const;
  readonly location = '/fake/replan.db';
  readonly runs = new Map<string, { run: StoredRun; spec: PlanSpec; nodes: Array<{ nodeId: string; status: NodeStatus }> }>();
  reads = 0;

  add(runId: string, spec: PlanSpec, statuses: Record<string, NodeStatus>, status: RunStatus = 'awaiting-human'): void {
    this.runs.set(runId, {
      run: {
        runId, planId: spec.id, specVersion: 1, status, input: {}, failureCount: 0, checkpointSequence: 3, lastSeq: 9,
        startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:09.000Z',
      },
      spec,
      nodes: spec.nodes.map((node) => ({ nodeId: node.id, status: statuses[node.id] ?? 'pending' })),
    });
  }

  async getRun(runId: string) {
    this.reads++;
    const entry = this.runs.get(runId);
    return entry ? { ...entry.run } : undefined;
  }

  async getSpec(runId: string) {
    this.reads++;
    return this.runs.get(runId)?.spec;
  }

  async listNodeRuns(runId: string) {
    this.reads++;
    return (this.runs.get(runId)?.nodes ?? []).map((node) => ({ ...node, runId }));
  }

  async close() {}

  asStore(): PlanStore {
    return this as unknown as PlanStore;
  }
}

describe('plan-runner replan', () => {
  let v2File: string;
  let otherPlanFile: string;
  const greet = () => parsePlanText(VALID, 'greet.yaml').raw as PlanSpec;
  let fake: ReplanFakeStore;

  before(() => {
    v2File = path.join(dir, 'greet-v2.plan.yaml');
    otherPlanFile = path.join(dir, 'other.plan.yaml');
    fs.writeFileSync(v2File, VALID_V2);
    fs.writeFileSync(otherPlanFile, VALID_V2.replace('id: greet', 'id: salute'));
    fake = new ReplanFakeStore();
    fake.add('greet-1', greet(), { write: 'completed', approve: 'awaiting-human' });
    fake.add('greet-done', greet(), { write: 'completed', approve: 'completed', send: 'completed' }, 'completed');
  });

  test('the new file is valid', async () => {
    const run = await cli('validate', v2File);
    assert.equal(run.code, 0, run.stdout + run.stderr);
  });

  test('missing arguments are usage errors (exit 2); a missing file is exit 1', async () => {
    assert.equal((await cli(...NOWHERE, 'replan')).code, 2);
    const noFile = await cli(...NOWHERE, 'replan', 'greet-1');
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /missing required argument 'file'/);
    assert.equal((await cli(...NOWHERE, 'replan', 'greet-1', v2File, '--bogus')).code, 2);
    const missing = await cli(...NOWHERE, 'replan', 'greet-1', path.join(dir, 'nope.yaml'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.yaml: no such file/);
    const syntax = await cli(...NOWHERE, 'replan', 'greet-1', syntaxFile, '--dry-run');
    assert.equal(syntax.code, 1);
    assert.match(syntax.stderr, /syntax\.plan\.yaml:\d+:\d+/);
  });

  test('an invalid spec exits 1 with every problem as "PATH: message", touching neither Temporal nor the store', async () => {
    const startedAt = Date.now();
    const run = await cliWith({ store: fake.asStore() }, ...NOWHERE, 'replan', 'greet-1', invalidFile);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^invalid plan spec \(\d+ problems\):$/m);
    assert.match(run.stderr, /^\$\.nodes\[0\]\.owner: /m);
    assert.match(run.stderr, /^\$\.edges\[0\]\.to: /m);
    assert.doesNotMatch(run.stderr, /cannot reach Temporal/);
    assert.ok(Date.now() - startedAt < 3000, 'replan must not try to connect');

    // The same lines `validate` prints.
    const validate = await cli('validate', invalidFile);
    for (const line of validate.stdout.trim().split('\n').filter((line) => !line.startsWith('warning: '))) {
      assert.ok(run.stderr.includes(`${line}\n`), `missing "${line}" in:\n${run.stderr}`);
    }

    const dry = await cliWith({ store: fake.asStore() }, ...NOWHERE, 'replan', 'greet-1', invalidFile, '--dry-run', '--json');
    assert.equal(dry.code, 1);
    const body = jsonOut(dry);
    assert.match(body.error, /invalid plan spec/);
    assert.ok(body.errors.length >= 3);
    for (const problem of body.errors) assert.match(problem.path, /^\$/);
    assert.equal(fake.reads, 0, 'the store is not read for an invalid spec');
  });

  test('a schema that does not compile is refused like start refuses it', async () => {
    const file = path.join(dir, 'bad-schema.plan.yaml');
    fs.writeFileSync(file, VALID.replace('Greeting: { type: object,', 'Greeting: { type: objekt,'));
    const run = await cli(...NOWHERE, 'replan', 'greet-1', file, '--json');
    assert.equal(run.code, 1);
    const body = jsonOut(run);
    assert.ok(body.errors.some((problem: { path: string }) => problem.path.startsWith('$.schemas.Greeting')), JSON.stringify(body));
    const start = await cli(...NOWHERE, 'start', file, '--json');
    assert.deepEqual(jsonOut(start).errors, body.errors);
  });

  test('--dry-run prints what would be kept, reset, added and removed, read from the store', async () => {
    const run = await cliWith({ store: fake.asStore() }, ...NOWHERE, 'replan', 'greet-1', v2File, '--dry-run');
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(
      lines[0],
      'dry run (nothing sent): run greet-1 (plan greet, awaiting-human), spec version 1 → 2, as recorded up to seq 9',
    );
    assert.match(run.stdout, /^ {2}kept\s+write$/m);
    assert.match(run.stdout, /^ {2}reset\s+approve, send$/m);
    assert.match(run.stdout, /^ {2}added\s+publish$/m);
    assert.match(run.stdout, /^ {2}removed\s+-$/m);
    assert.match(run.stdout, /^ {2}changed\s+send$/m);
    assert.match(run.stdout, /^ {2}stopped\s+approve \(work in flight abandoned\)$/m);
    assert.match(run.stdout, /^warning: \$\.edges\[\d\]\.when: /m);
    assert.doesNotMatch(run.stdout, /would be refused/);

    const json = await cliWith({ store: fake.asStore() }, ...NOWHERE, 'replan', 'greet-1', v2File, '--dry-run', '--json');
    assert.equal(json.code, 0, json.stderr);
    const preview = jsonOut(json);
    assert.deepEqual(
      { kept: preview.kept, reset: preview.reset, added: preview.added, removed: preview.removed, changed: preview.changed },
      { kept: ['write'], reset: ['approve', 'send'], added: ['publish'], removed: [], changed: ['send'] },
    );
    assert.deepEqual(preview.stoppedNodeIds, ['approve']);
    assert.equal(preview.fromVersion, 1);
    assert.equal(preview.toVersion, 2);
    assert.equal(preview.refusal, undefined);
  });

  test('--dry-run: another plan id or a finished run would be refused (exit 1); an unknown run is exit 3', async () => {
    const other = await cliWith({ store: fake.asStore() }, ...NOWHERE, 'replan', 'greet-1', otherPlanFile, '--dry-run');
    assert.equal(other.code, 1, other.stdout + other.stderr);
    assert.match(other.stdout, /^would be refused \(invalid-spec\): \$\.id: is "salute" but run greet-1 runs plan "greet"/m);

    const done = await cliWith({ store: fake.asStore() }, ...NOWHERE, 'replan', 'greet-done', v2File, '--dry-run', '--json');
    assert.equal(done.code, 1);
    assert.equal(jsonOut(done).refusal.reason, 'run-finished');

    const unknown = await cliWith({ store: fake.asStore() }, ...NOWHERE, 'replan', 'nope', v2File, '--dry-run', '--json');
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.equal(jsonOut(unknown).code, 'not-found');
    assert.match(unknown.stderr, /no run nope in the store at \/fake\/replan\.db/);
  });

  test('without --dry-run a valid spec goes to Temporal: unreachable is exit 3', async () => {
    const previous = process.env.PLAN_RUNNER_CONNECT_TIMEOUT_MS;
    process.env.PLAN_RUNNER_CONNECT_TIMEOUT_MS = '300';
    try {
      const run = await cliWith({ store: fake.asStore() }, ...NOWHERE, 'replan', 'greet-1', v2File, '--by', 'ops', '--reason', 'mailer');
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, /cannot reach Temporal at 127\.0\.0\.1:1/);
    } finally {
      if (previous === undefined) delete process.env.PLAN_RUNNER_CONNECT_TIMEOUT_MS;
      else process.env.PLAN_RUNNER_CONNECT_TIMEOUT_MS = previous;
    }
  });

  test('help lists replan and its options', async () => {
    const run = await cli('replan', '--help');
    assert.equal(run.code, 0);
    for (const option of ['--by', '--reason', '--dry-run']) assert.ok(run.stdout.includes(option), run.stdout);
    assert.match((await cli('--help')).stdout, /replan --dry-run/);
  });
});

describe('client replan: checked before sending', () => {
  test('an invalid spec throws PlanValidationError without contacting the server', async () => {
    const client = new PlanRunnerClient({ address: '127.0.0.1:1' });
    const startedAt = Date.now();
    await assert.rejects(client.replan('run-1', parsePlanText(INVALID, 'x.yaml').raw, { by: 'ops' }), (err: unknown) => {
      assert.ok(err instanceof PlanValidationError);
      assert.ok(err.errors.some((problem) => problem.path === '$.edges[0].to'));
      return true;
    });
    await assert.rejects(client.replan('run-1', undefined, { by: 'ops' }), PlanValidationError);
    assert.ok(Date.now() - startedAt < 3000);
    await client.close();
  });

  test('previewReplan reads the store; storedSpec returns the current spec', async () => {
    const fake = new ReplanFakeStore();
    const spec = parsePlanText(VALID, 'greet.yaml').raw as PlanSpec;
    fake.add('greet-1', spec, { write: 'completed', approve: 'awaiting-human' });
    const client = new PlanRunnerClient({ address: '127.0.0.1:1', store: fake.asStore() });
    assert.deepEqual(await client.storedSpec('greet-1'), spec);
    const preview = await client.previewReplan('greet-1', parsePlanText(VALID_V2, 'v2.yaml').raw);
    assert.deepEqual(preview.kept, ['write']);
    assert.deepEqual(preview.added, ['publish']);
    await assert.rejects(client.storedSpec('nope'), RunNotFoundError);
    await client.close();
  });
});

describe('computeReplanPreview matches the engine', () => {
  // v1: a → b → c, a → x, h (a person) after x. v2: b changed, x removed, d added after a. v3: a changed.
  const wide = { maxConcurrency: 4 };
  const v1 = plan([task('a'), task('b', { objective: 'Draft' }), task('c'), task('x'), human('h')], [...chain('a', 'b', 'c'), edge('a', 'x'), edge('x', 'h')], wide);
  const v2 = plan([task('a'), task('b', { objective: 'Draft it better' }), task('c'), task('d'), human('h')], [...chain('a', 'b', 'c'), edge('a', 'd'), edge('d', 'h')], wide);
  const v3 = plan([task('a', { objective: 'Research again' }), task('b', { objective: 'Draft' }), task('c'), task('x'), human('h')], [...chain('a', 'b', 'c'), edge('a', 'x'), edge('x', 'h')], wide);

  function scenario(steps: (d: Driver) => void): Driver {
    const d = new Driver(v1);
    steps(d);
    return d;
  }

  const cases: Array<[string, (d: Driver) => void, PlanSpec]> = [
    ['nothing done yet', () => undefined, v2],
    ['a and b done', (d) => (d.submit('a', {}), d.submit('b', {})), v2],
    ['a, b, x done, h waiting', (d) => (d.submit('a', {}), d.submit('b', {}), d.submit('x', {})), v2],
    ['the root changed', (d) => (d.submit('a', {}), d.submit('b', {}), d.submit('x', {})), v3],
    ['same spec again', (d) => (d.submit('a', {}), d.submit('x', {})), v1],
  ];

  for (const [name, steps, next] of cases) {
    test(name, () => {
      const d = scenario(steps);
      const state = d.state;
      const preview = computeReplanPreview(
        {
          runId: state.runId,
          planId: state.planId,
          status: state.status,
          specVersion: state.specVersion,
          spec: state.spec,
          nodes: state.nodes.map((node) => ({ nodeId: node.nodeId, status: node.status })),
        },
        next,
      );
      const transition = ok(replanRun(state, { spec: next, by: 'ops' }, d.now()));
      const detail = transition.events.find((event) => event.type === 'run-replanned')!.detail as unknown as RunReplannedDetail;
      assert.deepEqual(
        { kept: preview.kept, reset: preview.reset, added: preview.added, removed: preview.removed, changed: preview.changed, stopped: preview.stoppedNodeIds, from: preview.fromVersion, to: preview.toVersion },
        { kept: detail.kept, reset: detail.reset, added: detail.added, removed: detail.removed, changed: detail.changed, stopped: detail.stoppedNodeIds, from: detail.fromVersion, to: detail.toVersion },
      );
      assert.equal(preview.refusal, undefined);
    });
  }

  test('a finished run and another plan id would be refused, as the engine refuses them', () => {
    const base = { runId: 'r', planId: v1.id, status: 'completed' as RunStatus, specVersion: 3, spec: v1, nodes: [] };
    assert.equal(computeReplanPreview(base, v2).refusal?.reason, 'run-finished');
    const other = computeReplanPreview({ ...base, status: 'running' }, { ...v2, id: 'other' });
    assert.equal(other.refusal?.reason, 'invalid-spec');
    assert.equal(other.toVersion, 4);
  });
});

describe('replan text', () => {
  test('the summary names the new version and each group; empty groups are left out', () => {
    const detail: RunReplannedDetail = {
      fromVersion: 1, toVersion: 2, kept: ['a', 'b'], reset: ['c'], added: ['d'], removed: ['e'], changed: ['c'],
      stoppedNodeIds: ['c'], reason: 'better drafts', warnings: ['$.edges[0].when: prose'],
    };
    assert.equal(
      replanSummary('r1', detail, 'running'),
      [
        'Run r1 replanned to version 2: kept a, b; reset c; added d; removed e (run running)',
        '  stopped (work in flight abandoned): c',
        '  reason: better drafts',
        '  warning: $.edges[0].when: prose',
      ].join('\n'),
    );
    assert.equal(
      replanSummary('r1', { ...detail, kept: [], removed: [], stoppedNodeIds: [], reason: undefined, warnings: undefined }),
      'Run r1 replanned to version 2: reset c; added d',
    );
  });

  test('the dry-run text', () => {
    const text = replanPreviewText({
      runId: 'r1', planId: 'p', runStatus: 'completed', fromVersion: 2, toVersion: 3, kept: [], reset: ['a'], added: [],
      removed: ['b'], changed: [], affected: ['a'], stoppedNodeIds: [], warnings: [],
      refusal: { reason: 'run-finished', message: 'Run r1 is completed: it cannot be replanned.' },
    });
    assert.equal(
      text,
      [
        'dry run (nothing sent): run r1 (plan p, completed), spec version 2 → 3',
        '  kept      -',
        '  reset     a',
        '  added     -',
        '  removed   b',
        '  changed   -',
        '  affected  a (downstream of a change)',
        'would be refused (run-finished): Run r1 is completed: it cannot be replanned.',
      ].join('\n'),
    );
  });
});

test('typos get the nearest valid name: nodes, run statuses, and a part of a longer name', async () => {
  const { nearest, unknownNodeMessage } = await import('../../src/engine/suggest');
  assert.equal(nearest('publsh', ['research', 'publish', 'announce']), 'publish');
  assert.equal(nearest('anounce', ['research', 'publish', 'announce']), 'announce');
  assert.equal(nearest('waiting', ['running', 'awaiting-human', 'blocked']), 'awaiting-human');
  assert.equal(nearest('zz', ['a', 'b']), undefined);
  assert.equal(
    unknownNodeMessage('post-1', 'publsh', ['research', 'publish']),
    'run post-1 has no node "publsh" (did you mean "publish"?); its nodes: research, publish',
  );
  const { runStatus } = await import('../../src/client/cli/commands/list');
  assert.equal(runStatus('failed'), 'failed');
  assert.throws(() => runStatus('waiting'), /"waiting" is not a run status \(did you mean "awaiting-human"\?\); use one of: running, awaiting-human/);
});

test('property: a suggestion is always one of the candidates, and a known name suggests itself', async () => {
  const fc = (await import('fast-check')).default;
  const { nearest } = await import('../../src/engine/suggest');
  fc.assert(
    fc.property(fc.string({ maxLength: 12 }), fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 8 }), (given, candidates) => {
      const best = nearest(given, candidates);
      if (best !== undefined) assert.ok(candidates.includes(best));
      if (given !== '' && candidates.includes(given)) assert.equal(best?.toLowerCase(), given.toLowerCase());
    }),
  );
});
