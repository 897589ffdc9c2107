/**
 * What every incoming result, response and operation goes through first (docs/semantics.md §7, §8): check its
 * size, depth and text against the limits, parse it, answer a seen `submissionId` with its first
 * outcome, refuse anything for a finished run.
 */
import { DEFAULT_PAYLOAD_LIMITS, inspectJson, type PayloadLimits } from './limits';
import { parseShape, type MessageShape } from './message-shapes';
import { ownValue, withOwn } from './own';
import { isFinished } from './run-state';
import type { Refusal, RunState, SubmitOutcome } from './types';

export function refuse(reason: Refusal['reason'], message: string): Refusal {
  return { refused: true, reason, message };
}

/** A refusal, the first outcome of a duplicate, or an accepted message with what its check found. */
export type MessageCheck<Accepted> =
  | Refusal
  | { refused: false; duplicate: SubmitOutcome }
  | ({ refused: false; duplicate?: undefined } & Accepted);

/** How a caller shrinks a result that is too large. */
const LARGE_RESULT_HINT = 'store large data elsewhere and send a pointer to it as an artifact ({ name, kind, pointer })';

/**
 * Checks a message's payload against the limits (size, depth, text the store can hold), then its
 * shape (`message-shapes.ts`: a compiled check, zod when that does not pass). The walk comes first
 * and is bounded, so a huge or deeply nested payload is refused before anything recursive touches it.
 */
export function parseMessage<T>(
  shape: MessageShape<T>,
  payload: unknown,
  what: string,
  limits: PayloadLimits = DEFAULT_PAYLOAD_LIMITS,
): Refusal | { refused: false; message: T } {
  const problem = inspectJson(payload, {
    maxBytes: limits.maxPayloadBytes,
    maxDepth: limits.maxDepth,
    what: `the ${what}`,
    tooLargeHint: what === 'result' || what === 'response' ? LARGE_RESULT_HINT : undefined,
  });
  if (problem) return refuse(problem.reason, `Invalid ${what} payload: ${problem.message}.`);
  const parsed = parseShape(shape, payload);
  if (!parsed.ok) return refuse('invalid-payload', `Invalid ${what} payload: ${parsed.problem}`);
  return { refused: false, message: parsed.value };
}

export function admitMessage<T extends { submissionId?: string; artifacts?: unknown[] }>(
  state: RunState,
  shape: MessageShape<T>,
  payload: unknown,
  what: 'result' | 'response',
  limits: PayloadLimits = DEFAULT_PAYLOAD_LIMITS,
): Refusal | { refused: false; duplicate: SubmitOutcome } | { refused: false; duplicate?: undefined; message: T } {
  const parsed = parseMessage(shape, payload, what, limits);
  if (parsed.refused) return parsed;
  const message = parsed.message;
  const count = message.artifacts?.length ?? 0;
  if (count > limits.maxArtifacts) {
    return refuse('payload-too-large', `Invalid ${what} payload: ${count} artifacts, more than the limit of ${limits.maxArtifacts}; bundle them and send one pointer.`);
  }
  const seen = message.submissionId ? ownValue(state.submissions, message.submissionId) : undefined;
  if (seen) return { refused: false, duplicate: { ...seen, duplicate: true } };
  if (isFinished(state)) return refuse('run-finished', `Run ${state.runId} is ${state.status} and accepts no more ${what}s.`);
  return { refused: false, message };
}

/**
 * Remembers an accepted message's outcome under its `submissionId`, so a retried delivery gets the
 * same answer. The log is shared between successive states (see `Step`), so it is replaced, never
 * edited in place; it is a null-prototype object, so no id can find or change a prototype.
 */
export function rememberSubmission(state: RunState, submissionId: string, outcome: SubmitOutcome): void {
  state.submissions = withOwn(state.submissions, submissionId, outcome);
}
