/**
 * Quorum approvals (docs/semantics.md, "Quorum approvals"): an `approvals` row of a node with a
 * quorum holds the quorum (`{required, veto}`) and the votes so far (`[{by, approved,
 * requiredEdits?, comments?, at}]`, in the order they came), so "who has voted" is one SQL query
 * while the approval is pending (docs/operations.md). NULL on every other approval.
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../types';

export function quorumVotesSchema(dialect: StoreDialect): Migration {
  const json = dialect === 'postgres' ? 'jsonb' : 'text';
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('approvals').addColumn('quorum', json).execute();
      await db.schema.alterTable('approvals').addColumn('votes', json).execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('approvals').dropColumn('votes').execute();
      await db.schema.alterTable('approvals').dropColumn('quorum').execute();
    },
  };
}
