/** `plan-runner inbox`: open runs waiting on an owner. */
import { type Command } from 'commander';
import { table } from '../../format';
import type { InboxEntry } from '../../plan-runner-client';
import { positiveInt } from '../parse';
import type { CliContext } from '../context';

/** Add `inbox` to the program. */
export function registerInbox(program: Command, ctx: CliContext): void {
  const { out, err, printJson, globals, withClient } = ctx;
  program
    .command('inbox')
    .description('open runs waiting on an owner, e.g. agent:writer or human:editors (from Temporal)')
    .argument('<owner>', 'agent:REF or human:REF')
    .option('--limit <n>', 'at most this many runs', positiveInt, 100)
    .action(async (owner: string, options: { limit: number }, command: Command) => {
      const entries = await withClient(command, (client) => client.inbox(owner, { limit: options.limit }));
      if (globals(command).json) {
        printJson(entries);
        return;
      }
      if (!entries.length) {
        err(`nothing waits on ${owner}`);
        return;
      }
      out(
        table([
          ['RUN', 'PLAN', 'STATUS', 'NODES'],
          ...entries.map((entry: InboxEntry) => [
            entry.runId,
            entry.planId ?? '',
            entry.runStatus ?? '',
            entry.error
              ? `(${entry.error})`
              : entry.nodes.map((node) => (node.approvalId ? `${node.nodeId} [${node.approvalId}]` : node.nodeId)).join(', '),
          ]),
        ]),
      );
    });
}
