/**
 * Console pages benchmark: how long the console takes to show a run of a 1,000-node plan, against
 * the same pages for a 10-node plan measured in the same run (the baseline), plus the absolute
 * figure against the acceptance target (a page renders in under a second). Nothing here is a test:
 * speed targets live in benchmarks, reported, never asserted.
 *
 *   npm run bench:console             (builds, then runs dist/bench/console-pages.js)
 *   node dist/bench/console-pages.js [--json] [--reps N] [--trace DIR]
 *
 * Needs a Temporal server (TEMPORAL_ADDRESS, default the dev server at 127.0.0.1:7233; this never
 * starts or stops one) and Chromium (PLAN_CHROMIUM_PATH, default /usr/bin/chromium). Runs a real
 * worker and the console in this process, on a fresh task queue and a SQLite store in a temporary
 * file; every run it starts is cancelled after its repetition and terminated at exit if still open.
 *
 * See bench/README.md for what each figure means.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';

// Before the harness opens the store (it reads PLAN_STORE_URL): a store of our own, thrown away at exit.
const STORE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'console-bench-'));
process.env.PLAN_STORE_URL = path.join(STORE_DIR, 'store.db');

import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startHarness, TEMPORAL_ADDRESS, type Harness } from '../test/integration/harness';
import { chainNodeId, chainsPlan } from '../test/scale/helpers';
import { startConsole, type RunningConsole } from '../src/console/server';
import { hashSecret, newPersonalToken } from '../src/console/tokens';
import { layoutGraph, planGraph, svgOfLayout } from '../src/graph';
import type { PlanSpec } from '../src/engine';
import { consoleDrawing } from '../src/console/drawing';

const CHROMIUM = process.env.PLAN_CHROMIUM_PATH ?? '/usr/bin/chromium';
const TARGET_MS = 1000;
const WAIT_MS = 120_000;

// What the callbacks below see inside the page (this file compiles without the DOM library).
declare const document: any;
declare const window: any;
declare function requestAnimationFrame(callback: () => void): number;
declare const MutationObserver: any;

// ---- Plans ----------------------------------------------------------------------------------------

interface Shape {
  name: string;
  chains: number;
  length: number;
}

const BASELINE: Shape = { name: '10 (2x5)', chains: 2, length: 5 };
const LARGE: Shape[] = [
  { name: '1,000 (100x10)', chains: 100, length: 10 },
  { name: '1,000 (10x100)', chains: 10, length: 100 },
];

/**
 * A plan of `shape` (test/scale's `chainsPlan`, every chain's head running) whose first node is a
 * human approval (so that /approvals has something of this plan to show; `approver` may answer it)
 * and whose layout has never been seen in this process, whichever way the console draws it:
 *
 * - with text (up to `OVERVIEW_ABOVE_NODES` nodes), the layout cache is keyed by node sizes, which
 *   follow the texts: `variant` gives one node a label of its own length, so its box is wider. Variant
 *   k labels the (k / 25)-th node from the end with 36 + k % 25 characters: every length from 36 to
 *   60 gives another width, and 36 is past the node's own second line (`c009-s099 · task · agent:chain-9`).
 * - as an overview (larger plans: every node one size), only the edges tell layouts apart: variant k
 *   also moves the last node of chain a = k % chains to hang below the last node of chain
 *   (a + 1 + k / chains) % chains, one chain shorter and another longer, still every node once.
 */
function benchPlan(planId: string, shape: Shape, variant: number, approver: string): PlanSpec {
  const spec = chainsPlan(planId, shape.chains, shape.length, shape.chains);
  const first = spec.nodes[0];
  spec.nodes[0] = { id: first.id, type: 'human-approval', owner: { kind: 'human', ref: 'reviewers' }, approvers: [approver], objective: 'Approve the benchmark run?' };
  const index = spec.nodes.length - 1 - Math.floor(variant / 25);
  if (index < 1) throw new Error(`variant ${variant} is too large for a ${spec.nodes.length}-node plan`);
  spec.nodes[index] = { ...spec.nodes[index], label: `layout variant ${variant} `.padEnd(36 + (variant % 25), '.') };
  const from = variant % shape.chains;
  const onto = (from + 1 + Math.floor(variant / shape.chains)) % shape.chains;
  if (onto !== from && shape.length > 1) {
    const moved = spec.edges?.find((edge) => edge.to === chainNodeId(from, shape.length - 1));
    if (moved) moved.from = chainNodeId(onto, shape.length - 1);
  }
  return spec;
}

// ---- Measuring ------------------------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Samples of one figure (ms), in the order measured. */
type Samples = Record<string, number[]>;

function add(samples: Samples, figure: string, value: number): void {
  (samples[figure] ??= []).push(value);
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  return [value, performance.now() - start];
}

async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Installed in every document before its scripts run: marks (ms since navigation start) when each
 * graph SVG is inserted into #graph and, two animation frames later, painted; and the same for the
 * first element matching each of `selectors` (a page's content).
 */
function instrument(selectors: Record<string, string>): void {
  const state = {
    graphs: [] as Array<{ inserted: number; painted?: number; nodes: number }>,
    // An overview recoloured in place (its nodes' data-status changed, no new SVG): each such change.
    recolours: [] as Array<{ inserted: number; painted?: number }>,
    content: {} as Record<string, { inserted: number; painted?: number }>,
    lastSvg: null as unknown,
  };
  window.__bench = state;
  const painted = (entry: { painted?: number }) => requestAnimationFrame(() => requestAnimationFrame(() => (entry.painted = performance.now())));
  const check = () => {
    const svg = document.querySelector('#graph svg');
    if (svg && svg !== state.lastSvg) {
      state.lastSvg = svg;
      const entry = { inserted: performance.now(), painted: undefined, nodes: document.querySelectorAll('#graph [data-node-id]').length };
      state.graphs.push(entry);
      painted(entry);
    }
    for (const [name, selector] of Object.entries(selectors)) {
      if (state.content[name] || !document.querySelector(selector)) continue;
      const entry = { inserted: performance.now(), painted: undefined };
      state.content[name] = entry;
      painted(entry);
    }
  };
  new MutationObserver((records: Array<{ type: string; target: { closest?: (selector: string) => unknown } }>) => {
    check();
    const recoloured = records.some((record) => record.type === 'attributes' && record.target.closest?.('#graph'));
    const last = state.recolours.at(-1);
    if (recoloured && (!last || last.painted !== undefined)) {
      const entry = { inserted: performance.now(), painted: undefined };
      state.recolours.push(entry);
      painted(entry);
    }
  }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-status'] });
}

const CONTENT = { runs: '#runs table, #runs .notice', approvals: '#approvals article.approval, #approvals .notice' };

interface RunPageLoad {
  /** Navigation start → the graph painted (every node of the plan in #graph). */
  totalMs: number;
  domContentLoadedMs: number;
  /** Navigation start → the page asks for graph.svg (HTML, scripts, session, run status). */
  untilSvgRequestMs: number;
  /** Of that, the run status request (GET /api/runs/{runId}), which the page waits for before it asks for the graph. */
  statusMs: number;
  /** graph.svg: request sent → first byte (the server's work) and → last byte. */
  svgServerMs: number;
  svgDownloadMs: number;
  /** Last byte of graph.svg → the SVG in the page (the events request, asked for with it, is done by then in every run so far: parsing the markup, handlers, timeline). */
  svgToInsertedMs: number;
  /** Inserted → painted (style, layout, paint). */
  insertedToPaintedMs: number;
  svgBytes: number;
  nodes: number;
}

/** One load of the run page, from navigation start to the graph painted. */
async function loadRunPage(page: Page, consoleUrl: string, runId: string, expectedNodes: number): Promise<RunPageLoad> {
  await page.goto(`${consoleUrl}/runs/${encodeURIComponent(runId)}`, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => window.__bench.graphs[0]?.painted !== undefined, { timeout: WAIT_MS, polling: 50 });
  const load = await page.evaluate((base: string) => {
    const graph = window.__bench.graphs[0];
    const nav = (performance as any).getEntriesByType('navigation')[0];
    const resources = performance.getEntriesByType('resource') as any[];
    const named = (pathname: string) => resources.find((entry) => new URL(entry.name).pathname === pathname)!;
    const [svg, status] = [named(`${base}/graph.svg`), named(base)];
    return {
      totalMs: graph.painted,
      domContentLoadedMs: nav.domContentLoadedEventEnd,
      untilSvgRequestMs: svg.startTime,
      statusMs: status.responseEnd - status.startTime,
      svgServerMs: svg.responseStart - svg.requestStart,
      svgDownloadMs: svg.responseEnd - svg.responseStart,
      svgToInsertedMs: graph.inserted - svg.responseEnd,
      insertedToPaintedMs: graph.painted - graph.inserted,
      svgBytes: svg.encodedBodySize,
      nodes: graph.nodes,
    };
  }, `/api/runs/${encodeURIComponent(runId)}`);
  if (load.nodes !== expectedNodes) throw new Error(`the run page drew ${load.nodes} nodes of ${expectedNodes}`);
  return load;
}

/**
 * After the page is up, the run moves (one result submitted): the time from the poll's status
 * request to the new graph painted, as someone watching the page waits for it.
 */
async function pollRedraw(page: Page, runId: string): Promise<{ redrawMs: number; svgServerMs: number; insertedToPaintedMs: number }> {
  // A drawing with text is fetched and inserted again; an overview is recoloured in place.
  await page.waitForFunction(() => window.__bench.graphs[1]?.painted !== undefined || window.__bench.recolours[0]?.painted !== undefined, { timeout: WAIT_MS, polling: 50 });
  return page.evaluate((base: string) => {
    const graph = window.__bench.graphs[1] ?? window.__bench.recolours[0];
    const resources = performance.getEntriesByType('resource') as any[];
    const asked = window.__bench.graphs[1]
      ? resources.filter((entry) => new URL(entry.name).pathname === `${base}/graph.svg`)[1]
      : resources.filter((entry) => new URL(entry.name).pathname === `${base}/graph-states`)[0];
    const status = resources.filter((entry) => new URL(entry.name).pathname === base && entry.startTime <= asked.startTime).at(-1)!;
    return { redrawMs: (graph.painted as number) - status.startTime, svgServerMs: asked.responseStart - asked.requestStart, insertedToPaintedMs: (graph.painted as number) - graph.inserted };
  }, `/api/runs/${encodeURIComponent(runId)}`);
}

/** A page load of /runs or /approvals: navigation start → its content (a table, cards or a notice) painted. */
async function loadPage(page: Page, url: string, content: keyof typeof CONTENT): Promise<{ totalMs: number; domContentLoadedMs: number; found: string }> {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction((name: string) => window.__bench.content[name]?.painted !== undefined, { timeout: WAIT_MS, polling: 50 }, content);
  return page.evaluate((name: string, selector: string) => {
    const nav = (performance as any).getEntriesByType('navigation')[0];
    const element = document.querySelector(selector.split(',')[0]) ? 'content' : String(document.querySelector(selector.split(',')[1])?.textContent);
    return { totalMs: window.__bench.content[name].painted, domContentLoadedMs: nav.domContentLoadedEventEnd, found: element };
  }, content, CONTENT[content]);
}

// ---- The benchmark --------------------------------------------------------------------------------

interface Context {
  h: Harness;
  console: RunningConsole;
  browser: Browser;
  token: string;
  user: string;
  nobody: string;
  variant: number;
  traceDir?: string;
  lastRep?: boolean;
}

/** A GET against the console as the bench user (a personal token), timed to the last byte. */
async function get(ctx: Context, pathname: string): Promise<{ ms: number; bytes: number; body: string }> {
  const start = performance.now();
  const response = await fetch(`${ctx.console.url}${pathname}`, { headers: { authorization: `Bearer ${ctx.token}` } });
  const body = await response.text();
  const ms = performance.now() - start;
  if (!response.ok) throw new Error(`GET ${pathname}: HTTP ${response.status}: ${body.slice(0, 300)}`);
  return { ms, bytes: Buffer.byteLength(body), body };
}

/**
 * Another viewer: GET `url` one request after another, 10 ms apart, from a worker thread (its own
 * event loop, so the console's being busy cannot delay the sending, only the answers). `stop()`
 * resolves to the longest a request waited.
 */
class LatencyProbe {
  private readonly worker: Worker;
  readonly started: Promise<void>;

  constructor(url: string, token: string) {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      let running = true, longest = 0;
      parentPort.on('message', () => { running = false; });
      const once = () => fetch(workerData.url, { headers: { authorization: 'Bearer ' + workerData.token } }).then((r) => r.text());
      (async () => {
        await once(); // the thread's first request sets up its HTTP client: not counted
        parentPort.postMessage('started');
        while (running) {
          const start = performance.now();
          await once();
          longest = Math.max(longest, performance.now() - start);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        parentPort.postMessage(longest);
      })();`;
    this.worker = new Worker(code, { eval: true, workerData: { url, token } });
    this.started = new Promise((resolve) => this.worker.once('message', () => resolve()));
  }

  async stop(): Promise<number> {
    const longest = new Promise<number>((resolve) => this.worker.once('message', resolve));
    this.worker.postMessage('stop');
    const value = await longest;
    await this.worker.terminate();
    return value;
  }
}

async function startRun(ctx: Context, planId: string, shape: Shape, approver: string): Promise<{ runId: string; spec: PlanSpec }> {
  const spec = benchPlan(planId, shape, ctx.variant++, approver);
  const { runId } = await ctx.h.client.start(spec, { runId: `${planId}-${randomUUID().slice(0, 8)}` });
  // Ready once the workflow recorded its start (the approval is in the store) — without asking for
  // the graph, which would lay it out.
  await waitFor(async () => (await ctx.h.store.listApprovals({ runId, pending: true })).length > 0, `run ${runId} to start`);
  return { runId, spec };
}

/**
 * Moves the run on by one result (chain 1's first node). The update returns once the workflow took
 * it, so the next read sees the change; nothing polls meanwhile (that would load the server while
 * the page redraws).
 */
async function submitOne(ctx: Context, runId: string): Promise<void> {
  const nodeId = chainNodeId(1, 0);
  await ctx.h.client.submitResult(runId, { nodeId, structuredOutput: { step: 0, path: nodeId } });
}

/** Where the server's time for graph.svg goes, measured in-process on a run's own snapshot and spec. */
async function serverBreakdown(ctx: Context, runId: string, planId: string, shape: Shape, samples: Samples): Promise<void> {
  const [snapshot, queryMs] = await timed(() => ctx.h.client.snapshot(runId));
  const [spec, specMs] = await timed(() => ctx.h.client.storedSpec(runId, snapshot.specVersion));
  // A layout never seen (another variant of the plan): what ELK costs when the cache misses.
  const fresh = benchPlan(planId, shape, ctx.variant++, ctx.nobody);
  let start = performance.now();
  const graph = planGraph(fresh, snapshot);
  const graphMs = performance.now() - start;
  // Drawn as the console draws it (an overview above OVERVIEW_ABOVE_NODES), with ELK in this thread.
  const drawing = { ...consoleDrawing(graph), engine: undefined };
  const [layout, elkMs] = await timed(() => layoutGraph(graph, drawing));
  // The run's own layout, computed by the first GET of its graph.svg: a cache hit.
  const own = planGraph(spec, snapshot);
  const [, cachedMs] = await timed(() => layoutGraph(own, drawing));
  start = performance.now();
  const svg = svgOfLayout(graph, layout, drawing);
  const svgMs = performance.now() - start;
  add(samples, 'server: snapshot query', queryMs);
  add(samples, 'server: stored spec', specMs);
  add(samples, 'server: planGraph', graphMs);
  add(samples, 'server: ELK layout (cache miss)', elkMs);
  add(samples, 'server: layout (cache hit)', cachedMs);
  add(samples, 'server: SVG text', svgMs);
  add(samples, 'SVG size (KiB)', Buffer.byteLength(svg) / 1024);
}

/** A figure's parts are named `figure › part`, and printed indented under it. */
const PART = ' › ';

function addLoad(samples: Samples, figure: string, load: RunPageLoad): void {
  add(samples, figure, load.totalMs);
  add(samples, `${figure}${PART}until graph.svg is asked for`, load.untilSvgRequestMs);
  add(samples, `${figure}${PART}  of which the run status request`, load.statusMs);
  add(samples, `${figure}${PART}graph.svg: server`, load.svgServerMs);
  add(samples, `${figure}${PART}graph.svg: transfer`, load.svgDownloadMs);
  add(samples, `${figure}${PART}response → SVG inserted`, load.svgToInsertedMs);
  add(samples, `${figure}${PART}inserted → painted`, load.insertedToPaintedMs);
}

/**
 * With `--trace DIR`: a Chrome trace (chrome://tracing, Perfetto) of the first open of each plan's
 * run page, on the last repetition, to see what the browser's time is spent on.
 */
async function traced<T>(ctx: Context, page: Page, shape: Shape, load: () => Promise<T>): Promise<T> {
  if (!ctx.traceDir || !ctx.lastRep) return load();
  fs.mkdirSync(ctx.traceDir, { recursive: true });
  const file = path.join(ctx.traceDir, `run-page-${shape.chains}x${shape.length}.json`);
  await page.tracing.start({ path: file, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'v8'] });
  try {
    return await load();
  } finally {
    await page.tracing.stop();
  }
}

async function measureShape(ctx: Context, shape: Shape, reps: number, log: (line: string) => void): Promise<Samples> {
  const samples: Samples = {};
  const nodes = shape.chains * shape.length;
  const planId = `console-bench-${shape.chains}x${shape.length}-${randomUUID().slice(0, 6)}`;
  for (let rep = 1; rep <= reps; rep++) {
    ctx.lastRep = rep === reps;
    // Run A for the HTTP figures, run B for the browser's (each with a layout not seen yet). Only B's
    // approval is the bench user's, so /approvals shows one card.
    const started: string[] = [];
    try {
      const a = await startRun(ctx, planId, shape, ctx.nobody);
      started.push(a.runId);
      const b = await startRun(ctx, planId, shape, ctx.user);
      started.push(b.runId);
      const base = `/api/runs/${encodeURIComponent(a.runId)}`;
      // ELK runs on the console's event loop: a request another viewer sends meanwhile waits for it.
      const probe = new LatencyProbe(`${ctx.console.url}/api/session`, ctx.token);
      await probe.started;
      const cold = await get(ctx, `${base}/graph.svg`);
      add(samples, 'GET graph.svg, first (ELK)', cold.ms);
      add(samples, `GET graph.svg, first (ELK)${PART}another request meanwhile, longest wait`, await probe.stop());
      add(samples, 'GET run status', (await get(ctx, base)).ms);
      await submitOne(ctx, a.runId);
      add(samples, 'GET graph.svg, poll after a change', (await get(ctx, `${base}/graph.svg`)).ms);
      await serverBreakdown(ctx, a.runId, planId, shape, samples);

      // The browser: B's run page opened for the first time (its layout not computed yet), the
      // redraw when B moves on, the page opened again (layout cached), then /runs and /approvals.
      await waitFor(async () => (await ctx.h.client.list({ planId })).some((run) => run.runId === b.runId), `run ${b.runId} in visibility`);
      const page = await ctx.browser.newPage();
      try {
        await page.setViewport({ width: 1280, height: 900 });
        await page.evaluateOnNewDocument(instrument, CONTENT);
        const first = await traced(ctx, page, shape, () => loadRunPage(page, ctx.console.url, b.runId, nodes));
        addLoad(samples, 'run page, first open, layout on demand', first);
        add(samples, 'run page, DOMContentLoaded', first.domContentLoadedMs);
        const moved = submitOne(ctx, b.runId);
        const redraw = await pollRedraw(page, b.runId);
        await moved;
        add(samples, 'run page, redraw after a change', redraw.redrawMs);
        add(samples, `run page, redraw after a change${PART}graph.svg or graph-states: server`, redraw.svgServerMs);
        add(samples, `run page, redraw after a change${PART}inserted → painted`, redraw.insertedToPaintedMs);
        const again = await loadRunPage(page, ctx.console.url, b.runId, nodes);
        addLoad(samples, 'run page, opened again (layout cached)', again);
        // Run C: a new plan shape again, laid out by the console's layout-ahead round (what its loop
        // does within 2 s of a run's start), then opened for the first time.
        const c = await startRun(ctx, planId, shape, ctx.nobody);
        started.push(c.runId);
        const [, aheadMs] = await timed(() => (ctx.console.layoutAhead as NonNullable<RunningConsole['layoutAhead']>).tick());
        add(samples, 'layout-ahead round (new run)', aheadMs);
        const ahead = await loadRunPage(page, ctx.console.url, c.runId, nodes);
        addLoad(samples, 'run page, first open, laid out ahead', ahead);
        const runs = await loadPage(page, `${ctx.console.url}/runs?planId=${encodeURIComponent(planId)}`, 'runs');
        if (runs.found !== 'content') throw new Error(`/runs showed: ${runs.found}`);
        add(samples, '/runs page', runs.totalMs);
        const approvals = await loadPage(page, `${ctx.console.url}/approvals`, 'approvals');
        if (approvals.found !== 'content') throw new Error(`/approvals showed: ${approvals.found}`);
        add(samples, '/approvals page', approvals.totalMs);
        log(`  ${shape.name} rep ${rep}: graph.svg first ${cold.ms.toFixed(0)} ms (${(cold.bytes / 1024).toFixed(0)} KiB), run page first open ${first.totalMs.toFixed(0)} ms (laid out ahead ${ahead.totalMs.toFixed(0)} ms), again ${again.totalMs.toFixed(0)} ms`);
      } finally {
        await page.close();
      }
    } finally {
      // Closed as we go, so the next repetition's inbox and worker see only their own runs.
      for (const runId of started) await ctx.h.client.cancel(runId, { by: 'bench', reason: 'benchmark repetition done' }).catch(() => undefined);
      // …and waited for, so that the worker is idle when the next repetition measures.
      for (const runId of started) {
        await waitFor(async () => (await ctx.h.client.client.workflow.getHandle(runId).describe()).status.name !== 'RUNNING', `run ${runId} to close`).catch(() => undefined);
      }
    }
  }
  return samples;
}

interface Stat {
  min: number;
  median: number;
}

interface Summary {
  /** Every figure in the order measured: the 10-node baseline, and per 1,000-node plan its figure and median ratio to the baseline. */
  figures: Array<{ figure: string; unit: 'ms' | 'KiB'; baseline: Stat; large: Record<string, Stat & { ratio: number }> }>;
  /** Per page a person waits for: its slowest median over the 1,000-node plans, against the target. */
  pages: Array<{ page: string; shape: string; medianMs: number; met: boolean; judged: boolean }>;
  target: { ms: number; met: boolean; reason: string };
  reps: number;
  seconds: number;
  /** The machine: cores, and the 1-minute load average when the bench started and ended (other work on a shared machine inflates the absolute figures more than the ratios). */
  machine: { cores: number; loadAtStart: number; loadAtEnd: number };
}

/** The figures a person waits for, judged against the target. */
const PAGE_FIGURES = ['run page, first open, laid out ahead', 'run page, opened again (layout cached)', 'run page, redraw after a change', '/runs page', '/approvals page'];
/**
 * Reported next to them, not judged: a run's page opened before the console's layout-ahead loop
 * (every 2 s) saw the run, i.e. within about two seconds of the start of a plan shape never seen.
 */
const UNJUDGED_PAGE_FIGURES = ['run page, first open, layout on demand'];

function summarise(baseline: Samples, large: Record<string, Samples>, reps: number, seconds: number, loadAtStart: number): Summary {
  const round = (value: number) => Math.round(value * 10) / 10;
  const stat = (values: number[]): Stat => ({ min: round(Math.min(...values)), median: round(median(values)) });
  const figures = Object.keys(baseline).map((figure) => {
    const base = stat(baseline[figure]);
    return {
      figure,
      unit: figure.includes('KiB') ? ('KiB' as const) : ('ms' as const),
      baseline: base,
      large: Object.fromEntries(
        Object.entries(large).map(([shape, samples]) => {
          const s = stat(samples[figure]);
          return [shape, { ...s, ratio: round(s.median / base.median) }];
        }),
      ),
    };
  });
  const pages = figures
    .filter((f) => PAGE_FIGURES.includes(f.figure) || UNJUDGED_PAGE_FIGURES.includes(f.figure))
    .map((f) => {
      const [shape, s] = Object.entries(f.large).sort(([, x], [, y]) => y.median - x.median)[0];
      return { page: f.figure, shape, medianMs: s.median, met: s.median < TARGET_MS, judged: PAGE_FIGURES.includes(f.figure) };
    });
  const missed = pages.filter((page) => page.judged && !page.met);
  // The measured reason: the parts of the slowest page that missed, largest first.
  const slowest = pages.filter((page) => page.judged).sort((x, y) => y.medianMs - x.medianMs)[0];
  const worst = missed.length ? slowest : undefined;
  let reason = `slowest: ${slowest.page}, ${Math.round(slowest.medianMs)} ms (${slowest.shape})`;
  if (worst) {
    const prefix = `${worst.page}${PART}`;
    const parts = figures
      .filter((f) => f.figure.startsWith(prefix) && !f.figure.startsWith(`${prefix}  `))
      .map((f) => ({ name: f.figure.slice(prefix.length), ms: f.large[worst.shape].median }))
      .sort((x, y) => y.ms - x.ms);
    reason =
      `${missed.map((page) => `${page.page} ${Math.round(page.medianMs)} ms (${page.shape})`).join('; ')}` +
      (parts.length ? `; where the ${Math.round(worst.medianMs)} ms go: ${parts.map((part) => `${part.name} ${Math.round(part.ms)}`).join(', ')}` : '');
  }
  const machine = { cores: os.cpus().length, loadAtStart: round(loadAtStart), loadAtEnd: round(os.loadavg()[0]) };
  return { figures, pages, target: { ms: TARGET_MS, met: missed.length === 0, reason }, reps, seconds: Math.round(seconds), machine };
}

function ms(value: number): string {
  return value < 10 ? value.toFixed(1) : value.toFixed(0);
}

function printTable(summary: Summary): void {
  const shapes = Object.keys(summary.figures[0].large);
  const value = (s: Stat, unit: string) => (unit === 'KiB' ? `${s.median.toFixed(0)} KiB` : `${ms(s.min)} / ${ms(s.median)}`);
  const ratio = (r: number) => (Number.isFinite(r) ? `${r.toFixed(1)}x` : '—');
  const header = ['figure (ms: min / median)', BASELINE.name, ...shapes.flatMap((shape) => [shape, 'ratio'])];
  const rows = summary.figures.map((f) => [
    f.figure.includes(PART) ? `  ${f.figure.split(PART)[1]}` : f.figure,
    value(f.baseline, f.unit),
    ...shapes.flatMap((shape) => [value(f.large[shape], f.unit), ratio(f.large[shape].ratio)]),
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? ':' : '-').padEnd(w + 1, '-') + (i === 0 ? '-' : ':')).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log(`target < ${summary.target.ms / 1000} s per page of a 1,000-node plan (slowest median of the two plans):`);
  for (const page of summary.pages) {
    const verdict = page.met ? 'met' : 'NOT MET';
    console.log(`  ${page.page.padEnd(40)} ${String(Math.round(page.medianMs)).padStart(5)} ms  ${page.judged ? verdict : `${verdict.toLowerCase()}, not judged (opened within ~2 s of a new plan's start)`}`);
  }
  console.log(`target < ${summary.target.ms / 1000} s: ${summary.target.met ? 'met' : 'not met'} (${summary.target.reason})`);
  const { cores, loadAtStart, loadAtEnd } = summary.machine;
  console.log(`${summary.reps} repetitions per plan, ${summary.seconds} s in all; ${cores} cores, load average ${loadAtStart} at the start, ${loadAtEnd} at the end${Math.max(loadAtStart, loadAtEnd) > cores ? ' (a busy machine: the absolute figures are inflated, the ratios less so)' : ''}`);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const repsArg = process.argv.indexOf('--reps');
  const reps = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 3;
  if (!Number.isInteger(reps) || reps < 1 || reps > 10) throw new Error('--reps takes a number from 1 to 10');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium or set PLAN_CHROMIUM_PATH`);
  const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
  const started = performance.now();
  const loadAtStart = os.loadavg()[0];

  const h = await startHarness();
  let consoleServer: RunningConsole | undefined;
  let browser: Browser | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await browser?.close().catch(() => undefined);
      await consoleServer?.close().catch(() => undefined);
      await h.close();
      fs.rmSync(STORE_DIR, { recursive: true, force: true });
    })());
  // Interrupted: still close every run this started.
  process.once('SIGINT', () => void close().finally(() => process.exit(130)));
  try {
    const user = `bench-${h.taskQueue}`;
    const token = newPersonalToken();
    await h.store.addUser(user, hashSecret(token), new Date().toISOString());
    // The layout-ahead loop runs a round only when the bench asks (an hour apart otherwise): the
    // first opens are measured both with the layout on demand and with it made ahead.
    consoleServer = await startConsole({ client: h.client, store: h.store, port: 0, layoutAhead: { intervalMs: 3_600_000 } });
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const traceArg = process.argv.indexOf('--trace');
    const traceDir = traceArg > 0 ? path.resolve(process.argv[traceArg + 1]) : undefined;
    const ctx: Context = { h, console: consoleServer, browser, token, user, nobody: `nobody-${h.taskQueue}`, variant: 0 };

    // Sign in the way a person does (the default context keeps the session cookie for every page).
    const signin = await browser.newPage();
    await signin.goto(`${consoleServer.url}/signin`);
    await signin.waitForSelector('#token');
    await signin.type('#token', token);
    await signin.click('form.signin button[type=submit]');
    await signin.waitForFunction((expected: string) => document.querySelector('#signed-in-as')?.textContent === expected, { timeout: WAIT_MS }, user);
    await signin.close();

    log(`console-pages: ${reps} repetitions per plan (worker, console and Chromium in this process, Temporal at ${TEMPORAL_ADDRESS})`);
    // Warm-up (not measured): the worker, ELK's script, V8 and Chromium's first start, then one
    // 1,000-node layout of another shape, so that the first repetition of the large plans does not
    // also pay for compiling ELK's code paths for large graphs (a console does that once per process).
    await measureShape(ctx, BASELINE, 1, () => undefined);
    // (The console's own layout thread warms itself up when the console starts.)
    const warmUp = planGraph(chainsPlan('console-bench-warm-up', 50, 20, 50));
    await layoutGraph(warmUp, { ...consoleDrawing(warmUp), engine: undefined });
    ctx.traceDir = traceDir;
    const baseline = await measureShape(ctx, BASELINE, reps, log);
    const large: Record<string, Samples> = {};
    for (const shape of LARGE) large[shape.name] = await measureShape(ctx, shape, reps, log);
    const summary = summarise(baseline, large, reps, (performance.now() - started) / 1000, loadAtStart);
    if (json) console.log(JSON.stringify(summary, null, 2));
    else printTable(summary);
  } finally {
    await close();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
