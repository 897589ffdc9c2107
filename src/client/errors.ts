/**
 * Errors the plan-runner client throws for expected situations. Each has a stable `code`, so callers
 * (and the CLI's exit codes) can tell them apart without parsing messages.
 */
import type { SpecProblem } from '../engine/validate-spec';
import type { RefusalReason } from '../engine/types';

export type PlanRunnerErrorCode =
  | 'invalid'
  | 'refused'
  | 'already-exists'
  | 'not-found'
  | 'unavailable'
  | 'unresponsive'
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

/** The run refused a message (SPEC §7, §8, §11); nothing changed. */
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

export class RunAlreadyExistsError extends PlanRunnerError {
  readonly runId: string;
  constructor(runId: string, options?: { cause?: unknown }) {
    super('already-exists', `run ${runId} already exists (run ids are never reused; choose another --run-id)`, options);
    this.runId = runId;
  }
}

export class RunNotFoundError extends PlanRunnerError {
  readonly runId: string;
  readonly namespace: string;
  constructor(runId: string, namespace: string, options?: { cause?: unknown }) {
    super('not-found', `no run ${runId} in namespace ${namespace}`, options);
    this.runId = runId;
    this.namespace = namespace;
  }
}

/** The Temporal server cannot be reached (or the namespace does not exist on it). */
export class TemporalUnavailableError extends PlanRunnerError {
  readonly address: string;
  constructor(address: string, detail?: string, options?: { cause?: unknown }) {
    super(
      'unavailable',
      detail ?? `cannot reach Temporal at ${address}: is the server running? ./temporal-dev.sh server`,
      options,
    );
    this.address = address;
  }
}

/** The run did not answer in time: usually no worker is polling the task queue. */
export class RunUnresponsiveError extends PlanRunnerError {
  readonly runId: string;
  constructor(runId: string, message: string, options?: { cause?: unknown }) {
    super('unresponsive', message, options);
    this.runId = runId;
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
