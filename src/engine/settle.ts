/**
 * The tail of every engine step (docs/semantics.md §5, §6): re-evaluate readiness until nothing changes, dispatch
 * while there is capacity, then derive the run status.
 */
import { checkPlanBudget } from './budgets';
import { dispatchReady } from './dispatch';
import { evaluateReadiness } from './readiness';
import type { Step } from './step';

export function settle(step: Step): void {
  // What settling does is the engine's doing, caused by the act before it (events say both).
  step.consequences();
  evaluateReadiness(step);
  // The plan's budget (docs/semantics.md, "Budgets"): a run over it dispatches nothing new.
  checkPlanBudget(step);
  dispatchReady(step);
  step.updateRunStatus();
}
