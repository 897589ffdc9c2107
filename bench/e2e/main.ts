/**
 * End-to-end benchmark: plan-runner against a baseline workflow that does the least for the same job,
 * on the same Temporal server, in interleaved A/B repetitions. Reports each figure as min / median
 * per side and the ratio of the medians (plan-runner / baseline), never a timed assertion: absolute
 * numbers depend on the machine and its load, the ratio says what plan-runner costs on top of
 * Temporal itself.
 *
 *   ./temporal-dev.sh bench [--quick] [--json] [--reps N] [--start-only]
 *   node dist/bench/e2e/main.js [--quick] [--json] [--reps N] [--start-only]     (against $TEMPORAL_ADDRESS)
 *
 * `--start-only` measures only the worker's start from the pre-built bundle (7 repetitions unless
 * `--reps` says otherwise): a figure that moves by a fifth between runs needs more samples than the
 * full benchmark can afford.
 *
 * Every repetition runs both sides, in alternating order (A B, B A, …), each on a fresh task queue
 * with a worker process of its own. See bench/README.md for what each figure means.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

import { resolveConnectionSettings } from '../../src/client/connection';
import { openStore } from '../../src/store';
import { WORKFLOWS_PATH } from '../../src/worker';
import { checkBuiltWorkflowBundle } from '../../src/worker/workflow-bundle';
import { terminateLeftovers } from './cleanup';
import { baselineSide, planRunnerSide, SIDE_LABELS, type ChainRun, type CliTarget, type SideDriver, type SideName } from './sides';
import { formatNumber, median, min, percentile, round } from './stats';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

// Like the tests: never a developer's own ~/.config/temporalio/temporal.toml (its default profile
// may point far from the dev server), here and in every process the benchmark starts.
process.env.TEMPORAL_CONFIG_FILE ??= os.devNull;

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const SIDES: SideName[] = ['baseline', 'planRunner'];

/** How much of each scenario one repetition runs. */
interface Config {
  quick: boolean;
  /** Only "worker start to polling (pre-built bundle)", every repetition (`--start-only`). */
  startOnly: boolean;
  reps: number;
  /** Nodes of the chain whose per-node time, update latencies and history are measured. */
  chainNodes: number;
  /** Chains run one after the other per side and repetition. */
  chainRuns: number;
  /** Runs in flight at once in the load scenario, and the nodes of each. */
  concurrentRuns: number;
  concurrentNodes: number;
  /** Times each CLI command is timed per side and repetition. */
  cliTimes: number;
}

function parseArgs(argv: string[]): Config & { json: boolean } {
  const quick = argv.includes('--quick');
  const json = argv.includes('--json');
  const startOnly = argv.includes('--start-only');
  const repsAt = argv.indexOf('--reps');
  const config: Config = quick
    ? { quick, startOnly, reps: 1, chainNodes: 20, chainRuns: 2, concurrentRuns: 50, concurrentNodes: 2, cliTimes: 2 }
    : { quick, startOnly, reps: 3, chainNodes: 20, chainRuns: 3, concurrentRuns: 200, concurrentNodes: 2, cliTimes: 3 };
  if (startOnly) config.reps = 7;
  if (repsAt >= 0) {
    const reps = Number(argv[repsAt + 1]);
    if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps takes a whole number of repetitions, at least 1');
    config.reps = reps;
  }
  const unknown = argv.filter((arg, i) => !['--quick', '--json', '--reps', '--start-only'].includes(arg) && argv[i - 1] !== '--reps');
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown[0]} (use --quick, --json, --reps N, --start-only)`);
  return { ...config, json };
}

// ---- Figures -------------------------------------------------------------------------------------

type FigureId =
  | 'perNodeMs'
  | 'updateP50Ms'
  | 'updateBareP50Ms'
  | 'firstUpdateP50Ms'
  | 'cpuPerNodeChainMs'
  | 'cpuPerNodeConcurrentMs'
  | 'wallPerNodeConcurrentMs'
  | 'historyEventsPerNode'
  | 'rssPeakConcurrentMiB'
  | 'rssIdleMiB'
  | 'bundleKiB'
  | 'startBundlingMs'
  | 'startPrebuiltMs'
  | 'cliStatusMs'
  | 'cliSubmitMs';

interface Figure {
  id: FigureId;
  label: (config: Config) => string;
  unit: string;
}

const FIGURES: Figure[] = [
  { id: 'perNodeMs', label: (c) => `per-node end-to-end, ${c.chainNodes}-node chain`, unit: 'ms' },
  { id: 'updateP50Ms', label: () => 'submitNodeResult round trip p50', unit: 'ms' },
  { id: 'updateBareP50Ms', label: () => '  same, bare executeUpdate (no client checks)', unit: 'ms' },
  { id: 'firstUpdateP50Ms', label: () => 'first update of a run, p50', unit: 'ms' },
  { id: 'cpuPerNodeChainMs', label: () => 'worker CPU per node (one chain at a time)', unit: 'ms' },
  { id: 'cpuPerNodeConcurrentMs', label: (c) => `worker CPU per node (${c.concurrentRuns} concurrent runs)`, unit: 'ms' },
  { id: 'wallPerNodeConcurrentMs', label: (c) => `wall time per node (${c.concurrentRuns} concurrent runs)`, unit: 'ms' },
  { id: 'historyEventsPerNode', label: () => 'history events per agent node', unit: 'events' },
  { id: 'rssPeakConcurrentMiB', label: (c) => `worker RSS peak, ${c.concurrentRuns} concurrent runs`, unit: 'MiB' },
  { id: 'rssIdleMiB', label: () => '  worker RSS before them', unit: 'MiB' },
  { id: 'bundleKiB', label: () => 'workflow bundle', unit: 'KiB' },
  { id: 'startBundlingMs', label: () => 'worker start to polling (bundles at start)', unit: 'ms' },
  { id: 'startPrebuiltMs', label: () => 'worker start to polling (pre-built bundle)', unit: 'ms' },
  { id: 'cliStatusMs', label: () => 'CLI status  (baseline: temporal workflow query)', unit: 'ms' },
  { id: 'cliSubmitMs', label: () => 'CLI submit  (baseline: temporal workflow update execute)', unit: 'ms' },
];

type Samples = Record<FigureId, Record<SideName, number[]>>;

function emptySamples(): Samples {
  return Object.fromEntries(FIGURES.map((figure) => [figure.id, { baseline: [], planRunner: [] }])) as unknown as Samples;
}

// ---- Scenarios -----------------------------------------------------------------------------------

interface ChainTiming {
  run: ChainRun;
  totalMs: number;
  updateMs: number[];
}

/** Start a chain, submit every node as soon as it runs, wait for the run to complete. */
async function driveChain(side: SideDriver, nodes: number): Promise<ChainTiming> {
  const started = performance.now();
  const chain = await side.startChain(nodes);
  const updateMs: number[] = [];
  for (let i = 0; i < nodes; i++) {
    const sent = performance.now();
    await chain.submit(i);
    updateMs.push(performance.now() - sent);
  }
  await chain.completed();
  return { run: chain, totalMs: performance.now() - started, updateMs };
}

/**
 * How many history events of each kind a run has per node. The kind is read from the one
 * `…EventAttributes` field an event sets, so that no enum from the SDK's protobuf package is needed.
 */
function kindsPerNode(events: object[], nodes: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of events) {
    const key = Object.entries(event).find(([field, value]) => field.endsWith('EventAttributes') && value)?.[0] ?? 'unknown';
    const kind = key.replace(/EventAttributes$/, '');
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([kind, count]) => [kind, round(count / nodes)!]));
}

/** Wall time of one command line (it must exit 0). */
async function timeCommand(argv: string[]): Promise<number> {
  const started = performance.now();
  try {
    await run(argv[0], argv.slice(1), { cwd: ROOT, env: process.env, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const failure = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${path.basename(argv[1] ?? argv[0])} ${argv.slice(2).join(' ')} failed: ${failure.stderr || failure.stdout || failure.message}`);
  }
  return performance.now() - started;
}

const MiB = 1024 * 1024;

interface Context {
  config: Config;
  client: Client;
  samples: Samples;
  open: Set<string>;
  taskQueues: Set<string>;
  cli?: CliTarget;
  tmp: string;
  bundles: Record<SideName, string>;
  /** The history events per node by kind, of the last chain each side ran. */
  eventKinds: Record<SideName, Record<string, number>>;
  log: (line: string) => void;
}

const WORKER_SCRIPTS: Record<SideName, string> = {
  baseline: path.join(__dirname, 'baseline/worker.js'),
  planRunner: path.join(__dirname, 'plan-runner-worker.js'),
};

/** A fresh store for one side and repetition, ready before any worker starts (a restart, not a first start). */
async function freshStore(ctx: Context, name: SideName, rep: number): Promise<Record<string, string>> {
  const file = path.join(ctx.tmp, `${name}-${rep}.db`);
  if (name === 'baseline') return { BENCH_BASELINE_DB: file };
  const store = await openStore(file);
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  return { PLAN_STORE_URL: file };
}

function sideOn(ctx: Context, name: SideName, taskQueue: string, options: { bareUpdates?: boolean } = {}): SideDriver {
  const cli = ctx.cli ?? { address: '', namespace: '', temporal: '' };
  return name === 'baseline' ? baselineSide(ctx.client, taskQueue, ctx.open, cli) : planRunnerSide(ctx.client, taskQueue, ctx.open, cli, options);
}

function freshQueue(ctx: Context, name: SideName): string {
  const queue = `bench-${name === 'baseline' ? 'baseline' : 'plan-runner'}-${randomUUID().slice(0, 8)}`;
  ctx.taskQueues.add(queue);
  return queue;
}

/** One side, one repetition: every scenario, on workers of its own. */
async function measureSide(ctx: Context, name: SideName, rep: number): Promise<void> {
  const { config, samples } = ctx;
  const put = (id: FigureId, value: number) => samples[id][name].push(value);
  const env = await freshStore(ctx, name, rep);

  if (config.startOnly) {
    const started = await startWorkerProcess(WORKER_SCRIPTS[name], freshQueue(ctx, name), { ...env, BENCH_WORKFLOW_BUNDLE: ctx.bundles[name] });
    put('startPrebuiltMs', started.startToPollingMs);
    await started.stop();
    ctx.log(`  rep ${rep} ${SIDE_LABELS[name].padEnd(11)} start to polling ${formatNumber(started.startToPollingMs)} ms`);
    return;
  }

  // Start-up as `plan-runner worker` does it: the worker bundles its workflows first.
  const bundling = await startWorkerProcess(WORKER_SCRIPTS[name], freshQueue(ctx, name), env);
  put('startBundlingMs', bundling.startToPollingMs);
  await bundling.stop();

  // Everything else on a worker given the pre-built bundle, so that the bundler's memory is not in its RSS.
  const taskQueue = freshQueue(ctx, name);
  let worker: WorkerProcess | undefined = await startWorkerProcess(WORKER_SCRIPTS[name], taskQueue, { ...env, BENCH_WORKFLOW_BUNDLE: ctx.bundles[name] });
  try {
    put('startPrebuiltMs', worker.startToPollingMs);
    const side = sideOn(ctx, name, taskQueue);
    // A first short run warms the worker (workflow context, connections, compiled schemas) outside the figures.
    await driveChain(side, 2);

    // Chains one at a time: the latency figures.
    const chains: ChainTiming[] = [];
    const before = await worker.stats();
    for (let i = 0; i < config.chainRuns; i++) chains.push(await driveChain(side, config.chainNodes));
    const after = await worker.stats();
    put('cpuPerNodeChainMs', (after.cpuMicros - before.cpuMicros) / 1000 / (config.chainRuns * config.chainNodes));
    for (const chain of chains) {
      put('perNodeMs', chain.totalMs / config.chainNodes);
      const history = await ctx.client.workflow.getHandle(chain.run.id).fetchHistory();
      put('historyEventsPerNode', (history.events?.length ?? 0) / config.chainNodes);
      ctx.eventKinds[name] = kindsPerNode(history.events ?? [], config.chainNodes);
    }
    put('updateP50Ms', percentile(chains.flatMap((chain) => chain.updateMs), 50));
    put('firstUpdateP50Ms', percentile(chains.map((chain) => chain.updateMs[0]), 50));
    // The same update without the client in between (for the baseline this is what it always does).
    const bare = await driveChain(sideOn(ctx, name, taskQueue, { bareUpdates: true }), config.chainNodes);
    put('updateBareP50Ms', percentile(bare.updateMs, 50));

    // The command lines, on a run of as many nodes as submits, so the last submit completes it.
    if (ctx.cli) {
      const chain = await side.startChain(config.cliTimes);
      for (let i = 0; i < config.cliTimes; i++) put('cliStatusMs', await timeCommand(side.cliRead(chain)));
      for (let i = 0; i < config.cliTimes; i++) put('cliSubmitMs', await timeCommand(side.cliSubmit(chain, i)));
      await chain.completed();
    }

    // Load: many runs at once, each driven by its own agent loop.
    const idle = await worker.resetPeak();
    put('rssIdleMiB', idle.rssBytes / MiB);
    const loadStarted = performance.now();
    await Promise.all(
      Array.from({ length: config.concurrentRuns }, async () => {
        const chain = await side.startChain(config.concurrentNodes);
        for (let i = 0; i < config.concurrentNodes; i++) await chain.submit(i);
        await chain.completed();
      }),
    );
    const wallMs = performance.now() - loadStarted;
    const loaded = await worker.stats();
    const nodes = config.concurrentRuns * config.concurrentNodes;
    put('cpuPerNodeConcurrentMs', (loaded.cpuMicros - idle.cpuMicros) / 1000 / nodes);
    put('wallPerNodeConcurrentMs', wallMs / nodes);
    put('rssPeakConcurrentMiB', loaded.rssPeakBytes / MiB);
    await worker.stop();
    worker = undefined;
    ctx.log(
      `  rep ${rep} ${SIDE_LABELS[name].padEnd(11)} per node ${formatNumber(samples.perNodeMs[name].at(-1)!)} ms, ` +
        `update p50 ${formatNumber(samples.updateP50Ms[name].at(-1)!)} ms, ${nodes} nodes under load in ${formatNumber(wallMs / 1000)} s`,
    );
  } finally {
    await worker?.stop();
  }
}

// ---- Report --------------------------------------------------------------------------------------

interface Summary {
  benchmark: 'e2e';
  config: Config;
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAverageBefore: number[]; loadAverageAfter: number[] };
  temporal: { address: string; namespace: string };
  figures: Array<{
    id: FigureId;
    label: string;
    unit: string;
    baseline: { min: number | null; median: number | null; samples: Array<number | null> };
    planRunner: { min: number | null; median: number | null; samples: Array<number | null> };
    /** plan-runner median / baseline median. */
    ratio: number | null;
  }>;
  /** History events per node by kind (the last 20-node chain of each side): where the events come from. */
  historyEventKinds: Record<SideName, Record<string, number>>;
  /** Runs the cleanup had to terminate (0 when every run completed). */
  terminated: number;
  durationSeconds: number;
}

function summarize(config: Config, samples: Samples): Summary['figures'] {
  // `--start-only` leaves every other figure without samples: not printed as empty rows.
  const measured = FIGURES.filter((figure) => !config.startOnly || SIDES.some((name) => samples[figure.id][name].length > 0));
  return measured.map((figure) => {
    const side = (name: SideName) => ({ min: round(min(samples[figure.id][name])), median: round(median(samples[figure.id][name])), samples: samples[figure.id][name].map(round) });
    const baseline = side('baseline');
    const planRunner = side('planRunner');
    const ratio = baseline.median && planRunner.median !== null ? round(planRunner.median / baseline.median) : null;
    return { id: figure.id, label: figure.label(config), unit: figure.unit, baseline, planRunner, ratio };
  });
}

function printTable(summary: Summary): void {
  const cell = (side: { min: number | null; median: number | null }) => `${formatNumber(side.min ?? NaN)} / ${formatNumber(side.median ?? NaN)}`;
  const rows = summary.figures.map((figure) => [`${figure.label} (${figure.unit})`, cell(figure.baseline), cell(figure.planRunner), figure.ratio === null ? '-' : `${formatNumber(figure.ratio, 2)}x`]);
  const header = ['figure', 'baseline min / median', 'plan-runner min / median', 'ratio'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((text, i) => (i === 0 ? text.padEnd(widths[i]) : text.padStart(widths[i]))).join('  ');
  const { config, machine } = summary;
  console.log(
    `e2e benchmark: ${config.reps} repetition${config.reps === 1 ? '' : 's'} (A/B interleaved)${config.quick ? ', --quick' : ''}; ` +
      (config.startOnly
        ? 'worker start only (--start-only)'
        : `${config.chainRuns} x ${config.chainNodes}-node chains, ${config.concurrentRuns} concurrent runs x ${config.concurrentNodes} nodes, per side and repetition`),
  );
  console.log(
    `${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, load average ${machine.loadAverageBefore.map((n) => n.toFixed(1)).join(' ')} before, ` +
      `${machine.loadAverageAfter.map((n) => n.toFixed(1)).join(' ')} after; Temporal at ${summary.temporal.address}`,
  );
  console.log(line(header));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(line(row));
  for (const name of config.startOnly ? [] : SIDES) {
    const kinds = Object.entries(summary.historyEventKinds[name]).map(([kind, count]) => `${kind} ${formatNumber(count, 2)}`);
    console.log(`history events per node, ${SIDE_LABELS[name]}: ${kinds.join(', ') || '-'}`);
  }
  console.log(`ratio = plan-runner median / baseline median; ${summary.durationSeconds.toFixed(0)} s in all${summary.terminated ? `; ${summary.terminated} runs left open were terminated` : ''}`);
}

// ---- Main ----------------------------------------------------------------------------------------

function findTemporalCli(): string | undefined {
  if (process.env.TEMPORAL_CLI_PATH) return process.env.TEMPORAL_CLI_PATH;
  const tools = path.join(ROOT, '.tools');
  if (!fs.existsSync(tools)) return undefined;
  const found = fs
    .readdirSync(tools)
    .filter((name) => /^temporal-\d/.test(name))
    .map((name) => path.join(tools, name, 'bin/temporal'))
    .filter((file) => fs.existsSync(file));
  return found.sort().at(-1);
}

async function main(): Promise<void> {
  const { json, ...config } = parseArgs(process.argv.slice(2));
  const began = performance.now();
  const log = (line: string) => console.error(line);
  const settings = resolveConnectionSettings({ defaultAddress: '127.0.0.1:7233' });
  const loadAverageBefore = os.loadavg();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-runner-bench-'));
  const connection = await Connection.connect({ ...settings.connectionOptions, connectTimeout: 5_000 });
  const client = new Client({ connection, namespace: settings.namespace });
  const temporal = findTemporalCli();
  const ctx: Context = {
    config,
    client,
    samples: emptySamples(),
    open: new Set(),
    taskQueues: new Set(),
    cli: temporal ? { address: settings.address, namespace: settings.namespace, temporal } : undefined,
    tmp,
    bundles: { baseline: '', planRunner: '' },
    eventKinds: { baseline: {}, planRunner: {} },
    log,
  };
  if (!temporal) log('no Temporal CLI found (TEMPORAL_CLI_PATH, .tools/temporal-*): the CLI figures are left out');

  let terminated = 0;
  let interrupted = false;
  const cleanUp = async () => {
    terminated = await terminateLeftovers(client, ctx.open, ctx.taskQueues);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted: terminating the runs still open');
    void cleanUp().finally(() => process.exit(130));
  });

  try {
    // The bundles, once per side: their size is a figure, and the load workers start from them.
    log(`e2e benchmark against ${settings.address} (namespace ${settings.namespace}); bundling both sides' workflows`);
    const paths: Record<SideName, string> = { baseline: require.resolve('./baseline/workflows'), planRunner: WORKFLOWS_PATH };
    for (const name of SIDES) {
      // plan-runner's is the bundle `npm run build` wrote, the one its worker starts from; the
      // baseline's is bundleWorkflowCode's default, as in the Temporal samples.
      const built = name === 'planRunner' ? checkBuiltWorkflowBundle() : undefined;
      if (built?.ok) {
        ctx.bundles[name] = built.codePath;
      } else {
        if (built) log(`not using the built workflow bundle: ${built.reason}; bundling plan-runner's workflows here`);
        const { code } = await bundleWorkflowCode({ workflowsPath: paths[name], logger: new DefaultLogger('WARN') });
        ctx.bundles[name] = path.join(tmp, `${name}.bundle.js`);
        fs.writeFileSync(ctx.bundles[name], code);
      }
      ctx.samples.bundleKiB[name].push(fs.statSync(ctx.bundles[name]).size / 1024);
    }
    for (let rep = 1; rep <= config.reps && !interrupted; rep++) {
      // Alternate who goes first, so that a machine getting busier or calmer favours neither side.
      const order = rep % 2 === 1 ? SIDES : [...SIDES].reverse();
      for (const name of order) await measureSide(ctx, name, rep);
    }
  } finally {
    if (!interrupted) await cleanUp();
    await connection.close();
  }

  const summary: Summary = {
    benchmark: 'e2e',
    config,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim() ?? '?', node: process.versions.node, platform: `${process.platform} ${os.release()}`, loadAverageBefore, loadAverageAfter: os.loadavg() },
    temporal: { address: settings.address, namespace: settings.namespace },
    figures: summarize(config, ctx.samples),
    historyEventKinds: ctx.eventKinds,
    terminated,
    durationSeconds: (performance.now() - began) / 1000,
  };
  if (json) console.log(JSON.stringify(summary, null, 2));
  else printTable(summary);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error('e2e benchmark failed:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
}
