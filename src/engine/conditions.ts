/**
 * Edge conditions (`when`, docs/semantics.md §3) and map sources (docs/semantics.md §4).
 *
 * Grammar: `always` · `PATH` (truthy) · `PATH OP LITERAL`, OP in `== != >= <= > <`.
 * PATH starts at a node context root: `output`, `input`, `artifact`, `run`.
 *
 * Choices where the semantics leave it open (documented in docs/design-choices.md, "Conditions"):
 * - An expression shaped like a condition (`word.word OP …` or a single dotted word) whose root is
 *   not a context root is an *error*, not prose: `result.ok == true` is almost surely a typo of
 *   `output.ok`, and silently treating it as `true` would route the graph wrongly.
 * - Anything else outside the grammar (prose such as "if the draft looks good") is accepted, counts
 *   as true, and validation warns about it.
 * - "Truthy" is JavaScript truthiness: `0`, `""`, `false`, `null` and missing are false.
 */
import { getPath, jsonEqual, pathProblem, splitPath } from './paths';

/** `iteration` is the node's loop iteration (1 outside loops and in the first run of a body). */
export const CONTEXT_ROOTS = ['output', 'input', 'artifact', 'run', 'iteration'] as const;
export const OPERATORS = ['==', '!=', '>=', '<=', '>', '<'] as const;
export type Operator = (typeof OPERATORS)[number];

export type Condition =
  | { kind: 'always' }
  | { kind: 'truthy'; path: string }
  | { kind: 'compare'; path: string; op: Operator; literal: unknown }
  /** Not executable: counts as true, validation warns. */
  | { kind: 'prose'; text: string };

export type ParseResult = { ok: true; condition: Condition } | { ok: false; error: string };

const PATH_TEXT = '[A-Za-z_][A-Za-z0-9_-]*(?:\\.[A-Za-z0-9_-]+)*';
const COMPARE = new RegExp(`^(${PATH_TEXT})\\s*(==|!=|>=|<=|>|<)\\s*(.*)$`, 's');
const LONE_PATH = new RegExp(`^${PATH_TEXT}$`);

/** Checks that a path starts at a context root; returns an error message or undefined. */
export function checkContextPath(path: string): string | undefined {
  const segments = splitPath(path);
  if (!segments) return pathProblem(path) ?? `"${path}" is not a dotted path`;
  const root = segments[0];
  if (!(CONTEXT_ROOTS as readonly string[]).includes(root)) {
    return `path "${path}" must start with one of ${CONTEXT_ROOTS.map((r) => `${r}.`).join(', ')}`;
  }
  if (root === 'run' && segments.length > 1 && segments[1] !== 'input') {
    return `path "${path}": under "run" only "run.input" exists`;
  }
  if (root === 'iteration' && segments.length > 1) {
    return `path "${path}": "iteration" is a number and has no fields`;
  }
  if (root === 'artifact' && segments.length < 2) {
    return `path "${path}" must name an artifact: artifact.NAME…`;
  }
  return undefined;
}

export function parseCondition(text: string | undefined): ParseResult {
  if (text === undefined) return { ok: true, condition: { kind: 'always' } };
  const expression = text.trim();
  if (expression === '') return { ok: false, error: 'condition is empty (omit "when" for always)' };
  if (expression === 'always') return { ok: true, condition: { kind: 'always' } };

  const compare = COMPARE.exec(expression);
  if (compare) {
    const [, path, op, literalText] = compare;
    const pathError = checkContextPath(path);
    if (pathError) return { ok: false, error: pathError };
    if (literalText.trim() === '') return { ok: false, error: `nothing to compare with after "${op}"` };
    return { ok: true, condition: { kind: 'compare', path, op: op as Operator, literal: parseLiteral(literalText) } };
  }
  if (LONE_PATH.test(expression)) {
    const pathError = checkContextPath(expression);
    if (pathError) return { ok: false, error: pathError };
    return { ok: true, condition: { kind: 'truthy', path: expression } };
  }
  return { ok: true, condition: { kind: 'prose', text: expression } };
}

/** number, true, false, null, a quoted string ('…', "…", `…`), JSON; anything else is a bare string. */
export function parseLiteral(text: string): unknown {
  const literal = text.trim();
  if (literal === 'true') return true;
  if (literal === 'false') return false;
  if (literal === 'null') return null;
  if (/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(literal)) return Number(literal);
  const quote = literal[0];
  if (literal.length >= 2 && (quote === "'" || quote === '`' || quote === '"') && literal.endsWith(quote)) {
    if (quote === '"') {
      try {
        return JSON.parse(literal) as unknown;
      } catch {
        // fall through to the raw contents
      }
    }
    return literal.slice(1, -1);
  }
  if (literal.startsWith('{') || literal.startsWith('[')) {
    try {
      return JSON.parse(literal) as unknown;
    } catch {
      return literal;
    }
  }
  return literal;
}

export function evaluateCondition(condition: Condition, context: unknown): boolean {
  switch (condition.kind) {
    case 'always':
    case 'prose':
      return true;
    case 'truthy':
      return Boolean(getPath(context, condition.path));
    case 'compare':
      return compare(getPath(context, condition.path), condition.op, condition.literal);
  }
}

/** Parses and evaluates; an unparseable expression (rejected by static validation) is false. */
export function evaluateWhen(text: string | undefined, context: unknown): boolean {
  const parsed = parseCondition(text);
  return parsed.ok ? evaluateCondition(parsed.condition, context) : false;
}

function compare(left: unknown, op: Operator, right: unknown): boolean {
  switch (op) {
    case '==':
      return jsonEqual(left, right);
    case '!=':
      return !jsonEqual(left, right);
    default:
      if (typeof left !== 'number' || typeof right !== 'number') return false;
      if (op === '>=') return left >= right;
      if (op === '<=') return left <= right;
      if (op === '>') return left > right;
      return left < right;
  }
}
