/**
 * The OpenAPI 3.1 document of the console API, generated from the route list and its zod schemas
 * (`z.toJSONSchema`, JSON Schema 2020-12, which OpenAPI 3.1 uses as is): one source of truth.
 */
import { z } from 'zod';
import { Problem } from './api-schemas';
import type { ApiRoute } from './route';

/** Schemas named with `.meta({ id })`, collected into `components.schemas` as they are met. */
const components: Record<string, unknown> = {};

/**
 * A schema in the document. zod puts named schemas under `$defs` of each schema; an OpenAPI document
 * resolves `#/…` against its root, so they move to `components.schemas` and the refs follow.
 */
function toSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $defs, $schema: _dialect, ...rest } = json as { $defs?: Record<string, unknown>; $schema?: string };
  const moved = (value: unknown) => JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, unknown>;
  for (const [name, definition] of Object.entries($defs ?? {})) components[name] = moved(definition);
  return moved(rest);
}

/** `{ runId }` for `/api/runs/{runId}`. */
function pathParameters(path: string) {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
}

function queryParameters(schema: z.ZodType | undefined) {
  if (!schema) return [];
  const json = toSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({ name, in: 'query', required: json.required?.includes(name) ?? false, schema: property }));
}

export function openApiDocument(routes: readonly ApiRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  toSchema(Problem); // named: it lands in components.schemas
  const problemResponse = { description: 'A problem (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
  for (const route of routes) {
    const status = String(route.status ?? 200);
    const responses: Record<string, unknown> = {
      [status]: status === '204' ? { description: 'Done' } : { description: 'Success', content: { [route.path.endsWith('.svg') ? 'image/svg+xml' : 'application/json']: { schema: route.response ? toSchema(route.response) : { type: 'string' } } } },
    };
    for (const code of route.problems ?? []) responses[String(code)] = problemResponse;
    const operation: Record<string, unknown> = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, 'By-$1').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: route.summary,
      tags: [route.tag],
      parameters: [...pathParameters(route.path), ...queryParameters(route.query)],
      responses,
      security: route.auth === 'person' ? [{ bearer: [] }, { session: [] }] : [],
    };
    if (route.body) operation.requestBody = { required: true, content: { 'application/json': { schema: toSchema(route.body) } } };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'plan-runner console API', version, description: 'Runs, approvals and agent results over HTTP. Errors are RFC 9457 problem details. See docs/console.md.' },
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A personal token from `plan-runner users add NAME`' },
        session: { type: 'apiKey', in: 'cookie', name: 'plan_runner_session', description: 'Set by POST /api/session; unsafe requests also need X-CSRF-Token' },
      },
    },
  };
}
