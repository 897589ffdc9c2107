/**
 * Errors the plan-runner client throws for expected situations. Each has a stable `code`, so callers
 * (and the CLI's exit codes) can tell them apart without parsing messages.
 */
import type { SpecProblem } from '../engine/validate-spec';
import type { RefusalReason, RunStatus } from '../engine/types';

import { nearest, unknownNodeMessage } from '../engine/suggest';

export type PlanRunnerErrorCode =
  | 'invalid'
  | 'refused'
  | 'already-exists'
  | 'not-found'
  | 'unavailable'
  | 'unresponsive'
  | 'no-worker'
  | 'setup'
  | 'run-failed'
  | 'timeout';

export class PlanRunnerError extends Error {
  readonly code: PlanRunnerErrorCode;
  constructor(code: PlanRunnerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The spec or the run input is not valid; nothing was started. */
export class PlanValidationError extends PlanRunnerError {
  readonly errors: SpecProblem[];
  readonly warnings: SpecProblem[];
  constructor(errors: SpecProblem[], warnings: SpecProblem[] = [], what = 'plan spec') {
    const lines = errors.map((problem) => `  ${problem.path}: ${problem.message}`);
    super('invalid', `invalid ${what} (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.errors = errors;
    this.warnings = warnings;
  }
}

/** The run refused a message (docs/semantics.md §7, §8, §11); nothing changed. */
export class RunRefusedError extends PlanRunnerError {
  readonly runId: string;
  /** One of the engine's refusal reasons (`RefusalReason`), or another short code. */
  readonly reason: RefusalReason | string;
  constructor(runId: string, reason: RefusalReason | string, message: string, options?: { cause?: unknown }) {
    super('refused', message, options);
    this.runId = runId;
    this.reason = reason;
  }
}

/** What is known of a run whose workflow has closed, for `RunFinishedError`. */
export interface ClosedRun {
  runId: string;
  /** Temporal's status of the closed workflow: COMPLETED, CANCELLED, FAILED, TERMINATED, TIMED_OUT. */
  temporalStatus: string;
  /** plan-runner's last run status (store, else the `PlanRunStatus` search attribute), when known. */
  runStatus?: RunStatus;
  /** Who cancelled the run and why (store), for an `aborted` run. */
  cancelledBy?: string;
  cancelReason?: string;
}

/**
 * A message went to a run whose workflow has closed (reason `run-finished`): the run takes no more
 * messages. The message says how the run ended (completed, cancelled by whom and why, or closed in
 * Temporal some other way) and what to do instead.
 */
export class RunFinishedError extends RunRefusedError {
  readonly temporalStatus: string;
  readonly runStatus?: RunStatus;
  readonly cancelledBy?: string;
  readonly cancelReason?: string;
  constructor(run: ClosedRun, options?: { cause?: unknown }) {
    super(run.runId, 'run-finished', closedRunMessage(run), options);
    this.temporalStatus = run.temporalStatus;
    this.runStatus = run.runStatus;
    this.cancelledBy = run.cancelledBy;
    this.cancelReason = run.cancelReason;
  }
}

/** How Temporal closed a workflow, as words: "was terminated", "failed", … */
const TEMPORAL_CLOSES: Record<string, string> = {
  COMPLETED: 'completed',
  CANCELLED: 'was cancelled',
  FAILED: 'failed',
  TERMINATED: 'was terminated',
  TIMED_OUT: 'timed out',
  CONTINUED_AS_NEW: 'continued as new',
};

/** The text of `RunFinishedError`: how the run ended, that it takes no more messages, what to do. */
export function closedRunMessage(run: ClosedRun): string {
  const { runId, temporalStatus, runStatus } = run;
  const instead = `start a new run for more work (plan-runner start <file>; run ids are not reused); what this run did is in the store: plan-runner events ${runId}`;
  if (runStatus === 'aborted') {
    const by = run.cancelledBy ? ` (by ${run.cancelledBy}${run.cancelReason ? `: ${run.cancelReason}` : ''})` : '';
    return `run ${runId} was cancelled${by}; it is aborted and takes no more messages: ${instead}`;
  }
  if (runStatus === 'completed') {
    return `run ${runId} is completed (every node finished); it takes no more messages: ${instead}`;
  }
  const closed = TEMPORAL_CLOSES[temporalStatus] ?? `closed (${temporalStatus.toLowerCase()})`;
  const was = runStatus ? ` while the run was ${runStatus}` : ' before the run started';
  return `the workflow of run ${runId} ${closed} in Temporal (status ${temporalStatus})${was}; the run takes no more messages: ${instead}`;
}

export class RunAlreadyExistsError extends PlanRunnerError {
  readonly runId: string;
  constructor(runId: string, options?: { cause?: unknown }) {
    super('already-exists', `run ${runId} already exists (run ids are never reused; choose another --run-id)`, options);
    this.runId = runId;
  }
}

/**
 * No such run: in Temporal (`namespace`), or, for reads from the store, in the store at `store` (its
 * location: the SQLite file or the PostgreSQL URL without its password).
 */
export class RunNotFoundError extends PlanRunnerError {
  readonly runId: string;
  readonly namespace: string;
  /** Set when the run was looked up in the store: where that store is. */
  readonly store?: string;
  constructor(runId: string, namespace: string, options?: { cause?: unknown; store?: string }) {
    super(
      'not-found',
      options?.store !== undefined
        ? `no run ${runId} in the store at ${options.store} ` +
            '(is this the store the worker writes to? set PLAN_STORE_URL or --store)'
        : `no run ${runId} in namespace ${namespace}`,
      options,
    );
    this.runId = runId;
    this.namespace = namespace;
    this.store = options?.store;
  }
}

/** The run exists in the store, but its plan has no such node. */
/**
 * The run has no node of that id: one error (and exit code 3) wherever a node is named, whether the
 * store (`attempts`) or the run itself (`submit`, `respond`, `retry`) found out, with the nearest
 * node id as a suggestion.
 */
export class NodeNotFoundError extends PlanRunnerError {
  readonly runId: string;
  readonly nodeId: string;
  /** The run's node ids (empty when the run answered and did not list them). */
  readonly nodes: string[];
  /** The likely intended node id, if one is close. */
  readonly suggestion?: string;
  /** The engine's refusal reason, as on `RunRefusedError`, for callers that test `err.reason`. */
  readonly reason = 'unknown-node';
  constructor(runId: string, nodeId: string, knownNodeIds: string[], options?: { cause?: unknown; message?: string }) {
    super('not-found', options?.message ?? unknownNodeMessage(runId, nodeId, knownNodeIds), options);
    this.runId = runId;
    this.nodeId = nodeId;
    this.nodes = knownNodeIds;
    const suggestion = nearest(nodeId, knownNodeIds) ?? /did you mean "([^"]+)"/.exec(options?.message ?? '')?.[1];
    if (suggestion !== undefined) this.suggestion = suggestion;
  }
}

/** The run exists in the store, but it never had that spec version (docs/semantics.md §11: 1, then one per replan). */
export class SpecVersionNotFoundError extends PlanRunnerError {
  readonly runId: string;
  readonly version: number;
  constructor(runId: string, version: number, knownVersions: number[], options?: { cause?: unknown }) {
    super(
      'not-found',
      `run ${runId} has no spec version ${version}` +
        (knownVersions.length ? ` (its versions: ${knownVersions.join(', ')})` : ' (no spec is recorded for it)'),
      options,
    );
    this.runId = runId;
    this.version = version;
  }
}

/**
 * The store (PLAN_STORE_URL: a SQLite file by default, or PostgreSQL) cannot be opened or does not
 * answer. `location` says which store was tried.
 */
export class StoreUnavailableError extends PlanRunnerError {
  readonly location: string;
  constructor(location: string, message: string, options?: { cause?: unknown }) {
    super('unavailable', message, options);
    this.location = location;
  }
}

/** The store answers but is not set up for plan-runner (no tables yet: run `plan-runner migrate`). */
export class StoreSetupError extends PlanRunnerError {
  readonly location: string;
  constructor(location: string, message: string, options?: { cause?: unknown }) {
    super('setup', message, options);
    this.location = location;
  }
}

/**
 * Why Temporal could not be reached, as far as a probe of the address could tell
 * (`explainConnectFailure` in `./connection`):
 * - `unreachable`: no TCP connection (refused, unknown host, no answer);
 * - `tls-certificate`: TLS is on and the server's certificate is not trusted (no or wrong CA);
 * - `tls-server-name`: the certificate is trusted but not issued for the name checked;
 * - `tls-not-offered`: TLS is on, but the server answers in plain text;
 * - `tls-required`: TLS is off, but the server expects TLS;
 * - `tls-handshake`: the server ended the TLS handshake (often: it wants a client certificate);
 * - `unauthenticated`: connected, but the API key or client certificate was refused;
 * - `unknown`: connected (and, with TLS, the handshake worked), yet Temporal did not answer.
 */
export type TemporalUnavailableReason =
  | 'unreachable'
  | 'tls-certificate'
  | 'tls-server-name'
  | 'tls-not-offered'
  | 'tls-required'
  | 'tls-handshake'
  | 'unauthenticated'
  | 'unknown';

/** The Temporal server cannot be reached (or the namespace does not exist on it). */
export class TemporalUnavailableError extends PlanRunnerError {
  readonly address: string;
  /** What the probe found, when one ran; `undefined` for errors raised without one. */
  readonly reason?: TemporalUnavailableReason;
  /** Whether the connection used TLS, when known. */
  readonly tls?: boolean;
  constructor(
    address: string,
    detail?: string,
    options?: { cause?: unknown; reason?: TemporalUnavailableReason; tls?: boolean },
  ) {
    super('unavailable', detail ?? `cannot reach Temporal at ${address}: ${startHint(address)}`, options);
    this.address = address;
    this.reason = options?.reason;
    this.tls = options?.tls;
  }
}

/**
 * The Temporal connection settings cannot be used: the config file (`temporal.toml`) is unreadable or
 * not valid TOML, the profile is not in it, or a TLS certificate or key file is missing or not PEM.
 * Nothing was sent. `file` names the file at fault, when there is one.
 */
export class TemporalConfigError extends PlanRunnerError {
  readonly file?: string;
  constructor(message: string, options?: { cause?: unknown; file?: string }) {
    super('setup', message, options);
    this.file = options?.file;
  }
}

/**
 * How to get a server at ADDRESS: the dev script starts one only at a local address, and needs
 * TEMPORAL_ADDRESS for any but the default 127.0.0.1:7233 / localhost:7233.
 */
export function startHint(address: string): string {
  const local = /^(localhost|127\.0\.0\.1):\d+$/.test(address);
  if (!local) return 'is the server running, and is the address right? (--address / TEMPORAL_ADDRESS)';
  const prefix = /:7233$/.test(address) ? '' : `TEMPORAL_ADDRESS=${address} `;
  return `is the server running? ${prefix}./temporal-dev.sh server`;
}

/**
 * The run did not answer in time although a worker is listed on its task queue: the worker is busy
 * or stuck, or it was killed without shutting down a moment ago (no worker at all is `NoWorkerError`).
 */
export class RunUnresponsiveError extends PlanRunnerError {
  readonly runId: string;
  /** The run's task queue, when known. */
  readonly taskQueue?: string;
  constructor(runId: string, message: string, options?: { cause?: unknown; taskQueue?: string }) {
    super('unresponsive', message, options);
    this.runId = runId;
    this.taskQueue = options?.taskQueue;
  }
}

/** No worker polls the run's task queue: a query or update would wait for nothing. */
export class NoWorkerError extends PlanRunnerError {
  readonly runId: string;
  readonly taskQueue: string;
  constructor(runId: string, taskQueue: string, message: string, options?: { cause?: unknown }) {
    super('no-worker', message, options);
    this.runId = runId;
    this.taskQueue = taskQueue;
  }
}

/** The server is reachable but not set up for plan-runner (e.g. search attributes missing). */
export class TemporalSetupError extends PlanRunnerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('setup', message, options);
  }
}

/** The workflow closed without a final snapshot (failed, terminated, timed out). */
export class RunFailedError extends PlanRunnerError {
  readonly runId: string;
  readonly failureType?: string;
  constructor(runId: string, message: string, options?: { cause?: unknown; failureType?: string }) {
    super('run-failed', message, options);
    this.runId = runId;
    this.failureType = options?.failureType;
  }
}

/** `waitForStatus` gave up. Carries the last snapshot seen, if any. */
export class WaitTimeoutError extends PlanRunnerError {
  readonly runId: string;
  readonly lastStatus?: string;
  constructor(runId: string, timeoutMs: number, lastStatus?: string) {
    super(
      'timeout',
      `run ${runId} did not reach the expected state within ${timeoutMs} ms` +
        (lastStatus ? ` (last status: ${lastStatus})` : ''),
    );
    this.runId = runId;
    this.lastStatus = lastStatus;
  }
}
