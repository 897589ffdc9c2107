/**
 * Engine step benchmark: what one transition of the pure engine costs as plans grow, and how big the
 * continue-as-new payload gets. Reports RATIOS measured in this one run (a 1,000-node plan against
 * a 10-node plan on the same machine, same process), never absolute targets: absolute times depend
 * on the machine, the ratios tell whether a change made the engine scale worse.
 *
 *   npm run bench               (builds, then runs dist/bench/engine-step.js)
 *   node dist/bench/engine-step.js [--json] [--full]
 *
 * See bench/README.md for what each number means.
 */
import {
  applyAgentSubmission,
  compactForHandOver,
  createRunState,
  currentDetails,
  pendingTimers,
  recordOf,
  snapshotOf,
  startRun,
  waitingOn,
  wakeUpsFor,
  type PlanSpec,
  type Refusal,
  type RunState,
  type Transition,
} from '../src/engine';

/** `chains` parallel chains of task nodes, `nodes` in all; each edge maps the predecessor's output. */
export function chainPlan(id: string, nodes: number, chains: number, extra: Partial<PlanSpec> = {}): PlanSpec {
  const specNodes: PlanSpec['nodes'] = [];
  const edges: NonNullable<PlanSpec['edges']> = [];
  for (let i = 0; i < nodes; i++) {
    const chain = i % chains;
    const step = Math.floor(i / chains);
    const nodeId = `c${chain}-n${step}`;
    specNodes.push({ id: nodeId, type: 'task', owner: { kind: 'agent', ref: nodeId }, objective: `step ${step} of chain ${chain}` });
    if (step > 0) edges.push({ from: `c${chain}-n${step - 1}`, to: nodeId, map: { previous: 'output.n' } });
  }
  return { id, title: `Bench ${id}`, nodes: specNodes, edges, ...extra };
}

/** Independent task nodes that each retry up to `attempts` times. */
export function retryPlan(id: string, nodes: number, attempts: number): PlanSpec {
  return {
    id,
    title: `Bench ${id}`,
    maxConcurrency: nodes,
    nodes: Array.from({ length: nodes }, (_, i) => ({
      id: `t${i}`,
      type: 'task' as const,
      owner: { kind: 'agent' as const, ref: `t${i}` },
      retry: { maxAttempts: attempts },
    })),
    edges: [],
  };
}

/** planner → research (forEach over the planner's `count` topics, 50 at a time) → write. */
export function fanOutPlan(id: string, count: number): PlanSpec {
  return {
    id,
    title: `Bench ${id}`,
    maxConcurrency: 51,
    nodes: [
      { id: 'planner', type: 'task', owner: { kind: 'agent', ref: 'planner' } },
      { id: 'research', type: 'task', owner: { kind: 'agent', ref: 'researcher' }, forEach: { items: 'input.topics', maxItems: 1000, maxConcurrency: 50 } },
      { id: 'write', type: 'task', owner: { kind: 'agent', ref: 'writer' } },
    ],
    edges: [
      { from: 'planner', to: 'research', map: { topics: 'output.topics' } },
      { from: 'research', to: 'write', map: { notes: 'output.items' } },
    ],
  };
}

function isRefusal(value: object): value is Refusal {
  return 'refused' in value && (value as Refusal).refused === true;
}

interface RunStats {
  transitions: number;
  /** applyAgentSubmission only. */
  applyMs: number;
  /** recordOf only. */
  recordMs: number;
  /** What the workflow shell computes after every transition (timers, search attribute, details, wake-ups). */
  shellMs: number;
  /** snapshotOf (the `snapshot` query), measured once per round. */
  snapshotMs: number;
  snapshots: number;
  /** JSON length of the continue-as-new state (compacted, without the spec), at each hand-over point. */
  handOverBytes: number[];
  specBytes: number;
  final: RunState;
}

/**
 * Runs a plan to completion the way agents would: every round, each running node gets one
 * submission (a failure until `failuresPerNode` failures were sent for it, then a success).
 * `handOverEvery`: measure the continue-as-new payload every so many submissions (the workflow's
 * default is 500 messages).
 */
function simulate(spec: PlanSpec, options: { failuresPerNode?: number; handOverEvery?: number; outputs?: Record<string, unknown> } = {}): RunStats {
  const failuresPerNode = options.failuresPerNode ?? 0;
  const handOverEvery = options.handOverEvery ?? 500;
  let clock = Date.parse('2026-01-01T00:00:00.000Z');
  const now = () => new Date((clock += 1000)).toISOString();
  let state = createRunState({ runId: `bench-${spec.id}`, spec, input: {}, now: now() });
  state = startRun(state, now()).state;
  const stats: RunStats = {
    transitions: 0,
    applyMs: 0,
    recordMs: 0,
    shellMs: 0,
    snapshotMs: 0,
    snapshots: 0,
    handOverBytes: [],
    specBytes: JSON.stringify(spec).length,
    final: state,
  };
  const failures = new Map<string, number>();
  let sinceHandOver = 0;
  for (;;) {
    let t = process.hrtime.bigint();
    // A fanned-out node's work is its instances': they get the results, the node none.
    const running = snapshotOf(state)
      .nodes.flatMap((node): Array<{ id: string; status: string; currentAttempt?: number }> => node.instances ?? [node])
      .filter((node) => node.status === 'running');
    stats.snapshotMs += Number(process.hrtime.bigint() - t) / 1e6;
    stats.snapshots += 1;
    if (running.length === 0) break;
    for (const node of running) {
      const failed = failures.get(node.id) ?? 0;
      const attempt = node.currentAttempt ?? 1;
      const submission =
        failed < failuresPerNode
          ? { nodeId: node.id, attempt, submissionId: `${node.id}-${attempt}`, failure: { message: `failure ${attempt}` } }
          : { nodeId: node.id, attempt, submissionId: `${node.id}-${attempt}`, structuredOutput: options.outputs?.[node.id] ?? { n: attempt, from: node.id } };
      if (failed < failuresPerNode) failures.set(node.id, failed + 1);
      const before = state;
      const at = now();
      t = process.hrtime.bigint();
      const applied = applyAgentSubmission(before, submission, [], at);
      const t1 = process.hrtime.bigint();
      if (isRefusal(applied)) throw new Error(`refused: ${applied.reason}: ${applied.message}`);
      const transition: Transition = applied;
      const record = recordOf(before, transition, { includeSpec: false });
      const t2 = process.hrtime.bigint();
      state = transition.state;
      pendingTimers(state);
      waitingOn(state);
      currentDetails(state);
      if (record) wakeUpsFor(state, transition.events);
      const t3 = process.hrtime.bigint();
      stats.applyMs += Number(t1 - t) / 1e6;
      stats.recordMs += Number(t2 - t1) / 1e6;
      stats.shellMs += Number(t3 - t2) / 1e6;
      stats.transitions += 1;
      if (++sinceHandOver >= handOverEvery) {
        sinceHandOver = 0;
        const { spec: _spec, ...handedOver } = compactForHandOver(state);
        stats.handOverBytes.push(JSON.stringify(handedOver).length);
        // The next execution starts from the compacted state, as the workflow does.
        state = { ...(JSON.parse(JSON.stringify(handedOver)) as Omit<RunState, 'spec'>), spec: state.spec };
      }
    }
  }
  stats.final = state;
  if (state.status !== 'completed') throw new Error(`run ${spec.id} ended ${state.status}`);
  return stats;
}

/** Repeats `simulate` until at least `minTransitions` transitions were measured (small plans are fast). */
function measure(make: () => PlanSpec, minTransitions: number, options: Parameters<typeof simulate>[1] = {}) {
  const runs: RunStats[] = [];
  let transitions = 0;
  while (transitions < minTransitions) {
    const stats = simulate(make(), options);
    runs.push(stats);
    transitions += stats.transitions;
  }
  const sum = (pick: (stats: RunStats) => number) => runs.reduce((total, stats) => total + pick(stats), 0);
  return {
    runs: runs.length,
    transitions,
    applyUs: (sum((s) => s.applyMs) / transitions) * 1000,
    recordUs: (sum((s) => s.recordMs) / transitions) * 1000,
    shellUs: (sum((s) => s.shellMs) / transitions) * 1000,
    stepUs: (sum((s) => s.applyMs + s.recordMs) / transitions) * 1000,
    snapshotUs: (sum((s) => s.snapshotMs) / sum((s) => s.snapshots)) * 1000,
    handOverBytes: runs[0].handOverBytes,
    specBytes: runs[0].specBytes,
    finalStateBytes: JSON.stringify(compactForHandOver(runs[0].final)).length - runs[0].specBytes,
  };
}

function main(): void {
  const json = process.argv.includes('--json');
  const heapBefore = process.memoryUsage().heapUsed;
  // Warm-up: let V8 optimise the engine before anything is measured.
  measure(() => chainPlan('warm', 100, 10, { maxConcurrency: 10 }), 2000);

  const small = measure(() => chainPlan('small', 10, 2, { maxConcurrency: 2 }), 5000);
  const large = measure(() => chainPlan('large', 1000, 100, { maxConcurrency: 50 }), 1000);
  // The same 1,000 results, 50 at a time, to the instances of one fanned-out node instead.
  const topics = Array.from({ length: 1000 }, (_, i) => `topic-${i}`);
  const fanOut = measure(() => fanOutPlan('fan-out', 1000), 1000, { outputs: { planner: { topics } } });
  // 100 nodes x 40 attempts (4,000 submissions, 8 hand-overs) by default; `--full`: x 120 (12,000, as the scale test).
  const attempts = process.argv.includes('--full') ? 120 : 40;
  const retries = measure(() => retryPlan('retries', 100, attempts), 100 * attempts, { failuresPerNode: attempts - 1 });
  const heapAfter = process.memoryUsage().heapUsed;

  const ratio = (a: number, b: number) => Math.round((a / b) * 10) / 10;
  const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;
  const largeHandOver = Math.max(...large.handOverBytes);
  const results = {
    perTransitionUs: {
      small10: { step: small.stepUs, apply: small.applyUs, record: small.recordUs, shell: small.shellUs, snapshot: small.snapshotUs },
      large1000: { step: large.stepUs, apply: large.applyUs, record: large.recordUs, shell: large.shellUs, snapshot: large.snapshotUs },
      retries: { step: retries.stepUs, apply: retries.applyUs, record: retries.recordUs, shell: retries.shellUs },
      fanOut1000: { step: fanOut.stepUs, apply: fanOut.applyUs, record: fanOut.recordUs, shell: fanOut.shellUs, snapshot: fanOut.snapshotUs },
    },
    ratios: {
      /** Cost of one transition (apply + record), 1,000 nodes vs 10 nodes: 100x the nodes. */
      step1000vs10: ratio(large.stepUs, small.stepUs),
      apply1000vs10: ratio(large.applyUs, small.applyUs),
      record1000vs10: ratio(large.recordUs, small.recordUs),
      shell1000vs10: ratio(large.shellUs, small.shellUs),
      /** One step of a 1,000-instance fan-out vs one of the 1,000-node plain plan (about 1 = instances cost what nodes do). */
      stepFanOutVsPlain: ratio(fanOut.stepUs, large.stepUs),
      shellFanOutVsPlain: ratio(fanOut.shellUs, large.shellUs),
      /** Continue-as-new payload of the retry run: last hand-over vs first (about 1 = bounded). */
      retriesHandOverLastVsFirst: ratio(retries.handOverBytes.at(-1)!, retries.handOverBytes[0]),
    },
    continueAsNew: {
      large1000: { specBytes: large.specBytes, stateBytesMax: largeHandOver, handOvers: large.handOverBytes.length, finalStateBytes: large.finalStateBytes },
      fanOut1000: { specBytes: fanOut.specBytes, stateBytesMax: Math.max(...fanOut.handOverBytes), handOvers: fanOut.handOverBytes.length, finalStateBytes: fanOut.finalStateBytes },
      retries: { specBytes: retries.specBytes, stateBytesFirst: retries.handOverBytes[0], stateBytesLast: retries.handOverBytes.at(-1), handOvers: retries.handOverBytes.length },
    },
    heapGrowthMb: Math.round((heapAfter - heapBefore) / 1e5) / 10,
  };
  if (json) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  const us = (value: number) => `${value.toFixed(1)} µs`;
  console.log('engine-step: cost per transition (applyAgentSubmission + recordOf), one process, one run');
  console.log(`  10-node plan     (2 chains, ${small.transitions} transitions): ${us(small.stepUs)}  (apply ${us(small.applyUs)}, record ${us(small.recordUs)}; shell extras ${us(small.shellUs)}; snapshot ${us(small.snapshotUs)})`);
  console.log(`  1,000-node plan  (100 chains, ${large.transitions} transitions): ${us(large.stepUs)}  (apply ${us(large.applyUs)}, record ${us(large.recordUs)}; shell extras ${us(large.shellUs)}; snapshot ${us(large.snapshotUs)})`);
  console.log(`  100 nodes x ${attempts} attempts (${retries.transitions} transitions): ${us(retries.stepUs)}  (apply ${us(retries.applyUs)}, record ${us(retries.recordUs)}; shell extras ${us(retries.shellUs)})`);
  console.log(`  1,000-instance fan-out (${fanOut.transitions} transitions): ${us(fanOut.stepUs)}  (apply ${us(fanOut.applyUs)}, record ${us(fanOut.recordUs)}; shell extras ${us(fanOut.shellUs)}; snapshot ${us(fanOut.snapshotUs)})`);
  console.log('ratios (1,000 nodes / 10 nodes, 100x the nodes):');
  console.log(`  step ${results.ratios.step1000vs10}x   apply ${results.ratios.apply1000vs10}x   record ${results.ratios.record1000vs10}x   shell extras ${results.ratios.shell1000vs10}x`);
  console.log('ratio (1,000-instance fan-out / 1,000-node plain plan, per step):');
  console.log(`  step ${results.ratios.stepFanOutVsPlain}x   shell extras ${results.ratios.shellFanOutVsPlain}x`);
  console.log('continue-as-new payload (JSON length):');
  console.log(`  1,000-node plan: spec ${kb(large.specBytes)} KiB + state ${kb(largeHandOver)} KiB at most (${large.handOverBytes.length} hand-overs; ${kb(large.finalStateBytes)} KiB at the end)`);
  console.log(`  1,000-instance fan-out: spec ${kb(fanOut.specBytes)} KiB + state ${kb(results.continueAsNew.fanOut1000.stateBytesMax)} KiB at most (${fanOut.handOverBytes.length} hand-overs; ${kb(fanOut.finalStateBytes)} KiB at the end)`);
  console.log(
    `  ${retries.transitions} submissions: spec ${kb(retries.specBytes)} KiB + state ${kb(retries.handOverBytes[0])} KiB at the first hand-over, ${kb(retries.handOverBytes.at(-1)!)} KiB at the last (${retries.handOverBytes.length} hand-overs; last/first ${results.ratios.retriesHandOverLastVsFirst}x)`,
  );
  console.log(`heap growth over the whole benchmark: ${results.heapGrowthMb} MB`);
}

if (require.main === module) main();
