/**
 * Work-item tokens end to end (docs/semantics.md, "Who may act") on a real dev server, worker, store
 * and webhook receivers: a worker that requires tokens refuses a result without the current
 * attempt's token, the wake-up and the `workItem` query carry it, and no token reaches the store,
 * the events or an event webhook.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { TEMPORAL_ADDRESS, closeAll, eventually, plan, runId, startHarness, testDelivery, type Harness } from './harness';
import { WebhookReceiver } from './webhook-receiver';
import { RunRefusedError } from '../../src/client';
import { WORK_ITEM_TOKEN_PREFIX } from '../../src/engine';

const harnesses: Harness[] = [];
const receivers: WebhookReceiver[] = [];
after(() => closeAll(...harnesses.map((h) => () => h.close()), ...receivers.map((r) => () => r.stop())));

async function refusal(promise: Promise<unknown>): Promise<RunRefusedError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  assert.ok(error instanceof RunRefusedError, `expected a refusal, got ${String(error)}`);
  return error;
}

describe('work-item tokens', () => {
  test('a worker that requires tokens: no token → invalid-token, stale → stale-attempt, current → completed; nothing stored or delivered holds a token', async () => {
    const agent = await new WebhookReceiver().start();
    const sink = await new WebhookReceiver().start();
    receivers.push(agent, sink);
    const h = await startHarness({
      requireWorkItemTokens: true,
      delivery: testDelivery({
        agents: { writer: { url: `${agent.url}/writer`, secret: agent.secret } },
        sinks: [{ id: runId('token-sink'), url: sink.url, secret: sink.secret }],
      }),
    });
    harnesses.push(h);
    const spec = plan('tokens', [{ id: 'draft', owner: { kind: 'agent', ref: 'writer' }, retry: { maxAttempts: 2 } }, { id: 'publish' }], [{ from: 'draft', to: 'publish' }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('tokens') });

    const wakeUp = await eventually(async () => agent.requests.find((r) => r.verified && r.body?.workItem?.runId === id), 'the wake-up');
    const first: string = wakeUp.body.workItem.token;
    assert.ok(first.startsWith(WORK_ITEM_TOKEN_PREFIX), 'the wake-up carries the token');
    assert.equal((await h.client.workItem(id, 'draft'))?.token, first, 'the workItem query carries the same token');

    const missing = await refusal(h.client.submitResult(id, { nodeId: 'draft', structuredOutput: {} }));
    assert.equal(missing.reason, 'invalid-token');
    const wrong = await refusal(h.client.submitResult(id, { nodeId: 'draft', token: `${WORK_ITEM_TOKEN_PREFIX}guessed`, structuredOutput: {} }));
    assert.equal(wrong.reason, 'invalid-token');

    await h.client.submitResult(id, { nodeId: 'draft', token: first, failure: { class: 'agent-error', message: 'try again' } });
    const second = await eventually(async () => {
      const item = await h.client.workItem(id, 'draft');
      return item?.attempt === 2 ? item.token : undefined;
    }, 'the second attempt');
    assert.ok(second && second !== first, 'the retry has a new token');
    const stale = await refusal(h.client.submitResult(id, { nodeId: 'draft', token: first, structuredOutput: {} }));
    assert.equal(stale.reason, 'stale-attempt');

    await h.client.submitResult(id, { nodeId: 'draft', token: second, structuredOutput: { text: 'ok' } });
    const publish = await h.client.workItem(id, 'publish');
    assert.ok(publish?.token);
    await h.client.submitResult(id, { nodeId: 'publish', token: publish.token, structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');

    // Nothing recorded or delivered as an event holds a token.
    const stored = JSON.stringify({
      run: await h.store.getRun(id),
      nodes: await h.store.listNodeRuns(id),
      attempts: await h.store.listAttempts(id, 'draft'),
      events: await h.store.listEvents(id),
      checkpoints: await h.store.listCheckpoints(id),
    });
    assert.ok(stored.includes('try again'), 'the stored rows are the ones of this run');
    assert.ok(!stored.includes(WORK_ITEM_TOKEN_PREFIX), 'no token in the store');
    const lastSeq = (await h.store.listEvents(id)).at(-1)?.seq ?? 0;
    await eventually(async () => sink.acceptedSeqs(id).includes(lastSeq) || undefined, 'the last event at the sink');
    const delivered = JSON.stringify(sink.accepted(id).map((r) => r.body));
    assert.ok(!delivered.includes(WORK_ITEM_TOKEN_PREFIX), 'no token in event webhooks');
    assert.ok(!JSON.stringify(await h.client.snapshot(id)).includes(WORK_ITEM_TOKEN_PREFIX), 'no token in the status snapshot');
  });

  test('a plan that requires tokens is enforced on a worker that does not', async () => {
    const h = await startHarness();
    harnesses.push(h);
    const spec = plan('tokens-plan', [{ id: 'only' }], [], { requireWorkItemTokens: true });
    const { runId: id } = await h.client.start(spec, { runId: runId('tokens-plan') });
    const item = await eventually(() => h.client.workItem(id, 'only').then((w) => w ?? undefined), 'the work item');
    assert.equal((await refusal(h.client.submitResult(id, { nodeId: 'only', structuredOutput: {} }))).reason, 'invalid-token');
    await h.client.submitResult(id, { nodeId: 'only', token: item.token, structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
  });

  test('plan-runner submit sends the token from --token or PLAN_WORK_ITEM_TOKEN', async () => {
    const h = await startHarness();
    harnesses.push(h);
    const spec = plan('tokens-cli', [{ id: 'a' }, { id: 'b' }], [{ from: 'a', to: 'b' }], { requireWorkItemTokens: true });
    const { runId: id } = await h.client.start(spec, { runId: runId('tokens-cli') });
    const bin = path.resolve(__dirname, '../../../bin/plan-runner.js');
    const submit = async (nodeId: string, extra: string[], env: Record<string, string> = {}) => {
      const args = [bin, 'submit', id, nodeId, '--output', '{}', '--json', '--address', TEMPORAL_ADDRESS, '--task-queue', h.taskQueue, ...extra];
      const { PLAN_WORK_ITEM_TOKEN: _ignored, ...base } = process.env;
      return promisify(execFile)(process.execPath, args, { env: { ...base, CI: 'true', ...env } }).then(
        ({ stdout }) => ({ code: 0, body: JSON.parse(stdout.trim().split('\n').at(-1) as string) }),
        (error: { code: number; stdout: string }) => ({ code: error.code, body: JSON.parse(error.stdout.trim().split('\n').at(-1) as string) }),
      );
    };
    const without = await submit('a', []);
    assert.equal(without.code, 1);
    assert.equal(without.body.reason, 'invalid-token');
    const a = await h.client.workItem(id, 'a');
    assert.equal((await submit('a', ['--token', a!.token!])).code, 0);
    const b = await eventually(() => h.client.workItem(id, 'b').then((w) => w ?? undefined), 'the work item of b');
    const fromEnv = await submit('b', [], { PLAN_WORK_ITEM_TOKEN: b.token! });
    assert.equal(fromEnv.code, 0, JSON.stringify(fromEnv.body));
    assert.equal((await h.client.result(id)).status, 'completed');
  });
});
