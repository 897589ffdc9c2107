/**
 * Who the console takes a request to be from, and which unsafe requests it refuses
 * (src/console/auth.ts), over an in-memory store and hand-made requests: no server, no database.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticator, checkOrigin, CSRF_COOKIE, isUnsafeMethod, SESSION_COOKIE, type AuthOptions, type Identity } from '../../src/console/auth';
import { ProblemError } from '../../src/console/problems';
import { hashSecret, newPersonalToken } from '../../src/console/tokens';
import type { StoredSession, StoredUser } from '../../src/store/identity';
import type { PlanStore } from '../../src/store/types';

/** The identity part of the store, in memory. */
function memoryStore() {
  const users = new Map<string, StoredUser & { tokenHash: string }>();
  const sessions = new Map<string, StoredSession>();
  const store = {
    async userByTokenHash(tokenHash: string) {
      const user = [...users.values()].find((u) => u.tokenHash === tokenHash && !u.revokedAt);
      return user ? { name: user.name, createdAt: user.createdAt } : undefined;
    },
    async createSession(sessionHash: string, userName: string, at: string, expiresAt: string) {
      sessions.set(sessionHash, { userName, createdAt: at, expiresAt });
    },
    async getSession(sessionHash: string, now: string) {
      const session = sessions.get(sessionHash);
      return session && session.expiresAt > now && !users.get(session.userName)?.revokedAt ? session : undefined;
    },
    async endSession(sessionHash: string) {
      sessions.delete(sessionHash);
    },
  };
  const add = (name: string) => {
    const token = newPersonalToken();
    users.set(name, { name, createdAt: '2030-01-01T00:00:00.000Z', tokenHash: hashSecret(token) });
    return token;
  };
  const revoke = (name: string) => void (users.get(name)!.revokedAt = '2030-01-02T00:00:00.000Z');
  return { store: store as unknown as PlanStore, add, revoke, sessions };
}

interface FakeRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  host?: string;
  protocol?: 'http' | 'https';
}
const request = ({ method = 'GET', headers = {}, cookies = {}, host = '127.0.0.1:8080', protocol = 'http' }: FakeRequestOptions = {}) =>
  ({ method, headers, cookies, host, protocol }) as unknown as FastifyRequest;

/** A reply that keeps the cookies set on it. */
function reply() {
  const cookies: Array<{ name: string; value: string; options: Record<string, unknown> }> = [];
  const fake = {
    setCookie(name: string, value: string, options: Record<string, unknown>) {
      cookies.push({ name, value, options });
      return fake;
    },
    clearCookie(name: string) {
      cookies.push({ name, value: '', options: { cleared: true } });
      return fake;
    },
  };
  return { reply: fake as unknown as FastifyReply, cookies };
}

/** Asserts `fn` throws (or rejects with) a problem of this status and reason; returns its detail. */
async function problemOf(fn: () => unknown, status: number, reason: string): Promise<string> {
  let detail = '';
  await assert.rejects(
    async () => fn(),
    (error: unknown) => {
      assert.ok(error instanceof ProblemError, String(error));
      assert.equal(error.problem.status, status);
      assert.equal(error.problem.reason, reason);
      detail = error.problem.detail;
      return true;
    },
  );
  return detail;
}

const authenticator = (store: PlanStore, options: AuthOptions = {}) => new Authenticator(store, options);

describe('bearer tokens', () => {
  test('a personal token signs its person in; a malformed header, an unknown and a revoked token are 401s', async () => {
    const { store, add, revoke } = memoryStore();
    const token = add('alice');
    const auth = authenticator(store);
    assert.deepEqual(await auth.identify(request({ headers: { authorization: `Bearer ${token}` } })), { name: 'alice', via: 'bearer' });
    assert.deepEqual(await auth.identify(request({ headers: { authorization: `bearer  ${token}` } })), { name: 'alice', via: 'bearer' }, 'any case, any spaces');
    for (const header of ['', `Basic ${token}`, 'Bearer', token, `Bearer ${token} extra`, `Bearer ${newPersonalToken()}`, 'Bearer prt_short']) {
      await problemOf(() => auth.identify(request({ headers: { authorization: header } })), 401, 'unauthenticated');
    }
    revoke('alice');
    await problemOf(() => auth.identify(request({ headers: { authorization: `Bearer ${token}` } })), 401, 'unauthenticated');
  });

  test('a bad token is a 401 even with a valid session cookie, and bearer requests need no CSRF token', async () => {
    const { store, add } = memoryStore();
    const token = add('alice');
    const auth = authenticator(store);
    const signIn = reply();
    await auth.signIn(token, signIn.reply);
    const cookies = { [SESSION_COOKIE]: signIn.cookies[0].value };
    await problemOf(() => auth.identify(request({ headers: { authorization: `Bearer ${newPersonalToken()}` }, cookies })), 401, 'unauthenticated');
    const posted = await auth.require(request({ method: 'POST', headers: { authorization: `Bearer ${token}` } }));
    assert.equal(posted.via, 'bearer');
    assert.equal(auth.csrfToken(posted), undefined);
  });
});

describe('cookie sessions', () => {
  test('sign-in sets an HttpOnly, SameSite=Lax cookie (Secure behind https) that only the hash of is stored', async () => {
    for (const secureCookies of [false, true]) {
      const { store, add, sessions } = memoryStore();
      const token = add('alice');
      const { reply: r, cookies } = reply();
      const session = await authenticator(store, { secureCookies, sessionTtlMs: 60_000 }).signIn(token, r);
      assert.equal(session.name, 'alice');
      assert.equal(cookies.length, 1);
      assert.equal(cookies[0].name, SESSION_COOKIE);
      assert.deepEqual({ ...cookies[0].options }, { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookies, maxAge: 60 });
      assert.deepEqual([...sessions.keys()], [hashSecret(cookies[0].value)]);
    }
    const { store } = memoryStore();
    await problemOf(() => authenticator(store).signIn(newPersonalToken(), reply().reply), 401, 'unauthenticated');
  });

  test('unsafe requests with the cookie need its CSRF token; safe ones do not', async () => {
    const { store, add } = memoryStore();
    const auth = authenticator(store);
    const { reply: r, cookies } = reply();
    const { csrfToken } = await auth.signIn(add('alice'), r);
    const cookie = { [SESSION_COOKIE]: cookies[0].value };
    const identity = await auth.require(request({ cookies: cookie }));
    assert.equal(identity.via, 'session');
    assert.equal(auth.csrfToken(identity), csrfToken, 'GET /api/session hands out the same token as sign-in');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      await problemOf(() => auth.require(request({ method, cookies: cookie })), 403, 'csrf');
      await problemOf(() => auth.require(request({ method, cookies: cookie, headers: { 'x-csrf-token': `${csrfToken}x` } })), 403, 'csrf');
      assert.equal((await auth.require(request({ method, cookies: cookie, headers: { 'x-csrf-token': csrfToken } }))).name, 'alice', method);
    }
    // Another session's token does not do.
    const other = reply();
    const second = await auth.signIn(add('bob'), other.reply);
    await problemOf(() => auth.require(request({ method: 'POST', cookies: cookie, headers: { 'x-csrf-token': second.csrfToken } })), 403, 'csrf');
  });

  test('an expired, ended or unknown session is nobody; signing out ends it and clears the cookie', async () => {
    const { store, add } = memoryStore();
    const auth = authenticator(store, { sessionTtlMs: 1 });
    const { reply: r, cookies } = reply();
    await auth.signIn(add('alice'), r);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(await auth.identify(request({ cookies: { [SESSION_COOKIE]: cookies[0].value } })), undefined, 'expired');
    assert.equal(await auth.identify(request({ cookies: { [SESSION_COOKIE]: 'made-up' } })), undefined);
    await problemOf(() => auth.require(request({ cookies: { [SESSION_COOKIE]: 'made-up' } })), 401, 'unauthenticated');

    const lasting = authenticator(store);
    const signIn = reply();
    await lasting.signIn(add('bob'), signIn.reply);
    const cookie = { [SESSION_COOKIE]: signIn.cookies[0].value };
    const identity = (await lasting.identify(request({ cookies: cookie }))) as Identity;
    const out = reply();
    await lasting.signOut(identity, out.reply);
    assert.deepEqual(out.cookies.map((c) => [c.name, c.value]), [[SESSION_COOKIE, '']]);
    assert.equal(await lasting.identify(request({ cookies: cookie })), undefined, 'signed out');
  });
});

describe('the proxy header', () => {
  const HEADER = 'X-Forwarded-Email';

  test('means nothing unless the console trusts it; then it is the person, trimmed', async () => {
    const { store } = memoryStore();
    const headers = { 'x-forwarded-email': '  dana@example.com ' };
    assert.equal(await authenticator(store).identify(request({ headers })), undefined);
    assert.deepEqual(await authenticator(store, { trustProxyHeader: HEADER }).identify(request({ headers })), { name: 'dana@example.com', via: 'proxy' });
    assert.equal(await authenticator(store, { trustProxyHeader: HEADER }).identify(request({ headers: { 'x-forwarded-email': '   ' } })), undefined, 'blank is nobody');
  });

  test('its unsafe requests need the CSRF token GET /api/session hands out with its cookie; any console computes the same', async () => {
    const { store, add } = memoryStore();
    for (const secureCookies of [false, true]) {
      const auth = authenticator(store, { trustProxyHeader: HEADER, secureCookies });
      const headers = { 'x-forwarded-email': 'dana@example.com' };
      const first = (await auth.require(request({ headers }))) as Identity;
      assert.equal(first.via, 'proxy', 'reading needs no token');
      assert.equal(auth.csrfToken(first), undefined, 'without a reply there is no cookie to derive it from');
      const session = reply();
      const csrf = auth.csrfToken(first, session.reply) as string;
      assert.equal(typeof csrf, 'string');
      assert.equal(session.cookies.length, 1);
      assert.equal(session.cookies[0].name, CSRF_COOKIE);
      assert.deepEqual({ ...session.cookies[0].options }, { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookies });
      const cookies = { [CSRF_COOKIE]: session.cookies[0].value };

      // With the cookie, GET /api/session gives the same token and sets no new cookie.
      const again = reply();
      assert.equal(auth.csrfToken((await auth.identify(request({ headers, cookies }))) as Identity, again.reply), csrf);
      assert.equal(again.cookies.length, 0);

      const detail = await problemOf(() => auth.require(request({ method: 'POST', headers })), 403, 'csrf');
      assert.match(detail, /X-Forwarded-Email header.*X-CSRF-Token/);
      await problemOf(() => auth.require(request({ method: 'POST', headers: { ...headers, 'x-csrf-token': csrf } })), 403, 'csrf');
      await problemOf(() => auth.require(request({ method: 'DELETE', headers: { ...headers, 'x-csrf-token': `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` }, cookies })), 403, 'csrf');
      await problemOf(() => auth.require(request({ method: 'POST', headers: { 'x-forwarded-email': 'eve@example.com', 'x-csrf-token': csrf }, cookies })), 403, 'csrf');
      assert.equal((await auth.require(request({ method: 'POST', headers: { ...headers, 'x-csrf-token': csrf }, cookies }))).name, 'dana@example.com');
      const restarted = authenticator(store, { trustProxyHeader: HEADER, secureCookies });
      assert.equal((await restarted.require(request({ method: 'POST', headers: { ...headers, 'x-csrf-token': csrf }, cookies }))).name, 'dana@example.com');
    }
    // A bearer token through the proxy is the token's person, and needs no CSRF token.
    const token = add('alice');
    const auth = authenticator(store, { trustProxyHeader: HEADER });
    assert.deepEqual(await auth.require(request({ method: 'POST', headers: { 'x-forwarded-email': 'dana@example.com', authorization: `Bearer ${token}` } })), { name: 'alice', via: 'bearer' });
  });
});

describe('the Origin of unsafe requests', () => {
  const PUBLIC = 'https://console.example';
  const check = (options: FakeRequestOptions, publicUrl: string | undefined = PUBLIC) => () => checkOrigin(request(options), publicUrl);

  test('another origin is refused on POST, PUT, PATCH and DELETE, saying where it came from and what the console is', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'post']) {
      const detail = await problemOf(check({ method, headers: { origin: 'https://evil.example' } }), 403, 'cross-origin');
      assert.ok(detail.includes('https://evil.example') && detail.includes(PUBLIC) && detail.includes('http://127.0.0.1:8080'), detail);
    }
    for (const origin of ['null', 'not a url', 'https://console.example.evil.example', 'http://console.example', 'https://console.example:8443', 'https://evil.example/https://console.example']) {
      await problemOf(check({ method: 'POST', headers: { origin } }), 403, 'cross-origin');
    }
    await problemOf(check({ method: 'POST', headers: { origin: 'http://127.0.0.1:8080' }, protocol: 'https' }), 403, 'cross-origin');
    await problemOf(check({ method: 'POST', headers: { origin: 'https://evil.example' } }, undefined), 403, 'cross-origin');
    const long = await problemOf(check({ method: 'POST', headers: { origin: `https://${'a'.repeat(5000)}.example` } }), 403, 'cross-origin');
    assert.ok(long.length < 1000, 'a huge Origin is not echoed whole');
  });

  test("the console's own origins, requests without Origin and safe methods pass", () => {
    const passes = (options: FakeRequestOptions, publicUrl?: string) => assert.doesNotThrow(check(options, publicUrl), JSON.stringify(options));
    passes({ method: 'POST' });
    passes({ method: 'DELETE', headers: { origin: PUBLIC } });
    passes({ method: 'POST', headers: { origin: 'HTTPS://Console.Example:443' } });
    passes({ method: 'POST', headers: { origin: 'http://127.0.0.1:8080' } }, 'http://127.0.0.1:8080/');
    passes({ method: 'POST', headers: { origin: 'http://localhost:8080' }, host: 'localhost:8080' });
    passes({ method: 'POST', headers: { origin: 'https://console.example' }, host: 'console.example', protocol: 'https' }, undefined);
    for (const method of ['GET', 'HEAD', 'OPTIONS']) passes({ method, headers: { origin: 'https://evil.example' } });
  });

  test('isUnsafeMethod: whatever is not GET, HEAD or OPTIONS', () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'post', 'PROPFIND']) assert.equal(isUnsafeMethod(method), true, method);
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'get']) assert.equal(isUnsafeMethod(method), false, method);
  });
});
