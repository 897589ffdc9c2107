/**
 * Dispatch (docs/semantics.md §6): while fewer than `maxConcurrency` nodes are active, hand the first ready human
 * node to its people, else the first ready task node to its agent.
 */
import { atFanOutLimit, hasFanOut } from './fan-out';
import { startSubplan } from './subplans';
import { incomingEdges, isActive, isHumanNode, nodeContext, nodeRun, reviewerOf, specNode } from './run-state';
import { setOwn } from './own';
import { currentToken } from './tokens';
import type { Step } from './step';
import type { Approval, NodeRun, NodeStatus, RunState, WorkItem } from './types';
import type { Owner } from './spec';

export function dispatchReady(step: Step): void {
  const { state } = step;
  // A failed or cancelled run hands out no new work until someone retries the failed node.
  if (state.cancelled || state.nodes.some((node) => node.status === 'failed')) return;
  // A run over its plan's budget starts nothing new until the budget is raised (docs/semantics.md, "Budgets").
  if (state.planBudget?.exceededAt !== undefined) return;
  const limit = state.spec.maxConcurrency ?? 1;
  const fanOut = hasFanOut(state.spec);
  while (step.activeCount() < limit) {
    // Instances also count against their node's own `forEach.maxConcurrency` (docs/semantics.md, "Fan-out").
    const busy = fanOut ? activeInstancesPerNode(state) : undefined;
    const ready = state.nodes.filter(
      (node) => node.status === 'ready' && (busy === undefined || !atFanOutLimit(node, specNode(state, node.nodeId).forEach, busy)),
    );
    const next = ready.find((node) => isHumanNode(specNode(state, node.nodeId))) ?? ready[0];
    if (!next) return;
    if (isHumanNode(specNode(state, next.nodeId))) requestHuman(step, step.edit(next), 'node');
    else if (next.type === 'plan') startSubplan(step, step.edit(next));
    else startTask(step, step.edit(next));
  }
}

function activeInstancesPerNode(state: RunState): Map<string, number> {
  const busy = new Map<string, number>();
  for (const node of state.nodes) if (node.instanceOf !== undefined && isActive(node)) busy.set(node.instanceOf, (busy.get(node.instanceOf) ?? 0) + 1);
  return busy;
}

/** Hands a ready task node (editable, `Step.edit`) to its agent. */
function startTask(step: Step, node: NodeRun): void {
  const spec = specNode(step.state, node.nodeId);
  const retrying = node.lastIssues.length > 0 || node.attempts > 0;
  node.currentAttempt = node.attempts + 1;
  startClocks(step, node);
  step.moveNode(
    node,
    'running',
    'node-running',
    `Node "${node.nodeId}" is running: attempt ${node.currentAttempt} handed to agent:${spec.owner?.ref}.`,
  );
  step.emit('ownership-transition', {
    nodeId: node.nodeId,
    attempt: node.currentAttempt,
    message: `Node "${node.nodeId}" is now owned by agent:${spec.owner?.ref}.`,
    detail: { owner: spec.owner },
  });
  step.workItems.push(workItemFor(step.state, node, retrying ? 'retry' : 'dispatch'));
}

/** Opens an approval request; `kind: 'review'` is a human review of a failed task attempt. `node` is editable (`Step.edit`). */
export function requestHuman(step: Step, node: NodeRun, kind: 'node' | 'review'): Approval {
  const spec = specNode(step.state, node.nodeId);
  node.currentAttempt = node.attempts + 1;
  node.humanMode = kind;
  startClocks(step, node);
  const owner: Owner = kind === 'review' ? reviewerOf(spec) : (spec.owner ?? { kind: 'human', ref: 'anyone' });
  const approval: Approval = {
    approvalId: `${node.nodeId}#${node.currentAttempt}`,
    nodeId: node.nodeId,
    attempt: node.currentAttempt,
    owner,
    approvers: kind === 'review' ? [] : (spec.approvers ?? []),
    status: 'pending',
    kind,
    requestedAt: step.now,
    issues: kind === 'review' ? node.lastIssues : [],
  };
  // A quorum approval (docs/semantics.md, "Quorum approvals") collects one vote per approver.
  if (kind === 'node' && spec.type === 'human-approval' && spec.quorum) {
    approval.quorum = { required: spec.quorum.required, veto: [...(spec.quorum.veto ?? [])] };
    approval.votes = [];
  }
  node.approvalId = approval.approvalId;
  step.state.approvals.push(approval);
  const what = kind === 'review' ? 'a review of its failed result' : `a ${node.type} response`;
  const fromStatus = node.status;
  node.status = 'awaiting-human';
  step.emit('approval-requested', {
    nodeId: node.nodeId,
    attempt: node.currentAttempt,
    approvalId: approval.approvalId,
    fromStatus,
    toStatus: 'awaiting-human',
    message: `Node "${node.nodeId}" awaits ${what} from human:${owner.ref} (approval ${approval.approvalId}).`,
    detail: {
      owner,
      approvers: approval.approvers,
      kind,
      brief: briefOf(spec),
      resolvedInput: nodeContext(step.state, node).input,
      ...(spec.options ? { options: spec.options } : {}),
      ...(approval.quorum ? { quorum: approval.quorum } : {}),
      ...(kind === 'review' ? { issues: node.lastIssues, output: node.output } : {}),
    },
  });
  return approval;
}

/**
 * A fresh dispatch starts the attempt's clocks (docs/semantics.md §9): its deadline and its timeout count from
 * now, and no deadline warning or escalation has fired for it yet (an attempt number can be handed
 * out again after a dispatch failure and a `retry`, so the records are cleared, not just keyed).
 */
function startClocks(step: Step, node: NodeRun): void {
  node.startedAt = step.now;
  node.dispatchedAt = step.now;
  delete node.deadlineWarned;
  delete node.escalated;
}

function briefOf(spec: ReturnType<typeof specNode>): WorkItem['brief'] {
  const brief: WorkItem['brief'] = {
    label: spec.label,
    objective: spec.objective,
    instructions: spec.instructions,
    deliverables: spec.deliverables,
    successCriteria: spec.successCriteria,
    toolPolicy: spec.toolPolicy,
    contextPolicy: spec.contextPolicy,
    outputSchema: spec.outputSchema,
  };
  for (const key of Object.keys(brief) as Array<keyof typeof brief>) if (brief[key] === undefined) delete brief[key];
  return brief;
}

/** Node statuses before a (next) attempt is handed out. */
const WAITING_TO_START: readonly NodeStatus[] = ['pending', 'scheduled', 'ready'];

/**
 * The work item an agent receives (docs/semantics.md §12): brief, input, upstream handoffs, previous issues. Its
 * `attempt` is the node's current attempt, except for a node waiting to be handed out (retried and
 * ready for a free slot, or scheduled): there it is the attempt the agent will be handed next.
 */
export function workItemFor(state: RunState, node: NodeRun, reason: string): WorkItem {
  const spec = specNode(state, node.nodeId);
  const handoff: Record<string, unknown> = {};
  // An instance gets the handoffs of its node's upstream nodes.
  for (const edge of incomingEdges(state.spec, node.instanceOf ?? node.nodeId)) {
    const source = nodeRun(state, edge.from);
    if (source.handoffContext !== undefined) setOwn(handoff, edge.from, source.handoffContext);
  }
  const input = nodeContext(state, node).input;
  const attempt = WAITING_TO_START.includes(node.status) ? node.attempts + 1 : (node.currentAttempt ?? node.attempts + 1);
  const token = currentToken(state, node, attempt);
  return {
    runId: state.runId,
    planId: state.planId,
    nodeId: node.nodeId,
    attempt,
    owner: spec.owner ?? { kind: 'agent', ref: 'unknown' },
    brief: briefOf(spec),
    resolvedInput: input,
    handoff,
    previousIssues: node.lastIssues,
    reason,
    iteration: node.iteration ?? 1,
    ...(node.instanceOf !== undefined ? { item: (input as { item?: unknown }).item, index: node.index } : {}),
    ...(token !== undefined ? { token } : {}),
  };
}

/**
 * Closes pending approvals unanswered (event `approval-resolved` each): all of them as `cancelled`
 * on cancel or replan, or one node's as `expired` when its deadline fails it.
 */
export function closePendingApprovals(
  step: Step,
  why: string,
  detail: Record<string, unknown> = {},
  options: { status?: 'cancelled' | 'expired'; nodeId?: string } = {},
): void {
  const status = options.status ?? 'cancelled';
  for (const approval of step.state.approvals) {
    if (approval.status !== 'pending' || (options.nodeId !== undefined && approval.nodeId !== options.nodeId)) continue;
    approval.status = status;
    approval.resolvedAt = step.now;
    step.emit('approval-resolved', {
      nodeId: approval.nodeId,
      approvalId: approval.approvalId,
      attempt: approval.attempt,
      message: status === 'expired' ? `Approval ${approval.approvalId} expired unanswered: ${why}.` : `Approval ${approval.approvalId} was closed: ${why}.`,
      detail: { status, ...detail },
    });
  }
}
