/**
 * The Temporal contract of a plan run: workflow type, task queue, message names and search
 * attributes. Agents in other languages use these exact names (see docs/agent-contract.md).
 * This file is imported by both the workflow and the client, so it may only import
 * `@temporalio/workflow`/`@temporalio/common` and engine types.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { AgentSubmission, CancelRequest, HumanResponse, RaiseBudgetRequest, ReplanRequest, ResumeRequest, RetryRequest, SubplanFinished } from '../engine/messages';
import type { RunReplannedDetail } from '../engine/replan';
import type { OutboxHandOver } from './outbox';
import type { PlanSpec } from '../engine/spec';
import type { RunEvent, RunSnapshot, RunState, SubmitOutcome, WorkItem } from '../engine/types';
import type { ParentRef } from '../engine/subplans';

export { WORKFLOW_TYPE, DEFAULT_TASK_QUEUE } from './names';

export interface PlanRunInput {
  spec: PlanSpec;
  input?: unknown;
  /** Tuning; the defaults suit production. */
  options?: PlanRunOptions;
  /** Set only by the workflow itself when it continues as new (after a replan, or to keep history short). */
  continued?: ContinuedRun;
  /**
   * Set only by a parent run starting a child run for one of its `plan` nodes (docs/semantics.md,
   * "Sub-plans"): the child reports how it ended to that run, node and attempt (signal `subplanFinished`).
   */
  parent?: ParentRef;
}

export interface PlanRunOptions {
  /** Continue as new after this many messages (signals + updates) in one execution. Default 500. */
  continueAsNewAfterMessages?: number;
}

/** What one execution hands the next when it continues as new: nothing is lost or repeated. */
export interface ContinuedRun {
  /** The run state (statuses, outputs, attempts, approvals, seq, submission ids) minus the spec, which travels once as `spec`. */
  state: Omit<RunState, 'spec'>;
  /** Delivery progress (per webhook sink, unconfirmed wake-ups), so nothing is lost or repeated. */
  outbox: OutboxHandOver;
  /** Executions so far (1 for the first). */
  execution: number;
  reason: 'replan' | 'history';
}

/** Outcome of the `replanRun` update. */
export type ReplanOutcome = OperationOutcome & { specVersion: number; changes: RunReplannedDetail };

/** Outcome of `cancelRun`, `resumeRun`, `retryNodeRun` and `raiseBudget` updates. */
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
export const replanSignal = defineSignal<[ReplanRequest]>('replan');
/** Sent by a child run to its parent once it completed, failed or was cancelled (docs/semantics.md, "Sub-plans"). */
export const subplanFinishedSignal = defineSignal<[SubplanFinished]>('subplanFinished');
export const raiseBudgetSignal = defineSignal<[RaiseBudgetRequest]>('raiseBudget');

// Updates: the caller gets the outcome, or an error saying why the message was refused.
export const submitNodeResultUpdate = defineUpdate<SubmitOutcome, [AgentSubmission]>('submitNodeResult');
export const submitHumanResponseUpdate = defineUpdate<SubmitOutcome, [HumanResponse]>('submitHumanResponse');
export const cancelRunUpdate = defineUpdate<OperationOutcome, [CancelRequest]>('cancelRun');
export const resumeRunUpdate = defineUpdate<OperationOutcome, [ResumeRequest]>('resumeRun');
export const retryNodeUpdate = defineUpdate<OperationOutcome, [RetryRequest]>('retryNodeRun');
export const replanRunUpdate = defineUpdate<ReplanOutcome, [ReplanRequest]>('replanRun');
export const raiseBudgetUpdate = defineUpdate<OperationOutcome, [RaiseBudgetRequest]>('raiseBudget');

// Queries: read-only views of the live run.
export const snapshotQuery = defineQuery<RunSnapshot>('snapshot');
export const eventsQuery = defineQuery<RunEvent[], [{ sinceSeq?: number }?]>('events');
export const workItemQuery = defineQuery<WorkItem | null, [{ nodeId: string }]>('workItem');

/** ApplicationFailure types thrown by the workflow, so callers can tell refusals apart. */
export const FAILURE_TYPES = {
  refused: 'PlanRunRefused',
  invalidSpec: 'InvalidPlanSpec',
  invalidInput: 'InvalidRunInput',
  /**
   * Thrown by the `recordTransitions` activity (not the workflow) when the store refused records
   * for good; the workflow catches it, goes on, and shows it in the snapshot's `recording`.
   */
  storeWriteRejected: 'StoreWriteRejected',
} as const;

// Search attributes: registered on the server by temporal-dev.sh (`--search-attribute`).
export const PlanIdKey = defineSearchAttributeKey('PlanId', SearchAttributeType.KEYWORD);
export const PlanRunStatusKey = defineSearchAttributeKey('PlanRunStatus', SearchAttributeType.KEYWORD);
export const PlanWaitingOnKey = defineSearchAttributeKey('PlanWaitingOn', SearchAttributeType.KEYWORD_LIST);
/**
 * What the run's results spent so far, in US dollars (docs/semantics.md, "Budgets"): set only on runs
 * whose results report a cost, so runs can be sorted and filtered by spend.
 */
export const PlanCostUsdKey = defineSearchAttributeKey('PlanCostUsd', SearchAttributeType.DOUBLE);
export const SEARCH_ATTRIBUTES = { PlanId: 'Keyword', PlanRunStatus: 'Keyword', PlanWaitingOn: 'KeywordList', PlanCostUsd: 'Double' } as const;
