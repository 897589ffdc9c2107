/**
 * Regular expressions from plans (`matches` completion checks), compiled by re2js: RE2 semantics,
 * matching in time linear in the input, so no pattern a planner writes (`^(a+)+$`) can make a
 * validator run for minutes. RE2 has no backreferences or lookaround; a pattern that needs them
 * does not compile, and validation reports it at its path. PURE: re2js is plain JavaScript, so the
 * same check runs in the workflow sandbox, the validation activity and the client.
 */
import { RE2JS } from 're2js';

/** Longest pattern a plan may hold: compiling is linear too, but there is no reason for more. */
export const MAX_PATTERN_LENGTH = 1000;

export type CompiledPattern = { ok: true; pattern: RE2JS } | { ok: false; error: string };

/** Compiled patterns by source text: a node's check is compiled once per process, not per result. */
const cache = new Map<string, CompiledPattern>();
const CACHE_SIZE = 500;

export function compilePattern(source: string): CompiledPattern {
  const cached = cache.get(source);
  if (cached) return cached;
  let compiled: CompiledPattern;
  if (source.length > MAX_PATTERN_LENGTH) {
    compiled = { ok: false, error: `it is ${source.length} characters long; the limit is ${MAX_PATTERN_LENGTH}` };
  } else {
    try {
      compiled = { ok: true, pattern: RE2JS.compile(source) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      compiled = { ok: false, error: `${message.replace(/^error parsing regexp: /, '')} (patterns use RE2 syntax: no backreferences or lookaround)` };
    }
  }
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(source, compiled);
  return compiled;
}

/** Why `source` cannot be used as a pattern, or undefined when it compiles. */
export function patternProblem(source: string): string | undefined {
  const compiled = compilePattern(source);
  return compiled.ok ? undefined : compiled.error;
}

/** True when `text` contains a match of the compiled pattern (like `RegExp.prototype.test`). */
export function testPattern(pattern: RE2JS, text: string): boolean {
  return pattern.test(text);
}
