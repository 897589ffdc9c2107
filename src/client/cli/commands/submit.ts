/** `plan-runner submit`: an agent's result (or failure) for a running task node. */
import { type Command } from 'commander';
import type { AgentSubmission } from '../../../engine/messages';
import { readJsonOption, positiveInt, collect, parseArtifact, parseFailure, defaultBy, FAILURE_CLASSES } from '../parse';
import { submitSummary } from '../views';
import { CliError, EXIT, type CliContext } from '../context';

interface SubmitOptions {
  output?: string;
  artifact?: string[];
  notes?: string;
  handoff?: string;
  fail?: string;
  usage?: string;
  attempt?: number;
  submissionId?: string;
  token?: string;
  by: string;
}

/** Add `submit` to the program. */
export function registerSubmit(program: Command, ctx: CliContext): void {
  const { withClient, quick, printOutcome, deps } = ctx;
  program
    .command('submit')
    .description("submit an agent's result for a running task node")
    .argument('<run>', 'run id')
    .argument('<node>', 'node id')
    .option('--output <json>', 'structured output: JSON, @FILE (read the file) or - (read standard input)')
    .option('--artifact <name=pointer>', 'artifact, repeatable: NAME=POINTER (kind uri) or NAME:KIND=POINTER', collect, [])
    .option('--notes <text>', 'notes for people and the next node')
    .option('--handoff <json>', 'handoff context for downstream nodes: JSON, @FILE or -')
    .option('--fail <class:message>', `report a failure instead of a result; classes: ${FAILURE_CLASSES.join(', ')}`)
    .option('--usage <json>', 'what the attempt spent: {"inputTokens":…,"outputTokens":…,"costUsd":…} as JSON, @FILE or -; counted against budgets')
    .option('--attempt <n>', 'the attempt this result answers (a stale attempt is refused)', positiveInt)
    .option('--submission-id <id>', 'idempotency key: resending it returns the first outcome')
    .option('--token <token>', "the work item's token (required when the run requires tokens); default $PLAN_WORK_ITEM_TOKEN, which keeps it out of process lists")
    .option('--by <who>', 'who submits', defaultBy())
    .action(async (runId: string, nodeId: string, options: SubmitOptions, command: Command) => {
      if ([options.output, options.handoff, options.usage].filter((value) => value === '-').length > 1) {
        throw new CliError(EXIT.usage, 'only one of --output, --handoff and --usage can read standard input (-); give the others as JSON or @FILE');
      }
      const submission: AgentSubmission = { nodeId, by: options.by };
      if (options.output !== undefined) submission.structuredOutput = await readJsonOption('--output', options.output, deps) as AgentSubmission['structuredOutput']; // checked by the client
      if (options.handoff !== undefined) submission.handoffContext = await readJsonOption('--handoff', options.handoff, deps);
      if (options.artifact?.length) submission.artifacts = options.artifact.map(parseArtifact);
      if (options.notes !== undefined) submission.notes = options.notes;
      if (options.fail !== undefined) submission.failure = parseFailure(options.fail);
      if (options.usage !== undefined) submission.usage = (await readJsonOption('--usage', options.usage, deps)) as AgentSubmission['usage']; // checked by the client
      if (options.attempt !== undefined) submission.attempt = options.attempt;
      if (options.submissionId !== undefined) submission.submissionId = options.submissionId;
      const token = options.token ?? process.env.PLAN_WORK_ITEM_TOKEN;
      if (token) submission.token = token;
      // Sent without loading the Temporal SDK while the run and its worker are there and the run
      // accepts the result; else the full client checks it and sends it, under the same update id
      // if it was sent already (Temporal then does not apply it twice).
      const quickly = await quick(command, async (light, quickOptions) => (await import('../../light/quick-commands')).quickSubmit(light, runId, submission, quickOptions));
      const outcome = quickly?.outcome ?? (await withClient(command, (client) => client.submitResult(runId, submission, { updateId: quickly?.updateId })));
      printOutcome(command, outcome, submitSummary(outcome, runId));
    });
}
