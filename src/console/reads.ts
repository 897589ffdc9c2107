/**
 * What the console's pages show beyond `status --json`, read from the plan store (so finished runs
 * show too and Temporal is asked nothing): a node's panel, and the approvals a person may answer
 * with everything they need to decide.
 */
import { parseInstanceId } from '../engine/run-state';
import type { PlanNode, PlanSpec } from '../engine/spec';
import type { Issue } from '../engine/types';
import type { PlanStore, StoredApproval, StoredAttempt } from '../store/types';

/** A timer or deadline of a node, with when it is due. */
export interface NodeTimer {
  kind: 'scheduled' | 'deadline-warning' | 'deadline' | 'timeout';
  dueAt: string;
  what: string;
}

/** `GET /api/runs/{runId}/nodes/{nodeId}`: the node panel. */
export interface NodeDetail {
  nodeId: string;
  type: string;
  status: string;
  brief: Record<string, unknown>;
  owner?: PlanNode['owner'];
  resolvedInput?: unknown;
  output?: unknown;
  iteration?: number;
  attempts: StoredAttempt[];
  timers: NodeTimer[];
}

/** The fields of a node a person or an agent is briefed with (its work item's `brief`). */
const BRIEF_FIELDS = ['label', 'objective', 'instructions', 'deliverables', 'successCriteria', 'outputSchema'] as const;

export function briefOf(node: PlanNode): Record<string, unknown> {
  const brief: Record<string, unknown> = {};
  for (const field of BRIEF_FIELDS) if (node[field] !== undefined) brief[field] = node[field];
  return brief;
}

/** The spec node of a node id, an instance id (`research[2]`) included. */
export function specNodeOf(spec: PlanSpec, nodeId: string): PlanNode | undefined {
  const id = parseInstanceId(nodeId)?.nodeId ?? nodeId;
  return spec.nodes.find((node) => node.id === id);
}

/** The node panel, or undefined when the run or the node is not in the store. */
export async function nodeDetail(store: PlanStore, runId: string, nodeId: string): Promise<NodeDetail | undefined> {
  const [spec, run] = await Promise.all([store.getSpec(runId), store.getNodeRun(runId, nodeId)]);
  const node = spec && specNodeOf(spec, nodeId);
  if (!spec || !node || !run) return undefined;
  const attempts = await store.listAttempts(runId, nodeId);
  return {
    nodeId,
    type: node.type,
    status: run.status,
    brief: briefOf(node),
    ...(node.owner ? { owner: node.owner } : {}),
    ...(run.resolvedInput !== undefined ? { resolvedInput: run.resolvedInput } : {}),
    ...(run.output !== undefined ? { output: run.output } : {}),
    ...(run.iteration !== undefined ? { iteration: run.iteration } : {}),
    attempts,
    timers: timersOf(node, spec, run),
  };
}

/**
 * The node's pending timers, as the engine arms them (docs/semantics.md §9): a scheduled start,
 * and for an active node its deadline (and warning) counted from the attempt's start, and a task's
 * timeout. The store keeps when the attempt started; a `resume` that handed the node out again
 * restarts the timeout later than shown here.
 */
export function timersOf(node: PlanNode, _spec: PlanSpec, run: { status: string; startedAt?: string; scheduledUntil?: string }): NodeTimer[] {
  const timers: NodeTimer[] = [];
  if (run.status === 'scheduled' && run.scheduledUntil) timers.push({ kind: 'scheduled', dueAt: run.scheduledUntil, what: 'becomes ready' });
  const active = run.status === 'running' || run.status === 'awaiting-human';
  if (!active || !run.startedAt) return timers;
  const from = Date.parse(run.startedAt);
  if (node.deadline) {
    const due = from + node.deadline.afterMs;
    if (node.deadline.warnBeforeMs) timers.push({ kind: 'deadline-warning', dueAt: new Date(due - node.deadline.warnBeforeMs).toISOString(), what: 'deadline warning' });
    timers.push({ kind: 'deadline', dueAt: new Date(due).toISOString(), what: `deadline (then ${node.deadline.onExpiry ?? 'escalate'})` });
  }
  if (node.type === 'task' && node.timeoutMs) timers.push({ kind: 'timeout', dueAt: new Date(from + node.timeoutMs).toISOString(), what: 'attempt timeout' });
  return timers;
}

/** One approval a person may answer, with what to decide. */
export interface PendingApprovalView {
  runId: string;
  planId: string;
  planTitle?: string;
  approvalId: string;
  nodeId: string;
  nodeType: string;
  kind: 'node' | 'review';
  owner: StoredApproval['owner'];
  approvers: string[];
  /** The person is named: the owner's ref or among the approvers (else anyone may answer). */
  assignedToMe: boolean;
  /** The person may answer it (among the approvers, or it has none, and has not voted on it yet). */
  mayAnswer: boolean;
  /** When they may not: why, in words (the run will refuse their answer). */
  cannotAnswer?: string;
  requestedAt: string;
  brief: Record<string, unknown>;
  resolvedInput?: unknown;
  issues: Issue[];
  options?: string[];
  /** A review of a failed task: the output to correct. */
  output?: unknown;
  /** The node's output schema from the plan's registry (the human-input form is built from it). */
  outputSchema?: unknown;
  deadlineAt?: string;
  url?: string;
  /** A quorum approval (docs/semantics.md, "Quorum approvals"): how many approvals it needs, who may veto, and the votes so far. */
  quorum?: StoredApproval['quorum'];
  votes?: StoredApproval['votes'];
}

/**
 * Whether `name` may answer the approval (docs/semantics.md §8: approvers, when set, are the ones;
 * on a quorum approval, only those who have not voted yet).
 */
export function mayAnswer(approval: Pick<StoredApproval, 'approvers'> & Partial<Pick<StoredApproval, 'votes'>>, name: string): boolean {
  if (approval.votes?.some((vote) => vote.by === name)) return false;
  return approval.approvers.length === 0 || approval.approvers.includes(name);
}

/**
 * The pending approvals `name` may answer, oldest first, each with its brief, input, issues,
 * options and deadline. `consoleUrl` adds each approval's page.
 */
export async function pendingApprovalsFor(store: PlanStore, name: string, options: { consoleUrl?: string; limit?: number } = {}): Promise<PendingApprovalView[]> {
  const approvals = (await store.listApprovals({ pending: true, limit: options.limit ?? 200 })).filter((approval) => mayAnswer(approval, name));
  const specs = new Map<string, Promise<PlanSpec | undefined>>();
  const specOf = (runId: string) => {
    let spec = specs.get(runId);
    if (!spec) specs.set(runId, (spec = store.getSpec(runId)));
    return spec;
  };
  const views = await Promise.all(approvals.map((approval) => approvalView(store, approval, name, specOf, options.consoleUrl)));
  return views.filter((view): view is PendingApprovalView => view !== undefined).sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
}

/**
 * One pending approval as any signed-in person sees it from its link (a notification may be
 * forwarded): with `mayAnswer`, so the page can say up front that an answer would be refused. The
 * workflow still decides; this only informs. Undefined when it is not pending (answered, closed,
 * or unknown).
 */
export async function pendingApproval(store: PlanStore, runId: string, approvalId: string, name: string, options: { consoleUrl?: string } = {}): Promise<PendingApprovalView | undefined> {
  const approval = (await store.listApprovals({ runId, pending: true })).find((a) => a.approvalId === approvalId);
  return approval && approvalView(store, approval, name, (id) => store.getSpec(id), options.consoleUrl);
}

async function approvalView(store: PlanStore, approval: StoredApproval, name: string, specOf: (runId: string) => Promise<PlanSpec | undefined>, consoleUrl: string | undefined): Promise<PendingApprovalView | undefined> {
  const [spec, run, attempts] = await Promise.all([specOf(approval.runId), store.getNodeRun(approval.runId, approval.nodeId), approval.kind === 'review' ? store.listAttempts(approval.runId, approval.nodeId) : Promise.resolve([])]);
  const node = spec && specNodeOf(spec, approval.nodeId);
  if (!spec || !node) return undefined;
  const deadline = node.deadline ? new Date(Date.parse(approval.requestedAt) + node.deadline.afterMs).toISOString() : undefined;
  const schema = node.outputSchema ? spec.schemas?.[node.outputSchema] : undefined;
  return {
    runId: approval.runId,
    planId: spec.id,
    ...(spec.title ? { planTitle: spec.title } : {}),
    approvalId: approval.approvalId,
    nodeId: approval.nodeId,
    nodeType: node.type,
    kind: approval.kind,
    owner: approval.owner,
    approvers: approval.approvers,
    assignedToMe: approval.approvers.includes(name) || approval.owner.ref === name,
    mayAnswer: mayAnswer(approval, name),
    ...(mayAnswer(approval, name) ? {} : { cannotAnswer: approval.votes?.some((vote) => vote.by === name) ? 'You have voted on this approval already: a second vote is refused.' : `You are not among the approvers (${approval.approvers.join(', ')}): an answer from you will be refused.` }),
    requestedAt: approval.requestedAt,
    brief: briefOf(node),
    ...(run?.resolvedInput !== undefined ? { resolvedInput: run.resolvedInput } : {}),
    issues: approval.issues,
    ...(approval.quorum ? { quorum: approval.quorum, votes: approval.votes ?? [] } : {}),
    ...(node.options ? { options: node.options } : {}),
    ...(approval.kind === 'review' ? { output: attempts.at(-1)?.output } : {}),
    ...(schema !== undefined ? { outputSchema: schema } : {}),
    ...(deadline ? { deadlineAt: deadline } : {}),
    ...(consoleUrl ? { url: `${consoleUrl}/approvals/${encodeURIComponent(approval.runId)}/${encodeURIComponent(approval.approvalId)}` } : {}),
  };
}
