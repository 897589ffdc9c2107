/**
 * Limits on what plans and messages may carry, and the one bounded walk that checks a JSON value
 * against them. Plans come from LLM planners and results from agents: both are untrusted, and one
 * worker serves many runs, so nothing one of them sends may make a workflow task fail, a validator
 * run for long, or the store refuse a write (docs/security.md has the table and the reasons).
 *
 * PURE: runs in the workflow sandbox (update validators, the loop), in the client and the CLI
 * (checks before sending) and in spec validation.
 */

/** The limits, all configurable at the worker (env `PLAN_LIMIT_*`, see `limitsFromEnv`). */
export interface PayloadLimits {
  /** One agent result or human response (or a retry's input), as UTF-8 JSON. Default 256 KiB. */
  maxPayloadBytes: number;
  /** Nesting depth of any payload, run input or plan (objects and arrays). Default 64. */
  maxDepth: number;
  /** Artifacts in one result. Default 100. */
  maxArtifacts: number;
  /** A run's input, as UTF-8 JSON. Default 256 KiB. */
  maxInputBytes: number;
}

/** Limits on a plan spec (checked by validation, before anything recursive looks at the plan). */
export interface SpecLimits {
  /** The whole plan as UTF-8 JSON. Default 1 MiB. */
  maxSpecBytes: number;
  /** Nodes in one plan. Default 1,000. */
  maxNodes: number;
  /** Edges in one plan. Default 5,000. */
  maxEdges: number;
  /** Nesting depth of the plan document, registry schemas included. Default 64. */
  maxSpecDepth: number;
}

export const DEFAULT_PAYLOAD_LIMITS: Readonly<PayloadLimits> = Object.freeze({
  maxPayloadBytes: 256 * 1024,
  maxDepth: 64,
  maxArtifacts: 100,
  maxInputBytes: 256 * 1024,
});

export const DEFAULT_SPEC_LIMITS: Readonly<SpecLimits> = Object.freeze({
  maxSpecBytes: 1024 * 1024,
  maxNodes: 1000,
  maxEdges: 5000,
  maxSpecDepth: 64,
});

/**
 * Ceilings no configuration can raise: Temporal refuses payloads above 2 MiB, and a workflow task
 * that carries one fails instead of refusing the message.
 */
export const HARD_MAX_PAYLOAD_BYTES = 1536 * 1024;
export const HARD_MAX_DEPTH = 256;

/** Names, ids and `by` fields in messages: at most this many characters. */
export const MAX_NAME_LENGTH = 200;

/** Path segments and keys that reach a JavaScript prototype: never allowed in a plan's paths. */
export const RESERVED_SEGMENTS: readonly string[] = ['__proto__', 'prototype', 'constructor'];

export function isReservedSegment(segment: string): boolean {
  return RESERVED_SEGMENTS.includes(segment);
}

/**
 * The refinement of ids and names that may not be reserved. One function, not a closure per schema:
 * `scripts/generate-shape-checks.ts` recognises it by identity and writes it into the workflow's
 * shape checks as `not: { enum: RESERVED_SEGMENTS }`.
 */
export function isNotReservedSegment(segment: string): boolean {
  return !isReservedSegment(segment);
}

/** Defaults with the given overrides applied, each clamped to its hard ceiling. */
export function resolvePayloadLimits(overrides: Partial<PayloadLimits> = {}): PayloadLimits {
  const pick = (key: keyof PayloadLimits, max: number) => {
    const value = overrides[key];
    return typeof value === 'number' && Number.isInteger(value) && value > 0 ? Math.min(value, max) : DEFAULT_PAYLOAD_LIMITS[key];
  };
  return {
    maxPayloadBytes: pick('maxPayloadBytes', HARD_MAX_PAYLOAD_BYTES),
    maxDepth: pick('maxDepth', HARD_MAX_DEPTH),
    maxArtifacts: pick('maxArtifacts', 10_000),
    maxInputBytes: pick('maxInputBytes', HARD_MAX_PAYLOAD_BYTES),
  };
}

/** What is wrong with a JSON value: a refusal reason, where (dotted, `''` for the whole value) and why. */
export interface JsonProblem {
  reason: 'payload-too-large' | 'invalid-payload';
  path: string;
  /** The path as keys and array indexes (cut like `path`), e.g. for a JSONPath `$.nodes[3].toolPolicy`. */
  segments: Array<string | number>;
  /** `path: description`, or just the description for the value as a whole. */
  message: string;
  /** What is wrong, without the path (for callers that show the path apart). */
  description: string;
}

export interface InspectOptions {
  maxBytes: number;
  maxDepth: number;
  /** Says what the value is in messages: "the result", "the plan". */
  what: string;
  /** How to shrink it, appended to a too-large message. */
  tooLargeHint?: string;
  /** Check only size and depth, not text, keys or numbers (a first pass that must not stop early). */
  structureOnly?: boolean;
}

/**
 * Walks a JSON value once, iteratively (no recursion, so no depth can overflow the stack) and stops
 * at the first problem: nested deeper than `maxDepth`, larger than `maxBytes` as UTF-8 JSON (the
 * count stops as soon as it is exceeded), text the store cannot hold (a NUL character or a lone
 * UTF-16 surrogate, in a value or a key), a `__proto__` key, or something that is not JSON
 * (undefined inside an array, a function, a non-finite number).
 *
 * NUL and lone surrogates are refused rather than escaped (docs/security.md): PostgreSQL cannot
 * store either in text or jsonb, and a value the store would change is worse than a clear refusal.
 */
export function inspectJson(value: unknown, options: InspectOptions): JsonProblem | undefined {
  const { maxBytes, maxDepth, what } = options;
  const checkText = !options.structureOnly;
  let bytes = 0;
  const stack: Array<{ value: unknown; path: PathNode | undefined; depth: number }> = [{ value, path: undefined, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, path, depth } = stack.pop()!;
    if (current === null || typeof current === 'boolean') {
      bytes += 5;
    } else if (typeof current === 'number') {
      if (checkText && !Number.isFinite(current)) return invalid(path, `${what} holds ${String(current)}, which is not a JSON number`);
      bytes += String(current).length;
    } else if (typeof current === 'string') {
      const text = checkText ? textProblem(current) : undefined;
      if (text) return invalid(path, `${what} holds text with ${text}`);
      bytes += utf8Length(current) + 2;
    } else if (typeof current === 'object') {
      if (depth >= maxDepth) {
        return invalid(path, `${what} is nested more than ${maxDepth} levels deep; flatten it or send the deep part as an artifact`);
      }
      if (Array.isArray(current)) {
        bytes += 2 + current.length;
        for (let i = current.length - 1; i >= 0; i--) {
          if (checkText && current[i] === undefined) return invalid({ parent: path, key: i }, `${what} holds undefined in a list, which is not JSON`);
          stack.push({ value: current[i], path: { parent: path, key: i }, depth: depth + 1 });
        }
      } else {
        const keys = Object.keys(current);
        bytes += 2;
        for (let i = keys.length - 1; i >= 0; i--) {
          const key = keys[i];
          const child = (current as Record<string, unknown>)[key];
          if (child === undefined) continue; // JSON.stringify leaves it out
          const at: PathNode = { parent: path, key };
          if (checkText && key === '__proto__') return invalid(at, `${what} uses the key "__proto__", which is reserved; rename it`);
          const text = checkText ? textProblem(key) : undefined;
          if (text) return invalid(at, `${what} has a key with ${text}`);
          bytes += utf8Length(key) + 4;
          stack.push({ value: child, path: at, depth: depth + 1 });
        }
      }
    } else if (checkText && (current !== undefined || path !== undefined)) {
      return invalid(path, `${what} holds ${current === undefined ? 'undefined' : `a ${typeof current}`}, which is not JSON`);
    }
    if (bytes > maxBytes) {
      const message = `${what} is larger than the limit of ${formatBytes(maxBytes)}${options.tooLargeHint ? `; ${options.tooLargeHint}` : ''}`;
      return { reason: 'payload-too-large', path: '', segments: [], message, description: message };
    }
  }
  return undefined;
}

/** ` (limit N)` sizes for messages: `256 KiB`, `1 MiB`, `300 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** A NUL or a lone surrogate, described with its position, or undefined for text every store can hold. */
export function textProblem(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) return `a NUL character (\\u0000) at position ${i}, which the store cannot hold; send binary data base64-encoded`;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return `a lone UTF-16 surrogate (\\u${code.toString(16)}) at position ${i}, which is not valid Unicode`;
    }
    if (code >= 0xdc00 && code <= 0xdfff) return `a lone UTF-16 surrogate (\\u${code.toString(16)}) at position ${i}, which is not valid Unicode`;
  }
  return undefined;
}

function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) bytes += code >= 0x800 && (code < 0xd800 || code > 0xdfff) ? 2 : 1;
  }
  return bytes;
}

/** A path kept as a linked list while walking (no array copied per level); joined only on a problem. */
interface PathNode {
  parent: PathNode | undefined;
  key: string | number;
}

/** Paths in messages are cut after this many segments: a 5,000-deep value must not make a 5,000-segment message. */
const MAX_PATH_SEGMENTS_SHOWN = 12;

function segmentsOf(path: PathNode | undefined): Array<string | number> {
  const keys: Array<string | number> = [];
  for (let node = path; node; node = node.parent) keys.push(node.key);
  return keys.reverse();
}

/**
 * A key as a message may show it: the key itself, or (when it holds text a store cannot take, or is
 * long) its JSON escape, cut short. The message of a refused signal is recorded, so it must never
 * carry the very character it refuses.
 */
function shownKey(key: string | number): string | number {
  if (typeof key === 'number') return key;
  const shown = textProblem(key) === undefined ? key : JSON.stringify(key).slice(1, -1);
  return shown.length > 60 ? `${shown.slice(0, 57)}…` : shown;
}

/** Replaces what no store can hold (NUL, lone surrogates) with U+FFFD, for text that must be recorded. */
export function storableText(text: string): string {
  return textProblem(text) === undefined ? text : text.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

function invalid(path: PathNode | undefined, message: string): JsonProblem {
  const all = segmentsOf(path).map(shownKey);
  const segments = all.slice(0, MAX_PATH_SEGMENTS_SHOWN);
  const at = `${segments.join('.')}${all.length > segments.length ? '.…' : ''}`;
  return { reason: 'invalid-payload', path: at, segments, message: at ? `${at}: ${message}` : message, description: message };
}

/**
 * A caller's name or id, fit to be recorded as it is (a refused message's `by`, node id or
 * submission id goes into a `result-rejected` event): a string of at most `MAX_NAME_LENGTH`
 * characters that every store can hold; anything else is undefined.
 */
export function recordableName(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_NAME_LENGTH && textProblem(value) === undefined ? value : undefined;
}

/** The environment variables that set payload limits, for the worker and the clients alike. */
export const LIMIT_ENV_VARS: Readonly<Record<keyof PayloadLimits, string>> = Object.freeze({
  maxPayloadBytes: 'PLAN_LIMIT_PAYLOAD_BYTES',
  maxDepth: 'PLAN_LIMIT_DEPTH',
  maxArtifacts: 'PLAN_LIMIT_ARTIFACTS',
  maxInputBytes: 'PLAN_LIMIT_INPUT_BYTES',
});

/**
 * Payload limits from environment variables (`PLAN_LIMIT_PAYLOAD_BYTES`, …); the environment is an
 * argument so this stays pure. A value that is not a positive whole number is an error naming the
 * variable, not a silent default.
 */
export function payloadLimitsFromEnv(env: Record<string, string | undefined>): PayloadLimits {
  const overrides: Partial<PayloadLimits> = {};
  for (const [key, name] of Object.entries(LIMIT_ENV_VARS) as Array<[keyof PayloadLimits, string]>) {
    const text = env[name]?.trim();
    if (!text) continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}=${text} is not a positive whole number.`);
    overrides[key] = value;
  }
  return resolvePayloadLimits(overrides);
}
