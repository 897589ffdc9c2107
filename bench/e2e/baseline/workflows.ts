/**
 * The baseline workflow: the least a Temporal workflow can do for the job plan-runner does for a
 * chain of task nodes. Per node it waits for an update carrying the node's result, runs one local
 * activity that checks the result against a JSON Schema and records it (one SQLite row), and moves
 * on to the next node. No engine, no state beyond a counter, no search attributes, no store
 * transaction of several tables: whatever plan-runner costs on top of this is its overhead.
 *
 * Bundled on its own (`bench/e2e/baseline/workflows.ts` is the worker's `workflowsPath`), so its
 * bundle size is what such a workflow costs, too.
 */
import { allHandlersFinished, condition, defineQuery, defineUpdate, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BaselineActivities } from './activities';

/** One node's result, as the agent sends it. */
export interface NodeResult {
  /** The node's index in the chain (0-based); only the running node's result is taken. */
  node: number;
  output: Record<string, unknown>;
}

/** What the update answers: whether the result passed, and where the chain is now. */
export interface SubmitReply {
  valid: boolean;
  errors: string[];
  /** The index of the node that runs now (= `nodes` once the chain is done). */
  next: number;
  completed: boolean;
}

/** The chain's progress (query `status`, and the workflow's result). */
export interface BaselineStatus {
  next: number;
  nodes: number;
}

export const submitUpdate = defineUpdate<SubmitReply, [NodeResult]>('submit');
export const statusQuery = defineQuery<BaselineStatus>('status');

const { checkAndRecord } = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '10 seconds' });

/** A chain of `nodes` nodes, each completed by one valid result. */
export async function baselineChain(input: { nodes: number }): Promise<BaselineStatus> {
  const { workflowId } = workflowInfo();
  let next = 0;
  // One result at a time, like plan-runner's loop: a second one waits for no node while the first is checked.
  let busy = false;
  setHandler(statusQuery, () => ({ next, nodes: input.nodes }));
  setHandler(
    submitUpdate,
    async (result) => {
      busy = true;
      try {
        const checked = await checkAndRecord({ workflowId, node: result.node, output: result.output });
        if (checked.valid) next += 1;
        return { ...checked, next, completed: next >= input.nodes };
      } finally {
        busy = false;
      }
    },
    {
      // Refused before it reaches history, as plan-runner's validator refuses a node that is not running.
      validator: (result) => {
        if (busy || result.node !== next) throw new Error(`node ${result.node} is not running (node ${next} is${busy ? ', and its result is being checked' : ''})`);
      },
    },
  );
  await condition(() => next >= input.nodes);
  await condition(allHandlersFinished);
  return { next, nodes: input.nodes };
}
