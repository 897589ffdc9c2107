/** `plan-runner start`: validate a plan file and start a run of it. */
import { type Command } from 'commander';
import { assertValidRunRequest } from '../../plan-checks';
import { readJsonOption, loadRaw, problemLines } from '../parse';
import type { CliContext } from '../context';

/** Add `start` to the program. */
export function registerStart(program: Command, ctx: CliContext): void {
  const { err, printJson, globals, withClient, deps } = ctx;
  program
    .command('start')
    .description('validate a plan file and start a run of it')
    .argument('<file>', 'plan spec (YAML or JSON)')
    .option('--run-id <id>', 'run id (= workflow id); default <plan id>-<random>')
    .option('--input <json>', 'run input: JSON, @FILE or -')
    .action(async (file: string, options: { runId?: string; input?: string }, command: Command) => {
      const input = await readJsonOption('--input', options.input, deps);
      const raw = loadRaw(file);
      // Validate before connecting: an invalid plan never reaches the server.
      const { spec, warnings } = assertValidRunRequest(raw, input);
      const started = await withClient(command, (client) =>
        client.start(spec, { runId: options.runId, input }).then((run) => ({ run, url: client.webUiUrl(run.runId) })),
      );
      const json = globals(command).json;
      printJson({
        runId: started.run.runId,
        planId: started.run.planId,
        webUi: started.url,
        ...(json && warnings.length ? { warnings } : {}),
      });
      if (!json) {
        for (const line of problemLines(warnings, 'warning: ')) err(line);
        err(`started run ${started.run.runId}: ${started.url}`);
      }
    });
}
