/**
 * The baseline's one activity: check a result with Ajv against a JSON Schema and insert one SQLite
 * row (libsql, the driver plan-runner's store uses, with the same WAL journal and busy timeout).
 * Run as a local activity, as plan-runner runs its validation and store writes.
 */
import Ajv2020 from 'ajv/dist/2020';
import Database from 'libsql';

/** The schema every node's result must match, on both sides of the benchmark. */
export const RESULT_SCHEMA = {
  type: 'object',
  properties: { n: { type: 'integer', minimum: 0 }, text: { type: 'string', maxLength: 200 } },
  required: ['n', 'text'],
  additionalProperties: false,
} as const;

export interface CheckInput {
  workflowId: string;
  node: number;
  output: Record<string, unknown>;
}

export interface CheckResult {
  valid: boolean;
  errors: string[];
}

/** The activities, as the worker registers them. */
export interface BaselineActivities {
  checkAndRecord(input: CheckInput): Promise<CheckResult>;
}

/**
 * The activities over one SQLite file, plus `close()` for the worker to call when it stops. The
 * schema is compiled and the statement prepared once, as a real worker would.
 */
export function createBaselineActivities(file: string): BaselineActivities & { close(): void } {
  const db = new Database(file);
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA journal_mode = WAL');
  db.exec(
    'CREATE TABLE IF NOT EXISTS node_results (workflow_id TEXT NOT NULL, node INTEGER NOT NULL, output TEXT NOT NULL, recorded_at TEXT NOT NULL, PRIMARY KEY (workflow_id, node))',
  );
  // INSERT OR REPLACE: a local activity retried after a crash writes the same row again.
  const insert = db.prepare('INSERT OR REPLACE INTO node_results (workflow_id, node, output, recorded_at) VALUES (?, ?, ?, ?)');
  const validate = new Ajv2020({ allErrors: true }).compile(RESULT_SCHEMA);
  return {
    async checkAndRecord({ workflowId, node, output }) {
      if (!validate(output)) {
        return { valid: false, errors: (validate.errors ?? []).map((error) => `${error.instancePath || '(output)'} ${error.message ?? ''}`) };
      }
      insert.run(workflowId, node, JSON.stringify(output), new Date().toISOString());
      return { valid: true, errors: [] };
    },
    close: () => db.close(),
  };
}
