/**
 * The driver's side of a benchmark worker process (the child side is `worker-child.ts`): spawn it,
 * time how long it takes to poll, read its CPU time and RSS peak, stop it.
 *
 * Each side's worker runs in a process of its own, so that its CPU time and memory are its own: not
 * the driver's (which plays the agents), not the other side's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { DriverMessage, WorkerMessage } from './worker-child';

/** What the worker process reported about itself. */
export interface WorkerStats {
  cpuMicros: number;
  rssBytes: number;
  rssPeakBytes: number;
}

/** A running worker process. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly taskQueue: string;
  /** From `fork` until the worker said it polls (ms). */
  readonly startToPollingMs: number;
  stats(): Promise<WorkerStats>;
  /** Start a new RSS peak (at the current RSS) and return the stats at that moment. */
  resetPeak(): Promise<WorkerStats>;
  /** Ask the worker to shut down (it drains); kill it when it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const START_TIMEOUT_MS = 120_000;

/**
 * Forks `script` (a compiled worker entry) with `env` on top of the driver's environment, and
 * resolves once it polls `taskQueue`.
 */
export async function startWorkerProcess(script: string, taskQueue: string, env: Record<string, string>): Promise<WorkerProcess> {
  const forkedAt = performance.now();
  const child = fork(script, [], {
    env: { ...process.env, ...env, BENCH_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (stats: WorkerStats) => void>();
  let nextId = 1;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  const startToPollingMs = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the worker ${script} did not poll within ${START_TIMEOUT_MS / 1000}s`));
    }, START_TIMEOUT_MS);
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'polling') {
        clearTimeout(timer);
        resolve(performance.now() - forkedAt);
      } else if (message.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(`the worker ${script} failed: ${message.message}`));
      } else if (message.type === 'stats') {
        pending.get(message.id)?.({ cpuMicros: message.cpuMicros, rssBytes: message.rssBytes, rssPeakBytes: message.rssPeakBytes });
        pending.delete(message.id);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the worker ${script} exited before polling (${signal ?? code})`));
    });
  });

  const ask = (type: 'stats' | 'reset-peak') =>
    new Promise<WorkerStats>((resolve, reject) => {
      if (exited) return reject(new Error('the worker process has exited'));
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ type, id } satisfies DriverMessage);
    });

  return {
    child,
    taskQueue,
    startToPollingMs,
    stats: () => ask('stats'),
    resetPeak: () => ask('reset-peak'),
    async stop(graceMs = 20_000) {
      if (exited) return;
      child.send({ type: 'shutdown' } satisfies DriverMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}
