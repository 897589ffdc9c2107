/**
 * The worker loads only what its start needs (docs/performance.md, "The worker starts only what it
 * needs"): these tests load the worker module and build its activities in a fresh process, without
 * starting anything, and list the packages that loaded, so that an import that brings zod, the YAML
 * parser or pg back into every worker's start fails here instead of going unnoticed. What the
 * worker does need (Kysely for the store, Ajv for validation) is loaded when the store is opened and
 * the activities are created, and is not listed here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const DIST_SRC = path.join(__dirname, '..', '..', 'src');

/** Packages a worker's start used to load without needing them, and Kysely (loaded with the store). */
const WATCHED = ['zod', 'yaml', 'pg', 'kysely'];

/** Runs `script` (after `dist/src` is required as `src`) in a new process; the watched packages it loaded. */
function loadedBy(script: string, env: Record<string, string> = {}): string[] {
  const program = `
    const src = (name) => require(require('path').join(${JSON.stringify(DIST_SRC)}, name));
    ${script}
    const packages = new Set();
    for (const file of Object.keys(require.cache)) {
      const match = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(file);
      if (match) packages.add(match[1].replace(/\\\\/g, '/'));
    }
    process.stdout.write(JSON.stringify([...packages]));`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^PLAN_(DELIVERY_CONFIG|WEBHOOK_|CONSOLE_URL)/.test(name)));
  const result = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8', env: { ...clean, ...env } });
  assert.equal(result.status, 0, result.stderr);
  const packages = JSON.parse(result.stdout) as string[];
  return WATCHED.filter((name) => packages.includes(name));
}

test('the worker module loads neither zod, yaml, pg nor the store (Kysely)', () => {
  assert.deepEqual(loadedBy(`src('worker');`), []);
});

test('reading a delivery configuration without a file or URL variables, and creating the activities, adds none of them', () => {
  const script = `
    const { createActivities } = src('activities');
    const { loadDeliveryConfig } = src('activities/delivery');
    createActivities({ store: { dialect: 'sqlite', location: ':memory:' }, delivery: loadDeliveryConfig({}) });`;
  assert.deepEqual(loadedBy(script), []);
});

test('a webhook URL in the environment is checked with zod, as before', () => {
  const script = `
    const { loadDeliveryConfig } = src('activities/delivery');
    try { loadDeliveryConfig({ PLAN_WEBHOOK_URL: 'not a url', PLAN_WEBHOOK_SECRET: 'whsec_' + Buffer.from('x'.repeat(32)).toString('base64') }); } catch (error) {
      if (!/PLAN_WEBHOOK_URL/.test(error.message)) throw error;
    }`;
  assert.deepEqual(loadedBy(script), ['zod']);
});

test('a SQLite store loads Kysely and not pg', () => {
  const script = `src('store').openStore(':memory:').then((store) => store.close());`;
  assert.deepEqual(loadedBy(script), ['kysely']);
});
