/**
 * Ajv (JSON Schema 2020-12) for the validation activity and the client. Not for the workflow
 * sandbox: Ajv generates code with `new Function`, so it only runs in activities and in the client.
 *
 * Registry schemas refer to each other by name (`{ "$ref": "Notes" }`): every entry of a registry is
 * added to one Ajv instance under its name. Compiled validators are cached per registry (keyed by
 * the registry's JSON text), so repeated validations of the same node never recompile.
 */
import Ajv2020 from 'ajv/dist/2020';
import type { AnySchema, ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { compilePattern } from '../../engine/patterns';

/**
 * Ajv's regular-expression engine for `pattern` and `patternProperties`: RE2 (re2js), which matches
 * in linear time, instead of JavaScript's backtracking `RegExp`, on which a schema's `^(a+)+$`
 * against a crafted string blocks the worker for minutes. A pattern RE2 cannot compile (lookaround,
 * backreferences) makes the schema fail to compile, so validation reports it at the schema.
 */
const re2Engine = Object.assign(
  (pattern: string) => {
    const compiled = compilePattern(pattern);
    if (!compiled.ok) throw new Error(`the pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${compiled.error}`);
    const regex = compiled.pattern;
    return { test: (text: string) => regex.test(text), toString: () => `re2:${pattern}` };
  },
  // Only used when Ajv generates standalone code, which plan-runner never does.
  { code: 're2js' },
);

/** Options shared by every instance: report all errors; tolerate unknown keywords and formats. */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, logger: false, code: { regExp: re2Engine } });
  addFormats(ajv);
  return ajv;
}

/** A small least-recently-used cache. */
class Lru<V> {
  private readonly entries = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }
  set(key: string, value: V): V {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }
  clear(): void {
    this.entries.clear();
  }
}

export type Compiled = { ok: true; validate: ValidateFunction } | { ok: false; error: string };

interface RegistryEntry {
  ajv: Ajv2020;
  /** Entries that could not even be added (e.g. two schemas with the same `$id`). */
  addErrors: Map<string, string>;
  compiled: Map<string, Compiled>;
}

const registries = new Lru<RegistryEntry>(64);
const standalone = new Lru<string | null>(256);

/** Drops every cached validator (tests; a long-lived process never needs it). */
export function clearSchemaCache(): void {
  registries.clear();
  standalone.clear();
}

function registryFor(schemas: Record<string, unknown>): RegistryEntry {
  const key = JSON.stringify(schemas);
  const cached = registries.get(key);
  if (cached) return cached;
  const ajv = createAjv();
  const addErrors = new Map<string, string>();
  for (const [name, schema] of Object.entries(schemas)) {
    try {
      // Not checked against the meta-schema here: `compileRef` does that per entry, so one broken
      // entry does not hide the others.
      ajv.addSchema(schema as AnySchema, name, undefined, false);
    } catch (e) {
      addErrors.set(name, errorText(e));
    }
  }
  return registries.set(key, { ajv, addErrors, compiled: new Map() });
}

/**
 * The validator for registry entry `ref`, compiled with every entry of `schemas` available by name.
 * `{ ok: false }` when `ref` is not in the registry or does not compile (a readable message).
 */
export function compileRef(schemas: Record<string, unknown>, ref: string): Compiled {
  const entry = registryFor(schemas);
  const done = entry.compiled.get(ref);
  if (done) return done;
  const result = compileIn(entry, schemas, ref);
  entry.compiled.set(ref, result);
  return result;
}

function compileIn(entry: RegistryEntry, schemas: Record<string, unknown>, ref: string): Compiled {
  if (!Object.prototype.hasOwnProperty.call(schemas, ref)) {
    return { ok: false, error: `there is no schema "${ref}"` };
  }
  const addError = entry.addErrors.get(ref);
  if (addError) return { ok: false, error: addError };
  const metaError = metaSchemaProblem(entry.ajv, schemas[ref]);
  if (metaError) return { ok: false, error: metaError };
  try {
    const validate = entry.ajv.getSchema(ref);
    if (!validate) return { ok: false, error: `schema "${ref}" could not be compiled` };
    return { ok: true, validate };
  } catch (e) {
    return { ok: false, error: errorText(e) };
  }
}

/**
 * Whether a schema compiles: a readable error, or undefined when it is fine. With `name` and
 * `registry`, `$ref`s to other registry entries by name resolve (this is the `checkSchema` that
 * `validatePlanSpec` expects); without, the schema is compiled on its own.
 */
export function checkSchema(schema: unknown, name?: string, registry?: Record<string, unknown>): string | undefined {
  if (name !== undefined && registry !== undefined && registry[name] === schema) {
    const result = compileRef(registry, name);
    return result.ok ? undefined : result.error;
  }
  if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
    return 'a schema must be an object or true/false';
  }
  const key = JSON.stringify(schema);
  const cached = standalone.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const ajv = createAjv();
  let problem = metaSchemaProblem(ajv, schema);
  if (!problem) {
    try {
      ajv.compile(schema as AnySchema);
    } catch (e) {
      problem = errorText(e);
    }
  }
  standalone.set(key, problem ?? null);
  return problem;
}

/** Meta-schema (2020-12) errors as one readable line, or undefined. */
function metaSchemaProblem(ajv: Ajv2020, schema: unknown): string | undefined {
  if (typeof schema === 'boolean') return undefined;
  const declared = (schema as Record<string, unknown>).$schema;
  if (typeof declared === 'string' && !knownMetaSchema(ajv, declared)) {
    return `"$schema": ${declared} is not supported: plan schemas are JSON Schema 2020-12 (remove "$schema" or set it to https://json-schema.org/draft/2020-12/schema)`;
  }
  let valid: boolean;
  try {
    valid = ajv.validateSchema(schema as AnySchema) as boolean;
  } catch (e) {
    return errorText(e);
  }
  if (valid) return undefined;
  // The meta-schema reports one failure several times (through anyOf branches): keep the first per place.
  const byPlace = new Map<string, string>();
  for (const error of ajv.errors ?? []) {
    const place = error.instancePath === '' ? '(top level)' : `"${pointerToDotted(error.instancePath)}"`;
    if (!byPlace.has(place)) byPlace.set(place, describeAjvError(error));
  }
  return [...byPlace].map(([place, message]) => `${place} ${message}`).join('; ');
}

function knownMetaSchema(ajv: Ajv2020, uri: string): boolean {
  try {
    return ajv.getSchema(uri) !== undefined;
  } catch {
    return false;
  }
}

/** `/items/0/name` → `items.0.name`; `''` → `''`. */
export function pointerToDotted(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/** Ajv's message, with the detail it keeps in `params` where that helps a reader. */
export function describeAjvError(error: ErrorObject): string {
  const message = error.message ?? `fails "${error.keyword}"`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${message} ('${String(params.additionalProperty)}')`;
    case 'unevaluatedProperties':
      return `${message} ('${String(params.unevaluatedProperty)}')`;
    case 'enum':
      return `${message}: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${message}: ${JSON.stringify(params.allowedValue)}`;
    default:
      return message;
  }
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/^schema is invalid: /, '');
}
