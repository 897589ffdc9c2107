/**
 * Every spec version of a run (docs/semantics.md §11): `run_specs` keeps the spec a run started with (version 1)
 * and each replan's, keyed by (run_id, spec_version). Until now `runs.spec` held only the current
 * one, so a replan overwrote the version before it. `runs.spec` stays as it is: the current spec.
 *
 * The write path inserts a row whenever a record carries a spec (`ON CONFLICT DO NOTHING`: the first
 * record of a version wins, so `recorded_at` is when the version was first recorded). This migration
 * back-fills one row per existing run from `runs.spec` / `runs.spec_version`: the versions a replan
 * overwrote before it are gone, but the current one is readable the same way as new runs' versions.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../types';

export function specVersionsSchema(dialect: StoreDialect): Migration {
  // The same JSON column type as 0001: jsonb on PostgreSQL, TEXT holding JSON on SQLite.
  const json = dialect === 'postgres' ? 'jsonb' : 'text';
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('run_specs')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('spec_version', 'integer', (c) => c.notNull())
        .addColumn('spec', json, (c) => c.notNull())
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_specs_pk', ['run_id', 'spec_version'])
        .addForeignKeyConstraint('run_specs_run_fk', ['run_id'], 'runs', ['run_id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await backfillRunSpecs(db);
    },

    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('run_specs').ifExists().execute();
    },
  };
}

/**
 * One `run_specs` row per run that has a spec: its current version. `recorded_at` is when that
 * version began: the start of the run for version 1; for a later version, the time of the run's
 * last `run-replanned` event (the one that made it), else the run's last update. Idempotent: rows
 * already there are left alone. Plain SQL both dialects run (INSERT … SELECT … WHERE … ON CONFLICT;
 * SQLite needs the WHERE to parse the upsert after a SELECT).
 */
export async function backfillRunSpecs(db: Kysely<any>): Promise<void> {
  await sql`
    insert into run_specs (run_id, spec_version, spec, recorded_at)
    select r.run_id, r.spec_version, r.spec,
      case when r.spec_version > 1 then coalesce(
        (select e.at from events e where e.run_id = r.run_id and e.type = 'run-replanned' order by e.seq desc limit 1),
        r.updated_at
      ) else r.started_at end
    from runs r
    where r.spec is not null
    on conflict (run_id, spec_version) do nothing
  `.execute(db);
}
