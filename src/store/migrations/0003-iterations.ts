/**
 * Loop iterations (docs/semantics.md, "Loops"): `node_runs`, `attempts` and `events` gain an
 * `iteration` column, so that "what did iteration 2 say" is one SQL query (docs/operations.md).
 * NULL outside loops and in rows written before loops existed; both mean iteration 1.
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../types';

const TABLES = ['node_runs', 'attempts', 'events'] as const;

export function iterationsSchema(_dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      for (const table of TABLES) await db.schema.alterTable(table).addColumn('iteration', 'integer').execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      for (const table of TABLES) await db.schema.alterTable(table).dropColumn('iteration').execute();
    },
  };
}
