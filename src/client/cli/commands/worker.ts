/** `plan-runner worker`: run a plan-run worker in the foreground. */
import * as path from 'node:path';
import { type Command } from 'commander';
import { PlanRunnerError, TemporalUnavailableError } from '../../errors';
import type { WorkerConfig } from '../../../worker';
import type { CliContext } from '../context';

/** The worker module, loaded only by this command so that the others never load the worker SDK. */
export const WORKER_MODULE = path.join(__dirname, '..', '..', '..', 'worker');

/** Add `worker` to the program. */
export function registerWorker(program: Command, ctx: CliContext): void {
  const { globals } = ctx;
  program
    .command('worker')
    .description('run a plan-run worker in the foreground (Ctrl-C to stop); it records runs in the store (--store)')
    .action(async (_options: unknown, command: Command) => {
      const options = globals(command);
      // Loaded lazily so the other commands never load the worker SDK.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const worker = require(WORKER_MODULE) as { runWorker(opts: WorkerConfig): Promise<void> };
      const { connectionOptionsFromFlags } = await import('../../connection');
      // The worker opens its store from PLAN_STORE_URL; --store sets it for this process.
      if (options.store !== undefined) process.env.PLAN_STORE_URL = options.store;
      try {
        // runWorker prints its own banner: address, namespace, TLS, profile, store.
        await worker.runWorker({ ...connectionOptionsFromFlags(options), taskQueue: options.taskQueue });
      } catch (error) {
        if (error instanceof PlanRunnerError) throw error; // already says what is wrong
        const text = error instanceof Error ? error.message : String(error);
        if (/connect|transport|unavailable|refused|deadline/i.test(text)) {
          throw new TemporalUnavailableError(options.address ?? process.env.TEMPORAL_ADDRESS ?? 'the configured address', undefined, { cause: error });
        }
        throw error;
      }
    });
}
