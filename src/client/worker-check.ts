/**
 * Is any worker polling a task queue? Asked before a query or an update that needs one, so that a
 * missing worker is said within a second ("no worker is polling task queue X") instead of after the
 * query's 20 s or the update's 60 s deadline, and asked again when a query or update times out, so
 * that a worker that is there but slow is called slow, not missing.
 *
 * Two things the server knows are read (docs/cli.md, "When no worker runs"):
 *
 * - The pollers of the queue's workflow tasks (DescribeTaskQueue), each with the time its latest poll
 *   began. A live worker renews its long polls at least about once a minute, so a poller not seen
 *   for `STALE_POLLER_MS` is a worker that went away. The server keeps listing it for minutes.
 * - The workers' heartbeats (ListWorkers, where the server has them): a worker that shuts down
 *   (Ctrl-C, SIGTERM, `worker.shutdown()`) reports itself shutting down, so a poller whose worker
 *   said so counts as gone at once, not only after `STALE_POLLER_MS`.
 *
 * Nothing else counts as gone: a worker that is listed and did not say it stopped may be busy, and
 * the call waits its normal deadline. Only a worker killed without shutting down (SIGKILL, a crash)
 * is therefore not recognised at once: for up to `STALE_POLLER_MS` after it died, calls wait their
 * deadline and then say that the worker did not answer.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { NoWorkerError, RunUnresponsiveError } from './errors';

/**
 * What `WorkerCheck` calls: the SDK's `Client`, or the CLI's light client (`light/light-client.ts`),
 * which has the same shape for these two calls.
 */
export interface TaskQueueService {
  withDeadline<R>(deadline: number, fn: () => Promise<R>): Promise<R>;
  workflowService: {
    describeTaskQueue(request: temporal.api.workflowservice.v1.IDescribeTaskQueueRequest): Promise<temporal.api.workflowservice.v1.IDescribeTaskQueueResponse>;
    listWorkers(request: temporal.api.workflowservice.v1.IListWorkersRequest): Promise<temporal.api.workflowservice.v1.IListWorkersResponse>;
  };
}

/**
 * A poller whose latest poll began longer ago than this is a worker that stopped. An idle live
 * worker's poll is renewed when the server ends it after about 60 s (measured on the dev server:
 * the age of the newest poll climbs to ~55-60 s, then drops); 90 s leaves room for a slow network.
 */
export const STALE_POLLER_MS = 90_000;
/**
 * A poll that began this long after the shutdown heartbeat of a worker with the same identity is
 * another worker (same process, started again): worker and server clocks may differ a little.
 */
export const SHUTDOWN_SKEW_MS = 2_000;
/** How long the server may take to say who polls (it answers in milliseconds). */
export const CHECK_TIMEOUT_MS = 3_000;
// Proto enum values (temporal.api.enums.v1), spelled out so the client needs no proto import.
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const WORKER_STATUS_SHUTTING_DOWN = 2;
const WORKER_STATUS_SHUTDOWN = 3;
/** Rechecks when no worker is found, and the pause between them (a just-started worker). */
const NO_POLLER_RECHECKS = 4;
const NO_POLLER_RECHECK_MS = 250;
/** How long one answer is reused: `inbox` asks for many runs on the same queue. */
const CACHE_MS = 5_000;

/** One poller as DescribeTaskQueue lists it. */
export interface PollerLike {
  identity?: string | null;
  lastAccessTime?: { seconds?: unknown; nanos?: number | null } | null;
}

/** One worker as ListWorkers reports it (its latest heartbeat). */
export interface WorkerHeartbeatLike {
  workerIdentity?: string | null;
  taskQueue?: string | null;
  status?: number | null;
  heartbeatTime?: { seconds?: unknown; nanos?: number | null } | null;
}

/** What the server said about a task queue's workflow pollers. */
export interface PollerReport {
  taskQueue: string;
  /** Pollers seen within `STALE_POLLER_MS` whose worker did not report that it shut down. */
  live: number;
  /** Pollers seen recently whose worker reported that it shut down after its latest poll began. */
  stopped: number;
  /** Pollers the server still lists that have not polled for longer than `STALE_POLLER_MS`. */
  stale: number;
  /** When the most recent poll of any listed poller began (ISO), if the server lists one. */
  lastSeen?: string;
  /** How long ago that was (ms). */
  newestAgeMs?: number;
  /** The identities (`pid@host`) of the workers that reported they shut down, and when they did. */
  stoppedWorkers?: Array<{ identity: string; at: string }>;
}

/** Whether a worker is there to answer: `ok`, or, in words, why not. */
export type WorkerVerdict =
  | { ok: true; report: PollerReport }
  | { ok: false; report: PollerReport; reason: 'none' | 'stopped' };

/** Asks the server who polls a task queue (`verdict`), and caches the answer for a few seconds. */
export class WorkerCheck {
  private readonly cache = new Map<string, { at: number; verdict: Promise<WorkerVerdict>; ok?: boolean }>();
  /** Answers asked for ahead (`askAhead`), each used once by the next `verdict` of its queue. */
  private readonly ahead = new Map<string, { at: number; report: Promise<PollerReport> }>();

  constructor(
    private readonly client: TaskQueueService,
    private readonly namespace: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Is a worker polling `taskQueue`? `fresh` asks the server again instead of using a recent answer. */
  verdict(taskQueue: string, options: { fresh?: boolean } = {}): Promise<WorkerVerdict> {
    const cached = this.cache.get(taskQueue);
    if (!options.fresh && cached && this.now() - cached.at < CACHE_MS) return cached.verdict;
    const verdict = this.decide(taskQueue);
    const entry: { at: number; verdict: Promise<WorkerVerdict>; ok?: boolean } = { at: this.now(), verdict };
    this.cache.set(taskQueue, entry);
    verdict.then(
      (settled) => (entry.ok = settled.ok),
      () => this.cache.delete(taskQueue),
    );
    return verdict;
  }

  /** Whether a worker was seen polling `taskQueue` within the last few seconds (no call to the server). */
  recentlySeen(taskQueue: string): boolean {
    const cached = this.cache.get(taskQueue);
    return cached?.ok === true && this.now() - cached.at < CACHE_MS;
  }

  /**
   * Ask the server about `taskQueue` now, once, for a `verdict` expected soon (while the run is
   * described, say). Unlike `verdict`, it never looks again and sets no timer, so an answer nobody
   * needs in the end does not keep the process waiting.
   */
  askAhead(taskQueue: string): void {
    const report = this.ask(taskQueue);
    report.catch(() => undefined);
    this.ahead.set(taskQueue, { at: this.now(), report });
  }

  private async decide(taskQueue: string): Promise<WorkerVerdict> {
    const ahead = this.ahead.get(taskQueue);
    this.ahead.delete(taskQueue);
    const fresh = ahead && this.now() - ahead.at < CACHE_MS ? ahead.report.catch(() => this.ask(taskQueue)) : this.ask(taskQueue);
    let verdict = verdictOf(await fresh);
    // A worker that has just started may not have polled yet: look again a few times (≤ 1 s)
    // before saying nobody is there.
    for (let i = 0; !verdict.ok && i < NO_POLLER_RECHECKS; i++) {
      await new Promise((resolve) => setTimeout(resolve, NO_POLLER_RECHECK_MS));
      verdict = verdictOf(await this.ask(taskQueue));
    }
    return verdict;
  }

  private async ask(taskQueue: string): Promise<PollerReport> {
    return this.client.withDeadline(Date.now() + CHECK_TIMEOUT_MS, async () => {
      const [described, heartbeats] = await Promise.all([
        this.client.workflowService.describeTaskQueue({
          namespace: this.namespace,
          taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
          taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
        }),
        this.heartbeats(taskQueue),
      ]);
      return classifyPollers(taskQueue, described.pollers ?? [], this.now(), heartbeats);
    });
  }

  /**
   * The latest heartbeat of each worker on `taskQueue`; none when the server keeps no heartbeats
   * (older servers, or heartbeats turned off), which only means shut-down workers are not
   * recognised before `STALE_POLLER_MS`.
   */
  private async heartbeats(taskQueue: string): Promise<WorkerHeartbeatLike[]> {
    const found: WorkerHeartbeatLike[] = [];
    try {
      let nextPageToken: Uint8Array | undefined;
      for (let page = 0; page < 5; page++) {
        const response = await this.client.workflowService.listWorkers({
          namespace: this.namespace,
          pageSize: 200,
          query: `TaskQueue = ${quote(taskQueue)}`,
          ...(nextPageToken ? { nextPageToken } : {}),
        });
        for (const info of response.workersInfo ?? []) if (info.workerHeartbeat) found.push(info.workerHeartbeat);
        // Newer servers may fill only the short form, which has no heartbeat time.
        if (!response.workersInfo?.length) for (const info of response.workers ?? []) found.push(info);
        if (!response.nextPageToken?.length) break;
        nextPageToken = response.nextPageToken;
      }
    } catch {
      return [];
    }
    return found;
  }
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function millis(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  const seconds = Number(time?.seconds ?? 0);
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  return seconds * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);
}

/**
 * Sort the pollers into live, stopped (their worker reported it shut down after the poll began)
 * and stale (not seen for `STALE_POLLER_MS`). Pure, for tests.
 */
export function classifyPollers(
  taskQueue: string,
  pollers: PollerLike[],
  now: number,
  heartbeats: WorkerHeartbeatLike[] = [],
): PollerReport {
  // Per identity on this queue: whether any worker with it is not known to have stopped, and the
  // latest shutdown any of them reported.
  const byIdentity = new Map<string, { running: boolean; shutdownAt: number }>();
  for (const beat of heartbeats) {
    if (!beat.workerIdentity || (beat.taskQueue && beat.taskQueue !== taskQueue)) continue;
    const entry = byIdentity.get(beat.workerIdentity) ?? { running: false, shutdownAt: 0 };
    const down = beat.status === WORKER_STATUS_SHUTTING_DOWN || beat.status === WORKER_STATUS_SHUTDOWN;
    const at = millis(beat.heartbeatTime);
    // A shutdown without a time cannot be compared with the polls: it proves nothing.
    if (!down || at === 0) entry.running = true;
    else entry.shutdownAt = Math.max(entry.shutdownAt, at);
    byIdentity.set(beat.workerIdentity, entry);
  }
  let live = 0;
  let stopped = 0;
  let stale = 0;
  let newest: number | undefined;
  const stoppedWorkers: Array<{ identity: string; at: string }> = [];
  for (const poller of pollers) {
    const at = millis(poller.lastAccessTime);
    if (at > 0 && (newest === undefined || at > newest)) newest = at;
    if (at === 0 || now - at > STALE_POLLER_MS) {
      stale += 1;
      continue;
    }
    const worker = poller.identity ? byIdentity.get(poller.identity) : undefined;
    if (worker && !worker.running && at <= worker.shutdownAt + SHUTDOWN_SKEW_MS) {
      stopped += 1;
      stoppedWorkers.push({ identity: poller.identity!, at: new Date(worker.shutdownAt).toISOString() });
    } else {
      live += 1;
    }
  }
  return {
    taskQueue,
    live,
    stopped,
    stale,
    ...(newest !== undefined ? { lastSeen: new Date(newest).toISOString(), newestAgeMs: Math.max(0, now - newest) } : {}),
    ...(stoppedWorkers.length ? { stoppedWorkers } : {}),
  };
}

/** A worker is there when some poller is live. Pure, for tests. */
export function verdictOf(report: PollerReport): WorkerVerdict {
  if (report.live > 0) return { ok: true, report };
  return { ok: false, report, reason: report.stopped > 0 ? 'stopped' : 'none' };
}

/** How to start a worker on `taskQueue`. */
function startHint(taskQueue: string): string {
  return `start one on that queue (plan-runner worker --task-queue ${taskQueue}, or ./temporal-dev.sh worker)`;
}

/**
 * "no worker is polling task queue X …": what to say when the verdict is not ok. `what` is the
 * call that cannot be answered, e.g. "query snapshot of run r1".
 */
export function noWorkerMessage(verdict: Extract<WorkerVerdict, { ok: false }>, what: string): string {
  const { report } = verdict;
  let since = '';
  if (verdict.reason === 'stopped' && report.stoppedWorkers?.length) {
    const last = report.stoppedWorkers.reduce((a, b) => (b.at > a.at ? b : a));
    since = ` (the worker last seen, ${last.identity}, shut down at ${last.at})`;
  } else if (report.lastSeen) {
    since = ` (the last poll began at ${report.lastSeen})`;
  }
  return `no worker is polling task queue ${report.taskQueue}${since}, so ${what} cannot be answered: ${startHint(report.taskQueue)}`;
}

/**
 * What to say when a worker is listed on the queue but `what` was not answered within `timeoutMs`:
 * it is slow or stuck, or it was killed without shutting down and the server still lists it.
 */
export function unansweredMessage(report: PollerReport | undefined, what: string, timeoutMs: number): string {
  const queue = report?.taskQueue;
  const seen = report?.lastSeen ? ` (its latest poll began at ${report.lastSeen})` : '';
  const seconds = timeoutMs % 1000 === 0 ? `${timeoutMs / 1000} s` : `${(timeoutMs / 1000).toFixed(1)} s`;
  return (
    `the worker on task queue ${queue ?? '(unknown)'}${seen} did not answer ${what} within ${seconds}: it is busy or stuck ` +
    `(see its log), or it was killed without shutting down less than ${STALE_POLLER_MS / 1000} s ago ` +
    `(the server lists a worker until it has not polled for that long; then this says no worker is polling)`
  );
}

/** Added to a timed-out update's error: it was sent, so sending it again could apply it twice. */
export const UPDATE_MAY_STILL_APPLY =
  '; the update was sent and may still be applied once the worker answers: check with plan-runner status before sending it again';

/**
 * The error for a query or update to `runId` on `taskQueue` that timed out although a worker was
 * listed: ask the server again, since the worker may have gone meanwhile (`NoWorkerError`, with
 * `closedNote()` saying how the run ended if it is closed); otherwise the worker is there but did
 * not answer (`RunUnresponsiveError`, with `suffix`).
 */
export async function unansweredError(
  workers: WorkerCheck,
  runId: string,
  taskQueue: string,
  what: string,
  timeoutMs: number,
  cause: unknown,
  options: { closedNote?: () => Promise<string>; suffix?: string } = {},
): Promise<Error> {
  let report: PollerReport | undefined;
  try {
    const verdict = await workers.verdict(taskQueue, { fresh: true });
    if (!verdict.ok) {
      const note = options.closedNote ? await options.closedNote() : '';
      return new NoWorkerError(runId, taskQueue, `${noWorkerMessage(verdict, what)}${note}`, { cause });
    }
    report = verdict.report;
  } catch {
    // The server cannot say who polls: say what is known.
  }
  return new RunUnresponsiveError(
    runId,
    `${unansweredMessage(report ?? { taskQueue, live: 0, stopped: 0, stale: 0 }, what, timeoutMs)}${options.suffix ?? ''}`,
    { cause, taskQueue },
  );
}
