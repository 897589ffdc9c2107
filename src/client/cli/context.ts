/**
 * What every CLI command is given: where to write, the global options, and the two ways to reach
 * data (a Temporal client for live runs, a store-only client for recorded ones).
 */
import type { Command } from 'commander';
import type { SubmitOutcome } from '../../engine/types';
import type { OperationOutcome, ReplanOutcome } from '../../workflows/definitions';
import type { PlanStore } from '../../store/types';
import type { PlanRunnerClient } from '../plan-runner-client';
import type { ConnectionFlags } from '../connection';
import type { LightClient } from '../light/light-client';
import type { QuickOptions } from '../light/quick-commands';

/** Exit codes: documented in docs/cli.md. */
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
  /** Read instead of the process's stdin by `--output -` and friends (tests). */
  stdin?: () => Promise<string>;
}

/** The options every command accepts (`plan-runner --help`). */
export interface GlobalOptions extends ConnectionFlags {
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

/** Handed to every command's `register` function. */
export interface CliContext {
  /** A line for the result (stdout). */
  out(line: string): void;
  /** A line for people (stderr): progress, summaries, hints. */
  err(line: string): void;
  /** One JSON value on a line of stdout. */
  printJson(value: unknown): void;
  /** The exit code an action sets when it finishes without throwing. */
  state: { exitCode: number };
  deps: CliDeps;
  globals(command: Command): GlobalOptions;
  /** A client for store reads only: it never connects to Temporal. The store is closed afterwards. */
  withStore<T>(command: Command, fn: (client: PlanRunnerClient) => Promise<T>): Promise<T>;
  /** A client connected to Temporal (failing fast when it is unreachable), closed afterwards. */
  withClient<T>(command: Command, fn: (client: PlanRunnerClient) => Promise<T>): Promise<T>;
  /**
   * Run `fn` on the light client (`../light/quick-commands.ts`), which does not load the Temporal
   * SDK, and closed afterwards; `undefined` when it cannot be used here (not built, turned off with
   * `PLAN_RUNNER_LIGHT_CLIENT=0`, settings the full client must word) or when `fn` gives up. Only
   * plan-runner's own errors (`PlanRunnerError`) from `fn` are thrown; the caller then does the job
   * through `withClient`.
   */
  quick<T>(command: Command, fn: (light: LightClient, options: QuickOptions) => Promise<T | undefined>): Promise<T | undefined>;
  /** Print an outcome as JSON on stdout and, unless `--json`, its summary and issues on stderr. */
  printOutcome(command: Command, outcome: SubmitOutcome | OperationOutcome | ReplanOutcome, summary: string): void;
}

/**
 * The client and its connection settings, loaded when a command first asks for a client rather than
 * when the program is built: they bring in the Temporal SDK (gRPC and its protobuf definitions), by
 * far the largest part of starting the CLI, which `--help`, `validate` and usage errors never need.
 */
function clientModules(): {
  PlanRunnerClient: typeof PlanRunnerClient;
  connectionOptionsFromFlags: typeof import('../connection').connectionOptionsFromFlags;
} {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { PlanRunnerClient } = require('../plan-runner-client') as typeof import('../plan-runner-client');
  const { connectionOptionsFromFlags } = require('../connection') as typeof import('../connection');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { PlanRunnerClient, connectionOptionsFromFlags };
}

/** Build the context over `io`. */
export function createContext(io: CliIO, state: { exitCode: number }, deps: CliDeps): CliContext {
  const out = (line: string) => io.stdout(`${line}\n`);
  const err = (line: string) => io.stderr(`${line}\n`);
  const printJson = (value: unknown) => out(JSON.stringify(value));
  const globals = (command: Command): GlobalOptions => command.optsWithGlobals() as GlobalOptions;

  /** The client options every command shares: connection flags, task queue and store. */
  const clientOptions = (command: Command) => {
    const options = globals(command);
    return { ...clientModules().connectionOptionsFromFlags(options), taskQueue: options.taskQueue, storeUrl: options.store, store: deps.store };
  };

  /** Run `fn` with `client`, and close it afterwards whatever happens. */
  async function using<T>(client: PlanRunnerClient, fn: (client: PlanRunnerClient) => Promise<T>): Promise<T> {
    try {
      return await fn(client);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  function withStore<T>(command: Command, fn: (client: PlanRunnerClient) => Promise<T>): Promise<T> {
    return using(new (clientModules().PlanRunnerClient)(clientOptions(command)), fn);
  }

  async function withClient<T>(command: Command, fn: (client: PlanRunnerClient) => Promise<T>): Promise<T> {
    const connectTimeoutMs = Number(process.env.PLAN_RUNNER_CONNECT_TIMEOUT_MS) || 5_000;
    return using(await clientModules().PlanRunnerClient.connect({ ...clientOptions(command), connectTimeoutMs }), fn);
  }

  async function quick<T>(command: Command, fn: (light: LightClient, options: QuickOptions) => Promise<T | undefined>): Promise<T | undefined> {
    if (process.env.PLAN_RUNNER_LIGHT_CLIENT === '0') return undefined;
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { LightClient, lightClientAvailable } = require('../light/light-client') as typeof import('../light/light-client');
    const { resolveConnectionSettings, connectionOptionsFromFlags } = require('../connection') as typeof import('../connection');
    const { PlanRunnerError } = require('../errors') as typeof import('../errors');
    /* eslint-enable @typescript-eslint/no-require-imports */
    if (!lightClientAvailable()) return undefined;
    const options = globals(command);
    let light: LightClient;
    try {
      const settings = resolveConnectionSettings(connectionOptionsFromFlags(options));
      light = new LightClient({ connectionOptions: settings.connectionOptions, namespace: settings.namespace });
    } catch {
      return undefined; // unusable settings: the full client says what is wrong with them
    }
    try {
      return await fn(light, { taskQueue: options.taskQueue, connectTimeoutMs: Number(process.env.PLAN_RUNNER_CONNECT_TIMEOUT_MS) || 5_000 });
    } catch (err) {
      if (err instanceof PlanRunnerError) throw err;
      return undefined;
    } finally {
      light.close();
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

  return { out, err, printJson, state, deps, globals, withStore, withClient, quick, printOutcome };
}
