/**
 * Personal tokens and console sessions. Both are 32 random bytes from the operating system, so a
 * fast hash (SHA-256) is the right way to store them: there is nothing to guess, and slow password
 * hashes exist for low-entropy secrets chosen by people. Comparisons run in constant time.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every personal token starts with this, so a token found in a log or a paste says what it is. */
export const PERSONAL_TOKEN_PREFIX = 'prt_';

/** A new personal token: `prt_` + 43 base64url characters (256 bits). */
export function newPersonalToken(): string {
  return PERSONAL_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** A new session id for a cookie (256 bits). */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** What the store keeps of a token or a session id: its SHA-256, hex. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether `token` looks like a personal token (checked before any lookup). */
export function isPersonalToken(token: string): boolean {
  return /^prt_[A-Za-z0-9_-]{43}$/.test(token);
}

/**
 * The CSRF token of a session: derived from the session id, so nothing more is stored, and only
 * someone who holds the cookie's value can compute it (which a cross-site page cannot).
 */
export function csrfTokenFor(sessionId: string): string {
  return createHmac('sha256', sessionId).update('plan-runner console csrf').digest('base64url');
}

/** A new seed for the CSRF tokens of proxy-header identities, kept in an HttpOnly cookie (256 bits). */
export function newCsrfSeed(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The CSRF token of a person signed in by the proxy header: derived from the seed in their CSRF
 * cookie and their name, like a session's from its id. Nothing is stored, so it survives a restart
 * and is the same on every console behind the proxy; a cross-site page can read neither the cookie
 * nor the token, and the token of one name is not another's.
 */
export function proxyCsrfTokenFor(seed: string, name: string): string {
  return createHmac('sha256', seed).update(`plan-runner console proxy csrf\n${name}`).digest('base64url');
}

/** Compares two strings without returning early on the first difference. */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
