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

const NOWHERE = ['--address', '127.0.0.1:1'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) };
  const code = await main(['node', 'plan-runner', ...args], io);
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
      assert.match(run.stderr, /cannot reach Temporal at 127\.0\.0\.1:1: is the server running\? \.\/temporal-dev\.sh server/);
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
