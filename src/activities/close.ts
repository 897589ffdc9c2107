/**
 * The activity that lets a run plan-runner cancelled close as Temporal *Canceled*.
 *
 * A TypeScript workflow closes as Canceled only when Temporal asked it to cancel and it then ends
 * with a cancellation (`CancelledFailure`); thrown without such a request, the same error closes it as
 * Failed, and the server refuses a workflow's request to cancel itself (as an external workflow: "not
 * found"). So once a `cancel` message has ended the run and its records are written, the workflow
 * asks the worker, in this local activity, to send Temporal the cancellation request for its own
 * execution; the request then arrives like any other and the workflow closes with it. The workflow
 * alone decides: nothing depends on the client that sent `cancel` staying alive.
 */
import { Context } from '@temporalio/activity';

export interface RequestOwnCancellationInput {
  workflowId: string;
  /** The execution to cancel (this one, not a later run of the same workflow id). */
  runId: string;
  /** Shown with the request (event `WorkflowExecutionCancelRequested`, in the Web UI). */
  reason: string;
}

export interface CloseActivities {
  requestOwnCancellation(input: RequestOwnCancellationInput): Promise<void>;
}

export const closeActivities: CloseActivities = {
  async requestOwnCancellation({ workflowId, runId, reason }) {
    const context = Context.current();
    const client = context.client;
    await client.workflowService.requestCancelWorkflowExecution({
      namespace: context.info.namespace,
      identity: client.options.identity,
      // The same id on every attempt: the server takes a repeated request once. (A second request for
      // an execution already asked to cancel succeeds too.)
      requestId: `plan-runner-cancelled-${runId}`,
      workflowExecution: { workflowId, runId },
      reason,
    });
  },
};
