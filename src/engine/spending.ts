/**
 * What was spent, in numbers and in words: token counts, costs rounded without float noise, and
 * spending against a budget's limits (docs/semantics.md, "Budgets"). Kept apart from `./budgets`,
 * which applies budgets to a run, because this part imports nothing at run time: the CLI's `status`
 * prints spending without loading the engine and its schemas (docs/performance.md).
 */
import type { Usage } from './messages';

/** The limits of a budget, without `warnAt`. */
export interface BudgetLimits {
  maxCostUsd?: number;
  maxTokens?: number;
}

/** Cost sums are rounded to this many decimal places (a millionth of a cent is far below any bill). */
const COST_DECIMALS = 10;

/** A cost rounded to `COST_DECIMALS` places, so that sums do not depend on the order of additions. */
export function roundCost(value: number): number {
  const factor = 10 ** COST_DECIMALS;
  return Math.round(value * factor) / factor;
}

/** Input + output tokens, the count `maxTokens` limits. */
export function tokensOf(usage: Usage | undefined): number {
  return (usage?.inputTokens ?? 0) + (usage?.outputTokens ?? 0);
}

/** Whether a result reported any usage at all. */
export function hasUsage(usage: Usage | undefined): usage is Usage {
  return usage !== undefined && Object.keys(usage).length > 0;
}

/** `$1.20 of $1.00, 1,200 of 1,000 tokens`: spending against the limits a budget has. */
export function describeSpending(spent: Usage | undefined, limits: BudgetLimits): string {
  const parts: string[] = [];
  if (limits.maxCostUsd !== undefined) parts.push(`$${formatCost(spent?.costUsd ?? 0)} of $${formatCost(limits.maxCostUsd)}`);
  if (limits.maxTokens !== undefined) parts.push(`${tokensOf(spent)} of ${limits.maxTokens} tokens`);
  return parts.join(', ');
}

/** A cost with at least two decimals and no float noise: 1.2 → `1.20`, 0.0035 → `0.0035`. */
export function formatCost(value: number): string {
  const fixed = value.toFixed(2);
  return Number(fixed) === value ? fixed : String(roundCost(value));
}
