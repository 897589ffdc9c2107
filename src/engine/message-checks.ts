/**
 * What every incoming result and response goes through first (SPEC §7, §8): parse the payload,
 * answer a seen `submissionId` with its first outcome, refuse anything for a finished run.
 */
import type { z } from 'zod';
import { describeZodError } from './messages';
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

export function admitMessage<T extends { submissionId?: string }>(
  state: RunState,
  schema: z.ZodType<T>,
  payload: unknown,
  what: 'result' | 'response',
): Refusal | { refused: false; duplicate: SubmitOutcome } | { refused: false; duplicate?: undefined; message: T } {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) return refuse('invalid-payload', `Invalid ${what} payload: ${describeZodError(parsed.error)}`);
  const message = parsed.data;
  const seen = message.submissionId ? state.submissions[message.submissionId] : undefined;
  if (seen) return { refused: false, duplicate: { ...seen, duplicate: true } };
  if (isFinished(state)) return refuse('run-finished', `Run ${state.runId} is ${state.status} and accepts no more ${what}s.`);
  return { refused: false, message };
}

/**
 * Remembers an accepted message's outcome under its `submissionId`, so a retried delivery gets the
 * same answer. The log is shared between successive states (see `Step`), so it is replaced, never
 * edited in place.
 */
export function rememberSubmission(state: RunState, submissionId: string, outcome: SubmitOutcome): void {
  state.submissions = { ...state.submissions, [submissionId]: outcome };
}
