/**
 * A new run's start in one local activity (patch `begin-in-one-activity`, docs/design-choices.md,
 * "A run begins in one local activity"): the worker's settings, the check of the run input against
 * the plan's input schema, and the store write of the run's start. Before, these were three local
 * activities in series, and an update sent right after the start waited for all three.
 *
 * The engine is pure, so the workflow computes the start transition before anything is checked and
 * sends its records along. They are written only when the input check finds nothing blocking (a
 * warning does not stop a run from starting, as before); otherwise nothing is written and the issues
 * go back, and the workflow fails the run as it always did. The write is the store activity's
 * (`recordTransitions`: idempotent on event seq, its retries and its `StoreWriteRejected` unchanged).
 */
import type { CompactTransitionRecord, Issue, ValidationRequest } from '../engine';
import type { DeliverySettings } from './delivery/types';
import type { StoreActivities } from './store';
import { validateBatch } from './validation/batch';

/** What the workflow sends to start a run. */
export interface BeginRunInput {
  runId: string;
  /** The run input's check (none when the plan has no input schema), validated as `validateBatch` does. */
  requests: ValidationRequest[];
  /** The start's records, written (as `recordTransitions` writes them) only when no issue is blocking. */
  records: CompactTransitionRecord[];
}

/** What comes back: the settings always, the issues, and whether the records were written. */
export interface BeginRunResult {
  /** The worker's settings, as the `deliverySettings` activity returns them. */
  settings: DeliverySettings;
  /** One list per request, as `validateBatch` returns them. */
  issues: Issue[][];
  /** True when the records were written (no issue in `issues` is blocking). */
  recorded: boolean;
}

/** The activity, registered by `createActivities`. */
export interface BeginRunActivities {
  beginRun(input: BeginRunInput): Promise<BeginRunResult>;
}

/**
 * Creates `beginRun` from the store activities and the worker's settings.
 *
 * @param store the store activities; their `recordTransitions` writes the start.
 * @param settings what the `deliverySettings` activity returns (the same function, so the two agree).
 */
export function createBeginRunActivities(store: Pick<StoreActivities, 'recordTransitions'>, settings: () => Promise<DeliverySettings>): BeginRunActivities {
  return {
    async beginRun({ runId, requests, records }) {
      const [current, issues] = await Promise.all([settings(), validateBatch(requests)]);
      const blocked = issues.some((list) => list.some((issue) => issue.severity === 'blocking'));
      if (blocked || records.length === 0) return { settings: current, issues, recorded: false };
      // A store that is down fails the call and Temporal retries it (the check runs again, with the
      // same answer); a store that rejects the records fails it with StoreWriteRejected, as the store
      // activity does: the workflow then knows that nothing was blocking.
      await store.recordTransitions({ runId, records });
      return { settings: current, issues, recorded: true };
    },
  };
}
