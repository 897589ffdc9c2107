/** `plan-runner checkpoints`: a run's checkpoints, from the store. */
import { type Command } from 'commander';
import { checkpointsTable } from '../../format';
import type { CliContext } from '../context';

/** Add `checkpoints` to the program. */
export function registerCheckpoints(program: Command, ctx: CliContext): void {
  const { out, printJson, globals, withStore } = ctx;
  program
    .command('checkpoints')
    .description("show a run's checkpoints from the store: the node statuses after every transition (docs/semantics.md §10)")
    .argument('<run>', 'run id')
    .action(async (runId: string, _options: unknown, command: Command) => {
      const checkpoints = await withStore(command, (client) => client.checkpoints(runId));
      if (globals(command).json) {
        printJson(checkpoints);
        return;
      }
      out(checkpointsTable(checkpoints));
    });
}
