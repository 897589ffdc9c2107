/**
 * Store batch benchmark: what one `recordTransitions` call of 50 records costs on a run of a
 * 1,000-node plan, the batch the workflow hands the store activity when results come in fast
 * (docs/performance.md, "One statement per table per batch"). Nothing here is a test: it reports.
 *
 *   npm run build && node dist/bench/store-batch.js                       (a temporary SQLite file)
 *   node dist/bench/store-batch.js --url postgres://postgres@127.0.0.1:55432/store_batch_test
 *   node dist/bench/store-batch.js [--runs N] [--batch N] [--json]
 *
 * The records come from the real engine: 100 chains of 10 task nodes (`maxConcurrency: 50`, the
 * shape of the 1,000-node scale test), every running node given a result each round, so a record
 * holds the node that completed, the one it made ready, its attempt, its events and its checkpoint.
 * Each run records the start (spec and 1,000 node runs; not timed), then the 1,000 results in
 * batches of `--batch` (default 50), each call timed. It prints the median and the quartiles over
 * all batches of all runs, and the statements the database received per batch, counted at the
 * driver (libsql's `prepare`, pg's `Client.query`), without BEGIN and COMMIT.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import LibsqlDatabase from 'libsql';
import pg from 'pg';
import { applyAgentSubmission, createRunState, recordOf, startRun, type Refusal, type RunState, type Transition, type TransitionRecord } from '../src/engine';
import { openStore, type PlanStore } from '../src/store';
import { chainsPlan } from '../test/scale/helpers';

interface Options {
  url?: string;
  runs: number;
  batch: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { runs: 3, batch: 50, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--url') options.url = argv[++i];
    else if (arg === '--runs') options.runs = Number(argv[++i]);
    else if (arg === '--batch') options.batch = Number(argv[++i]);
    else if (arg === '--json') options.json = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

/** The start record and the records of every result of one run, as JSON (what crosses Temporal). */
function recordsOfRun(runId: string): { start: TransitionRecord; results: TransitionRecord[] } {
  let clock = Date.parse('2026-01-01T00:00:00.000Z');
  const now = () => new Date((clock += 1000)).toISOString();
  let state: RunState = createRunState({ runId, spec: chainsPlan('store-bench', 100, 10, 50), input: {}, now: now() });
  const started = startRun(state, now());
  const start = recordOf(undefined, started, { includeSpec: true })!;
  state = started.state;
  const results: TransitionRecord[] = [];
  for (;;) {
    const running = state.nodes.filter((node) => node.status === 'running');
    if (running.length === 0) break;
    for (const node of running) {
      const applied = applyAgentSubmission(state, { nodeId: node.nodeId, submissionId: `${node.nodeId}-1`, structuredOutput: { step: 1, path: [node.nodeId] } }, [], now());
      if ((applied as Refusal).refused) throw new Error(`refused: ${(applied as Refusal).message}`);
      const transition = applied as Transition;
      const record = recordOf(state, transition);
      if (record) results.push(record);
      state = transition.state;
    }
  }
  if (state.status !== 'completed') throw new Error(`the bench run ended ${state.status}`);
  return JSON.parse(JSON.stringify({ start, results })) as { start: TransitionRecord; results: TransitionRecord[] };
}

/** Counts what the drivers send: every prepared SQLite statement, every PostgreSQL query. */
let statements = 0;
function countStatements(): void {
  const isTransactionControl = (text: unknown) => typeof text === 'string' && /^\s*(begin|commit|rollback)\b/i.test(text);
  const proto = LibsqlDatabase.prototype as unknown as { prepare(this: unknown, sql: string): unknown };
  const prepare = proto.prepare;
  proto.prepare = function (this: unknown, text: string) {
    if (!isTransactionControl(text)) statements++;
    return prepare.call(this, text);
  };
  const clientProto = pg.Client.prototype as unknown as { query(this: unknown, ...args: unknown[]): unknown };
  const query = clientProto.query;
  clientProto.query = function (this: unknown, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: unknown } | undefined)?.text;
    if (!isTransactionControl(text)) statements++;
    return query.apply(this, args);
  };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const tmp = options.url ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'store-batch-bench-'));
  const url = options.url ?? path.join(tmp!, 'store.db');
  countStatements();
  const store: PlanStore = await openStore(url, { migrate: true });
  const template = recordsOfRun('store-bench-RUNID');
  const templateJson = JSON.stringify(template);
  const times: number[] = [];
  const counts: number[] = [];
  try {
    for (let run = 0; run < options.runs + 1; run++) {
      // A fresh run id each run, so every run writes rows of its own (and the shared PG database can be reused).
      const runId = `store-bench-${randomUUID().slice(0, 8)}`;
      const { start, results } = JSON.parse(templateJson.replaceAll('store-bench-RUNID', runId)) as typeof template;
      await store.recordTransitions(runId, [start]);
      for (let i = 0; i < results.length; i += options.batch) {
        const batch = results.slice(i, i + options.batch);
        const before = statements;
        const t = process.hrtime.bigint();
        const result = await store.recordTransitions(runId, batch);
        const ms = Number(process.hrtime.bigint() - t) / 1e6;
        if (result.written !== batch.length) throw new Error(`wrote ${result.written} of ${batch.length}`);
        // The first run warms up (JIT, the database's caches) and is not counted.
        if (run > 0) {
          times.push(ms);
          counts.push(statements - before);
        }
      }
    }
  } finally {
    await store.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
  const sorted = [...times].sort((a, b) => a - b);
  const sortedCounts = [...counts].sort((a, b) => a - b);
  const summary = {
    store: store.dialect,
    runs: options.runs,
    batch: options.batch,
    batches: times.length,
    medianMs: Number(quantile(sorted, 0.5).toFixed(2)),
    p25Ms: Number(quantile(sorted, 0.25).toFixed(2)),
    p75Ms: Number(quantile(sorted, 0.75).toFixed(2)),
    statementsMedian: quantile(sortedCounts, 0.5),
    statementsMax: sortedCounts[sortedCounts.length - 1],
  };
  if (options.json) {
    console.log(JSON.stringify(summary));
    return;
  }
  console.log(`store-batch: recordTransitions of ${options.batch} records of a 1,000-node run, ${store.dialect}, ${summary.batches} batches (${options.runs} runs after a warm-up run)`);
  console.log(`  per batch: median ${summary.medianMs} ms (quartiles ${summary.p25Ms} - ${summary.p75Ms} ms)`);
  console.log(`  statements per batch: median ${summary.statementsMedian}, at most ${summary.statementsMax} (BEGIN and COMMIT not counted)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
