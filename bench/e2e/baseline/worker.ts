/**
 * The baseline's worker process (spawned by the benchmark driver): a plain Temporal worker with the
 * baseline workflow and its one activity, on the task queue `BENCH_TASK_QUEUE`, writing to the SQLite
 * file `BENCH_BASELINE_DB`. It reaches Temporal exactly as the plan-runner worker does
 * (`resolveConnectionSettings`: the TEMPORAL_* variables), so the two differ only in what they run.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { resolveConnectionSettings } from '../../../src/client/connection';
import { benchTaskQueue, bundleCodePath, serveWorker } from '../worker-child';
import { createBaselineActivities } from './activities';

/** The module the worker bundles when it is given no pre-built bundle. */
export const BASELINE_WORKFLOWS_PATH = require.resolve('./workflows');

async function createBaselineWorker() {
  const file = process.env.BENCH_BASELINE_DB;
  if (!file) throw new Error('BENCH_BASELINE_DB is not set');
  const settings = resolveConnectionSettings({ defaultAddress: '127.0.0.1:7233' });
  const activities = createBaselineActivities(file);
  const connection = await NativeConnection.connect(settings.nativeConnectionOptions);
  const codePath = bundleCodePath();
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: benchTaskQueue(),
    activities: { checkAndRecord: activities.checkAndRecord },
    ...(codePath ? { workflowBundle: { codePath } } : { workflowsPath: BASELINE_WORKFLOWS_PATH }),
  });
  return {
    run: () =>
      worker.run().finally(async () => {
        activities.close();
        await connection.close();
      }),
    shutdown: () => worker.shutdown(),
  };
}

if (require.main === module) void serveWorker(createBaselineWorker);
