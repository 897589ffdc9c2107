/** The server's own routes: health and the API document. */
import { z } from 'zod';
import { Health } from '../api-schemas';
import { route } from '../route';

export const metaRoutes = [
  route({
    method: 'GET',
    path: '/healthz',
    summary: 'Whether the console can reach Temporal and the store (503 when not)',
    tag: 'meta',
    auth: 'none',
    response: Health,
    problems: [503],
    async handler({ reply }, { client, store }) {
      const [temporal, stored] = await Promise.all([
        client.client.workflowService.getSystemInfo({}).then(() => 'ok', (error: Error) => `unreachable: ${error.message}`),
        store.ping().then(() => 'ok', (error: Error) => `unreachable: ${error.message}`),
      ]);
      const ok = temporal === 'ok' && stored === 'ok';
      if (!ok) reply.code(503);
      return { ok, temporal, store: stored };
    },
  }),
  route({
    method: 'GET',
    path: '/openapi.json',
    summary: 'This API as an OpenAPI 3.1 document, generated from the same zod schemas that validate requests',
    tag: 'meta',
    auth: 'none',
    response: z.record(z.string(), z.unknown()),
    async handler() {
      // Filled in by the server, which knows every route (see server.ts).
      return undefined;
    },
  }),
];
