/**
 * One signed JSON POST with a timeout, classified for the delivery activities: 2xx delivered, 410
 * gone (stop sending), anything else (other statuses, redirects, network errors, timeouts) a failure
 * worth retrying. Messages name the URL without credentials or query string, never a secret.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type PostOutcome =
  | { kind: 'ok'; status: number }
  | { kind: 'gone'; status: 410 }
  | { kind: 'failed'; status?: number; message: string };

export interface PostOptions {
  timeoutMs: number;
  /** Aborts the request (the activity's cancellation signal). */
  signal?: AbortSignal;
}

let cachedUserAgent: string | undefined;

/** `plan-runner/<version>`, the version read from the package's package.json. */
export function userAgent(): string {
  if (cachedUserAgent) return cachedUserAgent;
  let version = '0.0.0';
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'plan-runner' && typeof pkg.version === 'string') {
        version = pkg.version;
        break;
      }
    } catch {
      // not here: look one level up
    }
    if (dirname(dir) === dir) break;
  }
  cachedUserAgent = `plan-runner/${version}`;
  return cachedUserAgent;
}

/** The URL for messages and logs: origin and path, without user info, query or fragment. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** The host (and port) of `url`, for short reasons such as `HTTP 410 Gone from hooks.example.com`. */
export function urlHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

const BODY_EXCERPT = 200;

/** POSTs `body` (JSON text) to `url` with `headers` added. Never throws except on cancellation. */
export async function postJson(url: string, body: string, headers: Record<string, string>, options: PostOptions): Promise<PostOutcome> {
  const where = describeUrl(url);
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'user-agent': userAgent() },
      body,
      signal,
      // A signed POST is not re-sent elsewhere: a redirect is a misconfigured endpoint.
      redirect: 'manual',
    });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    return { kind: 'failed', message: `POST ${where} failed: ${errorText(error, timeout, options.timeoutMs)}` };
  }

  const status = response.status;
  if (status >= 200 && status < 300) {
    await discard(response);
    return { kind: 'ok', status };
  }
  if (status === 410) {
    await discard(response);
    return { kind: 'gone', status: 410 };
  }
  let excerpt = '';
  try {
    const text = (await response.text()).trim().replace(/\s+/g, ' ');
    if (text) excerpt = `: ${text.length > BODY_EXCERPT ? `${text.slice(0, BODY_EXCERPT)}…` : text}`;
  } catch {
    // the body is only for the message
  }
  const statusText = response.statusText ? ` ${response.statusText}` : '';
  const redirect = status >= 300 && status < 400 ? ` (redirects are not followed${locationText(response, url)})` : '';
  return { kind: 'failed', status, message: `POST ${where} answered HTTP ${status}${statusText}${redirect}${excerpt}` };
}

function locationText(response: Response, url: string): string {
  const location = response.headers.get('location');
  if (!location) return '';
  try {
    return `; location ${describeUrl(new URL(location, url).href)}`;
  } catch {
    return '; invalid location';
  }
}

async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // nothing to free
  }
}

function errorText(error: unknown, timeout: AbortSignal, timeoutMs: number): string {
  if (timeout.aborted) return `no answer within ${timeoutMs} ms (timeout)`;
  if (!(error instanceof Error)) return String(error);
  // undici wraps the system error ("fetch failed", cause: ECONNREFUSED …): show both.
  const cause = (error as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    const detail = cause.message && (!code || cause.message.includes(code)) ? cause.message : [code, cause.message].filter(Boolean).join(': ');
    return detail ? `${error.message} (${detail})` : error.message;
  }
  return error.message;
}
