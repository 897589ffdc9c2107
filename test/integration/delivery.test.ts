/**
 * Persistence and delivery end to end (docs/semantics.md §7, §10, §12) on a real Temporal dev server, a real
 * store (PLAN_STORE_URL: SQLite or PostgreSQL) and real HTTP receivers that verify every request with
 * the `standardwebhooks` library.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, plan, runId, eventually, testDelivery, closeAll, type Harness } from './harness';
import { WebhookReceiver, closedPort, newSecret, orderViolation } from './webhook-receiver';
import { eventsQuery } from '../../src/workflows/definitions';
import type { RunEvent } from '../../src/engine';
import { loadDeliveryConfig } from '../../src/activities/delivery';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const harnesses: Harness[] = [];
const receivers: WebhookReceiver[] = [];
// Harnesses first: their runs are terminated before the receivers they deliver to go away.
after(() => closeAll(...harnesses.map((h) => () => h.close()), ...receivers.map((r) => () => r.stop())));

async function receiver(): Promise<WebhookReceiver> {
  const r = await new WebhookReceiver().start();
  receivers.push(r);
  return r;
}

async function harness(delivery: Parameters<typeof testDelivery>[0]): Promise<Harness> {
  const h = await startHarness({ delivery: testDelivery(delivery) });
  harnesses.push(h);
  return h;
}

/** The events the workflow itself produced (its `events` query), to compare with the store. */
async function workflowEvents(h: Harness, id: string): Promise<RunEvent[]> {
  return h.client.client.workflow.getHandle(id).query(eventsQuery, {});
}

const uniqueSink = (name: string) => `${name}-${runId('sink')}`;

describe('webhook sinks', () => {
  test('every event reaches the sink in seq order, at least once, through failures and an outage; store = workflow', async () => {
    const sink = await receiver();
    sink.failNext = 3;
    const h = await harness({ sinks: [{ id: uniqueSink('audit'), url: sink.url, secret: sink.secret }] });
    const spec = plan(
      'deliver',
      [{ id: 'a', retry: { maxAttempts: 2 }, outputSchema: 'Out' }, { id: 'b' }, { id: 'c' }],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
      { schemas: { Out: { type: 'object', required: ['text'] } } },
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('deliver') });
    await h.client.submitResult(id, { nodeId: 'a', structuredOutput: {} }); // invalid: retried
    await h.client.submitResult(id, { nodeId: 'a', structuredOutput: { text: 'ok' } });

    // The receiver goes down for a stretch: the run does not wait for it.
    await sink.stop();
    const whileDown = await h.client.submitResult(id, { nodeId: 'b', structuredOutput: { n: 2 } });
    assert.equal(whileDown.nodeStatus, 'completed');
    assert.equal((await h.client.snapshot(id)).nodes[2].status, 'running', 'the graph walk went on while the sink was down');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await sink.start();

    await h.client.submitResult(id, { nodeId: 'c', structuredOutput: { n: 3 } });
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');

    // The workflow returns only after its events are recorded and delivered.
    const stored = await h.store.listEvents(id);
    assert.equal(stored.length, final.lastSeq);
    assert.deepEqual(stored, await workflowEvents(h, id), 'the store holds exactly the events the workflow produced');
    assert.deepEqual(sink.acceptedSeqs(id), stored.map((e) => e.seq), 'no event missing at the receiver');
    assert.equal(orderViolation(sink.accepted(id)), undefined);
    assert.ok(sink.requests.some((r) => r.status === 500), 'the first requests failed and were retried');
    assert.ok(sink.requests.every((r) => r.verified), 'every request carries a valid Standard Webhooks signature');

    const byId = new Map(sink.accepted(id).map((r) => [r.id, r.body]));
    for (const event of stored) {
      const envelope = byId.get(event.id);
      assert.ok(envelope, `event ${event.seq} delivered`);
      assert.equal(envelope.type, event.type);
      assert.deepEqual(envelope.event, event);
      assert.equal(envelope.run.runId, id);
      assert.equal(envelope.run.planId, 'deliver');
      assert.equal(envelope.run.input, undefined, 'the run summary leaves the input out');
      if (event.nodeId) {
        assert.equal(envelope.node.spec.id, event.nodeId);
        assert.equal(envelope.node.run.nodeId, event.nodeId);
      } else {
        assert.equal(envelope.node, undefined);
      }
    }
  });

  test('the store records attempts with their issues, approvals and checkpoints as the run made them', async () => {
    const h = await harness({});
    const spec = plan(
      'records',
      [{ id: 'draft', retry: { maxAttempts: 2 }, outputSchema: 'Out' }, { id: 'approve', type: 'human-approval', approvers: ['ed'] }],
      [{ from: 'draft', to: 'approve' }],
      { schemas: { Out: { type: 'object', required: ['text'] } } },
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('records') });
    await h.client.submitResult(id, { nodeId: 'draft', structuredOutput: { wrong: 1 }, notes: 'first try' });
    await h.client.submitResult(id, {
      nodeId: 'draft',
      structuredOutput: { text: 'hello' },
      artifacts: [{ name: 'doc', kind: 'file', pointer: 's3://bucket/doc.md' }],
    });
    await h.client.respond(id, { nodeId: 'approve', respondedBy: 'ed', response: { approved: true } });
    const final = await h.client.result(id);
    assert.equal(final.status, 'completed');

    const attempts = await h.store.listAttempts(id, 'draft');
    assert.deepEqual(attempts.map((a) => [a.attempt, a.status, a.failureClass]), [
      [1, 'failed', 'validation'],
      [2, 'completed', undefined],
    ]);
    assert.equal(attempts[0].issues[0].code, 'schema');
    assert.equal(attempts[0].notes, 'first try');
    assert.deepEqual(attempts[1].artifacts.map((a) => a.pointer), ['s3://bucket/doc.md']);
    const approvals = await h.store.listApprovals({ runId: id });
    assert.deepEqual(approvals.map((a) => [a.approvalId, a.status, a.respondedBy]), [['approve#1', 'approved', 'ed']]);
    const checkpoints = await h.store.listCheckpoints(id);
    assert.deepEqual(checkpoints.map((c) => c.sequence), checkpoints.map((_, i) => i + 1));
    assert.equal(checkpoints.at(-1)?.runStatus, 'completed');
    assert.equal(checkpoints.length, final.checkpointSequence);
    const run = await h.store.getRun(id);
    assert.equal(run?.status, 'completed');
    assert.equal(run?.lastSeq, final.lastSeq);
    const nodes = await h.store.listNodeRuns(id);
    assert.deepEqual(nodes.map((n) => [n.nodeId, n.status, n.attempts]), [
      ['draft', 'completed', 2],
      ['approve', 'completed', 1],
    ]);
    assert.deepEqual(await h.store.listEvents(id), await workflowEvents(h, id));
  });

  test('an event-type filter sends only the listed types; HTTP 410 disables a sink and says so in an event', async () => {
    const filtered = await receiver();
    const gone = await receiver();
    gone.gone = true;
    const goneId = uniqueSink('gone');
    const h = await harness({
      sinks: [
        { id: uniqueSink('filtered'), url: filtered.url, secret: filtered.secret, eventTypes: ['node-completed', 'sink-disabled'] },
        { id: goneId, url: gone.url, secret: gone.secret },
      ],
    });
    const { runId: id } = await h.client.start(plan('filter', [{ id: 'a' }, { id: 'b' }], [{ from: 'a', to: 'b' }]), { runId: runId('filter') });
    await h.client.submitResult(id, { nodeId: 'a', structuredOutput: {} });
    await h.client.submitResult(id, { nodeId: 'b', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');

    const types = filtered.accepted(id).map((r) => r.body.type);
    assert.deepEqual(types.filter((t) => t !== 'sink-disabled'), ['node-completed', 'node-completed']);
    assert.ok(types.includes('sink-disabled'), 'the other sink learns that the 410 sink was disabled');

    const stored = await h.store.listEvents(id);
    const disabled = stored.filter((e) => e.type === 'sink-disabled');
    assert.equal(disabled.length, 1);
    assert.equal(disabled[0].detail?.sinkId, goneId);
    assert.match(String(disabled[0].detail?.reason), /410/);
    assert.equal(gone.requests.length, 1, 'nothing more is sent after the 410');
    assert.ok((await h.store.getSinkStatus(goneId)).disabledAt);
    await h.store.enableSink(goneId);
  });
});

describe('agent wake-ups', () => {
  test('an unreachable agent endpoint blocks the node with class dispatch; resume after it is back finishes the run', async () => {
    const port = await closedPort();
    const agent = new WebhookReceiver();
    agent.port = port;
    receivers.push(agent);
    const h = await harness({ agents: { writer: { url: `http://127.0.0.1:${port}/writer`, secret: agent.secret } } });
    const spec = plan('dispatch', [{ id: 'write', owner: { kind: 'agent', ref: 'writer' }, objective: 'Write it' }, { id: 'after' }], [
      { from: 'write', to: 'after' },
    ]);
    const { runId: id } = await h.client.start(spec, { runId: runId('dispatch') });

    const blocked = await eventually(async () => {
      const snapshot = await h.client.snapshot(id);
      return snapshot.status === 'blocked' ? snapshot : undefined;
    }, 'the node to be blocked after the wake-up retries', 30_000);
    assert.equal(blocked.nodes[0].status, 'blocked');
    assert.equal(blocked.nodes[0].failureClass, 'dispatch');
    assert.equal(blocked.nodes[0].attempts, 0);
    const checkpoints = await eventually(async () => {
      const list = await h.store.listCheckpoints(id);
      return list.some((c) => c.reason === 'owner-dispatch-failed') ? list : undefined;
    }, 'the owner-dispatch-failed checkpoint in the store');
    assert.equal(checkpoints.at(-1)?.runStatus, 'blocked');

    await agent.start(port);
    await h.client.resume(id, { by: 'ops' });
    const wakeUp = await eventually(async () => agent.requests.find((r) => r.verified && r.body?.workItem?.runId === id), 'the wake-up after resume');
    assert.equal(wakeUp.path, '/writer');
    assert.equal(wakeUp.body.type, 'wake-up');
    assert.equal(wakeUp.body.workItem.nodeId, 'write');
    assert.equal(wakeUp.body.workItem.attempt, 1);
    assert.equal(wakeUp.body.workItem.brief.objective, 'Write it');
    assert.match(wakeUp.id, new RegExp(`^${id}:\\d+$`), 'webhook-id is the id of the event that woke the agent');

    await h.client.submitResult(id, { nodeId: 'write', attempt: wakeUp.body.workItem.attempt, structuredOutput: { text: 'done' } });
    await h.client.submitResult(id, { nodeId: 'after', structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
    const stored = await h.store.listEvents(id);
    const blockedEvent = stored.find((e) => e.type === 'node-blocked');
    assert.equal(blockedEvent?.detail?.failureClass, 'dispatch');
  });

  test('hidden nodes and agents without an endpoint are not woken; visible ones are, with the work item', async () => {
    const agent = await receiver();
    const h = await harness({
      agents: {
        seen: { url: `${agent.url}/seen`, secret: agent.secret },
        hidden: { url: `${agent.url}/hidden`, secret: agent.secret },
      },
    });
    const spec = plan(
      'wake',
      [
        { id: 'one', owner: { kind: 'agent', ref: 'seen' } },
        { id: 'two', owner: { kind: 'agent', ref: 'hidden' }, visibility: 'hidden' },
        { id: 'three', owner: { kind: 'agent', ref: 'polls' } },
      ],
      [],
      { maxConcurrency: 3 },
    );
    const { runId: id } = await h.client.start(spec, { runId: runId('wake') });
    const woken = await eventually(async () => agent.requests.find((r) => r.body?.workItem?.runId === id), 'a wake-up');
    assert.equal(woken.body.workItem.nodeId, 'one');
    assert.equal(woken.body.eventType, 'node-running');
    for (const nodeId of ['one', 'two', 'three']) await h.client.submitResult(id, { nodeId, structuredOutput: {} });
    assert.equal((await h.client.result(id)).status, 'completed');
    const forRun = agent.requests.filter((r) => r.body?.workItem?.runId === id);
    assert.deepEqual(forRun.map((r) => r.body.workItem.nodeId), ['one'], 'only the visible node with an endpoint was woken');
  });

  test('a wake-up signed with another secret fails verification at the agent (signatures are checked)', async () => {
    const agent = await receiver();
    const h = await harness({ agents: { writer: { url: agent.url, secret: newSecret() } } });
    const { runId: id } = await h.client.start(plan('badsig', [{ id: 'w', owner: { kind: 'agent', ref: 'writer' } }]), { runId: runId('badsig') });
    await eventually(async () => agent.requests.find((r) => r.body?.workItem?.runId === id), 'a wake-up');
    assert.equal(agent.requests.find((r) => r.body?.workItem?.runId === id)?.verified, false);
    await h.client.cancel(id, { by: 'test' });
  });
});

describe('people notifications', () => {
  test('an approval tells its human owner and approvers through the people registry, with the console link; sinks get the link too', async () => {
    const chat = await receiver();
    const sink = await receiver();
    const dir = mkdtempSync(join(tmpdir(), 'people-'));
    const file = join(dir, 'delivery.yaml');
    writeFileSync(
      file,
      [
        'people:',
        `  reviewers: { url: "${chat.url}/reviewers", secret: "${chat.secret}" }`,
        `  alice: { url: "${chat.url}/alice", secret: "${chat.secret}" }`,
        `  bob: { url: "${chat.url}/reviewers", secret: "${chat.secret}" }`,
        `sinks: [{ id: "${uniqueSink('audit')}", url: "${sink.url}", secret: "${sink.secret}", eventTypes: [approval-requested] }]`,
        'consoleUrl: http://console.test:8080',
      ].join('\n'),
    );
    const loaded = loadDeliveryConfig({ PLAN_DELIVERY_CONFIG: file });
    const h = await harness({ sinks: loaded.sinks, people: loaded.people, consoleUrl: loaded.consoleUrl });
    const spec = plan('people', [{ id: 'approve', type: 'human-approval', approvers: ['alice', 'bob', 'carol'], objective: 'Publish the post?' }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('people') });
    const told = await eventually(async () => {
      const requests = chat.requests.filter((r) => r.body?.approval?.runId === id);
      return requests.length >= 2 ? requests : undefined;
    }, 'the people told');
    assert.deepEqual(told.map((r) => r.path).sort(), ['/hook/alice', '/hook/reviewers'], 'owner and approvers with an endpoint, a shared URL once; carol has none');
    assert.ok(told.every((r) => r.verified), 'signed with the person\'s secret');
    const url = `http://console.test:8080/approvals/${encodeURIComponent(id)}/${encodeURIComponent('approve#1')}`;
    assert.equal(told[0].body.approval.url, url);
    assert.match(told[0].body.text, /Approval needed in run .*: Publish the post\? — http:\/\/console\.test:8080\/approvals\//);
    const envelope = await eventually(async () => sink.accepted(id)[0], 'the sink envelope');
    assert.equal(envelope.body.approvalUrl, url);
    await h.client.respond(id, { respondedBy: 'alice', response: { approved: true } });
    assert.equal((await h.client.result(id)).status, 'completed');
  });
});

