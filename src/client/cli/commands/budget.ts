/** `plan-runner budget`: raise a run's plan budget, so a run blocked by it goes on. */
import { type Command } from 'commander';
import { defaultBy, nonNegativeNumber } from '../parse';
import { CliError, EXIT, type CliContext } from '../context';

interface BudgetOptions {
  maxCost?: number;
  maxTokens?: number;
  by: string;
}

/** Add `budget` to the program. */
export function registerBudget(program: Command, ctx: CliContext): void {
  const { withClient, printOutcome } = ctx;
  program
    .command('budget')
    .description("raise the run's plan budget: a run blocked by its budget goes on once its spending is within the new limits")
    .argument('<run>', 'run id')
    .option('--max-cost <usd>', 'the new cost limit in US dollars (higher than the one in force)', nonNegativeNumber)
    .option('--max-tokens <n>', 'the new token limit, input + output tokens (higher than the one in force)', nonNegativeNumber)
    .option('--by <who>', 'who raises it', defaultBy())
    .action(async (runId: string, options: BudgetOptions, command: Command) => {
      if (options.maxCost === undefined && options.maxTokens === undefined) {
        throw new CliError(EXIT.usage, 'plan-runner budget needs a new limit: --max-cost USD and/or --max-tokens N (plan-runner status RUN shows what the run spent and its budget)');
      }
      const outcome = await withClient(command, (client) =>
        client.raiseBudget(runId, {
          by: options.by,
          ...(options.maxCost !== undefined ? { maxCostUsd: options.maxCost } : {}),
          ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
        }),
      );
      printOutcome(command, outcome, `${outcome.message} (run ${outcome.runStatus})`);
    });
}
