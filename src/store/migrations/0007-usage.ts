/**
 * Budgets (docs/semantics.md, "Budgets"): an `attempts` row keeps what the attempt spent, as its
 * result reported it (`{inputTokens?, outputTokens?, costUsd?}`), so spending per node and per run is
 * one SQL query (docs/operations.md). NULL on attempts that reported none, and on human answers.
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../types';

export function usageSchema(dialect: StoreDialect): Migration {
  const json = dialect === 'postgres' ? 'jsonb' : 'text';
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('attempts').addColumn('usage', json).execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('attempts').dropColumn('usage').execute();
    },
  };
}
