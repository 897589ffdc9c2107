/** `plan-runner replan`: continue a run under a new version of its plan (or preview that with --dry-run). */
import { type Command } from 'commander';
import { replanPreviewText, replanSummary } from '../../format';
import { assertValidPlanSpec } from '../../plan-checks';
import { EXIT, type CliContext } from '../context';
import { loadRaw, problemLines, defaultBy } from '../parse';

interface ReplanCommandOptions {
  by: string;
  reason?: string;
  dryRun?: boolean;
}

/** Add `replan` to the program. */
export function registerReplan(program: Command, ctx: CliContext): void {
  const { out, err, printJson, state, globals, withStore, withClient, printOutcome } = ctx;
  program
    .command('replan')
    .description(
      'continue a run under a new version of its plan (docs/semantics.md §11): unchanged nodes that finished keep their results, ' +
        'every other node starts over; --dry-run shows what would happen, read from the store, without sending it',
    )
    .argument('<run>', 'run id')
    .argument('<file>', 'the new plan spec (YAML or JSON); same plan id')
    .option('--by <who>', 'who replans', defaultBy())
    .option('--reason <text>', 'why (recorded on event run-replanned)')
    .option('--dry-run', "compare with the run's current spec in the store (--store) and print what would be kept, reset, added, removed; sends nothing")
    .action(async (runId: string, file: string, options: ReplanCommandOptions, command: Command) => {
      const json = globals(command).json;
      const raw = loadRaw(file);
      // Validate before anything else: an invalid spec never reaches the run (or the store).
      const { spec, warnings } = assertValidPlanSpec(raw);
      if (options.dryRun) {
        const preview = await withStore(command, (client) => client.previewReplan(runId, spec));
        if (json) printJson(preview);
        else out(replanPreviewText(preview));
        if (preview.refusal) state.exitCode = EXIT.refused;
        return;
      }
      const outcome = await withClient(command, (client) =>
        client.replan(runId, spec, { by: options.by, ...(options.reason !== undefined ? { reason: options.reason } : {}) }),
      );
      // The run reports the new spec's warnings in `changes.warnings`; print ours only if it did not.
      if (!json && !outcome.changes?.warnings?.length) for (const line of problemLines(warnings, 'warning: ')) err(line);
      printOutcome(
        command,
        outcome,
        outcome.changes ? replanSummary(runId, outcome.changes, outcome.runStatus) : `${outcome.message} (run ${outcome.runStatus})`,
      );
    });
}
