/**
 * The store's tables as Kysely sees them. Column names are snake_case so people can query the
 * database by hand; the row mappers in `rows.ts` translate to and from the engine's camelCase shapes.
 *
 * `Json` columns are `jsonb` on PostgreSQL and TEXT holding JSON on SQLite. Both travel as JSON text
 * (the PostgreSQL pool is told not to parse jsonb), so one codec (`json-codec.ts`) serves both.
 * SQL NULL means "absent" (the engine's `undefined`); the JSON text `null` is a stored null.
 * Timestamps are the engine's ISO-8601 strings, stored as text unchanged on both dialects.
 */

/** JSON text (see `json-codec.ts`). */
export type Json = string;

export interface RunsTable {
  run_id: string;
  plan_id: string;
  title: string | null;
  spec_version: number;
  status: string;
  input: Json | null;
  failure_count: number;
  checkpoint_sequence: number;
  /** The highest event seq recorded: the idempotency watermark of `recordTransitions`. */
  last_seq: number;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
  cancelled_by: string | null;
  cancel_reason: string | null;
  /** On a child run (docs/semantics.md, "Sub-plans"): its parent run. */
  parent_run_id: string | null;
  /** The spec the run was started (or last replanned) with; every version is in `run_specs`. */
  spec: Json | null;
}

/** One spec version of a run: the one it started with (1) and each replan's (2, 3, …). */
export interface RunSpecsTable {
  run_id: string;
  spec_version: number;
  spec: Json;
  /** When the version was first recorded: the workflow time of the record that carried it. */
  recorded_at: string;
}

export interface NodeRunsTable {
  run_id: string;
  node_id: string;
  position: number;
  type: string;
  status: string;
  attempts: number;
  current_attempt: number | null;
  resolved_input: Json | null;
  output: Json | null;
  notes: string | null;
  handoff_context: Json | null;
  failure_class: string | null;
  last_issues: Json;
  approval_id: string | null;
  scheduled_until: string | null;
  started_at: string | null;
  finished_at: string | null;
  /** The node's loop iteration (NULL outside loops; migration 0003). */
  iteration: number | null;
  /** On an instance of a fanned-out node (`research[2]`): the node it belongs to (migration 0004). */
  instance_of: string | null;
  /** On an instance: its 0-based index (migration 0004). */
  instance_index: number | null;
  /** On a plan node: its latest child run (docs/semantics.md, "Sub-plans"). */
  child_run_id: string | null;
}

export interface AttemptsTable {
  run_id: string;
  node_id: string;
  attempt: number;
  kind: string;
  by: string;
  at: string;
  submission_id: string | null;
  status: string;
  failure_class: string | null;
  failure_message: string | null;
  output: Json | null;
  notes: string | null;
  /** The loop iteration the attempt belongs to (NULL outside loops; migration 0003). */
  iteration: number | null;
  /** What the attempt spent, `{inputTokens?, outputTokens?, costUsd?}` (migration 0007); NULL when it reported nothing. */
  usage: Json | null;
}

export interface ValidationIssuesTable {
  run_id: string;
  node_id: string;
  attempt: number;
  /** Position in the attempt's issue list (issues keep the order they were found in). */
  idx: number;
  severity: string;
  code: string;
  message: string;
  path: string | null;
}

export interface ArtifactsTable {
  run_id: string;
  node_id: string;
  attempt: number;
  name: string;
  /** `<nodeId>/<name>`, as checkpoints list them. */
  artifact_id: string;
  /** Position in the submitted artifact list. */
  idx: number;
  kind: string;
  pointer: string;
  schema_ref: string | null;
  payload: Json | null;
}

export interface ApprovalsTable {
  run_id: string;
  /** `<nodeId>#<attempt>`. */
  approval_id: string;
  node_id: string;
  attempt: number;
  kind: string;
  owner_kind: string;
  owner_ref: string;
  approvers: Json;
  status: string;
  requested_at: string;
  resolved_at: string | null;
  responded_by: string | null;
  response: Json | null;
  issues: Json;
  /** A quorum approval's `{required, veto}` (migration 0006); NULL otherwise. */
  quorum: Json | null;
  /** A quorum approval's votes so far, in order (migration 0006); NULL otherwise. */
  votes: Json | null;
}

export interface CheckpointsTable {
  run_id: string;
  sequence: number;
  reason: string;
  run_status: string;
  ready_node_ids: Json;
  active_node_ids: Json;
  completed_node_ids: Json;
  node_statuses: Json;
  artifact_ids: Json;
  at: string;
}

export interface EventsTable {
  run_id: string;
  seq: number;
  /** `<runId>:<seq>`. */
  id: string;
  plan_id: string;
  type: string;
  node_id: string | null;
  attempt: number | null;
  approval_id: string | null;
  from_status: string | null;
  to_status: string | null;
  message: string;
  detail: Json | null;
  by: string;
  at: string;
  /** The node's loop iteration (NULL outside loops; migration 0003). */
  iteration: number | null;
}

export interface SinkStatusTable {
  sink_id: string;
  disabled_at: string;
  reason: string;
}

export interface DeliveriesTable {
  sink_id: string;
  run_id: string;
  /** The highest event seq delivered to the sink (never moves backwards). */
  delivered_seq: number;
  updated_at: string;
}

/** A person who may use the console and its API (migration 0005): their personal token, hashed. */
export interface UsersTable {
  name: string;
  /** SHA-256 of the personal token, hex. The token itself is shown once and never stored. */
  token_hash: string;
  created_at: string;
  /** Set by `plan-runner users revoke`: the token no longer signs anyone in. */
  revoked_at: string | null;
}

/** A console sign-in (migration 0005): the cookie's session id, hashed, and whose it is. */
export interface SessionsTable {
  /** SHA-256 of the session id the cookie holds, hex. */
  session_hash: string;
  user_name: string;
  created_at: string;
  expires_at: string;
}

export interface Database {
  runs: RunsTable;
  run_specs: RunSpecsTable;
  node_runs: NodeRunsTable;
  attempts: AttemptsTable;
  validation_issues: ValidationIssuesTable;
  artifacts: ArtifactsTable;
  approvals: ApprovalsTable;
  checkpoints: CheckpointsTable;
  events: EventsTable;
  sink_status: SinkStatusTable;
  deliveries: DeliveriesTable;
  users: UsersTable;
  sessions: SessionsTable;
}

/** Every table, in an order that satisfies foreign keys when creating (reverse it to drop). */
export const TABLES: ReadonlyArray<keyof Database> = [
  'runs',
  'run_specs',
  'node_runs',
  'attempts',
  'validation_issues',
  'artifacts',
  'approvals',
  'checkpoints',
  'events',
  'sink_status',
  'deliveries',
  'users',
  'sessions',
];
