/**
 * Sub-plans (docs/semantics.md, "Sub-plans"): a child run's `runs` row names its parent run
 * (`parent_run_id`), and a plan node's `node_runs` row its latest child run (`child_run_id`), so
 * "the children of run X" and "top-level runs only" are one SQL query each (docs/operations.md).
 * NULL on every other row. (0007 is left to another change in flight.)
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../types';

export function subplansSchema(_dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('runs').addColumn('parent_run_id', 'text').execute();
      await db.schema.alterTable('node_runs').addColumn('child_run_id', 'text').execute();
      await db.schema.createIndex('runs_parent_run_id').on('runs').column('parent_run_id').execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('runs_parent_run_id').execute();
      await db.schema.alterTable('node_runs').dropColumn('child_run_id').execute();
      await db.schema.alterTable('runs').dropColumn('parent_run_id').execute();
    },
  };
}
