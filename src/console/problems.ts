/**
 * Errors as RFC 9457 problem details (`application/problem+json`): a `title` that names the kind of
 * problem, a `detail` that says what is wrong and what to do, the engine's refusal `reason` when a
 * run refused, and `errors[]` with the path of every invalid field.
 */
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import {
  NodeNotFoundError,
  PlanValidationError,
  RunAlreadyExistsError,
  RunNotFoundError,
  RunRefusedError,
  StoreUnavailableError,
  TemporalUnavailableError,
  NoWorkerError,
  RunUnresponsiveError,
} from '../client/errors';

/** The body of a problem response. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  reason?: string;
  errors?: Array<{ path: string; message: string }>;
}

/** Problem types are URNs; docs/console.md ("Problems") says what each means. */
const TYPE_BASE = 'urn:plan-runner:problem:';

/** An error a route throws to answer with a problem. */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

export function problem(status: number, title: string, detail: string, extra: Partial<Problem> = {}): ProblemError {
  return new ProblemError({ type: `${TYPE_BASE}${title.toLowerCase().replace(/[^a-z]+/g, '-')}`, title, status, detail, ...extra });
}

/** 400 with every invalid field of a request body or query, each with its path. */
export function invalidRequest(what: string, error: z.ZodError): ProblemError {
  const errors = error.issues.map((issue) => ({ path: issue.path.length ? issue.path.join('.') : '(body)', message: issue.message }));
  return problem(400, 'Invalid request', `The ${what} is not valid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}.`, { errors, reason: 'invalid-payload' });
}

/**
 * The HTTP status of a run's refusal: the person may not (403), the request is malformed (400/422),
 * or the run is not in a state that takes it (409).
 */
export function refusalStatus(reason: string): number {
  switch (reason) {
    case 'not-authorized':
    case 'invalid-token':
      return 403;
    case 'invalid-payload':
      return 400;
    case 'invalid-response':
    case 'invalid-spec':
    case 'payload-too-large':
      return 422;
    case 'unknown-node':
      return 404;
    default:
      return 409;
  }
}

/** The problem for an error from the client or the store; undefined for an unexpected error. */
export function problemOf(error: unknown): ProblemError | undefined {
  if (error instanceof ProblemError) return error;
  if (error instanceof RunRefusedError) return problem(refusalStatus(String(error.reason)), 'Refused', error.message, { reason: String(error.reason) });
  if (error instanceof RunNotFoundError) return problem(404, 'Run not found', error.message, { reason: 'unknown-run' });
  if (error instanceof NodeNotFoundError) return problem(404, 'Node not found', error.message, { reason: 'unknown-node' });
  if (error instanceof PlanValidationError) {
    return problem(422, 'Invalid plan', error.message, { reason: 'invalid-spec', errors: error.errors.map((e) => ({ path: e.path, message: e.message })) });
  }
  if (error instanceof RunAlreadyExistsError) return problem(409, 'Run exists', error.message, { reason: 'run-exists' });
  if (error instanceof TemporalUnavailableError || error instanceof NoWorkerError || error instanceof RunUnresponsiveError || error instanceof StoreUnavailableError) {
    return problem(503, 'Unavailable', error.message, { reason: 'unavailable' });
  }
  return undefined;
}

export function sendProblem(reply: FastifyReply, error: ProblemError): FastifyReply {
  return reply.code(error.problem.status).type('application/problem+json').send(error.problem);
}
