/** Operator actions on a run, by the signed-in person: cancel, resume, retry (with an edited input), replan (with a dry run). */
import { z } from 'zod';
import { CancelRequest, EmptyRequest, OperationOutcomeView, ReplanRequest, RetryRequest } from '../api-schemas';
import { route } from '../route';

export const operationRoutes = [
  route<z.infer<typeof CancelRequest>>({
    method: 'POST',
    path: '/api/runs/{runId}/cancel',
    summary: 'Cancel the run: running nodes stop, pending approvals close',
    tag: 'operations',
    auth: 'person',
    body: CancelRequest,
    response: OperationOutcomeView,
    problems: [400, 401, 403, 404, 409],
    async handler({ params, body, identity }, { client }) {
      return client.cancel(params.runId, { by: identity!.name, ...(body.reason ? { reason: body.reason } : {}) });
    },
  }),
  route<z.infer<typeof EmptyRequest>>({
    method: 'POST',
    path: '/api/runs/{runId}/resume',
    summary: 'Hand running nodes to their owners again and re-evaluate the graph',
    tag: 'operations',
    auth: 'person',
    body: EmptyRequest,
    response: OperationOutcomeView,
    problems: [401, 403, 404, 409],
    async handler({ params, identity }, { client }) {
      return client.resume(params.runId, { by: identity!.name });
    },
  }),
  route<z.infer<typeof RetryRequest>>({
    method: 'POST',
    path: '/api/runs/{runId}/retry',
    summary: 'Make a failed or blocked node ready again, optionally with an edited input',
    tag: 'operations',
    auth: 'person',
    body: RetryRequest,
    response: OperationOutcomeView,
    problems: [400, 401, 403, 404, 409, 422],
    async handler({ params, body, identity }, { client }) {
      return client.retry(params.runId, { nodeId: body.nodeId, by: identity!.name, ...(body.input !== undefined ? { input: body.input } : {}) });
    },
  }),
  route<z.infer<typeof ReplanRequest>>({
    method: 'POST',
    path: '/api/runs/{runId}/replan',
    summary: 'Replace the spec; with dryRun, only say what would change',
    tag: 'operations',
    auth: 'person',
    body: ReplanRequest,
    response: z.record(z.string(), z.unknown()),
    problems: [400, 401, 403, 404, 409, 422],
    async handler({ params, body, identity }, { client }) {
      if (body.dryRun) return client.previewReplan(params.runId, body.spec);
      return client.replan(params.runId, body.spec, { by: identity!.name, ...(body.reason ? { reason: body.reason } : {}) });
    },
  }),
];
