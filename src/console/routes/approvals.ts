/** Approvals: what waits for the signed-in person, and answering one as them. */
import { z } from 'zod';
import { ApprovalsQuery, ResponseRequest, SubmitOutcomeView } from '../api-schemas';
import { pendingApproval, pendingApprovalsFor } from '../reads';
import { problem } from '../problems';
import { route } from '../route';

export const approvalRoutes = [
  route<undefined, z.infer<typeof ApprovalsQuery>>({
    method: 'GET',
    path: '/api/approvals',
    summary: 'The pending approvals the signed-in person may answer (named among the approvers, or the approval has none), with what to decide',
    tag: 'approvals',
    auth: 'person',
    query: ApprovalsQuery,
    response: z.array(z.record(z.string(), z.unknown())),
    problems: [400, 401],
    async handler({ identity }, { store, publicUrl }) {
      // Only pending ones: answered approvals are in the run's events and `plan-runner approvals`.
      return pendingApprovalsFor(store, identity!.name, { consoleUrl: publicUrl });
    },
  }),
  route({
    method: 'GET',
    path: '/api/runs/{runId}/approvals/{approvalId}',
    summary: 'One pending approval, as its link shows it to any signed-in person, with mayAnswer (false: an answer from them would be refused)',
    tag: 'approvals',
    auth: 'person',
    response: z.record(z.string(), z.unknown()),
    problems: [401, 404],
    async handler({ params, identity }, { store, publicUrl }) {
      const view = await pendingApproval(store, params.runId, params.approvalId, identity!.name, { consoleUrl: publicUrl });
      if (!view) throw problem(404, 'Not pending', `Approval ${params.approvalId} of run ${params.runId} is not pending: it was answered or closed, or there is no such approval.`, { reason: 'not-pending' });
      return view;
    },
  }),
  route<z.infer<typeof ResponseRequest>>({
    method: 'POST',
    path: '/api/runs/{runId}/responses',
    summary: "Answer a pending approval as the signed-in person (respondedBy is theirs; one in the body is ignored)",
    tag: 'approvals',
    auth: 'person',
    body: ResponseRequest,
    response: SubmitOutcomeView,
    problems: [400, 401, 403, 404, 409, 422],
    async handler({ params, body, identity }, { client }) {
      const { respondedBy: _ignored, ...answer } = body;
      return client.respond(params.runId, { ...answer, respondedBy: identity!.name });
    },
  }),
];
