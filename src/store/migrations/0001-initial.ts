/**
 * The first schema: runs, node runs, attempts (with their validation issues and artifacts),
 * approvals, checkpoints, events, and the delivery bookkeeping (sink status, delivery progress).
 *
 * Keys follow the semantics' ids, so every write can be an idempotent insert (`ON CONFLICT DO NOTHING`) or an
 * upsert: events (run_id, seq) with the unique event id `<runId>:<seq>`; approvals (run_id,
 * approval_id) with `<nodeId>#<attempt>`; artifacts (run_id, node_id, attempt, name).
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../types';

export function initialSchema(dialect: StoreDialect): Migration {
  // jsonb on PostgreSQL (queryable with ->, @>); TEXT holding JSON on SQLite (json_extract works on it).
  const json = dialect === 'postgres' ? 'jsonb' : 'text';
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('runs')
        .addColumn('run_id', 'text', (c) => c.primaryKey())
        .addColumn('plan_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text')
        .addColumn('spec_version', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('input', json)
        .addColumn('failure_count', 'integer', (c) => c.notNull())
        .addColumn('checkpoint_sequence', 'integer', (c) => c.notNull())
        .addColumn('last_seq', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('cancelled_by', 'text')
        .addColumn('cancel_reason', 'text')
        .addColumn('spec', json)
        .execute();
      await db.schema.createIndex('runs_status_idx').on('runs').columns(['status', 'updated_at']).execute();
      await db.schema.createIndex('runs_plan_id_idx').on('runs').columns(['plan_id', 'started_at']).execute();

      await db.schema
        .createTable('node_runs')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('current_attempt', 'integer')
        .addColumn('resolved_input', json)
        .addColumn('output', json)
        .addColumn('notes', 'text')
        .addColumn('handoff_context', json)
        .addColumn('failure_class', 'text')
        .addColumn('last_issues', json, (c) => c.notNull())
        .addColumn('approval_id', 'text')
        .addColumn('scheduled_until', 'text')
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addPrimaryKeyConstraint('node_runs_pk', ['run_id', 'node_id'])
        .addForeignKeyConstraint('node_runs_run_fk', ['run_id'], 'runs', ['run_id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('node_runs_status_idx').on('node_runs').columns(['status']).execute();

      await db.schema
        .createTable('attempts')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('by', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('submission_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failure_class', 'text')
        .addColumn('failure_message', 'text')
        .addColumn('output', json)
        .addColumn('notes', 'text')
        .addPrimaryKeyConstraint('attempts_pk', ['run_id', 'node_id', 'attempt'])
        .addForeignKeyConstraint('attempts_run_fk', ['run_id'], 'runs', ['run_id'], (fk) => fk.onDelete('cascade'))
        .execute();

      await db.schema
        .createTable('validation_issues')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('path', 'text')
        .addPrimaryKeyConstraint('validation_issues_pk', ['run_id', 'node_id', 'attempt', 'idx'])
        .addForeignKeyConstraint('validation_issues_attempt_fk', ['run_id', 'node_id', 'attempt'], 'attempts', ['run_id', 'node_id', 'attempt'], (fk) =>
          fk.onDelete('cascade'),
        )
        .execute();
      await db.schema.createIndex('validation_issues_code_idx').on('validation_issues').columns(['code']).execute();

      await db.schema
        .createTable('artifacts')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('artifact_id', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('pointer', 'text', (c) => c.notNull())
        .addColumn('schema_ref', 'text')
        .addColumn('payload', json)
        .addPrimaryKeyConstraint('artifacts_pk', ['run_id', 'node_id', 'attempt', 'name'])
        .addForeignKeyConstraint('artifacts_attempt_fk', ['run_id', 'node_id', 'attempt'], 'attempts', ['run_id', 'node_id', 'attempt'], (fk) =>
          fk.onDelete('cascade'),
        )
        .execute();
      await db.schema.createIndex('artifacts_artifact_id_idx').on('artifacts').columns(['run_id', 'artifact_id']).execute();

      await db.schema
        .createTable('approvals')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('approval_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('owner_kind', 'text', (c) => c.notNull())
        .addColumn('owner_ref', 'text', (c) => c.notNull())
        .addColumn('approvers', json, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('resolved_at', 'text')
        .addColumn('responded_by', 'text')
        .addColumn('response', json)
        .addColumn('issues', json, (c) => c.notNull())
        .addPrimaryKeyConstraint('approvals_pk', ['run_id', 'approval_id'])
        .addForeignKeyConstraint('approvals_run_fk', ['run_id'], 'runs', ['run_id'], (fk) => fk.onDelete('cascade'))
        .execute();
      // The inbox: pending approvals, newest first, and approvals by owner.
      await db.schema.createIndex('approvals_status_idx').on('approvals').columns(['status', 'requested_at']).execute();
      await db.schema.createIndex('approvals_owner_ref_idx').on('approvals').columns(['owner_ref', 'requested_at']).execute();
      await db.schema.createIndex('approvals_requested_at_idx').on('approvals').columns(['requested_at']).execute();

      await db.schema
        .createTable('checkpoints')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('sequence', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('run_status', 'text', (c) => c.notNull())
        .addColumn('ready_node_ids', json, (c) => c.notNull())
        .addColumn('active_node_ids', json, (c) => c.notNull())
        .addColumn('completed_node_ids', json, (c) => c.notNull())
        .addColumn('node_statuses', json, (c) => c.notNull())
        .addColumn('artifact_ids', json, (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('checkpoints_pk', ['run_id', 'sequence'])
        .addForeignKeyConstraint('checkpoints_run_fk', ['run_id'], 'runs', ['run_id'], (fk) => fk.onDelete('cascade'))
        .execute();

      await db.schema
        .createTable('events')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('plan_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text')
        .addColumn('attempt', 'integer')
        .addColumn('approval_id', 'text')
        .addColumn('from_status', 'text')
        .addColumn('to_status', 'text')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('detail', json)
        .addColumn('by', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('events_pk', ['run_id', 'seq'])
        .addUniqueConstraint('events_id_unique', ['id'])
        .addForeignKeyConstraint('events_run_fk', ['run_id'], 'runs', ['run_id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('events_type_idx').on('events').columns(['type', 'at']).execute();
      await db.schema.createIndex('events_node_idx').on('events').columns(['run_id', 'node_id', 'seq']).execute();

      // Delivery bookkeeping: no foreign key to runs, because sinks outlive runs and a progress row
      // must never make a delivery activity fail.
      await db.schema
        .createTable('sink_status')
        .addColumn('sink_id', 'text', (c) => c.primaryKey())
        .addColumn('disabled_at', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('deliveries')
        .addColumn('sink_id', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('delivered_seq', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('deliveries_pk', ['sink_id', 'run_id'])
        .execute();
      await db.schema.createIndex('deliveries_run_idx').on('deliveries').columns(['run_id']).execute();
    },

    async down(db: Kysely<any>): Promise<void> {
      for (const table of ['deliveries', 'sink_status', 'events', 'checkpoints', 'approvals', 'artifacts', 'validation_issues', 'attempts', 'node_runs', 'runs']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}
