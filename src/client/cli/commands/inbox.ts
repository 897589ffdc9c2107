/** `plan-runner inbox`: open runs waiting on an owner. */
import { type Command } from 'commander';
import { table } from '../../format';
import type { InboxEntry } from '../../plan-runner-client';
import { positiveInt } from '../parse';
import type { CliContext } from '../context';

/** `draft attempt 2 [approve#1]: Write the draft`: the node, its attempt, and what is asked. */
export function inboxNodeCell(node: InboxEntry['nodes'][number]): string {
  const brief = node.label ?? node.objective;
  return `${node.nodeId}${node.attempt ? ` attempt ${node.attempt}` : ''}${node.approvalId ? ` [${node.approvalId}]` : ''}${brief ? `: ${brief.length > 60 ? `${brief.slice(0, 59)}…` : brief}` : ''}`;
}

/** Add `inbox` to the program. */
export function registerInbox(program: Command, ctx: CliContext): void {
  const { out, err, printJson, globals, withClient } = ctx;
  program
    .command('inbox')
    .description('open runs waiting on an owner, e.g. agent:writer or human:editors (from Temporal)')
    .argument('<owner>', 'agent:REF or human:REF')
    .option('--plan <id>', "only runs of this plan (an owner may serve several plans: don't take another plan's work)")
    .option('--limit <n>', 'at most this many runs', positiveInt, 100)
    .action(async (owner: string, options: { limit: number; plan?: string }, command: Command) => {
      const entries = await withClient(command, (client) => client.inbox(owner, { limit: options.limit, planId: options.plan }));
      if (globals(command).json) {
        printJson(entries);
        return;
      }
      if (!entries.length) {
        err(`nothing waits on ${owner}${options.plan !== undefined ? ` in runs of plan ${options.plan}` : ''}`);
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
              : entry.nodes.map(inboxNodeCell).join('; '),
          ]),
        ]),
      );
    });
}
