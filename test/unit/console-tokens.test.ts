/** The console's secrets (src/console/tokens.ts): their formats, what the store keeps of them, CSRF tokens, comparison. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { csrfTokenFor, hashSecret, isPersonalToken, newCsrfSeed, newPersonalToken, newSessionId, proxyCsrfTokenFor, sameSecret } from '../../src/console/tokens';

const BASE64URL_256_BITS = /^[A-Za-z0-9_-]{43}$/;

test('a personal token is prt_ and 32 random bytes in base64url, different every time', () => {
  const tokens = new Set(Array.from({ length: 50 }, () => newPersonalToken()));
  assert.equal(tokens.size, 50);
  for (const token of tokens) {
    assert.ok(token.startsWith('prt_'), token);
    assert.match(token.slice(4), BASE64URL_256_BITS);
    assert.equal(Buffer.from(token.slice(4), 'base64url').length, 32);
    assert.ok(isPersonalToken(token));
  }
});

test('session ids and CSRF seeds are 32 random bytes too, and are not personal tokens', () => {
  for (const make of [newSessionId, newCsrfSeed]) {
    const values = new Set(Array.from({ length: 50 }, () => make()));
    assert.equal(values.size, 50, make.name);
    for (const value of values) {
      assert.match(value, BASE64URL_256_BITS);
      assert.equal(isPersonalToken(value), false, 'a session id cannot be used as a bearer token');
    }
  }
});

test('only the exact format is a personal token', () => {
  const token = newPersonalToken();
  for (const bad of ['', 'prt_', token.slice(0, -1), `${token}A`, `prx_${token.slice(4)}`, `PRT_${token.slice(4)}`, `prt_${'+'.repeat(43)}`, `prt_${'='.repeat(43)}`, ` ${token}`, `${token}\n`]) {
    assert.equal(isPersonalToken(bad), false, JSON.stringify(bad));
  }
});

test('what the store keeps is the SHA-256 in hex: deterministic, so the row is found by it, and not the secret', () => {
  const token = newPersonalToken();
  const hash = hashSecret(token);
  assert.equal(hash, createHash('sha256').update(token, 'utf8').digest('hex'));
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(hashSecret(token), hash);
  assert.notEqual(hashSecret(newPersonalToken()), hash);
});

test("a session's CSRF token is derived from its id: the same every time, another session's differs, and it does not give the id away", () => {
  const id = newSessionId();
  const csrf = csrfTokenFor(id);
  assert.match(csrf, BASE64URL_256_BITS);
  assert.equal(csrfTokenFor(id), csrf);
  assert.notEqual(csrfTokenFor(newSessionId()), csrf);
  assert.notEqual(csrf, id);
});

test("a proxy identity's CSRF token depends on both the seed and the name", () => {
  const seed = newCsrfSeed();
  const token = proxyCsrfTokenFor(seed, 'dana@example.com');
  assert.match(token, BASE64URL_256_BITS);
  assert.equal(proxyCsrfTokenFor(seed, 'dana@example.com'), token, 'stateless: any console computes the same');
  assert.notEqual(proxyCsrfTokenFor(seed, 'eve@example.com'), token, "one name's token is not another's");
  assert.notEqual(proxyCsrfTokenFor(newCsrfSeed(), 'dana@example.com'), token);
  assert.notEqual(csrfTokenFor(seed), token, 'not a session token for the same secret');
});

test('sameSecret compares exactly, whatever the lengths', () => {
  const token = newPersonalToken();
  assert.equal(sameSecret(token, `${token}`), true);
  assert.equal(sameSecret(token, token.slice(0, -1)), false);
  assert.equal(sameSecret(token, `${token}x`), false);
  assert.equal(sameSecret(token, newPersonalToken()), false);
  assert.equal(sameSecret('', ''), true);
  assert.equal(sameSecret('', 'a'), false);
  assert.equal(sameSecret('é', 'e'), false);
  assert.equal(sameSecret('é', 'e\u0301'), false, 'no normalization: bytes must match');
});
