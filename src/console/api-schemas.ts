/**
 * The console API's request and response shapes: one zod schema each, which validates the request
 * and, through `z.toJSONSchema`, becomes the OpenAPI document (`./openapi.ts`). Agent results and
 * human answers reuse the engine's message schemas, so the API takes exactly what the run takes.
 */
import { z } from 'zod';
import { AgentSubmission, HumanResponse, JsonObject } from '../engine/messages';
import { didYouMean } from '../engine/suggest';
import { RUN_STATUSES, type RunStatus } from '../engine/types';

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    reason: z.string().optional().describe("the run's refusal reason (invalid-token, stale-attempt, not-authorized, …)"),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

export const SignInRequest = z.object({ token: z.string().min(1).max(200) }).meta({ id: 'SignInRequest' });
export const SessionInfo = z
  .object({ name: z.string(), via: z.enum(['session', 'bearer', 'proxy']), csrfToken: z.string().optional().describe('send as X-CSRF-Token on unsafe requests with the session cookie or the proxy header') })
  .meta({ id: 'SessionInfo' });

/**
 * A run status, as `plan-runner list --status` takes it: an unknown one is a 400 naming the allowed
 * values (Temporal would only answer "no runs"), and the document lists them as an enum.
 */
const RunStatusFilter = z.enum(RUN_STATUSES as unknown as [RunStatus, ...RunStatus[]], {
  error: (issue) => {
    const given = String(issue.input).slice(0, 60);
    return `"${given}" is not a run status${didYouMean(given, RUN_STATUSES)}; use one of: ${RUN_STATUSES.join(', ')}`;
  },
});

export const RunsQuery = z.object({
  status: RunStatusFilter.optional(),
  planId: z.string().max(200).optional(),
  waitingOn: z.string().max(300).optional(),
  /** `true`: only top-level runs, not the child runs of plan nodes (docs/semantics.md, "Sub-plans"). */
  topLevel: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});
export const RunListItem = z
  .object({
    runId: z.string(),
    planId: z.string().optional(),
    title: z.string().optional(),
    status: z.string().optional(),
    waitingOn: z.array(z.string()),
    startTime: z.string(),
    closeTime: z.string().optional(),
    temporalStatus: z.string(),
    /** A child run of a plan node: its parent run. */
    parentRunId: z.string().optional(),
  })
  .meta({ id: 'RunListItem' });

/** `GET /api/runs/{runId}`: the `plan-runner status --json` view (loosely typed: the CLI's contract). */
export const RunStatusView = z
  .object({ runId: z.string(), planId: z.string(), title: z.string().optional(), specVersion: z.number(), status: z.string(), nodes: z.array(JsonObject), approvals: z.array(JsonObject), failureCount: z.number(), lastSeq: z.number() })
  .passthrough()
  .meta({ id: 'RunStatus' });

export const EventsQuery = z.object({ afterSeq: z.coerce.number().int().min(0).optional(), limit: z.coerce.number().int().min(1).max(5000).optional() });

export const ApprovalsQuery = z.object({ pending: z.enum(['true', 'false']).optional() });

/** A person's answer through the API: `respondedBy` is the signed-in identity, whatever the body says. */
export const ResponseRequest = HumanResponse.omit({ respondedBy: true })
  .extend({ respondedBy: z.unknown().optional().describe('ignored: the answer is by the signed-in person') })
  .meta({ id: 'ResponseRequest' });

/** An agent's result through the API: the work item's token is required here, whatever the run says. */
export const ResultRequest = AgentSubmission.extend({ token: z.string().min(1, 'the work item token is required').max(200) }).meta({ id: 'ResultRequest' });

export const SubmitOutcomeView = z
  .object({ accepted: z.literal(true), nodeId: z.string(), attempt: z.number(), nodeStatus: z.string(), runStatus: z.string(), issues: z.array(JsonObject), message: z.string().optional() })
  .passthrough()
  .meta({ id: 'SubmitOutcome' });

export const CancelRequest = z.object({ reason: z.string().max(10_000).optional() }).meta({ id: 'CancelRequest' });
export const RetryRequest = z.object({ nodeId: z.string().min(1).max(300), input: z.unknown().optional() }).meta({ id: 'RetryRequest' });
export const ReplanRequest = z.object({ spec: z.unknown(), reason: z.string().max(10_000).optional(), dryRun: z.boolean().optional() }).meta({ id: 'ReplanRequest' });
export const OperationOutcomeView = z.object({ accepted: z.literal(true), runStatus: z.string(), message: z.string() }).passthrough().meta({ id: 'OperationOutcome' });
export const EmptyRequest = z.object({}).passthrough();

export const WorkItemQuery = z.object({ token: z.string().max(200).optional() });
export const Health = z.object({ ok: z.boolean(), temporal: z.string(), store: z.string() }).meta({ id: 'Health' });

/** SVG presentation attributes by name (`fill`, `stroke`, …); null: the attribute is removed. */
const Paint = z.record(z.string(), z.string().nullable());

/**
 * What the run page needs to recolour a drawn overview in place: each node's status and each edge's
 * state, with the SVG attributes each status and state is painted with (src/graph/svg.ts), and the
 * shape the drawing was laid out for (`shape`, as graph.svg's `X-Plan-Graph-Shape`): when it
 * differs, the page fetches the drawing again.
 */
export const GraphStates = z
  .object({
    lastSeq: z.number().int(),
    shape: z.string(),
    nodes: z.record(z.string(), z.string().describe('node status')),
    edges: z.record(z.string(), z.string().describe('edge state')),
    nodePaint: z.record(z.string(), Paint).describe("by node status: the attributes of a node's shapes"),
    edgePaint: z.record(z.string(), Paint).describe("by edge state: the attributes of an edge's lines"),
  })
  .meta({ id: 'GraphStates' });
