/**
 * What the store records of one engine transition (docs/semantics.md §7, §10, §12): the run row, the node runs
 * and approvals the transition changed, the attempts it added, its events and its checkpoint.
 *
 * The workflow hands these records to the `recordTransitions` activity, which writes each in one
 * database transaction, idempotent on (run id, event seq). Only what changed travels, so a long run
 * does not resend its whole history on every step (history stays lean).
 */
import { findNodeRun } from './run-state';
import type { FailureClass, NodeType, PlanSpec } from './spec';
import type {
  Approval,
  AttemptRecord,
  Checkpoint,
  Issue,
  NodeRun,
  NodeStatus,
  RunEvent,
  RunState,
  RunStatus,
  Transition,
} from './types';

/** The `runs` row. `spec` travels only on the first record of a workflow execution. */
export interface RunRecord {
  runId: string;
  planId: string;
  title?: string;
  specVersion: number;
  status: RunStatus;
  input: unknown;
  failureCount: number;
  checkpointSequence: number;
  /** The last event seq of this transition. */
  lastSeq: number;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  cancelledBy?: string;
  cancelReason?: string;
  /** On a child run (docs/semantics.md, "Sub-plans"): the parent run's id. */
  parentRunId?: string;
  spec?: PlanSpec;
}

/** A `node_runs` row: the node's state without its attempt history (attempts have their own table). */
export interface NodeRunRecord {
  nodeId: string;
  /** Position in the spec (0-based): spec order breaks ties everywhere. */
  position: number;
  type: NodeType;
  status: NodeStatus;
  attempts: number;
  currentAttempt?: number;
  resolvedInput?: unknown;
  output?: unknown;
  notes?: string;
  handoffContext?: unknown;
  failureClass?: FailureClass;
  lastIssues: Issue[];
  approvalId?: string;
  scheduledUntil?: string;
  startedAt?: string;
  finishedAt?: string;
  /** The node's loop iteration (absent outside loops). */
  iteration?: number;
  /** On an instance of a fanned-out node (`research[2]`): the node it belongs to. */
  instanceOf?: string;
  /** On an instance: its 0-based index. */
  index?: number;
  /** On a `plan` node: its latest child run's id. */
  childRunId?: string;
}

/** An `attempts` row (with its issues and artifacts, which the store splits into their own tables). */
export type AttemptRow = AttemptRecord & { nodeId: string };

export interface TransitionRecord {
  run: RunRecord;
  nodes: NodeRunRecord[];
  attempts: AttemptRow[];
  approvals: Approval[];
  events: RunEvent[];
  checkpoint?: Checkpoint;
}

/** The node-run fields a `node_runs` row holds (everything but the attempt history and engine bookkeeping). */
const NODE_RUN_ROW_FIELDS = [
  'type',
  'status',
  'attempts',
  'currentAttempt',
  'resolvedInput',
  'output',
  'notes',
  'handoffContext',
  'failureClass',
  'lastIssues',
  'approvalId',
  'scheduledUntil',
  'startedAt',
  'finishedAt',
  'iteration',
  'instanceOf',
  'index',
  'childRunId',
] as const satisfies ReadonlyArray<keyof NodeRun & keyof NodeRunRecord>;

export function nodeRunRecord(node: NodeRun, position: number): NodeRunRecord {
  const record: Partial<NodeRunRecord> = { nodeId: node.nodeId, position };
  for (const field of NODE_RUN_ROW_FIELDS) if (node[field] !== undefined) (record as Record<string, unknown>)[field] = node[field];
  return record as NodeRunRecord;
}

export function runRecord(state: RunState, options: { includeSpec?: boolean } = {}): RunRecord {
  const record: RunRecord = {
    runId: state.runId,
    planId: state.planId,
    title: state.spec.title,
    specVersion: state.specVersion,
    status: state.status,
    input: state.input,
    failureCount: state.failureCount,
    checkpointSequence: state.checkpointSequence,
    lastSeq: state.seq,
    startedAt: state.startedAt,
    updatedAt: state.updatedAt,
    finishedAt: state.finishedAt,
    cancelledBy: state.cancelled?.by,
    cancelReason: state.cancelled?.reason,
    parentRunId: state.parent?.runId,
    ...(options.includeSpec ? { spec: state.spec } : {}),
  };
  for (const key of Object.keys(record) as Array<keyof RunRecord>) if (record[key] === undefined) delete record[key];
  return record;
}

/**
 * The record of `transition`, given the state before it (undefined: everything is new). A node run
 * that is the object the state before had at its position did not change; other node runs and
 * approvals are compared by value, so a rule that rebuilt an object without changing it adds no
 * row. Returns undefined when the transition emitted no event (nothing to record).
 */
export function recordOf(
  before: RunState | undefined,
  transition: Transition,
  options: { includeSpec?: boolean } = {},
): TransitionRecord | undefined {
  if (transition.events.length === 0) return undefined;
  const after = transition.state;
  const nodes: NodeRunRecord[] = [];
  const attempts: AttemptRow[] = [];
  const afterNodes = after.nodes;
  const beforeNodes = before?.nodes;
  // A plain loop: this runs after every message, over every node run of plans of a thousand nodes.
  for (let position = 0; position < afterNodes.length; position += 1) {
    const node = afterNodes[position];
    // Node runs keep their positions from one state to the next (only a replan or a fan-out moves
    // them), so the same position is tried before the lookup.
    const atPosition = beforeNodes?.[position];
    // A step shares the node runs it did not edit with the state before it (copy-on-write, `Step`):
    // the same object is the same row, with nothing to compare.
    if (atPosition === node) continue;
    const previous = atPosition?.nodeId === node.nodeId ? atPosition : before ? findNodeRun(before, node.nodeId) : undefined;
    // An edited copy (or a rebuilt node run) is compared field by field: a rule may edit a node run
    // and leave it as it was, which adds no row.
    if (!previous || differs(previous, node, NODE_RUN_ROW_FIELDS)) nodes.push(nodeRunRecord(node, position));
    // Attempt histories are replaced, never edited, when an attempt is added: same array, nothing new.
    if (previous?.history === node.history) continue;
    const known = new Set((previous?.history ?? []).map((attempt) => attempt.attempt));
    for (const attempt of node.history) if (!known.has(attempt.attempt)) attempts.push({ nodeId: node.nodeId, ...attempt });
  }
  const approvalsBefore = new Map((before?.approvals ?? []).map((approval) => [approval.approvalId, approval]));
  const approvals = after.approvals.filter((approval) => {
    const previous = approvalsBefore.get(approval.approvalId);
    return !previous || differs(previous, approval, keysOf(previous, approval));
  });
  return {
    run: runRecord(after, options),
    nodes,
    attempts,
    approvals,
    events: transition.events,
    ...(transition.checkpoint ? { checkpoint: transition.checkpoint } : {}),
  };
}

/**
 * Whether two versions of a row differ in any of `fields`. A step shares unchanged values with the
 * previous state (see `Step`), so most fields compare by reference; a value that was rebuilt compares
 * by content, so rebuilding an object without changing it adds no row.
 */
function differs<T extends object>(a: T, b: T, fields: ReadonlyArray<keyof T>): boolean {
  // A plain loop: this runs for every field of every node run after every transition.
  for (let i = 0; i < fields.length; i += 1) {
    const field = fields[i];
    if (a[field] !== b[field] && JSON.stringify(a[field]) !== JSON.stringify(b[field])) return true;
  }
  return false;
}

function keysOf<T extends object>(a: T, b: T): Array<keyof T> {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])] as Array<keyof T>;
}
