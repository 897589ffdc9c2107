/**
 * The child side of a benchmark worker process: both sides' workers (`baseline/worker.ts`,
 * `plan-runner-worker.ts`) run through `serveWorker`, so they start, report and stop the same way.
 *
 * The driver (`worker-process.ts`) spawns the process with an IPC channel. Once `worker.run()` has
 * started polling, the child sends `{ type: 'polling' }`; then it answers `stats` (its own
 * `process.cpuUsage()`, which counts every thread of the process, the SDK's Rust core and the
 * workflow threads included, and the peak RSS since the last `reset-peak`) and stops on `shutdown`.
 * The RSS is sampled here every 50 ms rather than read once, because a peak is what is asked for.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';

/** Messages from the driver to the worker process. */
export type DriverMessage = { type: 'stats'; id: number } | { type: 'reset-peak'; id: number } | { type: 'shutdown' };

/** Messages from the worker process to the driver. */
export type WorkerMessage =
  | { type: 'polling' }
  | { type: 'stats'; id: number; cpuMicros: number; rssBytes: number; rssPeakBytes: number }
  | { type: 'failed'; message: string };

/** What `serveWorker` needs of a worker: run it (resolves once it stopped) and ask it to stop. */
export interface RunnableWorker {
  run(): Promise<void>;
  shutdown(): void;
}

const RSS_SAMPLE_MS = 50;

/** Where a worker gets its workflows: a pre-built bundle (`BENCH_WORKFLOW_BUNDLE`), else it bundles at start. */
export function bundleCodePath(): string | undefined {
  return process.env.BENCH_WORKFLOW_BUNDLE || undefined;
}

/** The task queue the driver chose for this worker (a fresh one per worker). */
export function benchTaskQueue(): string {
  const queue = process.env.BENCH_TASK_QUEUE;
  if (!queue) throw new Error('BENCH_TASK_QUEUE is not set (this process is started by dist/bench/e2e/main.js)');
  return queue;
}

/** Create the worker, run it, report to the driver, stop when told. Exits the process at the end. */
export async function serveWorker(create: () => Promise<RunnableWorker>): Promise<void> {
  const send = (message: WorkerMessage) => process.send?.(message);
  // Warnings only, the same for both sides: logging is not what is measured.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  let worker: RunnableWorker;
  try {
    worker = await create();
  } catch (error) {
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
  // run() moves the worker to RUNNING and starts its pollers before it yields.
  const running = worker.run();
  send({ type: 'polling' });

  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, RSS_SAMPLE_MS);
  sampler.unref();
  process.on('message', (message: DriverMessage) => {
    if (message.type === 'shutdown') {
      worker.shutdown();
      return;
    }
    const rss = process.memoryUsage.rss();
    if (message.type === 'reset-peak') peak = rss;
    peak = Math.max(peak, rss);
    const cpu = process.cpuUsage();
    send({ type: 'stats', id: message.id, cpuMicros: cpu.user + cpu.system, rssBytes: rss, rssPeakBytes: peak });
  });
  try {
    await running;
  } catch (error) {
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    process.exitCode = 1;
  }
  clearInterval(sampler);
  process.disconnect?.();
}
