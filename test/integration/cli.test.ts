/**
 * The CLI contract, end to end: the real `bin/plan-runner.js` as a subprocess against the real server,
 * checking exit codes and the JSON shapes scripts rely on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHarness, runId, eventually, type Harness, runCli } from './harness';

const EXAMPLE = path.resolve(__dirname, '../../../examples/blog-post.plan.yaml');

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const cli = (...args: string[]) => runCli(h.taskQueue, ...args);
const json = (text: string) => JSON.parse(text.trim().split('\n').at(-1) as string);

test('start, submit, respond, status, events, attempts, approvals, inbox and list through the CLI', async () => {
  const id = runId('cli');
  const started = await cli('start', EXAMPLE, '--run-id', id, '--input', '{"topic":"cli"}', '--json');
  assert.equal(started.code, 0, started.stderr);
  assert.equal(json(started.stdout).runId, id);

  const bad = await cli('submit', id, 'research', '--output', '{"summary":"too short"}', '--attempt', '1', '--json');
  assert.equal(bad.code, 0, 'a result with blocking issues is still recorded');
  const badOutcome = json(bad.stdout);
  assert.equal(badOutcome.accepted, true);
  assert.ok(badOutcome.issues.some((issue: { severity: string }) => issue.severity === 'blocking'));

  const stale = await cli('submit', id, 'research', '--output', '{}', '--attempt', '1', '--json');
  assert.equal(stale.code, 1, 'a stale attempt is refused with exit 1');
  assert.match(stale.stdout + stale.stderr, /stale/);

  const notes = JSON.stringify({ summary: 'Durable execution keeps agent runs alive.', sources: ['a', 'b', 'c'] });
  const good = await cli('submit', id, 'research', '--output', notes, '--attempt', '2', '--submission-id', 'r-2', '--json');
  assert.equal(good.code, 0, good.stderr);
  assert.equal(json(good.stdout).nodeStatus, 'completed');

  const draft = await cli('submit', id, 'draft', '--output', '{"title":"T","body":"B"}', '--artifact', 'post=s3://bucket/post.md', '--json');
  assert.equal(json(draft.stdout).nodeStatus, 'completed');

  const inbox = await eventually(async () => {
    const result = await cli('inbox', 'human:alice', '--json');
    return result.code === 0 && result.stdout.includes(id) ? result : undefined;
  }, 'the run in alice’s inbox');
  assert.equal(inbox.code, 0);

  const refused = await cli('respond', id, '--approve', '--by', 'mallory', '--json');
  assert.equal(refused.code, 1);
  assert.match(refused.stdout + refused.stderr, /not-authorized|may not answer/);
  const approved = await cli('respond', id, '--node', 'approve', '--approve', '--by', 'alice', '--comments', 'ship it', '--json');
  assert.equal(approved.code, 0, approved.stderr);

  const status = await cli('status', id, '--json');
  const view = json(status.stdout);
  assert.equal(view.runId, id);
  assert.equal(view.planId, 'blog-post');
  assert.deepEqual(
    view.nodes.map((n: { id: string; status: string }) => [n.id, n.status]),
    [
      ['research', 'completed'],
      ['draft', 'completed'],
      ['approve', 'completed'],
      ['publish', 'running'],
      ['announce', 'pending'],
      ['archive', 'skipped'],
    ],
  );
  assert.equal(view.nodes[0].attempts, 2);
  assert.deepEqual(view.approvals.map((a: { approvalId: string; status: string }) => [a.approvalId, a.status]), [['approve#1', 'approved']]);

  // Events, attempts, approvals and checkpoints come from the store the worker records into (the
  // default store under this directory, or PLAN_STORE_URL, as for the harness). Records are written
  // just after each step, so wait until the store has caught up with the status just read.
  const lines = await eventually(async () => {
    const events = await cli('events', id, '--json');
    if (events.code !== 0) return undefined;
    const parsed = events.stdout.trim().split('\n').map((line) => JSON.parse(line));
    return parsed.length === view.lastSeq ? parsed : undefined;
  }, `the store to hold ${view.lastSeq} events`);
  assert.deepEqual(lines.map((line) => line.seq), Array.from({ length: view.lastSeq }, (_, i) => i + 1));
  for (const line of lines) assert.ok('seq' in line && 'type' in line && 'message' in line);
  const since = await cli('events', id, '--since', String(lines.length - 2), '--json');
  assert.equal(since.stdout.trim().split('\n').length, 2);
  const text = await cli('events', id, '--since', String(lines.length - 1));
  assert.match(text.stdout, new RegExp(`^\\s*${lines.length}  \\S+  ${lines.at(-1).type}\\s`));

  const attempts = await cli('attempts', id, 'research', '--json');
  assert.equal(attempts.code, 0, attempts.stderr);
  const researchAttempts = json(attempts.stdout);
  assert.deepEqual(researchAttempts.map((a: { attempt: number; status: string }) => [a.attempt, a.status]), [
    [1, 'failed'],
    [2, 'completed'],
  ]);
  assert.ok(researchAttempts[0].issues.some((issue: { severity: string; code: string }) => issue.severity === 'blocking' && issue.code === 'schema'));
  const approvals = await cli('approvals', '--run', id, '--json');
  assert.deepEqual(json(approvals.stdout).map((a: { approvalId: string; status: string; respondedBy?: string }) => [a.approvalId, a.status, a.respondedBy]), [
    ['approve#1', 'approved', 'alice'],
  ]);
  const checkpoints = await cli('checkpoints', id, '--json');
  assert.equal(json(checkpoints.stdout)[0].reason, 'run-started');

  // Following the open run: it ends once the cancel is recorded.
  const follow = cli('events', id, '--follow', '--since', String(view.lastSeq), '--json', '--poll', '100');
  const cancelled = await cli('cancel', id, '--reason', 'test over', '--json');
  assert.equal(cancelled.code, 0);
  const followed = await follow;
  assert.equal(followed.code, 0, followed.stderr);
  const tail = followed.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.ok(tail.some((event) => event.type === 'run-status-changed' && event.toStatus === 'aborted'), followed.stdout);
  const listed = await eventually(async () => {
    const result = await cli('list', '--plan', 'blog-post', '--status', 'aborted', '--json');
    return result.stdout.includes(id) ? result : undefined;
  }, 'the aborted run in the list');
  assert.equal(listed.code, 0);
});

test('graph RUN: the live run drawn with its node statuses and edge states', async () => {
  const id = runId('cli-graph');
  assert.equal((await cli('start', EXAMPLE, '--run-id', id, '--input', '{"topic":"graphs"}', '--json')).code, 0);
  try {
    const notes = JSON.stringify({ summary: 'A run is drawn from the same graph model.', sources: ['a', 'b', 'c'] });
    assert.equal((await cli('submit', id, 'research', '--output', notes, '--json')).code, 0);
    // The statuses come from Temporal, the plan from the store (written just after each step).
    const graph = await eventually(async () => {
      const result = await cli('graph', id, '--json');
      return result.code === 0 ? json(result.stdout) : undefined;
    }, 'the graph of the run');
    assert.deepEqual(graph.run, { runId: id, status: 'running', specVersion: 1 });
    assert.deepEqual(
      graph.nodes.map((n: { id: string; status: string }) => [n.id, n.status]),
      [['research', 'completed'], ['draft', 'running'], ['approve', 'pending'], ['publish', 'pending'], ['announce', 'pending'], ['archive', 'pending']],
    );
    assert.deepEqual(graph.edges.map((e: { from: string; to: string; state: string }) => `${e.from}->${e.to}:${e.state}`), [
      'research->draft:taken',
      'draft->approve:pending',
      'approve->publish:pending',
      'publish->announce:pending',
      'approve->archive:pending',
    ]);
    const mermaid = await cli('graph', id);
    assert.equal(mermaid.code, 0, mermaid.stderr);
    assert.match(mermaid.stdout, /\n {2}class n0 st_completed\n/);
    assert.match(mermaid.stdout, /\n {2}class n1 st_running\n/);
  } finally {
    await h.client.cancel(id, { by: 'tester', reason: 'test over' }).catch(() => undefined);
  }
});

test('an invalid spec or input makes `start` exit 1 and start nothing', async () => {
  const id = runId('cli-invalid');
  const result = await cli('start', path.resolve(__dirname, '../../../test/fixtures/broken.plan.yaml'), '--run-id', id, '--json');
  assert.equal(result.code, 1);
  assert.equal(json(result.stdout).valid ?? false, false);
  const status = await cli('status', id, '--json');
  assert.equal(status.code, 3, 'no run exists');
});

test('replan RUN FILE sends the new spec version to the run; an invalid file is refused before it reaches the run', async () => {
  const id = runId('cli-replan');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-runner-cli-replan-'));
  const writeSpec = (name: string, spec: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(spec, null, 2));
    return file;
  };
  const writer = { kind: 'agent', ref: 'writer' };
  const editor = { kind: 'agent', ref: 'editor' };
  const v1 = {
    id: 'cli-replan',
    title: 'Replan through the CLI',
    nodes: [
      { id: 'write', type: 'task', owner: writer, objective: 'write a text' },
      { id: 'edit', type: 'task', owner: editor, objective: 'edit the text' },
    ],
    edges: [{ from: 'write', to: 'edit', map: { text: 'output.text' } }],
  };
  // Version 2: `edit` changed, `publish` added after it.
  const v2 = {
    ...v1,
    nodes: [
      v1.nodes[0],
      { id: 'edit', type: 'task', owner: editor, objective: 'edit the text and shorten it' },
      { id: 'publish', type: 'task', owner: { kind: 'agent', ref: 'publisher' }, objective: 'publish the text' },
    ],
    edges: [...v1.edges, { from: 'edit', to: 'publish' }],
  };
  // Invalid: an edge to a node that does not exist.
  const broken = { ...v2, edges: [...v2.edges, { from: 'publish', to: 'ghost' }] };
  try {
    const started = await cli('start', writeSpec('v1.plan.json', v1), '--run-id', id, '--json');
    assert.equal(started.code, 0, started.stderr);
    const submitted = await cli('submit', id, 'write', '--output', '{"text":"hello"}', '--json');
    assert.equal(submitted.code, 0, submitted.stderr);
    assert.equal(json(submitted.stdout).nodeStatus, 'completed');

    const replanned = await cli('replan', id, writeSpec('v2.plan.json', v2), '--by', 'tester', '--reason', 'shorter, then publish');
    assert.equal(replanned.code, 0, replanned.stderr);
    const outcome = json(replanned.stdout);
    assert.equal(outcome.accepted, true);
    assert.equal(outcome.specVersion, 2);
    assert.deepEqual(
      [outcome.changes.fromVersion, outcome.changes.toVersion, outcome.changes.kept, outcome.changes.reset, outcome.changes.added, outcome.changes.removed],
      [1, 2, ['write'], ['edit'], ['publish'], []],
    );
    assert.deepEqual(outcome.changes.changed, ['edit']);
    assert.deepEqual(outcome.changes.stoppedNodeIds, ['edit'], 'edit was running: its attempt is abandoned');
    assert.match(replanned.stderr, new RegExp(`Run ${id} replanned to version 2: kept write; reset edit; added publish \\(run running\\)`));
    assert.match(replanned.stderr, /stopped \(work in flight abandoned\): edit/);
    assert.match(replanned.stderr, /reason: shorter, then publish/);

    // The run (its next execution, after continue-as-new) is on version 2: write kept with its output.
    const snapshot = await h.client.snapshot(id);
    assert.equal(snapshot.specVersion, 2);
    const status = await cli('status', id, '--json');
    assert.equal(status.code, 0, status.stderr);
    const view = json(status.stdout);
    assert.equal(view.specVersion, 2, 'status --json names the spec version');
    const nodes = view.nodes.map((n: { id: string; status: string; attempts: number; output: unknown }) => [n.id, n.status, n.attempts, n.output]);
    assert.deepEqual(nodes, [
      ['write', 'completed', 1, { text: 'hello' }],
      ['edit', 'running', 1, null],
      ['publish', 'pending', 0, null],
    ]);
    const editItem = await h.client.workItem(id, 'edit');
    assert.equal(editItem?.brief.objective, 'edit the text and shorten it', 'edit runs under its new definition');
    assert.equal(editItem?.attempt, 2, 'the abandoned attempt 1 is not handed out again');
    assert.deepEqual(editItem?.resolvedInput, { text: 'hello' }, 'from the kept output of write');
    const events = await h.client.events(id);
    const replanEvent = events.find((e) => e.type === 'run-replanned');
    assert.equal(replanEvent?.by, 'tester', 'recorded in the store by the time replan returned');

    // An invalid spec: exit 1, the problem listed with its path, nothing sent to the run.
    const brokenFile = writeSpec('broken.plan.json', broken);
    const refusedText = await cli('replan', id, brokenFile, '--by', 'tester');
    assert.equal(refusedText.code, 1, refusedText.stderr);
    assert.match(refusedText.stderr, /\$\.edges\[2\]\.to: .*"ghost"/);
    const refusedJson = await cli('replan', id, brokenFile, '--by', 'tester', '--json');
    assert.equal(refusedJson.code, 1);
    const body = json(refusedJson.stdout);
    assert.deepEqual(body.errors.map((e: { path: string }) => e.path), ['$.edges[2].to']);
    assert.match(body.errors[0].message, /ghost/);

    const untouched = await h.client.snapshot(id);
    assert.equal(untouched.specVersion, 2);
    assert.equal(untouched.lastSeq, snapshot.lastSeq, 'no event: the run never saw the invalid spec');
    assert.deepEqual(untouched.nodes.map((n) => [n.id, n.status, n.attempts]), [
      ['write', 'completed', 1],
      ['edit', 'running', 1],
      ['publish', 'pending', 0],
    ]);
    await h.client.cancel(id, { by: 'tester', reason: 'test over' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('instances through the CLI: submit RUN research[1], status lists instances under their node, respond --node approve[1]', async () => {
  const example = path.resolve(__dirname, '../../../examples/research-fan-out.plan.yaml');
  const id = runId('cli-fan-out');
  assert.equal((await cli('start', example, '--run-id', id, '--input', '{"question":"why loops?"}', '--json')).code, 0);
  assert.equal((await cli('submit', id, 'planner', '--output', '{"topics":["history","practice"]}', '--json')).code, 0);
  const submitted = await cli('submit', id, 'research[1]', '--output', '{"summary":"practice notes"}', '--json');
  assert.equal(submitted.code, 0, submitted.stderr);
  assert.equal(json(submitted.stdout).nodeStatus, 'completed');
  const parent = await cli('submit', id, 'research', '--output', '{"summary":"which one?"}', '--json');
  assert.notEqual(parent.code, 0, 'the node itself is not a work item');
  assert.match(parent.stderr + parent.stdout, /research\[0\]/, 'the refusal names the instances to use');

  const status = json((await cli('status', id, '--json')).stdout);
  const research = status.nodes.find((n: { id: string }) => n.id === 'research');
  assert.deepEqual(research.instances.map((i: { id: string; status: string; output: unknown }) => [i.id, i.status, i.output]), [
    ['research[0]', 'running', null],
    ['research[1]', 'completed', { summary: 'practice notes' }],
  ]);
  const text = (await cli('status', id)).stdout;
  assert.match(text, /\n {2}research\[0\]\s+running/);
  assert.match(text, /\n {2}research\[1\]\s+completed/);
  await h.client.cancel(id, { by: 'tester', reason: 'test over' });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-approve-each-'));
  try {
    const file = path.join(dir, 'approve-each.plan.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        id: 'approve-each',
        title: 'Approve each draft',
        maxConcurrency: 3,
        nodes: [
          { id: 'drafts', type: 'task', owner: { kind: 'agent', ref: 'writer' } },
          { id: 'approve', type: 'human-approval', owner: { kind: 'human', ref: 'editors' }, forEach: { items: 'input.drafts' } },
        ],
        edges: [{ from: 'drafts', to: 'approve', map: { drafts: 'output.drafts' } }],
      }),
    );
    const approveId = runId('cli-approve-each');
    assert.equal((await cli('start', file, '--run-id', approveId, '--json')).code, 0);
    assert.equal((await cli('submit', approveId, 'drafts', '--output', '{"drafts":["one","two"]}', '--json')).code, 0);
    const answered = await cli('respond', approveId, '--node', 'approve[1]', '--approve', '--by', 'alice', '--json');
    assert.equal(answered.code, 0, answered.stderr);
    const approvals = json((await cli('status', approveId, '--json')).stdout).approvals;
    assert.deepEqual(approvals.map((a: { approvalId: string; status: string }) => [a.approvalId, a.status]).sort(), [['approve[0]#1', 'pending'], ['approve[1]#1', 'approved']]);
    assert.equal((await cli('respond', approveId, '--node', 'approve[0]', '--approve', '--by', 'bob', '--json')).code, 0);
    assert.equal((await h.client.result(approveId)).status, 'completed');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
