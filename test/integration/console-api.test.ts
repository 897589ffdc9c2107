/**
 * The console's JSON API on a real dev server, worker and store, over real HTTP (docs/console.md):
 * who may call what, answers as the signed-in person, agent results with work-item tokens, problem
 * details, and an OpenAPI document that is valid and lists exactly the routes served.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { closeAll, eventually, plan, runId, startHarness, type Harness } from './harness';
import { API_ROUTES, startConsole, type RunningConsole } from '../../src/console/server';
import { hashSecret, newPersonalToken } from '../../src/console/tokens';
import { statusView } from '../../src/client/cli/views';
import { PAGE_PATHS } from '../../src/console/routes/pages';
import { RUN_STATUSES } from '../../src/engine/types';

let h: Harness;
let consoleServer: RunningConsole;
const tokens: Record<string, string> = {};

before(async () => {
  h = await startHarness();
  for (const name of ['alice', 'bob', 'mallory']) {
    tokens[name] = newPersonalToken();
    await h.store.addUser(`${name}-${h.taskQueue}`, hashSecret(tokens[name]), new Date().toISOString());
  }
  consoleServer = await startConsole({ client: h.client, store: h.store, port: 0, publicUrl: 'http://console.test' });
});
after(() => closeAll(() => consoleServer?.close(), () => h?.close()));

const user = (name: string) => `${name}-${h.taskQueue}`;

async function api(method: string, path: string, options: { as?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const bearer = options.token ?? (options.as ? tokens[options.as] : undefined);
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${consoleServer.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (SVG, HTML)
  }
  return { status: response.status, body, headers: response.headers };
}

describe('console API', () => {
  test('no token, a bad token and a revoked token are 401 problems', async () => {
    const none = await api('GET', '/api/runs');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    assert.equal(none.body.reason, 'unauthenticated');
    assert.equal((await api('GET', '/api/runs', { token: 'prt_not-a-real-token' })).status, 401);
    const revokedToken = newPersonalToken();
    await h.store.addUser(user('gone'), hashSecret(revokedToken), new Date().toISOString());
    assert.equal((await api('GET', '/api/session', { token: revokedToken })).status, 200);
    await h.store.revokeUser(user('gone'), new Date().toISOString());
    assert.equal((await api('GET', '/api/session', { token: revokedToken })).status, 401);
  });

  test('approvals: only the approvers see and answer them; respondedBy is the signed-in person, whatever the body says', async () => {
    const spec = plan('console-approval', [{ id: 'approve', type: 'human-approval', approvers: [user('alice')], objective: 'Publish?' }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('console-approval') });
    const mine = await eventually(async () => {
      const listed = await api('GET', '/api/approvals?pending=true', { as: 'alice' });
      return listed.body.find?.((a: { runId: string }) => a.runId === id);
    }, 'the approval in alice\'s inbox');
    assert.equal(mine.brief.objective, 'Publish?');
    assert.equal(mine.url, `http://console.test/approvals/${encodeURIComponent(id)}/${encodeURIComponent('approve#1')}`);
    const bobs = await api('GET', '/api/approvals?pending=true', { as: 'bob' });
    assert.ok(!bobs.body.some((a: { runId: string }) => a.runId === id), 'bob is not an approver');

    const refused = await api('POST', `/api/runs/${id}/responses`, { as: 'mallory', body: { nodeId: 'approve', respondedBy: user('alice'), response: { approved: true } } });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.reason, 'not-authorized');
    assert.match(refused.body.detail, /mallory/);

    const answered = await api('POST', `/api/runs/${id}/responses`, { as: 'alice', body: { nodeId: 'approve', respondedBy: 'someone-else', response: { approved: true } } });
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    const approvals = await h.store.listApprovals({ runId: id });
    assert.equal(approvals[0].respondedBy, user('alice'), 'the body\'s respondedBy was ignored');
    const status = await api('GET', `/api/runs/${id}`, { as: 'bob' });
    assert.deepEqual(status.body, statusView(await h.client.snapshot(id)));
    assert.equal(status.body.status, 'completed');
  });

  test('agent results need the work-item token: none → invalid-token, another attempt\'s → stale-attempt, the current one → accepted', async () => {
    const spec = plan('console-agent', [{ id: 'draft', retry: { maxAttempts: 2 } }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('console-agent') });
    const first = await eventually(() => h.client.workItem(id, 'draft').then((w) => w ?? undefined), 'the work item');
    const missing = await api('POST', `/api/runs/${id}/results`, { body: { nodeId: 'draft', structuredOutput: {} } });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.errors[0].path, 'token');
    const read = await api('GET', `/api/runs/${id}/work-items/draft?token=${first.token}`);
    assert.equal(read.status, 200);
    assert.equal((await api('GET', `/api/runs/${id}/work-items/draft?token=wit_wrong`)).body.reason, 'invalid-token');
    assert.equal(read.body.token, first.token, 'the agent holding the token gets it back');
    const asPerson = await api('GET', `/api/runs/${id}/work-items/draft`, { as: 'alice' });
    assert.equal(asPerson.status, 200);
    assert.equal(asPerson.body.nodeId, 'draft');
    assert.equal('token' in asPerson.body, false, "a person reads the work item, not the agent's credential");
    const wrong = await api('POST', `/api/runs/${id}/results`, { body: { nodeId: 'draft', token: 'wit_0000', structuredOutput: {} } });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.reason, 'invalid-token');
    await api('POST', `/api/runs/${id}/results`, { body: { nodeId: 'draft', token: first.token, failure: { message: 'again' } } });
    const stale = await api('POST', `/api/runs/${id}/results`, { body: { nodeId: 'draft', token: first.token, structuredOutput: {} } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'stale-attempt');
    const second = await h.client.workItem(id, 'draft');
    // The body is the submission's, usage included (docs/semantics.md, "Budgets").
    const done = await api('POST', `/api/runs/${id}/results`, { body: { nodeId: 'draft', token: second!.token, structuredOutput: { text: 'ok' }, usage: { inputTokens: 30, outputTokens: 12, costUsd: 0.004 } } });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.runStatus, 'completed');
    assert.deepEqual((await h.client.snapshot(id)).nodes.find((n) => n.id === 'draft')?.usage, { inputTokens: 30, outputTokens: 12, costUsd: 0.004, tokens: 42 });
    const badUsage = await api('POST', `/api/runs/${id}/results`, { body: { nodeId: 'draft', token: second!.token, structuredOutput: {}, usage: { costUsd: -1 } } });
    assert.equal(badUsage.status, 400, JSON.stringify(badUsage.body));
    const svg = await api('GET', `/api/runs/${id}/graph.svg`, { as: 'bob' });
    assert.match(svg.body, /data-node-id="draft"[^>]*data-status="completed"/);
  });

  test('a cookie session: HttpOnly cookie, CSRF required on unsafe requests, and a cancel through it', async () => {
    const signIn = await api('POST', '/api/session', { body: { token: tokens.bob } });
    assert.equal(signIn.status, 200);
    const cookie = signIn.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    const session = cookie.split(';')[0];
    const { runId: id } = await h.client.start(plan('console-cancel', [{ id: 'wait' }]), { runId: runId('console-cancel') });
    const noCsrf = await api('POST', `/api/runs/${id}/cancel`, { headers: { cookie: session }, body: {} });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.reason, 'csrf');
    const cancelled = await api('POST', `/api/runs/${id}/cancel`, { headers: { cookie: session, 'x-csrf-token': signIn.body.csrfToken }, body: { reason: 'test' } });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    const stored = await eventually(async () => (await h.store.getRun(id))?.cancelledBy, 'the cancel recorded');
    assert.equal(stored, user('bob'), 'cancelled by the signed-in person');
  });

  test('with --trust-proxy-header the header is the person, and its unsafe requests need the CSRF token; it holds across consoles', async () => {
    const proxied = await startConsole({ client: h.client, store: h.store, port: 0, publicUrl: 'http://console.test', trustProxyHeader: 'X-Forwarded-Email' });
    const replica = await startConsole({ client: h.client, store: h.store, port: 0, publicUrl: 'http://console.test', trustProxyHeader: 'X-Forwarded-Email' });
    try {
      const dana = `dana-${h.taskQueue}@example.com`;
      const call = async (server: RunningConsole, method: string, path: string, headers: Record<string, string>, body?: unknown) => {
        const response = await fetch(`${server.url}${path}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: response.status, body: (await response.json().catch(() => undefined)) as any, setCookie: response.headers.get('set-cookie') };
      };
      const who = await call(proxied, 'GET', '/api/session', { 'x-forwarded-email': dana });
      assert.equal(who.status, 200, JSON.stringify(who.body));
      assert.equal(who.body.name, dana);
      assert.equal(who.body.via, 'proxy');
      assert.equal(typeof who.body.csrfToken, 'string');
      assert.match(who.setCookie ?? '', /^plan_runner_csrf=[^;]+;.*HttpOnly/i);
      const cookie = (who.setCookie ?? '').split(';')[0];

      const first = (await h.client.start(plan('console-proxy', [{ id: 'wait' }]), { runId: runId('console-proxy') })).runId;
      const second = (await h.client.start(plan('console-proxy', [{ id: 'wait' }]), { runId: runId('console-proxy') })).runId;
      const refusals: Array<[string, Record<string, string>]> = [
        ['no token', { 'x-forwarded-email': dana }],
        ['no cookie', { 'x-forwarded-email': dana, 'x-csrf-token': who.body.csrfToken }],
        ['a wrong token', { 'x-forwarded-email': dana, cookie, 'x-csrf-token': `${who.body.csrfToken.slice(0, -2)}xx` }],
        ["someone else's header", { 'x-forwarded-email': `eve-${h.taskQueue}@example.com`, cookie, 'x-csrf-token': who.body.csrfToken }],
      ];
      for (const [what, headers] of refusals) {
        const refused = await call(proxied, 'POST', `/api/runs/${first}/cancel`, headers, { reason: 'forged' });
        assert.equal(refused.status, 403, `${what}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.reason, 'csrf', what);
        assert.match(refused.body.detail, /X-Forwarded-Email header.*X-CSRF-Token/, what);
      }
      assert.equal((await h.store.getRun(first))?.cancelledBy, undefined, 'nothing was cancelled');
      // Reading needs no token.
      assert.equal((await call(proxied, 'GET', `/api/runs/${first}`, { 'x-forwarded-email': dana })).status, 200);

      const headers = { 'x-forwarded-email': dana, cookie, 'x-csrf-token': who.body.csrfToken };
      const cancelled = await call(proxied, 'POST', `/api/runs/${first}/cancel`, headers, { reason: 'test' });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.equal(await eventually(async () => (await h.store.getRun(first))?.cancelledBy, 'the cancel recorded'), dana);
      // Nothing is kept in the console: another one behind the same proxy (or this one restarted) takes the same cookie and token.
      const elsewhere = await call(replica, 'POST', `/api/runs/${second}/cancel`, headers, { reason: 'test' });
      assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere.body));
      // A bearer token through the proxy needs no CSRF token: no browser adds it by itself.
      assert.equal((await call(proxied, 'GET', '/api/session', { 'x-forwarded-email': dana, authorization: `Bearer ${tokens.bob}` })).body.via, 'bearer');
    } finally {
      await closeAll(() => proxied.close(), () => replica.close());
    }
    // Without the option the header means nothing.
    assert.equal((await api('GET', '/api/session', { headers: { 'x-forwarded-email': user('alice') } })).status, 401);
  });

  test('an unsafe request from another origin is a 403 cross-origin, before it does anything; the console\'s own origins and no Origin pass', async () => {
    const { runId: id } = await h.client.start(plan('console-origin', [{ id: 'wait' }]), { runId: runId('console-origin') });
    for (const origin of ['https://evil.example', 'http://console.test.evil.example', 'null']) {
      const refused = await api('POST', `/api/runs/${id}/cancel`, { as: 'bob', headers: { origin }, body: { reason: 'forged' } });
      assert.equal(refused.status, 403, `${origin}: ${JSON.stringify(refused.body)}`);
      assert.equal(refused.headers.get('content-type')?.split(';')[0], 'application/problem+json');
      assert.equal(refused.body.reason, 'cross-origin');
      assert.ok(refused.body.detail.includes(origin) && refused.body.detail.includes('http://console.test'), refused.body.detail);
    }
    assert.equal((await h.store.getRun(id))?.cancelledBy, undefined, 'nothing was cancelled');
    // Sign-in from another site (login CSRF) sets no cookie.
    const signIn = await api('POST', '/api/session', { headers: { origin: 'https://evil.example' }, body: { token: tokens.bob } });
    assert.equal(signIn.status, 403);
    assert.equal(signIn.body.reason, 'cross-origin');
    assert.equal(signIn.headers.get('set-cookie'), null);
    // Reading is not guarded by Origin.
    assert.equal((await api('GET', `/api/runs/${id}`, { as: 'bob', headers: { origin: 'https://evil.example' } })).status, 200);
    // The public URL's origin (any case, default port) and the address the request went to are the console's own.
    for (const origin of ['http://console.test', 'HTTP://Console.Test:80', new URL(consoleServer.url).origin]) {
      const own = await api('POST', '/api/session', { headers: { origin }, body: { token: tokens.bob } });
      assert.equal(own.status, 200, `${origin}: ${JSON.stringify(own.body)}`);
    }
    // No Origin at all (the CLI, curl, agents): the request goes through.
    const cancelled = await api('POST', `/api/runs/${id}/cancel`, { as: 'bob', body: { reason: 'test' } });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  });

  test('GET /api/runs: an unknown status is a 400 naming the allowed ones, a known one filters, and the document lists them as an enum', async () => {
    const unknown = await api('GET', '/api/runs?status=finished', { as: 'alice' });
    assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
    assert.equal(unknown.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    assert.equal(unknown.body.reason, 'invalid-payload');
    assert.deepEqual(unknown.body.errors.map((e: { path: string }) => e.path), ['status']);
    assert.ok(unknown.body.detail.includes(RUN_STATUSES.join(', ')), unknown.body.detail);
    assert.match((await api('GET', '/api/runs?status=runing', { as: 'alice' })).body.detail, /did you mean "running"/);

    // A plan id of its own, so the filtered lists are about this run only.
    const planId = runId('console-status-filter');
    const { runId: id } = await h.client.start(plan(planId, [{ id: 'approve', type: 'human-approval', approvers: [user('alice')] }]), { runId: runId('console-status') });
    const listed = await eventually(async () => {
      const answer = await api('GET', `/api/runs?status=awaiting-human&planId=${planId}`, { as: 'alice' });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      return answer.body.length > 0 ? answer.body : undefined;
    }, 'the run listed as awaiting-human');
    assert.deepEqual(listed.map((r: { runId: string; status: string }) => [r.runId, r.status]), [[id, 'awaiting-human']]);
    assert.deepEqual((await api('GET', `/api/runs?status=completed&planId=${planId}`, { as: 'alice' })).body, []);

    const document = await api('GET', '/openapi.json');
    const parameters = document.body.paths['/api/runs'].get.parameters as Array<{ name: string; schema: { enum?: string[] } }>;
    assert.deepEqual(parameters.find((p) => p.name === 'status')?.schema.enum, [...RUN_STATUSES]);
  });

  test('the OpenAPI document is valid and lists exactly the routes served', async () => {
    const document = await api('GET', '/openapi.json');
    // The result body documents usage, since it is the submission's schema.
    assert.ok(JSON.stringify(document.body).includes('outputTokens'), 'usage in the OpenAPI document');
    const validator = new Validator();
    const result = await validator.validate(document.body);
    assert.equal(result.valid, true, String(JSON.stringify(result.errors)).slice(0, 2000));
    const documented = Object.entries(document.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    const served = API_ROUTES.map((r) => `${r.method} ${r.path}`).sort();
    assert.deepEqual(documented, served);
    for (const page of PAGE_PATHS.filter((p) => !p.includes(':'))) assert.equal((await api('GET', page)).status, 200, page);
    assert.equal((await api('GET', '/api/nothing-here')).status, 404);
  });
});
