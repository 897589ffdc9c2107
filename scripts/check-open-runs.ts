/**
 * After the test suite: fails (exit 1) when a run the suite started is still open on the dev server.
 * Tests clean up what they start (docs/development.md); this is the check that they did.
 *
 *   node dist/scripts/check-open-runs.js QUEUE_LOG [--prefix P]... [--since ISO]
 *
 * QUEUE_LOG lists the task queues the test harness created (one per line; `./temporal-dev.sh test`
 * sets PLAN_TEST_QUEUE_LOG to it). A run counts when its task queue is listed, or starts with a
 * `--prefix` and the run started after `--since` (the demo's private queues). Nobody else's runs on
 * a shared server are counted. Connects to TEMPORAL_ADDRESS (default 127.0.0.1:7233).
 */
import { existsSync, readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';

async function main(argv: string[]): Promise<number> {
  const [queueLog, ...rest] = argv;
  if (!queueLog) {
    console.error('usage: check-open-runs QUEUE_LOG [--prefix P]... [--since ISO]');
    return 2;
  }
  const prefixes: string[] = [];
  let since = 0;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--prefix') prefixes.push(rest[++i]);
    else if (rest[i] === '--since') since = Date.parse(rest[++i]);
  }
  const queues = new Set(existsSync(queueLog) ? readFileSync(queueLog, 'utf8').split('\n').filter(Boolean) : []);
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
    const open: string[] = [];
    for await (const info of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
      const ours =
        queues.has(info.taskQueue) ||
        (prefixes.some((prefix) => info.taskQueue.startsWith(prefix)) && info.startTime.getTime() >= since);
      if (ours) open.push(`${info.workflowId} (task queue ${info.taskQueue}, started ${info.startTime.toISOString()})`);
    }
    if (open.length === 0) {
      console.error(`no open runs left by the suite (${queues.size} test task queues checked)`);
      return 0;
    }
    console.error(`${open.length} run(s) started by the suite are still open: every test must clean up what it starts`);
    for (const line of open) console.error(`  ${line}`);
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
