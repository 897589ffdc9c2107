/**
 * Who is asking (docs/console.md, "Identity"). In order:
 *
 * 1. `Authorization: Bearer prt_…`: a personal token from `plan-runner users add`;
 * 2. the session cookie the sign-in set;
 * 3. with `--trust-proxy-header NAME` only: that header, set by an authenticating proxy.
 *
 * A bad or revoked token is a 401 even when a cookie would do: a client that sends a token means it.
 * The cookie and the proxy's header come with every request the browser sends, also with one a page
 * on another site makes, so their unsafe requests must also carry a CSRF token (`X-CSRF-Token`, from
 * `GET /api/session`), which such a page cannot read. A bearer token needs none: no browser adds it
 * by itself.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
// Types of request.cookies / reply.setCookie (the plugin is registered in server.ts).
import type {} from '@fastify/cookie';
import type { PlanStore } from '../store/types';
import { problem } from './problems';
import { csrfTokenFor, hashSecret, isPersonalToken, newCsrfSeed, newSessionId, proxyCsrfTokenFor, sameSecret } from './tokens';

/** The signed-in person: `name` is who answers approvals (`respondedBy`). */
export interface Identity {
  name: string;
  via: 'session' | 'bearer' | 'proxy';
  /** Set for cookie sessions: the id the cookie holds (never logged or stored in the clear). */
  sessionId?: string;
  /** For proxy identities: the seed in the CSRF cookie, when the request has one. */
  csrfSeed?: string;
}

export interface AuthOptions {
  /** A header an authenticating proxy sets to the person's name (e.g. `X-Forwarded-Email`); off by default. */
  trustProxyHeader?: string;
  /** Cookies only over HTTPS (when the console's public URL is https). */
  secureCookies?: boolean;
  /** How long a sign-in lasts; default 12 hours. */
  sessionTtlMs?: number;
}

export const SESSION_COOKIE = 'plan_runner_session';
/** Holds the seed of the CSRF token of a proxy-header identity (`GET /api/session` sets it). */
export const CSRF_COOKIE = 'plan_runner_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Methods that change something (POST, PUT, PATCH, DELETE, …): the ones CSRF and Origin checks guard. */
export function isUnsafeMethod(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

/** `scheme://host[:port]` of a URL, normalized (lower case, no default port); undefined when it is not one (`null`, garbage). */
function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * Refuses (403 `cross-origin`) an unsafe request that a browser sent from a page of another origin.
 * A form on another site can post to the console without any preflight, and the browser adds the
 * cookie (or the proxy its header) by itself; the `Origin` it then sends names that site. The
 * console's own origins are the public URL's and the one the request was addressed to (its Host
 * header), so a console opened by another name than `--public-url` still works. A request without
 * `Origin` passes: the CLI, curl and agents send none, and neither do browsers' same-origin GETs.
 * An opaque origin (`Origin: null`: sandboxed frames, some redirects) is another origin.
 */
export function checkOrigin(request: FastifyRequest, publicUrl: string | undefined): void {
  if (!isUnsafeMethod(request.method)) return;
  const header = request.headers.origin;
  if (header === undefined) return;
  const own = [publicUrl ? originOf(publicUrl) : undefined, request.host ? originOf(`${request.protocol}://${request.host}`) : undefined].filter((o): o is string => o !== undefined);
  const sent = originOf(header);
  if (sent !== undefined && own.includes(sent)) return;
  const shown = header.length > 200 ? `${header.slice(0, 200)}…` : header;
  throw problem(
    403,
    'Forbidden',
    `This ${request.method} came from a page at ${shown}, not from the console (${own.join(' or ') || 'its own origin'}): requests that change something are taken only from the console's own pages, so another site cannot act as whoever is signed in. Scripts and agents send no Origin header; behind a proxy, --public-url must be the URL people open.`,
    { reason: 'cross-origin' },
  );
}

export class Authenticator {
  constructor(
    private readonly store: PlanStore,
    private readonly options: AuthOptions = {},
  ) {}

  /** The person behind the request, or undefined (anonymous). Throws 401 for a bad bearer token. */
  async identify(request: FastifyRequest): Promise<Identity | undefined> {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw problem(401, 'Unauthorized', 'The Authorization header must be "Bearer <personal token>" (plan-runner users add NAME prints one).', { reason: 'unauthenticated' });
      const user = isPersonalToken(match[1]) ? await this.store.userByTokenHash(hashSecret(match[1])) : undefined;
      if (!user) throw problem(401, 'Unauthorized', 'The bearer token is not a valid personal token: it is wrong, or it was revoked. Ask for a new one (plan-runner users add).', { reason: 'unauthenticated' });
      return { name: user.name, via: 'bearer' };
    }
    const sessionId = request.cookies?.[SESSION_COOKIE];
    if (sessionId) {
      const session = await this.store.getSession(hashSecret(sessionId), new Date().toISOString());
      if (session) return { name: session.userName, via: 'session', sessionId };
    }
    if (this.options.trustProxyHeader) {
      const value = request.headers[this.options.trustProxyHeader.toLowerCase()];
      const name = Array.isArray(value) ? value[0] : value;
      const seed = request.cookies?.[CSRF_COOKIE];
      if (name && name.trim()) return { name: name.trim(), via: 'proxy', ...(seed ? { csrfSeed: seed } : {}) };
    }
    return undefined;
  }

  /** The person, or a 401 that says how to sign in. Cookie and proxy identities must send the CSRF token on unsafe requests. */
  async require(request: FastifyRequest): Promise<Identity> {
    const identity = await this.identify(request);
    if (!identity) throw problem(401, 'Unauthorized', 'Sign in first: send "Authorization: Bearer <personal token>", or sign in to the console at /signin.', { reason: 'unauthenticated' });
    if (identity.via !== 'bearer' && isUnsafeMethod(request.method)) this.checkCsrf(request, identity);
    return identity;
  }

  /** Refuses (403 `csrf`) an unsafe request of a cookie or proxy identity without its CSRF token. */
  private checkCsrf(request: FastifyRequest, identity: Identity): void {
    const expected = this.expectedCsrf(identity);
    const sent = request.headers[CSRF_HEADER];
    if (expected !== undefined && typeof sent === 'string' && sameSecret(sent, expected)) return;
    const came = identity.via === 'session' ? 'the session cookie' : `the ${this.options.trustProxyHeader} header of the proxy`;
    const send = identity.via === 'session' ? 'send the X-CSRF-Token header that GET /api/session returns' : 'send the X-CSRF-Token header that GET /api/session returns, with the cookie it sets';
    throw problem(403, 'Forbidden', `This request came with ${came} but without its CSRF token: ${send}.`, { reason: 'csrf' });
  }

  private expectedCsrf(identity: Identity): string | undefined {
    if (identity.sessionId) return csrfTokenFor(identity.sessionId);
    if (identity.via === 'proxy' && identity.csrfSeed) return proxyCsrfTokenFor(identity.csrfSeed, identity.name);
    return undefined;
  }

  /** Signs in with a personal token: a new session, its cookie set on `reply`. */
  async signIn(token: string, reply: FastifyReply): Promise<{ name: string; csrfToken: string }> {
    const user = isPersonalToken(token) ? await this.store.userByTokenHash(hashSecret(token)) : undefined;
    if (!user) throw problem(401, 'Unauthorized', 'That is not a valid personal token: it is wrong, or it was revoked.', { reason: 'unauthenticated' });
    const sessionId = newSessionId();
    const ttl = this.options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    const now = Date.now();
    await this.store.createSession(hashSecret(sessionId), user.name, new Date(now).toISOString(), new Date(now + ttl).toISOString());
    reply.setCookie(SESSION_COOKIE, sessionId, { path: '/', httpOnly: true, sameSite: 'lax', secure: this.options.secureCookies === true, maxAge: Math.floor(ttl / 1000) });
    return { name: user.name, csrfToken: csrfTokenFor(sessionId) };
  }

  async signOut(identity: Identity | undefined, reply: FastifyReply): Promise<void> {
    if (identity?.sessionId) await this.store.endSession(hashSecret(identity.sessionId), new Date().toISOString());
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  /**
   * The CSRF token of a cookie or proxy identity (undefined for bearer identities, which need none).
   * A proxy identity without a CSRF cookie gets one on `reply`: its token is derived from it.
   */
  csrfToken(identity: Identity, reply?: FastifyReply): string | undefined {
    if (identity.via === 'proxy' && !identity.csrfSeed && reply) {
      const seed = newCsrfSeed();
      reply.setCookie(CSRF_COOKIE, seed, { path: '/', httpOnly: true, sameSite: 'lax', secure: this.options.secureCookies === true });
      return proxyCsrfTokenFor(seed, identity.name);
    }
    return this.expectedCsrf(identity);
  }
}
