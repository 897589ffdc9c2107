/**
 * The tail of every engine step (docs/semantics.md §5, §6): re-evaluate readiness until nothing changes, dispatch
 * while there is capacity, then derive the run status.
 */
import { dispatchReady } from './dispatch';
import { evaluateReadiness } from './readiness';
import type { Step } from './step';

export function settle(step: Step): void {
  evaluateReadiness(step);
  dispatchReady(step);
  step.updateRunStatus();
}
