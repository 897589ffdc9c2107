/**
 * The console's JSON API, as the pages call it. Cookie sessions: every unsafe request carries the
 * CSRF token the session gave (`X-CSRF-Token`). Errors come back as RFC 9457 problem details and are
 * thrown as `ApiError`, whose `message` is the problem's `detail` (the refusal in words).
 */

/** A problem details body (RFC 9457), as the API sends it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  reason?: string;
  errors?: Array<{ path?: string; message: string }>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

export interface Session {
  name: string;
  csrfToken?: string;
}

let csrfToken: string | undefined;

/** The signed-in person, or undefined (then the pages send them to sign in). */
export async function session(): Promise<Session | undefined> {
  const response = await fetch('/api/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (response.status === 401) return undefined;
  const body = (await response.json()) as Session & { user?: string };
  csrfToken = body.csrfToken;
  return { ...body, name: body.name ?? body.user ?? '?' };
}

export async function signIn(token: string): Promise<Session> {
  const body = await call<Session & { user?: string }>('POST', '/api/session', { token });
  csrfToken = body.csrfToken;
  return body;
}

export async function signOut(): Promise<void> {
  await call('DELETE', '/api/session');
  csrfToken = undefined;
}

export function get<T>(path: string): Promise<T> {
  return call<T>('GET', path);
}

export function post<T>(path: string, body: unknown): Promise<T> {
  return call<T>('POST', path, body);
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, { method, credentials: 'same-origin', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const parsed: unknown = text ? safeJson(text) : undefined;
  if (!response.ok) throw new ApiError(response.status, (parsed as Problem | undefined) ?? { detail: text || response.statusText });
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}

/** A refusal in words for people: the detail, and what was wrong where. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const where = error.problem.errors?.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
    const reason = error.problem.reason ? ` (${error.problem.reason})` : '';
    return `${error.message}${reason}${where ? ` — ${where}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}
