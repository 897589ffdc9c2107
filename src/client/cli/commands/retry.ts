/** `plan-runner retry`: make a failed or blocked node ready again. */
import { type Command } from 'commander';
import { readJsonOption, defaultBy } from '../parse';
import type { CliContext } from '../context';

/** Add `retry` to the program. */
export function registerRetry(program: Command, ctx: CliContext): void {
  const { withClient, printOutcome, deps } = ctx;
  program
    .command('retry')
    .description('make a failed or blocked node ready again')
    .argument('<run>', 'run id')
    .argument('<node>', 'node id')
    .option('--input <json>', "replace the node's resolved input: JSON, @FILE or -")
    .option('--by <who>', 'who retries', defaultBy())
    .action(async (runId: string, nodeId: string, options: { input?: string; by: string }, command: Command) => {
      const input = await readJsonOption('--input', options.input, deps);
      const outcome = await withClient(command, (client) =>
        client.retry(runId, { nodeId, by: options.by, ...(input !== undefined ? { input } : {}) }),
      );
      printOutcome(command, outcome, `${outcome.message} (run ${outcome.runStatus})`);
    });
}
