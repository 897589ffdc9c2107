/**
 * After the test suite: fails (exit 1) when a run the suite started is still open on the Temporal
 * server. Every test cleans up what it starts (docs/development.md#every-test-cleans-up-what-it-starts);
 * this is the check that it did. `./temporal-dev.sh test` runs it last.
 *
 *   node dist/scripts/check-open-runs.js [QUEUE_LOG]      (default: $PLAN_TEST_QUEUE_LOG)
 *
 * QUEUE_LOG lists the task queues the suite put runs on, one per line: the test harness appends each
 * queue it creates (test/integration/harness.ts `registerTaskQueue`), before anything is started there.
 * Only runs on those queues are counted, so the runs of anyone else on a shared server never are.
 * Runs it finds open are listed, then terminated (reason 'test cleanup: left open by the suite'), so a
 * leak fails the suite once and does not pile up on the server; their histories stay for a look.
 * It reaches Temporal as the tests do (test/integration/harness.ts): the TEMPORAL_* variables, else
 * 127.0.0.1:7233, and no developer's own temporal.toml unless TEMPORAL_CONFIG_FILE names one.

 */
import fs from 'node:fs';
import os from 'node:os';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { resolveConnectionSettings } from '../src/client/connection';

/** Queues per visibility query (`TaskQueue IN (…)`). */
const BATCH = 100;

async function main(argv: string[]): Promise<number> {
  const log = argv[0] ?? process.env.PLAN_TEST_QUEUE_LOG;
  if (!log) {
    console.error('usage: check-open-runs QUEUE_LOG (or set PLAN_TEST_QUEUE_LOG)');
    return 2;
  }
  const queues = fs.existsSync(log) ? [...new Set(fs.readFileSync(log, 'utf8').split('\n').map((line) => line.trim()).filter(Boolean))] : [];
  if (queues.length === 0) {
    console.error(`no open runs: the suite used no Temporal task queue (${log} lists none)`);
    return 0;
  }
  for (const queue of queues) {
    if (!/^[\w.:-]+$/.test(queue)) {
      console.error(`${log}: '${queue}' is not a test task queue name`);
      return 2;
    }
  }
  process.env.TEMPORAL_CONFIG_FILE ??= os.devNull;
  const settings = resolveConnectionSettings({ defaultAddress: '127.0.0.1:7233' });
  const address = settings.address;
  const connection = await Connection.connect({ ...settings.connectionOptions, connectTimeout: 10_000 });
  try {
    const client = new Client({ connection, namespace: settings.namespace });
    const listed: Array<{ workflowId: string; taskQueue: string; type: string; startTime: Date }> = [];
    for (let i = 0; i < queues.length; i += BATCH) {
      const batch = queues.slice(i, i + BATCH).map((queue) => `'${queue}'`);
      const query = `ExecutionStatus = 'Running' AND TaskQueue IN (${batch.join(', ')})`;
      for await (const info of client.workflow.list({ query })) {
        listed.push({ workflowId: info.workflowId, taskQueue: info.taskQueue, type: info.type, startTime: info.startTime });
      }
    }
    // Visibility lags behind: a run terminated a moment ago may still be listed. Describe is current.
    const open: typeof listed = [];
    for (const run of listed) {
      try {
        const description = await client.workflow.getHandle(run.workflowId).describe();
        if (description.status.name === 'RUNNING') open.push(run);
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    }
    if (open.length === 0) {
      console.error(`no open runs left by the suite on its ${queues.length} task queue(s) at ${address}`);
      return 0;
    }
    console.error(`${open.length} run(s) started by the suite are still open at ${address}: every test must clean up what it starts`);
    console.error('(docs/development.md#every-test-cleans-up-what-it-starts)');
    for (const run of open) {
      console.error(`  ${run.workflowId}  task queue ${run.taskQueue}  ${run.type}  started ${run.startTime.toISOString()}`);
    }
    for (const run of open) {
      await client.workflow
        .getHandle(run.workflowId)
        .terminate('test cleanup: left open by the suite')
        .catch((error: unknown) => console.error(`  could not terminate ${run.workflowId}: ${String(error)}`));
    }
    console.error('they are terminated now (reason "test cleanup: left open by the suite"); their histories remain');
    return 1;
  } finally {
    await connection.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('check-open-runs failed:', error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
