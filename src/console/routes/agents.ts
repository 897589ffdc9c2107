/**
 * For agents without a Temporal SDK: read a work item, submit a result. The work-item token is
 * the agent's credential here, so the API requires it on every result, whether or not the run does.
 */
import { z } from 'zod';
import { ResultRequest, SubmitOutcomeView, WorkItemQuery } from '../api-schemas';
import { problem } from '../problems';
import { route } from '../route';
import { sameSecret } from '../tokens';

export const agentRoutes = [
  route<undefined, z.infer<typeof WorkItemQuery>>({
    method: 'GET',
    path: '/api/runs/{runId}/work-items/{nodeId}',
    summary: "A running node's work item: for the agent holding its token (?token=), or for a signed-in person (without the token)",
    tag: 'agents',
    auth: 'none',
    query: WorkItemQuery,
    response: z.record(z.string(), z.unknown()),
    problems: [401, 403, 404],
    async handler({ params, query, identity }, { client }) {
      if (!identity && !query.token) throw problem(401, 'Unauthorized', 'Send the work item token (?token=wit_…) or a personal token (Authorization: Bearer).', { reason: 'unauthenticated' });
      const item = await client.workItem(params.runId, params.nodeId);
      if (!item) throw problem(404, 'No work item', `Node "${params.nodeId}" of run ${params.runId} is not waiting for an agent.`, { reason: 'node-not-running' });
      const holdsToken = query.token !== undefined && item.token !== undefined && sameSecret(query.token, item.token);
      if (!identity && !holdsToken) {
        throw problem(403, 'Forbidden', 'That is not the token of the current work item of this node.', { reason: 'invalid-token' });
      }
      // A person may read what the agent was asked, but not its credential: with the token they
      // could submit results as the agent.
      if (!holdsToken) {
        const { token: _agentCredential, ...withoutToken } = item;
        return withoutToken;
      }
      return item;
    },
  }),
  route<z.infer<typeof ResultRequest>>({
    method: 'POST',
    path: '/api/runs/{runId}/results',
    summary: "An agent's result for a running task node, with its work item's token (required here)",
    tag: 'agents',
    auth: 'agent',
    body: ResultRequest,
    response: SubmitOutcomeView,
    problems: [400, 403, 404, 409, 422],
    async handler({ params, body }, { client }) {
      return client.submitResult(params.runId, body);
    },
  }),
];
