/**
 * The plan-runner side's worker process (spawned by the benchmark driver): `createPlanWorker`, as
 * `plan-runner worker` runs it, on the task queue `BENCH_TASK_QUEUE` with the store `PLAN_STORE_URL`
 * (a fresh SQLite file per benchmark), no webhook sinks and no agent endpoints (the baseline delivers
 * nothing either), and the default payload limits.
 */
import { loadDeliveryConfig } from '../../src/activities/delivery';
import { resolveConnectionSettings } from '../../src/client/connection';
import { createPlanWorker } from '../../src/worker';
import { benchTaskQueue, bundleCodePath, serveWorker } from './worker-child';

async function createBenchPlanWorker() {
  if (!process.env.PLAN_STORE_URL) throw new Error('PLAN_STORE_URL is not set');
  const codePath = bundleCodePath();
  return createPlanWorker({
    connectionSettings: resolveConnectionSettings({ defaultAddress: '127.0.0.1:7233' }),
    taskQueue: benchTaskQueue(),
    // An empty environment: no sinks and no agents, whatever PLAN_WEBHOOK_URL the caller has set.
    delivery: loadDeliveryConfig({}),
    limits: {},
    requireWorkItemTokens: false,
    // Without BENCH_WORKFLOW_BUNDLE it bundles at start even though dist/workflow-bundle.js is there:
    // the "bundles at start" figure is what a worker pays without a (fresh) built bundle.
    ...(codePath ? { workflowBundle: { codePath } } : { bundleAtStart: true }),
  });
}

if (require.main === module) void serveWorker(createBenchPlanWorker);
