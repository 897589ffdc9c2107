/**
 * Budgets (docs/semantics.md, "Budgets"): what results report they spent (`usage`), summed per node
 * and per run, and the limits on it. A task node's `budget` counts over its attempts: the attempt
 * that passes it is recorded, then the node fails with class `budget` (no retry; `onFailure`
 * decides). The plan's `budget` counts over the run: passing it blocks the run (nothing new is
 * dispatched; results of active nodes are still recorded) until `raiseBudget` or `cancel`.
 *
 * Pure, like the rest of the engine: sums are rounded so that the same results always give the same
 * totals, whatever order floating-point additions happen in.
 */
import { parseMessage, refuse } from './message-checks';
import type { Usage } from './messages';
import { MESSAGE_SHAPES } from './message-shapes';
import { editNode, isFinished } from './run-state';
import { settle } from './settle';
import { DEFAULT_BUDGET_WARN_AT } from './spec-constants';
import type { BudgetPolicy } from './spec';
import { describeSpending, hasUsage, roundCost, tokensOf, type BudgetLimits } from './spending';
import { Step } from './step';
import type { PayloadLimits } from './limits';
import type { NodeRun, Refusal, RunState, Transition } from './types';

export type { Usage } from './messages';

// The arithmetic and wording of spending live in ./spending, which loads nothing else: the CLI's
// `status` prints spending without loading the engine (docs/performance.md).
export { describeSpending, formatCost, hasUsage, tokensOf, type BudgetLimits } from './spending';

/** `a + b`, field by field; a field absent from both stays absent. */
export function addUsage(a: Usage | undefined, b: Usage | undefined): Usage {
  const sum: Usage = {};
  for (const key of ['inputTokens', 'outputTokens', 'costUsd'] as const) {
    if (a?.[key] === undefined && b?.[key] === undefined) continue;
    const value = (a?.[key] ?? 0) + (b?.[key] ?? 0);
    sum[key] = key === 'costUsd' ? roundCost(value) : value;
  }
  return sum;
}

/** `total − base`, field by field (what was spent since `base` was taken). */
export function usageSince(total: Usage | undefined, base: Usage | undefined): Usage {
  const spent: Usage = {};
  for (const key of ['inputTokens', 'outputTokens', 'costUsd'] as const) {
    if (total?.[key] === undefined) continue;
    const value = (total[key] ?? 0) - (base?.[key] ?? 0);
    spent[key] = key === 'costUsd' ? roundCost(value) : value;
  }
  return spent;
}

/** Where spending stands against a budget: which limits it passed, and whether it reached `warnAt`. */
export interface BudgetStanding {
  /** Limits passed (spent more than the limit): `maxCostUsd`, `maxTokens`. */
  passed: Array<keyof BudgetLimits>;
  /** Spending reached `warnAt` of some limit. */
  warn: boolean;
}

export function budgetStanding(spent: Usage | undefined, limits: BudgetLimits, warnAt = DEFAULT_BUDGET_WARN_AT): BudgetStanding {
  const passed: Array<keyof BudgetLimits> = [];
  let warn = false;
  const cost = spent?.costUsd ?? 0;
  const tokens = tokensOf(spent);
  if (limits.maxCostUsd !== undefined) {
    if (cost > limits.maxCostUsd) passed.push('maxCostUsd');
    if (cost > 0 && cost >= roundCost(limits.maxCostUsd * warnAt)) warn = true;
  }
  if (limits.maxTokens !== undefined) {
    if (tokens > limits.maxTokens) passed.push('maxTokens');
    if (tokens > 0 && tokens >= limits.maxTokens * warnAt) warn = true;
  }
  return { passed, warn };
}

function limitsOf(budget: BudgetPolicy | undefined): BudgetLimits {
  const limits: BudgetLimits = {};
  if (budget?.maxCostUsd !== undefined) limits.maxCostUsd = budget.maxCostUsd;
  if (budget?.maxTokens !== undefined) limits.maxTokens = budget.maxTokens;
  return limits;
}

/** The detail of `budget-warning` / `budget-exceeded`. */
function budgetDetail(scope: 'node' | 'plan', spent: Usage, limits: BudgetLimits, warnAt: number, passed?: Array<keyof BudgetLimits>): Record<string, unknown> {
  return { scope, spent: { ...spent, tokens: tokensOf(spent) }, budget: { ...limits, warnAt }, ...(passed ? { passed } : {}) };
}

// ---- Node budgets ------------------------------------------------------------------------------

/**
 * What the node's budget counts: its attempts since it last started over (a loop iteration, a
 * replan, an operator's `retry` of a budget failure), the same attempts its retry budget counts.
 */
export function nodeBudgetSpent(node: NodeRun): Usage {
  return usageSince(node.usage, node.budgetBase);
}

/**
 * Adds an attempt's `usage` to its node (editable), to the node a fan-out instance belongs to (for
 * the sums `status` shows) and to the run.
 */
export function addAttemptUsage(state: RunState, node: NodeRun, usage: Usage | undefined, parentId?: string): void {
  if (!hasUsage(usage)) return;
  node.usage = addUsage(node.usage, usage);
  if (parentId !== undefined) {
    const parent = editNode(state, parentId);
    parent.usage = addUsage(parent.usage, usage);
  }
  state.usage = addUsage(state.usage, usage);
}

/**
 * Checks a task node's budget after an attempt was recorded: emits `budget-warning` once per
 * budget window, and returns what passed when the node went over its budget (the caller fails it
 * with class `budget`, after emitting `budget-exceeded`).
 */
export function checkNodeBudget(step: Step, node: NodeRun, budget: BudgetPolicy | undefined): Array<keyof BudgetLimits> | undefined {
  const limits = limitsOf(budget);
  if (limits.maxCostUsd === undefined && limits.maxTokens === undefined) return undefined;
  const warnAt = budget?.warnAt ?? DEFAULT_BUDGET_WARN_AT;
  const spent = nodeBudgetSpent(node);
  const standing = budgetStanding(spent, limits, warnAt);
  // The warning comes first, also when the same result passes the budget: a listener that acts on
  // warnings always sees one before the budget is gone.
  if (standing.warn && !node.budgetWarned) {
    node.budgetWarned = true;
    step.emit('budget-warning', {
      nodeId: node.nodeId,
      attempt: node.currentAttempt ?? node.attempts,
      message: `Node "${node.nodeId}" has used ${Math.round(warnAt * 100)}% of its budget or more: ${describeSpending(spent, limits)}.`,
      detail: budgetDetail('node', spent, limits, warnAt),
    });
  }
  if (standing.passed.length === 0) return undefined;
  step.emit('budget-exceeded', {
    nodeId: node.nodeId,
    attempt: node.currentAttempt ?? node.attempts,
    message: `Node "${node.nodeId}" went over its budget (${describeSpending(spent, limits)}): it fails with class budget, without retry.`,
    detail: budgetDetail('node', spent, limits, warnAt, standing.passed),
  });
  return standing.passed;
}

/** The issue a budget failure carries (the reviewer of `onFailure: human-review` sees it). */
export function budgetIssue(node: NodeRun, budget: BudgetPolicy | undefined) {
  return {
    severity: 'blocking' as const,
    code: 'budget',
    message: `the node spent more than its budget allows (${describeSpending(nodeBudgetSpent(node), limitsOf(budget))})`,
  };
}

/** A node starts a new budget window: what it spent so far no longer counts against its budget. */
export function restartNodeBudget(node: NodeRun): void {
  if (node.usage !== undefined) node.budgetBase = { ...node.usage };
  delete node.budgetWarned;
}

// ---- The plan's budget ---------------------------------------------------------------------------

/** The plan's limits in force: the spec's, or the raised ones where an operator raised them (the larger wins). */
export function planBudgetLimits(state: RunState): BudgetLimits {
  const spec = limitsOf(state.spec.budget);
  const raised = state.planBudget?.raised ?? {};
  const limits: BudgetLimits = {};
  for (const key of ['maxCostUsd', 'maxTokens'] as const) {
    const values = [spec[key], raised[key]].filter((value): value is number => value !== undefined);
    if (values.length) limits[key] = Math.max(...values);
  }
  return limits;
}

/** The run is blocked by its plan's budget: nothing new is dispatched (docs/semantics.md, "Budgets"). */
export function isBudgetBlocked(state: RunState): boolean {
  return state.planBudget?.exceededAt !== undefined;
}

/**
 * Part of every settle: compares the run's spending with the plan's budget. Crossing `warnAt`
 * emits `budget-warning` (once per budget); passing a limit emits `budget-exceeded` and blocks the
 * run (checkpoint `budget-exceeded`); once the limits allow the spending again (raised, or a replan
 * with a larger budget) the block is lifted. A plan without a budget: nothing happens.
 */
export function checkPlanBudget(step: Step): void {
  const { state } = step;
  const limits = planBudgetLimits(state);
  if (limits.maxCostUsd === undefined && limits.maxTokens === undefined) {
    if (state.planBudget?.exceededAt !== undefined) state.planBudget = { ...state.planBudget, exceededAt: undefined };
    return;
  }
  const warnAt = state.spec.budget?.warnAt ?? DEFAULT_BUDGET_WARN_AT;
  const spent = state.usage ?? {};
  const standing = budgetStanding(spent, limits, warnAt);
  const current = state.planBudget ?? {};
  if (standing.warn && current.warnedAt === undefined) {
    state.planBudget = { ...current, warnedAt: step.now };
    step.emit('budget-warning', {
      message: `The run has used ${Math.round(warnAt * 100)}% of its budget or more: ${describeSpending(spent, limits)}.`,
      detail: budgetDetail('plan', spent, limits, warnAt),
    });
  }
  const blocked = state.planBudget?.exceededAt !== undefined;
  if (standing.passed.length > 0 && !blocked && !isFinished(state)) {
    state.planBudget = { ...state.planBudget, exceededAt: step.now };
    step.emit('budget-exceeded', {
      message: `The run went over its budget (${describeSpending(spent, limits)}): nothing new is started until an operator raises the budget (plan-runner budget) or cancels the run.`,
      detail: budgetDetail('plan', spent, limits, warnAt, standing.passed),
    });
    step.reasonOverride = 'budget-exceeded';
  } else if (standing.passed.length === 0 && blocked) {
    const { exceededAt: _lifted, ...rest } = state.planBudget ?? {};
    state.planBudget = rest;
    step.changed = true;
  }
}

/**
 * `raiseBudget {maxCostUsd?, maxTokens?, by}`: new, higher limits for the plan's budget. The run
 * goes on once its spending is within them again; a raised budget is a new budget, so its warning
 * can fire again. Refused: a finished run, a run whose plan has no budget, a limit the plan's budget
 * does not have, or one that is not higher than the limit in force.
 */
export function raiseBudget(state: RunState, payload: unknown, now: string, limits?: PayloadLimits): Transition | Refusal {
  const parsed = parseMessage(MESSAGE_SHAPES.RaiseBudgetRequest, payload ?? {}, 'raiseBudget', limits);
  if (parsed.refused) return parsed;
  if (isFinished(state)) return refuse('run-finished', `Run ${state.runId} is ${state.status}: its budget can no longer be raised.`);
  const request = parsed.message;
  const inForce = planBudgetLimits(state);
  if (inForce.maxCostUsd === undefined && inForce.maxTokens === undefined) {
    return refuse('budget-not-raised', `Run ${state.runId} has no budget: its plan sets none, so there is nothing to raise.`);
  }
  const raised: BudgetLimits = {};
  for (const [key, label] of [
    ['maxCostUsd', 'cost'],
    ['maxTokens', 'token'],
  ] as const) {
    const wanted = request[key];
    if (wanted === undefined) continue;
    const current = inForce[key];
    if (current === undefined) {
      return refuse('budget-not-raised', `Run ${state.runId}'s budget has no ${label} limit (${key}), so it cannot be raised; replan to add one.`);
    }
    if (wanted <= current) {
      return refuse('budget-not-raised', `${key} ${wanted} is not above the limit in force (${current}): a raise must be higher.`);
    }
    raised[key] = wanted;
  }
  const step = new Step(state, now, request.by);
  const before = describeSpending(state.usage, inForce);
  step.state.planBudget = { ...step.state.planBudget, raised: { ...step.state.planBudget?.raised, ...raised } };
  const after = planBudgetLimits(step.state);
  const warnAt = state.spec.budget?.warnAt ?? DEFAULT_BUDGET_WARN_AT;
  const standing = budgetStanding(state.usage, after, warnAt);
  // A raised budget is a new budget: below its warning threshold, its warning may fire again.
  if (!standing.warn && step.state.planBudget.warnedAt !== undefined) {
    const { warnedAt: _rearmed, ...rest } = step.state.planBudget;
    step.state.planBudget = rest;
  }
  const stillOver = standing.passed.length > 0;
  step.emit('budget-raised', {
    message: `The run's budget was raised by ${request.by}: ${describeSpending(state.usage, after)} (was ${before})${stillOver ? '; the run is still over it and stays blocked' : ''}.`,
    detail: { by: request.by, from: inForce, to: after, spent: { ...(state.usage ?? {}), tokens: tokensOf(state.usage) }, stillExceeded: stillOver },
  });
  settle(step);
  const transition = step.finish('budget-raised');
  const summary = stillOver
    ? `The budget was raised, but the run has spent more than that (${describeSpending(state.usage, after)}): it stays blocked; raise it further or cancel.`
    : isBudgetBlocked(state)
      ? `The budget was raised (${describeSpending(state.usage, after)}): the run goes on.`
      : `The budget was raised (${describeSpending(state.usage, after)}).`;
  return { ...transition, summary };
}

/** The spending a snapshot shows: the run's sum and its plan budget in force. */
export function budgetView(state: RunState): { usage?: Usage & { tokens: number }; budget?: BudgetLimits & { warnAt: number; exceeded: boolean } } {
  const limits = planBudgetLimits(state);
  const hasLimits = limits.maxCostUsd !== undefined || limits.maxTokens !== undefined;
  return {
    ...(hasUsage(state.usage) ? { usage: { ...state.usage, tokens: tokensOf(state.usage) } } : {}),
    ...(hasLimits ? { budget: { ...limits, warnAt: state.spec.budget?.warnAt ?? DEFAULT_BUDGET_WARN_AT, exceeded: isBudgetBlocked(state) } } : {}),
  };
}
