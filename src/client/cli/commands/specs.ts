/** `plan-runner specs`: a run's spec versions, from the store. */
import { type Command } from 'commander';
import { specVersionsTable } from '../../format';
import { positiveInt } from '../parse';
import type { CliContext } from '../context';

/** Add `specs` to the program. */
export function registerSpecs(program: Command, ctx: CliContext): void {
  const { out, err, printJson, globals, withStore } = ctx;
  program
    .command('specs')
    .description(
      "list a run's spec versions from the store (the one it started with, then one per replan: docs/semantics.md §11); " +
        '--version N prints that spec as JSON',
    )
    .argument('<run>', 'run id')
    .option('--version <n>', 'print this spec version (JSON; one line with --json)', positiveInt)
    .action(async (runId: string, options: { version?: number }, command: Command) => {
      const json = globals(command).json;
      if (options.version !== undefined) {
        const version = options.version;
        const spec = await withStore(command, (client) => client.storedSpec(runId, version));
        out(json ? JSON.stringify(spec) : JSON.stringify(spec, null, 2));
        return;
      }
      const versions = await withStore(command, (client) => client.specVersions(runId));
      if (json) {
        printJson(versions);
        return;
      }
      if (!versions.length) {
        err(`run ${runId} has no recorded spec`);
        return;
      }
      out(specVersionsTable(versions));
    });
}
