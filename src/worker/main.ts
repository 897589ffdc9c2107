/**
 * `node dist/src/worker/main.js`: a worker configured from the environment alone: TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE (a
 * temporal.toml profile), PLAN_TASK_QUEUE, PLAN_STORE_URL, ... (docs/operations.md#the-worker).
 */
import { runWorker } from './index';

runWorker().catch((error: unknown) => {
  console.error('plan-runner worker failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
