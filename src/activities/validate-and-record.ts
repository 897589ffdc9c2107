/**
 * Validation and the store write in one local activity (patch `validate-and-record-in-one-activity`,
 * docs/design-choices.md): the workflow sends a submission's validation together with the records
 * of the transition the engine makes when that validation finds nothing (computed ahead, the engine
 * being pure), and with any records still waiting to be written. Only when *every* request comes
 * back without a single issue (not even a warning) are the records written, in the same call, by the
 * store activity (`recordTransitions`: idempotent on event seq, its retries and its
 * `StoreWriteRejected` unchanged). Otherwise nothing is written and the issues go back: the workflow
 * drops the transition it computed ahead, applies the one the issues make and records it as usual.
 */
import type { CompactTransitionRecord, Issue, ValidationRequest } from '../engine';
import type { StoreActivities } from './store';
import { validateBatch } from './validation/batch';

export interface ValidateAndRecordInput {
  runId: string;
  /** Validated first, as `validateBatch` does. */
  requests: ValidationRequest[];
  /** Written (as `recordTransitions` writes them) only when no request has any issue. */
  records: CompactTransitionRecord[];
}

export interface ValidateAndRecordResult {
  /** One list per request, as `validateBatch` returns them. */
  issues: Issue[][];
  /** True when the records were written (every list in `issues` is empty). */
  recorded: boolean;
}

export interface ValidateAndRecordActivities {
  validateAndRecordTransitions(input: ValidateAndRecordInput): Promise<ValidateAndRecordResult>;
}

export function createValidateAndRecordActivities(store: StoreActivities): ValidateAndRecordActivities {
  return {
    async validateAndRecordTransitions({ runId, requests, records }) {
      const issues = await validateBatch(requests);
      if (issues.some((list) => list.length > 0)) return { issues, recorded: false };
      // A store that is down fails the call and Temporal retries it (validation runs again, with the
      // same answer); a store that rejects records fails it with StoreWriteRejected, as the store
      // activity does: the workflow then knows the validation found nothing.
      await store.recordTransitions({ runId, records });
      return { issues, recorded: true };
    },
  };
}
