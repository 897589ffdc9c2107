/**
 * The two sides of the benchmark, as the driver plays the agents of each: start a chain of task
 * nodes, submit each node's result as soon as the node runs (when the previous update answered),
 * wait for the run to complete. The same Temporal client (one connection) serves both sides.
 *
 * - **baseline**: workflow `baselineChain` (`baseline/workflows.ts`), results as update `submit`
 *   through the bare `WorkflowHandle.executeUpdate`;
 * - **plan-runner**: workflow `planRun` with a chain plan of task nodes, one owner per node, each
 *   with the same output schema as the baseline checks, results through `PlanRunnerClient.submitResult`
 *   (update `submitNodeResult`, with the client's checks before it).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { PlanRunnerClient } from '../../src/client/plan-runner-client';
import type { PlanSpec } from '../../src/engine';
import { submitNodeResultUpdate } from '../../src/workflows/definitions';
import { RESULT_SCHEMA } from './baseline/activities';
import { submitUpdate, type baselineChain } from './baseline/workflows';

/** The two sides, in the order of the JSON summary. */
export type SideName = 'baseline' | 'planRunner';
export const SIDE_LABELS: Record<SideName, string> = { baseline: 'baseline', planRunner: 'plan-runner' };

/** One run, driven node by node. */
export interface ChainRun {
  readonly id: string;
  /** Submit node `index`'s result; resolves once the update answered (throws unless it passed). */
  submit(index: number): Promise<void>;
  /** Resolves once the workflow completed. */
  completed(): Promise<void>;
}

/** A side bound to one worker's task queue. */
export interface SideDriver {
  readonly name: SideName;
  startChain(nodes: number): Promise<ChainRun>;
  /** The command lines of the side's CLI reading the run's status, and submitting node `index` of it. */
  cliRead(run: ChainRun): string[];
  cliSubmit(run: ChainRun, index: number): string[];
}

/** Node `index`'s result: the same small object on both sides, valid against `RESULT_SCHEMA`. */
export function resultOf(index: number): { n: number; text: string } {
  return { n: index, text: `result of node ${index}` };
}

/** A chain of `nodes` task nodes n0 → n1 → …, node i owned by agent `agent-i`, each checked against `Result`. */
export function chainSpec(nodes: number): PlanSpec {
  return {
    id: `bench-chain-${nodes}`,
    title: `Benchmark chain of ${nodes} task nodes`,
    schemas: { Result: RESULT_SCHEMA as unknown as Record<string, unknown> },
    nodes: Array.from({ length: nodes }, (_, i) => ({
      id: `n${i}`,
      type: 'task' as const,
      owner: { kind: 'agent' as const, ref: `agent-${i}` },
      objective: `step ${i} of the chain`,
      outputSchema: 'Result',
    })),
    edges: Array.from({ length: nodes - 1 }, (_, i) => ({ from: `n${i}`, to: `n${i + 1}` })),
  };
}

/** Where the benchmark reaches Temporal, for the command lines of the CLIs. */
export interface CliTarget {
  address: string;
  namespace: string;
  /** The Temporal CLI binary (`temporal`). */
  temporal: string;
}

const PLAN_RUNNER_BIN = path.resolve(__dirname, '../../../bin/plan-runner.js');

/** The baseline on `taskQueue`. Every workflow id it starts is in `open` from before the start until it completed. */
export function baselineSide(client: Client, taskQueue: string, open: Set<string>, cli: CliTarget): SideDriver {
  return {
    name: 'baseline',
    async startChain(nodes) {
      const id = `bench-baseline-${randomUUID().slice(0, 8)}`;
      open.add(id);
      const handle = await client.workflow.start<typeof baselineChain>('baselineChain', { taskQueue, workflowId: id, args: [{ nodes }] });
      return {
        id,
        async submit(index) {
          const reply = await handle.executeUpdate(submitUpdate, { args: [{ node: index, output: resultOf(index) }] });
          if (!reply.valid) throw new Error(`baseline ${id}: node ${index} refused: ${reply.errors.join('; ')}`);
        },
        async completed() {
          await handle.result();
          open.delete(id);
        },
      };
    },
    cliRead: (run) => [cli.temporal, 'workflow', 'query', '--address', cli.address, '--namespace', cli.namespace, '--workflow-id', run.id, '--name', 'status'],
    cliSubmit: (run, index) => [
      cli.temporal, 'workflow', 'update', 'execute', '--address', cli.address, '--namespace', cli.namespace,
      '--workflow-id', run.id, '--name', 'submit', '--input', JSON.stringify({ node: index, output: resultOf(index) }),
    ],
  };
}

/**
 * plan-runner on `taskQueue`. With `bareUpdates` the results go through `WorkflowHandle.executeUpdate`
 * directly, without `PlanRunnerClient`'s checks (payload parsing, describe, is a worker polling):
 * the same update, to tell the client's share of the round trip from the workflow's. Every run id it
 * starts is in `open` from before the start until it completed.
 */
export function planRunnerSide(client: Client, taskQueue: string, open: Set<string>, cli: CliTarget, options: { bareUpdates?: boolean } = {}): SideDriver {
  // Under load a worker may take longer than the client's default 60 s to answer an update; here
  // that is a figure to report (the wall time), not a reason to fail the benchmark.
  const planRunner = new PlanRunnerClient({ client, taskQueue, updateTimeoutMs: 10 * 60_000 });
  const specs = new Map<number, PlanSpec>();
  return {
    name: 'planRunner',
    async startChain(nodes) {
      const runId = `bench-plan-runner-${randomUUID().slice(0, 8)}`;
      open.add(runId);
      let spec = specs.get(nodes);
      if (!spec) specs.set(nodes, (spec = chainSpec(nodes)));
      await planRunner.start(spec, { runId });
      const handle = client.workflow.getHandle(runId);
      return {
        id: runId,
        async submit(index) {
          const submission = { nodeId: `n${index}`, by: `agent-${index}`, structuredOutput: resultOf(index) };
          const outcome = options.bareUpdates
            ? await handle.executeUpdate(submitNodeResultUpdate, { args: [submission] })
            : await planRunner.submitResult(runId, submission);
          if (outcome.verdict !== 'completed') throw new Error(`plan-runner ${runId}: n${index} ${outcome.verdict}: ${JSON.stringify(outcome.issues)}`);
        },
        async completed() {
          await handle.result();
          open.delete(runId);
        },
      };
    },
    cliRead: (run) => [process.execPath, PLAN_RUNNER_BIN, '--address', cli.address, '--namespace', cli.namespace, '--task-queue', taskQueue, 'status', run.id],
    cliSubmit: (run, index) => [
      process.execPath, PLAN_RUNNER_BIN, '--address', cli.address, '--namespace', cli.namespace, '--task-queue', taskQueue,
      'submit', run.id, `n${index}`, '--by', `agent-${index}`, '--output', JSON.stringify(resultOf(index)),
    ],
  };
}
