/** `plan-runner attempts`: a node's attempts, from the store. */
import { type Command } from 'commander';
import { attemptsText } from '../../format';
import type { CliContext } from '../context';

/** Add `attempts` to the program. */
export function registerAttempts(program: Command, ctx: CliContext): void {
  const { out, err, printJson, globals, withStore } = ctx;
  program
    .command('attempts')
    .description("show a node's attempts from the store: status, who, when, failure class, and the issues found")
    .argument('<run>', 'run id')
    .argument('<node>', 'node id')
    .action(async (runId: string, nodeId: string, _options: unknown, command: Command) => {
      const attempts = await withStore(command, (client) => client.attempts(runId, nodeId));
      if (globals(command).json) {
        printJson(attempts);
        return;
      }
      if (!attempts.length) {
        err(`node ${nodeId} of run ${runId} has no attempts yet`);
        return;
      }
      out(attemptsText(attempts));
    });
}
