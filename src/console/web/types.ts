/** The shapes the pages read from the API (the OpenAPI document at /openapi.json is the contract). */

export interface RunListItem {
  runId: string;
  /** Missing on runs that never published their search attributes (e.g. terminated at start). */
  planId?: string;
  title?: string;
  status?: string;
  /** Temporal's own status (Running, Completed, Terminated, …): shown when `status` is missing. */
  temporalStatus: string;
  waitingOn: string[];
  startTime: string;
  closeTime?: string;
  /** A child run of a plan node: its parent run. */
  parentRunId?: string;
}

export interface StatusNode {
  id: string;
  type: string;
  status: string;
  attempts: number;
  currentAttempt?: number;
  maxAttempts?: number;
  owner?: string;
  failureClass?: string;
  iteration?: number;
  maxIterations?: number;
  instances?: Array<{ id: string; index: number; status: string; attempts: number; childRunId?: string }>;
  /** A plan node: its latest child run, and every child run it had. */
  childRunId?: string;
  childRunIds?: string[];
}

/** `GET /api/runs/{runId}`: the `plan-runner status --json` view. */
export interface RunStatus {
  runId: string;
  planId: string;
  title?: string;
  specVersion: number;
  status: string;
  /** On a child run: its parent run, node and attempt. */
  parent?: { runId: string; nodeId: string; attempt: number };
  nodes: StatusNode[];
  approvals: Array<{ approvalId: string; nodeId: string; status: string; respondedBy?: string }>;
  failureCount: number;
  lastSeq: number;
}

export interface Issue {
  severity: string;
  code: string;
  message: string;
  path?: string;
}

export interface RunEvent {
  seq: number;
  type: string;
  at: string;
  by: string;
  nodeId?: string;
  attempt?: number;
  message: string;
}

/** `GET /api/runs/{runId}/nodes/{nodeId}`: what the node panel shows. */
export interface NodeDetail {
  nodeId: string;
  type: string;
  status: string;
  brief: Record<string, unknown>;
  resolvedInput?: unknown;
  output?: unknown;
  attempts: Array<{
    attempt: number;
    status: string;
    by: string;
    at: string;
    failureClass?: string;
    failureMessage?: string;
    /** What the attempt spent, as its result reported it (budgets). */
    usage?: { inputTokens?: number; outputTokens?: number; costUsd?: number };
    issues: Issue[];
    output?: unknown;
    artifacts: Array<{ name: string; kind: string; pointer: string }>;
  }>;
  timers: Array<{ kind: string; dueAt: string; what: string }>;
}

/** `GET /api/approvals?pending=true`: one approval the signed-in person may answer. */
export interface PendingApproval {
  runId: string;
  planTitle?: string;
  approvalId: string;
  nodeId: string;
  nodeType: string;
  kind: 'node' | 'review';
  approvers: string[];
  /** False when the signed-in person is not among the approvers: an answer would be refused. */
  mayAnswer?: boolean;
  /** Why not, in words. */
  cannotAnswer?: string;
  requestedAt: string;
  brief?: Record<string, unknown>;
  resolvedInput?: unknown;
  issues: Issue[];
  options?: string[];
  /** For a review of a failed task: the output to correct. */
  output?: unknown;
  /** The node's output schema, resolved (for the human-input form). */
  outputSchema?: Record<string, unknown>;
  deadlineAt?: string;
  url?: string;
  /** A quorum approval: how many approvals it needs, and the votes so far. */
  quorum?: { required: number; veto: string[] };
  votes?: Array<{ by: string; approved: boolean; requiredEdits?: string[]; comments?: string; at: string }>;
}

export interface SubmitOutcome {
  nodeId: string;
  nodeStatus: string;
  runStatus: string;
  message?: string;
  approvalStatus?: string;
}

/** `GET /api/runs/{runId}/graph-states` (src/console/api-schemas.ts, `GraphStates`). */
export interface GraphStates {
  lastSeq: number;
  shape: string;
  nodes: Record<string, string>;
  edges: Record<string, string>;
  /** By node status / edge state: SVG attributes by name, null for one to remove. */
  nodePaint: Record<string, Record<string, string | null>>;
  edgePaint: Record<string, Record<string, string | null>>;
}
