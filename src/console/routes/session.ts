/** Signing in and out, and who is signed in. */
import { z } from 'zod';
import { SessionInfo, SignInRequest } from '../api-schemas';
import { problem } from '../problems';
import { route } from '../route';

export const sessionRoutes = [
  route({
    method: 'GET',
    path: '/api/session',
    summary: 'Who is signed in (and, for a cookie session or the proxy header, the CSRF token to send on unsafe requests)',
    tag: 'session',
    auth: 'none',
    response: SessionInfo,
    problems: [401],
    async handler({ identity, reply }, { auth }) {
      if (!identity) throw problem(401, 'Unauthorized', 'Nobody is signed in: sign in at /signin or send "Authorization: Bearer <personal token>".', { reason: 'unauthenticated' });
      // A proxy identity's token comes with a CSRF cookie, set here when the browser has none yet.
      const csrfToken = auth.csrfToken(identity, reply);
      return { name: identity.name, via: identity.via, ...(csrfToken ? { csrfToken } : {}) };
    },
  }),
  route<z.infer<typeof SignInRequest>>({
    method: 'POST',
    path: '/api/session',
    summary: 'Sign in with a personal token: sets the session cookie (HttpOnly, SameSite=Lax)',
    tag: 'session',
    auth: 'none',
    body: SignInRequest,
    response: SessionInfo,
    problems: [400, 401, 403, 429],
    // Tokens are 256 random bits, so guessing is hopeless anyway; the limit keeps a script from
    // hammering the store with sign-ins.
    rateLimit: { max: 10, windowMs: 60_000 },
    async handler({ body, reply }, { auth }) {
      const session = await auth.signIn(body.token, reply);
      return { name: session.name, via: 'session', csrfToken: session.csrfToken };
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/session',
    summary: 'Sign out: ends the session and clears its cookie',
    tag: 'session',
    auth: 'none',
    status: 204,
    problems: [403],
    async handler({ identity, reply }, { auth }) {
      await auth.signOut(identity, reply);
      return undefined;
    },
  }),
];
