/**
 * The store's migrations, as code: a static provider instead of Kysely's FileMigrationProvider,
 * because the build goes to dist/ and scanning a folder there would depend on how it was built.
 *
 * Add a migration as `NNNN-what.ts` exporting a factory, and list it here under the same name.
 * Names sort in the order they apply; a migration never changes once released.
 */
import type { Migration, MigrationProvider } from 'kysely';
import type { StoreDialect } from '../types';
import { initialSchema } from './0001-initial';
import { specVersionsSchema } from './0002-spec-versions';
import { iterationsSchema } from './0003-iterations';
import { instancesSchema } from './0004-instances';
import { identitySchema } from './0005-identity';
import { quorumVotesSchema } from './0006-quorum-votes';
import { usageSchema } from './0007-usage';
import { subplansSchema } from './0008-subplans';

export function storeMigrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001-initial': initialSchema(dialect),
    '0002-spec-versions': specVersionsSchema(dialect),
    '0003-iterations': iterationsSchema(dialect),
    '0004-instances': instancesSchema(dialect),
    '0005-identity': identitySchema(dialect),
    '0006-quorum-votes': quorumVotesSchema(dialect),
    '0007-usage': usageSchema(dialect),
    '0008-subplans': subplansSchema(dialect),
  };
}

export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: async () => storeMigrations(dialect) };
}

/** The bookkeeping tables (Kysely's Migrator), named so a person reading the database knows whose they are. */
export const MIGRATION_TABLE = 'plan_store_migrations';
export const MIGRATION_LOCK_TABLE = 'plan_store_migration_lock';
