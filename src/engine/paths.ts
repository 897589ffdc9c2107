/**
 * Dotted paths into JSON values (docs/semantics.md §3, §4). `output.items.0.name` walks objects by key and arrays
 * by index. Reading never throws: a missing step yields `undefined`.
 */

import { isReservedSegment } from './limits';
import { setOwn } from './own';

/**
 * A segment: letters, digits, `_` and `-` (so `artifact.final-draft.pointer` works), and not one of
 * `__proto__`, `prototype`, `constructor` (they name JavaScript prototypes; see `pathProblem`).
 */
const SEGMENT = /^[A-Za-z0-9_-]+$/;

export function splitPath(path: string): string[] | undefined {
  const segments = path.trim().split('.');
  return segments.every((segment) => SEGMENT.test(segment) && !isReservedSegment(segment)) ? segments : undefined;
}

export function isValidPath(path: string): boolean {
  return splitPath(path) !== undefined;
}

/**
 * Why `path` is not a usable dotted path, for validation messages (`"x y" is not a dotted path…`),
 * or undefined when it is fine. `example` is the path shown as an example of a good one.
 */
export function pathProblem(path: string, example = 'summary or items.0.name'): string | undefined {
  const reserved = path.trim().split('.').find(isReservedSegment);
  if (reserved !== undefined) {
    return `"${path}" uses the segment "${reserved}", which is reserved (it names a JavaScript prototype); rename the field`;
  }
  return isValidPath(path) ? undefined : `"${path}" is not a dotted path such as ${example} (letters, digits, "_" and "-" between dots)`;
}

export function getPath(value: unknown, path: string | string[]): unknown {
  // A path that is not valid (a reserved segment included) finds nothing, never the value itself.
  const segments = typeof path === 'string' ? splitPath(path) : path;
  if (!segments) return undefined;
  let current: unknown = value;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * Writes `value` at `path` inside `target`, creating objects on the way (docs/semantics.md §4). `undefined` is
 * not written. A non-object in the way is replaced by an object: the later mapping wins. A path
 * `splitPath` refuses (a reserved segment such as `__proto__`) writes nothing, and it follows and
 * defines own properties only (`setOwn`, never an assignment that could hit the `__proto__`
 * accessor), so no path can reach `Object.prototype`.
 */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  if (value === undefined) return;
  const segments = splitPath(path);
  if (!segments) return;
  let current: Record<string, unknown> = target;
  for (const segment of segments.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(current, segment) ? current[segment] : undefined;
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      setOwn(current, segment, {});
    }
    current = current[segment] as Record<string, unknown>;
  }
  setOwn(current, segments[segments.length - 1], clone(value));
}

/** Deep copy of a JSON value, so state never aliases a message payload. */
export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Structural equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((item, i) => jsonEqual(item, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bKeys = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return keys.length === bKeys.length && keys.every((k) => jsonEqual(ao[k], bo[k]));
}
