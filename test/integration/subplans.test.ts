/**
 * Sub-plans on a real Temporal server (docs/semantics.md, "Sub-plans"): a plan node runs its
 * sub-plan as a child workflow `planRun` whose human step is answered through the child run id; the
 * parent node completes with the child's outputs and a mapping reads them; a failing child retried by
 * the parent's retry rule starts a new child run (`.2`); a cancelled parent cancels its running child;
 * `forEach` runs one child per item; a plan that includes itself is refused before anything starts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlanSpec, RunSnapshot } from '../../src/engine';
import { PlanValidationError } from '../../src/client/errors';
import { startHarness, plan, runId, eventually, runCli, type Harness } from './harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const cli = (...args: string[]) => runCli(h.taskQueue, ...args);

const nodeOf = (snapshot: RunSnapshot, id: string) => {
  const node = snapshot.nodes.find((candidate) => candidate.id === id);
  assert.ok(node, `no node ${id}`);
  return node;
};

/** The child run's snapshot once it exists and `check` holds. */
const child = (id: string, check: (snapshot: RunSnapshot) => boolean = () => true, what = `child run ${id}`) =>
  eventually(async () => {
    const snapshot = await h.client.snapshot(id);
    return check(snapshot) ? snapshot : undefined;
  }, what);

/** The Temporal status of a workflow (RUNNING, COMPLETED, CANCELED, …) once it is not RUNNING. */
const closedAs = (id: string) =>
  eventually(async () => {
    const status = (await h.client.client.workflow.getHandle(id).describe()).status.name;
    return status === 'RUNNING' ? undefined : status;
  }, `${id} to close`);

/** vet-vendor: an agent checks the vendor, then legal approves. */
const vetVendor = (extra: Partial<PlanSpec> = {}): PlanSpec =>
  plan(
    'vet-vendor',
    [
      { id: 'check', owner: { kind: 'agent', ref: 'checker' } },
      { id: 'approve', type: 'human-approval', owner: { kind: 'human', ref: 'legal' } },
    ],
    [{ from: 'check', to: 'approve', map: { findings: 'output.findings', vendor: 'input.vendor' } }],
    { title: 'Vet a vendor', ...extra },
  );

/** onboard: intake → vet (the sub-plan) → sign, which reads the child's approval and run id. */
function onboard(vetNode: Record<string, unknown> = {}): PlanSpec {
  return plan(
    'onboard',
    [
      { id: 'intake' },
      { id: 'vet', type: 'plan', plan: 'vet-vendor', label: 'Vet the vendor', ...vetNode } as never,
      { id: 'sign' },
    ],
    [
      { from: 'intake', to: 'vet', map: { vendor: 'output.vendor' } },
      { from: 'vet', to: 'sign', map: { approved: 'output.nodes.approve.approved', findings: 'output.nodes.check.findings', childRun: 'output.runId' } },
    ],
    { plans: { 'vet-vendor': vetVendor() } },
  );
}

describe('sub-plans', () => {
  test('a plan node runs its child, whose approval is answered through the child run id; the parent node completes with the child’s outputs and a mapping reads them', async () => {
    const { runId: id } = await h.client.start(onboard(), { runId: runId('subplan-basic') });
    await h.client.submitResult(id, { nodeId: 'intake', structuredOutput: { vendor: 'acme' } });
    const childId = `${id}.vet`;
    const running = await h.client.waitForStatus(id, (s) => nodeOf(s, 'vet').status === 'running');
    assert.equal(nodeOf(running, 'vet').childRunId, childId);
    const started = (await h.client.events(id)).find((event) => event.type === 'subplan-started');
    assert.equal(started?.detail?.childRunId, childId);

    // The child is a run of its own: its input is the node's resolved input, its agent work and its
    // approval are addressed to the child run id.
    const first = await child(childId, (s) => s.nodes[0].status === 'running');
    assert.equal(first.planId, 'vet-vendor');
    assert.deepEqual(first.input, { vendor: 'acme' });
    assert.deepEqual(first.parent, { runId: id, nodeId: 'vet', attempt: 1 });
    assert.equal((await h.client.workItem(childId, 'check'))?.runId, childId);
    await h.client.submitResult(childId, { nodeId: 'check', structuredOutput: { findings: ['no sanctions'] } });
    await h.client.waitForStatus(childId, 'awaiting-human');
    await assert.rejects(h.client.respond(id, { nodeId: 'approve', respondedBy: 'legal-1', response: { approved: true } }), /unknown|no node|approve/i);
    const answered = await h.client.respond(childId, { nodeId: 'approve', respondedBy: 'legal-1', response: { approved: true } });
    assert.equal(answered.runStatus, 'completed');

    const after = await h.client.waitForStatus(id, (s) => nodeOf(s, 'vet').status === 'completed');
    assert.deepEqual(nodeOf(after, 'vet').output, { runId: childId, nodes: { check: { findings: ['no sanctions'] }, approve: { approved: true } } });
    const sign = await h.client.workItem(id, 'sign');
    assert.deepEqual(sign?.resolvedInput, { approved: true, findings: ['no sanctions'], childRun: childId });
    assert.equal(await closedAs(childId), 'COMPLETED');

    // Store rows, status, list: the child names its parent; the parent's node its child.
    const stored = await eventually(async () => (await h.client.storedRun(childId).catch(() => undefined))?.parentRunId, 'the child row');
    assert.equal(stored, id);
    assert.equal((await h.store.getNodeRun(id, 'vet'))?.childRunId, childId);
    const status = await cli('status', id);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /CHILD RUN/);
    assert.match(status.stdout, new RegExp(`vet\\s+plan\\s+completed.*${childId.replace(/[.]/g, '\\.')}`));
    const childStatus = await cli('status', childId);
    assert.match(childStatus.stdout, new RegExp(`child run of ${id} \\(node vet, attempt 1\\)`));
    const topLevel = await eventually(async () => {
      const runs = await h.client.list({ planId: 'vet-vendor', parentRunId: id });
      return runs.length > 0 ? runs : undefined;
    }, 'visibility to list the child');
    assert.deepEqual(topLevel.map((run) => [run.runId, run.parentRunId]), [[childId, id]]);
    const listed = await cli('list', '--top-level', '--json', '--limit', '1000');
    assert.equal(listed.code, 0, listed.stderr);
    const ids = (JSON.parse(listed.stdout) as Array<{ runId: string }>).map((run) => run.runId);
    assert.ok(!ids.includes(childId), 'list --top-level leaves the child out');
    assert.ok(ids.includes(id), 'and lists its parent');

    await h.client.submitResult(id, { nodeId: 'sign', structuredOutput: { signed: true } });
    assert.equal((await h.client.result(id)).status, 'completed');
  });

  test('a failing child, retried by the parent’s retry rule, starts a new child run (.2); the failed one is cancelled', async () => {
    const { runId: id } = await h.client.start(onboard({ retry: { maxAttempts: 2, retryOn: ['subplan'] } }), { runId: runId('subplan-retry') });
    await h.client.submitResult(id, { nodeId: 'intake', structuredOutput: { vendor: 'globex' } });
    const firstChild = `${id}.vet`;
    await child(firstChild, (s) => s.nodes[0].status === 'running');
    await h.client.submitResult(firstChild, { nodeId: 'check', failure: { class: 'agent-error', message: 'registry unreachable' } });

    const retried = await h.client.waitForStatus(id, (s) => nodeOf(s, 'vet').childRunId === `${id}.vet.2`);
    assert.equal(nodeOf(retried, 'vet').status, 'running');
    assert.deepEqual(nodeOf(retried, 'vet').childRunIds, [firstChild, `${id}.vet.2`]);
    const reported = (await h.client.events(id)).find((event) => event.type === 'validation-reported' && event.nodeId === 'vet');
    assert.equal(reported?.detail?.failureClass, 'subplan');
    assert.match(reported?.message ?? '', /registry unreachable/);
    // The failed child stayed open as a failed run: the parent cancelled it.
    assert.equal(await closedAs(firstChild), 'CANCELLED');
    const cancelledChild = await h.client.result(firstChild);
    assert.equal(cancelledChild.status, 'aborted');

    const second = `${id}.vet.2`;
    const fresh = await child(second, (s) => s.nodes[0].status === 'running');
    assert.deepEqual(fresh.parent, { runId: id, nodeId: 'vet', attempt: 2 });
    await h.client.submitResult(second, { nodeId: 'check', structuredOutput: { findings: [] } });
    await h.client.waitForStatus(second, 'awaiting-human');
    await h.client.respond(second, { nodeId: 'approve', respondedBy: 'legal-2', response: { approved: false } });
    const done = await h.client.waitForStatus(id, (s) => nodeOf(s, 'vet').status === 'completed');
    assert.equal(nodeOf(done, 'vet').attempts, 2);
    assert.deepEqual((await h.client.workItem(id, 'sign'))?.resolvedInput, { approved: false, findings: [], childRun: second });
    await h.client.cancel(id, { by: 'test' });
  });

  test('a cancelled parent cancels its running child', async () => {
    const { runId: id } = await h.client.start(onboard(), { runId: runId('subplan-cancel') });
    await h.client.submitResult(id, { nodeId: 'intake', structuredOutput: { vendor: 'initech' } });
    const childId = `${id}.vet`;
    await child(childId, (s) => s.nodes[0].status === 'running');
    await h.client.cancel(id, { by: 'ops', reason: 'vendor withdrew' });
    assert.equal(await closedAs(childId), 'CANCELLED');
    const final = await h.client.result(childId);
    assert.equal(final.status, 'aborted');
    const cancelled = (await h.client.events(childId)).find((event) => event.type === 'run-status-changed' && event.toStatus === 'aborted');
    assert.equal(cancelled?.by, `run:${id}`);
    assert.match(cancelled?.message ?? '', new RegExp(`its parent run ${id} was cancelled by ops`));
    assert.equal(await closedAs(id), 'CANCELLED');
    assert.equal(nodeOf(await h.client.result(id), 'vet').status, 'cancelled');
  });

  test('forEach over a sub-plan runs one child per item, and the node completes with their outputs in order', async () => {
    const spec = plan(
      'onboard-many',
      [
        { id: 'intake' },
        { id: 'vet', type: 'plan', plan: 'quick-check', forEach: { items: 'input.vendors' } } as never,
        { id: 'sign' },
      ],
      [
        { from: 'intake', to: 'vet', map: { vendors: 'output.vendors' } },
        { from: 'vet', to: 'sign', map: { results: 'output.items' } },
      ],
      { maxConcurrency: 4, plans: { 'quick-check': plan('quick-check', [{ id: 'check', owner: { kind: 'agent', ref: 'checker' } }]) } },
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('subplan-foreach') });
    await h.client.submitResult(id, { nodeId: 'intake', structuredOutput: { vendors: ['acme', 'globex'] } });
    const children = [`${id}.vet[0]`, `${id}.vet[1]`];
    for (const [index, childId] of children.entries()) {
      const snapshot = await child(childId, (s) => s.nodes[0].status === 'running');
      assert.deepEqual(snapshot.input, { vendors: ['acme', 'globex'], item: ['acme', 'globex'][index], index });
    }
    // The second finishes first: the outputs are still in item order.
    await h.client.submitResult(children[1], { nodeId: 'check', structuredOutput: { vendor: 'globex', ok: false } });
    await h.client.submitResult(children[0], { nodeId: 'check', structuredOutput: { vendor: 'acme', ok: true } });
    await h.client.waitForStatus(id, (s) => nodeOf(s, 'vet').status === 'completed');
    assert.deepEqual((await h.client.workItem(id, 'sign'))?.resolvedInput, {
      results: [
        { runId: children[0], nodes: { check: { vendor: 'acme', ok: true } } },
        { runId: children[1], nodes: { check: { vendor: 'globex', ok: false } } },
      ],
    });
    const snapshot = await h.client.snapshot(id);
    assert.deepEqual(nodeOf(snapshot, 'vet').instances?.map((instance) => instance.childRunId), children);
    for (const childId of children) assert.equal(await closedAs(childId), 'COMPLETED');
    await h.client.submitResult(id, { nodeId: 'sign', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
  });

  test('a sub-plan that includes itself through another is refused with the path of the cycle, and nothing starts', async () => {
    const a = plan('a', [{ id: 'to-b', type: 'plan', plan: 'b' } as never]);
    const b = plan('b', [{ id: 'to-a', type: 'plan', plan: 'a' } as never]);
    const spec = plan('cyclic', [{ id: 'go', type: 'plan', plan: 'a' } as never], [], { plans: { a, b } });
    const id = runId('subplan-cycle');
    await assert.rejects(h.client.start(spec, { runId: id }), (error: unknown) => {
      assert.ok(error instanceof PlanValidationError, String(error));
      assert.deepEqual(error.errors.map((problem) => problem.path), ['$.plans.b.nodes[0].plan']);
      assert.match(error.errors[0].message, /plans\.b → plans\.a → plans\.b/);
      return true;
    });
    await assert.rejects(h.client.client.workflow.getHandle(id).describe(), /not found/i);
  });
});
