/**
 * The engine's data: run state, events, checkpoints, work items and outcomes. Everything here is
 * plain JSON so it can travel through Temporal payloads, queries and (later) the store unchanged.
 */
import type { ArtifactRef, Usage } from './messages';
import type { SubplanEffects } from './subplans';
import type { CompletionCheck, FailureAction, FailureClass, NodeType, Owner, PlanSpec, Severity } from './spec';

export type RunStatus = 'running' | 'awaiting-human' | 'blocked' | 'completed' | 'failed' | 'aborted';
/** Every run status, in the order the docs list them. */
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'awaiting-human', 'blocked', 'completed', 'failed', 'aborted'];

/** Finished runs accept nothing any more; the workflow closes (a completed run's returns its final snapshot, a cancelled run's closes as Canceled). */
export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['completed', 'aborted'];

export type NodeStatus =
  | 'pending'
  | 'scheduled'
  | 'ready'
  | 'running'
  | 'awaiting-human'
  | 'completed'
  | 'partial'
  | 'failed'
  | 'blocked'
  | 'skipped'
  | 'cancelled';

export const SUCCESSFUL_NODE_STATUSES: readonly NodeStatus[] = ['completed', 'partial', 'skipped'];
export const ACTIVE_NODE_STATUSES: readonly NodeStatus[] = ['running', 'awaiting-human'];

export interface Issue {
  severity: Severity;
  code: string;
  message: string;
  path?: string;
}

export type Artifact = ArtifactRef;

export type AttemptStatus = 'completed' | 'partial' | 'failed';

export interface AttemptRecord {
  attempt: number;
  /** The node's loop iteration when the attempt was made (absent outside loops). */
  iteration?: number;
  /** `subplan`: the outcome of a plan node's child run (by `run:<childRunId>`). */
  kind: 'agent' | 'human' | 'subplan';
  by: string;
  at: string;
  submissionId?: string;
  output?: unknown;
  notes?: string;
  artifacts: Artifact[];
  issues: Issue[];
  status: AttemptStatus;
  failureClass?: FailureClass;
  failureMessage?: string;
  /** What the attempt spent, as its result reported it (docs/semantics.md, "Budgets"). */
  usage?: Usage;
}

export interface NodeRun {
  nodeId: string;
  type: NodeType;
  status: NodeStatus;
  /** Attempts recorded so far (agent results and human responses). */
  attempts: number;
  /** Attempts made before the node last started over (a replan): the retry budget counts from here. */
  attemptBase?: number;
  /** The attempt number the node is currently waiting for (set on dispatch / approval request). */
  currentAttempt?: number;
  resolvedInput?: unknown;
  /** Set when the resolved input still has to pass the node's `inputSchema` (checked by an activity). */
  inputCheckPending?: boolean;
  output?: unknown;
  notes?: string;
  handoffContext?: unknown;
  artifacts: Record<string, Artifact>;
  history: AttemptRecord[];
  /** Issues of the latest failed attempt, handed to the next attempt's work item. */
  lastIssues: Issue[];
  failureClass?: FailureClass;
  /** Why the node awaits a human: its own type, or a review after a failed task attempt. */
  humanMode?: 'node' | 'review';
  approvalId?: string;
  /** When a scheduled node turns ready (ISO time) and why. */
  scheduledUntil?: string;
  scheduledReason?: string;
  /** When the current attempt was first handed to its owner (dispatch): deadlines count from here (docs/semantics.md §9). */
  startedAt?: string;
  /**
   * When the current attempt was last handed to its owner: set on dispatch and again when `resume`
   * hands a running node out again. A task's `timeoutMs` counts from here (docs/design-choices.md).
   */
  dispatchedAt?: string;
  /** The deadline warning already fired for this attempt (docs/semantics.md §9): it never fires twice. */
  deadlineWarned?: { attempt: number; at: string };
  /** The deadline of this attempt expired and was escalated (docs/semantics.md §9): `to` is who was escalated to. */
  escalated?: { attempt: number; at: string; to: Owner; onExpiry: 'escalate' | 'fail' };
  finishedAt?: string;
  /** Set when a join (`any` / `atLeast`) cancelled this node as a losing branch: the join's id. */
  cancelledByJoin?: string;
  /** The iteration of the innermost loop whose body holds the node (absent outside loops). */
  iteration?: number;
  /** Set on a loop's `to` when its body starts over: the loop edge's `map`, written on top of its input. */
  loopInput?: Record<string, unknown>;
  /** The node's loop edges were evaluated for its current finish (so they fire once). */
  loopsEvaluated?: boolean;
  /**
   * On an instance of a fanned-out node (`research[2]`, docs/semantics.md, "Fan-out"): the node it
   * belongs to. Its `resolvedInput` holds only `{ item, index }`; the node's input is added when it
   * is read (`nodeContext`), so a thousand instances do not carry a thousand copies of it.
   */
  instanceOf?: string;
  /** On an instance: its 0-based index in the list. */
  index?: number;
  /** On a node with `forEach` once it fanned out: how many instances it has. Its instances do the work. */
  fanOut?: { count: number };
  /** On a `plan` node: the run id of its latest child run (docs/semantics.md, "Sub-plans"). */
  childRunId?: string;
  /**
   * What the node's attempts spent, summed (docs/semantics.md, "Budgets"); a fanned-out node sums its
   * instances. Kept as a sum, so it survives the hand-over that drops old attempt records.
   */
  usage?: Usage;
  /** `usage` when the node's budget last started over (loop iteration, replan, retry of a budget failure). */
  budgetBase?: Usage;
  /** The node's budget warning fired in its current budget window: it fires once. */
  budgetWarned?: boolean;
}

export type ApprovalStatus =
  | 'pending'
  | 'approved'
  | 'changes-requested'
  | 'rejected'
  | 'responded'
  | 'invalid'
  | 'cancelled'
  /** Closed unanswered: the node's (or the plan's) deadline expired with `onExpiry: fail` (docs/semantics.md §9). */
  | 'expired';

/** One approver's vote on a quorum approval (docs/semantics.md, "Quorum approvals"). */
export interface QuorumVote {
  by: string;
  approved: boolean;
  requiredEdits?: string[];
  comments?: string;
  at: string;
}

export interface Approval {
  approvalId: string;
  nodeId: string;
  attempt: number;
  owner: Owner;
  approvers: string[];
  status: ApprovalStatus;
  kind: 'node' | 'review';
  requestedAt: string;
  resolvedAt?: string;
  respondedBy?: string;
  response?: Record<string, unknown>;
  issues: Issue[];
  /** On the approval of a `human-approval` node with `quorum`: how many approvals it needs, and who may veto. */
  quorum?: { required: number; veto: string[] };
  /** With `quorum`: the votes so far, in the order they came (one per approver). */
  votes?: QuorumVote[];
}

export type EventType =
  | 'run-started'
  | 'run-status-changed'
  | 'run-resumed'
  | 'run-replanned'
  | 'node-scheduled'
  | 'node-ready'
  | 'node-running'
  | 'ownership-transition'
  | 'node-completed'
  | 'node-partial'
  | 'node-failed'
  | 'node-blocked'
  | 'node-skipped'
  | 'node-unblocked'
  | 'node-auto-completed'
  | 'node-timed-out'
  | 'validation-reported'
  | 'approval-requested'
  | 'approval-resolved'
  /** An approver voted on a quorum approval (detail: by, approved); the approval may stay pending. */
  | 'approval-vote-recorded'
  /** Spending reached `warnAt` of a node's or the plan's budget (once per budget). */
  | 'budget-warning'
  /** Spending passed a node's budget (the node fails with class budget) or the plan's (the run is blocked). */
  | 'budget-exceeded'
  /** An operator raised the plan's budget (`raiseBudget`). */
  | 'budget-raised'
  | 'result-rejected'
  | 'deadline-warning'
  | 'escalation-triggered'
  | 'checkpoint-saved'
  /** A losing branch of a join (`any` / `atLeast`) was cancelled; its agent is woken so it can stop. */
  | 'node-cancelled'
  /** A loop edge fired: its body starts over (detail: edge, iteration, nodeIds). */
  | 'loop-iterated'
  /** A loop edge's condition held with no iterations left (detail: edge, iterations, onExhausted). */
  | 'loop-exhausted'
  /** A `forEach` node fanned out into its instances (detail: count, maxConcurrency). */
  | 'fan-out-started'
  /** A `plan` node started its child run (detail: childRunId, plan). */
  | 'subplan-started'
  /** Every instance of a `forEach` node finished (detail: count and how many completed, partial, skipped). */
  | 'fan-out-completed'
  /** Extension (docs/design-choices.md): a webhook sink answered 410 Gone or gave up; it gets no more events. */
  | 'sink-disabled'
  /** Extension (docs/design-choices.md): a cancel, resume, retry or replan *signal* was refused. */
  | 'operation-rejected';

/** Events that record something without changing the run: they get no checkpoint. */
export const RECORD_ONLY_EVENT_TYPES: readonly EventType[] = ['result-rejected', 'sink-disabled', 'operation-rejected'];

export interface RunEvent {
  /** `<runId>:<seq>`: a redelivered event is never a new event. */
  id: string;
  seq: number;
  runId: string;
  planId: string;
  type: EventType;
  nodeId?: string;
  attempt?: number;
  /** The node's loop iteration, on events of nodes inside a loop body. */
  iteration?: number;
  approvalId?: string;
  fromStatus?: string;
  toStatus?: string;
  message: string;
  detail?: Record<string, unknown>;
  by: string;
  at: string;
}

export type CheckpointReason =
  | 'run-started'
  | 'node-result-complete'
  | 'node-result-retry'
  | 'node-result-human-review'
  | 'node-result-replan'
  | 'node-result-skip'
  | 'node-result-failed'
  | 'human-response-complete'
  | 'human-response-blocked'
  /** A vote on a quorum approval that left it pending (docs/semantics.md, "Quorum approvals"). */
  | 'approval-vote-recorded'
  | 'run-resumed'
  | 'node-retried'
  | 'delayed-node-promoted'
  | 'deadline'
  | 'owner-dispatch-failed'
  | 'run-replanned'
  | 'run-cancelled'
  | 'node-input-checked'
  /** A join became ready and cancelled the branches that lost (docs/semantics.md, "Join modes"). */
  | 'join-cancelled-branches'
  /** A loop body started over (docs/semantics.md, "Loops"). */
  | 'loop-iterated'
  /** Every instance of a fanned-out node finished (docs/semantics.md, "Fan-out"). */
  | 'fan-out-completed'
  /** The run passed its plan's budget and is blocked (docs/semantics.md, "Budgets"). */
  | 'budget-exceeded'
  /** An operator raised the plan's budget (`raiseBudget`). */
  | 'budget-raised';

export interface Checkpoint {
  sequence: number;
  reason: CheckpointReason;
  runStatus: RunStatus;
  readyNodeIds: string[];
  activeNodeIds: string[];
  completedNodeIds: string[];
  nodeStatuses: Record<string, NodeStatus>;
  artifactIds: string[];
  at: string;
}

/** What an agent receives when it is woken (docs/semantics.md §12), and what `workItem` queries return. */
export interface WorkItem {
  runId: string;
  planId: string;
  nodeId: string;
  attempt: number;
  owner: Owner;
  brief: {
    label?: string;
    objective?: string;
    instructions?: string;
    deliverables?: string[];
    successCriteria?: string[];
    toolPolicy?: unknown;
    contextPolicy?: unknown;
    outputSchema?: string;
  };
  resolvedInput: unknown;
  handoff: Record<string, unknown>;
  previousIssues: Issue[];
  reason: string;
  /** The node's loop iteration (1 outside loops and in a body's first run). */
  iteration: number;
  /** On an instance of a fanned-out node: its entry of the list (also in `resolvedInput.item`). */
  item?: unknown;
  /** On an instance: its 0-based index (also in `resolvedInput.index`). */
  index?: number;
  /**
   * The attempt's work-item token (docs/semantics.md, "Who may act"): a result sends it back as
   * `token`. Absent in runs that started before tokens existed. Never stored or put in events.
   */
  token?: string;
}

export interface RunState {
  runId: string;
  planId: string;
  specVersion: number;
  spec: PlanSpec;
  input: unknown;
  status: RunStatus;
  /** Node runs in spec order. */
  nodes: NodeRun[];
  /** Per loop edge (its index in `spec.edges`): the iteration its body is in, when past the first. */
  loopCounts?: Record<string, number>;
  approvals: Approval[];
  /** Last event seq handed out. */
  seq: number;
  checkpointSequence: number;
  failureCount: number;
  /**
   * Highest attempt number handed out for nodes a replan removed, so a node added back later
   * continues its attempt numbers (the store keys attempts by run, node and attempt).
   */
  retiredAttempts?: Record<string, number>;
  /** submissionId → the first outcome, so a retried delivery changes nothing (docs/semantics.md §7). */
  submissions: Record<string, SubmitOutcome>;
  cancelled?: { by: string; reason?: string; at: string };
  /** When the plan-level deadline warning fired (docs/semantics.md §9); it never fires twice. */
  planDeadlineWarnedAt?: string;
  /** When the plan-level deadline expired and was escalated (docs/semantics.md §9). */
  planEscalatedAt?: string;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /**
   * The secret every work-item token of this run is derived from (`./tokens.ts`), drawn once by the
   * workflow. It travels in the workflow's state and hand-over only: never in events, rows or snapshots.
   */
  tokenSecret?: string;
  /** Results must carry their attempt's token: the plan's `requireWorkItemTokens` or the worker's setting. */
  requireWorkItemTokens?: boolean;
  /** On a child run (docs/semantics.md, "Sub-plans"): the parent run, and the node and attempt it runs for. */
  parent?: { runId: string; nodeId: string; attempt: number };
  /** What the run's results spent, summed (docs/semantics.md, "Budgets"). Absent until a result reports usage. */
  usage?: Usage;
  /**
   * The plan budget's progress: when its warning fired, when the run passed it (the run is blocked
   * while `exceededAt` is set) and the limits an operator raised it to.
   */
  planBudget?: { warnedAt?: string; exceededAt?: string; raised?: { maxCostUsd?: number; maxTokens?: number } };
}

/** What the caller of `submitNodeResult` / `submitHumanResponse` learns. */
export interface SubmitOutcome {
  /** The message was taken and recorded (a refused one throws instead). Whether the result passed is `verdict`. */
  accepted: true;
  nodeId: string;
  /** The attempt this message answered. */
  attempt: number;
  nodeStatus: NodeStatus;
  runStatus: RunStatus;
  issues: Issue[];
  /**
   * Whether the result itself passed: `completed` or `partial` (warnings only), `rejected`
   * (blocking issues) or `failed` (the agent reported a failure). Absent in outcomes recorded
   * before it existed.
   */
  verdict?: 'completed' | 'partial' | 'rejected' | 'failed';
  /** The failure class of a rejected or failed result. */
  failureClass?: FailureClass;
  /** The node is tried again: this attempt is given out next (counted `of` the node's budget). */
  nextAttempt?: { attempt: number; of: number };
  /** The node's attempt budget (`retry.maxAttempts`, default 1), with a rejected or failed result. */
  maxAttempts?: number;
  /** What the plan did about a failure that is not tried again (`onFailure`; default abort). */
  failureAction?: FailureAction;
  /** One sentence for people: what happened and what happens next. */
  message?: string;
  approvalId?: string;
  approvalStatus?: ApprovalStatus;
  /** True when this answers a `submissionId` seen before: nothing changed. */
  duplicate?: boolean;
  /**
   * A vote on a quorum approval: where the tally stands after it (`approvals` of `required`, who has
   * not voted yet) and whether it resolved the approval (docs/semantics.md, "Quorum approvals").
   */
  quorum?: { approvals: number; required: number; votes: number; waitingFor: string[]; resolved: boolean };
}

export type RefusalReason =
  | 'run-finished'
  | 'unknown-node'
  | 'not-agent-node'
  | 'node-not-running'
  | 'stale-attempt'
  /** A result without the current attempt's work-item token on a run that requires one, or with a wrong token. */
  | 'invalid-token'
  | 'no-pending-approval'
  | 'ambiguous-approval'
  | 'approval-mismatch'
  | 'not-authorized'
  /** An approver answered a quorum approval a second time: each approver votes once per approval. */
  | 'already-voted'
  | 'invalid-response'
  | 'invalid-payload'
  /** The message is larger than a limit (size or artifact count; docs/security.md). */
  | 'payload-too-large'
  | 'not-retryable'
  | 'nothing-to-resume'
  | 'invalid-spec'
  | 'duplicate-submission'
  /** A `raiseBudget` that raises nothing: the run has no such budget, or the new limit is not higher. */
  | 'budget-not-raised';

export interface Refusal {
  refused: true;
  reason: RefusalReason;
  message: string;
}

/** A request for the validation activity: a value checked against a schema and completion checks. */
export interface ValidationRequest {
  /** The schema to check `value` against, by registry name; absent = no schema check. */
  schemaRef?: string;
  /** The registry entries the check needs (the schema and what it `$ref`s by name). */
  schemas: Record<string, unknown>;
  value: unknown;
  checks: CompletionCheck[];
  /** The node context for `condition` checks and path lookups (docs/semantics.md §4). */
  context: NodeContext;
  /** Issue code for schema errors: `schema` for outputs, `input-schema` for inputs. */
  schemaIssueCode: string;
}

export interface NodeContext {
  input: unknown;
  output: unknown;
  artifact: Record<string, Artifact>;
  run: { input: unknown };
  /** The node's loop iteration: 1 outside loops and in a body's first run. */
  iteration: number;
}

/** What a timer waits for (docs/semantics.md §5, §9). */
export type TimerKind = 'ready' | 'timeout' | 'deadline-warning' | 'deadline' | 'plan-deadline-warning' | 'plan-deadline';

/**
 * A timer the shell must run now (`pendingTimers`): one Temporal timer per key, named by `summary`.
 * Keys: `ready:<node>`, `timeout:<node>#<attempt>`, `deadline-warning:<node>#<attempt>`,
 * `deadline:<node>#<attempt>`, `plan-deadline-warning`, `plan-deadline`. When it fires, the shell
 * calls `fireDueTimers(state, now)`; a key that is no longer listed is a timer to cancel.
 */
export interface PendingTimer {
  key: string;
  kind: TimerKind;
  nodeId?: string;
  attempt?: number;
  /** When it is due (ISO time). */
  at: string;
  /** Short text for the Web UI, e.g. `research: timeout of attempt 2 at 2026-…`. */
  summary: string;
}

/** The result of one engine step: the new state plus what the shell must carry out. */
export interface Transition {
  state: RunState;
  events: RunEvent[];
  checkpoint?: Checkpoint;
  /** Owners to wake (docs/semantics.md §12). Until delivery exists they are reachable via the `workItem` query. */
  workItems: WorkItem[];
  /** One sentence for the caller of an operation (cancel, resume, retry): what it did and what comes next. */
  summary?: string;
  /** Child runs to start and to cancel (docs/semantics.md, "Sub-plans"); absent when there are none. */
  subplans?: SubplanEffects;
}

/** An accepted result or response: the transition plus the outcome the caller is answered with. */
export type AppliedMessage = Transition & { outcome: SubmitOutcome };

export interface NodeView {
  id: string;
  type: NodeType;
  label?: string;
  /** What the node's owner is asked to do (the brief's objective). */
  objective?: string;
  owner?: Owner;
  status: NodeStatus;
  /** Attempts recorded so far. */
  attempts: number;
  /** The attempt the node waits for now (running or awaiting a person). */
  currentAttempt?: number;
  /** The node's attempt budget (`retry.maxAttempts`, default 1). */
  maxAttempts?: number;
  /** The node's result: the latest attempt's output, unless that attempt failed (then absent). */
  output?: unknown;
  failureClass?: FailureClass;
  issues: Issue[];
  scheduledUntil?: string;
  /** The latest recorded attempt, passed or not: the reason a node failed is here. */
  lastAttempt?: Pick<AttemptRecord, 'attempt' | 'status' | 'by' | 'at' | 'failureClass' | 'failureMessage'>;
  /** The node's loop iteration, for nodes inside a loop body (1 in the body's first run). */
  iteration?: number;
  /** The most iterations of the innermost loop holding the node (with `iteration`). */
  maxIterations?: number;
  /** A fanned-out node's instances, in index order (docs/semantics.md, "Fan-out"). */
  instances?: InstanceView[];
  /** A `plan` node: the run id of its latest child run, and of every child run it had (oldest first). */
  childRunId?: string;
  childRunIds?: string[];
  /** What the node's attempts spent, summed, with `tokens` = input + output (absent: none reported). */
  usage?: Usage & { tokens: number };
  /** The node's budget, when it has one (docs/semantics.md, "Budgets"). */
  budget?: { maxCostUsd?: number; maxTokens?: number; warnAt: number };
}

/** One instance of a fanned-out node, as `snapshot` and `status --json` list it. */
export interface InstanceView {
  /** `<nodeId>[<index>]`: the id results and responses name. */
  id: string;
  index: number;
  status: NodeStatus;
  attempts: number;
  currentAttempt?: number;
  /** The instance's output (null when it was skipped; absent while it has none). */
  output?: unknown;
  failureClass?: FailureClass;
  /** An instance of a `plan` node: its latest child run. */
  childRunId?: string;
}

/** What the `snapshot` query and the workflow's return value carry. */
export interface RunSnapshot {
  runId: string;
  planId: string;
  title?: string;
  specVersion: number;
  status: RunStatus;
  input: unknown;
  nodes: NodeView[];
  approvals: Array<Pick<Approval, 'approvalId' | 'nodeId' | 'status' | 'attempt' | 'kind' | 'approvers' | 'respondedBy' | 'quorum' | 'votes'> & { owner: Owner }>;
  lastSeq: number;
  failureCount: number;
  checkpointSequence: number;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** On a child run (docs/semantics.md, "Sub-plans"): the parent run, and its node this run works for. */
  parent?: { runId: string; nodeId: string; attempt: number };
  /** What the run's results spent, summed, with `tokens` = input + output (absent: none reported). */
  usage?: Usage & { tokens: number };
  /** The plan's budget in force (raised limits included), and whether the run is blocked by it. */
  budget?: { maxCostUsd?: number; maxTokens?: number; warnAt: number; exceeded: boolean };
  /**
   * Present once the store refused some of the run's records for good (bad data, a constraint):
   * the run keeps going in Temporal, but those events are missing from the store. Absent while
   * every record was stored (a store that is merely down delays recording instead).
   */
  recording?: RecordingProblem;
}

/** How many rejected seqs a `RecordingProblem` lists (it counts all of them in `failedCount`). */
export const MAX_LISTED_FAILED_SEQS = 100;

/**
 * Records of a run that the store rejected (README §8, "What is recorded and when"), kept by the
 * workflow and shown by `plan-runner status`.
 */
export interface RecordingProblem {
  /**
   * `failing`: the latest store write rejected records. `incomplete`: writes succeed again, but the
   * events in `failedSeqs` are missing from the store for good.
   */
  status: 'failing' | 'incomplete';
  /** When the store first rejected a record of this run (the worker's clock). */
  since: string;
  /** When it last did. */
  lastFailureAt: string;
  /** The latest rejection: the store (dialect and location) and the database's reason. */
  reason: string;
  /** Seqs of the events not in the store, ascending: the first `MAX_LISTED_FAILED_SEQS` of them. */
  failedSeqs: number[];
  /** How many events are not in the store. */
  failedCount: number;
}
