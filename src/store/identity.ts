/**
 * The identity tables (migration 0005): people and their console sessions. The store sees only
 * hashes; making and checking tokens is the console's (`src/console/tokens.ts`).
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema';

/** A person, as `plan-runner users list` shows them: never a hash. */
export interface StoredUser {
  name: string;
  createdAt: string;
  revokedAt?: string;
}

/** A console session, found by the hash of its id. */
export interface StoredSession {
  userName: string;
  createdAt: string;
  expiresAt: string;
}

/**
 * Adds a person; false when one of that name exists and was not revoked. A revoked name can be added
 * again (what `users add` tells people to do for a new token): the row takes the new hash, so the
 * old token stays dead, and its sessions went with the revocation.
 */
export async function insertUser(db: Kysely<Database>, name: string, tokenHash: string, at: string): Promise<boolean> {
  const result = await db
    .insertInto('users')
    .values({ name, token_hash: tokenHash, created_at: at, revoked_at: null })
    .onConflict((oc) => oc.column('name').doUpdateSet({ token_hash: tokenHash, created_at: at, revoked_at: null }).where('users.revoked_at', 'is not', null))
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function selectUsers(db: Kysely<Database>): Promise<StoredUser[]> {
  const rows = await db.selectFrom('users').select(['name', 'created_at', 'revoked_at']).orderBy('name').execute();
  return rows.map((row) => ({ name: row.name, createdAt: row.created_at, ...(row.revoked_at ? { revokedAt: row.revoked_at } : {}) }));
}

/** The person a token hash belongs to, unless revoked. */
export async function selectUserByTokenHash(db: Kysely<Database>, tokenHash: string): Promise<StoredUser | undefined> {
  const row = await db.selectFrom('users').select(['name', 'created_at', 'revoked_at']).where('token_hash', '=', tokenHash).where('revoked_at', 'is', null).executeTakeFirst();
  return row ? { name: row.name, createdAt: row.created_at } : undefined;
}

/** Revokes a person's token and ends their sessions; false when there is no such (unrevoked) person. */
export async function revokeUser(db: Kysely<Database>, name: string, at: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx.updateTable('users').set({ revoked_at: at }).where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
    await trx.deleteFrom('sessions').where('user_name', '=', name).execute();
    return Number(result.numUpdatedRows) > 0;
  });
}

export async function insertSession(db: Kysely<Database>, sessionHash: string, userName: string, at: string, expiresAt: string): Promise<void> {
  await db.insertInto('sessions').values({ session_hash: sessionHash, user_name: userName, created_at: at, expires_at: expiresAt }).execute();
}

/** A session that has not expired, of a person who was not revoked. */
export async function selectSession(db: Kysely<Database>, sessionHash: string, now: string): Promise<StoredSession | undefined> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.name', 'sessions.user_name')
    .select(['sessions.user_name', 'sessions.created_at', 'sessions.expires_at'])
    .where('sessions.session_hash', '=', sessionHash)
    .where('sessions.expires_at', '>', now)
    .where('users.revoked_at', 'is', null)
    .executeTakeFirst();
  return row ? { userName: row.user_name, createdAt: row.created_at, expiresAt: row.expires_at } : undefined;
}

/** Ends one session, and drops every expired one while at it. */
export async function deleteSession(db: Kysely<Database>, sessionHash: string, now: string): Promise<void> {
  await db.deleteFrom('sessions').where((eb) => eb.or([eb('session_hash', '=', sessionHash), eb('expires_at', '<=', now)])).execute();
}
