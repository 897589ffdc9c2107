/** `plan-runner list`: plan runs, from Temporal visibility. */
import { InvalidArgumentError, type Command } from 'commander';
import { didYouMean, listNames, nearest } from '../../../engine/suggest';
import { RUN_STATUSES, type RunStatus } from '../../../engine/types';
import type { PlanRunnerClient } from '../../plan-runner-client';
import { CliError, EXIT } from '../context';
import { table } from '../../format';
import { positiveInt } from '../parse';
import { listJson } from '../views';
import type { CliContext } from '../context';

/** commander parser for `--status`: one of the run statuses, with the nearest as a hint. */
export function runStatus(value: string): RunStatus {
  if ((RUN_STATUSES as readonly string[]).includes(value)) return value as RunStatus;
  throw new InvalidArgumentError(`"${value}" is not a run status${didYouMean(value, RUN_STATUSES)}; use one of: ${RUN_STATUSES.join(', ')}`);
}

/**
 * `list --plan X` found nothing: if no run of plan X exists at all, X is probably a typo, so say so
 * with the nearest plan id that has runs (exit 1). A plan that has runs, none matching the other
 * filters, is just "no runs".
 */
async function explainNoRunsOfPlan(client: PlanRunnerClient, planId: string): Promise<void> {
  if ((await client.list({ planId, limit: 1 })).length > 0) return;
  const known = [...new Set((await client.list({ limit: 1000 })).map((run) => run.planId).filter((id): id is string => !!id))].sort();
  throw new CliError(
    EXIT.refused,
    `no run of plan "${planId}" exists${didYouMean(planId, known)}; plans with runs: ${listNames(known)}`,
    { planId, ...(nearest(planId, known) ? { suggestion: nearest(planId, known) } : {}), plans: known },
  );
}

/** Add `list` to the program. */
export function registerList(program: Command, ctx: CliContext): void {
  const { out, err, printJson, globals, withClient } = ctx;
  program
    .command('list')
    .description('list plan runs (from Temporal visibility; may lag a second behind)')
    .option('--status <status>', `only runs with this PlanRunStatus (${RUN_STATUSES.join(', ')})`, runStatus)
    .option('--plan <id>', 'only runs of this plan id')
    .option('--top-level', 'only top-level runs, not the child runs of plan nodes')
    .option('--parent <runId>', 'only the child runs of this run')
    .option('--limit <n>', 'at most this many runs', positiveInt, 100)
    .action(async (options: { status?: string; plan?: string; topLevel?: boolean; parent?: string; limit: number }, command: Command) => {
      const runs = await withClient(command, (client) =>
        client.list({
          status: options.status,
          planId: options.plan,
          limit: options.limit,
          ...(options.topLevel ? { topLevel: true } : {}),
          ...(options.parent !== undefined ? { parentRunId: options.parent } : {}),
        }),
      );
      if (globals(command).json) {
        printJson(runs.map(listJson));
        return;
      }
      if (!runs.length && options.plan !== undefined) {
        await withClient(command, (client) => explainNoRunsOfPlan(client, options.plan!));
      }
      if (!runs.length) {
        err('no runs');
        return;
      }
      out(
        table([
          ['RUN', 'PLAN', 'STATUS', 'WAITING ON', 'STARTED', 'TEMPORAL', 'PARENT'],
          ...runs.map((run) => [
            run.runId,
            run.planId ?? '',
            run.status ?? '',
            run.waitingOn.join(',') || '-',
            run.startTime.toISOString(),
            run.temporalStatus,
            run.parentRunId ?? '-',
          ]),
        ]),
      );
    });
}
