/**
 * The activities a plan-runner worker registers. Activities do everything the workflow may not:
 * JSON Schema validation (Ajv), persistence (the store) and event delivery (webhooks, wake-ups).
 */
import { validateBatch } from './validation/batch';
import { createStoreActivities } from './store';
import { createDeliveryActivities } from './delivery';
import { closeActivities } from './close';
import { createValidateAndRecordActivities } from './validate-and-record';
import { createBeginRunActivities } from './begin-run';
import type { DeliveryConfig } from './delivery/types';
import type { PlanStore } from '../store/types';
import { DEFAULT_PAYLOAD_LIMITS, type PayloadLimits } from '../engine/limits';

export interface ActivityDependencies {
  store: PlanStore;
  delivery: DeliveryConfig;
  /** The payload limits the worker's runs enforce (docs/security.md); default the built-in ones. */
  limits?: PayloadLimits;
  /** Every run of this worker takes results only with their work-item token (docs/security.md). */
  requireWorkItemTokens?: boolean;
}

export function createActivities({ store, delivery, limits = DEFAULT_PAYLOAD_LIMITS, requireWorkItemTokens }: ActivityDependencies) {
  const deliveryActivities = createDeliveryActivities({ store, config: delivery });
  const storeActivities = createStoreActivities(store);
  // A run reads the worker's settings once, at start, in this one local activity (or with its start,
  // in `beginRun`); the payload limits travel with them, so configuring them costs no extra command
  // in any run's history.
  const deliverySettings = async () => ({
    ...(await deliveryActivities.deliverySettings()),
    limits: { ...limits },
    ...(requireWorkItemTokens ? { requireWorkItemTokens: true as const } : {}),
  });
  return {
    validateBatch,
    ...storeActivities,
    ...createValidateAndRecordActivities(storeActivities),
    ...createBeginRunActivities(storeActivities, deliverySettings),
    ...deliveryActivities,
    ...closeActivities,
    deliverySettings,
  };
}

export type PlanRunnerActivities = ReturnType<typeof createActivities>;
/** The validation activity, proxied by the workflow as a local activity. */
export type ValidationActivities = Pick<PlanRunnerActivities, 'validateBatch'>;
