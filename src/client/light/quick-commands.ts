/**
 * The quick path of `plan-runner status` and `plan-runner submit`: the same calls the full client
 * makes for a running run whose worker answers (describe the run, ask who polls its task queue,
 * then the query or the update), over the light client (`light-client.ts`), so that the command
 * does not load the Temporal SDK.
 *
 * Each function returns `undefined` whenever anything is not the plain case: the run is missing or
 * closed, a call failed, a payload is not JSON, the update came back refused or not yet finished.
 * The command then does the whole job again through `PlanRunnerClient`, which words every such
 * case as before. Two answers are given here, since waiting for them twice would be worse: no
 * worker polls the run's task queue (`NoWorkerError`), and the worker did not answer in time
 * (`RunUnresponsiveError`), both with the full client's words.
 *
 * Redoing is safe. A query changes nothing. An update goes back with the id it was first sent
 * with, so Temporal, which applies an update id once, answers an update that reached the run with
 * its outcome instead of applying it again. A submission is sent unchecked: the run checks every
 * message itself (it trusts no client), and one it refuses is checked and worded by the full client.
 */
import { randomUUID } from 'node:crypto';
import type { AgentSubmission } from '../../engine/messages';
import type { RunSnapshot, SubmitOutcome } from '../../engine/types';
import { DEFAULT_TASK_QUEUE } from '../../workflows/names';
import { NoWorkerError } from '../errors';
import { DEFAULT_QUERY_TIMEOUT_MS, DEFAULT_UPDATE_TIMEOUT_MS } from '../timeouts';
import { UPDATE_MAY_STILL_APPLY, WorkerCheck, noWorkerMessage, unansweredError } from '../worker-check';
import { fromPayload, LightCallError, toPayload, type LightClient } from './light-client';

// Proto values (temporal.api.enums.v1 and gRPC), spelled out so that nothing loads the SDK's protos.
const WORKFLOW_EXECUTION_STATUS_RUNNING = 1;
const UPDATE_LIFECYCLE_STAGE_COMPLETED = 3;
const GRPC_DEADLINE_EXCEEDED = 4;

/** What the quick path needs besides the light client. */
export interface QuickOptions {
  /** The task queue runs are started on (asked about while the run is described). Default `$PLAN_TASK_QUEUE`, else `plan-runs`. */
  taskQueue?: string;
  /** How long the run's description may take, the connection included (an unreachable server is then left to the full client). Default 5000 ms. */
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
  updateTimeoutMs?: number;
}

/** What `quickSubmit` did: finished with `outcome`, or sent as `updateId` and left for the full client to finish. */
export type QuickSubmitResult = { outcome: SubmitOutcome; updateId?: never } | { outcome?: never; updateId: string };

/** The run's snapshot (query `snapshot`) if the run is running and its worker answers; else `undefined`. */
export async function quickSnapshot(light: LightClient, runId: string, options: QuickOptions = {}): Promise<RunSnapshot | undefined> {
  const ready = await runningWithWorker(light, runId, `query snapshot of run ${runId}`, options);
  if (!ready) return undefined;
  const timeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  let response: any;
  try {
    response = await light.withDeadline(Date.now() + timeoutMs, () =>
      light.call('QueryWorkflow', {
        namespace: light.namespace,
        execution: { workflowId: runId },
        query: { queryType: 'snapshot', queryArgs: { payloads: [] } },
      }),
    );
  } catch (err) {
    if (err instanceof LightCallError && err.code === GRPC_DEADLINE_EXCEEDED) {
      throw await unansweredError(ready.workers, runId, ready.taskQueue, `query snapshot of run ${runId}`, timeoutMs, err);
    }
    return undefined;
  }
  if (response.queryRejected || !response.queryResult?.payloads?.length) return undefined;
  return decoded(response.queryResult.payloads[0]) as RunSnapshot | undefined;
}

/**
 * Send `submission` as update `submitNodeResult` and return its outcome if the run accepted it and
 * finished it; else the update id to redo it with, or `undefined` if nothing was sent.
 */
export async function quickSubmit(
  light: LightClient,
  runId: string,
  submission: AgentSubmission,
  options: QuickOptions = {},
): Promise<QuickSubmitResult | undefined> {
  const what = `update submitNodeResult of run ${runId}`;
  const ready = await runningWithWorker(light, runId, what, options);
  if (!ready) return undefined;
  const updateId = randomUUID();
  const fallback: QuickSubmitResult = { updateId };
  const timeoutMs = options.updateTimeoutMs ?? DEFAULT_UPDATE_TIMEOUT_MS;
  let response: any;
  try {
    // The request the SDK's executeUpdate sends: wait until the update is finished.
    response = await light.withDeadline(Date.now() + timeoutMs, () =>
      light.call('UpdateWorkflowExecution', {
        namespace: light.namespace,
        workflowExecution: { workflowId: runId },
        waitPolicy: { lifecycleStage: UPDATE_LIFECYCLE_STAGE_COMPLETED },
        request: {
          meta: { updateId, identity: light.identity },
          input: { header: { fields: {} }, name: 'submitNodeResult', args: { payloads: [toPayload(submission)] } },
        },
      }),
    );
  } catch (err) {
    if (err instanceof LightCallError && err.code === GRPC_DEADLINE_EXCEEDED) {
      throw await unansweredError(ready.workers, runId, ready.taskQueue, what, timeoutMs, err, { suffix: UPDATE_MAY_STILL_APPLY });
    }
    return fallback;
  }
  const payloads = response.outcome?.success?.payloads;
  if (!payloads?.length) return fallback; // refused, failed, or not finished yet
  const outcome = decoded(payloads[0]);
  return outcome === undefined ? fallback : { outcome: outcome as SubmitOutcome };
}

/**
 * Describe the run while asking who polls the usual task queue; `undefined` unless it is running.
 * Throws `NoWorkerError` when nobody polls its task queue.
 */
async function runningWithWorker(
  light: LightClient,
  runId: string,
  what: string,
  options: QuickOptions,
): Promise<{ taskQueue: string; workers: WorkerCheck } | undefined> {
  const workers = new WorkerCheck(light, light.namespace);
  workers.askAhead(options.taskQueue ?? process.env.PLAN_TASK_QUEUE ?? DEFAULT_TASK_QUEUE);
  let description: any;
  try {
    description = await light.withDeadline(Date.now() + (options.connectTimeoutMs ?? 5_000), () =>
      light.call('DescribeWorkflowExecution', { namespace: light.namespace, execution: { workflowId: runId } }),
    );
  } catch {
    return undefined;
  }
  const info = description.workflowExecutionInfo;
  if (info?.status !== WORKFLOW_EXECUTION_STATUS_RUNNING || !info.taskQueue) return undefined;
  const taskQueue: string = info.taskQueue;
  let verdict;
  try {
    verdict = await workers.verdict(taskQueue);
  } catch {
    return { taskQueue, workers }; // the server cannot say: go ahead, as the full client does
  }
  if (!verdict.ok) throw new NoWorkerError(runId, taskQueue, noWorkerMessage(verdict, what));
  return { taskQueue, workers };
}

/** A payload's JSON value, or `undefined` for one the light client leaves to the full client. */
function decoded(payload: unknown): unknown {
  try {
    return fromPayload(payload as Parameters<typeof fromPayload>[0]);
  } catch {
    return undefined;
  }
}
