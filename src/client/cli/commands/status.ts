/** `plan-runner status`: a run's status, nodes and approvals, from the live run. */
import { type Command } from 'commander';
import { statusText, statusView } from '../views';
import type { CliContext } from '../context';

/** Add `status` to the program. */
export function registerStatus(program: Command, ctx: CliContext): void {
  const { out, printJson, globals, withClient, quick } = ctx;
  program
    .command('status')
    .description("show a run's status, nodes and approvals (from Temporal: a worker must answer for open runs)")
    .argument('<run>', 'run id')
    .action(async (runId: string, _options: unknown, command: Command) => {
      // A running run whose worker answers is read without loading the Temporal SDK; anything else
      // (a closed or missing run, an error to word) goes through the full client.
      const snapshot =
        (await quick(command, async (light, options) => (await import('../../light/quick-commands')).quickSnapshot(light, runId, options))) ??
        (await withClient(command, (client) => client.snapshot(runId)));
      const view = statusView(snapshot);
      if (globals(command).json) {
        printJson(view);
        return;
      }
      out(statusText(view));
    });
}
