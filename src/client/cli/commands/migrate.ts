/** `plan-runner migrate`: create or upgrade the store. */
import { type Command } from 'commander';
import { migrateText } from '../../format';
import type { CliContext } from '../context';

/** Add `migrate` to the program. */
export function registerMigrate(program: Command, ctx: CliContext): void {
  const { out, printJson, globals, withStore } = ctx;
  program
    .command('migrate')
    .description('create or upgrade the store (--store / PLAN_STORE_URL): apply pending migrations')
    .action(async (_options: unknown, command: Command) => {
      const result = await withStore(command, (client) => client.migrate());
      if (globals(command).json) printJson(result);
      else out(migrateText(result));
    });
}
