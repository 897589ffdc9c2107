/**
 * Budgets on a real Temporal server (docs/semantics.md, "Budgets"): a node that passes its
 * `maxTokens` fails with class budget and its `onFailure` routes it; a run that passes its plan's
 * `maxCostUsd` is blocked, its running node's result is still recorded, and `plan-runner budget RUN
 * --max-cost` lets it go on; `budget-warning` once at `warnAt`; usage in the query, the store, the
 * Web UI details, `status` and the `PlanCostUsd` search attribute.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, plan, runId, eventually, type Harness, runCli } from './harness';


let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const cli = (...args: string[]) => runCli(h.taskQueue, ...args);

const statuses = (snapshot: { nodes: Array<{ id: string; status: string }> }) => Object.fromEntries(snapshot.nodes.map((node) => [node.id, node.status]));

describe('budgets', () => {
  test('a node that passes its maxTokens fails with class budget, without retry, and its onFailure routes it', async () => {
    const spec = plan('budget-node', [
      { id: 'draft', retry: { maxAttempts: 3 }, budget: { maxTokens: 1000, warnAt: 0.5 }, onFailure: [{ on: 'budget', action: 'skip' }] },
      { id: 'publish' },
      { id: 'archive' },
    ], [{ from: 'draft', to: 'publish' }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('budget-node') });
    await h.client.waitForStatus(id, (s) => s.nodes.find((n) => n.id === 'draft')?.status === 'running');

    // 600 tokens: past warnAt (50%), within the budget; the result is rejected, so the node is retried.
    const first = await h.client.submitResult(id, { nodeId: 'draft', failure: { message: 'tool timeout' }, usage: { inputTokens: 500, outputTokens: 100, costUsd: 0.01 } });
    assert.equal(first.nodeStatus, 'running');
    assert.deepEqual(first.nextAttempt, { attempt: 2, of: 3 });

    // 600 + 500 = 1100 > 1000: recorded, then the node fails with class budget; skip routes it.
    const second = await cli('submit', id, 'draft', '--output', '{"text":"long"}', '--usage', '{"inputTokens":400,"outputTokens":100,"costUsd":0.02}', '--json');
    assert.equal(second.code, 0, second.stderr);
    const outcome = JSON.parse(second.stdout);
    assert.equal(outcome.failureClass, 'budget');
    assert.equal(outcome.nodeStatus, 'skipped');
    assert.equal(outcome.nextAttempt, undefined, 'no retry, although a third attempt was allowed');

    await h.client.submitResult(id, { nodeId: 'archive', structuredOutput: {} });
    const done = await h.client.waitForStatus(id, 'completed');
    // skip: the draft's edges are inactive, so publish is skipped too; archive (no edge from draft) ran.
    assert.deepEqual(statuses(done), { draft: 'skipped', publish: 'skipped', archive: 'completed' });
    const draft = done.nodes.find((n) => n.id === 'draft');
    assert.equal(draft?.failureClass, 'budget');
    assert.deepEqual(draft?.usage, { inputTokens: 900, outputTokens: 200, costUsd: 0.03, tokens: 1100 });
    assert.deepEqual(done.usage, { inputTokens: 900, outputTokens: 200, costUsd: 0.03, tokens: 1100 });

    const events = await h.client.events(id);
    assert.deepEqual(events.filter((e) => e.type === 'budget-warning').map((e) => [e.nodeId, e.attempt]), [['draft', 1]], 'the warning fires once');
    const exceeded = events.filter((e) => e.type === 'budget-exceeded');
    assert.deepEqual(exceeded.map((e) => [e.nodeId, e.attempt]), [['draft', 2]]);

    // The store has each attempt's usage; the failing attempt is recorded with class budget.
    const attempts = await eventually(async () => {
      const rows = await h.store.listAttempts(id, 'draft');
      return rows.length === 2 ? rows : undefined;
    }, 'the draft attempts in the store');
    assert.deepEqual(attempts.map((a) => [a.attempt, a.status, a.failureClass, a.usage]), [
      [1, 'failed', 'agent-error', { inputTokens: 500, outputTokens: 100, costUsd: 0.01 }],
      [2, 'failed', 'budget', { inputTokens: 400, outputTokens: 100, costUsd: 0.02 }],
    ]);
  });

  test('a run that passes its maxCostUsd is blocked; its running node\'s result is still recorded; plan-runner budget lets it go on', async () => {
    const spec = plan(
      'budget-plan',
      [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'report' }],
      [
        { from: 'a', to: 'report' },
        { from: 'b', to: 'report' },
        { from: 'c', to: 'report' },
      ],
      { maxConcurrency: 2, budget: { maxCostUsd: 1 } },
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('budget-plan') });
    await h.client.waitForStatus(id, (s) => statuses(s).a === 'running' && statuses(s).b === 'running');

    // 0.85 crosses warnAt (80%): one warning, the run goes on.
    await h.client.submitResult(id, { nodeId: 'a', structuredOutput: { ok: true }, usage: { costUsd: 0.85 } });
    const running = await h.client.waitForStatus(id, (s) => statuses(s).c === 'running');
    assert.equal(running.status, 'running');

    // 0.85 + 0.5 > 1: the run is blocked; b's result is recorded; nothing new starts.
    const over = await h.client.submitResult(id, { nodeId: 'b', structuredOutput: { ok: true }, usage: { costUsd: 0.5, inputTokens: 10 } });
    assert.equal(over.nodeStatus, 'completed');
    assert.equal(over.runStatus, 'blocked');
    // c was running when the budget went: its result is still recorded.
    const late = await h.client.submitResult(id, { nodeId: 'c', structuredOutput: { ok: true }, usage: { costUsd: 0.25 } });
    assert.equal(late.nodeStatus, 'completed');
    assert.equal(late.runStatus, 'blocked');
    const blocked = await h.client.snapshot(id);
    assert.deepEqual(statuses(blocked), { a: 'completed', b: 'completed', c: 'completed', report: 'ready' });
    assert.deepEqual(blocked.budget, { maxCostUsd: 1, warnAt: 0.8, exceeded: true });
    assert.equal(blocked.usage?.costUsd, 1.6);

    // The Web UI details and status say so, and what moves it on.
    const handle = h.client.client.workflow.getHandle(id);
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    assert.match(metadata.currentDetails ?? '', /Spent: \$1\.60 of \$1\.00 ⛔ over budget/);
    const status = await cli('status', id);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /spent: \$1\.60 of \$1\.00 \(over budget\)/);
    assert.match(status.stdout, new RegExp(`next: plan-runner budget ${id} --max-cost USD`));
    const statusJson = JSON.parse((await cli('status', id, '--json')).stdout);
    assert.deepEqual(statusJson.budget, { maxCostUsd: 1, warnAt: 0.8, exceeded: true });
    assert.equal(statusJson.nodes.find((n: { id: string }) => n.id === 'b').usage.costUsd, 0.5);

    // Refusals: no limit; a limit that is not higher.
    const none = await cli('budget', id);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /needs a new limit/);
    const lower = await cli('budget', id, '--max-cost', '0.5');
    assert.notEqual(lower.code, 0);
    assert.match(lower.stderr, /not above the limit in force/);

    const raised = await cli('budget', id, '--max-cost', '5', '--by', 'ops');
    assert.equal(raised.code, 0, raised.stderr);
    assert.match(raised.stdout, /goes on/);
    await h.client.waitForStatus(id, (s) => statuses(s).report === 'running');
    await h.client.submitResult(id, { nodeId: 'report', structuredOutput: { ok: true }, usage: { costUsd: 0.4 } });
    const done = await h.client.waitForStatus(id, 'completed');
    assert.deepEqual(done.budget, { maxCostUsd: 5, warnAt: 0.8, exceeded: false });
    assert.equal(done.usage?.costUsd, 2);

    const events = await h.client.events(id);
    assert.equal(events.filter((e) => e.type === 'budget-warning').length, 1, 'one warning at 80%');
    assert.equal(events.filter((e) => e.type === 'budget-exceeded').length, 1);
    const raise = events.find((e) => e.type === 'budget-raised');
    assert.equal(raise?.by, 'ops');
    const checkpoints = await eventually(async () => {
      const rows = await h.store.listCheckpoints(id);
      return rows.some((c) => c.reason === 'budget-raised') ? rows : undefined;
    }, 'the budget checkpoints in the store');
    assert.ok(checkpoints.some((c) => c.reason === 'budget-exceeded' && c.runStatus === 'blocked'));

    // PlanCostUsd: runs can be sorted and filtered by spend.
    await eventually(async () => ((await handle.describe()).searchAttributes.PlanCostUsd?.[0] === 2 ? true : undefined), 'PlanCostUsd = 2');
    const listed = await eventually(async () => {
      const runs = await h.client.client.workflow.list({ query: `WorkflowId = '${id}' AND PlanCostUsd >= 1.5` });
      for await (const run of runs) return run.workflowId;
      return undefined;
    }, 'the run found by PlanCostUsd >= 1.5');
    assert.equal(listed, id);
  });

  test('a blocked run can be cancelled; raiseBudget also works as a signal', async () => {
    const spec = plan('budget-cancel', [{ id: 'a' }, { id: 'b' }, { id: 'c' }], [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }], { budget: { maxTokens: 100 } });
    const { runId: id } = await h.client.start(spec, { runId: runId('budget-cancel') });
    await h.client.waitForStatus(id, (s) => statuses(s).a === 'running');
    await h.client.submitResult(id, { nodeId: 'a', structuredOutput: {}, usage: { outputTokens: 150 } });
    await h.client.waitForStatus(id, 'blocked');
    const handle = h.client.client.workflow.getHandle(id);
    await handle.signal('raiseBudget', { maxTokens: 120, by: 'ops' }); // still below the spending
    await eventually(async () => ((await h.client.events(id)).some((e) => e.type === 'budget-raised') ? true : undefined), 'budget-raised by signal');
    assert.equal((await h.client.snapshot(id)).status, 'blocked');
    // A run without usage never set PlanCostUsd; this one reported tokens only: none either.
    assert.equal((await handle.describe()).searchAttributes.PlanCostUsd, undefined);
    await h.client.cancel(id, { by: 'ops', reason: 'too expensive' });
    const snapshot = await h.client.result(id);
    assert.equal(snapshot.status, 'aborted');
    assert.deepEqual(statuses(snapshot), { a: 'completed', b: 'cancelled', c: 'pending' });
  });
});
