/**
 * `plan-runner`: the command line over `PlanRunnerClient`.
 *
 * Data comes from two places: Temporal (start, messages, `replan`, `status`, `list`, `inbox`: the
 * live runs) and the store the worker records into (`events`, `approvals`, `attempts`,
 * `checkpoints`, `specs`, `migrate`, `replan --dry-run`: `--store` / `PLAN_STORE_URL`, default the SQLite
 * file `.data/plan-runner.db` under the current directory). Store commands need no Temporal server
 * and no worker.
 *
 * Exit codes: 0 success · 1 refused / invalid (spec, input, JSON, message) · 2 usage error ·
 * 3 cannot reach Temporal or the store, run (or node) not found, namespace, search attributes or store
 * tables missing, no worker answering.
 * With `--json`, results are JSON on stdout and errors are also printed there as
 * `{"error": …, "reason"?: …, "code"?: …, "store"?: …, "errors"?: […]}`. Messages for people go to stderr.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { PlanFileError, loadPlanFile } from './load-spec';
import { FailureClass } from '../engine/spec';
import type { AgentSubmission, ArtifactRef, HumanResponse } from '../engine/messages';
import type { RunEvent, RunSnapshot, RunStatus, SubmitOutcome } from '../engine/types';
import type { SpecProblem } from '../engine/validate-spec';
import type { OperationOutcome, ReplanOutcome } from '../workflows/definitions';
import type { PlanStore } from '../store/types';
import { DEFAULT_TASK_QUEUE } from '../workflows/definitions';
import {
  PlanRunnerError,
  PlanValidationError,
  RunNotFoundError,
  RunRefusedError,
  StoreSetupError,
  StoreUnavailableError,
  TemporalUnavailableError,
} from './errors';
import {
  approvalsTable,
  attemptsText,
  checkpointsTable,
  formatEventLine,
  recordingLine,
  migrateText,
  replanPreviewText,
  replanSummary,
  specVersionsTable,
  table,
} from './format';
import { DEFAULT_STORE_FILE } from './store-reads';
import {
  DEFAULT_ADDRESS,
  DEFAULT_NAMESPACE,
  PlanRunnerClient,
  assertValidPlanSpec,
  assertValidRunRequest,
  checkRunRequest,
  type InboxEntry,
  type RunListEntry,
} from './plan-runner-client';

export const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3 } as const;

/** Where the CLI writes. `main()` without one writes to the process and sets `process.exitCode`. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** What the CLI may be given instead of what it opens itself (tests). */
export interface CliDeps {
  /** The store read by the store commands (and `replan --dry-run`) instead of `--store`; not closed. */
  store?: PlanStore;
}

interface GlobalOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  store?: string;
  json?: boolean;
}

/** An expected CLI failure with its exit code and an optional JSON body. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const FAILURE_CLASSES: readonly string[] = FailureClass.options;

function defaultBy(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

function parseJsonOption(flag: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(EXIT.refused, `${flag} is not valid JSON: ${(err as Error).message}`);
  }
}

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError('must be a whole number ≥ 1');
  }
  return parsed;
}

function nonNegativeInt(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new InvalidArgumentError('must be a whole number ≥ 0');
  }
  return parsed;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * `NAME=POINTER` → `{ name, kind: 'uri', pointer }`; `NAME:KIND=POINTER` sets the kind
 * (e.g. `notes:file=./notes.md`). The first `=` separates the name from the pointer.
 */
export function parseArtifact(text: string): ArtifactRef {
  const eq = text.indexOf('=');
  const head = eq >= 0 ? text.slice(0, eq) : '';
  const pointer = eq >= 0 ? text.slice(eq + 1) : '';
  const colon = head.indexOf(':');
  const name = colon >= 0 ? head.slice(0, colon) : head;
  const kind = colon >= 0 ? head.slice(colon + 1) : 'uri';
  if (!name || !kind || !pointer) {
    throw new CliError(EXIT.refused, `--artifact "${text}" must look like NAME=POINTER or NAME:KIND=POINTER`);
  }
  return { name, kind, pointer };
}

/** `CLASS:MESSAGE` (or just `CLASS`) → `{ class, message }`; the class must be a known failure class. */
export function parseFailure(text: string): NonNullable<AgentSubmission['failure']> {
  const colon = text.indexOf(':');
  const failureClass = (colon >= 0 ? text.slice(0, colon) : text).trim();
  const message = colon >= 0 ? text.slice(colon + 1).trim() : '';
  if (!FAILURE_CLASSES.includes(failureClass)) {
    throw new CliError(
      EXIT.refused,
      `--fail "${text}": unknown failure class "${failureClass}"; valid classes: ${FAILURE_CLASSES.join(', ')}`,
      { validClasses: FAILURE_CLASSES },
    );
  }
  return { class: failureClass as FailureClass, message: message || failureClass };
}

/** The `status` view of a snapshot (the JSON contract of `plan-runner status`). */
export function statusView(snapshot: RunSnapshot) {
  return {
    runId: snapshot.runId,
    planId: snapshot.planId,
    title: snapshot.title,
    specVersion: snapshot.specVersion,
    status: snapshot.status,
    nodes: snapshot.nodes.map((node) => ({
      id: node.id,
      type: node.type,
      status: node.status,
      attempts: node.attempts,
      output: node.output ?? null,
      ...(node.owner ? { owner: `${node.owner.kind}:${node.owner.ref}` } : {}),
      ...(node.failureClass ? { failureClass: node.failureClass } : {}),
      ...(node.issues?.length ? { issues: node.issues } : {}),
    })),
    approvals: snapshot.approvals.map((approval) => ({
      approvalId: approval.approvalId,
      nodeId: approval.nodeId,
      status: approval.status,
      ...(approval.respondedBy ? { respondedBy: approval.respondedBy } : {}),
    })),
    failureCount: snapshot.failureCount,
    lastSeq: snapshot.lastSeq,
    // Only when the store refused records: scripts can test for the key.
    ...(snapshot.recording ? { recording: snapshot.recording } : {}),
  };
}

function brief(value: unknown, max = 60): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function problemLines(problems: SpecProblem[], prefix = ''): string[] {
  return problems.map((problem) => `${prefix}${problem.path}: ${problem.message}`);
}

function isPlanFileError(err: unknown): err is Error {
  return err instanceof PlanFileError || (err instanceof Error && err.name === 'PlanFileError');
}

/** Load a plan file; a syntax or read error becomes exit 1 with its file:line:col message. */
function loadRaw(file: string): unknown {
  try {
    return loadPlanFile(file).raw;
  } catch (err) {
    if (isPlanFileError(err) || (err as NodeJS.ErrnoException)?.code === 'ENOENT') {
      throw new CliError(EXIT.refused, (err as Error).message, {
        errors: [{ path: '$', message: (err as Error).message }],
      });
    }
    throw err;
  }
}


/** Build the commander program. Output goes through `io`; actions record their exit code in `state`. */
export function buildProgram(
  io: CliIO = processIO(),
  state: { exitCode: number } = { exitCode: 0 },
  deps: CliDeps = {},
): Command {
  const out = (line: string) => io.stdout(`${line}\n`);
  const err = (line: string) => io.stderr(`${line}\n`);
  const printJson = (value: unknown) => out(JSON.stringify(value));

  const program = new Command('plan-runner');
  program
    .description(
      'Run AI-agent plans durably on Temporal. Live runs are driven and read through Temporal; the worker also ' +
        'records every step in a SQL store, from which events, approvals, attempts, checkpoints and spec versions are read ' +
        '(no Temporal server or worker needed, finished runs included).',
    )
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout(text), writeErr: (text) => io.stderr(text) })
    .showHelpAfterError('(run with --help for usage)')
    .addOption(
      new Option('--address <host:port>', 'Temporal frontend address')
        .env('TEMPORAL_ADDRESS')
        .default(DEFAULT_ADDRESS),
    )
    .addOption(new Option('--namespace <ns>', 'Temporal namespace').env('TEMPORAL_NAMESPACE').default(DEFAULT_NAMESPACE))
    .addOption(
      new Option('--task-queue <queue>', 'task queue of plan-run workflows').env('PLAN_TASK_QUEUE').default(DEFAULT_TASK_QUEUE),
    )
    .addOption(
      new Option(
        '--store <url>',
        `the store the worker records runs into: postgres://user:password@host:5432/db, or a SQLite file ` +
          `(default: ${DEFAULT_STORE_FILE} under the current directory); read by events, approvals, attempts, checkpoints, specs, migrate`,
      ).env('PLAN_STORE_URL'),
    )
    .option('--json', 'print results (and errors) as JSON on stdout')
    .addHelpText(
      'after',
      [
        '',
        'Where the data comes from:',
        '  Temporal   start, submit, respond, cancel, resume, retry, replan, status, list, inbox',
        '             (--address, --namespace; messages and the status of open runs need a worker)',
        '  the store  events, approvals, attempts, checkpoints, specs, migrate, replan --dry-run',
        `             (--store / PLAN_STORE_URL; default the SQLite file ${DEFAULT_STORE_FILE} under the current`,
        '             directory: run these where the worker runs, or point both at the same PostgreSQL)',
        '  both       worker (runs plan workflows from Temporal and records them in the store)',
        '  neither    validate',
        '',
        'Exit codes: 0 ok, 1 invalid or refused, 2 usage error, 3 Temporal or the store unreachable, or no such run.',
        '',
      ].join('\n'),
    );

  const globals = (command: Command): GlobalOptions => command.optsWithGlobals() as GlobalOptions;

  /**
   * A client for store reads: it never connects to Temporal (the connection stays lazy and unused).
   * The store opens on the first read and is closed afterwards.
   */
  async function withStore<T>(command: Command, fn: (client: PlanRunnerClient) => Promise<T>): Promise<T> {
    const options = globals(command);
    const client = new PlanRunnerClient({
      address: options.address,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      storeUrl: options.store,
      store: deps.store,
    });
    try {
      return await fn(client);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  async function withClient<T>(command: Command, fn: (client: PlanRunnerClient) => Promise<T>): Promise<T> {
    const options = globals(command);
    const connectTimeoutMs = Number(process.env.PLAN_RUNNER_CONNECT_TIMEOUT_MS) || 5_000;
    const client = await PlanRunnerClient.connect({
      address: options.address,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      connectTimeoutMs,
    });
    try {
      return await fn(client);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  function printOutcome(command: Command, outcome: SubmitOutcome | OperationOutcome | ReplanOutcome, summary: string): void {
    printJson(outcome);
    if (!globals(command).json) {
      err(summary);
      for (const issue of (outcome as SubmitOutcome).issues ?? []) {
        err(`  ${issue.severity}: ${issue.path ? `${issue.path}: ` : ''}${issue.message} [${issue.code}]`);
      }
    }
  }

  function submitSummary(outcome: SubmitOutcome): string {
    return (
      `${outcome.duplicate ? 'already recorded' : 'recorded'}: node ${outcome.nodeId} attempt ${outcome.attempt} → ${outcome.nodeStatus}` +
      `${outcome.approvalStatus ? ` (approval ${outcome.approvalStatus})` : ''}; run ${outcome.runStatus}`
    );
  }

  // validate -------------------------------------------------------------------------------------
  program
    .command('validate')
    .description('check a plan file (and optionally a run input) without any server')
    .argument('<file>', 'plan spec (YAML or JSON)')
    .option('--input <json>', 'also check this run input against the spec inputSchema')
    .action(async (file: string, options: { input?: string }, command: Command) => {
      const json = globals(command).json;
      const input = parseJsonOption('--input', options.input);
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

  // start ----------------------------------------------------------------------------------------
  program
    .command('start')
    .description('validate a plan file and start a run of it')
    .argument('<file>', 'plan spec (YAML or JSON)')
    .option('--run-id <id>', 'run id (= workflow id); default <plan id>-<random>')
    .option('--input <json>', 'run input (JSON)')
    .action(async (file: string, options: { runId?: string; input?: string }, command: Command) => {
      const input = parseJsonOption('--input', options.input);
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

  // status ---------------------------------------------------------------------------------------
  program
    .command('status')
    .description("show a run's status, nodes and approvals (from Temporal: a worker must answer for open runs)")
    .argument('<run>', 'run id')
    .action(async (runId: string, _options: unknown, command: Command) => {
      const snapshot = await withClient(command, (client) => client.snapshot(runId));
      const view = statusView(snapshot);
      if (globals(command).json) {
        printJson(view);
        return;
      }
      out(`run ${view.runId}  plan ${view.planId}${view.title ? ` (${view.title})` : ''}  spec v${view.specVersion}  status ${view.status}`);
      if (view.recording) out(recordingLine(view.recording));
      out('');
      out(
        table([
          ['NODE', 'TYPE', 'STATUS', 'ATTEMPTS', 'OWNER', 'OUTPUT'],
          ...view.nodes.map((node) => [
            node.id,
            node.type,
            node.status,
            String(node.attempts),
            node.owner ?? '',
            brief(node.output),
          ]),
        ]),
      );
      for (const node of view.nodes) {
        for (const issue of node.issues ?? []) out(`  ${node.id}: ${issue.severity} ${issue.path ? `${issue.path}: ` : ''}${issue.message}`);
      }
      if (view.approvals.length) {
        out('');
        out(
          table([
            ['APPROVAL', 'NODE', 'STATUS', 'BY'],
            ...view.approvals.map((a) => [a.approvalId, a.nodeId, a.status, a.respondedBy ?? '']),
          ]),
        );
      }
    });

  // submit ---------------------------------------------------------------------------------------
  program
    .command('submit')
    .description("submit an agent's result for a running task node")
    .argument('<run>', 'run id')
    .argument('<node>', 'node id')
    .option('--output <json>', 'structured output (JSON)')
    .option('--artifact <name=pointer>', 'artifact, repeatable: NAME=POINTER (kind uri) or NAME:KIND=POINTER', collect, [])
    .option('--notes <text>', 'notes for people and the next node')
    .option('--handoff <json>', 'handoff context for downstream nodes (JSON)')
    .option('--fail <class:message>', `report a failure instead of a result; classes: ${FAILURE_CLASSES.join(', ')}`)
    .option('--attempt <n>', 'the attempt this result answers (a stale attempt is refused)', positiveInt)
    .option('--submission-id <id>', 'idempotency key: resending it returns the first outcome')
    .option('--by <who>', 'who submits', defaultBy())
    .action(async (runId: string, nodeId: string, options: SubmitOptions, command: Command) => {
      const submission: AgentSubmission = { nodeId, by: options.by };
      if (options.output !== undefined) submission.structuredOutput = parseJsonOption('--output', options.output) as AgentSubmission['structuredOutput']; // checked by the client
      if (options.handoff !== undefined) submission.handoffContext = parseJsonOption('--handoff', options.handoff);
      if (options.artifact?.length) submission.artifacts = options.artifact.map(parseArtifact);
      if (options.notes !== undefined) submission.notes = options.notes;
      if (options.fail !== undefined) submission.failure = parseFailure(options.fail);
      if (options.attempt !== undefined) submission.attempt = options.attempt;
      if (options.submissionId !== undefined) submission.submissionId = options.submissionId;
      const outcome = await withClient(command, (client) => client.submitResult(runId, submission));
      printOutcome(command, outcome, submitSummary(outcome));
    });

  // respond --------------------------------------------------------------------------------------
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
    .option('--response <json>', 'the whole response object (human-input, human-review-edit)')
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
        const parsed = parseJsonOption('--response', options.response);
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
      const outcome = await withClient(command, (client) => client.respond(runId, request));
      printOutcome(command, outcome, submitSummary(outcome));
    });

  // cancel / resume / retry ----------------------------------------------------------------------
  program
    .command('cancel')
    .description('cancel a run (status aborted)')
    .argument('<run>', 'run id')
    .option('--reason <text>', 'why')
    .option('--by <who>', 'who cancels', defaultBy())
    .action(async (runId: string, options: { reason?: string; by: string }, command: Command) => {
      const outcome = await withClient(command, (client) => client.cancel(runId, { by: options.by, reason: options.reason }));
      printOutcome(command, outcome, `${outcome.message} (run ${outcome.runStatus})`);
    });

  program
    .command('resume')
    .description('dispatch running nodes again and re-evaluate the graph')
    .argument('<run>', 'run id')
    .option('--by <who>', 'who resumes', defaultBy())
    .action(async (runId: string, options: { by: string }, command: Command) => {
      const outcome = await withClient(command, (client) => client.resume(runId, { by: options.by }));
      printOutcome(command, outcome, `${outcome.message} (run ${outcome.runStatus})`);
    });

  program
    .command('retry')
    .description('make a failed or blocked node ready again')
    .argument('<run>', 'run id')
    .argument('<node>', 'node id')
    .option('--input <json>', "replace the node's resolved input (JSON)")
    .option('--by <who>', 'who retries', defaultBy())
    .action(async (runId: string, nodeId: string, options: { input?: string; by: string }, command: Command) => {
      const input = parseJsonOption('--input', options.input);
      const outcome = await withClient(command, (client) =>
        client.retry(runId, { nodeId, by: options.by, ...(input !== undefined ? { input } : {}) }),
      );
      printOutcome(command, outcome, `${outcome.message} (run ${outcome.runStatus})`);
    });

  // replan ---------------------------------------------------------------------------------------
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

  // store reads: events, approvals, attempts, checkpoints, specs, migrate -----------------------------
  program
    .command('events')
    .description(
      "print a run's events from the store, one line each (JSON Lines with --json); --follow waits for new ones until the run finishes",
    )
    .argument('<run>', 'run id')
    .option('--since <seq>', 'only events after this seq', nonNegativeInt)
    .option('--limit <n>', 'at most this many events (not with --follow)', positiveInt)
    .option('-f, --follow', 'keep printing events as they are recorded until the run is completed or aborted (Ctrl-C stops)')
    .option('--stop-on-failed', 'with --follow: also stop when the run is failed (a failed run stays open for retry)')
    .addOption(new Option('--poll <ms>', 'with --follow: how often the store is polled').argParser(positiveInt).default(500))
    .addOption(
      new Option('--wait <ms>', 'with --follow: how long to wait for a run the store does not know yet (e.g. just started)')
        .argParser(nonNegativeInt)
        .default(10_000),
    )
    .action(async (runId: string, options: EventsCommandOptions, command: Command) => {
      const json = globals(command).json;
      const print = (event: RunEvent) => (json ? printJson(event) : out(formatEventLine(event)));
      if (!options.follow) {
        if (options.stopOnFailed) throw new CliError(EXIT.usage, '--stop-on-failed only applies with --follow');
        const events = await withStore(command, (client) =>
          client.events(runId, { sinceSeq: options.since, limit: options.limit }),
        );
        events.forEach(print);
        return;
      }
      if (options.limit !== undefined) throw new CliError(EXIT.usage, '--limit cannot be combined with --follow');
      await followEvents(command, runId, options, print);
    });

  /** `events --follow`: print until the run finishes; Ctrl-C (SIGINT) or SIGTERM stop it with exit 0. */
  async function followEvents(
    command: Command,
    runId: string,
    options: EventsCommandOptions,
    print: (event: RunEvent) => void,
  ): Promise<void> {
    const json = globals(command).json;
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await withStore(command, async (client) => {
        const endOn: RunStatus[] = ['completed', 'aborted', ...(options.stopOnFailed ? (['failed'] as const) : [])];
        let last: RunEvent | undefined;
        for await (const event of client.followEvents(runId, {
          sinceSeq: options.since,
          pollMs: options.poll,
          signal: controller.signal,
          endOn,
          waitForRunMs: options.wait,
        })) {
          print(event);
          last = event;
          if (!json && !options.stopOnFailed && event.type === 'run-status-changed' && event.toStatus === 'failed') {
            err(`run ${runId} is failed; still following (retry a node or cancel the run; Ctrl-C stops)`);
          }
        }
        if (json) return;
        if (controller.signal.aborted) {
          err(`stopped following run ${runId}${last ? ` at seq ${last.seq}` : ''}`);
          return;
        }
        const run = await client.storedRun(runId);
        err(`run ${runId} is ${run.status} (last seq ${run.lastSeq})`);
      });
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
  }

  program
    .command('approvals')
    .description('list approvals across runs from the store, newest request first')
    .option('--pending', 'only approvals still waiting for an answer')
    .option('--by <who>', 'only approvals WHO may answer (owner or named approver) or has answered')
    .option('--run <run>', 'only approvals of this run')
    .option('--limit <n>', 'at most this many approvals', positiveInt, 100)
    .action(async (options: { pending?: boolean; by?: string; run?: string; limit: number }, command: Command) => {
      const approvals = await withStore(command, (client) =>
        client.approvals({ pending: options.pending, by: options.by, runId: options.run, limit: options.limit }),
      );
      if (globals(command).json) {
        printJson(approvals);
        return;
      }
      if (!approvals.length) {
        err(options.pending ? 'no pending approvals' : 'no approvals');
        return;
      }
      out(approvalsTable(approvals));
    });

  program
    .command('attempts')
    .description("show a node's attempts from the store: status, who, when, failure class, and the issues found")
    .argument('<run>', 'run id')
    .argument('<node>', 'node id')
    .action(async (runId: string, nodeId: string, _options: unknown, command: Command) => {
      const attempts = await withStore(command, (client) => client.attempts(runId, nodeId));
      if (globals(command).json) {
        printJson(attempts);
        return;
      }
      if (!attempts.length) {
        err(`node ${nodeId} of run ${runId} has no attempts yet`);
        return;
      }
      out(attemptsText(attempts));
    });

  program
    .command('checkpoints')
    .description("show a run's checkpoints from the store: the node statuses after every transition (docs/semantics.md §10)")
    .argument('<run>', 'run id')
    .action(async (runId: string, _options: unknown, command: Command) => {
      const checkpoints = await withStore(command, (client) => client.checkpoints(runId));
      if (globals(command).json) {
        printJson(checkpoints);
        return;
      }
      out(checkpointsTable(checkpoints));
    });

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

  program
    .command('migrate')
    .description('create or upgrade the store (--store / PLAN_STORE_URL): apply pending migrations')
    .action(async (_options: unknown, command: Command) => {
      const result = await withStore(command, (client) => client.migrate());
      if (globals(command).json) printJson(result);
      else out(migrateText(result));
    });

  // list / inbox ---------------------------------------------------------------------------------
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

  program
    .command('inbox')
    .description('open runs waiting on an owner, e.g. agent:writer or human:editors (from Temporal)')
    .argument('<owner>', 'agent:REF or human:REF')
    .option('--limit <n>', 'at most this many runs', positiveInt, 100)
    .action(async (owner: string, options: { limit: number }, command: Command) => {
      const entries = await withClient(command, (client) => client.inbox(owner, { limit: options.limit }));
      if (globals(command).json) {
        printJson(entries);
        return;
      }
      if (!entries.length) {
        err(`nothing waits on ${owner}`);
        return;
      }
      out(
        table([
          ['RUN', 'PLAN', 'STATUS', 'NODES'],
          ...entries.map((entry: InboxEntry) => [
            entry.runId,
            entry.planId ?? '',
            entry.runStatus ?? '',
            entry.error
              ? `(${entry.error})`
              : entry.nodes.map((node) => (node.approvalId ? `${node.nodeId} [${node.approvalId}]` : node.nodeId)).join(', '),
          ]),
        ]),
      );
    });

  // worker ---------------------------------------------------------------------------------------
  program
    .command('worker')
    .description('run a plan-run worker in the foreground (Ctrl-C to stop); it records runs in the store (--store)')
    .action(async (_options: unknown, command: Command) => {
      const options = globals(command);
      // Loaded lazily so the other commands never load the worker SDK.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const worker = require(path.join(__dirname, '..', 'worker')) as {
        runWorker(opts: { address: string; namespace: string; taskQueue: string }): Promise<void>;
      };
      // The worker opens its store from PLAN_STORE_URL; --store sets it for this process.
      if (options.store !== undefined) process.env.PLAN_STORE_URL = options.store;
      if (!options.json) err(`worker: task queue ${options.taskQueue} on ${options.address} (namespace ${options.namespace})`);
      try {
        await worker.runWorker({ address: options.address, namespace: options.namespace, taskQueue: options.taskQueue });
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        if (/connect|transport|unavailable|refused|deadline/i.test(text)) {
          throw new TemporalUnavailableError(options.address, undefined, { cause: error });
        }
        throw error;
      }
    });

  return program;
}

interface ReplanCommandOptions {
  by: string;
  reason?: string;
  dryRun?: boolean;
}

interface EventsCommandOptions {
  since?: number;
  limit?: number;
  follow?: boolean;
  stopOnFailed?: boolean;
  poll: number;
  wait: number;
}

interface SubmitOptions {
  output?: string;
  artifact?: string[];
  notes?: string;
  handoff?: string;
  fail?: string;
  attempt?: number;
  submissionId?: string;
  by: string;
}

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

function listJson(run: RunListEntry) {
  return {
    runId: run.runId,
    planId: run.planId,
    status: run.status,
    waitingOn: run.waitingOn,
    startTime: run.startTime.toISOString(),
    closeTime: run.closeTime?.toISOString(),
    temporalStatus: run.temporalStatus,
  };
}

function processIO(): CliIO {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
}

/** Report an error; returns the exit code. */
function report(error: unknown, json: boolean, io: CliIO): number {
  const err = (line: string) => io.stderr(`${line}\n`);
  const printJson = (value: unknown) => io.stdout(`${JSON.stringify(value)}\n`);
  let exitCode: number = EXIT.refused;
  let body: Record<string, unknown> = {};
  let message = error instanceof Error ? error.message : String(error);

  if (error instanceof CliError) {
    exitCode = error.exitCode;
    body = error.body;
  } else if (error instanceof PlanValidationError) {
    body = { errors: error.errors, warnings: error.warnings };
    message = message.split('\n')[0];
    if (!json) {
      err(message);
      for (const line of problemLines(error.errors)) err(line);
      return exitCode;
    }
  } else if (error instanceof RunRefusedError) {
    body = { reason: error.reason };
    message = `refused (${error.reason}): ${error.message}`;
  } else if (error instanceof PlanRunnerError) {
    exitCode = ['unavailable', 'not-found', 'setup', 'unresponsive'].includes(error.code) ? EXIT.unavailable : EXIT.refused;
    body = { code: error.code };
    const store =
      error instanceof StoreUnavailableError || error instanceof StoreSetupError
        ? error.location
        : error instanceof RunNotFoundError
          ? error.store
          : undefined;
    if (store !== undefined) body.store = store;
  } else if (isPlanFileError(error)) {
    exitCode = EXIT.refused;
  } else if (process.env.PLAN_RUNNER_DEBUG && error instanceof Error && error.stack) {
    err(error.stack);
  }
  err(`error: ${message}`);
  if (json) printJson({ error: message, ...body });
  return exitCode;
}

/**
 * Run the CLI. `argv` is `process.argv`-shaped (node, script, ...args). Resolves to the exit code;
 * when no `io` is given it writes to the process and also sets `process.exitCode`.
 */
export async function main(argv: string[] = process.argv, io?: CliIO, deps: CliDeps = {}): Promise<number> {
  const sink = io ?? processIO();
  // `plan-runner events RUN | head` closes the pipe early: that is the reader's choice, not an error.
  if (!io) process.stdout.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? process.exit(0) : undefined));
  const state = { exitCode: EXIT.ok as number };
  const args = argv.slice(2);
  const json = args.includes('--json');
  const program = buildProgram(sink, state, deps);
  let exitCode: number;
  try {
    await program.parseAsync(argv);
    exitCode = state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      const quiet = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code);
      exitCode = quiet ? EXIT.ok : EXIT.usage;
      if (!quiet && json) sink.stdout(`${JSON.stringify({ error: error.message.replace(/^error: /, ''), code: error.code })}\n`);
    } else {
      exitCode = report(error, json, sink);
    }
  }
  if (!io) process.exitCode = exitCode;
  return exitCode;
}

// Entry point when run directly (`node dist/src/client/cli.js …`); bin/plan-runner.js calls main itself.
if (require.main === module) {
  void main(process.argv);
}
