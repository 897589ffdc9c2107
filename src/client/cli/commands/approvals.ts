/** `plan-runner approvals`: approvals across runs, from the store. */
import { type Command } from 'commander';
import { approvalsTable } from '../../format';
import { positiveInt } from '../parse';
import type { CliContext } from '../context';

/** Add `approvals` to the program. */
export function registerApprovals(program: Command, ctx: CliContext): void {
  const { out, err, printJson, globals, withStore } = ctx;
  program
    .command('approvals')
    .description('list approvals across runs from the store, newest request first')
    .option('--pending', 'only approvals still waiting for an answer')
    .option('--by <who>', 'only approvals WHO may answer (owner or named approver) or has answered')
    .option('--run <run>', 'only approvals of this run')
    .option('--limit <n>', 'at most this many approvals', positiveInt, 100)
    .action(async (options: { pending?: boolean; by?: string; run?: string; limit: number }, command: Command) => {
      const approvals = await withStore(command, (client) =>
        client.approvals({ pending: options.pending, by: options.by, runId: options.run, limit: options.limit }),
      );
      if (globals(command).json) {
        printJson(approvals);
        return;
      }
      if (!approvals.length) {
        err(options.pending ? 'no pending approvals' : 'no approvals');
        return;
      }
      out(approvalsTable(approvals));
    });
}
