/**
 * Checking a plan spec and a run input the way `start` does, without contacting any server
 * (`plan-runner validate`, `start`, `replan`, `graph FILE`).
 *
 * This module loads the validator (zod, ajv and the spec schemas) only when a check is made, and
 * never loads the Temporal client: `PlanRunnerClient` re-exports these functions, and commands that
 * only read a run (`status`) must not pay for a validator they never call (docs/performance.md).
 */
import type { SpecProblem } from '../engine/validate-spec';
import type { PlanSpec } from '../engine/spec';
import type { Issue } from '../engine/types';
import { inspectJson, resolvePayloadLimits, type PayloadLimits } from '../engine/limits';
import { PlanValidationError } from './errors';

/** The validator, loaded on the first check. */
function validation(): typeof import('../activities/validation/spec') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../activities/validation/spec');
}

/** What `checkRunRequest` found: the parsed spec when it is valid, and every problem. */
export interface RunRequestCheck {
  valid: boolean;
  spec?: PlanSpec;
  errors: SpecProblem[];
  warnings: SpecProblem[];
}

/** `The run input …` from `the run input …`. */
function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** An input issue's path (`items.0.name`, or a JSON pointer) as a spec-problem path: `$.input.items[0].name`. */
function issuePath(issue: Issue): string {
  const raw = issue.path?.trim();
  if (!raw) return '$.input';
  if (raw.startsWith('$')) return raw;
  const segments = raw.startsWith('/') ? raw.split('/').slice(1) : raw.split('.');
  return segments
    .filter((segment) => segment.length > 0)
    .reduce((acc, segment) => acc + (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`), '$.input');
}

/**
 * Check a spec and a run input the way `start` does, without contacting any server: the spec with
 * its JSON Schemas (docs/semantics.md §2), then the input against the spec's `inputSchema`. Input problems are
 * reported with paths under `$.input`. With `checkInput: false` only the spec is checked.
 */
export function checkRunRequest(
  spec: unknown,
  input?: unknown,
  options: { checkInput?: boolean; limits?: Partial<PayloadLimits> } = {},
): RunRequestCheck {
  const { validatePlanSpecWithSchemas, validateRunInput } = validation();
  const result = validatePlanSpecWithSchemas(spec);
  if (!result.valid || !result.spec) {
    return { valid: false, errors: result.errors, warnings: result.warnings };
  }
  if (options.checkInput === false) return { valid: true, spec: result.spec, errors: [], warnings: result.warnings };
  // The same check the workflow makes at start: size, depth and text the store can hold.
  const limits = resolvePayloadLimits(options.limits);
  const tooLarge = inspectJson(input ?? {}, { maxBytes: limits.maxInputBytes, maxDepth: limits.maxDepth, what: 'the run input' });
  if (tooLarge) {
    return { valid: false, spec: result.spec, errors: [{ path: issuePath({ severity: 'blocking', code: 'input', message: '', path: tooLarge.path }), message: `${capitalize(tooLarge.description)}.` }], warnings: result.warnings };
  }
  const issues = validateRunInput(result.spec, input);
  const toProblem = (issue: Issue): SpecProblem => ({ path: issuePath(issue), message: issue.message });
  const errors = issues.filter((issue) => issue.severity !== 'warning').map(toProblem);
  const warnings = [...result.warnings, ...issues.filter((issue) => issue.severity === 'warning').map(toProblem)];
  return { valid: errors.length === 0, spec: result.spec, errors, warnings };
}

/** Like `checkRunRequest`, but throws `PlanValidationError` when anything is wrong. */
export function assertValidRunRequest(
  spec: unknown,
  input?: unknown,
  limits?: Partial<PayloadLimits>,
): { spec: PlanSpec; warnings: SpecProblem[] } {
  const check = checkRunRequest(spec, input, { limits });
  if (!check.valid || !check.spec) {
    const inputOnly = check.spec !== undefined;
    throw new PlanValidationError(check.errors, check.warnings, inputOnly ? 'run input' : 'plan spec');
  }
  return { spec: check.spec, warnings: check.warnings };
}

/**
 * Check a new spec version for `replan` the way `start` checks a spec (docs/semantics.md §2, with its JSON
 * Schemas compiled), without any server; throws `PlanValidationError` when anything is wrong. The
 * run input is not checked again: a replan keeps the run's input.
 */
export function assertValidPlanSpec(spec: unknown): { spec: PlanSpec; warnings: SpecProblem[] } {
  const check = checkRunRequest(spec, undefined, { checkInput: false });
  if (!check.valid || !check.spec) throw new PlanValidationError(check.errors, check.warnings, 'plan spec');
  return { spec: check.spec, warnings: check.warnings };
}
