/** `plan-runner cancel`: cancel a run. */
import { type Command } from 'commander';
import { defaultBy } from '../parse';
import type { CliContext } from '../context';

/** Add `cancel` to the program. */
export function registerCancel(program: Command, ctx: CliContext): void {
  const { withClient, printOutcome } = ctx;
  program
    .command('cancel')
    .description('cancel a run (status aborted)')
    .argument('<run>', 'run id')
    .option('--reason <text>', 'why')
    .option('--by <who>', 'who cancels', defaultBy())
    .action(async (runId: string, options: { reason?: string; by: string }, command: Command) => {
      const outcome = await withClient(command, (client) => client.cancel(runId, { by: options.by, reason: options.reason }));
      printOutcome(command, outcome, `${outcome.message} (run ${outcome.runStatus})`);
    });
}
