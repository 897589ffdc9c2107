/** `plan-runner list`: plan runs, from Temporal visibility. */
import { type Command } from 'commander';
import { table } from '../../format';
import { positiveInt } from '../parse';
import { listJson } from '../views';
import type { CliContext } from '../context';

/** Add `list` to the program. */
export function registerList(program: Command, ctx: CliContext): void {
  const { out, err, printJson, globals, withClient } = ctx;
  program
    .command('list')
    .description('list plan runs (from Temporal visibility; may lag a second behind)')
    .option('--status <status>', 'only runs with this PlanRunStatus (running, awaiting-human, blocked, completed, failed, aborted)')
    .option('--plan <id>', 'only runs of this plan id')
    .option('--limit <n>', 'at most this many runs', positiveInt, 100)
    .action(async (options: { status?: string; plan?: string; limit: number }, command: Command) => {
      const runs = await withClient(command, (client) =>
        client.list({ status: options.status, planId: options.plan, limit: options.limit }),
      );
      if (globals(command).json) {
        printJson(runs.map(listJson));
        return;
      }
      if (!runs.length) {
        err('no runs');
        return;
      }
      out(
        table([
          ['RUN', 'PLAN', 'STATUS', 'WAITING ON', 'STARTED', 'TEMPORAL'],
          ...runs.map((run) => [
            run.runId,
            run.planId ?? '',
            run.status ?? '',
            run.waitingOn.join(',') || '-',
            run.startTime.toISOString(),
            run.temporalStatus,
          ]),
        ]),
      );
    });
}
