/** `node dist/src/worker/main.js`: a worker configured from the environment (TEMPORAL_ADDRESS, ...). */
import { runWorker } from './index';

runWorker().catch((error: unknown) => {
  console.error('plan-runner worker failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
