/**
 * Identity (docs/console.md): the people who may use the console and its API, and their console
 * sessions. Tokens and session ids are stored as SHA-256 hashes only, so a copy of the database
 * signs nobody in. A session belongs to a user and goes with them.
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../types';

export function identitySchema(_dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('users')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('sessions')
        .addColumn('session_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addForeignKeyConstraint('sessions_user_fk', ['user_name'], 'users', ['name'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_name').execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('sessions').ifExists().execute();
      await db.schema.dropTable('users').ifExists().execute();
    },
  };
}
