/** How an error becomes what people read, the JSON error body and the exit code (docs/cli.md). */
import {
  NodeNotFoundError,
  PlanRunnerError,
  PlanValidationError,
  RunNotFoundError,
  RunRefusedError,
  StoreSetupError,
  StoreUnavailableError,
  TemporalConfigError,
  TemporalUnavailableError,
} from '../errors';
import { CliError, EXIT, type CliIO } from './context';
import { isPlanFileError, problemLines } from './parse';

/** Report an error; returns the exit code. */
export function report(error: unknown, json: boolean, io: CliIO): number {
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
    exitCode = ['unavailable', 'not-found', 'setup', 'unresponsive', 'no-worker'].includes(error.code) ? EXIT.unavailable : EXIT.refused;
    body = { code: error.code };
    const store =
      error instanceof StoreUnavailableError || error instanceof StoreSetupError
        ? error.location
        : error instanceof RunNotFoundError
          ? error.store
          : undefined;
    if (store !== undefined) body.store = store;
    if (error instanceof TemporalUnavailableError && error.reason) body.reason = error.reason;
    if (error instanceof TemporalConfigError && error.file) body.file = error.file;
    if (error instanceof NodeNotFoundError) {
      body = { ...body, code: 'node-not-found', nodeId: error.nodeId, ...(error.suggestion ? { suggestion: error.suggestion } : {}), ...(error.nodes.length ? { nodes: error.nodes } : {}) };
    }
  } else if (isPlanFileError(error)) {
    exitCode = EXIT.refused;
  } else if (process.env.PLAN_RUNNER_DEBUG && error instanceof Error && error.stack) {
    err(error.stack);
  }
  err(`error: ${message}`);
  if (json) printJson({ error: message, ...body });
  return exitCode;
}
