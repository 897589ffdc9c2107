/**
 * Fan-out on a real server, worker and store (docs/semantics.md, "Fan-out"): forEach over five
 * topics with `forEach.maxConcurrency: 2` (never more than two active, shown from the stored
 * events), a retry after a validation failure, a skip → `partial` with null at its index; forEach over
 * a human approval; an empty list; too many items; and a continue-as-new in the middle of a fan-out
 * with nothing lost or repeated.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlanSpec } from '../../src/engine/spec';
import type { RunEvent } from '../../src/engine';
import fs from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { loadPlanFile } from '../../src/client/load-spec';
import { startHarness, runId, eventually, executionChain, plan, type Harness } from './harness';
import { mostActiveAtOnce } from '../support/fan-out';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const schemas = {
  Notes: { type: 'object', required: ['summary'], properties: { summary: { type: 'string', minLength: 5 } } },
};

/** plan → research (forEach over the planner's topics) → write. */
function researchPlan(id: string, forEach: Record<string, unknown> = {}, research: Partial<PlanSpec['nodes'][number]> = {}, extra: Partial<PlanSpec> = {}): PlanSpec {
  return plan(
    id,
    [
      { id: 'planner' },
      { id: 'research', outputSchema: 'Notes', forEach: { items: 'input.topics', ...forEach }, ...research } as PlanSpec['nodes'][number],
      { id: 'write' },
    ],
    [
      { from: 'planner', to: 'research', map: { topics: 'output.topics' } },
      { from: 'research', to: 'write', map: { notes: 'output.items' } },
    ],
    { schemas, maxConcurrency: 10, ...extra },
  );
}

const topics = (n: number) => Array.from({ length: n }, (_, i) => `topic-${i}`);

/** The SQL under `-- <title>` in docs/operations.md, for run `runId`: the docs' queries must work. */
function docsQuery(title: string, runId: string): string {
  const doc = fs.readFileSync(path.resolve(__dirname, '../../../docs/operations.md'), 'utf8');
  const start = doc.indexOf(`-- ${title}\n`);
  assert.ok(start >= 0, `docs/operations.md has no query "${title}"`);
  const body = doc.slice(start).split('\n').slice(1);
  const query = body.slice(0, body.findIndex((line) => line.trimEnd().endsWith(';')) + 1).join('\n');
  return query.replaceAll("'report-1'", `'${runId}'`);
}

function assertContiguous(events: RunEvent[]): void {
  assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1), 'event seqs are 1..N with no gap or repeat');
}

describe('forEach', () => {
  test('five topics, maxConcurrency 2: at most two active, a retry after a validation failure, a skip → partial with null', async () => {
    const spec = researchPlan('fan-five', { maxConcurrency: 2 }, { retry: { maxAttempts: 2, retryOn: ['validation'] }, onFailure: [{ on: 'agent-error', action: 'skip' }] });
    const { runId: id } = await h.client.start(spec, { runId: runId('fan-five') });
    await h.client.submitResult(id, { nodeId: 'planner', structuredOutput: { topics: topics(5) } });

    const snapshot = await h.client.snapshot(id);
    const research = snapshot.nodes.find((n) => n.id === 'research');
    assert.equal(research?.status, 'running');
    assert.deepEqual(research?.instances?.map((i) => [i.id, i.status]), [
      ['research[0]', 'running'],
      ['research[1]', 'running'],
      ['research[2]', 'ready'],
      ['research[3]', 'ready'],
      ['research[4]', 'ready'],
    ]);
    assert.ok(!snapshot.nodes.some((n) => n.id.includes('[')), 'instances are listed under their node, not beside it');
    const item = await h.client.workItem(id, 'research[1]');
    assert.deepEqual([item?.item, item?.index, item?.attempt], ['topic-1', 1, 1]);
    assert.deepEqual(item?.resolvedInput, { topics: topics(5), item: 'topic-1', index: 1 });

    const invalid = await h.client.submitResult(id, { nodeId: 'research[0]', structuredOutput: { summary: 'no' } });
    assert.equal(invalid.nodeStatus, 'running', 'retried');
    assert.equal(invalid.attempt, 1);
    assert.equal((await h.client.workItem(id, 'research[0]'))?.previousIssues[0].code, 'schema');
    const skipped = await h.client.submitResult(id, { nodeId: 'research[1]', failure: { class: 'agent-error', message: 'source offline' } });
    assert.equal(skipped.nodeStatus, 'skipped');
    await h.client.submitResult(id, { nodeId: 'research[0]', attempt: 2, structuredOutput: { summary: 'zero is fine' } });
    for (const i of [2, 3, 4]) await h.client.submitResult(id, { nodeId: `research[${i}]`, structuredOutput: { summary: `summary ${i}` } });

    const after = await h.client.snapshot(id);
    const done = after.nodes.find((n) => n.id === 'research');
    assert.equal(done?.status, 'partial');
    assert.deepEqual(done?.output, { items: [{ summary: 'zero is fine' }, null, { summary: 'summary 2' }, { summary: 'summary 3' }, { summary: 'summary 4' }] });
    assert.deepEqual(done?.instances?.map((i) => [i.status, i.attempts]), [['completed', 2], ['skipped', 1], ['completed', 1], ['completed', 1], ['completed', 1]]);
    const write = await h.client.workItem(id, 'write');
    assert.deepEqual((write?.resolvedInput as { notes: unknown[] }).notes[1], null);
    await h.client.submitResult(id, { nodeId: 'write', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');

    const events = await eventually(async () => {
      const stored = await h.store.listEvents(id);
      return stored.some((e) => e.type === 'run-status-changed' && e.toStatus === 'completed') ? stored : undefined;
    }, 'the run-completed status change in the store');
    assertContiguous(events);
    assert.equal(mostActiveAtOnce(events, 'research'), 2, 'two at once, never more');
    assert.deepEqual(events.filter((e) => e.type === 'fan-out-started').map((e) => e.detail?.count), [5]);
    assert.deepEqual(events.filter((e) => e.type === 'fan-out-completed').map((e) => [e.nodeId, e.toStatus ?? e.detail?.skipped]), [['research', 1]]);

    const rows = await h.store.listNodeRuns(id);
    const instanceRows = rows.filter((r) => r.instanceOf === 'research');
    assert.deepEqual(instanceRows.map((r) => [r.nodeId, r.index, r.status]), [
      ['research[0]', 0, 'completed'],
      ['research[1]', 1, 'skipped'],
      ['research[2]', 2, 'completed'],
      ['research[3]', 3, 'completed'],
      ['research[4]', 4, 'completed'],
    ]);
    const attempts = await h.store.listAttempts(id, 'research[0]');
    assert.deepEqual(attempts.map((a) => [a.attempt, a.status, a.failureClass]), [[1, 'failed', 'validation'], [2, 'completed', undefined]], 'an instance has attempts of its own');

    // The queries docs/operations.md gives for fan-outs, run as written.
    const db = (h.store as unknown as { db: Kysely<unknown> }).db;
    const everyAttempt = await sql.raw<{ instance_index: number; attempt: number }>(docsQuery('every attempt of every instance of research, in list order', id)).execute(db);
    assert.deepEqual(everyAttempt.rows.map((r) => [Number(r.instance_index), Number(r.attempt)]), [[0, 1], [0, 2], [1, 1], [2, 1], [3, 1], [4, 1]]);
    const failedOnes = await sql.raw<{ node_id: string }>(docsQuery('fan-out: which instances of research failed, and why', id)).execute(db);
    assert.deepEqual(failedOnes.rows, [], 'none failed for good (one was skipped, one retried)');
  });

  test('forEach over a human approval: one approval per instance, answered by instance id', async () => {
    const spec = plan(
      'fan-approve',
      [{ id: 'planner' }, { id: 'approve', type: 'human-approval', owner: { kind: 'human', ref: 'editors' }, forEach: { items: 'input.drafts' } } as PlanSpec['nodes'][number], { id: 'send' }],
      [
        { from: 'planner', to: 'approve', map: { drafts: 'output.drafts' } },
        { from: 'approve', to: 'send', map: { decisions: 'output.items' } },
      ],
      { maxConcurrency: 4 },
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('fan-approve') });
    await h.client.submitResult(id, { nodeId: 'planner', structuredOutput: { drafts: ['first', 'second'] } });
    const snapshot = await h.client.snapshot(id);
    assert.deepEqual(snapshot.approvals.filter((a) => a.status === 'pending').map((a) => a.nodeId).sort(), ['approve[0]', 'approve[1]']);
    await assert.rejects(h.client.respond(id, { nodeId: 'approve', respondedBy: 'ann', response: { approved: true } }), (error: Error & { reason?: string }) => {
      assert.match(error.message, /approve\[0\]/);
      return true;
    });
    await h.client.respond(id, { nodeId: 'approve[1]', respondedBy: 'ann', response: { approved: true } });
    assert.equal((await h.client.snapshot(id)).nodes.find((n) => n.id === 'approve')?.status, 'running', 'one of two answered');
    await h.client.respond(id, { nodeId: 'approve[0]', respondedBy: 'bob', response: { approved: true } });
    const item = await h.client.workItem(id, 'send');
    assert.equal((item?.resolvedInput as { decisions: unknown[] }).decisions.length, 2);
    await h.client.submitResult(id, { nodeId: 'send', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
    const reviews = await eventually(async () => {
      const rows = [...(await h.store.listAttempts(id, 'approve[0]')), ...(await h.store.listAttempts(id, 'approve[1]'))];
      return rows.length === 2 ? rows : undefined;
    }, 'both approvals in the store');
    assert.deepEqual(reviews.map((a) => [a.nodeId, a.by]), [['approve[0]', 'bob'], ['approve[1]', 'ann']]);
  });

  test('an empty list completes the node at once; more than maxItems fails it with class input', async () => {
    const empty = await h.client.start(researchPlan('fan-empty'), { runId: runId('fan-empty') });
    await h.client.submitResult(empty.runId, { nodeId: 'planner', structuredOutput: { topics: [] } });
    const snapshot = await h.client.snapshot(empty.runId);
    assert.deepEqual(snapshot.nodes.map((n) => [n.id, n.status]), [['planner', 'completed'], ['research', 'completed'], ['write', 'running']]);
    assert.deepEqual(snapshot.nodes[1].output, { items: [] });
    await h.client.submitResult(empty.runId, { nodeId: 'write', structuredOutput: {} });
    assert.equal((await h.client.result(empty.runId)).status, 'completed');

    const tooMany = await h.client.start(researchPlan('fan-too-many', { maxItems: 3 }), { runId: runId('fan-too-many') });
    await h.client.submitResult(tooMany.runId, { nodeId: 'planner', structuredOutput: { topics: topics(4) } });
    const failed = await eventually(async () => {
      const s = await h.client.snapshot(tooMany.runId);
      return s.status === 'failed' ? s : undefined;
    }, 'the run to fail');
    const research = failed.nodes.find((n) => n.id === 'research');
    assert.equal(research?.status, 'failed');
    assert.equal(research?.failureClass, 'input');
    assert.deepEqual(research?.instances, [], 'no instance was started');
    assert.deepEqual(research?.issues.map((i) => [i.code, i.path]), [['for-each-items', 'input.topics']]);
    assert.match(research?.issues[0].message ?? '', /4 entries, more than forEach.maxItems \(3\)/, 'says what is wrong and what to do');
  });

  test('continue-as-new in the middle of a fan-out: every instance finishes once, events contiguous, no duplicate attempts', async () => {
    const id = runId('fan-can');
    const spec = researchPlan('fan-can', { maxConcurrency: 3 });
    await h.client.start(spec, { runId: id, options: { continueAsNewAfterMessages: 3 } });
    const firstRunId = (await h.client.client.workflow.getHandle(id).describe()).runId;
    await h.client.submitResult(id, { nodeId: 'planner', structuredOutput: { topics: topics(8) } });
    for (let i = 0; i < 8; i++) {
      await eventually(async () => ((await h.client.workItem(id, `research[${i}]`)) ? true : undefined), `research[${i}] to be handed out`);
      await h.client.submitResult(id, { nodeId: `research[${i}]`, structuredOutput: { summary: `summary ${i}` } });
    }
    await h.client.submitResult(id, { nodeId: 'write', structuredOutput: {} });
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');
    const research = final.nodes.find((n) => n.id === 'research');
    assert.deepEqual((research?.output as { items: Array<{ summary: string }> }).items.map((i) => i.summary), topics(8).map((_, i) => `summary ${i}`));

    const runs = await executionChain(h.client.client, id, firstRunId);
    assert.ok(runs.length >= 3, `expected several executions, got ${runs.length}`);
    const events = await eventually(async () => {
      const stored = await h.store.listEvents(id);
      return stored.some((e) => e.type === 'run-status-changed' && e.toStatus === 'completed') ? stored : undefined;
    }, 'the run-completed status change in the store');
    assertContiguous(events);
    assert.equal(events.filter((e) => e.type === 'fan-out-started').length, 1, 'the fan-out started once');
    assert.equal(events.filter((e) => e.type === 'node-completed' && e.nodeId?.startsWith('research[')).length, 8);
    for (let i = 0; i < 8; i++) {
      const attempts = await h.store.listAttempts(id, `research[${i}]`);
      assert.deepEqual(attempts.map((a) => a.attempt), [1], `research[${i}] has one attempt row`);
    }
  });

  test('examples/research-fan-out.plan.yaml: the research fans out, two of three branches win the join, the search is cancelled', async () => {
    const example = loadPlanFile(path.resolve(__dirname, '../../../examples/research-fan-out.plan.yaml')).raw as PlanSpec;
    const { runId: id } = await h.client.start(example, { runId: runId('fan-example'), input: { question: 'why durable agents?' } });
    await h.client.submitResult(id, { nodeId: 'planner', structuredOutput: { topics: ['crashes', 'people'] } });
    await h.client.submitResult(id, { nodeId: 'research[0]', structuredOutput: { summary: 'crashes resume' } });
    await h.client.submitResult(id, { nodeId: 'research[1]', structuredOutput: { summary: 'people take days' } });
    await h.client.submitResult(id, { nodeId: 'specialist', structuredOutput: { summary: 'history is the log' } });
    const snapshot = await h.client.snapshot(id);
    assert.deepEqual(Object.fromEntries(snapshot.nodes.map((n) => [n.id, n.status])), {
      planner: 'completed',
      research: 'completed',
      specialist: 'completed',
      search: 'cancelled',
      enough: 'completed',
      write: 'running',
    });
    const write = await h.client.workItem(id, 'write');
    assert.deepEqual(write?.resolvedInput, {
      notes: [{ summary: 'crashes resume' }, { summary: 'people take days' }],
      angle: 'history is the log',
      question: 'why durable agents?',
    });
    await h.client.submitResult(id, { nodeId: 'write', structuredOutput: { report: 'done' } });
    assert.equal((await h.client.result(id)).status, 'completed');
  });
});
