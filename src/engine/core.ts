/**
 * The pure plan engine without its zod schemas: what the workflow imports. The workflow sandbox
 * evaluates every module it imports once per run, and zod was most of that cost (docs/performance.md,
 * "No zod in the workflow"), so this barrel has the spec's and the messages' types but not their
 * schemas; shapes are checked by `message-shapes.ts`, which loads zod only when it must.
 * `index.ts` is this plus the schemas, for the client, the CLI and the tests.
 */
export * from './types';
export * from './spec-constants';
export type * from './spec';
export type * from './messages';
export * from './limits';
export { compilePattern, patternProblem, MAX_PATTERN_LENGTH } from './patterns';
export { parseMessage } from './message-checks';
export { createRunState, isFinished, deriveRunStatus, parseInstanceId, instanceId } from './run-state';
export { checkAgentSubmission, applyAgentSubmission, rejectSubmission } from './agent-results';
export { refuse } from './message-checks';
export { checkHumanResponse, applyHumanResponse } from './human-responses';
export {
  startRun,
  runInputCheck,
  pendingInputChecks,
  applyInputChecks,
  pendingTimers,
  promoteDueNodes,
  fireDueTimers,
  cancelRun,
  resumeRun,
  retryNode,
  dispatchFailed,
  sinkDisabled,
  rejectOperation,
  type OperationKind,
} from './operations';
export { replanRun, specChanges, type SpecChanges, type RunReplannedDetail } from './replan';
export { recordOf, runRecord, nodeRunRecord } from './records';
export type { TransitionRecord, RunRecord, NodeRunRecord, AttemptRow } from './records';
export { compactCheckpoints, expandCheckpoints, type CompactTransitionRecord, type CheckpointDelta, type ArrayDelta } from './checkpoint-delta';
export { compactForHandOver, type HandOverLimits } from './hand-over';
export { wakeUpsFor, WAKE_UP_EVENT_TYPES, type WakeUp } from './wake-ups';
export { snapshotOf, currentWorkItem, waitingOn, currentDetails, DETAIL_NODE_LINES } from './views';
export { seqRanges } from './seq-ranges';
export { parseCondition, evaluateCondition, evaluateWhen } from './conditions';
export { workItemToken, requiresTokens, WORK_ITEM_TOKEN_PREFIX } from './tokens';
export {
  subplanFinished,
  subplanReport,
  subplanEffects,
  subplanSpec,
  childRunIdOf,
  hasSubplans,
  type SubplanStart,
  type SubplanCancel,
  type SubplanEffects,
  type ParentRef,
} from './subplans';
export {
  raiseBudget,
  addUsage,
  tokensOf,
  formatCost,
  describeSpending,
  planBudgetLimits,
  isBudgetBlocked,
  budgetStanding,
  type BudgetLimits,
} from './budgets';
export { decideQuorum, voteApproves, quorumOutput, describeVotes, describeTally, type QuorumDecision, type QuorumOutput } from './quorum';
