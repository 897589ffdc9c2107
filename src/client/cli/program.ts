/**
 * The `plan-runner` program: global options (where Temporal and the store are, `--json`), every
 * command from `./commands`, and `main()`, which runs it and turns errors into exit codes.
 */
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_TASK_QUEUE } from '../../workflows/names';
import { DEFAULT_STORE_FILE } from '../store-reads';
import { DEFAULT_ADDRESS, DEFAULT_NAMESPACE } from '../connection';
import { EXIT, createContext, type CliDeps, type CliIO } from './context';
import { report } from './report';
import * as commands from './commands';

/** Writes to the process's stdout and stderr. */
function processIO(): CliIO {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
}

/** Build the commander program. Output goes through `io`; actions record their exit code in `state`. */
export function buildProgram(
  io: CliIO = processIO(),
  state: { exitCode: number } = { exitCode: 0 },
  deps: CliDeps = {},
): Command {
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
    // Connection flags have no commander defaults: an explicit value would hide TEMPORAL_* variables
    // and the temporal.toml profile, which the connection module reads (docs/operations.md).
    .addOption(new Option('--address <host:port>', `Temporal frontend address (default: $TEMPORAL_ADDRESS, the profile, else ${DEFAULT_ADDRESS})`))
    .addOption(new Option('--namespace <ns>', `Temporal namespace (default: $TEMPORAL_NAMESPACE, the profile, else ${DEFAULT_NAMESPACE})`))
    .addOption(new Option('--profile <name>', 'temporal.toml profile (default: $TEMPORAL_PROFILE, else "default")'))
    .addOption(new Option('--config-file <path>', 'temporal.toml to read (default: $TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml)'))
    .addOption(new Option('--api-key <key>', 'API key, e.g. for Temporal Cloud (default: $TEMPORAL_API_KEY); implies TLS'))
    .addOption(new Option('--tls', 'connect with TLS (default: on with an API key or a certificate, else $TEMPORAL_TLS)'))
    .addOption(new Option('--no-tls', 'connect without TLS'))
    .addOption(new Option('--tls-ca-path <file>', "CA certificate that signed the server's (default: the system's)"))
    .addOption(new Option('--tls-cert-path <file>', 'client certificate for mTLS'))
    .addOption(new Option('--tls-key-path <file>', "the client certificate's key"))
    .addOption(new Option('--tls-server-name <name>', 'server name to verify the certificate against'))
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
        '  both       worker (runs plan workflows from Temporal and records them in the store),',
        '             graph RUN (the run from Temporal, its plan from the store)',
        '  neither    validate, graph FILE',
        '',
        'Exit codes: 0 ok, 1 invalid or refused, 2 usage error, 3 Temporal or the store unreachable, or no such run.',
        '',
      ].join('\n'),
    );

  const ctx = createContext(io, state, deps);
  for (const register of [
    commands.registerValidate,
    commands.registerStart,
    commands.registerStatus,
    commands.registerGraph,
    commands.registerSubmit,
    commands.registerRespond,
    commands.registerCancel,
    commands.registerResume,
    commands.registerRetry,
    commands.registerReplan,
    commands.registerBudget,
    commands.registerEvents,
    commands.registerApprovals,
    commands.registerAttempts,
    commands.registerCheckpoints,
    commands.registerSpecs,
    commands.registerMigrate,
    commands.registerList,
    commands.registerInbox,
    commands.registerWorker,
    commands.registerUsers,
    commands.registerConsole,
  ]) {
    register(program, ctx);
  }
  return program;
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
