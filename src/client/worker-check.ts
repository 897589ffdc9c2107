/**
 * Is any worker polling a task queue? Asked before a query or an update that needs one, so that a
 * missing worker is said within a second ("no worker is polling task queue X") instead of after the
 * query's 20 s or the update's 60 s deadline.
 *
 * The server lists the pollers it has seen on the queue with the time of each one's latest poll. A
 * live worker polls continuously (a long poll lasts up to about a minute and is renewed at once), so
 * a poller not seen for `STALE_POLLER_MS` is a worker that went away: the server keeps listing it
 * for a few minutes after it stopped.
 */
import type { Client } from '@temporalio/client';

/** A poller older than this is a worker that stopped (a long poll is renewed within ~70 s). */
export const STALE_POLLER_MS = 90_000;
/** How long a worker may take to answer the probe query before it counts as gone. */
export const PROBE_TIMEOUT_MS = 1_000;
// Proto enum values (temporal.api.enums.v1), spelled out so the client needs no proto import.
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;
/** Rechecks of an empty poller list, and the pause between them (a just-started worker). */
const NO_POLLER_RECHECKS = 4;
const NO_POLLER_RECHECK_MS = 250;
/** How long one answer is reused: `inbox` asks for many runs on the same queue. */
const CACHE_MS = 5_000;

/** What the server said about a task queue's workflow pollers. */
export interface PollerReport {
  taskQueue: string;
  /** Pollers seen within `STALE_POLLER_MS`. */
  live: number;
  /** Pollers the server still lists that have not polled for longer (stopped workers). */
  stale: number;
  /** How long ago the most recent poll began (ms), if the server lists any poller. */
  newestAgeMs?: number;
  /** When the most recent poll began (ISO), if any. */
  lastSeen?: string;
}

/** Whether a worker will answer: `ok`, or why not, in words. */
export type WorkerVerdict = { ok: true } | { ok: false; report: PollerReport; reason: string };

/**
 * Asks the server about pollers and then the run itself: a worker that stopped is still listed for
 * a while, so a listed poller is confirmed with a query that every workflow answers (`probe`)
 * under a short deadline. A live worker answers it in milliseconds.
 */
export class WorkerCheck {
  private readonly cache = new Map<string, { at: number; verdict: Promise<WorkerVerdict> }>();

  constructor(
    private readonly client: Client,
    private readonly namespace: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Will a worker on `taskQueue` answer? `probe` is a cheap query that only a worker answers. */
  verdict(taskQueue: string, probe: (timeoutMs: number) => Promise<unknown>): Promise<WorkerVerdict> {
    const cached = this.cache.get(taskQueue);
    if (cached && this.now() - cached.at < CACHE_MS) return cached.verdict;
    const verdict = this.decide(taskQueue, probe);
    this.cache.set(taskQueue, { at: this.now(), verdict });
    verdict.catch(() => this.cache.delete(taskQueue));
    return verdict;
  }

  private async decide(taskQueue: string, probe: (timeoutMs: number) => Promise<unknown>): Promise<WorkerVerdict> {
    let report = await this.pollers(taskQueue);
    // A worker that has just started may not have polled yet: look again a few times (≤ 1 s)
    // before saying nobody is there.
    for (let i = 0; report.live === 0 && i < NO_POLLER_RECHECKS; i++) {
      await new Promise((resolve) => setTimeout(resolve, NO_POLLER_RECHECK_MS));
      report = await this.pollers(taskQueue);
    }
    if (report.live === 0) return { ok: false, report, reason: 'none' };
    // Even a poll that began a moment ago proves little: a worker that just stopped renewed its
    // polls right before it went. Only an answer does.
    try {
      await probe(PROBE_TIMEOUT_MS);
      return { ok: true };
    } catch (err) {
      if (isDeadline(err)) return { ok: false, report, reason: 'silent' };
      return { ok: true }; // something else is wrong: the real call will say what
    }
  }

  /** The pollers of `taskQueue`'s workflow tasks (the ones that answer queries and updates). */
  async pollers(taskQueue: string): Promise<PollerReport> {
    const response = await this.client.workflowService.describeTaskQueue({
      namespace: this.namespace,
      taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
      taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
    });
    return classifyPollers(taskQueue, response.pollers ?? [], this.now());
  }
}

function isDeadline(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === 4) return true; // gRPC DEADLINE_EXCEEDED
    if (/deadline/i.test(String((e as Error).message ?? ''))) return true;
  }
  return false;
}

/** Split pollers into live and stale by the time of their latest poll. Pure, for tests. */
export function classifyPollers(
  taskQueue: string,
  pollers: Array<{ lastAccessTime?: { seconds?: unknown; nanos?: number | null } | null }>,
  now: number,
): PollerReport {
  let live = 0;
  let stale = 0;
  let newest: number | undefined;
  for (const poller of pollers) {
    const seconds = Number(poller.lastAccessTime?.seconds ?? 0);
    const at = seconds * 1000 + Math.floor((poller.lastAccessTime?.nanos ?? 0) / 1e6);
    if (at > 0 && (newest === undefined || at > newest)) newest = at;
    if (at > 0 && now - at <= STALE_POLLER_MS) live += 1;
    else stale += 1;
  }
  return {
    taskQueue,
    live,
    stale,
    ...(newest !== undefined ? { newestAgeMs: Math.max(0, now - newest), lastSeen: new Date(newest).toISOString() } : {}),
  };
}

/** "no worker is polling task queue X …": what to say when the verdict is not ok. */
export function noWorkerMessage(verdict: Extract<WorkerVerdict, { ok: false }>, what: string): string {
  const { report } = verdict;
  const since = report.lastSeen ? ` (the last poll began at ${report.lastSeen})` : '';
  const silent = verdict.reason === 'silent' ? `: no worker answered within ${PROBE_TIMEOUT_MS} ms, so the one last seen has stopped or is stuck` : '';
  return (
    `no worker is polling task queue ${report.taskQueue}${since}${silent}, so ${what} cannot be answered: ` +
    `start one on that queue (plan-runner worker --task-queue ${report.taskQueue}, or ./temporal-dev.sh worker)`
  );
}
