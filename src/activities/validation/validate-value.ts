/**
 * Validation of one value (an agent's output, a human response, a resolved input) against a registry
 * schema and the node's completion checks (docs/semantics.md §7).
 *
 * Paths:
 * - Schema issues carry the dotted path of the failing value inside the checked value (`sources`,
 *   `items.0.name`); a problem with the value as a whole has no path. Ajv reports a missing
 *   property at the object that lacks it ("must have required property 'summary'").
 * - Completion check paths (`required`, `min-length`, `matches`) are relative to the checked value
 *   (the node's output): `path: summary` reads `output.summary`.
 * - `condition` checks are §3 expressions on the node context (`output.…`, `input.…`,
 *   `artifact.NAME.…`, `run.input.…`), evaluated on `request.context`; `artifact` checks look at
 *   `request.context.artifact`.
 */
import { evaluateCondition, parseCondition } from '../../engine/conditions';
import { getPath, isValidPath } from '../../engine/paths';
import { compilePattern } from '../../engine/patterns';
import type { CompletionCheck } from '../../engine/spec';
import type { Issue, ValidationRequest } from '../../engine/types';
import { compileRef, describeAjvError, pointerToDotted } from './schema-compiler';

/** More schema errors than this are summed up in one last issue (a huge array can fail everywhere). */
export const MAX_SCHEMA_ISSUES = 50;

export function validateValue(request: ValidationRequest): Issue[] {
  return [...schemaIssues(request), ...request.checks.flatMap((check) => runCheck(check, request))];
}

function schemaIssues(request: ValidationRequest): Issue[] {
  const ref = request.schemaRef;
  if (ref === undefined) return [];
  const schemas = request.schemas ?? {};
  if (!Object.prototype.hasOwnProperty.call(schemas, ref)) {
    const known = Object.keys(schemas);
    return [
      {
        severity: 'blocking',
        code: 'schema-missing',
        message: `schema "${ref}" is not in the plan's schema registry${known.length ? ` (known: ${known.join(', ')})` : ''}, so the value cannot be checked`,
      },
    ];
  }
  const compiled = compileRef(schemas, ref);
  if (!compiled.ok) {
    return [{ severity: 'blocking', code: 'schema-invalid', message: `schema "${ref}" is not a valid JSON Schema: ${compiled.error}` }];
  }
  if (compiled.validate(request.value)) return [];

  const issues: Issue[] = [];
  const seen = new Set<string>();
  for (const error of compiled.validate.errors ?? []) {
    // A missing required property is reported where it is missing (`sources`), not at its parent.
    const missing = error.keyword === 'required' ? `/${String((error.params as { missingProperty?: string }).missingProperty)}` : '';
    const path = pointerToDotted(`${error.instancePath}${missing}`) || undefined;
    const message = describeAjvError(error);
    const key = `${path ?? ''}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ severity: 'blocking', code: request.schemaIssueCode, message, ...(path !== undefined ? { path } : {}) });
  }
  if (issues.length > MAX_SCHEMA_ISSUES) {
    const rest = issues.length - MAX_SCHEMA_ISSUES;
    return [
      ...issues.slice(0, MAX_SCHEMA_ISSUES),
      { severity: 'blocking', code: request.schemaIssueCode, message: `… and ${rest} more schema error${rest === 1 ? '' : 's'}` },
    ];
  }
  return issues;
}

/** One completion check: no issue when it passes, else one issue (blocking unless `severity: warning`). */
export function runCheck(check: CompletionCheck, request: Pick<ValidationRequest, 'value' | 'context'>): Issue[] {
  const failure = checkFailure(check, request);
  if (failure === undefined) return [];
  const issue: Issue = {
    severity: check.severity ?? 'blocking',
    code: check.kind,
    message: check.message ?? failure,
  };
  if ('path' in check) issue.path = check.path;
  return [issue];
}

/** Why the check fails, or undefined when it passes. */
function checkFailure(check: CompletionCheck, request: Pick<ValidationRequest, 'value' | 'context'>): string | undefined {
  if ('path' in check && !isValidPath(check.path)) {
    return `"${check.path}" is not a dotted path, so the check cannot run`;
  }
  switch (check.kind) {
    case 'required': {
      const found = getPath(request.value, check.path);
      if (found === undefined) return `"${check.path}" is required but missing`;
      if (isEmpty(found)) return `"${check.path}" is required but empty`;
      return undefined;
    }
    case 'artifact': {
      const artifacts = request.context?.artifact ?? {};
      return Object.prototype.hasOwnProperty.call(artifacts, check.name) && artifacts[check.name] != null
        ? undefined
        : `artifact "${check.name}" is required but was not submitted`;
    }
    case 'min-length': {
      const found = getPath(request.value, check.path);
      const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
      if (found === undefined || found === null) {
        return `"${check.path}" must have at least ${unit(check.min, 'item')} (or characters), but it is missing`;
      }
      if (typeof found === 'string') {
        return found.length >= check.min
          ? undefined
          : `"${check.path}" must be at least ${unit(check.min, 'character')} long, but it has ${found.length}`;
      }
      if (Array.isArray(found)) {
        return found.length >= check.min ? undefined : `"${check.path}" must have at least ${unit(check.min, 'item')}, but it has ${found.length}`;
      }
      return `"${check.path}" must be a text or a list with at least ${check.min} entries, but it is ${kindOf(found)}`;
    }
    case 'matches': {
      // RE2 (linear time): no pattern from a plan can make this check run for long (docs/security.md).
      const compiled = compilePattern(check.pattern);
      if (!compiled.ok) return `the pattern ${check.pattern} is not a valid regular expression (${compiled.error})`;
      const found = getPath(request.value, check.path);
      if (found === undefined || found === null) return `"${check.path}" must match /${check.pattern}/, but it is missing`;
      if (typeof found !== 'string') return `"${check.path}" must be a text matching /${check.pattern}/, but it is ${kindOf(found)}`;
      return compiled.pattern.test(found) ? undefined : `"${check.path}" must match /${check.pattern}/, but it is ${quote(found)}`;
    }
    case 'condition': {
      const parsed = parseCondition(check.expression);
      if (!parsed.ok) return `the condition "${check.expression}" cannot be evaluated: ${parsed.error}`;
      return evaluateCondition(parsed.condition, request.context) ? undefined : `the condition "${check.expression}" does not hold`;
    }
  }
}

/** Empty for `required`: missing, null, "", [] or {}. (0 and false are values.) */
export function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value as object).length === 0;
  return false;
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}…` : text);
}
