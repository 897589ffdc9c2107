/**
 * One engine step: a private copy of the run state, the events it emits and the owners it wakes.
 * Every public engine operation opens a step, applies its rule, re-runs readiness and dispatch, and
 * closes the step into a `Transition` (with a checkpoint when anything changed, docs/semantics.md §10).
 */
import { setOwn } from './own';
import { copyNodeRuns, deriveRunStatus, editNode, findNodeRun, freezeNodeRuns, isActive } from './run-state';
import { subplanEffects } from './subplans';
import { RECORD_ONLY_EVENT_TYPES } from './types';
import type {
  Checkpoint,
  CheckpointReason,
  EventType,
  NodeRun,
  NodeStatus,
  RunEvent,
  RunState,
  Transition,
  WorkItem,
} from './types';

export type EventFields = Omit<RunEvent, 'id' | 'seq' | 'runId' | 'planId' | 'type' | 'at' | 'by' | 'message'> & {
  message: string;
  by?: string;
};

/** Who the engine's own events are by: readiness, dispatch, run status, checkpoints. */
export const ENGINE_ACTOR = 'engine';

/**
 * What a consequence was a consequence of: the act (its author and its first event) that led the
 * engine to emit it. Kept in the event's `detail.causedBy`, so `events` can say
 * `by engine, after answer #12 by bob` instead of crediting bob with a skip he never chose.
 */
export interface EventCause {
  by: string;
  seq?: number;
  type?: EventType;
}

export class Step {
  readonly state: RunState;
  /** Set once the step's own rule is done and the engine settles the graph (`consequences()`). */
  private cause?: EventCause;
  readonly events: RunEvent[] = [];
  readonly workItems: WorkItem[] = [];
  /** Set by rules that change state without emitting a node event. */
  changed = false;
  /** A checkpoint reason that says more than the act's own (a join that cancelled branches). */
  reasonOverride?: CheckpointReason;
  /** Child runs that ended by themselves in this step (completed or cancelled): nothing to cancel. */
  readonly closedChildren = new Set<string>();

  constructor(
    private readonly previous: RunState,
    readonly now: string,
    readonly by: string,
  ) {
    // Copy-on-write. The run and its approvals are copied (shallowly); its node runs are shared with
    // the previous state until a rule edits one, which gets its node run through `edit` (`editNode`):
    // the node run is copied then, once per step. The values inside them (spec, inputs, outputs,
    // attempt records, issues, artifacts, the submission log) are shared too: rules replace those
    // values and never edit them in place, so the previous state stays as it was. This runs after
    // every message, on plans of a thousand nodes: copying every node run was a tenth of a step, and
    // finding what changed by comparing every node run field by field a fifth (bench/README.md).
    // Node runs are frozen while shared (those of the previous state, now, if they are not yet; the
    // step's own copies when it finishes), so an edit that does not go through `edit` throws.
    this.state = {
      ...previous,
      nodes: copyNodeRuns(previous.nodes),
      approvals: previous.approvals.map((approval) => ({ ...approval })),
    };
  }

  /** The node run at `at` (node id, position or node run), ready to be edited: see `editNode`. */
  edit(at: NodeRun | string | number): NodeRun {
    return editNode(this.state, at);
  }

  /**
   * From here on, events are the engine's consequences of the act this step began with (readiness,
   * skips, dispatch, the run status, the checkpoint): they are by `engine`, with the act as their
   * cause. Events the act itself emitted keep its author.
   */
  consequences(): void {
    if (this.cause || this.by === ENGINE_ACTOR) return;
    const first = this.events.find((event) => event.by === this.by);
    this.cause = { by: this.by, ...(first ? { seq: first.seq, type: first.type } : {}) };
  }

  emit(type: EventType, fields: EventFields): RunEvent {
    const seq = this.state.seq + 1;
    this.state.seq = seq;
    const consequence = fields.by === undefined && this.cause !== undefined;
    const event: RunEvent = {
      id: `${this.state.runId}:${seq}`,
      seq,
      runId: this.state.runId,
      planId: this.state.planId,
      type,
      ...fields,
      by: fields.by ?? (this.cause ? ENGINE_ACTOR : this.by),
      at: this.now,
    };
    if (consequence) event.detail = { ...(event.detail ?? {}), causedBy: this.cause };
    // Events of a node inside a loop body say which iteration they belong to.
    if (event.nodeId !== undefined && event.iteration === undefined) {
      const iteration = findNodeRun(this.state, event.nodeId)?.iteration;
      if (iteration !== undefined) event.iteration = iteration;
    }
    if (event.detail === undefined) delete event.detail;
    this.events.push(event);
    return event;
  }

  /** Moves a node and emits the event that says so (events carry from/to statuses). `node` is editable (`edit`). */
  moveNode(node: NodeRun, to: NodeStatus, type: EventType, message: string, detail?: Record<string, unknown>): void {
    const from = node.status;
    node.status = to;
    if (['completed', 'partial', 'failed', 'skipped', 'cancelled'].includes(to)) node.finishedAt = this.now;
    this.emit(type, {
      nodeId: node.nodeId,
      attempt: node.currentAttempt ?? (node.attempts || undefined),
      fromStatus: from,
      toStatus: to,
      message,
      detail,
    });
  }

  activeCount(): number {
    return this.state.nodes.filter(isActive).length;
  }

  /** Re-derives the run status and emits `run-status-changed` when it moved. */
  updateRunStatus(): void {
    const from = this.state.status;
    const to = deriveRunStatus(this.state);
    if (from === to) return;
    this.state.status = to;
    if (to === 'completed' || to === 'aborted') this.state.finishedAt = this.now;
    else delete this.state.finishedAt;
    this.emit('run-status-changed', {
      fromStatus: from,
      toStatus: to,
      message: runStatusMessage(to),
    });
  }

  /** Closes the step. A checkpoint (and its event) is recorded when anything changed. */
  finish(actReason: CheckpointReason): Transition {
    const reason = this.reasonOverride ?? actReason;
    let checkpoint: Checkpoint | undefined;
    const changedSomething = this.changed || this.events.some((event) => !RECORD_ONLY_EVENT_TYPES.includes(event.type));
    if (changedSomething) {
      this.state.updatedAt = this.now;
      checkpoint = takeCheckpoint(this.state, reason, this.now);
      this.emit('checkpoint-saved', {
        message: `Checkpoint ${checkpoint.sequence} saved (${reason}).`,
        detail: { sequence: checkpoint.sequence, reason, runStatus: checkpoint.runStatus },
      });
    }
    // The step's own node runs are shared from here on (the next step starts from this state).
    freezeNodeRuns(this.state.nodes);
    const transition: Transition = { state: this.state, events: this.events, checkpoint, workItems: this.workItems };
    // Child runs to start or cancel (docs/semantics.md, "Sub-plans"): only plans with plan nodes have any.
    const subplans = subplanEffects(this.previous, this.state, this.closedChildren);
    if (subplans.start.length > 0 || subplans.cancel.length > 0) transition.subplans = subplans;
    return transition;
  }
}

function runStatusMessage(status: string): string {
  switch (status) {
    case 'completed':
      return 'The run completed: every node finished.';
    case 'awaiting-human':
      return 'The run is waiting for a person.';
    case 'blocked':
      return 'The run is blocked: nothing can move until someone retries, resumes or replans.';
    case 'failed':
      return 'The run failed: a node failed and its failure action aborted the run.';
    case 'aborted':
      return 'The run was cancelled.';
    default:
      return 'The run is running.';
  }
}

export function takeCheckpoint(state: RunState, reason: CheckpointReason, now: string): Checkpoint {
  state.checkpointSequence += 1;
  // One pass over the nodes: this runs after every transition, on plans of a thousand nodes.
  const readyNodeIds: string[] = [];
  const activeNodeIds: string[] = [];
  const completedNodeIds: string[] = [];
  const nodeStatuses: Record<string, NodeStatus> = {};
  const artifactIds: string[] = [];
  for (const node of state.nodes) {
    // A plain assignment: defining every property (`setOwn`) cost a sixth of a 1,000-node step. Node
    // ids are never `__proto__` (the spec refuses it); `setOwn` stays as the second line of defence.
    if (node.nodeId === '__proto__') setOwn(nodeStatuses, node.nodeId, node.status);
    else nodeStatuses[node.nodeId] = node.status;
    if (node.status === 'ready') readyNodeIds.push(node.nodeId);
    else if (isActive(node)) activeNodeIds.push(node.nodeId);
    else if (node.status === 'completed' || node.status === 'partial') completedNodeIds.push(node.nodeId);
    for (const name of Object.keys(node.artifacts)) artifactIds.push(`${node.nodeId}/${name}`);
  }
  return { sequence: state.checkpointSequence, reason, runStatus: state.status, readyNodeIds, activeNodeIds, completedNodeIds, nodeStatuses, artifactIds, at: now };
}
