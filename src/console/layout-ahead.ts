/**
 * Laying large plans out before anyone opens them. ELK needs about half a second (more on a busy
 * machine) for a 1,000-node plan, which made the first open of such a run's page slower than a
 * second. A plan drawn as an overview (more than `OVERVIEW_ABOVE_NODES` nodes) has a layout that
 * depends on its shape alone, so it can be computed from the spec as soon as the run exists: every
 * `intervalMs` the console asks the store which unfinished runs changed, and lays out, in its layout
 * thread and one at a time, each large spec version it has not seen yet. The page then finds the
 * layout in the cache. Smaller plans are laid out when asked for, which takes a few milliseconds.
 *
 * Costs: one indexed store query per interval, one spec read per new run or spec version, and the
 * layout thread's time for large ones. Layouts live in the console's memory (`layoutGraph`'s cache),
 * so a restarted console lays out again the runs that change after it started, and a run that
 * changed in the minute before.
 */
import { layoutGraph, type LayoutEngine } from '../graph/layout';
import { planGraph } from '../graph';
import type { PlanStore } from '../store/types';
import { consoleDrawing, OVERVIEW_ABOVE_NODES } from './drawing';

/** Options of `LayoutAhead`. */
export interface LayoutAheadOptions {
  /** How often to ask the store for changed runs (default 2 s). */
  intervalMs?: number;
  /** The clock (tests pass their own). */
  now?: () => Date;
}

/** Spec versions remembered as seen, at most (the oldest are forgotten first). */
const SEEN_MAX = 5_000;
/** Runs read per query: more wait for the next interval. */
const PAGE = 200;
/** How far back the first query looks, and how much each query overlaps the last (clock skew, late commits). */
const LOOK_BACK_MS = 60_000;
const OVERLAP_MS = 2_000;

/** The console's loop that lays large plans out ahead (see the file's comment). */
export class LayoutAhead {
  private readonly intervalMs: number;
  private readonly now: () => Date;
  private readonly seen = new Map<string, true>();
  private since: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Layouts computed ahead so far (for tests and the bench). */
  laidOut = 0;

  constructor(
    private readonly store: PlanStore,
    private readonly engine: LayoutEngine,
    options: LayoutAheadOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 2_000;
    this.now = options.now ?? (() => new Date());
    this.since = new Date(this.now().getTime() - LOOK_BACK_MS).toISOString();
  }

  /** Starts the loop (its timer does not hold the process open). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  /** Stops the loop, after the round in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round: what changed since the last, laid out when large and new. Never throws. */
  tick(): Promise<void> {
    this.running ??= this.round()
      .catch(() => undefined)
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    const changed = await this.store.listActiveRunsChangedSince(this.since, PAGE);
    for (const run of changed) {
      const key = `${run.runId}\u0000${run.specVersion}`;
      if (this.seen.has(key)) continue;
      this.remember(key);
      const spec = await this.store.getSpec(run.runId, run.specVersion).catch(() => undefined);
      if (!spec || spec.nodes.length <= OVERVIEW_ABOVE_NODES) continue;
      const graph = planGraph(spec);
      await layoutGraph(graph, consoleDrawing(graph, this.engine)).then(
        () => this.laidOut++,
        () => undefined,
      );
    }
    const last = changed.at(-1)?.updatedAt;
    if (last) {
      // A full page may have left runs changed at that same instant: look again from there.
      const next = changed.length === PAGE ? last : new Date(Math.max(Date.parse(last) - OVERLAP_MS, Date.parse(this.since))).toISOString();
      if (next > this.since) this.since = next;
    }
  }

  private remember(key: string): void {
    this.seen.set(key, true);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.keys().next().value as string);
  }
}
