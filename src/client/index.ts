/**
 * plan-runner's public client API (the package's `main`): `PlanRunnerClient`, its errors, and the
 * types, store records and Temporal definitions an integration needs.
 */
export * from './plan-runner-client';
export * from './errors';
/** Connection settings on their own (a worker or another tool can share the client's). */
export {
  DEFAULT_PROFILE,
  connectionOptionsFromFlags,
  explainConnectFailure,
  namesWithoutFiles,
  resolveConnectionSettings,
  type ClientConnectionOptions,
  type ConnectionFlags,
} from './connection';
/** The store reads on their own, with no Temporal client: `PlanRunnerClient`'s, plus a run's spec versions. */
export { StoreReader, type StoreReaderOptions } from './store-reads';
export type {
  PlanStore,
  StoredRun,
  StoredApproval,
  StoredAttempt,
  StoredNodeRun,
  StoredSpecVersion,
  ApprovalFilter,
  EventRange,
  MigrationReport,
  StoreDialect,
} from '../store/types';
export type {
  AgentSubmission,
  ArtifactRef,
  HumanResponse,
  CancelRequest,
  ResumeRequest,
  RetryRequest,
  ReplanRequest,
} from '../engine/messages';
export { specChanges, type SpecChanges, type RunReplannedDetail } from '../engine/replan';
export type { PlanSpec, PlanNode, PlanEdge, Owner, FailureClass, NodeType } from '../engine/spec';
export type {
  RunSnapshot,
  RunEvent,
  RunStatus,
  NodeStatus,
  NodeView,
  SubmitOutcome,
  WorkItem,
  Issue,
  RefusalReason,
  ApprovalStatus,
  EventType,
  Checkpoint,
  CheckpointReason,
} from '../engine/types';
export type { SpecProblem, SpecValidationResult } from '../engine/validate-spec';
export * from '../workflows/definitions';
