/**
 * The activities a plan-runner worker registers. Activities do everything the workflow may not:
 * JSON Schema validation (Ajv) now; persistence and event delivery later.
 */
import { validateBatch } from './validation';

export function createActivities() {
  return { validateBatch };
}

export type PlanRunnerActivities = ReturnType<typeof createActivities>;
/** The validation activity, proxied by the workflow as a local activity. */
export type ValidationActivities = Pick<PlanRunnerActivities, 'validateBatch'>;
