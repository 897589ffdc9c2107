/**
 * The delivery activities against a REAL HTTP receiver (node:http on 127.0.0.1) and a REAL store
 * (a temporary SQLite file, or PLAN_STORE_URL), filled with records from the real engine. Only the
 * activity Context comes from MockActivityEnvironment. Every request is verified with the
 * `standardwebhooks` library's `Webhook.verify`, which nobody here wrote.
 *
 * No Temporal server is needed. Sink ids and run ids are unique per test, so a shared PostgreSQL
 * store (PLAN_STORE_URL) is safe: sink disabling is global per sink id.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { Webhook } from 'standardwebhooks';
import {
  createDeliveryActivities,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SINK_RETRY,
  DEFAULT_WAKE_UP_RETRY,
  type DeliveryActivities,
  type DeliveryConfig,
  type SinkConfig,
  type WakeUpEnvelope,
  type WebhookEnvelope,
} from '../../src/activities/delivery';
import {
  applyAgentSubmission,
  createRunState,
  recordOf,
  startRun,
  wakeUpsFor,
  type PlanSpec,
  type Refusal,
  type RunEvent,
  type Transition,
  type WakeUp,
} from '../../src/engine';
import { openStore } from '../../src/store';
import type { PlanStore } from '../../src/store/types';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
const SINK_SECRET = secret();
const OTHER_SINK_SECRET = secret();
const AGENT_SECRET = secret();
/** A token in a sink URL's query string: it must not show up in messages or logs either. */
const URL_TOKEN = `tok${randomBytes(6).toString('hex')}`;

// ---- A real HTTP receiver -------------------------------------------------------------------------

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

class Receiver {
  readonly requests: Received[] = [];
  /** The status to answer the n-th request (0-based) with; `hang` never answers. */
  respond: (request: Received, index: number) => number | 'hang' = () => 204;
  private readonly hanging: Array<() => void> = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    const server = createServer();
    const receiver = new Receiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        const index = receiver.requests.length;
        receiver.requests.push(request);
        const status = receiver.respond(request, index);
        if (status === 'hang') {
          receiver.hanging.push(() => res.destroy());
          return;
        }
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status >= 400 ? `receiver says no (${status})` : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Requests to one path (each test uses its own path). */
  to(path: string): Received[] {
    return this.requests.filter((request) => request.path.split('?')[0] === path);
  }

  async close(): Promise<void> {
    for (const release of this.hanging) release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Verifies a request with standardwebhooks and returns the parsed body. */
function verify<T>(request: Received, key: string): T {
  const headers = {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  };
  return new Webhook(key).verify(request.body, headers) as T;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---- A real run in a real store -------------------------------------------------------------------

const T0 = Date.parse('2026-03-01T09:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const SPEC: PlanSpec = {
  id: 'delivery-test',
  title: 'Delivery test',
  nodes: [
    { id: 'draft', type: 'task', owner: { kind: 'agent', ref: 'writer' }, objective: 'Write a draft' },
    {
      id: 'review',
      type: 'task',
      owner: { kind: 'agent', ref: 'reviewer' },
      objective: 'Review the draft',
      instructions: 'Be kind.',
    },
  ],
  edges: [{ from: 'draft', to: 'review', map: { text: 'output.text' } }],
};

interface SeededRun {
  runId: string;
  events: RunEvent[];
  lastSeq: number;
  /** Wake-ups the last transition causes (the reviewer's `node-running`). */
  wakeUps: WakeUp[];
}

function accepted<T extends Transition>(result: T | Refusal): T {
  if ('refused' in result && result.refused === true) assert.fail(`engine refused: ${result.reason}: ${result.message}`);
  return result as T;
}

/** Starts a run and completes `draft`, recording both transitions the way the worker does. */
async function seedRun(store: PlanStore, name: string): Promise<SeededRun> {
  const runId = `${name}-${randomUUID().slice(0, 8)}`;
  const initial = createRunState({ runId, spec: SPEC, input: { topic: 'otters', secretInput: 'not for sinks' }, now: at(0) });
  const started = startRun(initial, at(0));
  const drafted = accepted(
    applyAgentSubmission(started.state, { nodeId: 'draft', structuredOutput: { text: 'Otters hold hands.' }, handoffContext: { tone: 'warm' } }, [], at(5)),
  );
  const records = [recordOf(undefined, started, { includeSpec: true }), recordOf(started.state, drafted)].filter((r) => r !== undefined);
  const result = await store.recordTransitions(runId, records);
  const events = [...started.events, ...drafted.events];
  assert.equal(result.lastSeq, events.length);
  return { runId, events, lastSeq: result.lastSeq, wakeUps: wakeUpsFor(drafted.state, drafted.events) };
}

// ---- Activities in a mock activity Context --------------------------------------------------------

const logs: LogEntry[] = [];
const logger = new DefaultLogger('TRACE', (entry) => logs.push(entry));

function configWith(sinks: SinkConfig[], agents: DeliveryConfig['agents'] = {}, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): DeliveryConfig {
  return { sinks, agents, sinkRetry: { ...DEFAULT_SINK_RETRY }, wakeUpRetry: { ...DEFAULT_WAKE_UP_RETRY }, requestTimeoutMs };
}

/** Runs one activity call in a fresh mock Context (optionally a retry with heartbeat details). */
async function call<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
  args: A,
  info: { heartbeatDetails?: unknown; attempt?: number } = {},
): Promise<{ result?: R; error?: unknown; heartbeats: unknown[] }> {
  const env = new MockActivityEnvironment(info, { logger });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  try {
    return { result: await env.run(fn, ...args), heartbeats };
  } catch (error) {
    return { error, heartbeats };
  }
}

function failure(error: unknown, type: string): ApplicationFailure {
  assert.ok(error instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(error)}`);
  assert.equal(error.type, type, error.message);
  return error;
}

let receiver: Receiver;
let store: PlanStore;
let tempDir: string | undefined;

/** A sink with a unique id and path on the receiver. */
function sink(name: string, extra: Partial<SinkConfig> = {}): SinkConfig & { path: string } {
  const id = `${name}-${randomUUID().slice(0, 8)}`;
  const path = `/hooks/${id}`;
  return { id, url: `${receiver.url(path)}?token=${URL_TOKEN}`, secret: SINK_SECRET, path, ...extra };
}

function noSecretsIn(text: string): void {
  for (const key of [SINK_SECRET, OTHER_SINK_SECRET, AGENT_SECRET]) {
    assert.ok(!text.includes(key) && !text.includes(key.slice('whsec_'.length)), `a secret leaked into: ${text}`);
  }
  assert.ok(!text.includes(URL_TOKEN), `the URL's query string leaked into: ${text}`);
}

before(async () => {
  receiver = await Receiver.start();
  let url = process.env.PLAN_STORE_URL;
  if (!url) {
    tempDir = mkdtempSync(join(tmpdir(), 'delivery-store-'));
    url = join(tempDir, 'store.db');
  }
  store = await openStore(url);
  await store.migrate();
});

after(async () => {
  await receiver?.close();
  await store?.close();
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

describe('deliverEvents', () => {
  it('POSTs every event in seq order, signed, with the run summary and the node', async () => {
    const run = await seedRun(store, 'order');
    const s = sink('order');
    const { deliverEvents } = createDeliveryActivities({ store, config: configWith([s]) });
    const { result, error, heartbeats } = await call(deliverEvents, [{ runId: run.runId, sinkId: s.id, afterSeq: 0, uptoSeq: run.lastSeq }]);
    assert.equal(error, undefined);
    assert.deepEqual(result, { deliveredUpTo: run.lastSeq });

    const received = receiver.to(s.path);
    assert.equal(received.length, run.events.length);
    const envelopes = received.map((request) => verify<WebhookEnvelope>(request, SINK_SECRET));
    assert.deepEqual(envelopes.map((e) => e.event.seq), run.events.map((e) => e.seq), 'seq order');
    // The events as the engine made them (JSON drops the engine's `undefined` fields).
    assert.deepEqual(envelopes.map((e) => e.event), JSON.parse(JSON.stringify(run.events)));

    for (const [index, request] of received.entries()) {
      const envelope = envelopes[index];
      assert.equal(request.method, 'POST');
      assert.equal(request.headers['content-type'], 'application/json');
      assert.match(String(request.headers['user-agent']), /^plan-runner\/\d+\.\d+\.\d+/);
      assert.equal(request.headers['webhook-id'], envelope.event.id);
      assert.ok(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000) < 60, 'timestamp in seconds, now');
      assert.throws(() => verify(request, OTHER_SINK_SECRET), /No matching signature/);
      assert.equal(envelope.type, envelope.event.type);
      assert.equal(envelope.run.runId, run.runId);
      assert.equal(envelope.run.planId, SPEC.id);
      assert.equal(envelope.run.title, SPEC.title);
      assert.equal(envelope.run.status, 'running');
      assert.ok(!('input' in envelope.run), 'the run summary has no input');
      assert.doesNotMatch(JSON.stringify(envelope.run), /not for sinks/);
      if (envelope.event.nodeId) {
        assert.ok(envelope.node, `event ${envelope.event.id} names a node`);
        assert.deepEqual(envelope.node.spec, SPEC.nodes.find((node) => node.id === envelope.event.nodeId));
        assert.equal(envelope.node.run?.nodeId, envelope.event.nodeId);
      } else {
        assert.equal(envelope.node, undefined);
      }
    }
    // The node run is the stored row: draft completed with its output, review running with its mapped input.
    const completed = envelopes.find((e) => e.type === 'node-completed');
    assert.equal(completed?.node?.run?.status, 'completed');
    assert.deepEqual(completed?.node?.run?.output, { text: 'Otters hold hands.' });
    const reviewRunning = envelopes.find((e) => e.type === 'node-running' && e.event.nodeId === 'review');
    assert.deepEqual(reviewRunning?.node?.run?.resolvedInput, { text: 'Otters hold hands.' });

    // Progress: a heartbeat per delivered event, and the store's delivery record.
    assert.deepEqual(heartbeats, run.events.map((e) => ({ deliveredUpTo: e.seq })));
    assert.equal(await store.getDelivery(s.id, run.runId), run.lastSeq);
  });

  it('delivers only a range, and only the event types a sink asks for (in order)', async () => {
    const run = await seedRun(store, 'filter');
    const s = sink('filter', { eventTypes: ['node-running', 'node-completed'] });
    const { deliverEvents } = createDeliveryActivities({ store, config: configWith([s]) });
    const { result, error } = await call(deliverEvents, [{ runId: run.runId, sinkId: s.id, afterSeq: 2, uptoSeq: run.lastSeq }]);
    assert.equal(error, undefined);
    assert.deepEqual(result, { deliveredUpTo: run.lastSeq });
    const expected = run.events.filter((e) => e.seq > 2 && (e.type === 'node-running' || e.type === 'node-completed'));
    assert.ok(expected.length >= 3);
    const received = receiver.to(s.path).map((request) => verify<WebhookEnvelope>(request, SINK_SECRET).event);
    assert.deepEqual(received.map((e) => e.id), expected.map((e) => e.id));
    // Filtered events count as done: the record covers the whole range.
    assert.equal(await store.getDelivery(s.id, run.runId), run.lastSeq);
  });

  it('a 500 throws a retryable DeliveryFailed; the retry resumes after the last accepted event', async () => {
    const run = await seedRun(store, 'retry');
    const s = sink('retry');
    const failSeq = 4;
    let failing = true;
    receiver.respond = (request) =>
      failing && request.path.startsWith(s.path) && request.headers['webhook-id'] === `${run.runId}:${failSeq}` ? 500 : 204;
    try {
      const { deliverEvents } = createDeliveryActivities({ store, config: configWith([s]) });
      const input = { runId: run.runId, sinkId: s.id, afterSeq: 0, uptoSeq: run.lastSeq };

      const first = await call(deliverEvents, [input]);
      const error = failure(first.error, 'DeliveryFailed');
      assert.equal(error.nonRetryable, false);
      assert.match(error.message, new RegExp(`event ${run.runId}:${failSeq} .*HTTP 500`));
      assert.ok(error.message.includes(receiver.url(s.path)), `names the URL: ${error.message}`);
      assert.match(error.message, /receiver says no \(500\)/, 'quotes the answer');
      noSecretsIn(error.message);
      // Nothing after the failed event was sent: the order holds.
      assert.deepEqual(receiver.to(s.path).map((r) => r.headers['webhook-id']), [1, 2, 3, 4].map((seq) => `${run.runId}:${seq}`));
      assert.deepEqual(first.heartbeats.at(-1), { deliveredUpTo: failSeq - 1 });
      assert.equal(await store.getDelivery(s.id, run.runId), failSeq - 1);

      // Still failing: the retry (with the heartbeat details Temporal hands it) starts at the failed event.
      const second = await call(deliverEvents, [input], { attempt: 2, heartbeatDetails: first.heartbeats.at(-1) });
      failure(second.error, 'DeliveryFailed');
      assert.deepEqual(receiver.to(s.path).slice(4).map((r) => r.headers['webhook-id']), [`${run.runId}:${failSeq}`]);

      failing = false;
      const third = await call(deliverEvents, [input], { attempt: 3, heartbeatDetails: second.heartbeats.at(-1) });
      assert.equal(third.error, undefined);
      assert.deepEqual(third.result, { deliveredUpTo: run.lastSeq });
      const ids = receiver.to(s.path).slice(5).map((r) => verify<WebhookEnvelope>(r, SINK_SECRET).event.seq);
      assert.deepEqual(ids, run.events.filter((e) => e.seq >= failSeq).map((e) => e.seq));
      assert.equal(await store.getDelivery(s.id, run.runId), run.lastSeq);
    } finally {
      receiver.respond = () => 204;
    }
  });

  it('resumes after the progress in heartbeat details ({ deliveredUpTo } or a bare number)', async () => {
    const run = await seedRun(store, 'resume');
    const s = sink('resume');
    const { deliverEvents } = createDeliveryActivities({ store, config: configWith([s]) });
    const input = { runId: run.runId, sinkId: s.id, afterSeq: 0, uptoSeq: run.lastSeq };
    const { result } = await call(deliverEvents, [input], { attempt: 2, heartbeatDetails: { deliveredUpTo: 6 } });
    assert.deepEqual(result, { deliveredUpTo: run.lastSeq });
    assert.deepEqual(receiver.to(s.path).map((r) => verify<WebhookEnvelope>(r, SINK_SECRET).event.seq), run.events.filter((e) => e.seq > 6).map((e) => e.seq));

    const before = receiver.to(s.path).length;
    await call(deliverEvents, [input], { attempt: 2, heartbeatDetails: 8 });
    assert.deepEqual(receiver.to(s.path).slice(before).map((r) => r.headers['webhook-id']), run.events.filter((e) => e.seq > 8).map((e) => e.id));

    // Progress that already covers the range: nothing is sent.
    const count = receiver.to(s.path).length;
    const done = await call(deliverEvents, [input], { attempt: 2, heartbeatDetails: { deliveredUpTo: run.lastSeq } });
    assert.deepEqual(done.result, { deliveredUpTo: run.lastSeq });
    assert.equal(receiver.to(s.path).length, count);
  });

  it('410 Gone disables the sink in the store; later calls send nothing', async () => {
    const run = await seedRun(store, 'gone');
    const s = sink('gone');
    const other = sink('gone-other');
    receiver.respond = (request) => (request.path.startsWith(s.path) && receiver.to(s.path).length === 3 ? 410 : 204);
    try {
      const { deliverEvents } = createDeliveryActivities({ store, config: configWith([s, other]) });
      const { result, error } = await call(deliverEvents, [{ runId: run.runId, sinkId: s.id, afterSeq: 0, uptoSeq: run.lastSeq }]);
      assert.equal(error, undefined);
      const reason = `HTTP 410 Gone from 127.0.0.1:${receiver.port}`;
      assert.deepEqual(result, { deliveredUpTo: 2, disabled: { reason } });
      assert.equal(receiver.to(s.path).length, 3);

      const status = await store.getSinkStatus(s.id);
      assert.equal(status.reason, reason);
      assert.ok(status.disabledAt, 'disabledAt is set');
      assert.equal(await store.getDelivery(s.id, run.runId), 2);

      // The same sink, another run: nothing is sent.
      const run2 = await seedRun(store, 'gone2');
      const later = await call(deliverEvents, [{ runId: run2.runId, sinkId: s.id, afterSeq: 0, uptoSeq: run2.lastSeq }]);
      assert.deepEqual(later.result, { deliveredUpTo: run2.lastSeq, disabled: { reason } });
      assert.equal(receiver.to(s.path).length, 3);

      // Other sinks are not affected.
      const others = await call(deliverEvents, [{ runId: run2.runId, sinkId: other.id, afterSeq: 0, uptoSeq: run2.lastSeq }]);
      assert.deepEqual(others.result, { deliveredUpTo: run2.lastSeq });
      assert.equal(receiver.to(other.path).length, run2.events.length);
    } finally {
      receiver.respond = () => 204;
    }
  });

  it('events not (yet) in the store: retryable, and nothing is sent', async () => {
    const run = await seedRun(store, 'ahead');
    const s = sink('ahead');
    const { deliverEvents } = createDeliveryActivities({ store, config: configWith([s]) });
    const { error } = await call(deliverEvents, [{ runId: run.runId, sinkId: s.id, afterSeq: 0, uptoSeq: run.lastSeq + 3 }]);
    const failed = failure(error, 'EventsNotStored');
    assert.equal(failed.nonRetryable, false);
    assert.match(failed.message, new RegExp(`only ${run.lastSeq} of events 1\\.\\.${run.lastSeq + 3}`));
    assert.equal(receiver.to(s.path).length, 0);
  });

  it('an unknown sink id is a non-retryable failure', async () => {
    const s = sink('known');
    const { deliverEvents } = createDeliveryActivities({ store, config: configWith([s]) });
    const { error } = await call(deliverEvents, [{ runId: 'whatever', sinkId: 'nope', afterSeq: 0, uptoSeq: 3 }]);
    const failed = failure(error, 'UnknownSink');
    assert.equal(failed.nonRetryable, true);
    assert.match(failed.message, /"nope".*configured: "known-/);
  });

  it('a slow sink times out: retryable, naming the timeout', async () => {
    const run = await seedRun(store, 'slow');
    const s = sink('slow');
    receiver.respond = (request) => (request.path.startsWith(s.path) ? 'hang' : 204);
    try {
      const { deliverEvents } = createDeliveryActivities({ store, config: configWith([s], {}, 300) });
      const started = Date.now();
      const { error } = await call(deliverEvents, [{ runId: run.runId, sinkId: s.id, afterSeq: 0, uptoSeq: run.lastSeq }]);
      const failed = failure(error, 'DeliveryFailed');
      assert.equal(failed.nonRetryable, false);
      assert.match(failed.message, /no answer within 300 ms \(timeout\)/);
      assert.ok(Date.now() - started < 5000);
      assert.equal(receiver.to(s.path).length, 1);
    } finally {
      receiver.respond = () => 204;
    }
  });

  it('deliverySettings tells the workflow ids, filters and timing, no URLs or secrets', async () => {
    const s = sink('settings', { eventTypes: ['node-failed'] });
    const { deliverySettings } = createDeliveryActivities({
      store,
      config: configWith([s], { writer: { url: receiver.url('/agents/writer'), secret: AGENT_SECRET } }),
    });
    const { result } = await call(deliverySettings, []);
    assert.deepEqual(result, {
      sinks: [{ id: s.id, eventTypes: ['node-failed'] }],
      agents: ['writer'],
      sinkRetry: DEFAULT_SINK_RETRY,
      wakeUpRetry: DEFAULT_WAKE_UP_RETRY,
    });
    assert.doesNotMatch(JSON.stringify(result), /whsec_|http/);
  });
});

describe('wakeAgent', () => {
  function activities(agentUrl: string, requestTimeoutMs?: number): DeliveryActivities {
    return createDeliveryActivities({
      store,
      config: configWith([sink('unused')], { reviewer: { url: agentUrl, secret: AGENT_SECRET } }, requestTimeoutMs),
    });
  }

  it('POSTs the work item, signed with the agent secret, webhook-id = the causing event', async () => {
    const run = await seedRun(store, 'wake');
    assert.equal(run.wakeUps.length, 1);
    const wakeUp = run.wakeUps[0];
    assert.equal(wakeUp.agentRef, 'reviewer');
    const path = `/agents/reviewer-${randomUUID().slice(0, 8)}`;
    receiver.respond = (request) => (request.path === path ? 202 : 204);
    try {
      const { wakeAgent } = activities(receiver.url(path));
      const input = { runId: run.runId, agentRef: wakeUp.agentRef, eventId: wakeUp.eventId, eventType: wakeUp.eventType, workItem: wakeUp.workItem };
      const { result, error } = await call(wakeAgent, [input]);
      assert.equal(error, undefined);
      assert.deepEqual(result, { status: 202 });

      const [request, ...more] = receiver.to(path);
      assert.equal(more.length, 0);
      assert.equal(request.headers['webhook-id'], wakeUp.eventId);
      assert.equal(request.headers['content-type'], 'application/json');
      assert.throws(() => verify(request, SINK_SECRET), /No matching signature/);
      const envelope = verify<WakeUpEnvelope>(request, AGENT_SECRET);
      assert.deepEqual(envelope, { type: 'wake-up', eventId: wakeUp.eventId, eventType: 'node-running', workItem: wakeUp.workItem });
      assert.equal(envelope.workItem.nodeId, 'review');
      assert.equal(envelope.workItem.brief.objective, 'Review the draft');
      assert.deepEqual(envelope.workItem.resolvedInput, { text: 'Otters hold hands.' });
      assert.deepEqual(envelope.workItem.handoff, { draft: { tone: 'warm' } });
    } finally {
      receiver.respond = () => 204;
    }
  });

  it('an agent endpoint that refuses connections: retryable WakeUpFailed naming the URL', async () => {
    const run = await seedRun(store, 'wake-closed');
    const wakeUp = run.wakeUps[0];
    const port = await closedPort();
    const { wakeAgent } = activities(`http://127.0.0.1:${port}/wake?token=${URL_TOKEN}`);
    const { error } = await call(wakeAgent, [{ runId: run.runId, agentRef: 'reviewer', eventId: wakeUp.eventId, eventType: wakeUp.eventType, workItem: wakeUp.workItem }]);
    const failed = failure(error, 'WakeUpFailed');
    assert.equal(failed.nonRetryable, false);
    assert.ok(failed.message.includes(`http://127.0.0.1:${port}/wake`), failed.message);
    assert.match(failed.message, /ECONNREFUSED/);
    assert.match(failed.message, /agent "reviewer"/);
    noSecretsIn(failed.message);
  });

  it('a 503 is retryable, a 410 is not (AgentGone)', async () => {
    const run = await seedRun(store, 'wake-status');
    const wakeUp = run.wakeUps[0];
    const input = { runId: run.runId, agentRef: 'reviewer', eventId: wakeUp.eventId, eventType: wakeUp.eventType, workItem: wakeUp.workItem };
    const busy = `/agents/busy-${randomUUID().slice(0, 8)}`;
    const gone = `/agents/gone-${randomUUID().slice(0, 8)}`;
    receiver.respond = (request) => (request.path === busy ? 503 : request.path === gone ? 410 : 204);
    try {
      const unavailable = failure((await call(activities(receiver.url(busy)).wakeAgent, [input])).error, 'WakeUpFailed');
      assert.equal(unavailable.nonRetryable, false);
      assert.match(unavailable.message, /HTTP 503/);

      const goneFailure = failure((await call(activities(receiver.url(gone)).wakeAgent, [input])).error, 'AgentGone');
      assert.equal(goneFailure.nonRetryable, true);
      assert.match(goneFailure.message, /410 Gone/);
      assert.equal(receiver.to(gone).length, 1);
      assert.doesNotThrow(() => verify(receiver.to(gone)[0], AGENT_SECRET));
    } finally {
      receiver.respond = () => 204;
    }
  });

  it('an agent without an endpoint: non-retryable NoAgentEndpoint, nothing sent', async () => {
    const run = await seedRun(store, 'wake-none');
    const wakeUp = run.wakeUps[0];
    const count = receiver.requests.length;
    const { wakeAgent } = activities(receiver.url('/agents/x'));
    for (const agentRef of ['writer', 'constructor']) {
      const { error } = await call(wakeAgent, [{ runId: run.runId, agentRef, eventId: wakeUp.eventId, eventType: wakeUp.eventType, workItem: wakeUp.workItem }]);
      const failed = failure(error, 'NoAgentEndpoint');
      assert.equal(failed.nonRetryable, true);
      assert.match(failed.message, new RegExp(`agent "${agentRef}" has no wake-up endpoint`));
    }
    assert.equal(receiver.requests.length, count);
  });
});

describe('logs', () => {
  it('the activities logged successes and failures, without secrets or URL query strings', () => {
    const messages = logs.map((entry) => entry.message);
    assert.ok(messages.includes('Events delivered'), messages.join(' | '));
    assert.ok(messages.includes('Event delivery failed; Temporal retries it'));
    assert.ok(messages.includes('Agent woken'));
    assert.ok(messages.includes('Wake-up failed'));
    const failed = logs.find((entry) => entry.message === 'Event delivery failed; Temporal retries it');
    assert.equal(failed?.level, 'WARN');
    noSecretsIn(JSON.stringify(logs.map((entry) => ({ message: entry.message, meta: entry.meta }))));
  });
});
