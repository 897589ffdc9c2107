/**
 * The plan-runner worker: runs `planRun` workflows and their activities on one task queue, with the
 * store (PLAN_STORE_URL, migrated at start) and the delivery configuration (PLAN_DELIVERY_CONFIG,
 * PLAN_WEBHOOK_URL / PLAN_WEBHOOK_SECRET) the activities need. It reaches Temporal like the client
 * does (`../client/connection`: options, TEMPORAL_* variables, the temporal.toml profile), TLS,
 * mTLS and API keys included.
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadDeliveryConfig } from '../activities/delivery';
import type { DeliveryConfig } from '../activities/delivery/types';
import { payloadLimitsFromEnv, resolvePayloadLimits, type PayloadLimits } from '../engine/limits';
// The store's index (Kysely, its dialects, the migrations: ~60 ms to load) is required in
// `openAndMigrate`, once the connection to Temporal is under way, so that loading it overlaps the
// connection's handshake instead of coming before it. The URL parser is a module of its own.
import { parseStoreUrl, STORE_URL_VARIABLE } from '../store/config';
import type * as StoreModule from '../store';
import type { PlanStore } from '../store/types';
import { DEFAULT_TASK_QUEUE } from '../workflows/definitions';
import { checkSearchAttributes } from './search-attributes';
import { checkBuiltWorkflowBundle, WORKFLOWS_PATH } from './workflow-bundle';
import {
  explainConnectFailure,
  resolveConnectionSettings,
  type TemporalConnectionOptions,
  type TemporalConnectionSettings,
} from '../client/connection';

/**
 * Where to poll comes from the connection options (`address`, `namespace`, `apiKey`, `tls`,
 * `profile`, `configFile`: see `TemporalConnectionOptions`), then the TEMPORAL_* variables, then
 * the temporal.toml profile, then `localhost:7233` and `default`.
 */
export interface WorkerConfig extends TemporalConnectionOptions {
  taskQueue?: string;
  /** An open connection (not closed when the worker stops); its namespace still comes from the settings. */
  connection?: NativeConnection;
  /** Settings already resolved (shared with a client); the connection options are then ignored. */
  connectionSettings?: TemporalConnectionSettings;
  /** The store; by default opened from PLAN_STORE_URL (and closed when the worker stops). */
  store?: PlanStore;
  storeUrl?: string;
  /** Sinks and agent endpoints; by default read from the environment (`loadDeliveryConfig`). */
  delivery?: DeliveryConfig;
  /** Payload limits for the worker's runs; by default from the `PLAN_LIMIT_*` environment variables. */
  limits?: Partial<PayloadLimits>;
  /**
   * Every run this worker starts takes results only with their work-item token (docs/security.md);
   * by default from `PLAN_REQUIRE_WORK_ITEM_TOKENS` (`1` or `true`). Plans can also ask for it.
   */
  requireWorkItemTokens?: boolean;
  /**
   * A pre-built workflow bundle. By default the one `npm run build` wrote (`dist/workflow-bundle.js`),
   * if it was built from the files now on disk; else the workflows are bundled at start, with a
   * warning (`workflowSource`).
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Bundle the workflows at start even when a built bundle is there (for measuring what that costs). */
  bundleAtStart?: boolean;
  /**
   * Check, before the worker is created, that the namespace has plan-runner's search attributes
   * (`checkSearchAttributes`; `runWorker` turns it on). Off by default, as before.
   */
  checkSearchAttributes?: boolean;
  /** Extra options passed through to `Worker.create` (e.g. tuning for tests). */
  workerOptions?: Partial<WorkerOptions>;
}

/**
 * The worker's address, namespace and task queue, and the connection settings behind them. Throws
 * `TemporalConfigError` for an unusable config file, profile or TLS file.
 */
export function resolveWorkerConfig(config: WorkerConfig = {}) {
  const connection = config.connectionSettings ?? resolveConnectionSettings(config);
  return {
    address: connection.address,
    namespace: connection.namespace,
    taskQueue: config.taskQueue ?? process.env.PLAN_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    connection,
  };
}

export { WORKFLOWS_PATH };

/** Where a worker's workflow code comes from: the `Worker.create` options, and a line for the log. */
export interface WorkflowSource {
  options: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;
  description: string;
  /** Why the built bundle is not used (when the worker bundles at start because of it). */
  warning?: string;
}

/**
 * The workflow code a worker runs: `config.workflowBundle` if given; else the built bundle
 * (`dist/workflow-bundle.js`) if it is fresh (`checkBuiltWorkflowBundle`); else, or with
 * `bundleAtStart`, the workflows bundled at start (several seconds, and the bundler's memory). A
 * missing or stale bundle is not an error, so that a checkout compiled with a plain `tsc` still runs;
 * the warning says why the worker bundles.
 */
export function workflowSource(config: Pick<WorkerConfig, 'workflowBundle' | 'bundleAtStart'> = {}): WorkflowSource {
  if (config.workflowBundle) return { options: { workflowBundle: config.workflowBundle }, description: 'from the workflow bundle given' };
  const bundling = { options: { workflowsPath: WORKFLOWS_PATH }, description: 'bundled at start' };
  if (config.bundleAtStart) return bundling;
  const built = checkBuiltWorkflowBundle();
  if (built.ok) {
    // An absolute codePath: the worker then takes the map's file name from it without re-encoding the map.
    return { options: { workflowBundle: { codePath: built.codePath } }, description: `from the built bundle ${built.codePath}` };
  }
  return { ...bundling, warning: `not using the built workflow bundle: ${built.reason}; bundling the workflows at start` };
}

/** A Temporal worker plus the resources it owns; `run()` releases them when the worker stops. */
export interface PlanWorker {
  worker: Worker;
  store: PlanStore;
  delivery: DeliveryConfig;
  /** Where its workflow code came from (`WorkflowSource.description`: `bundled at start`, `from …`). */
  workflows: string;
  run(): Promise<void>;
  shutdown(): void;
}

/**
 * A worker for `config` (store migrated, connection open, workflow code from `workflowSource`), not
 * yet polling: `run()` starts it. Throws for unusable configuration before anything connects.
 *
 * The steps that wait on something else (the store opened and migrated, the connection to Temporal,
 * the search-attribute check) run at the same time rather than one after the other. Their failures
 * are reported as if they had run in order, so the message is the one it always was: the search
 * attributes first (`runWorker`, which checked them before anything else), then the store, then
 * the connection. Whatever was opened is closed again (once its step settles) when any of them fails.
 */
export async function createPlanWorker(config: WorkerConfig = {}): Promise<PlanWorker> {
  // Configuration errors (connection settings and the store URL included) surface before anything connects.
  const { namespace, taskQueue, connection: settings } = resolveWorkerConfig(config);
  const delivery = config.delivery ?? loadDeliveryConfig();
  const limits = config.limits ? resolvePayloadLimits(config.limits) : payloadLimitsFromEnv(process.env);
  const ownsStore = !config.store;
  // openStore parses the URL too, but only once it runs next to the connection attempt below.
  if (ownsStore) parseStoreUrl(config.storeUrl ?? process.env[STORE_URL_VARIABLE]);

  const checked = config.checkSearchAttributes ? checkSearchAttributes(settings) : Promise.resolve();
  const connecting = config.connection ? Promise.resolve(config.connection) : connectNative(settings);
  const opening = openAndMigrate(config.store, config.storeUrl);
  // Hashing the built bundle against its manifest (a few ms of CPU) overlaps the waits above.
  const source = workflowSource(config);
  // Awaited in the order they used to run, so the first failure in that order is the one reported,
  // as soon as it is known (not after a slower step gave up too). What the others opened is closed
  // once they settle; none of their failures is left unhandled meanwhile.
  for (const step of [checked, opening, connecting]) step.catch(() => undefined);
  const release = () =>
    Promise.all([
      ownsStore ? opening.then((opened) => opened.close()).catch(() => undefined) : undefined,
      config.connection ? undefined : connecting.then((opened) => opened.close()).catch(() => undefined),
    ]);
  let store: PlanStore;
  let connection: NativeConnection;
  try {
    await checked;
    store = await opening;
    connection = await connecting;
  } catch (error) {
    // Not awaited: a step still under way (a connection attempt to a host that does not answer)
    // must not hold back the failure already known.
    void release();
    throw error;
  }
  try {
    if (source.warning) console.warn(`plan-runner worker: ${source.warning}`);
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      activities: createActivities({ store, delivery, limits, requireWorkItemTokens: config.requireWorkItemTokens ?? requireTokensFromEnv(process.env) }),
      ...source.options,
      ...config.workerOptions,
    });
    return {
      worker,
      store,
      delivery,
      workflows: source.description,
      run: () =>
        worker.run().finally(async () => {
          if (ownsStore) await store.close();
          if (!config.connection) await connection.close();
        }),
      shutdown: () => worker.shutdown(),
    };
  } catch (error) {
    // Every step has settled here: close what they opened before saying why the worker did not start.
    await release();
    throw error;
  }
}

/**
 * `given` or the store `url` names (`openStore`), migrated. A store this opened is closed again when
 * migrating fails; a store given is left open, as its owner opened it.
 */
async function openAndMigrate(given: PlanStore | undefined, url: string | undefined): Promise<PlanStore> {
  const store = given ?? (await (require('../store') as typeof StoreModule).openStore(url));
  try {
    await store.migrate();
    return store;
  } catch (error) {
    if (!given) await store.close();
    throw error;
  }
}

/** `NativeConnection.connect`, with a failure explained (down, TLS, certificate) as `TemporalUnavailableError`. */
async function connectNative(settings: TemporalConnectionSettings): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(settings.nativeConnectionOptions);
  } catch (error) {
    throw await explainConnectFailure(settings, error);
  }
}

/** Runs a worker until SIGINT/SIGTERM (the SDK installs the signal handlers and drains). */
export async function runWorker(config: WorkerConfig = {}): Promise<void> {
  const resolved = resolveWorkerConfig(config);
  // The search-attribute check runs inside createPlanWorker, next to the store and the connection:
  // same check, same message, without waiting for it before the rest begins.
  const planWorker = await createPlanWorker({ ...config, connectionSettings: resolved.connection, checkSearchAttributes: true });
  const sinks = planWorker.delivery.sinks.map((sink) => sink.id);
  const agents = Object.keys(planWorker.delivery.agents);
  console.log(`plan-runner worker: task queue "${resolved.taskQueue}" on ${resolved.connection.description.summary}`);
  console.log(`plan-runner worker: store ${planWorker.store.dialect} at ${planWorker.store.location}`);
  console.log(`plan-runner worker: workflows ${planWorker.workflows}`);
  console.log(
    `plan-runner worker: webhook sinks [${sinks.join(', ') || 'none'}], agent endpoints [${agents.join(', ') || 'none'}]`,
  );
  await planWorker.run();
}

/** `PLAN_REQUIRE_WORK_ITEM_TOKENS`: `1` or `true` turns the requirement on; anything else leaves it off. */
export function requireTokensFromEnv(env: NodeJS.ProcessEnv): boolean {
  const value = env.PLAN_REQUIRE_WORK_ITEM_TOKENS?.trim().toLowerCase();
  return value === '1' || value === 'true';
}
