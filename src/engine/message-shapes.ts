/**
 * How the engine checks the shape of a plan and of each message, without loading zod when it can.
 *
 * The workflow sandbox evaluates every module it imports once per run, and zod with its schemas was
 * most of that cost, in CPU and in memory per open run (docs/performance.md, "No zod in the
 * workflow"). So a payload first meets its check compiled ahead of time from the zod schema
 * (`generated/shape-checks.ts`, written by `scripts/generate-shape-checks.ts`). That check passes
 * only what the zod schema accepts unchanged, so the payload itself is the parsed value. Anything
 * else (a problem, an unknown field zod would strip, a default zod would fill in, a message with no
 * compiled check) goes to the zod schema, loaded on first use: the verdict, the wording of every
 * problem and the parsed value are zod's, exactly as before.
 */
import type { z } from 'zod';
import * as compiled from './generated/shape-checks';
import type * as Messages from './messages';
import type * as Spec from './spec';

/** A compiled check: true only for a value its zod schema accepts and returns unchanged. */
export type ShapeCheck = (value: unknown) => boolean;

/** One message's shape: its compiled check, if it has one, and its zod schema, loaded on demand. */
export interface MessageShape<T> {
  readonly fast?: ShapeCheck;
  readonly schema: () => z.ZodType<T>;
}

/* eslint-disable @typescript-eslint/no-require-imports */
/** zod and the message schemas, loaded on first use (see the module comment). */
export function messageSchemas(): typeof Messages {
  return require('./messages');
}
/** zod and the plan spec's schemas, loaded on first use. */
export function specSchemas(): typeof Spec {
  return require('./spec');
}
/* eslint-enable @typescript-eslint/no-require-imports */

const check = (generated: unknown) => generated as ShapeCheck;

/** The compiled check of a whole plan spec (its sub-plans included). */
export const isPlanSpecShape: ShapeCheck = check(compiled.PlanSpec);

type MessageName =
  | 'AgentSubmission'
  | 'HumanResponse'
  | 'ApprovalResponse'
  | 'DecisionResponse'
  | 'ReviewEditResponse'
  | 'SubplanFinished'
  | 'CancelRequest'
  | 'ResumeRequest'
  | 'RetryRequest'
  | 'RaiseBudgetRequest'
  | 'ReplanRequest';
type Parsed<N extends MessageName> = z.output<(typeof Messages)[N]>;

function shape<N extends MessageName>(name: N, fast?: unknown): MessageShape<Parsed<N>> {
  return { fast: fast === undefined ? undefined : check(fast), schema: () => messageSchemas()[name] as unknown as z.ZodType<Parsed<N>> };
}

/**
 * Every message's shape. Results, answers and child reports have compiled checks (they arrive on
 * every node); operations are rare and have defaults to fill in, so they always go to zod.
 */
export const MESSAGE_SHAPES = {
  AgentSubmission: shape('AgentSubmission', compiled.AgentSubmission),
  HumanResponse: shape('HumanResponse', compiled.HumanResponse),
  ApprovalResponse: shape('ApprovalResponse', compiled.ApprovalResponse),
  DecisionResponse: shape('DecisionResponse', compiled.DecisionResponse),
  ReviewEditResponse: shape('ReviewEditResponse', compiled.ReviewEditResponse),
  SubplanFinished: shape('SubplanFinished', compiled.SubplanFinished),
  CancelRequest: shape('CancelRequest'),
  ResumeRequest: shape('ResumeRequest'),
  RetryRequest: shape('RetryRequest'),
  RaiseBudgetRequest: shape('RaiseBudgetRequest'),
  ReplanRequest: shape('ReplanRequest'),
} as const;

/**
 * A payload checked against its shape: the parsed value, or every problem in one line
 * (`path: message; path: message`).
 */
export function parseShape<T>(shape: MessageShape<T>, payload: unknown): { ok: true; value: T } | { ok: false; problem: string } {
  if (shape.fast?.(payload)) return { ok: true, value: payload as T };
  const parsed = shape.schema().safeParse(payload);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problem: messageSchemas().describeZodError(parsed.error) };
}
