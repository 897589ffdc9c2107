/**
 * Real, permanent store errors on demand: triggers in the test database (the one PLAN_STORE_URL
 * names, SQLite or PostgreSQL) that refuse inserts for the run ids (and node ids) a test lists in a
 * table of its own. PostgreSQL raises `check_violation` (23514), SQLite `RAISE(ABORT, …)`
 * (SQLITE_CONSTRAINT_TRIGGER): the same classes of error as bad data, from the database itself, so
 * nothing in the worker or the store is mocked.
 *
 * - `rejectAttempts(runId, nodeId)`: the node's attempt rows are refused, so exactly the transition
 *   that records one of its attempts (an accepted or failed result) cannot be stored;
 * - `rejectRun(runId)`: the run's row is refused, so none of its records can be stored.
 */
import LibsqlDatabase from 'libsql';
import pg from 'pg';
import { parseStoreUrl, STORE_URL_VARIABLE } from '../../src/store/config';

export interface StoreRejections {
  rejectAttempts(runId: string, nodeId: string): Promise<void>;
  rejectRun(runId: string): Promise<void>;
  /** Removes the triggers and the table again. */
  close(): Promise<void>;
}

const TABLE = 'test_store_rejections';
/** What the triggers raise: tests look for it in the reasons the worker reports. */
export const REJECTION_MESSAGE = 'test trigger: this insert is rejected';

export async function installStoreRejections(url: string | undefined = process.env[STORE_URL_VARIABLE]): Promise<StoreRejections> {
  const config = parseStoreUrl(url);
  if (config.dialect === 'sqlite') {
    const db = new LibsqlDatabase(config.file);
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS ${TABLE} (run_id TEXT NOT NULL, node_id TEXT NOT NULL, PRIMARY KEY (run_id, node_id));
      CREATE TRIGGER IF NOT EXISTS test_reject_attempts BEFORE INSERT ON attempts
        WHEN EXISTS (SELECT 1 FROM ${TABLE} r WHERE r.run_id = NEW.run_id AND r.node_id = NEW.node_id)
        BEGIN SELECT RAISE(ABORT, '${REJECTION_MESSAGE}'); END;
      CREATE TRIGGER IF NOT EXISTS test_reject_runs BEFORE INSERT ON runs
        WHEN EXISTS (SELECT 1 FROM ${TABLE} r WHERE r.run_id = NEW.run_id AND r.node_id = '')
        BEGIN SELECT RAISE(ABORT, '${REJECTION_MESSAGE}'); END;
    `);
    const add = async (runId: string, nodeId: string) => void db.prepare(`INSERT OR IGNORE INTO ${TABLE} VALUES (?, ?)`).run(runId, nodeId);
    return {
      rejectAttempts: (runId, nodeId) => add(runId, nodeId),
      rejectRun: (runId) => add(runId, ''),
      async close() {
        db.exec(`DROP TRIGGER IF EXISTS test_reject_attempts; DROP TRIGGER IF EXISTS test_reject_runs; DROP TABLE IF EXISTS ${TABLE};`);
        db.close();
      },
    };
  }

  const client = new pg.Client({ connectionString: config.connectionString });
  await client.connect();
  const fn = (name: string, match: string) => `
    CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM ${TABLE} r WHERE r.run_id = NEW.run_id AND r.node_id = ${match}) THEN
        RAISE EXCEPTION '${REJECTION_MESSAGE}' USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$;`;
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${TABLE} (run_id text NOT NULL, node_id text NOT NULL, PRIMARY KEY (run_id, node_id));
    ${fn('test_reject_attempts', 'NEW.node_id')}
    ${fn('test_reject_runs', "''")}
    DROP TRIGGER IF EXISTS test_reject_attempts ON attempts;
    CREATE TRIGGER test_reject_attempts BEFORE INSERT ON attempts FOR EACH ROW EXECUTE FUNCTION test_reject_attempts();
    DROP TRIGGER IF EXISTS test_reject_runs ON runs;
    CREATE TRIGGER test_reject_runs BEFORE INSERT ON runs FOR EACH ROW EXECUTE FUNCTION test_reject_runs();
  `);
  const add = async (runId: string, nodeId: string) => void (await client.query(`INSERT INTO ${TABLE} VALUES ($1, $2) ON CONFLICT DO NOTHING`, [runId, nodeId]));
  return {
    rejectAttempts: (runId, nodeId) => add(runId, nodeId),
    rejectRun: (runId) => add(runId, ''),
    async close() {
      await client.query(`
        DROP TRIGGER IF EXISTS test_reject_attempts ON attempts;
        DROP TRIGGER IF EXISTS test_reject_runs ON runs;
        DROP FUNCTION IF EXISTS test_reject_attempts();
        DROP FUNCTION IF EXISTS test_reject_runs();
        DROP TABLE IF EXISTS ${TABLE};
      `);
      await client.end();
    },
  };
}
