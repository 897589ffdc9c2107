/**
 * The validation activity (docs/semantics.md §7): the workflow hands it every validation of one step as a batch
 * and records the result in history, so validators can change without breaking replay. Registered as
 * a (local) activity by the worker; free of Temporal imports so the client and tests use it directly.
 *
 * A module of its own, apart from `./index`, so that the worker loads only what validating a value
 * needs: the index also re-exports the spec checks (`./spec`), whose zod schemas would add ~50 ms
 * to every worker's start for code its activities never call.
 */
import type { Issue, ValidationRequest } from '../../engine/types';
import { validateValue } from './validate-value';

/**
 * One `Issue[]` per request, in order. A validator that throws (a bug, never the agent's fault) is
 * reported as a blocking issue `validation-error` for that request instead of failing the activity,
 * which would retry a deterministic failure forever.
 */
export async function validateBatch(requests: ValidationRequest[]): Promise<Issue[][]> {
  return requests.map((request) => {
    try {
      return validateValue(request);
    } catch (e) {
      return [
        {
          severity: 'blocking',
          code: 'validation-error',
          message: `the validator failed: ${e instanceof Error ? e.message : String(e)}`,
        },
      ];
    }
  });
}
