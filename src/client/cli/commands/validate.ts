/** `plan-runner validate`: check a plan file (and a run input) without any server. */
import { type Command } from 'commander';
import { checkRunRequest } from '../../plan-checks';
import { CliError, EXIT, type CliContext } from '../context';
import { readJsonOption, loadRaw, problemLines } from '../parse';

/** Add `validate` to the program. */
export function registerValidate(program: Command, ctx: CliContext): void {
  const { out, err, printJson, state, globals, deps } = ctx;
  program
    .command('validate')
    .description('check a plan file (and optionally a run input) without any server')
    .argument('<file>', 'plan spec (YAML or JSON)')
    .option('--input <json>', 'also check this run input against the spec inputSchema: JSON, @FILE or -')
    .action(async (file: string, options: { input?: string }, command: Command) => {
      const json = globals(command).json;
      const input = await readJsonOption('--input', options.input, deps);
      let raw: unknown;
      try {
        raw = loadRaw(file);
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        if (json) printJson({ valid: false, errors: error.body.errors ?? [], warnings: [] });
        else out(error.message);
        state.exitCode = EXIT.refused;
        return;
      }
      const check = checkRunRequest(raw, input, { checkInput: options.input !== undefined });
      if (json) {
        printJson({ valid: check.valid, errors: check.errors, warnings: check.warnings });
      } else {
        for (const line of problemLines(check.errors)) out(line);
        for (const line of problemLines(check.warnings, 'warning: ')) out(line);
        if (check.valid) {
          const spec = check.spec!;
          err(`${file}: valid plan ${spec.id} (${spec.nodes.length} nodes, ${spec.edges?.length ?? 0} edges)` +
            (check.warnings.length ? `, ${check.warnings.length} warning(s)` : ''));
        } else {
          err(`${file}: ${check.errors.length} problem${check.errors.length === 1 ? '' : 's'}`);
        }
      }
      state.exitCode = check.valid ? EXIT.ok : EXIT.refused;
    });
}
