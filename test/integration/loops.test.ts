/**
 * Loops on a real server, worker and store (docs/semantics.md, "Loops"), with the example plan
 * examples/revise-until-approved.plan.yaml: rejected once with edits, the edits reach the second
 * draft's work item as mapped input, approved in iteration 2, the run completes, and both
 * iterations' attempts are in the store with their iteration; three rejections archive the post.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadPlanFile } from '../../src/client/load-spec';
import type { PlanSpec } from '../../src/engine/spec';
import { startHarness, runId, eventually, type Harness } from './harness';

const EXAMPLE = path.resolve(__dirname, '../../../examples/revise-until-approved.plan.yaml');
let h: Harness;
let spec: PlanSpec;
before(async () => {
  h = await startHarness();
  spec = loadPlanFile(EXAMPLE).raw as PlanSpec;
});
after(async () => {
  await h?.close();
});

const draft = (title: string) => ({ title, body: `${title} body` });

test('revise until approved: the edits reach draft 2, approved in iteration 2, attempts stored with their iteration', async () => {
  const { runId: id } = await h.client.start(spec, { runId: runId('revise'), input: { topic: 'loops' } });
  await h.client.submitResult(id, { nodeId: 'draft', attempt: 1, structuredOutput: draft('v1') });
  const rejected = await h.client.respond(id, { nodeId: 'review', respondedBy: 'alice', response: { approved: false, requiredEdits: ['shorter title'] } });
  assert.equal(rejected.runStatus, 'running');

  const item = await h.client.workItem(id, 'draft');
  assert.equal(item?.iteration, 2);
  assert.equal(item?.attempt, 2);
  assert.deepEqual(item?.resolvedInput, { edits: ['shorter title'], topic: 'loops' });

  await h.client.submitResult(id, { nodeId: 'draft', attempt: 2, structuredOutput: draft('v2') });
  await h.client.respond(id, { nodeId: 'review', respondedBy: 'bob', response: { approved: true } });
  await h.client.submitResult(id, { nodeId: 'publish', structuredOutput: {} });
  const final = await h.client.result(id);
  assert.equal(final.status, 'completed');
  assert.equal(final.nodes.find((n) => n.id === 'archive')?.status, 'skipped');

  const attempts = await eventually(async () => {
    const rows = await h.store.listAttempts(id, 'draft');
    return rows.length === 2 ? rows : undefined;
  }, 'both drafts in the store');
  assert.deepEqual(attempts.map((a) => [a.attempt, a.iteration, (a.output as { title: string }).title]), [[1, 1, 'v1'], [2, 2, 'v2']]);
  const reviews = await h.store.listAttempts(id, 'review');
  assert.deepEqual(reviews.map((a) => [a.iteration, a.by]), [[1, 'alice'], [2, 'bob']]);
  const events = await h.store.listEvents(id);
  const iterated = events.filter((e) => e.type === 'loop-iterated');
  assert.equal(iterated.length, 1);
  assert.equal(iterated[0].iteration, 2);
  assert.ok(events.filter((e) => e.nodeId === 'draft').every((e) => typeof e.iteration === 'number'), 'events of body nodes carry their iteration');
});

test('three rejections: the loop is exhausted, the forward edge archives the post', async () => {
  const { runId: id } = await h.client.start(spec, { runId: runId('exhausted'), input: { topic: 'loops' } });
  for (let i = 1; i <= 3; i++) {
    await h.client.submitResult(id, { nodeId: 'draft', attempt: i, structuredOutput: draft(`v${i}`) });
    await h.client.respond(id, { nodeId: 'review', respondedBy: 'alice', response: { approved: false, requiredEdits: [`edit ${i}`] } });
  }
  const snapshot = await h.client.snapshot(id);
  assert.equal(snapshot.nodes.find((n) => n.id === 'archive')?.status, 'running');
  assert.equal(snapshot.nodes.find((n) => n.id === 'publish')?.status, 'skipped');
  await h.client.submitResult(id, { nodeId: 'archive', structuredOutput: {} });
  assert.equal((await h.client.result(id)).status, 'completed');
  const events = await h.store.listEvents(id);
  assert.deepEqual(events.filter((e) => e.type === 'loop-exhausted').map((e) => e.detail?.iterations), [3]);
});
