/**
 * Integration harness: a real worker on a fresh task queue against the real Temporal dev server
 * (TEMPORAL_ADDRESS, started by `./temporal-dev.sh test`). Nothing is mocked. Each test file gets its
 * own task queue, so files and runs never pick up each other's work.
 *
 * Every test cleans up what it starts (docs/development.md#every-test-cleans-up-what-it-starts): a
 * harness's `close()` terminates every run still open that its client started or that visibility
 * lists on its task queue, and every task queue is logged to `$PLAN_TEST_QUEUE_LOG`, which
 * `./temporal-dev.sh test` checks for open runs after the suite (scripts/check-open-runs.ts).
 */
import { randomUUID } from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowNotFoundError, type WorkflowClientInterceptor, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { resolveConnectionSettings } from '../../src/client/connection';
import { PlanRunnerClient } from '../../src/client/plan-runner-client';
import { createPlanWorker } from '../../src/worker';
import { builtBundleOrBundleNow } from '../../src/worker/workflow-bundle';
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

let bundle: Promise<WorkflowBundleOption> | undefined;
/**
 * The workflow bundle the tests' workers run: the one `npm run build` wrote (`dist/workflow-bundle.js`,
 * what a worker runs in production), else, when it is missing or stale (a plain `tsc`), the workflows
 * bundled once per test process, with a warning.
 */
export function workflowBundle(): Promise<WorkflowBundleOption> {
  quietRuntime();
  bundle ??= builtBundleOrBundleNow({ warn: (message) => console.warn(`tests: ${message}`), logger: new DefaultLogger('WARN') });
  return bundle;
}

export interface Harness {
  client: PlanRunnerClient;
  /** The store the worker writes (PLAN_STORE_URL, as `./temporal-dev.sh test` sets it). */
  store: PlanStore;
  taskQueue: string;
  /** Stop the in-process worker (if any) and keep the client and store: for tests of a missing worker. */
  stopWorker?(): Promise<void>;
  /**
   * Terminates every run still open that this harness's client started or that is running on its task
   * queue (reason 'test cleanup'), then stops the worker and closes the connections and the store.
   * Call it in `after()` (or a `finally`), so it also runs when a test failed.
   */
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

// ---- Cleanup: every run a test starts is closed by the end of its file ------------------------------

/** The variable naming the file every test task queue is appended to (set by `./temporal-dev.sh test`). */
export const QUEUE_LOG_VARIABLE = 'PLAN_TEST_QUEUE_LOG';

/**
 * Notes a task queue the suite puts runs on in `$PLAN_TEST_QUEUE_LOG` (when set), before anything is
 * started there, so that the check after the suite looks at this queue, and at no one else's.
 */
export function registerTaskQueue(taskQueue: string): void {
  const file = process.env[QUEUE_LOG_VARIABLE];
  if (file) fs.appendFileSync(file, `${taskQueue}\n`);
}

/** A fresh task queue for one test file (or one harness), already registered. */
export function testTaskQueue(prefix = 'test'): string {
  const taskQueue = `${prefix}-${randomUUID().slice(0, 8)}`;
  registerTaskQueue(taskQueue);
  return taskQueue;
}

/**
 * The workflow ids a Temporal client started (plan-runner's `start`, or the raw `workflow.start`,
 * `signalWithStart` and update-with-start), recorded by a client interceptor.
 */
export class StartedRuns {
  readonly ids = new Set<string>();

  readonly interceptor: WorkflowClientInterceptor = {
    startWithDetails: async (input, next) => {
      this.ids.add(input.options.workflowId);
      return next(input);
    },
    signalWithStart: async (input, next) => {
      this.ids.add(input.options.workflowId);
      return next(input);
    },
    startUpdateWithStart: async (input, next) => {
      this.ids.add(input.workflowStartOptions.workflowId);
      return next(input);
    },
  };
}

/** The reason every run closed by the cleanup is terminated with (shown in the Web UI and `temporal workflow describe`). */
export const CLEANUP_REASON = 'test cleanup';

/**
 * Terminates every run still open among `known` (ids this test started, on any queue) and among the
 * runs visibility lists as running on `taskQueue` (those started through the CLI, another client or a
 * worker's continue-as-new). Visibility is eventually consistent, so each candidate's state is read with
 * `describe` (which is not), and a run visibility does not list yet is still caught through `known`.
 * Returns the ids it terminated. Never throws: cleanup must not hide the test's own failure; what it
 * could not close is reported on stderr (and the check after the suite fails on it).
 */
export async function terminateOpenRuns(client: Client, taskQueue: string | undefined, known: Iterable<string> = []): Promise<string[]> {
  const terminated: string[] = [];
  const deadline = Date.now() + 15_000;
  let terminatedLastPass = false;
  for (let pass = 1; ; pass++) {
    const candidates = new Set(known);
    const problems: string[] = [];
    if (taskQueue) {
      try {
        const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
        for await (const info of client.workflow.list({ query })) candidates.add(info.workflowId);
      } catch (error) {
        problems.push(`listing the runs on task queue ${taskQueue}: ${String(error)}`);
      }
    }
    // Child runs of plan nodes (docs/semantics.md, "Sub-plans") outlive a terminated parent: they are
    // found on the task queue, and as the children of the runs this test started.
    for (const parent of [...candidates]) {
      try {
        const query = `ParentWorkflowId = '${parent.replace(/'/g, "\\'")}' AND ExecutionStatus = 'Running'`;
        for await (const info of client.workflow.list({ query })) candidates.add(info.workflowId);
      } catch (error) {
        problems.push(`listing the child runs of ${parent}: ${String(error)}`);
      }
    }
    const before = terminated.length;
    for (const id of candidates) {
      const handle = client.workflow.getHandle(id);
      try {
        if ((await handle.describe()).status.name !== 'RUNNING') continue;
        await handle.terminate(CLEANUP_REASON);
        terminated.push(id);
      } catch (error) {
        // Never started (e.g. refused by validation) or closed meanwhile: nothing to do.
        if (error instanceof WorkflowNotFoundError) continue;
        problems.push(`terminating ${id}: ${String(error)}`);
      }
    }
    // A run terminated in this pass may have started a child that visibility does not list yet: look once more.
    const terminatedNow = terminated.length > before;
    if (problems.length === 0 && !(terminatedNow && !terminatedLastPass && Date.now() < deadline)) return terminated;
    terminatedLastPass = terminatedNow;
    if (problems.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    if (Date.now() > deadline) {
      console.error(`test cleanup could not close every run${taskQueue ? ` on task queue ${taskQueue}` : ''} (${pass} passes):\n  ${problems.join('\n  ')}`);
      return terminated;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Runs every step in order, also those after one that failed, then throws the first failure: for
 * `after()` hooks, so that a receiver that fails to stop does not keep a harness from closing.
 */
export async function closeAll(...steps: Array<() => unknown>): Promise<void> {
  let failure: unknown;
  let failed = false;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      if (!failed) failure = error;
      failed = true;
    }
  }
  if (failed) throw failure;
}

/**
 * A client plus (unless `withWorker: false`) an in-process worker, both on a fresh task queue.
 * Tests that manage worker processes themselves ask for the client only.
 */
export async function startHarness(
  options: { taskQueue?: string; withWorker?: boolean; delivery?: DeliveryConfig; requireWorkItemTokens?: boolean } = {},
): Promise<Harness> {
  quietRuntime();
  const taskQueue = options.taskQueue ?? testTaskQueue();
  if (options.taskQueue) registerTaskQueue(taskQueue);
  const store = await openStore();
  await store.migrate();
  // The harness's own Temporal client, so that it can record every workflow it starts.
  const started = new StartedRuns();
  const clientConnection = await Connection.connect({ ...TEMPORAL_CONNECTION.connectionOptions, connectTimeout: 5_000 });
  const temporal = new Client({
    connection: clientConnection,
    namespace: TEMPORAL_CONNECTION.namespace,
    interceptors: { workflow: [started.interceptor] },
  });
  const client = await PlanRunnerClient.connect({ connectionSettings: TEMPORAL_CONNECTION, client: temporal, taskQueue, store });
  // Closing first terminates what is still open (before the worker stops, so it drops the runs' tasks).
  const cleanUp = () => terminateOpenRuns(temporal, taskQueue, started.ids);
  if (options.withWorker === false) {
    return {
      client,
      store,
      taskQueue,
      async close() {
        await closeAll(cleanUp, () => client.close(), () => clientConnection.close(), () => store.close());
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
    requireWorkItemTokens: options.requireWorkItemTokens,
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
      await closeAll(cleanUp, stopWorker, () => client.close(), () => clientConnection.close(), () => connection.close(), () => store.close());
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
        type === 'task' ? { kind: 'agent' as const, ref: node.id } : type === 'switch' || type === 'join' || type === 'plan' ? undefined : { kind: 'human' as const, ref: 'reviewers' };
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

/** One execution of a workflow: its run id, history length and Temporal status. */
export interface Execution {
  runId: string;
  historyLength: number;
  status: string;
}

/**
 * The chain of executions of workflow `id` from `firstRunId`, following each continue-as-new in the
 * histories themselves (visibility is eventually consistent and may list one entry per workflow id).
 */
export async function executionChain(client: Client, id: string, firstRunId: string): Promise<Execution[]> {
  const chain: Execution[] = [];
  let current: string | undefined = firstRunId;
  while (current) {
    const handle: WorkflowHandle = client.workflow.getHandle(id, current);
    const description = await handle.describe();
    chain.push({ runId: current, historyLength: description.historyLength, status: description.status.name });
    if (description.status.name !== 'CONTINUED_AS_NEW') break;
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await handle.fetchHistory();
    current = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return chain;
}

/** The CLI entry point the tests run as a separate process. */
export const CLI_BIN = path.resolve(__dirname, '../../../bin/plan-runner.js');

/** Runs `plan-runner ARGS` against the suite's server on `taskQueue`; a failing command resolves with its exit code. */
export async function runCli(taskQueue: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI_BIN, ...args, '--address', TEMPORAL_ADDRESS, '--task-queue', taskQueue], {
      env: { ...process.env, CI: 'true' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
