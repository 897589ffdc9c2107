/**
 * The store's contract: what the worker writes (one transaction per batch of transition records) and
 * what the client library, the CLI and the delivery activities read. One implementation serves
 * SQLite (embedded default) and PostgreSQL (`PLAN_STORE_URL=postgres://…`) through Kysely.
 */
import type { StoredSession, StoredUser } from './identity';
import type {
  ApprovalStatus,
  Checkpoint,
  FailureClass,
  Issue,
  Owner,
  PlanNode,
  PlanSpec,
  QuorumVote,
  Usage,
  RunEvent,
  TransitionRecord,
  RunRecord,
  NodeRunRecord,
  Artifact,
  AttemptStatus,
} from '../engine';

export type StoreDialect = 'sqlite' | 'postgres';

/** A run as the store knows it (the `runs` row; the spec is read with `getSpec`). */
export type StoredRun = Omit<RunRecord, 'spec'>;

/** The run summary of a webhook envelope: the run row without its input. */
export type RunSummary = Omit<StoredRun, 'input'>;

/** A run's id, spec version and last change, from `listActiveRunsChangedSince`. */
export interface ChangedRun {
  runId: string;
  specVersion: number;
  updatedAt: string;
}

/** A `node_runs` row. */
export type StoredNodeRun = NodeRunRecord & { runId: string };

/** One spec version of a run (`run_specs`): 1 is the spec it started with, each replan adds the next. */
export interface StoredSpecVersion {
  specVersion: number;
  /** When the store first recorded this version (workflow time, ISO-8601): the start, or the replan. */
  recordedAt: string;
  spec: PlanSpec;
}

export interface StoredAttempt {
  runId: string;
  nodeId: string;
  attempt: number;
  kind: 'agent' | 'human';
  by: string;
  at: string;
  submissionId?: string;
  status: AttemptStatus;
  failureClass?: FailureClass;
  failureMessage?: string;
  output?: unknown;
  notes?: string;
  /** The loop iteration the attempt belongs to (absent outside loops). */
  iteration?: number;
  /** What the attempt spent, as its result reported it (docs/semantics.md, "Budgets"). */
  usage?: Usage;
  /** From the `validation_issues` table, in the order they were found. */
  issues: Issue[];
  /** From the `artifacts` table. */
  artifacts: Artifact[];
}

export interface StoredApproval {
  runId: string;
  approvalId: string;
  nodeId: string;
  attempt: number;
  kind: 'node' | 'review';
  owner: Owner;
  approvers: string[];
  status: ApprovalStatus;
  requestedAt: string;
  resolvedAt?: string;
  respondedBy?: string;
  response?: Record<string, unknown>;
  issues: Issue[];
  /** On a quorum approval: how many approvals it needs, and who may veto (docs/semantics.md, "Quorum approvals"). */
  quorum?: { required: number; veto: string[] };
  /** On a quorum approval: the votes so far, in the order they came. */
  votes?: QuorumVote[];
}

export interface ApprovalFilter {
  runId?: string;
  /** Only approvals still waiting for an answer. */
  pending?: boolean;
  /** Approvals WHO may answer (owner ref or a named approver) or has answered (respondedBy). */
  by?: string;
  limit?: number;
}

export interface EventRange {
  /** Events with seq > afterSeq (default 0). */
  afterSeq?: number;
  /** Events with seq <= uptoSeq (default: all). */
  uptoSeq?: number;
  limit?: number;
}

export interface RecordResult {
  /** The run's last recorded event seq after the call. */
  lastSeq: number;
  /** Transition records written by this call. */
  written: number;
  /** Transition records skipped because their events were already recorded (a retried call). */
  skipped: number;
}

export interface MigrationReport {
  applied: string[];
  current: string[];
}

export interface SinkStatus {
  sinkId: string;
  disabledAt?: string;
  reason?: string;
}

export interface PlanStore {
  readonly dialect: StoreDialect;
  /** Where the data lives: the SQLite file's absolute path, or the PostgreSQL URL without its password. */
  readonly location: string;

  /** Checks that the store answers (a trivial query); throws like any other call when it does not. */
  ping(): Promise<void>;
  /** Applies pending migrations (idempotent; safe when several processes start at once). */
  migrate(): Promise<MigrationReport>;

  /**
   * Writes each record's events, checkpoint and changed rows, all in ONE transaction, idempotent on
   * (run id, event seq): a record whose events are already stored is skipped as a whole, so a retried
   * or replayed call never duplicates, loses or rolls back a row.
   */
  recordTransitions(runId: string, records: TransitionRecord[]): Promise<RecordResult>;

  getRun(runId: string): Promise<StoredRun | undefined>;
  /**
   * Runs not finished (running, awaiting-human, blocked) whose row changed at or after `since` (an
   * ISO time, compared as the store keeps it), oldest change first, at most `limit`: what the console
   * lays out ahead of anyone opening them. Served by the `(status, updated_at)` index.
   */
  listActiveRunsChangedSince(since: string, limit: number): Promise<ChangedRun[]>;
  /**
   * The spec the run was started (or last replanned) with; with `version`, that version of it
   * (undefined when the run has no such version).
   */
  getSpec(runId: string, version?: number): Promise<PlanSpec | undefined>;
  /** Every spec version of the run, oldest first (empty for an unknown run). */
  listSpecVersions(runId: string): Promise<StoredSpecVersion[]>;
  getPlanNode(runId: string, nodeId: string): Promise<PlanNode | undefined>;
  getNodeRun(runId: string, nodeId: string): Promise<StoredNodeRun | undefined>;
  /** Node runs in spec order. */
  listNodeRuns(runId: string): Promise<StoredNodeRun[]>;
  /** Events in seq order. */
  listEvents(runId: string, range?: EventRange): Promise<RunEvent[]>;
  /** Attempts of one node in attempt order, each with its issues and artifacts. */
  listAttempts(runId: string, nodeId: string): Promise<StoredAttempt[]>;
  /** Across runs, newest request first. */
  listApprovals(filter?: ApprovalFilter): Promise<StoredApproval[]>;
  /** In sequence order. */
  listCheckpoints(runId: string): Promise<Checkpoint[]>;

  /** Webhook sinks disabled by an HTTP 410 (across runs, until enabled again). */
  getSinkStatus(sinkId: string): Promise<SinkStatus>;
  disableSink(sinkId: string, reason: string, at: string): Promise<void>;
  enableSink(sinkId: string): Promise<void>;
  /** Delivery progress per sink and run (for operators): the highest seq delivered. */
  recordDelivery(sinkId: string, runId: string, deliveredSeq: number, at: string): Promise<void>;
  getDelivery(sinkId: string, runId: string): Promise<number>;

  /** People who may use the console and its API (docs/console.md): tokens and sessions as hashes only. */
  /** False when a person of that name exists and was not revoked (a revoked name can be added again, with a new token). */
  addUser(name: string, tokenHash: string, at: string): Promise<boolean>;
  listUsers(): Promise<StoredUser[]>;
  userByTokenHash(tokenHash: string): Promise<StoredUser | undefined>;
  /** Revokes the token and ends the person's sessions; false when no such unrevoked person. */
  revokeUser(name: string, at: string): Promise<boolean>;
  createSession(sessionHash: string, userName: string, at: string, expiresAt: string): Promise<void>;
  /** An unexpired session of an unrevoked person. */
  getSession(sessionHash: string, now: string): Promise<StoredSession | undefined>;
  endSession(sessionHash: string, now: string): Promise<void>;
  close(): Promise<void>;
}
