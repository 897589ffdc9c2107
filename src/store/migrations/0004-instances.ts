/**
 * Fan-out instances (docs/semantics.md, "Fan-out"): an instance such as `research[2]` is a
 * `node_runs` row of its own, linked to its node by `instance_of` and ordered by `instance_index`,
 * so that "which instances failed" is one SQL query (docs/operations.md). NULL on every other row.
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../types';

export function instancesSchema(_dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('node_runs').addColumn('instance_of', 'text').execute();
      await db.schema.alterTable('node_runs').addColumn('instance_index', 'integer').execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('node_runs').dropColumn('instance_index').execute();
      await db.schema.alterTable('node_runs').dropColumn('instance_of').execute();
    },
  };
}
