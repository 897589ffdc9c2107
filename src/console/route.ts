/**
 * One API route as data: its method, path, who may call it, its request schemas and its handler.
 * The server registers every route from this one list and the OpenAPI document is generated from
 * it, so the two cannot drift apart.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { PlanRunnerClient } from '../client/plan-runner-client';
import type { PlanStore } from '../store/types';
import type { LayoutEngine } from '../graph/layout';
import type { Authenticator, Identity } from './auth';

/** What every handler may use. */
export interface ConsoleDeps {
  client: PlanRunnerClient;
  store: PlanStore;
  auth: Authenticator;
  /** The console's public URL (links in approvals), without a trailing slash. */
  publicUrl?: string;
  /** Where the graphs are laid out: ELK in a worker thread of the console's. */
  layout: LayoutEngine;
}

export interface RouteContext<B, Q> {
  request: FastifyRequest;
  reply: FastifyReply;
  params: Record<string, string>;
  body: B;
  query: Q;
  /** The signed-in person (`auth: 'person'`), or whoever is signed in when the route allows anyone. */
  identity?: Identity;
}

export interface ApiRoute<B = unknown, Q = unknown> {
  method: 'GET' | 'POST' | 'DELETE';
  /** OpenAPI-style path: `/api/runs/{runId}`. */
  path: string;
  summary: string;
  tag: string;
  /** `person`: a signed-in person (401 otherwise); `agent`: a work-item token in the request; `none`: anyone. */
  auth: 'person' | 'agent' | 'none';
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  /** The body of a success (status `status`, default 200). */
  response?: z.ZodType;
  status?: number;
  /** Problem statuses this route may answer with, for the document. */
  problems?: number[];
  /** At most `max` requests per client address per `windowMs` (then 429): for routes that take a guessable secret. */
  rateLimit?: { max: number; windowMs: number };
  handler(context: RouteContext<B, Q>, deps: ConsoleDeps): Promise<unknown>;
}

/** Declares a route with its types inferred from its schemas. */
export function route<B = undefined, Q = undefined>(definition: ApiRoute<B, Q>): ApiRoute {
  return definition as unknown as ApiRoute;
}

/** `/api/runs/{runId}` → `/api/runs/:runId` (Fastify's syntax). */
export function fastifyPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}
