/** `plan-runner resume`: dispatch running nodes again and re-evaluate the graph. */
import { type Command } from 'commander';
import { defaultBy } from '../parse';
import type { CliContext } from '../context';

/** Add `resume` to the program. */
export function registerResume(program: Command, ctx: CliContext): void {
  const { withClient, printOutcome } = ctx;
  program
    .command('resume')
    .description('dispatch running nodes again and re-evaluate the graph')
    .argument('<run>', 'run id')
    .option('--by <who>', 'who resumes', defaultBy())
    .action(async (runId: string, options: { by: string }, command: Command) => {
      const outcome = await withClient(command, (client) => client.resume(runId, { by: options.by }));
      printOutcome(command, outcome, `${outcome.message} (run ${outcome.runStatus})`);
    });
}
