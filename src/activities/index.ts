/**
 * The activities a plan-runner worker registers. Activities do everything the workflow may not:
 * JSON Schema validation (Ajv), persistence (the store) and event delivery (webhooks, wake-ups).
 */
import { validateBatch } from './validation';
import { createStoreActivities } from './store';
import { createDeliveryActivities } from './delivery';
import type { DeliveryConfig } from './delivery/types';
import type { PlanStore } from '../store/types';

export interface ActivityDependencies {
  store: PlanStore;
  delivery: DeliveryConfig;
}

export function createActivities({ store, delivery }: ActivityDependencies) {
  return {
    validateBatch,
    ...createStoreActivities(store),
    ...createDeliveryActivities({ store, config: delivery }),
  };
}

export type PlanRunnerActivities = ReturnType<typeof createActivities>;
/** The validation activity, proxied by the workflow as a local activity. */
export type ValidationActivities = Pick<PlanRunnerActivities, 'validateBatch'>;
