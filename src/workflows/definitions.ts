/**
 * The Temporal contract of a plan run: workflow type, task queue, message names and search
 * attributes. Agents in other languages use these exact names (see README, "Temporal contract").
 * This file is imported by both the workflow and the client, so it may only import
 * `@temporalio/workflow`/`@temporalio/common` and engine types.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { AgentSubmission, CancelRequest, HumanResponse, ResumeRequest, RetryRequest } from '../engine/messages';
import type { PlanSpec } from '../engine/spec';
import type { RunEvent, RunSnapshot, SubmitOutcome, WorkItem } from '../engine/types';

export const WORKFLOW_TYPE = 'planRun';
export const DEFAULT_TASK_QUEUE = 'plan-runs';

export interface PlanRunInput {
  spec: PlanSpec;
  input?: unknown;
}

/** Outcome of `cancelRun`, `resumeRun` and `retryNodeRun` updates. */
export interface OperationOutcome {
  accepted: true;
  runStatus: RunSnapshot['status'];
  message: string;
}

// Signals: fire-and-forget. A refused result is recorded as event `result-rejected`.
export const nodeResultSignal = defineSignal<[AgentSubmission]>('nodeResult');
export const humanResponseSignal = defineSignal<[HumanResponse]>('humanResponse');
export const cancelSignal = defineSignal<[CancelRequest]>('cancel');
export const resumeSignal = defineSignal<[ResumeRequest]>('resume');
export const retryNodeSignal = defineSignal<[RetryRequest]>('retryNode');

// Updates: the caller gets the outcome, or an error saying why the message was refused.
export const submitNodeResultUpdate = defineUpdate<SubmitOutcome, [AgentSubmission]>('submitNodeResult');
export const submitHumanResponseUpdate = defineUpdate<SubmitOutcome, [HumanResponse]>('submitHumanResponse');
export const cancelRunUpdate = defineUpdate<OperationOutcome, [CancelRequest]>('cancelRun');
export const resumeRunUpdate = defineUpdate<OperationOutcome, [ResumeRequest]>('resumeRun');
export const retryNodeUpdate = defineUpdate<OperationOutcome, [RetryRequest]>('retryNodeRun');

// Queries: read-only views of the live run.
export const snapshotQuery = defineQuery<RunSnapshot>('snapshot');
export const eventsQuery = defineQuery<RunEvent[], [{ sinceSeq?: number }?]>('events');
export const workItemQuery = defineQuery<WorkItem | null, [{ nodeId: string }]>('workItem');

/** ApplicationFailure types thrown by the workflow, so callers can tell refusals apart. */
export const FAILURE_TYPES = {
  refused: 'PlanRunRefused',
  invalidSpec: 'InvalidPlanSpec',
  invalidInput: 'InvalidRunInput',
} as const;

// Search attributes: registered on the server by temporal-dev.sh (`--search-attribute`).
export const PlanIdKey = defineSearchAttributeKey('PlanId', SearchAttributeType.KEYWORD);
export const PlanRunStatusKey = defineSearchAttributeKey('PlanRunStatus', SearchAttributeType.KEYWORD);
export const PlanWaitingOnKey = defineSearchAttributeKey('PlanWaitingOn', SearchAttributeType.KEYWORD_LIST);
export const SEARCH_ATTRIBUTES = { PlanId: 'Keyword', PlanRunStatus: 'Keyword', PlanWaitingOn: 'KeywordList' } as const;
