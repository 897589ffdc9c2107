/**
 * The pure plan engine: the semantics of docs/semantics.md with no I/O, no clocks and no randomness. Time (`now`, an ISO
 * string of workflow time) and ids come in as arguments; every operation returns the next state plus
 * the effects for the shell (events, a checkpoint, owners to wake), or a Refusal that changed nothing.
 * The workflow, the CLI and the tests all use this module.
 */
export * from './types';
export * from './spec';
export * from './messages';
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
  SubplanFinished,
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
