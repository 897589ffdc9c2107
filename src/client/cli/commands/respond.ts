/** `plan-runner respond`: a person's answer to a pending approval, decision, input or review. */
import { type Command } from 'commander';
import { RunRefusedError } from '../../errors';
import type { HumanResponse } from '../../../engine/messages';
import { CliError, EXIT, type CliContext } from '../context';
import { readJsonOption, collect } from '../parse';
import { submitSummary } from '../views';

interface RespondOptions {
  node?: string;
  approvalId?: string;
  approve?: boolean;
  reject?: boolean;
  edit?: string[];
  decision?: string;
  response?: string;
  comments?: string;
  submissionId?: string;
  by: string;
}

/** The flags that answer each kind of human node, for a refusal that says the answer had the wrong shape. */
const FLAGS_FOR: Array<[RegExp, string]> = [
  [/for a human-approval node/, 'use --approve or --reject (or --edit TEXT to ask for changes)'],
  [/for a human-decision node/, 'use --decision OPTION'],
  [/for a human-review-edit node/, 'use --response \'{"edited": {…}}\' (or @FILE)'],
  [/for a review node/, 'use --response with the corrected output (JSON, @FILE or -)'],
];

/** An answer of the wrong shape is refused by the run; say which flags give the right one. */
function withFlagHint(error: unknown): unknown {
  if (!(error instanceof RunRefusedError) || error.reason !== 'invalid-response') return error;
  const hint = FLAGS_FOR.find(([pattern]) => pattern.test(error.message))?.[1];
  return hint ? new RunRefusedError(error.runId, error.reason, `${error.message} On the command line: ${hint}.`, { cause: error }) : error;
}

/** Add `respond` to the program. */
export function registerRespond(program: Command, ctx: CliContext): void {
  const { withClient, printOutcome, deps } = ctx;
  program
    .command('respond')
    .description('answer a pending approval (exactly one of --approve, --reject, --edit, --decision, --response)')
    .argument('<run>', 'run id')
    .option('--node <node>', 'the node to answer (default: the only pending approval)')
    .option('--approval-id <id>', 'the approval to answer (e.g. approve#1)')
    .option('--approve', 'approve: {"approved":true}')
    .option('--reject', 'reject: {"approved":false}')
    .option('--edit <text>', 'request an edit (repeatable): {"approved":false,"requiredEdits":[…]}', collect, [])
    .option('--decision <option>', 'choose an option of a human-decision node: {"decision":…}')
    .option('--response <json>', 'the whole response object (human-input, human-review-edit): JSON, @FILE or -')
    .option('--comments <text>', 'comments added to the response')
    .option('--submission-id <id>', 'idempotency key')
    .requiredOption('--by <who>', 'who answers (checked against the node approvers)')
    .action(async (runId: string, options: RespondOptions, command: Command) => {
      const chosen = [
        options.approve ? '--approve' : undefined,
        options.reject ? '--reject' : undefined,
        options.edit?.length ? '--edit' : undefined,
        options.decision !== undefined ? '--decision' : undefined,
        options.response !== undefined ? '--response' : undefined,
      ].filter((flag): flag is string => flag !== undefined);
      if (chosen.length !== 1) {
        throw new CliError(
          EXIT.usage,
          chosen.length === 0
            ? 'respond needs one of --approve, --reject, --edit, --decision, --response'
            : `respond takes exactly one of --approve, --reject, --edit, --decision, --response (got ${chosen.join(', ')})`,
        );
      }
      let response: Record<string, unknown>;
      if (options.approve) response = { approved: true };
      else if (options.reject) response = { approved: false };
      else if (options.edit?.length) response = { approved: false, requiredEdits: options.edit };
      else if (options.decision !== undefined) response = { decision: options.decision };
      else {
        const parsed = await readJsonOption('--response', options.response, deps);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new CliError(EXIT.refused, '--response must be a JSON object');
        }
        response = { ...(parsed as Record<string, unknown>) };
      }
      if (options.comments !== undefined && response.comments === undefined) response.comments = options.comments;
      const request: HumanResponse = { respondedBy: options.by, response };
      if (options.node !== undefined) request.nodeId = options.node;
      if (options.approvalId !== undefined) request.approvalId = options.approvalId;
      if (options.submissionId !== undefined) request.submissionId = options.submissionId;
      const outcome = await withClient(command, (client) => client.respond(runId, request)).catch((error: unknown) => {
        throw withFlagHint(error);
      });
      printOutcome(command, outcome, submitSummary(outcome, runId));
    });
}
