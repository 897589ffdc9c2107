/**
 * Integration harness: a real worker on a fresh task queue against the real Temporal dev server
 * (TEMPORAL_ADDRESS, started by `./temporal-dev.sh test`). Nothing is mocked. Each test file gets its
 * own task queue, so files and runs never pick up each other's work.
 */
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection, bundleWorkflowCode } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { resolveConnectionSettings } from '../../src/client/connection';
import { PlanRunnerClient } from '../../src/client/plan-runner-client';
import { createPlanWorker, WORKFLOWS_PATH } from '../../src/worker';
import type { PlanSpec } from '../../src/engine';
import type { DeliveryConfig } from '../../src/activities/delivery/types';
import { openStore } from '../../src/store';
import type { PlanStore } from '../../src/store/types';

// Tests never read a developer's own ~/.config/temporalio/temporal.toml (its default profile may
// point at a cluster far from the dev server): unless TEMPORAL_CONFIG_FILE names a file, it is an
// empty one, here and in every process the tests start.
process.env.TEMPORAL_CONFIG_FILE ??= os.devNull;

/**
 * How the tests reach Temporal: the TEMPORAL_* variables (so the suite can run against a TLS or
 * API-key cluster too), else the dev server at 127.0.0.1:7233.
 */
export const TEMPORAL_CONNECTION = resolveConnectionSettings({ defaultAddress: '127.0.0.1:7233' });
export const TEMPORAL_ADDRESS = TEMPORAL_CONNECTION.address;

/** What the in-process workers logged at WARN and above (tests that check a log line read it). */
export const workerLog: Array<{ level: string; message: string; meta?: Record<string, unknown> }> = [];

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // Keep worker logs to warnings so test output stays readable.
  const print = new DefaultLogger('WARN');
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      workerLog.push({ level: entry.level, message: entry.message, meta: entry.meta });
      print.log(entry.level, entry.message, entry.meta);
    }),
  });
}

let bundle: Promise<{ code: string }> | undefined;
/** The workflow bundle, built once per test process. */
export function workflowBundle(): Promise<{ code: string }> {
  quietRuntime();
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  return bundle;
}

export interface Harness {
  client: PlanRunnerClient;
  /** The store the worker writes (PLAN_STORE_URL, as `./temporal-dev.sh test` sets it). */
  store: PlanStore;
  taskQueue: string;
  /** Stop the in-process worker (if any) and keep the client and store: for tests of a missing worker. */
  stopWorker?(): Promise<void>;
  close(): Promise<void>;
}

/** Delivery with no sinks and no agent endpoints, and retry timing short enough for tests. */
export function testDelivery(overrides: Partial<DeliveryConfig> = {}): DeliveryConfig {
  return {
    sinks: [],
    agents: {},
    sinkRetry: { initialIntervalMs: 200, maximumIntervalMs: 1000, giveUpAfterMs: 10 * 60_000 },
    wakeUpRetry: { initialIntervalMs: 200, maximumIntervalMs: 500, maximumAttempts: 3 },
    requestTimeoutMs: 2000,
    ...overrides,
  };
}

/**
 * Every task queue a harness creates is appended to `$PLAN_TEST_QUEUE_LOG` (set by
 * `./temporal-dev.sh test`), so that `scripts/check-open-runs.ts` can tell, after the suite, whether
 * any run the suite started is still open, without counting anyone else's runs on a shared server.
 */
function logTaskQueue(taskQueue: string): void {
  const file = process.env.PLAN_TEST_QUEUE_LOG;
  if (file) fs.appendFileSync(file, `${taskQueue}\n`);
}

/**
 * Terminates every run still open on `taskQueue`: the ids the harness client started, and whatever
 * visibility lists on the queue (runs started through the CLI or the raw Temporal client). Tests clean
 * up what they start, also when they fail half-way; this is what `close()` does last.
 */
export async function terminateOpenRuns(client: Client, taskQueue: string, known: Iterable<string> = []): Promise<string[]> {
  const ids = new Set(known);
  try {
    for await (const info of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) ids.add(info.workflowId);
  } catch {
    // Visibility unavailable: the known ids are still terminated.
  }
  const terminated: string[] = [];
  for (const id of ids) {
    const handle = client.workflow.getHandle(id);
    try {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING' || description.taskQueue !== taskQueue) continue;
      await handle.terminate('test cleanup: the test ended with this run open');
      terminated.push(id);
    } catch {
      // Already closed or gone.
    }
  }
  return terminated;
}

/** Remembers the run id of every `start` through this client (for `terminateOpenRuns`). */
function trackStarts(client: PlanRunnerClient): Set<string> {
  const started = new Set<string>();
  const start = client.start.bind(client);
  client.start = async (...args: Parameters<PlanRunnerClient['start']>) => {
    const run = await start(...args);
    started.add(run.runId);
    return run;
  };
  return started;
}

/**
 * A client plus (unless `withWorker: false`) an in-process worker, both on a fresh task queue.
 * Tests that manage worker processes themselves ask for the client only.
 */
export async function startHarness(
  options: { taskQueue?: string; withWorker?: boolean; delivery?: DeliveryConfig } = {},
): Promise<Harness> {
  quietRuntime();
  const taskQueue = options.taskQueue ?? `test-${randomUUID().slice(0, 8)}`;
  const store = await openStore();
  await store.migrate();
  const client = await PlanRunnerClient.connect({ connectionSettings: TEMPORAL_CONNECTION, taskQueue, store });
  logTaskQueue(taskQueue);
  const started = trackStarts(client);
  if (options.withWorker === false) {
    return {
      client,
      store,
      taskQueue,
      async close() {
        await terminateOpenRuns(client.client, taskQueue, started);
        await client.close();
        await store.close();
      },
    };
  }
  const connection = await NativeConnection.connect(TEMPORAL_CONNECTION.nativeConnectionOptions);
  const worker = await createPlanWorker({
    connection,
    connectionSettings: TEMPORAL_CONNECTION,
    taskQueue,
    store,
    delivery: options.delivery ?? testDelivery(),
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  let stopped = false;
  const stopWorker = async () => {
    if (!stopped) {
      stopped = true;
      worker.shutdown();
    }
    await running;
  };
  return {
    client,
    store,
    taskQueue,
    stopWorker,
    async close() {
      // Terminate before the worker stops, so nothing it would still do is left half-done.
      await terminateOpenRuns(client.client, taskQueue, started);
      await stopWorker();
      await client.close();
      await connection.close();
      await store.close();
    },
  };
}

/** A unique run id per test, so reruns against the same server never collide. */
export function runId(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

/** Terse spec builder: nodes and edges with sensible owners per type. */
export function plan(id: string, nodes: Array<Partial<PlanSpec['nodes'][number]> & { id: string }>, edges: PlanSpec['edges'] = [], extra: Partial<PlanSpec> = {}): PlanSpec {
  return {
    id,
    title: `Test plan ${id}`,
    nodes: nodes.map((node) => {
      const type = node.type ?? 'task';
      const owner =
        type === 'task' ? { kind: 'agent' as const, ref: node.id } : type === 'switch' || type === 'join' ? undefined : { kind: 'human' as const, ref: 'reviewers' };
      return { type, ...(owner ? { owner } : {}), ...node } as PlanSpec['nodes'][number];
    }),
    edges,
    ...extra,
  };
}

export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

const WORKER_MAIN = path.resolve(__dirname, '../../src/worker/main.js');

/** What each worker process from `startWorkerProcess` printed until it was ready (its banner). */
export const workerStartupOutput = new WeakMap<ChildProcess, string>();

/**
 * A worker in its own process (`dist/src/worker/main.js`), configured from the environment like in
 * production, so tests can SIGKILL it. Resolves once the worker printed its start-up banner.
 */
export function startWorkerProcess(taskQueue: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER_MAIN], {
    env: { ...process.env, TEMPORAL_ADDRESS, PLAN_TASK_QUEUE: taskQueue, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk;
      // The last banner line is printed once the worker is about to poll.
      if (output.includes('agent endpoints')) {
        workerStartupOutput.set(child, output);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${output}`)));
  });
}
