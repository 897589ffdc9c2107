/**
 * Row mappers: the engine's records (camelCase, optional fields left out) to table rows (snake_case,
 * NULL for absent) and back. Reads rebuild objects field by field, so nothing a driver adds to a row
 * (libsql's `_metadata`, for one) leaks out, and absent fields are left out rather than `undefined`,
 * so a stored event deep-equals the event the engine produced.
 */
import type { Insertable, Selectable } from 'kysely';
import type {
  Approval,
  ApprovalStatus,
  Artifact,
  AttemptStatus,
  Checkpoint,
  CheckpointReason,
  EventType,
  FailureClass,
  Issue,
  NodeRunRecord,
  NodeStatus,
  NodeType,
  QuorumVote,
  Usage,
  RunEvent,
  RunRecord,
  RunStatus,
  Severity,
  AttemptRow,
  PlanSpec,
} from '../engine';
import { decodeJson, encodeJson, encodeJsonOr } from './json-codec';
import type {
  ApprovalsTable,
  ArtifactsTable,
  AttemptsTable,
  CheckpointsTable,
  EventsTable,
  NodeRunsTable,
  RunSpecsTable,
  RunsTable,
  ValidationIssuesTable,
} from './schema';
import type { StoredApproval, StoredAttempt, StoredNodeRun, StoredRun, StoredSpecVersion } from './types';

/**
 * Drops keys whose value is undefined (absent). A JSON column holding `null` decodes to null and
 * stays: it is a stored value.
 */
function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) if (value[key] === undefined) delete value[key];
  return value;
}

const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);
const orUndefined = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

// ---- runs ----------------------------------------------------------------------------------------

/** The runs row of a record, without `spec` (written only when the record carries one). */
export function runRow(run: RunRecord): Omit<Insertable<RunsTable>, 'spec'> {
  return {
    run_id: run.runId,
    plan_id: run.planId,
    title: orNull(run.title),
    spec_version: run.specVersion,
    status: run.status,
    input: encodeJson(run.input),
    failure_count: run.failureCount,
    checkpoint_sequence: run.checkpointSequence,
    last_seq: run.lastSeq,
    started_at: run.startedAt,
    updated_at: run.updatedAt,
    finished_at: orNull(run.finishedAt),
    cancelled_by: orNull(run.cancelledBy),
    cancel_reason: orNull(run.cancelReason),
    parent_run_id: orNull(run.parentRunId),
  };
}

export function storedRun(row: Omit<Selectable<RunsTable>, 'spec'>): StoredRun {
  return compact<StoredRun>({
    runId: row.run_id,
    planId: row.plan_id,
    title: orUndefined(row.title),
    specVersion: row.spec_version,
    status: row.status as RunStatus,
    input: decodeJson(row.input),
    failureCount: row.failure_count,
    checkpointSequence: row.checkpoint_sequence,
    lastSeq: row.last_seq,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    finishedAt: orUndefined(row.finished_at),
    cancelledBy: orUndefined(row.cancelled_by),
    cancelReason: orUndefined(row.cancel_reason),
    parentRunId: orUndefined(row.parent_run_id),
  });
}

// ---- run_specs -----------------------------------------------------------------------------------

/** The `run_specs` row of a record that carries `spec`: its version, first recorded at the record's time. */
export function runSpecRow(runId: string, run: RunRecord, spec: PlanSpec): Insertable<RunSpecsTable> {
  return { run_id: runId, spec_version: run.specVersion, spec: encodeJsonOr(spec, {}), recorded_at: run.updatedAt };
}

export function storedSpecVersion(row: Selectable<RunSpecsTable>): StoredSpecVersion {
  return { specVersion: row.spec_version, recordedAt: row.recorded_at, spec: decodeJson<PlanSpec>(row.spec) as PlanSpec };
}

// ---- node_runs -----------------------------------------------------------------------------------

export function nodeRunRow(runId: string, node: NodeRunRecord): Insertable<NodeRunsTable> {
  return {
    run_id: runId,
    node_id: node.nodeId,
    position: node.position,
    type: node.type,
    status: node.status,
    attempts: node.attempts,
    current_attempt: orNull(node.currentAttempt),
    resolved_input: encodeJson(node.resolvedInput),
    output: encodeJson(node.output),
    notes: orNull(node.notes),
    handoff_context: encodeJson(node.handoffContext),
    failure_class: orNull(node.failureClass),
    last_issues: encodeJsonOr(node.lastIssues, []),
    approval_id: orNull(node.approvalId),
    scheduled_until: orNull(node.scheduledUntil),
    started_at: orNull(node.startedAt),
    finished_at: orNull(node.finishedAt),
    iteration: orNull(node.iteration),
    instance_of: orNull(node.instanceOf),
    instance_index: orNull(node.index),
    child_run_id: orNull(node.childRunId),
  };
}

export function storedNodeRun(row: Selectable<NodeRunsTable>): StoredNodeRun {
  return compact<StoredNodeRun>({
    runId: row.run_id,
    nodeId: row.node_id,
    position: row.position,
    type: row.type as NodeType,
    status: row.status as NodeStatus,
    attempts: row.attempts,
    currentAttempt: orUndefined(row.current_attempt),
    resolvedInput: decodeJson(row.resolved_input),
    output: decodeJson(row.output),
    notes: orUndefined(row.notes),
    handoffContext: decodeJson(row.handoff_context),
    failureClass: orUndefined(row.failure_class) as FailureClass | undefined,
    lastIssues: decodeJson<Issue[]>(row.last_issues) ?? [],
    approvalId: orUndefined(row.approval_id),
    scheduledUntil: orUndefined(row.scheduled_until),
    startedAt: orUndefined(row.started_at),
    finishedAt: orUndefined(row.finished_at),
    iteration: orUndefined(row.iteration),
    instanceOf: orUndefined(row.instance_of),
    index: orUndefined(row.instance_index),
    childRunId: orUndefined(row.child_run_id),
  });
}

// ---- attempts, validation_issues, artifacts ------------------------------------------------------

export function attemptRow(runId: string, attempt: AttemptRow): Insertable<AttemptsTable> {
  return {
    run_id: runId,
    node_id: attempt.nodeId,
    attempt: attempt.attempt,
    kind: attempt.kind,
    by: attempt.by,
    at: attempt.at,
    submission_id: orNull(attempt.submissionId),
    status: attempt.status,
    failure_class: orNull(attempt.failureClass),
    failure_message: orNull(attempt.failureMessage),
    output: encodeJson(attempt.output),
    notes: orNull(attempt.notes),
    iteration: orNull(attempt.iteration),
    usage: encodeJson(attempt.usage),
  };
}

export function issueRows(runId: string, attempt: AttemptRow): Array<Insertable<ValidationIssuesTable>> {
  return attempt.issues.map((issue, idx) => ({
    run_id: runId,
    node_id: attempt.nodeId,
    attempt: attempt.attempt,
    idx,
    severity: issue.severity,
    code: issue.code,
    message: issue.message,
    path: orNull(issue.path),
  }));
}

export function artifactRows(runId: string, attempt: AttemptRow): Array<Insertable<ArtifactsTable>> {
  return attempt.artifacts.map((artifact, idx) => ({
    run_id: runId,
    node_id: attempt.nodeId,
    attempt: attempt.attempt,
    name: artifact.name,
    artifact_id: `${attempt.nodeId}/${artifact.name}`,
    idx,
    kind: artifact.kind,
    pointer: artifact.pointer,
    schema_ref: orNull(artifact.schemaRef),
    payload: encodeJson(artifact.payload),
  }));
}

export function storedIssue(row: Selectable<ValidationIssuesTable>): Issue {
  return compact<Issue>({ severity: row.severity as Severity, code: row.code, message: row.message, path: orUndefined(row.path) });
}

export function storedArtifact(row: Selectable<ArtifactsTable>): Artifact {
  const artifact: Artifact = { name: row.name, kind: row.kind, pointer: row.pointer };
  if (row.schema_ref !== null) artifact.schemaRef = row.schema_ref;
  if (row.payload !== null) artifact.payload = decodeJson(row.payload);
  return artifact;
}

export function storedAttempt(row: Selectable<AttemptsTable>, issues: Issue[], artifacts: Artifact[]): StoredAttempt {
  return compact<StoredAttempt>({
    runId: row.run_id,
    nodeId: row.node_id,
    attempt: row.attempt,
    kind: row.kind as StoredAttempt['kind'],
    by: row.by,
    at: row.at,
    submissionId: orUndefined(row.submission_id),
    status: row.status as AttemptStatus,
    failureClass: orUndefined(row.failure_class) as FailureClass | undefined,
    failureMessage: orUndefined(row.failure_message),
    output: decodeJson(row.output),
    notes: orUndefined(row.notes),
    iteration: orUndefined(row.iteration),
    usage: decodeJson<Usage>(row.usage),
    issues,
    artifacts,
  });
}

// ---- approvals -----------------------------------------------------------------------------------

export function approvalRow(runId: string, approval: Approval): Insertable<ApprovalsTable> {
  return {
    run_id: runId,
    approval_id: approval.approvalId,
    node_id: approval.nodeId,
    attempt: approval.attempt,
    kind: approval.kind,
    owner_kind: approval.owner.kind,
    owner_ref: approval.owner.ref,
    approvers: encodeJsonOr(approval.approvers, []),
    status: approval.status,
    requested_at: approval.requestedAt,
    resolved_at: orNull(approval.resolvedAt),
    responded_by: orNull(approval.respondedBy),
    response: encodeJson(approval.response),
    issues: encodeJsonOr(approval.issues, []),
    quorum: encodeJson(approval.quorum),
    votes: encodeJson(approval.votes),
  };
}

export function storedApproval(row: Selectable<ApprovalsTable>): StoredApproval {
  return compact<StoredApproval>({
    runId: row.run_id,
    approvalId: row.approval_id,
    nodeId: row.node_id,
    attempt: row.attempt,
    kind: row.kind as StoredApproval['kind'],
    owner: { kind: row.owner_kind as StoredApproval['owner']['kind'], ref: row.owner_ref },
    approvers: decodeJson<string[]>(row.approvers) ?? [],
    status: row.status as ApprovalStatus,
    requestedAt: row.requested_at,
    resolvedAt: orUndefined(row.resolved_at),
    respondedBy: orUndefined(row.responded_by),
    response: decodeJson<Record<string, unknown>>(row.response),
    issues: decodeJson<Issue[]>(row.issues) ?? [],
    quorum: decodeJson<{ required: number; veto: string[] }>(row.quorum),
    votes: decodeJson<QuorumVote[]>(row.votes),
  });
}

// ---- checkpoints ---------------------------------------------------------------------------------

export function checkpointRow(runId: string, checkpoint: Checkpoint): Insertable<CheckpointsTable> {
  return {
    run_id: runId,
    sequence: checkpoint.sequence,
    reason: checkpoint.reason,
    run_status: checkpoint.runStatus,
    ready_node_ids: encodeJsonOr(checkpoint.readyNodeIds, []),
    active_node_ids: encodeJsonOr(checkpoint.activeNodeIds, []),
    completed_node_ids: encodeJsonOr(checkpoint.completedNodeIds, []),
    node_statuses: encodeJsonOr(checkpoint.nodeStatuses, {}),
    artifact_ids: encodeJsonOr(checkpoint.artifactIds, []),
    at: checkpoint.at,
  };
}

export function storedCheckpoint(row: Selectable<CheckpointsTable>): Checkpoint {
  return {
    sequence: row.sequence,
    reason: row.reason as CheckpointReason,
    runStatus: row.run_status as RunStatus,
    readyNodeIds: decodeJson<string[]>(row.ready_node_ids) ?? [],
    activeNodeIds: decodeJson<string[]>(row.active_node_ids) ?? [],
    completedNodeIds: decodeJson<string[]>(row.completed_node_ids) ?? [],
    nodeStatuses: decodeJson<Record<string, NodeStatus>>(row.node_statuses) ?? {},
    artifactIds: decodeJson<string[]>(row.artifact_ids) ?? [],
    at: row.at,
  };
}

// ---- events --------------------------------------------------------------------------------------

export function eventRow(event: RunEvent): Insertable<EventsTable> {
  return {
    run_id: event.runId,
    seq: event.seq,
    id: event.id,
    plan_id: event.planId,
    type: event.type,
    node_id: orNull(event.nodeId),
    attempt: orNull(event.attempt),
    approval_id: orNull(event.approvalId),
    from_status: orNull(event.fromStatus),
    to_status: orNull(event.toStatus),
    message: event.message,
    detail: encodeJson(event.detail),
    by: event.by,
    at: event.at,
    iteration: orNull(event.iteration),
  };
}

export function storedEvent(row: Selectable<EventsTable>): RunEvent {
  return compact<RunEvent>({
    id: row.id,
    seq: row.seq,
    runId: row.run_id,
    planId: row.plan_id,
    type: row.type as EventType,
    nodeId: orUndefined(row.node_id),
    attempt: orUndefined(row.attempt),
    approvalId: orUndefined(row.approval_id),
    fromStatus: orUndefined(row.from_status),
    toStatus: orUndefined(row.to_status),
    message: row.message,
    detail: decodeJson<Record<string, unknown>>(row.detail),
    by: row.by,
    at: row.at,
    iteration: orUndefined(row.iteration),
  });
}
