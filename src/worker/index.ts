/**
 * The plan-runner worker: runs `planRun` workflows and their activities on one task queue.
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { DEFAULT_TASK_QUEUE } from '../workflows/definitions';

export interface WorkerConfig {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  connection?: NativeConnection;
  /** A pre-built workflow bundle (tests share one); by default the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra options passed through to `Worker.create` (e.g. tuning for tests). */
  workerOptions?: Partial<WorkerOptions>;
}

export function resolveWorkerConfig(config: WorkerConfig = {}) {
  return {
    address: config.address ?? process.env.TEMPORAL_ADDRESS ?? 'localhost:7233',
    namespace: config.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: config.taskQueue ?? process.env.PLAN_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
  };
}

export const WORKFLOWS_PATH = require.resolve('../workflows');

export async function createPlanWorker(config: WorkerConfig = {}): Promise<Worker> {
  const { address, namespace, taskQueue } = resolveWorkerConfig(config);
  const connection = config.connection ?? (await NativeConnection.connect({ address }));
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    activities: createActivities(),
    ...(config.workflowBundle ? { workflowBundle: config.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    ...config.workerOptions,
  });
}

/** Runs a worker until SIGINT/SIGTERM (the SDK installs the signal handlers and drains). */
export async function runWorker(config: WorkerConfig = {}): Promise<void> {
  const resolved = resolveWorkerConfig(config);
  const worker = await createPlanWorker(config);
  console.log(`plan-runner worker: task queue "${resolved.taskQueue}" on ${resolved.address} (namespace ${resolved.namespace})`);
  await worker.run();
}
