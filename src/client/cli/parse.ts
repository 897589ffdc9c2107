/**
 * Turning command-line text into values: numbers, JSON (inline, `@file` or `-` for stdin),
 * artifacts, failures, plan files. Each refusal says which flag was wrong and why.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { InvalidArgumentError } from 'commander';
import { ENGINE_ONLY_FAILURE_CLASSES, FAILURE_CLASS_NAMES } from '../../engine/failure-classes';
import type { FailureClass } from '../../engine/spec';
import type { AgentSubmission, ArtifactRef } from '../../engine/messages';
import type { SpecProblem } from '../../engine/validate-spec';
import { CliError, EXIT, type CliDeps } from './context';

/** The failure classes `--fail` accepts (not those only the engine sets). */
export const FAILURE_CLASSES: readonly string[] = FAILURE_CLASS_NAMES.filter((c) => !ENGINE_ONLY_FAILURE_CLASSES.includes(c));

/** Who acts when `--by` is not given: `cli:<login name>`. */
export function defaultBy(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

/** Parse inline JSON given to `flag`; `undefined` stays `undefined`. */
export function parseJsonOption(flag: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(EXIT.refused, `${flag} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The whole of the process's standard input, as text. */
export async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A JSON flag's value: inline JSON, `@path` (the file's contents) or `-` (standard input), which
 * is how agents usually produce output (`agent | plan-runner submit RUN NODE --output -`).
 * A file that cannot be read, or text that is not JSON, is refused naming the flag and the source.
 */
export async function readJsonOption(flag: string, text: string | undefined, deps: CliDeps = {}): Promise<unknown> {
  if (text === undefined) return undefined;
  let source = 'inline';
  let body = text;
  if (text === '-') {
    source = 'standard input';
    body = await (deps.stdin ?? readProcessStdin)();
    if (!body.trim()) throw new CliError(EXIT.refused, `${flag} -: standard input was empty; pipe the JSON in, e.g. echo '{"a":1}' | plan-runner … ${flag} -`);
  } else if (text.startsWith('@')) {
    const file = text.slice(1);
    source = `file ${file}`;
    if (!file) throw new CliError(EXIT.refused, `${flag} @: give a file name after @, e.g. ${flag} @output.json`);
    try {
      body = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
      throw new CliError(EXIT.refused, `${flag} ${text}: cannot read ${file}: ${why}`);
    }
  }
  try {
    return JSON.parse(body);
  } catch (err) {
    const where = source === 'inline' ? '' : ` (read from ${source})`;
    throw new CliError(EXIT.refused, `${flag} is not valid JSON${where}: ${(err as Error).message}`);
  }
}

/** commander parser: a whole number ≥ 1. */
export function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError('must be a whole number ≥ 1');
  }
  return parsed;
}

/** commander parser: a number ≥ 0 (a price such as 2.50, a count of tokens). */
export function nonNegativeNumber(value: string): number {
  const parsed = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) {
    throw new InvalidArgumentError('must be a number ≥ 0, e.g. 2.50');
  }
  return parsed;
}

/** commander parser: a whole number ≥ 0. */
export function nonNegativeInt(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new InvalidArgumentError('must be a whole number ≥ 0');
  }
  return parsed;
}

/** commander collector for repeatable flags. */
export function collect(value: string, previous: string[] = []): string[] {
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

/** A value shortened to `max` characters for a table cell. */
export function brief(value: unknown, max = 60): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `path: message` lines for spec problems. */
export function problemLines(problems: SpecProblem[], prefix = ''): string[] {
  return problems.map((problem) => `${prefix}${problem.path}: ${problem.message}`);
}

/**
 * A plan file's syntax or read error. Told by name (every `PlanFileError` has it), which also
 * works across module copies and keeps the YAML parser unloaded until a plan file is read.
 */
export function isPlanFileError(err: unknown): err is Error {
  return err instanceof Error && err.name === 'PlanFileError';
}

/** Load a plan file; a syntax or read error becomes exit 1 with its file:line:col message. */
export function loadRaw(file: string): unknown {
  // Loaded here, not at the top: only the commands that read a plan file pay for the YAML parser.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadPlanFile } = require('../load-spec') as typeof import('../load-spec');
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
