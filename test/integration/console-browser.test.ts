/**
 * The console's pages in a real browser: headless Chromium from Debian's package (never a
 * downloaded one), driven by puppeteer-core, against a real console, dev server, worker and store.
 * Signing in, a run's graph changing colour live as an agent submits through the API, an approval
 * answered from the inbox, a non-approver's answer refused with the reason shown, a run cancelled
 * from its page.
 *
 * Screenshots of every page go to `.data/screenshots/` (ignored) on every run;
 * `PLAN_DOC_SCREENSHOTS=1` also writes the ones the docs show (docs/images/console-*.png).
 * `PLAN_BROWSER_TESTS=0` skips the file; without it, a missing browser is a failure, not a skip.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { closeAll, eventually, plan, runId, startHarness, type Harness } from './harness';
import { startConsole, type RunningConsole } from '../../src/console/server';
import { hashSecret, newPersonalToken } from '../../src/console/tokens';
import { EDGE_STATE_STYLES, NODE_STATUS_STYLES } from '../../src/graph/styles';
import { chainNodeId, chainsPlan } from '../scale/helpers';

const CHROMIUM = process.env.PLAN_CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = path.resolve(process.env.PLAN_SCREENSHOT_DIR ?? '.data/screenshots');
const DOC_IMAGES = path.resolve('docs/images');
const WAIT_MS = 15_000;

// What the callbacks below see inside the page (this file compiles without the DOM library).
declare const document: any;
declare const window: any;
declare function getComputedStyle(element: unknown): { fill: string };

let h: Harness;
let consoleServer: RunningConsole;
let browser: Browser;
const tokens: Record<string, string> = {};
const contexts: Record<string, BrowserContext> = {};

const user = (name: string) => `${name}-${h.taskQueue}`;

before(async () => {
  if (process.env.PLAN_BROWSER_TESTS === '0') return;
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium), set PLAN_CHROMIUM_PATH, or PLAN_BROWSER_TESTS=0 to skip these tests`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  h = await startHarness({ requireWorkItemTokens: true });
  for (const name of ['alice', 'mallory']) {
    tokens[name] = newPersonalToken();
    await h.store.addUser(user(name), hashSecret(tokens[name]), new Date().toISOString());
  }
  consoleServer = await startConsole({ client: h.client, store: h.store, port: 0 });
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
});
after(() => closeAll(() => browser?.close(), () => consoleServer?.close(), () => h?.close()));

/** A page in the person's own browser context (their own cookies), failing the test on a page error. */
async function pageFor(name: string): Promise<Page> {
  contexts[name] ??= await browser.createBrowserContext();
  const page = await contexts[name].newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    // The CSP refusing something is a page bug too: the app is built to need no exception.
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) errors.push(message.text());
  });
  (page as Page & { errors: string[] }).errors = errors;
  return page;
}

function assertNoPageErrors(page: Page): void {
  assert.deepEqual((page as Page & { errors?: string[] }).errors ?? [], [], 'errors in the page');
}

const signedIn = new Set<string>();

/** A page of `name`, signed in (once per person: their context keeps the session cookie). */
async function signedInPage(name: string): Promise<Page> {
  const page = await pageFor(name);
  if (!signedIn.has(name)) await signIn(page, name);
  return page;
}

async function signIn(page: Page, name: string): Promise<void> {
  await page.goto(`${consoleServer.url}/signin`);
  await page.waitForSelector('#token');
  await page.type('#token', tokens[name]);
  await page.click('form.signin button[type=submit]');
  await page.waitForFunction((expected) => document.querySelector('#signed-in-as')?.textContent === expected, { timeout: WAIT_MS }, user(name));
  signedIn.add(name);
}

async function screenshot(page: Page, name: string, docs = false): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  if (docs && process.env.PLAN_DOC_SCREENSHOTS === '1') {
    mkdirSync(DOC_IMAGES, { recursive: true });
    await page.screenshot({ path: path.join(DOC_IMAGES, `console-${name}.png`) });
  }
}

/** The filled colour of a node of the graph, as the browser paints it (`rgb(r, g, b)`). */
function nodeFill(page: Page, nodeId: string): Promise<string> {
  return page.$eval(`#graph [data-node-id="${nodeId}"] rect`, (rect) => getComputedStyle(rect).fill);
}

function rgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

describe('console in a browser', { skip: process.env.PLAN_BROWSER_TESTS === '0' && 'PLAN_BROWSER_TESTS=0' }, () => {
  test('signing in: a deep link goes to sign-in and back; a wrong token is refused in words', async () => {
    const page = await pageFor('alice');
    await page.goto(`${consoleServer.url}/runs`);
    await page.waitForSelector('#token');
    assert.equal(new URL(page.url()).pathname, '/signin');
    assert.equal(new URL(page.url()).searchParams.get('next'), '/runs');
    await screenshot(page, 'signin', true);

    await page.type('#token', 'prt_not-a-real-token');
    await page.click('form.signin button[type=submit]');
    const refusal = await page.waitForSelector('.notice-error', { timeout: WAIT_MS });
    assert.match(String(await refusal!.evaluate((e) => e.textContent)), /Sign-in refused: .+/);

    await page.$eval('#token', (input) => ((input as any).value = ''));
    await page.type('#token', tokens.alice);
    await page.click('form.signin button[type=submit]');
    await page.waitForFunction((expected) => document.querySelector('#signed-in-as')?.textContent === expected, { timeout: WAIT_MS }, user('alice'));
    assert.equal(new URL(page.url()).pathname, '/runs', 'back where the link pointed');
    signedIn.add('alice');
    const cookies = await contexts.alice.cookies();
    const sessionCookie = cookies.find((c) => c.httpOnly);
    assert.ok(sessionCookie, 'an HttpOnly session cookie');
    assert.equal(sessionCookie.sameSite, 'Lax');
    assert.equal(await page.evaluate(() => document.cookie.includes('plan_runner_session')), false, 'the session is not readable by scripts');
    assertNoPageErrors(page);
    await page.close();
  });

  test("a run's graph changes colour live as an agent submits its result through the API", async () => {
    const spec = plan('browser-live', [{ id: 'draft', label: 'Draft the post' }, { id: 'publish', label: 'Publish it' }], [{ from: 'draft', to: 'publish' }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('browser-live') });
    const page = await signedInPage('alice');
    await page.goto(`${consoleServer.url}/runs`);
    await page.waitForSelector('#signed-in-as');
    // The runs list links to the run; following it does not reload the page either.
    await page.waitForSelector(`a[href="/runs/${id}"]`, { timeout: WAIT_MS });
    await screenshot(page, 'runs', true);
    await page.click(`a[href="/runs/${id}"]`);
    await page.waitForSelector('#graph [data-node-id="draft"][data-status="running"]', { timeout: WAIT_MS });
    assert.equal(await nodeFill(page, 'draft'), rgb(NODE_STATUS_STYLES.running.fill));
    assert.equal(await nodeFill(page, 'publish'), rgb(NODE_STATUS_STYLES.pending.fill));
    await page.evaluate(() => (window.notReloaded = true));

    const workItem = await eventually(() => h.client.workItem(id, 'draft').then((w) => w ?? undefined), 'the work item');
    const submitted = await fetch(`${consoleServer.url}/api/runs/${id}/results`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ nodeId: 'draft', token: workItem.token, structuredOutput: { text: 'hello' } }),
    });
    assert.equal(submitted.status, 200, await submitted.text());

    // Polling brings the change in without a reload (the marker set above survives).
    await page.waitForSelector('#graph [data-node-id="draft"][data-status="completed"]', { timeout: WAIT_MS });
    assert.equal(await nodeFill(page, 'draft'), rgb(NODE_STATUS_STYLES.completed.fill));
    await page.waitForSelector('#graph [data-node-id="publish"][data-status="running"]', { timeout: WAIT_MS });
    assert.equal(await nodeFill(page, 'publish'), rgb(NODE_STATUS_STYLES.running.fill));
    assert.equal(await page.$eval('#graph [data-from="draft"][data-to="publish"]', (edge) => edge.getAttribute('data-state')), 'taken');
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'updated without a reload');
    await page.waitForSelector('#timeline li[data-type="node-completed"]', { timeout: WAIT_MS });

    // A node opens its panel: the attempt, its output, who submitted.
    await page.click('#graph [data-node-id="draft"]');
    await page.waitForFunction(() => document.querySelector('#node-panel h2')?.textContent?.startsWith('draft'), { timeout: WAIT_MS });
    const panel = String(await page.$eval('#node-panel', (e) => e.textContent));
    assert.match(panel, /Draft the post/);
    assert.match(panel, /"text": "hello"/);
    assert.match(panel, /Attempts \(1\)/);
    await screenshot(page, 'run', true);
    assertNoPageErrors(page);
    await page.close();
  });

  test('a plan of more than 250 nodes is an overview, recoloured in place as results come in', async () => {
    // 26 chains of 10: over OVERVIEW_ABOVE_NODES, every chain's head running.
    const spec = chainsPlan(runId('browser-overview'), 26, 10, 26);
    const { runId: id } = await h.client.start(spec, { runId: spec.id });
    const head = chainNodeId(0, 0);
    const next = chainNodeId(0, 1);
    const page = await signedInPage('alice');
    await page.goto(`${consoleServer.url}/runs/${id}`);
    await page.waitForSelector(`#graph [data-node-id="${head}"][data-status="running"]`, { timeout: WAIT_MS });
    assert.equal(await page.$eval('#graph svg', (svg) => svg.getAttribute('data-overview')), 'true');
    assert.equal(await page.$$eval('#graph svg text', (texts) => texts.length), 0, 'no text in an overview');
    assert.match(String(await page.$eval(`#graph [data-node-id="${head}"] title`, (title) => title.textContent)), new RegExp(`^${head}: `), 'the id and title as a tooltip');
    // The drawing element itself is kept from now on: a redraw would replace it.
    await page.evaluate(() => ((document.querySelector("#graph svg") as unknown as { kept?: boolean }).kept = true));

    const workItem = await eventually(() => h.client.workItem(id, head).then((w) => w ?? undefined), 'the work item');
    await h.client.submitResult(id, { nodeId: head, token: workItem.token, structuredOutput: { step: 0, path: head } });
    await page.waitForSelector(`#graph [data-node-id="${head}"][data-status="completed"]`, { timeout: WAIT_MS });
    assert.equal(await nodeFill(page, head), rgb(NODE_STATUS_STYLES.completed.fill));
    await page.waitForSelector(`#graph [data-node-id="${next}"][data-status="running"]`, { timeout: WAIT_MS });
    assert.equal(await nodeFill(page, next), rgb(NODE_STATUS_STYLES.running.fill));
    const edge = await page.$eval(`#graph [data-from="${head}"][data-to="${next}"]`, (g) => ({ state: g.getAttribute('data-state'), stroke: g.querySelector('polyline')?.getAttribute('stroke') }));
    assert.deepEqual(edge, { state: 'taken', stroke: EDGE_STATE_STYLES.taken.stroke });
    assert.equal(await page.evaluate(() => (document.querySelector("#graph svg") as unknown as { kept?: boolean }).kept), true, 'recoloured in place, not drawn again');
    // A node of the overview still opens its panel.
    await page.click(`#graph [data-node-id="${head}"]`);
    await page.waitForFunction((nodeId: string) => document.querySelector('#node-panel h2')?.textContent?.startsWith(nodeId), { timeout: WAIT_MS }, head);
    await screenshot(page, 'run-overview');
    assertNoPageErrors(page);
    await page.close();
    await h.client.cancel(id, { by: 'test', reason: 'done' });
  });

  test('an approval answered from the inbox: the outcome in words, recorded as the signed-in person', async () => {
    const spec = plan('browser-approve', [{ id: 'approve', type: 'human-approval', approvers: [user('alice')], objective: 'Publish the post?' }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('browser-approve') });
    await eventually(async () => (await h.store.listApprovals({ runId: id, pending: true })).length > 0 || undefined, 'the approval in the store');
    const page = await signedInPage('alice');
    await page.goto(`${consoleServer.url}/runs`);
    await page.waitForSelector('#signed-in-as');
    await page.click('nav a[href="/approvals"]');
    const card = await page.waitForSelector(`article.approval[data-run-id="${id}"]`, { timeout: WAIT_MS });
    assert.match(String(await card!.evaluate((e) => e.textContent)), /Publish the post\?/);
    await screenshot(page, 'approvals', true);
    await card!.$eval('textarea[aria-label=comments]', (e) => ((e as any).value = 'Ship it'));
    await (await card!.$('button.approve'))!.click();
    const outcome = await page.waitForSelector(`article.approval[data-run-id="${id}"] .notice-ok`, { timeout: WAIT_MS });
    assert.match(String(await outcome!.evaluate((e) => e.textContent)), /completed/);
    assert.equal(await card!.$eval('button.approve', (b) => (b as any).disabled), true, 'answered: the buttons are off');
    const [approval] = await h.store.listApprovals({ runId: id });
    assert.equal(approval.respondedBy, user('alice'));
    // Its link now says it is no longer pending, instead of offering the form again.
    await page.goto(`${consoleServer.url}/approvals/${encodeURIComponent(id)}/${encodeURIComponent(approval.approvalId)}`);
    const gone = await page.waitForSelector('#approvals .notice-info', { timeout: WAIT_MS });
    assert.match(String(await gone!.evaluate((e) => e.textContent)), /not pending.*not-pending/);
    assert.equal(await page.$('article.approval'), null);
    await eventually(async () => (await h.client.storedRun(id)).status === 'completed' || undefined, 'the run completed in the store');
    assertNoPageErrors(page);
    await page.close();
  });

  test("a non-approver does not see the approval in the inbox, and their answer from its link is refused with the reason", async () => {
    const spec = plan('browser-refuse', [{ id: 'approve', type: 'human-approval', approvers: [user('alice')], objective: 'Pay the invoice?' }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('browser-refuse') });
    const [pending] = await eventually(async () => {
      const rows = await h.store.listApprovals({ runId: id, pending: true });
      return rows.length ? rows : undefined;
    }, 'the approval in the store');
    const page = await signedInPage('mallory');
    await page.goto(`${consoleServer.url}/approvals`);
    await page.waitForFunction(() => !document.querySelector('#approvals')?.textContent?.includes('Loading'), { timeout: WAIT_MS });
    assert.equal(await page.$(`article.approval[data-run-id="${id}"]`), null, 'not in mallory\'s inbox');

    await page.goto(`${consoleServer.url}/approvals/${encodeURIComponent(id)}/${encodeURIComponent(pending.approvalId)}`);
    const card = await page.waitForSelector(`article.approval[data-run-id="${id}"]`, { timeout: WAIT_MS });
    assert.match(String(await card!.evaluate((e) => e.textContent)), /not among the approvers/);
    await (await card!.$('button.approve'))!.click();
    const refusal = await page.waitForSelector(`article.approval[data-run-id="${id}"] .result .notice-error`, { timeout: WAIT_MS });
    const text = String(await refusal!.evaluate((e) => e.textContent));
    assert.match(text, /refused/);
    assert.match(text, /not-authorized/);
    assert.match(text, new RegExp(user('mallory')));
    await screenshot(page, 'approval-refused', true);
    const [still] = await h.store.listApprovals({ runId: id });
    assert.equal(still.respondedBy, undefined, 'nothing recorded');
    assert.equal((await h.client.snapshot(id)).status, 'awaiting-human');
    assertNoPageErrors(page);
    await page.close();
  });

  test("a human-input form generated from the node's output schema (JSON Editor, under the page's CSP) sends a valid answer", async () => {
    const spec = plan('browser-input', [{ id: 'ask', type: 'human-input', approvers: [user('alice')], objective: 'Which topic?', outputSchema: 'Topic' }], [], {
      schemas: { Topic: { type: 'object', required: ['topic', 'words'], properties: { topic: { type: 'string', minLength: 3 }, words: { type: 'integer', minimum: 100 } } } },
    });
    const { runId: id } = await h.client.start(spec, { runId: runId('browser-input') });
    const [pending] = await eventually(async () => {
      const rows = await h.store.listApprovals({ runId: id, pending: true });
      return rows.length ? rows : undefined;
    }, 'the approval in the store');
    const page = await signedInPage('alice');
    await page.goto(`${consoleServer.url}/approvals/${encodeURIComponent(id)}/${encodeURIComponent(pending.approvalId)}`);
    const card = await page.waitForSelector(`article.approval[data-run-id="${id}"] .schema-form input[name$="[topic]"]`, { timeout: WAIT_MS });
    assert.ok(card, 'JSON Editor drew an input per schema property');
    await page.type('.schema-form input[name$="[topic]"]', 'durable timers');
    const words = await page.$('.schema-form input[name$="[words]"]');
    await words!.evaluate((input) => (input.value = ''));
    await words!.type('50');
    await page.click('.form button.submit');
    // The form refuses an answer its schema refuses, before sending anything.
    const notSent = await page.waitForSelector('.form .notice-error', { timeout: WAIT_MS });
    assert.match(String(await notSent!.evaluate((e) => e.textContent)), /Not sent: .*words/);
    await words!.evaluate((input) => (input.value = ''));
    await words!.type('800');
    await page.click('.form button.submit');
    await page.waitForSelector(`article.approval[data-run-id="${id}"] .result .notice-ok`, { timeout: WAIT_MS }).catch(async (error) => {
      await screenshot(page, 'human-input-failed');
      throw error;
    });
    await screenshot(page, 'human-input', true);
    const answered = await eventually(async () => (await h.store.getNodeRun(id, 'ask'))?.output as { topic?: string; words?: number } | undefined, 'the answer recorded');
    assert.deepEqual(answered, { topic: 'durable timers', words: 800 });
    assertNoPageErrors(page);
    await page.close();
  });

  test('a run cancelled from its page: confirmed first (dismissing sends nothing), then the outcome', async () => {
    const spec = plan('browser-cancel', [{ id: 'work' }]);
    const { runId: id } = await h.client.start(spec, { runId: runId('browser-cancel') });
    const page = await signedInPage('alice');
    await page.goto(`${consoleServer.url}/runs/${encodeURIComponent(id)}`);
    await page.waitForSelector('#graph [data-node-id="work"][data-status="running"]', { timeout: WAIT_MS });

    const dismiss = new Promise<string>((resolve) => page.once('dialog', (dialog) => void dialog.dismiss().then(() => resolve(dialog.message()))));
    await page.click('#cancel-run');
    assert.match(await dismiss, /Cancel run/);
    assert.equal(await page.$eval('#action-outcome', (e) => e.textContent), '', 'nothing sent');
    assert.equal((await h.client.snapshot(id)).status, 'running');

    page.once('dialog', (dialog) => void dialog.accept('not needed any more'));
    await page.click('#cancel-run');
    const outcome = await page.waitForSelector('#action-outcome .notice-ok', { timeout: WAIT_MS });
    assert.match(String(await outcome!.evaluate((e) => e.textContent)), /^Cancel: /);
    await page.waitForSelector('.run-header [data-status="aborted"]', { timeout: WAIT_MS });
    await page.waitForSelector('#cancel-run[disabled]', { timeout: WAIT_MS });
    await page.waitForSelector('#graph [data-node-id="work"][data-status="cancelled"]', { timeout: WAIT_MS });
    const events = await h.store.listEvents(id);
    const aborted = events.find((e) => e.type === 'run-status-changed' && e.toStatus === 'aborted');
    assert.ok(aborted, `the run's change to aborted is recorded: ${events.map((e) => e.type).join(', ')}`);
    assert.equal(aborted.by, user('alice'), 'by the signed-in person');
    assertNoPageErrors(page);
    await page.close();
  });
});
