/**
 * The payloads of the messages a run accepts (SPEC §7, §8, §11). These are the public contract for
 * agents and tools in any language: the workflow parses every incoming payload with these schemas,
 * so a malformed message is refused with the path of what is wrong instead of corrupting the run.
 */
import { z } from 'zod';
import { FailureClass } from './spec';

export const ArtifactRef = z.object({
  name: z.string().min(1),
  kind: z.string().min(1),
  pointer: z.string().min(1),
  schemaRef: z.string().optional(),
  payload: z.unknown().optional(),
});
export type ArtifactRef = z.infer<typeof ArtifactRef>;

/** An agent's result for a task node (signal `nodeResult`, update `submitNodeResult`). */
export const AgentSubmission = z.object({
  nodeId: z.string().min(1),
  attempt: z.number().int().min(1).optional(),
  submissionId: z.string().min(1).max(200).optional(),
  by: z.string().optional(),
  structuredOutput: z.unknown().optional(),
  artifacts: z.array(ArtifactRef).optional(),
  notes: z.string().optional(),
  handoffContext: z.unknown().optional(),
  failure: z.object({ class: FailureClass.optional(), message: z.string() }).optional(),
});
export type AgentSubmission = z.infer<typeof AgentSubmission>;

/** A person's answer to a pending approval (signal `humanResponse`, update `submitHumanResponse`). */
export const HumanResponse = z.object({
  nodeId: z.string().min(1).optional(),
  approvalId: z.string().min(1).optional(),
  submissionId: z.string().min(1).max(200).optional(),
  respondedBy: z.string().min(1),
  response: z.record(z.string(), z.unknown()),
});
export type HumanResponse = z.infer<typeof HumanResponse>;

/** Response shapes per human node type (SPEC §8). */
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

export const CancelRequest = z.object({ by: z.string().min(1).default('unknown'), reason: z.string().optional() });
export type CancelRequest = z.input<typeof CancelRequest>;
export const ResumeRequest = z.object({ by: z.string().min(1).default('unknown') });
export type ResumeRequest = z.input<typeof ResumeRequest>;
export const RetryRequest = z.object({
  nodeId: z.string().min(1),
  by: z.string().min(1).default('unknown'),
  input: z.unknown().optional(),
});
export type RetryRequest = z.input<typeof RetryRequest>;
/**
 * A new spec version for a running run (SPEC §11 replan). `spec` is left raw here: it is checked by
 * `validatePlanSpec`, so every problem is reported with its JSON path (refusal `invalid-spec`).
 */
export const ReplanRequest = z.object({
  spec: z.unknown().refine((value) => value !== undefined, { message: 'a plan spec is required' }),
  by: z.string().min(1).default('unknown'),
  reason: z.string().optional(),
});
export type ReplanRequest = z.input<typeof ReplanRequest>;

/** Turn a zod error into one readable line: `path: message; path: message`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(payload)'}: ${issue.message}`)
    .join('; ');
}
