/**
 * The console: one HTTP server (Fastify) for the web app and its JSON API (docs/console.md). It
 * reads Temporal through `PlanRunnerClient`, like the CLI, and the plan store, where people and
 * sessions live too: there is no second database.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import type { z } from 'zod';
import { PlanRunnerClient } from '../client/plan-runner-client';
import type { PlanStore } from '../store/types';
import { Authenticator, checkOrigin, type AuthOptions, type Identity } from './auth';
import { LayoutAhead, type LayoutAheadOptions } from './layout-ahead';
import { LayoutThread } from './layout-thread';
import { openApiDocument } from './openapi';
import { invalidRequest, problem, problemOf, sendProblem } from './problems';
import { fastifyPath, type ApiRoute, type ConsoleDeps } from './route';
import { agentRoutes } from './routes/agents';
import { approvalRoutes } from './routes/approvals';
import { metaRoutes } from './routes/meta';
import { operationRoutes } from './routes/operations';
import { registerPages } from './routes/pages';
import { runRoutes } from './routes/runs';
import { sessionRoutes } from './routes/session';

/** Every API route, in the order the OpenAPI document lists them. */
export const API_ROUTES: readonly ApiRoute[] = [...metaRoutes, ...sessionRoutes, ...runRoutes, ...approvalRoutes, ...agentRoutes, ...operationRoutes];

export interface ConsoleOptions {
  client: PlanRunnerClient;
  store: PlanStore;
  /** The URL people open the console at (links in approvals; https turns on Secure cookies). */
  publicUrl?: string;
  /** Trust this header as the person's name (behind an authenticating proxy only). Off by default. */
  trustProxyHeader?: string;
  sessionTtlMs?: number;
  /** Fastify's logger (pino); Authorization, cookies and tokens are redacted. Default off. */
  logger?: boolean;
  /** Lays large plans out before their page is opened (layout-ahead.ts); `false` turns it off. Default on. */
  layoutAhead?: false | LayoutAheadOptions;
}

/** Paths of request and response fields that may hold a secret: never logged. */
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]', 'res.headers["set-cookie"]', 'req.query.token', 'req.body.token'];

/** Each console's layout-ahead loop, for `RunningConsole.layoutAhead`. */
const layoutsAhead = new WeakMap<FastifyInstance, LayoutAhead>();

export function createConsoleServer(options: ConsoleOptions): FastifyInstance {
  const app = Fastify({
    logger: options.logger ? { redact: { paths: REDACT, censor: '[redacted]' } } : false,
    bodyLimit: 2 * 1024 * 1024,
    // Node ids such as `research[2]` and approval ids such as `approve#1` arrive percent-encoded.
    routerOptions: { maxParamLength: 500 },
  });
  const auth = new Authenticator(options.store, {
    trustProxyHeader: options.trustProxyHeader,
    secureCookies: options.publicUrl?.startsWith('https://') ?? false,
    sessionTtlMs: options.sessionTtlMs,
  });
  const layout = new LayoutThread();
  const ahead = options.layoutAhead === false ? undefined : new LayoutAhead(options.store, layout, options.layoutAhead);
  if (ahead) layoutsAhead.set(app, ahead);
  app.addHook('onReady', async () => ahead?.start());
  app.addHook('onClose', async () => {
    await ahead?.stop();
    await layout.close();
  });
  const deps: ConsoleDeps = { client: options.client, store: options.store, auth, publicUrl: options.publicUrl?.replace(/\/+$/, ''), layout };
  const version = (require('../../../package.json') as { version: string }).version;
  let document: Record<string, unknown> | undefined;

  void app.register(cookie);
  // Only the routes that ask for it (`rateLimit` in the route list) are limited.
  void app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      problem(429, 'Too many requests', `At most ${context.max} of these requests per ${context.after} from one address: try again in ${Math.ceil(context.ttl / 1000)} s.`, { reason: 'rate-limited' }),
  });
  // Before anything else (routes, pages, body parsing): an unsafe request from another site's page.
  app.addHook('onRequest', async (request) => checkOrigin(request, deps.publicUrl));
  app.setErrorHandler((error, request, reply) => {
    const known = problemOf(error);
    if (known) return sendProblem(reply, known);
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // Fastify's own: a body that is not JSON, too large, a bad content type.
      return sendProblem(reply, problem(status, 'Bad request', `${(error as Error).message}.`, { reason: 'invalid-payload' }));
    }
    request.log.error({ err: error }, 'console request failed');
    return sendProblem(reply, problem(500, 'Internal error', 'The console failed to answer; its log says why.'));
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, problem(404, 'Not found', `No route ${request.method} ${request.url.split('?')[0]}: see /openapi.json.`)));

  // The routes in a plugin of their own, so that they are added after the plugins above have
  // loaded: rate-limit sees routes only as they are added.
  void app.register(async (instance) => {
    for (const route of API_ROUTES) {
      instance.route({
        method: route.method,
        url: fastifyPath(route.path),
        ...(route.rateLimit ? { config: { rateLimit: { max: route.rateLimit.max, timeWindow: route.rateLimit.windowMs } } } : {}),
        handler: async (request, reply) => {
          if (route.path === '/openapi.json') return (document ??= openApiDocument(API_ROUTES, version));
          const identity: Identity | undefined = route.auth === 'person' ? await auth.require(request) : await auth.identify(request);
          const body = route.body ? parse(route.body, request.body ?? {}, 'request body') : undefined;
          const query = route.query ? parse(route.query, request.query ?? {}, 'query') : undefined;
          const result = await route.handler({ request, reply, params: request.params as Record<string, string>, body, query, identity }, deps);
          if (route.status === 204) return reply.code(204).send();
          return result;
        },
      });
    }
  });
  registerPages(app);
  return app;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidRequest(what, parsed.error);
  return parsed.data;
}

/** A running console: its URL, and how to stop it (closing what it opened). */
export interface RunningConsole {
  url: string;
  app: FastifyInstance;
  /** Its loop that lays large plans out ahead (unless `layoutAhead: false`): the bench runs a round at will. */
  layoutAhead?: LayoutAhead;
  close(): Promise<void>;
}

/** Starts the console on `host:port` (port 0: any free port). */
export async function startConsole(options: ConsoleOptions & { host?: string; port?: number }): Promise<RunningConsole> {
  const app = createConsoleServer(options);
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });
  return { url: address.replace('[::1]', 'localhost'), app, layoutAhead: layoutsAhead.get(app), close: () => app.close() };
}
