/**
 * Nothing the benchmark starts stays open on the server: every workflow id it started and has not
 * seen complete, and every workflow visibility lists as running on one of its task queues, is
 * terminated when still running (the runs normally complete; this catches those left by a failure
 * or Ctrl-C).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';

export const CLEANUP_REASON = 'benchmark cleanup';

/** Terminates what is still running; returns how many it terminated. Never throws (reports on stderr). */
export async function terminateLeftovers(client: Client, open: Iterable<string>, taskQueues: Iterable<string>): Promise<number> {
  const candidates = new Set(open);
  for (const taskQueue of taskQueues) {
    try {
      for await (const info of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) candidates.add(info.workflowId);
    } catch (error) {
      console.error(`bench cleanup: could not list the runs on task queue ${taskQueue}: ${String(error)}`);
    }
  }
  let terminated = 0;
  // A few at a time (after a failure, hundreds may be open): each check is one describe.
  const ids = [...candidates];
  const CONCURRENCY = 20;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, lane) => {
      for (let i = lane; i < ids.length; i += CONCURRENCY) {
        const handle = client.workflow.getHandle(ids[i]);
        try {
          if ((await handle.describe()).status.name !== 'RUNNING') continue;
          await handle.terminate(CLEANUP_REASON);
          terminated += 1;
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) continue;
          console.error(`bench cleanup: could not terminate ${ids[i]}: ${String(error)}`);
        }
      }
    }),
  );
  return terminated;
}
