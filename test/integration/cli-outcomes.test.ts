/**
 * What people read after each command, against a real server and worker (docs/cli.md): every
 * answer says what happened and what comes next. One test per kind of answer: a rejected result,
 * `status` of a retried / failed / aborted run, a second answer, a retry, event authorship, a
 * wrong-shaped answer, and JSON read from `@file` and standard input.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main, type CliIO } from '../../src/client/cli';
import { startHarness, runId, plan, eventually, TEMPORAL_ADDRESS, type Harness } from './harness';

const BIN = path.resolve(__dirname, '../../../bin/plan-runner.js');
const EXAMPLE = path.resolve(__dirname, '../../../examples/blog-post.plan.yaml');
const GOOD_NOTES = { summary: 'Durable execution keeps agent runs alive.', sources: ['a', 'b', 'c'] };

let h: Harness;
let tmp: string;
before(async () => {
  h = await startHarness();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-outcomes-'));
});
after(async () => {
  await h?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI in this process (fast), reading the harness's store; `stdin` stands in for a pipe. */
async function cli(args: string[], stdin?: string): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) };
  const code = await main(['node', 'plan-runner', ...args, '--address', TEMPORAL_ADDRESS, '--task-queue', h.taskQueue], io, {
    store: h.store,
    ...(stdin !== undefined ? { stdin: async () => stdin } : {}),
  });
  return { code, stdout, stderr };
}
const lastJson = (text: string) => JSON.parse(text.trim().split('\n').at(-1) as string);

async function startExample(name: string): Promise<string> {
  const id = runId(name);
  const started = await cli(['start', EXAMPLE, '--run-id', id, '--input', '{"topic":"outcomes"}']);
  assert.equal(started.code, 0, started.stderr);
  return id;
}

test('a result with blocking issues says it was rejected and which attempt now runs; status shows attempt 2 of 2 and no rejected output', async () => {
  const id = await startExample('rejected');
  const first = await cli(['status', id]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /\bresearch\s+task\s+running\s+1 of 2\b/, 'the first attempt is attempt 1, not 0');

  const bad = await cli(['submit', id, 'research', '--output', '{"summary":"too short","sources":[]}']);
  assert.equal(bad.code, 0, 'the result is recorded (and rejected): exit 0');
  assert.match(bad.stderr, /Result rejected \(\d+ blocking issues?: .+\); attempt 2 of 2 is now running\./);
  const outcome = lastJson(bad.stdout);
  assert.equal(outcome.verdict, 'rejected');
  assert.deepEqual(outcome.nextAttempt, { attempt: 2, of: 2 });

  const status = await cli(['status', id]);
  assert.match(status.stdout, /\bresearch\s+task\s+running\s+2 of 2\s+agent:researcher\s+\(attempt 1 rejected: /);
  assert.doesNotMatch(status.stdout, /too short/, 'the rejected output is not shown as the node output');
  const view = lastJson((await cli(['status', id, '--json'])).stdout);
  const research = view.nodes.find((n: { id: string }) => n.id === 'research');
  assert.equal(research.output, null);
  assert.equal(research.lastAttempt.status, 'failed');
  await cli(['cancel', id, '--reason', 'test done']);
});

test('a failed run: submit and status say why and what to do next; retry names the next attempt', async () => {
  const spec = plan('outcome-fail', [{ id: 'a' }, { id: 'b' }], [{ from: 'a', to: 'b' }]);
  const file = path.join(tmp, 'fail.plan.json');
  fs.writeFileSync(file, JSON.stringify(spec));
  const id = runId('failed');
  assert.equal((await cli(['start', file, '--run-id', id])).code, 0);
  const failed = await cli(['submit', id, 'a', '--fail', 'agent-error:the API key was revoked']);
  assert.equal(failed.code, 0, failed.stderr);
  assert.match(failed.stderr, /Failure recorded for attempt 1 \(agent-error\); no attempts left \(1 of 1 used\): node "a" failed and the run is failed/);
  assert.match(failed.stderr, new RegExp(`next: plan-runner retry ${id} a`));

  const status = await cli(['status', id]);
  assert.match(status.stdout, /status failed/);
  assert.match(status.stdout, /reason: node a failed \(agent-error\) after attempt 1: the API key was revoked/);
  assert.match(status.stdout, new RegExp(`next: plan-runner retry ${id} NODE`));

  const retried = await cli(['retry', id, 'a', '--by', 'bob']);
  assert.equal(retried.code, 0, retried.stderr);
  assert.match(retried.stderr, /Node "a" was retried by bob: attempt 2 is now running\./);
  await cli(['cancel', id]);
});

test('an aborted run shows the nodes it never reached as "not reached"', async () => {
  const id = await startExample('aborted');
  const cancelled = await cli(['cancel', id, '--reason', 'wrong topic', '--by', 'bob']);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  const status = await cli(['status', id]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /status aborted/);
  assert.match(status.stdout, /\bpublish\s+task\s+not reached\b/);
  assert.doesNotMatch(status.stdout, /\bpending\b/);
});

test('a second answer says who answered first and how; a wrong-shaped answer names the right flags', async () => {
  const id = await startExample('answered');
  await cli(['submit', id, 'research', '--output', JSON.stringify(GOOD_NOTES)]);
  await cli(['submit', id, 'draft', '--output', '{"title":"T","body":"B"}']);
  await eventually(async () => ((await cli(['status', id])).stdout.includes('awaiting-human') ? true : undefined), 'the approval is pending');

  const wrong = await cli(['respond', id, '--node', 'approve', '--decision', 'yes', '--by', 'alice']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /human-approval.*use --approve or --reject/s);

  const first = await cli(['respond', id, '--node', 'approve', '--approve', '--by', 'alice']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /Answer recorded: approval approve#1 approved by alice/);
  const second = await cli(['respond', id, '--approve', '--by', 'bob']);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /approve#1 .*was already approved by alice at \d{4}-/);

  // The skip of `archive` is the engine's doing, after alice's answer: not alice's, not bob's.
  const events = await eventually(async () => {
    const result = await cli(['events', id]);
    return /node-skipped/.test(result.stdout) ? result.stdout : undefined;
  }, 'the skip is recorded');
  const skipped = events.split('\n').find((line) => line.includes('node-skipped')) ?? '';
  assert.match(skipped, /\(by engine, after answer #\d+ by alice\)$/);
  await cli(['cancel', id]);
});

test('--output @file and - (standard input) are read as JSON; an unreadable file is refused naming it', async () => {
  const id = await startExample('files');
  const notes = path.join(tmp, 'notes.json');
  fs.writeFileSync(notes, JSON.stringify(GOOD_NOTES));
  const fromFile = await cli(['submit', id, 'research', '--output', `@${notes}`]);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.equal(lastJson(fromFile.stdout).verdict, 'completed');

  const missing = await cli(['submit', id, 'draft', '--output', '@/nonexistent/draft.json']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--output @\/nonexistent\/draft\.json: cannot read \/nonexistent\/draft\.json: no such file/);

  // The real binary with a real pipe: `agent | plan-runner submit RUN draft --output -`.
  const piped = await new Promise<Ran>((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, 'submit', id, 'draft', '--output', '-', '--address', TEMPORAL_ADDRESS, '--task-queue', h.taskQueue],
      { env: { ...process.env, CI: 'true' } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end('{"title":"From a pipe","body":"B"}');
  });
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(lastJson(piped.stdout).nodeStatus, 'completed');
  const notJson = await cli(['retry', id, 'draft', '--input', '-'], 'not json');
  assert.equal(notJson.code, 1);
  assert.match(notJson.stderr, /--input is not valid JSON \(read from standard input\)/);
  await cli(['cancel', id]);
});

test('checked inputs: list --status and --plan typos, an unknown node everywhere, inbox --plan with attempt and brief', async () => {
  const id = await startExample('inputs');
  const status = await cli(['list', '--status', 'waiting']);
  assert.equal(status.code, 2);
  assert.match(status.stderr, /"waiting" is not a run status \(did you mean "awaiting-human"\?\)/);

  const plan = await cli(['list', '--plan', 'blog-pots']);
  assert.equal(plan.code, 1, plan.stderr);
  assert.match(plan.stderr, /no run of plan "blog-pots" exists \(did you mean "blog-post"\?\); plans with runs: .*blog-post/);
  const known = await cli(['list', '--plan', 'blog-post', '--status', 'blocked']);
  assert.equal(known.code, 0, 'a known plan with no matching runs is not an error');

  for (const args of [
    ['submit', id, 'reserch', '--output', '{}'],
    ['retry', id, 'reserch'],
    ['attempts', id, 'reserch'],
    ['respond', id, '--node', 'aprove', '--approve', '--by', 'alice'],
  ]) {
    const result = await cli([...args, '--json']);
    assert.equal(result.code, 3, `${args[0]}: ${result.stderr}`);
    assert.match(result.stderr, /has no node "(reserch|aprove)" \(did you mean "(research|approve)"\?\); its nodes: research, draft, approve/, args[0]);
    const body = lastJson(result.stdout);
    assert.equal(body.code, 'node-not-found', args[0]);
    assert.ok(['research', 'approve'].includes(body.suggestion), args[0]);
  }

  const inbox = await eventually(async () => {
    const result = await cli(['inbox', 'agent:researcher', '--plan', 'blog-post']);
    return result.stdout.includes(id) ? result : undefined;
  }, 'the run in the inbox');
  assert.match(inbox.stdout, new RegExp(`${id}\\s+blog-post\\s+running\\s+research attempt 1: Research the topic`));
  const other = await cli(['inbox', 'agent:researcher', '--plan', 'some-other-plan']);
  assert.doesNotMatch(other.stdout, new RegExp(id), '--plan keeps other plans out');
  await cli(['cancel', id]);
});
