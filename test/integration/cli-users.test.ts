/**
 * `plan-runner users add|list|revoke` end to end: the real `bin/plan-runner.js` as a subprocess
 * against a real store (PLAN_STORE_URL when set, as `./temporal-dev.sh test` sets it for SQLite and
 * PostgreSQL; else a SQLite file that does not exist yet, which `users add` creates). No Temporal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { openStore, type PlanStore } from '../../src/store';
import { hashSecret, isPersonalToken } from '../../src/console/tokens';

const BIN = path.resolve(__dirname, '../../../bin/plan-runner.js');
let tmpDir: string;
let storeUrl: string;
let store: PlanStore | undefined;

before(() => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-users-'));
  storeUrl = process.env.PLAN_STORE_URL?.trim() || path.join(tmpDir, 'store.db');
});
after(async () => {
  await store?.close();
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args, '--store', storeUrl], { env: { ...process.env, CI: 'true' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

test('users add prints the token once and stores only its hash; list never shows either', async () => {
  const name = unique('alice');
  const added = await cli('users', 'add', name, '--json');
  assert.equal(added.code, 0, added.stderr);
  const body = JSON.parse(added.stdout) as { name: string; token: string };
  assert.deepEqual(Object.keys(body).sort(), ['name', 'token']);
  assert.equal(body.name, name);
  assert.ok(isPersonalToken(body.token), body.token);

  const plain = await cli('users', 'add', unique('bob'));
  assert.equal(plain.code, 0, plain.stderr);
  assert.ok(isPersonalToken(plain.stdout.trim()), 'without --json, stdout is the token alone');
  assert.match(plain.stderr, /shown only this once/);

  store = await openStore(storeUrl);
  assert.equal((await store.userByTokenHash(hashSecret(body.token)))?.name, name, 'the token signs in as the name');

  const listed = await cli('users', 'list', '--json');
  assert.equal(listed.code, 0, listed.stderr);
  const users = JSON.parse(listed.stdout) as Array<{ name: string; createdAt: string; revokedAt?: string }>;
  const mine = users.find((user) => user.name === name);
  assert.ok(mine, listed.stdout);
  assert.deepEqual(Object.keys(mine).sort(), ['createdAt', 'name']);
  assert.ok(!Number.isNaN(Date.parse(mine.createdAt)), mine.createdAt);
  const table = await cli('users', 'list');
  for (const output of [listed.stdout, table.stdout]) {
    assert.ok(!output.includes(body.token) && !output.includes(hashSecret(body.token)), 'no token and no hash in the list');
  }
  assert.match(table.stdout, new RegExp(`^${name}\\s`, 'm'));

  const again = await cli('users', 'add', name, '--json');
  assert.equal(again.code, 1);
  const refused = JSON.parse(again.stdout.trim()) as { error: string; code: string };
  assert.equal(refused.code, 'user-exists');
  assert.match(refused.error, /exists already/);
  assert.equal((await store.userByTokenHash(hashSecret(body.token)))?.name, name, 'the refused add left the token alone');

  const invalid = await cli('users', 'add', 'not a name', '--json');
  assert.equal(invalid.code, 2, 'a name that cannot be a user is a usage error');
  assert.match(JSON.parse(invalid.stdout.trim()).error, /cannot be a user name/);
});

test('users revoke ends the token and the sessions; the name can then get a new token', async () => {
  const name = unique('carol');
  const first = JSON.parse((await cli('users', 'add', name, '--json')).stdout) as { token: string };
  store ??= await openStore(storeUrl);
  const now = new Date();
  const sessionHash = hashSecret(`session-${randomUUID()}`);
  await store.createSession(sessionHash, name, now.toISOString(), new Date(now.getTime() + 60_000).toISOString());
  assert.equal((await store.getSession(sessionHash, now.toISOString()))?.userName, name);

  const revoked = await cli('users', 'revoke', name, '--json');
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.deepEqual(JSON.parse(revoked.stdout), { name, revoked: true });
  assert.equal(await store.userByTokenHash(hashSecret(first.token)), undefined, 'the token no longer signs in');
  assert.equal(await store.getSession(sessionHash, now.toISOString()), undefined, 'the session ended with it');
  const listed = JSON.parse((await cli('users', 'list', '--json')).stdout) as Array<{ name: string; revokedAt?: string }>;
  assert.ok(!Number.isNaN(Date.parse(listed.find((user) => user.name === name)?.revokedAt ?? '')), 'list shows when');

  const twice = await cli('users', 'revoke', name, '--json');
  assert.equal(twice.code, 3);
  assert.equal(JSON.parse(twice.stdout.trim()).code, 'unknown-user');
  const nobody = await cli('users', 'revoke', unique('nobody'), '--json');
  assert.equal(nobody.code, 3);
  assert.equal(JSON.parse(nobody.stdout.trim()).code, 'unknown-user');

  const readded = await cli('users', 'add', name, '--json');
  assert.equal(readded.code, 0, readded.stdout + readded.stderr);
  const second = JSON.parse(readded.stdout) as { token: string };
  assert.notEqual(second.token, first.token);
  assert.equal((await store.userByTokenHash(hashSecret(second.token)))?.name, name);
  assert.equal(await store.userByTokenHash(hashSecret(first.token)), undefined, 'the old token stays dead');
  const relisted = JSON.parse((await cli('users', 'list', '--json')).stdout) as Array<{ name: string; revokedAt?: string }>;
  assert.deepEqual(relisted.filter((user) => user.name === name).map((user) => user.revokedAt), [undefined], 'one row, not revoked');
});
