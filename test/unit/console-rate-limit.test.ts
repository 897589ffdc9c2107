/**
 * The console's sign-in is rate-limited per client address (docs/security.md): after 10 attempts in
 * a minute, a 429 problem says when to try again. Other routes are not limited. In-process through
 * Fastify's `inject`, with a store that knows nobody: no server, no Temporal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConsoleServer } from '../../src/console/server';
import type { PlanRunnerClient } from '../../src/client/plan-runner-client';
import type { PlanStore } from '../../src/store/types';

const nobody = { userByTokenHash: async () => undefined } as unknown as PlanStore;

test('sign-in: the 11th attempt in a minute from one address is a 429 problem; another address still gets through', async () => {
  const app = createConsoleServer({ client: {} as PlanRunnerClient, store: nobody });
  try {
    const signIn = (remoteAddress = '10.0.0.1') => app.inject({ method: 'POST', url: '/api/session', payload: { token: `prt_${'a'.repeat(43)}` }, remoteAddress });
    for (let i = 0; i < 10; i++) assert.equal((await signIn()).statusCode, 401, `attempt ${i + 1} is judged on its token`);
    const limited = await signIn();
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers['content-type']?.toString().split(';')[0], 'application/problem+json');
    const body = limited.json() as { reason: string; detail: string };
    assert.equal(body.reason, 'rate-limited');
    assert.match(body.detail, /At most 10 .* try again in \d+ s/);
    assert.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After says when');
    assert.equal((await signIn('10.0.0.2')).statusCode, 401, 'the limit is per address');
    // Reading who is signed in is not limited.
    for (let i = 0; i < 12; i++) assert.equal((await app.inject({ method: 'GET', url: '/api/session', remoteAddress: '10.0.0.1' })).statusCode, 401);
  } finally {
    await app.close();
  }
});
