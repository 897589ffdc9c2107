/**
 * The payloads of the messages a run accepts (docs/semantics.md §7, §8, §11). These are the public contract for
 * agents and tools in any language: the workflow parses every incoming payload with these schemas,
 * so a malformed message is refused with the path of what is wrong instead of corrupting the run.
 */
import { z } from 'zod';
import { MAX_NAME_LENGTH, isNotReservedSegment } from './limits';
import { FailureClass, MAX_ID_LENGTH } from './spec';

/** Names and ids a caller sends: bounded, so a message cannot smuggle megabytes into an id. */
const Name = z.string().min(1, 'must not be empty').max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`);
const NodeId = z.string().min(1, 'must not be empty').max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`);
/** Longer free texts (reasons, failure messages, pointers): bounded by this and by the payload limit. */
const MAX_TEXT_LENGTH = 10_000;
const Text = z.string().max(MAX_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`);

/**
 * A JSON object (not a list, a number, a text or null). Results and responses are objects (docs/semantics.md
 * §7, §8), so an edge's `map` always has fields to read; a single value travels as `{ "value": … }`.
 */
export const JsonObject = z.record(z.string(), z.unknown(), {
  error: (issue) =>
    issue.input === undefined
      ? 'is required'
      : `must be a JSON object ({ … }), but it is ${Array.isArray(issue.input) ? 'a list' : issue.input === null ? 'null' : `a ${typeof issue.input}`}; wrap a single value, e.g. { "value": … }`,
});

export const ArtifactRef = z.object({
  name: Name.refine(isNotReservedSegment, 'is reserved (__proto__, prototype and constructor name JavaScript prototypes)'),
  kind: Name,
  pointer: z.string().min(1, 'must not be empty').max(MAX_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`),
  schemaRef: Name.optional(),
  payload: z.unknown().optional(),
});
export type ArtifactRef = z.infer<typeof ArtifactRef>;

/** A non-negative, finite amount (tokens, US dollars). */
const Amount = z.number().nonnegative('must not be negative').finite('must be a finite number');

/**
 * What an attempt spent, as the agent reports it (docs/semantics.md, "Budgets"): tokens read and
 * written, and the cost in US dollars. Every field is optional; tokens count as input + output.
 */
export const Usage = z
  .object({
    inputTokens: Amount.optional(),
    outputTokens: Amount.optional(),
    costUsd: Amount.optional(),
  })
  .strict();
export type Usage = z.infer<typeof Usage>;

/** An agent's result for a task node (signal `nodeResult`, update `submitNodeResult`). */
export const AgentSubmission = z.object({
  nodeId: NodeId,
  attempt: z.number().int().min(1).optional(),
  submissionId: Name.optional(),
  by: Name.optional(),
  /** The work item's token (docs/semantics.md, "Who may act"); required when the run requires tokens. */
  token: Name.optional(),
  structuredOutput: JsonObject.optional(),
  artifacts: z.array(ArtifactRef).optional(),
  notes: z.string().optional(),
  handoffContext: z.unknown().optional(),
  failure: z.object({ class: FailureClass.optional(), message: Text }).optional(),
  /** What the attempt spent (docs/semantics.md, "Budgets"): recorded with the attempt, summed per node and run. */
  usage: Usage.optional(),
});
export type AgentSubmission = z.infer<typeof AgentSubmission>;

/** A person's answer to a pending approval (signal `humanResponse`, update `submitHumanResponse`). */
export const HumanResponse = z.object({
  nodeId: NodeId.optional(),
  approvalId: Name.optional(),
  submissionId: Name.optional(),
  respondedBy: Name,
  response: JsonObject,
});
export type HumanResponse = z.infer<typeof HumanResponse>;

/** Response shapes per human node type (docs/semantics.md §8). */
export const ApprovalResponse = z.object({
  approved: z.boolean(),
  requiredEdits: z.array(z.string()).optional(),
  comments: z.string().optional(),
});
export const DecisionResponse = z.object({ decision: z.string(), comments: z.string().optional() });
export const ReviewEditResponse = z.object({
  edited: z.record(z.string(), z.unknown()),
  approved: z.boolean().optional(),
  comments: z.string().optional(),
});

export const CancelRequest = z.object({ by: Name.default('unknown'), reason: Text.optional() });
export type CancelRequest = z.input<typeof CancelRequest>;
export const ResumeRequest = z.object({ by: Name.default('unknown') });
export type ResumeRequest = z.input<typeof ResumeRequest>;
export const RetryRequest = z.object({
  nodeId: NodeId,
  by: Name.default('unknown'),
  input: z.unknown().optional(),
});
export type RetryRequest = z.input<typeof RetryRequest>;
/**
 * New, higher limits for the plan's budget (docs/semantics.md, "Budgets"): the run goes on once its
 * spending is within them. At least one limit is required.
 */
export const RaiseBudgetRequest = z
  .object({
    maxCostUsd: Amount.optional(),
    maxTokens: Amount.optional(),
    by: Name.default('unknown'),
  })
  .refine((request) => request.maxCostUsd !== undefined || request.maxTokens !== undefined, {
    message: 'name at least one new limit: maxCostUsd and/or maxTokens',
  });
export type RaiseBudgetRequest = z.input<typeof RaiseBudgetRequest>;

/**
 * A new spec version for a running run (docs/semantics.md §11 replan). `spec` is left raw here: it is checked by
 * `validatePlanSpec`, so every problem is reported with its JSON path (refusal `invalid-spec`).
 */
export const ReplanRequest = z.object({
  spec: z.unknown().refine((value) => value !== undefined, { message: 'a plan spec is required' }),
  by: Name.default('unknown'),
  reason: Text.optional(),
});
export type ReplanRequest = z.input<typeof ReplanRequest>;

/** How a child run ended, as it tells its parent (signal `subplanFinished`). */
export const SubplanFinished = z.object({
  /** The parent's node (an instance id for a fanned-out node) and attempt the child runs for. */
  nodeId: z.string().min(1).max(300),
  attempt: z.number().int().min(1),
  childRunId: z.string().min(1).max(1000),
  status: z.enum(['completed', 'failed', 'aborted']),
  /** With `completed`: `{ runId, nodes: { <childNodeId>: output } }`. */
  output: z.object({ runId: z.string(), nodes: z.record(z.string(), z.unknown()) }).optional(),
  /** With `completed`: a node of the child was partial. */
  partial: z.boolean().optional(),
  /** With `failed` or `aborted`: why, in one sentence. */
  reason: z.string().max(10_000).optional(),
});
export type SubplanFinished = z.infer<typeof SubplanFinished>;

/** Turn a zod error into one readable line: `path: message; path: message`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(payload)'}: ${issue.message}`)
    .join('; ');
}
