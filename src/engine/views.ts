/**
 * Read-only views of a run: the snapshot (query `snapshot`, CLI `status`), the work item of a running
 * node, who the run waits on (search attribute `PlanWaitingOn`) and the Web UI's current details.
 */
import { workItemFor } from './dispatch';
import { innermostLoop } from './loops';
import { describeTally, describeVotes, quorumDecisionOf } from './quorum';
import { findNodeRun, isActive, isFinished, specNode } from './run-state';
import { budgetView, describeSpending, formatCost, hasUsage, planBudgetLimits, tokensOf } from './budgets';
import { DEFAULT_BUDGET_WARN_AT } from './spec-constants';
import type { InstanceView, NodeRun, RunSnapshot, RunState, WorkItem } from './types';

/** Instances per fanned-out node, in index order (one pass over the node runs). */
function instancesByNode(state: RunState): Map<string, NodeRun[]> {
  const byNode = new Map<string, NodeRun[]>();
  for (const node of state.nodes) {
    if (node.instanceOf === undefined) continue;
    const list = byNode.get(node.instanceOf);
    if (list) list.push(node);
    else byNode.set(node.instanceOf, [node]);
  }
  return byNode;
}

/**
 * An instance as `snapshot` lists it. A skipped instance's output is null (as in its node's output);
 * after a hand-over the output of a finished node's instances is read from the node's output.
 */
function instanceView(parent: NodeRun, instance: NodeRun): InstanceView {
  const last = instance.history.at(-1);
  const fromParent = (parent.output as { items?: unknown[] } | undefined)?.items?.[instance.index ?? -1];
  const output =
    instance.status === 'skipped'
      ? null
      : last?.status === 'failed' || instance.status === 'failed'
        ? undefined
        : (instance.output ?? fromParent);
  return {
    id: instance.nodeId,
    index: instance.index ?? 0,
    status: instance.status,
    attempts: instance.attempts,
    ...(instance.currentAttempt !== undefined ? { currentAttempt: instance.currentAttempt } : {}),
    ...(output !== undefined ? { output } : {}),
    ...(instance.failureClass ? { failureClass: instance.failureClass } : {}),
    ...(instance.childRunId !== undefined ? { childRunId: instance.childRunId } : {}),
  };
}

/** Every child run a plan node had, oldest first: those its attempts name, and the one running now. */
function childRunIdsOf(node: NodeRun): string[] {
  const ids = node.history.filter((record) => record.kind === 'subplan').map((record) => record.by.replace(/^run:/, ''));
  if (node.childRunId !== undefined && !ids.includes(node.childRunId)) ids.push(node.childRunId);
  return ids;
}

export function snapshotOf(state: RunState): RunSnapshot {
  const instances = instancesByNode(state);
  return {
    runId: state.runId,
    planId: state.planId,
    title: state.spec.title,
    specVersion: state.specVersion,
    status: state.status,
    input: state.input,
    // Instances are listed under their node, not as nodes of their own.
    nodes: state.nodes.filter((node) => node.instanceOf === undefined).map((node) => {
      const spec = specNode(state, node.nodeId);
      const last = node.history.at(-1);
      const loop = node.iteration !== undefined ? innermostLoop(state.spec, node.nodeId) : undefined;
      const own = instances.get(node.nodeId);
      return {
        id: node.nodeId,
        type: node.type,
        label: spec.label,
        ...(spec.objective !== undefined ? { objective: spec.objective } : {}),
        owner: spec.owner,
        status: node.status,
        attempts: node.attempts,
        currentAttempt: node.currentAttempt,
        maxAttempts: spec.retry?.maxAttempts ?? 1,
        // Only an output that passed is the node's: a rejected attempt's output is in `lastAttempt`
        // and the store (`attempts`), never shown as if it were the result.
        output: last?.status === 'failed' ? undefined : node.output,
        failureClass: node.failureClass,
        issues: node.lastIssues,
        scheduledUntil: node.scheduledUntil,
        ...(last
          ? {
              lastAttempt: {
                attempt: last.attempt,
                status: last.status,
                by: last.by,
                at: last.at,
                ...(last.failureClass ? { failureClass: last.failureClass } : {}),
                ...(last.failureMessage ? { failureMessage: last.failureMessage } : {}),
              },
            }
          : {}),
        ...(node.iteration !== undefined ? { iteration: node.iteration } : {}),
        ...(loop ? { maxIterations: loop.edge.loop.maxIterations } : {}),
        ...(spec.forEach && node.instanceOf === undefined ? { instances: (own ?? []).map((instance) => instanceView(node, instance)) } : {}),
        ...(node.childRunId !== undefined ? { childRunId: node.childRunId, childRunIds: childRunIdsOf(node) } : {}),
        ...(hasUsage(node.usage) ? { usage: { ...node.usage, tokens: tokensOf(node.usage) } } : {}),
        ...(spec.budget ? { budget: { ...spec.budget, warnAt: spec.budget.warnAt ?? DEFAULT_BUDGET_WARN_AT } } : {}),
      };
    }),
    approvals: state.approvals.map((approval) => ({
      approvalId: approval.approvalId,
      nodeId: approval.nodeId,
      status: approval.status,
      attempt: approval.attempt,
      kind: approval.kind,
      owner: approval.owner,
      approvers: approval.approvers,
      respondedBy: approval.respondedBy,
      ...(approval.quorum ? { quorum: approval.quorum, votes: approval.votes ?? [] } : {}),
    })),
    lastSeq: state.seq,
    failureCount: state.failureCount,
    checkpointSequence: state.checkpointSequence,
    startedAt: state.startedAt,
    updatedAt: state.updatedAt,
    finishedAt: state.finishedAt,
    ...(state.parent ? { parent: { ...state.parent } } : {}),
    ...budgetView(state),
  };
}

/** The current work item of a running task node, or null when it is not waiting for an agent. */
export function currentWorkItem(state: RunState, nodeId: string): WorkItem | null {
  const node = findNodeRun(state, nodeId);
  if (!node || node.status !== 'running' || node.fanOut || node.type === 'plan') return null;
  return workItemFor(state, node, node.attempts > 0 ? 'retry' : 'dispatch');
}

/**
 * `agent:<ref>` / `human:<ref>` (owner and named approvers) for every active node, sorted and unique;
 * after a node's deadline was escalated (docs/semantics.md §9) also its `escalateTo` while the escalated attempt is
 * still active, and after the plan's deadline was escalated the plan's `escalateTo` while the run is
 * neither finished nor failed.
 */
export function waitingOn(state: RunState): string[] {
  const owners = new Set<string>();
  for (const node of state.nodes) {
    if (node.fanOut) continue; // its instances say who works on it
    if (node.type === 'plan') continue; // its child run says who works on it
    if (node.status === 'running') owners.add(`agent:${specNode(state, node.nodeId).owner?.ref ?? 'unknown'}`);
    if (node.status === 'awaiting-human') {
      const approval = state.approvals.find((candidate) => candidate.approvalId === node.approvalId);
      owners.add(`human:${approval?.owner.ref ?? specNode(state, node.nodeId).owner?.ref ?? 'unknown'}`);
      // Named approvers find the run in their own inbox too (`plan-runner inbox human:alice`); on a
      // quorum approval, only those who have not voted yet.
      const voted = new Set((approval?.votes ?? []).map((vote) => vote.by));
      for (const approver of approval?.approvers ?? []) if (!voted.has(approver)) owners.add(`human:${approver}`);
    }
    if (isActive(node) && node.escalated && node.escalated.attempt === node.currentAttempt) {
      owners.add(`${node.escalated.to.kind}:${node.escalated.to.ref}`);
    }
  }
  const planEscalateTo = state.spec.deadline?.escalateTo;
  if (state.planEscalatedAt && planEscalateTo && !isFinished(state) && state.status !== 'failed') {
    owners.add(`${planEscalateTo.kind}:${planEscalateTo.ref}`);
  }
  return [...owners].sort();
}

const STATUS_ICON: Record<string, string> = {
  completed: '✅',
  partial: '🟡',
  skipped: '⏭️',
  failed: '❌',
  blocked: '⛔',
  running: '🏃',
  'awaiting-human': '🙋',
  ready: '▶️',
  scheduled: '⏰',
  pending: '⏳',
  cancelled: '🚫',
};

/** Nodes listed one per line in the Web UI's current details; larger plans list only what is in play. */
export const DETAIL_NODE_LINES = 50;
/** Statuses that say nothing about where a large run stands (it waits, or it is done). */
const QUIET_STATUSES: readonly string[] = ['pending', 'completed', 'skipped'];

/**
 * Markdown for the Web UI's "current details": the run status, how many nodes are in each status,
 * and one line per node. A plan of more than `DETAIL_NODE_LINES` nodes lists only the nodes in play
 * (not pending, completed or skipped), up to that many: a thousand lines would hide what matters,
 * and the details are rebuilt after every transition.
 */
export function currentDetails(state: RunState): string {
  const counts = new Map<string, number>();
  const instances = instancesByNode(state);
  const planNodes = state.nodes.filter((node) => node.instanceOf === undefined);
  for (const node of planNodes) counts.set(node.status, (counts.get(node.status) ?? 0) + 1);
  const tally = [...counts].map(([status, count]) => `${count} ${status}`).join(' · ');
  const lines = [`**${state.spec.title ?? state.planId}**: ${state.status} (${tally})`, ...spendingLines(state), ''];
  const large = planNodes.length > DETAIL_NODE_LINES;
  let listed = 0;
  let unlisted = 0;
  for (const node of planNodes) {
    if (large && QUIET_STATUSES.includes(node.status)) continue;
    if (listed === DETAIL_NODE_LINES) {
      unlisted += 1;
      continue;
    }
    const attempts = node.attempts ? ` (attempts: ${node.attempts})` : '';
    lines.push(`- ${STATUS_ICON[node.status] ?? ''} \`${node.nodeId}\` ${node.status}${attempts}${loopText(state, node)}${instanceText(instances.get(node.nodeId))}${votesText(state, node)}${usageText(node)}${node.childRunId !== undefined && node.status === 'running' ? `: child run \`${node.childRunId}\`` : ''}`);
    listed += 1;
  }
  if (unlisted > 0) lines.push(`- … and ${unlisted} more`);
  return lines.join('\n');
}

/**
 * `Spent: $1.20 of $5.00, 3400 of 10000 tokens`: the run's spending, under the title, for runs that
 * report usage or have a budget (other runs' details are unchanged); says so when the run is blocked by it.
 */
function spendingLines(state: RunState): string[] {
  const limits = planBudgetLimits(state);
  const budgeted = limits.maxCostUsd !== undefined || limits.maxTokens !== undefined;
  if (!hasUsage(state.usage) && !budgeted) return [];
  const spent = budgeted ? describeSpending(state.usage, limits) : usageSummary(state.usage);
  const blocked = state.planBudget?.exceededAt !== undefined && !isFinished(state) ? ' ⛔ over budget: raise it (plan-runner budget) or cancel' : '';
  return [`Spent: ${spent}${blocked}`];
}

/** `$0.42, 1200 tokens`: a usage sum without limits. */
function usageSummary(usage: RunState['usage']): string {
  const parts: string[] = [];
  if (usage?.costUsd !== undefined) parts.push(`$${formatCost(usage.costUsd)}`);
  if (usage?.inputTokens !== undefined || usage?.outputTokens !== undefined) parts.push(`${tokensOf(usage)} tokens`);
  return parts.join(', ');
}

/** ` · $0.42, 1200 tokens` for a node whose attempts reported usage. */
function usageText(node: NodeRun): string {
  return hasUsage(node.usage) ? ` · ${usageSummary(node.usage)}` : '';
}

/** `: iteration 2 of 3` for a node inside a loop body once its loop went round. */
function loopText(state: RunState, node: NodeRun): string {
  if (node.iteration === undefined) return '';
  const loop = innermostLoop(state.spec, node.nodeId);
  return loop ? `: iteration ${node.iteration} of ${loop.edge.loop.maxIterations}` : '';
}

/** `: votes alice ✔, carol ✘ (1 of 2 approvals; waiting for bob, dave)` for a node whose quorum approval is pending. */
function votesText(state: RunState, node: NodeRun): string {
  if (node.status !== 'awaiting-human' || node.approvalId === undefined) return '';
  const approval = state.approvals.find((candidate) => candidate.approvalId === node.approvalId);
  const decision = approval && approval.status === 'pending' ? quorumDecisionOf(approval) : undefined;
  if (!approval || !decision) return '';
  return `: votes ${describeVotes(approval.votes ?? [])} (${describeTally(decision)})`;
}

/** ` (instances: 3 completed · 1 running · 1 ready)` for a fanned-out node. */
function instanceText(instances: NodeRun[] | undefined): string {
  if (!instances || instances.length === 0) return '';
  const counts = new Map<string, number>();
  for (const instance of instances) counts.set(instance.status, (counts.get(instance.status) ?? 0) + 1);
  return ` (${instances.length} instances: ${[...counts].map(([status, count]) => `${count} ${status}`).join(' · ')})`;
}

