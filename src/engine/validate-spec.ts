/**
 * Static validation of a plan spec (docs/semantics.md §2): the shape (zod, `spec.ts`) plus the rules that look
 * across the document. Every problem is reported, each with a JSONPath-style location
 * (`$.nodes[2].owner.kind`, `$.edges[0].when`, `$.schemas.Notes`, `$` for the root) and a plain
 * sentence that names the node or edge concerned.
 *
 * PURE: no I/O and no Ajv, because the engine also runs inside the Temporal workflow sandbox. Whether
 * each registry schema compiles is checked through `options.checkSchema`, which the activity and
 * the client inject (`src/activities/validation/spec.ts`); without it that one check is skipped.
 *
 * The cross-document rules run on the *raw* document, defensively, even when the shape is wrong, so
 * a spec with a cycle, a dangling edge and an unknown schema reports all three at once.
 */
import { didYouMean } from './suggest';
import type { z } from 'zod';
import { checkContextPath, parseCondition } from './conditions';
import { DEFAULT_SPEC_LIMITS, inspectJson, isReservedSegment, type SpecLimits } from './limits';
import { pathProblem } from './paths';
import { patternProblem } from './patterns';
import { registryRefs } from './schemas';
import { isPlanSpecShape, specSchemas } from './message-shapes';
import type { NodeType, PlanSpec } from './spec';
import { ID_PATTERN, MAX_ID_LENGTH, NODE_TYPES as NODE_TYPE_NAMES, isHumanNodeType, isStructuralNodeType } from './spec-constants';

export interface SpecProblem {
  /** JSONPath-style location: `$`, `$.nodes[2].owner.kind`, `$.schemas.Notes`, `$.edges[0].map["a b"]`. */
  path: string;
  message: string;
}

export interface SpecValidationResult {
  /** True when there is no error (warnings allowed). */
  valid: boolean;
  /** The parsed spec; present exactly when `valid`. */
  spec?: PlanSpec;
  errors: SpecProblem[];
  warnings: SpecProblem[];
}

/**
 * Checks that one registry schema compiles; returns a readable error or undefined. `name` and
 * `registry` let the checker resolve `$ref`s between registry schemas by name. A plain
 * `(schema) => string | undefined` fits too.
 */
export type SchemaChecker = (schema: unknown, name: string, registry: Record<string, unknown>) => string | undefined;

export interface ValidatePlanSpecOptions {
  checkSchema?: SchemaChecker;
  /** Size limits for the plan; the defaults unless given (docs/security.md). */
  limits?: Partial<SpecLimits>;
}

type Segment = string | number;

interface Found {
  segments: Segment[];
  message: string;
}

export function validatePlanSpec(raw: unknown, options: ValidatePlanSpecOptions = {}): SpecValidationResult {
  // Size and depth first, in one bounded walk: a plan too large or too deep is refused before zod,
  // the cross checks or a schema compiler recurse into it (which could overflow the stack).
  const tooLarge = sizeProblem(raw, { ...DEFAULT_SPEC_LIMITS, ...options.limits });
  if (tooLarge) return { valid: false, errors: [tooLarge], warnings: [] };
  try {
    // Text no store can hold (a NUL, a lone surrogate), a "__proto__" key or a non-JSON number is
    // one more problem; the rest of the plan is still checked, so every problem is listed at once.
    const text = inspectJson(raw, { maxBytes: Infinity, maxDepth: Infinity, what: 'the plan' });
    const result = validateShapeAndRules(raw, options);
    if (!text) return result;
    const problem = { path: formatPath(text.segments), message: sentence(capitalize(text.description)) };
    return { valid: false, errors: [problem, ...result.errors], warnings: result.warnings };
  } catch (error) {
    // Validation never throws: an unexpected failure is one more problem, with a path.
    const message = error instanceof Error ? error.message : String(error);
    return {
      valid: false,
      errors: [{ path: '$', message: `The plan could not be validated (${message}). This is a bug in plan-runner: please report it with the plan.` }],
      warnings: [],
    };
  }
}

function sizeProblem(raw: unknown, limits: SpecLimits): SpecProblem | undefined {
  const problem = inspectJson(raw, {
    maxBytes: limits.maxSpecBytes,
    maxDepth: limits.maxSpecDepth,
    what: 'the plan',
    structureOnly: true,
    tooLargeHint: 'split it into smaller plans or move large texts out of it',
  });
  if (problem) return { path: formatPath(problem.segments), message: sentence(capitalize(problem.description)) };
  if (!isRecord(raw)) return undefined;
  if (Array.isArray(raw.nodes) && raw.nodes.length > limits.maxNodes) {
    return { path: '$.nodes', message: `The plan has ${raw.nodes.length} nodes, more than the limit of ${limits.maxNodes}; split it into smaller plans.` };
  }
  if (Array.isArray(raw.edges) && raw.edges.length > limits.maxEdges) {
    return { path: '$.edges', message: `The plan has ${raw.edges.length} edges, more than the limit of ${limits.maxEdges}; split it into smaller plans.` };
  }
  return undefined;
}

function validateShapeAndRules(raw: unknown, options: ValidatePlanSpecOptions): SpecValidationResult {
  const errors: Found[] = [];
  const warnings: Found[] = [];

  // The compiled check passes only a plan zod accepts unchanged, sub-plans included; anything else
  // gets zod's verdict and wording (message-shapes.ts says why zod is not loaded first).
  const shapeChecked = isPlanSpecShape(raw);
  const parsed = shapeChecked ? ({ success: true, data: raw as PlanSpec } as const) : specSchemas().PlanSpec.safeParse(raw, { error: zodMessage });
  // A sub-plan's own problems are found below, where they are named after the sub-plan.
  if (!parsed.success) errors.push(...zodProblems(parsed.error, raw).filter((found) => !(found.segments[0] === 'plans' && found.segments.length > 2)));

  const registry = isRecord(raw) && isRecord(raw.plans) ? raw.plans : {};
  if (isRecord(raw)) crossCheck(raw, options, errors, warnings, registry);
  if (isRecord(raw)) checkSubPlans(raw, registry, options, errors, warnings, shapeChecked);

  const errorList = finish(errors);
  const warningList = finish(warnings);
  const valid = errorList.length === 0;
  return {
    valid,
    spec: valid && parsed.success ? parsed.data : undefined,
    errors: errorList,
    warnings: warningList,
  };
}

/**
 * Sub-plans (docs/semantics.md, "Sub-plans"): every entry of `plans` is checked as a plan of its own
 * (its problems are reported under `$.plans.<name>…`, named after the sub-plan), its `plan` nodes name
 * entries of the same registry, and no plan includes itself, directly or through others.
 */
function checkSubPlans(
  root: Record<string, unknown>,
  registry: Record<string, unknown>,
  options: ValidatePlanSpecOptions,
  errors: Found[],
  warnings: Found[],
  shapeChecked: boolean,
): void {
  const names = Object.keys(registry);
  for (const name of names) {
    const at: Segment[] = ['plans', name];
    if (name.length === 0 || name.length > MAX_ID_LENGTH || !ID_PATTERN.test(name) || isReservedSegment(name)) {
      errors.push({ segments: at, message: sentence(`sub-plan name "${name}" is not a valid name: use at most ${MAX_ID_LENGTH} letters, digits, "-", "_" and "." (and not __proto__, prototype or constructor)`) });
      continue;
    }
    const sub = registry[name];
    const prefix = (found: Found): Found => ({ segments: [...at, ...found.segments], message: `sub-plan "${name}": ${found.message}` });
    const parsed = shapeChecked ? ({ success: true } as const) : specSchemas().SubPlanSpec.safeParse(sub, { error: zodMessage });
    const subErrors: Found[] = [];
    const subWarnings: Found[] = [];
    if (!parsed.success) {
      for (const found of zodProblems(parsed.error, sub)) {
        if (found.segments[0] === 'plans' && found.segments.length === 1) {
          subErrors.push({ segments: found.segments, message: sentence('sub-plans share the registry of the plan at the top: move its "plans" entries up to the top-level "plans" and refer to them by name from here') });
        } else subErrors.push(found);
      }
    }
    if (isRecord(sub)) crossCheck(sub, options, subErrors, subWarnings, registry);
    errors.push(...inDocumentOrder(subErrors).map(prefix));
    warnings.push(...inDocumentOrder(subWarnings).map(prefix));
  }

  // A plan that includes itself would start child runs without end: report each cycle once, as a path.
  const includes = new Map<string, Array<{ to: string; index: number }>>();
  for (const name of names) {
    const sub = registry[name];
    const nodes = isRecord(sub) ? asArray(sub.nodes) : [];
    includes.set(
      name,
      nodes.flatMap((node, index) =>
        isRecord(node) && node.type === 'plan' && typeof node.plan === 'string' && Object.prototype.hasOwnProperty.call(registry, node.plan) ? [{ to: node.plan, index }] : [],
      ),
    );
  }
  const reported = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    if (done.has(name)) return;
    for (const { to, index } of includes.get(name) ?? []) {
      const seen = path.indexOf(to);
      if (seen >= 0) {
        // The cycle as seen from the sub-plan whose node closes it: plans.b → plans.a → plans.b.
        const ring = path.slice(seen);
        const from = ring.indexOf(name);
        const cycle = [...ring.slice(from), ...ring.slice(0, from), name];
        const key = [...cycle.slice(0, -1)].sort().join('\u0000');
        if (reported.has(key)) continue;
        reported.add(key);
        errors.push({
          segments: ['plans', name, 'nodes', index, 'plan'],
          message: sentence(
            `sub-plan "${name}" includes ${to === name ? 'itself' : `"${to}", which includes it again`}: ${cycle.map((entry) => `plans.${entry}`).join(' → ')}. A plan may not include itself, directly or through other plans`,
          ),
        });
        continue;
      }
      visit(to, [...path, to]);
    }
    done.add(name);
  };
  for (const name of names) visit(name, [name]);
  void root;
}

/** One line per problem, e.g. for a CLI or an exception message. */
export function formatSpecProblems(result: Pick<SpecValidationResult, 'errors' | 'warnings'>): string {
  return [
    ...result.errors.map((p) => `error   ${p.path}: ${p.message}`),
    ...result.warnings.map((p) => `warning ${p.path}: ${p.message}`),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Paths

/** `['nodes', 2, 'owner']` → `$.nodes[2].owner`; keys that are not identifiers use `["…"]`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let text = '$';
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) text += `.${segment}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
}

/** A field inside a node/edge, for messages: `owner.kind`, `completionChecks[0].path`. */
function fieldText(segments: readonly Segment[]): string {
  return formatPath(segments).slice(1).replace(/^\./, '');
}

const SECTION_RANK: Record<string, number> = { schemas: 1, nodes: 2, edges: 3, plans: 4 };

function finish(found: Found[]): SpecProblem[] {
  const seen = new Set<string>();
  const unique = found.filter((f) => {
    const key = `${formatPath(f.segments)}\u0000${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return inDocumentOrder(unique).map((f) => ({ path: formatPath(f.segments), message: f.message }));
}

/** Document order: root fields, schemas, nodes by position, edges by position, sub-plans (stable otherwise). */
function inDocumentOrder(found: Found[]): Found[] {
  const rank = (f: Found): [number, number] => {
    const section = typeof f.segments[0] === 'string' ? (SECTION_RANK[f.segments[0]] ?? 0) : 0;
    const index = typeof f.segments[1] === 'number' ? f.segments[1] : -1;
    return [section, index];
  };
  return found
    .map((f, order) => ({ f, order, r: rank(f) }))
    .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.order - b.order)
    .map(({ f }) => f);
}

// ---------------------------------------------------------------------------------------------
// Where a problem is, in words: `node "draft"`, `edge research → draft`, `schema "Notes"`.

function subjectOf(segments: readonly Segment[], raw: unknown): { subject: string; rest: Segment[] } {
  const root = isRecord(raw) ? raw : {};
  const [section, index] = segments;
  if (section === 'nodes' && typeof index === 'number') {
    return { subject: nodeName(asArray(root.nodes)[index], index), rest: segments.slice(2) };
  }
  if (section === 'edges' && typeof index === 'number') {
    return { subject: edgeName(asArray(root.edges)[index], index), rest: segments.slice(2) };
  }
  if (section === 'schemas' && typeof index === 'string') {
    return { subject: `schema "${index}"`, rest: segments.slice(2) };
  }
  return { subject: 'the plan', rest: [...segments] };
}

function nodeName(node: unknown, index: number): string {
  const id = isRecord(node) ? node.id : undefined;
  return typeof id === 'string' && id !== '' ? `node "${id}"` : `the node at $.nodes[${index}]`;
}

function edgeName(edge: unknown, index: number): string {
  if (isRecord(edge) && typeof edge.from === 'string' && typeof edge.to === 'string') {
    return `edge ${edge.from} → ${edge.to}`;
  }
  return `the edge at $.edges[${index}]`;
}

// ---------------------------------------------------------------------------------------------
// Shape problems (zod) in plain words.

/** Allowed fields of objects that had unknown ones, recorded while zod parses. */
const allowedFieldsMarker = 'allowed fields: ';

type RawIssue = z.core.$ZodRawIssue;

/** Per-parse error map: readable messages for zod's default ones (messages set in spec.ts win). */
function zodMessage(issue: RawIssue): string | undefined {
  const input: unknown = issue.input;
  switch (issue.code) {
    case 'invalid_type': {
      if (input === undefined) return 'is required';
      return `must be ${describeExpected(String(issue.expected))}, but it is ${describeValue(input)}`;
    }
    case 'invalid_value': {
      const values = issue.values as unknown[];
      if (values.length === 1) return `must be ${JSON.stringify(values[0])}, but it is ${describeValue(input)}`;
      return `must be one of: ${values.map(String).join(', ')}; it is ${describeValue(input)}${didYouMean(input, values)}`;
    }
    case 'invalid_union': {
      if (issue.discriminator !== undefined && issue.options) {
        const options = issue.options as unknown[];
        const given = isRecord(input) ? input[issue.discriminator] : undefined;
        if (given === undefined) return `needs "${issue.discriminator}", one of: ${options.map(String).join(', ')}`;
        return `must be one of: ${options.map(String).join(', ')}; it is ${describeValue(given)}${didYouMean(given, options)}`;
      }
      const expected = unionOptionTypes(issue);
      if (expected.includes('record') && expected.includes('boolean')) {
        return `must be a JSON Schema (an object such as { type: object }, or true/false), but it is ${describeValue(input)}`;
      }
      return `does not have any of the allowed forms (it is ${describeValue(input)})`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string') return min <= 1 ? 'must not be empty' : `must be at least ${min} characters long`;
      if (issue.origin === 'array') return min <= 1 ? 'must not be empty' : `must have at least ${min} items`;
      if (issue.origin === 'number') return issue.inclusive ? `must be at least ${min}` : `must be greater than ${min}`;
      return undefined;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${max} characters long`;
      if (issue.origin === 'array') return `must have at most ${max} items`;
      if (issue.origin === 'number') return issue.inclusive ? `must be at most ${max}` : `must be less than ${max}`;
      return undefined;
    }
    case 'invalid_format':
      return issue.format === 'regex' ? `has the wrong format (expected ${String(issue.pattern)})` : `must be a valid ${issue.format}`;
    case 'unrecognized_keys': {
      const owner = issue.schema as unknown as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined;
      const shape = owner?._zod?.def?.shape;
      return shape ? `${allowedFieldsMarker}${Object.keys(shape).join(', ')}` : undefined;
    }
    default:
      return undefined;
  }
}

function unionOptionTypes(issue: RawIssue): string[] {
  const errors = (issue as { errors?: Array<Array<{ expected?: unknown }>> }).errors ?? [];
  return errors.map((branch) => String(branch[0]?.expected ?? ''));
}

function zodProblems(error: z.ZodError, raw: unknown): Found[] {
  const found: Found[] = [];
  for (const issue of error.issues) {
    const segments = issue.path.filter((s): s is Segment => typeof s === 'string' || typeof s === 'number');
    if (issue.code === 'unrecognized_keys') {
      const allowed = issue.message.startsWith(allowedFieldsMarker)
        ? issue.message.slice(allowedFieldsMarker.length).split(', ')
        : [];
      for (const key of issue.keys) {
        const keySegments = [...segments, key];
        const { subject, rest } = subjectOf(keySegments, raw);
        const hint = didYouMean(key, allowed);
        const list = allowed.length ? ` Allowed here: ${allowed.join(', ')}.` : '';
        found.push({ segments: keySegments, message: `${subject}: unknown field "${fieldText(rest)}"${hint}.${list}` });
      }
      continue;
    }
    const { subject, rest } = subjectOf(segments, raw);
    const where = rest.length ? `${subject}, field "${fieldText(rest)}"` : subject;
    const text = issue.message.replace(/^Invalid input$/, 'is not valid').replace(/\.$/, '');
    found.push({ segments, message: rest.length ? `${where}: ${text}.` : `${where} ${text}.` });
  }
  return found;
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a text';
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'an object (a mapping of names to values)';
    default:
      return `a value of type ${expected}`;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return value.length > 60 ? `the text "${value.slice(0, 57)}…"` : `"${value}"`;
  if (typeof value === 'number') return Number.isInteger(value) ? `${value}` : `the number ${value}`;
  return String(value);
}

/** ` (did you mean "x"?)` when a close candidate exists. */

// ---------------------------------------------------------------------------------------------
// Rules across the document, on the raw object.

const NODE_TYPES = NODE_TYPE_NAMES as readonly string[];

function crossCheck(
  root: Record<string, unknown>,
  options: ValidatePlanSpecOptions,
  errors: Found[],
  warnings: Found[],
  registry: Record<string, unknown>,
): void {
  const error = (segments: Segment[], message: string) => errors.push({ segments, message: sentence(message) });
  const warn = (segments: Segment[], message: string) => warnings.push({ segments, message: sentence(message) });

  const schemas = isRecord(root.schemas) ? root.schemas : {};
  const schemaNames = Object.keys(schemas);
  const rawNodes = asArray(root.nodes);
  const rawEdges = asArray(root.edges);

  const checkSchemaRef = (segments: Segment[], value: unknown, owner: string, field: string) => {
    if (typeof value !== 'string' || value === '') return;
    if (Object.prototype.hasOwnProperty.call(schemas, value)) return;
    error(segments, `${owner}: unknown schema "${value}" in "${field}"${didYouMean(value, schemaNames)}; known: ${listOrNone(schemaNames)}. Define it under "schemas".`);
  };

  // The plan itself.
  checkSchemaRef(['inputSchema'], root.inputSchema, 'the plan', 'inputSchema');
  checkDeadline(root.deadline, ['deadline'], 'the plan', error);
  if (root.budget !== undefined) checkBudget(root.budget, ['budget'], undefined, 'the plan', error);

  // Registry schemas: references between them, and (when a checker is given) that each compiles.
  const ids = new Set(schemaNames.flatMap((name) => {
    const id = isRecord(schemas[name]) ? (schemas[name] as Record<string, unknown>).$id : undefined;
    return typeof id === 'string' ? [id] : [];
  }));
  for (const name of schemaNames) {
    if (isReservedSegment(name)) {
      error(['schemas', name], `schema name "${name}" is reserved (it names a JavaScript prototype); rename the schema and the references to it.`);
      continue;
    }
    const schema = schemas[name];
    if (!isRecord(schema) && typeof schema !== 'boolean') continue; // shape error already reported
    const unknownRefs = registryRefs(schema).filter((ref) => !Object.prototype.hasOwnProperty.call(schemas, ref) && !ids.has(ref));
    for (const ref of unknownRefs) {
      error(['schemas', name], `schema "${name}" refers to "${ref}" with $ref, but there is no schema "${ref}"${didYouMean(ref, schemaNames)}; known: ${listOrNone(schemaNames)}.`);
    }
    if (options.checkSchema) {
      const problem = options.checkSchema(schema, name, schemas);
      if (problem && !(unknownRefs.length > 0 && /resolve reference/i.test(problem))) {
        error(['schemas', name], `schema "${name}" is not a valid JSON Schema (2020-12): ${problem}`);
      }
    }
  }

  // Nodes.
  const nodeIndexById = new Map<string, number>();
  rawNodes.forEach((node, index) => {
    if (!isRecord(node)) return;
    const at = (...rest: Segment[]): Segment[] => ['nodes', index, ...rest];
    const name = nodeName(node, index);
    const id = typeof node.id === 'string' && node.id !== '' ? node.id : undefined;
    if (id !== undefined) {
      const first = nodeIndexById.get(id);
      if (first !== undefined) {
        error(at('id'), `node id "${id}" is already used by the node at $.nodes[${first}]; every node needs its own id.`);
      } else {
        nodeIndexById.set(id, index);
      }
    }

    const type = typeof node.type === 'string' && NODE_TYPES.includes(node.type) ? (node.type as NodeType) : undefined;
    const owner = isRecord(node.owner) ? node.owner : undefined;
    const ownerKind = owner && (owner.kind === 'agent' || owner.kind === 'human') ? owner.kind : undefined;
    if (type === 'task') {
      if (node.owner === undefined) {
        error(at('owner'), `${name} is a task node and needs an agent owner, e.g. owner: { kind: agent, ref: writer }.`);
      } else if (ownerKind === 'human') {
        error(at('owner', 'kind'), `${name} is a task node, so its owner must be an agent (kind: agent); work done by people needs a human-* node type.`);
      }
    } else if (type !== undefined && isHumanNodeType(type)) {
      if (node.owner === undefined) {
        error(at('owner'), `${name} is a ${type} node and needs a human owner, e.g. owner: { kind: human, ref: editors }.`);
      } else if (ownerKind === 'agent') {
        error(at('owner', 'kind'), `${name} is a ${type} node, so its owner must be a person, role or team (kind: human); agent work needs a task node.`);
      }
    } else if (type === 'plan') {
      checkPlanNode(node, name, at, registry, error);
    } else if (type !== undefined && isStructuralNodeType(type)) {
      if (node.owner !== undefined) {
        error(at('owner'), `${name} is a ${type} node: the engine completes it by itself, so it must not have an owner.`);
      }
      if (node.outputSchema !== undefined) {
        error(at('outputSchema'), `${name} is a ${type} node: its output is its resolved input, so it must not have an output schema.`);
      }
    }

    if (type === 'human-decision') {
      const optionList = node.options;
      if (optionList === undefined || (Array.isArray(optionList) && optionList.length === 0)) {
        error(at('options'), `${name} is a human-decision node and needs "options": the choices a person picks from, e.g. options: [publish, revise].`);
      }
    }
    if (Array.isArray(node.options)) {
      const seen = new Set<unknown>();
      node.options.forEach((option, k) => {
        if (seen.has(option)) warn(at('options', k), `${name}: option ${describeValue(option)} is listed twice.`);
        seen.add(option);
      });
    }
    if (type !== undefined && node.approvers !== undefined && !isHumanNodeType(type)) {
      warn(at('approvers'), `${name}: "approvers" only applies to human nodes; it is ignored on a ${type} node.`);
    }
    if (type !== undefined && type !== 'human-decision' && node.options !== undefined) {
      warn(at('options'), `${name}: "options" only applies to human-decision nodes; it is ignored on a ${type} node.`);
    }
    if (node.quorum !== undefined) checkQuorum(node, type, name, at, error);
    if (node.budget !== undefined) checkBudget(node.budget, at('budget'), type ?? 'task', name, error);
    if (type !== undefined && type !== 'join' && node.join !== undefined) {
      error(at('join'), `${name}: "join" only applies to join nodes; a ${type} node waits for all its incoming edges. Make it a join node, or remove "join".`);
    }
    if (isRecord(node.join)) {
      const mode = node.join.mode;
      if (mode === 'atLeast' && node.join.count === undefined) {
        error(at('join', 'count'), `${name}: join mode atLeast needs "count": how many incoming edges must be active, e.g. join: { mode: atLeast, count: 2 }.`);
      }
      if (mode !== 'atLeast' && node.join.count !== undefined) {
        error(at('join', 'count'), `${name}: "count" only applies to join mode atLeast (mode ${String(mode)} ${mode === 'any' ? 'waits for one edge' : 'waits for every active edge'}).`);
      }
    }
    if (node.forEach !== undefined && type !== undefined && type !== 'task' && type !== 'plan' && !isHumanNodeType(type)) {
      error(at('forEach'), `${name}: "forEach" only applies to task, human and plan nodes; a ${type} node cannot fan out. Put "forEach" on the task or human node after it.`);
    }
    if (node.plan !== undefined && type !== undefined && type !== 'plan') {
      error(at('plan'), `${name}: "plan" only applies to plan nodes, which run a sub-plan; make it a plan node (type: plan), or remove "plan".`);
    }
    if (isRecord(node.forEach) && typeof node.forEach.items === 'string') {
      const items = node.forEach.items;
      const problem = pathProblem(items, 'input.topics');
      const root = items.trim().split('.')[0];
      if (problem) error(at('forEach', 'items'), `${name}: forEach.items ${problem}.`);
      else if (root !== 'input' && root !== 'run') {
        error(
          at('forEach', 'items'),
          `${name}: forEach.items "${items}" must be a path into the node's input or the run input (input.… or run.input.…): the list is read when the node becomes ready, before it has an output.`,
        );
      }
    }
    if (type !== undefined && type !== 'task' && node.timeoutMs !== undefined) {
      warn(at('timeoutMs'), `${name}: "timeoutMs" only applies to task nodes; it is ignored on a ${type} node (use "deadline" to chase people).`);
    }

    checkSchemaRef(at('inputSchema'), node.inputSchema, name, 'inputSchema');
    checkSchemaRef(at('outputSchema'), node.outputSchema, name, 'outputSchema');
    checkDeadline(node.deadline, at('deadline'), name, error);

    asArray(node.completionChecks).forEach((check, k) => {
      if (!isRecord(check)) return;
      const checkAt = (...rest: Segment[]) => at('completionChecks', k, ...rest);
      const label = `${name}, completion check ${k + 1} (${String(check.kind)})`;
      if (['required', 'min-length', 'matches'].includes(String(check.kind)) && typeof check.path === 'string' && check.path !== '') {
        const problem = pathProblem(check.path);
        if (problem) {
          error(checkAt('path'), `${label}: ${problem}. Check paths are relative to the node's output.`);
        } else if (check.path.startsWith('output.')) {
          warn(checkAt('path'), `${label}: check paths are relative to the node's output, so "${check.path}" looks for a field named "output" inside it; did you mean "${check.path.slice('output.'.length)}"?`);
        }
      }
      if (check.kind === 'matches' && typeof check.pattern === 'string') {
        const problem = patternProblem(check.pattern);
        if (problem) error(checkAt('pattern'), `${label}: the pattern ${JSON.stringify(check.pattern.slice(0, 100))} is not a valid regular expression: ${problem}.`);
      }
      if (check.kind === 'artifact' && typeof check.name === 'string' && isReservedSegment(check.name)) {
        error(checkAt('name'), `${label}: the artifact name "${check.name}" is reserved (it names a JavaScript prototype); rename the artifact.`);
      }
      if (check.kind === 'condition' && typeof check.expression === 'string') {
        const result = parseCondition(check.expression);
        if (!result.ok) {
          error(checkAt('expression'), `${label}: the condition "${check.expression}" cannot be evaluated: ${result.error}.`);
        } else if (result.condition.kind === 'prose') {
          warn(checkAt('expression'), `${label}: "${check.expression}" is not in the condition grammar, so it is not executable and always passes. Write e.g. output.confidence >= 0.7.`);
        }
      }
    });

    const seenClasses = new Set<unknown>();
    asArray(node.onFailure).forEach((rule, k) => {
      if (!isRecord(rule) || typeof rule.on !== 'string') return;
      if (seenClasses.has(rule.on)) {
        warn(at('onFailure', k), `${name}: there is already a failure rule for "${rule.on}"; only the first one is used.`);
      }
      seenClasses.add(rule.on);
    });
  });
  const nodeIds = [...nodeIndexById.keys()];

  // Edges.
  const edgeIndexByPair = new Map<string, number>();
  const graphEdges: Array<{ from: string; to: string; index: number }> = [];
  const loopEdges: Array<{ from: string; to: string; index: number }> = [];
  rawEdges.forEach((edge, index) => {
    if (!isRecord(edge)) return;
    const at = (...rest: Segment[]): Segment[] => ['edges', index, ...rest];
    const name = edgeName(edge, index);
    const from = typeof edge.from === 'string' && edge.from !== '' ? edge.from : undefined;
    const to = typeof edge.to === 'string' && edge.to !== '' ? edge.to : undefined;
    const fromKnown = from !== undefined && nodeIndexById.has(from);
    const toKnown = to !== undefined && nodeIndexById.has(to);
    if (from !== undefined && !fromKnown) {
      error(at('from'), `${name} starts at "${from}", but there is no node "${from}"${didYouMean(from, nodeIds)}; known nodes: ${listOrNone(nodeIds)}.`);
    }
    if (to !== undefined && !toKnown) {
      error(at('to'), `${name} leads to "${to}", but there is no node "${to}"${didYouMean(to, nodeIds)}; known nodes: ${listOrNone(nodeIds)}.`);
    }
    if (from !== undefined && from === to) {
      error(at('to'), `${name} is a self-loop: node "${from}" cannot wait for itself. Use "retry" to repeat a node.`);
    } else if (fromKnown && toKnown) {
      const pair = JSON.stringify([from, to]);
      const first = edgeIndexByPair.get(pair);
      if (first !== undefined) {
        warn(at(), `${name} repeats the edge at $.edges[${first}]: both are evaluated (either condition lets "${to}" run, and the later map wins). Merge them if that is not intended.`);
      } else if (isRecord(edge.loop)) {
        // A loop edge is not a dependency: it is checked below, and left out of the cycle check.
        loopEdges.push({ from: from as string, to: to as string, index });
      } else {
        edgeIndexByPair.set(pair, index);
        graphEdges.push({ from: from as string, to: to as string, index });
      }
    }

    if (typeof edge.when === 'string') {
      const result = parseCondition(edge.when);
      if (!result.ok) {
        error(at('when'), `${name}: the condition "${edge.when}" cannot be evaluated: ${result.error}.`);
      } else if (result.condition.kind === 'prose') {
        warn(at('when'), `${name}: "${edge.when}" is not in the condition grammar, so it is not executable and counts as true (the edge is always taken). Write e.g. output.approved == true to route on it.`);
      }
    }

    if (isRecord(edge.map)) {
      for (const [target, source] of Object.entries(edge.map)) {
        const problem = pathProblem(target, 'notes or draft.title');
        if (problem) error(at('map', target), `${name}: "${target}" is not a valid target in the input: ${problem}.`);
        if (typeof source === 'string') {
          const problem = checkContextPath(source);
          if (problem) error(at('map', target), `${name}: the source for "${target}" is not usable: ${problem}.`);
        }
      }
    }
  });

  // A join cannot wait for more edges than lead into it.
  rawNodes.forEach((node, index) => {
    if (!isRecord(node) || !isRecord(node.join) || node.join.mode !== 'atLeast' || typeof node.join.count !== 'number') return;
    const incoming = graphEdges.filter((edge) => edge.to === node.id).length;
    if (node.join.count > incoming) {
      error(['nodes', index, 'join', 'count'], `${nodeName(node, index)} waits for ${node.join.count} active incoming edges, but only ${incoming} edge(s) lead into it; lower "count" or add edges.`);
    }
  });

  checkLoops(rawEdges, nodeIds, graphEdges, loopEdges, error);

  const cycle = findCycle(nodeIds, graphEdges);
  if (cycle) {
    error(
      ['edges', cycle.closingEdge],
      `the graph has a cycle: ${cycle.path.join(' → ')}. Every cycle must go through a loop edge: to repeat work, give the edge that closes it a bound, e.g. loop: { maxIterations: 3 } (or use "retry" to repeat one node).`,
    );
  }
}

function checkDeadline(deadline: unknown, at: Segment[], owner: string, error: (segments: Segment[], message: string) => void): void {
  if (!isRecord(deadline)) return;
  const { afterMs, warnBeforeMs } = deadline;
  if (typeof afterMs === 'number' && typeof warnBeforeMs === 'number' && warnBeforeMs > afterMs) {
    error([...at, 'warnBeforeMs'], `${owner}: the deadline warning comes ${warnBeforeMs} ms before a deadline that is only ${afterMs} ms away; "warnBeforeMs" must not exceed "afterMs".`);
  }
}

/** One cycle as a node path (first node repeated at the end) and the edge that closes it. */
/**
 * Loop edges (docs/semantics.md, "Loops"): each must point back (its `to` upstream of its `from`
 * over forward edges), and two loop bodies must nest or be disjoint.
 */
function checkLoops(
  rawEdges: unknown[],
  nodeIds: readonly string[],
  forward: ReadonlyArray<{ from: string; to: string }>,
  loops: ReadonlyArray<{ from: string; to: string; index: number }>,
  error: (segments: Segment[], message: string) => void,
): void {
  const reach = (start: string, down: boolean): Set<string> => {
    const seen = new Set([start]);
    const queue = [start];
    while (queue.length > 0) {
      const id = queue.shift() as string;
      for (const edge of forward) {
        const [here, there] = down ? [edge.from, edge.to] : [edge.to, edge.from];
        if (here === id && !seen.has(there)) {
          seen.add(there);
          queue.push(there);
        }
      }
    }
    return seen;
  };
  const bodies: Array<{ index: number; body: Set<string> }> = [];
  for (const loop of loops) {
    const name = edgeName(rawEdges[loop.index], loop.index);
    const below = reach(loop.to, true);
    if (!below.has(loop.from)) {
      error(
        ['edges', loop.index, 'loop'],
        `${name} is a loop edge, so it must lead back to a node upstream of "${loop.from}", but "${loop.to}" is not upstream of it. A forward edge needs no "loop".`,
      );
      continue;
    }
    const above = reach(loop.from, false);
    bodies.push({ index: loop.index, body: new Set(nodeIds.filter((id) => below.has(id) && above.has(id))) });
  }
  for (let i = 0; i < bodies.length; i++) {
    for (let j = i + 1; j < bodies.length; j++) {
      const [a, b] = [bodies[i], bodies[j]];
      const shared = [...a.body].filter((id) => b.body.has(id));
      if (shared.length === 0 || shared.length === a.body.size || shared.length === b.body.size) continue;
      error(
        ['edges', b.index, 'loop'],
        `the loop bodies of $.edges[${a.index}] and $.edges[${b.index}] overlap without one holding the other ` +
          `(both hold ${shared.map((id) => `"${id}"`).join(', ')}): loops must nest or be apart.`,
      );
    }
  }
}

function findCycle(
  nodeIds: readonly string[],
  edges: ReadonlyArray<{ from: string; to: string; index: number }>,
): { path: string[]; closingEdge: number } | undefined {
  const outgoing = new Map<string, Array<{ to: string; index: number }>>();
  for (const edge of edges) {
    const list = outgoing.get(edge.from) ?? [];
    list.push({ to: edge.to, index: edge.index });
    outgoing.set(edge.from, list);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  for (const start of nodeIds) {
    if (state.has(start)) continue;
    // Iterative DFS: the stack holds the current path and the next outgoing edge to try.
    const stack: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    state.set(start, 'visiting');
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const out = outgoing.get(top.node) ?? [];
      if (top.next >= out.length) {
        state.set(top.node, 'done');
        stack.pop();
        continue;
      }
      const edge = out[top.next++];
      const seen = state.get(edge.to);
      if (seen === 'visiting') {
        const from = stack.findIndex((frame) => frame.node === edge.to);
        return { path: [...stack.slice(from).map((frame) => frame.node), edge.to], closingEdge: edge.index };
      }
      if (seen === undefined) {
        state.set(edge.to, 'visiting');
        stack.push({ node: edge.to, next: 0 });
      }
    }
  }
  return undefined;
}

/** Ends the text with exactly one full stop (messages from conditions.ts may end with one already). */
function sentence(text: string): string {
  return text.replace(/\.+$/, '.').replace(/([^.!?])$/, '$1.');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function listOrNone(names: readonly string[]): string {
  if (names.length === 0) return '(none)';
  return names.length > 30 ? `${names.slice(0, 30).join(', ')}, … (${names.length} in all)` : names.join(', ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * A quorum (docs/semantics.md, "Quorum approvals") belongs on a human-approval node with a non-empty
 * list of distinct `approvers`; `required` cannot exceed them, and every veto holder is one of them.
 */
function checkQuorum(
  node: Record<string, unknown>,
  type: NodeType | undefined,
  name: string,
  at: (...rest: Segment[]) => Segment[],
  error: (path: Segment[], message: string) => void,
): void {
  if (type !== undefined && type !== 'human-approval') {
    error(at('quorum'), `${name}: "quorum" only applies to human-approval nodes; a ${type} node takes one answer. Make it a human-approval node, or remove "quorum".`);
    return;
  }
  if (!isRecord(node.quorum)) return;
  const approvers = Array.isArray(node.approvers) ? node.approvers.filter((a): a is string => typeof a === 'string') : [];
  if (approvers.length === 0) {
    error(at('approvers'), `${name} has a quorum and needs "approvers": the people who vote, e.g. approvers: [alice, bob, carol].`);
    return;
  }
  const seen = new Set<string>();
  approvers.forEach((approver, k) => {
    if (seen.has(approver)) error(at('approvers', k), `${name}: approver "${approver}" is listed twice; with a quorum every approver has one vote, so list each once.`);
    seen.add(approver);
  });
  const required = node.quorum.required;
  if (typeof required === 'number' && Number.isInteger(required) && required > seen.size) {
    error(at('quorum', 'required'), `${name}: quorum.required is ${required}, but only ${seen.size} approver(s) can vote; lower "required" or add approvers.`);
  }
  if (Array.isArray(node.quorum.veto)) {
    node.quorum.veto.forEach((holder, k) => {
      if (typeof holder === 'string' && !seen.has(holder)) {
        error(at('quorum', 'veto', k), `${name}: veto holder "${holder}" is not among the approvers (${[...seen].join(', ')}); a veto holder must be an approver.`);
      }
    });
  }
}

/**
 * A `plan` node (docs/semantics.md, "Sub-plans") names an entry of the top-level `plans`; the child
 * run does the work, so the node has no owner, and its output is the child's outputs, not a result
 * to check.
 */
function checkPlanNode(
  node: Record<string, unknown>,
  name: string,
  at: (...rest: Segment[]) => Segment[],
  registry: Record<string, unknown>,
  error: (path: Segment[], message: string) => void,
): void {
  const known = Object.keys(registry);
  if (node.plan === undefined) {
    error(at('plan'), `${name} is a plan node and needs "plan": the name of a sub-plan under "plans", e.g. plan: vet-vendor.`);
  } else if (typeof node.plan === 'string' && node.plan !== '' && !Object.prototype.hasOwnProperty.call(registry, node.plan)) {
    error(at('plan'), `${name}: unknown sub-plan "${node.plan}"${didYouMean(node.plan, known)}; known: ${listOrNone(known)}. Define it under "plans" at the top of the plan.`);
  }
  if (node.owner !== undefined) {
    error(at('owner'), `${name} is a plan node: its sub-plan's own nodes have the owners, so it must not have one.`);
  }
  for (const field of ['outputSchema', 'completionChecks', 'deadline'] as const) {
    if (node[field] !== undefined) {
      error(at(field), `${name} is a plan node: "${field}" does not apply to it (its output is the child run's outputs); put it on a node of the sub-plan.`);
    }
  }
}

/**
 * A budget (docs/semantics.md, "Budgets") belongs on a task node or on the plan and names at least
 * one limit. (Shape, signs and the range of `warnAt` are checked by the zod schema.)
 */
function checkBudget(
  budget: unknown,
  path: Segment[],
  /** The node's type; undefined for the plan's budget. */
  type: NodeType | undefined,
  name: string,
  error: (path: Segment[], message: string) => void,
): void {
  if (type !== undefined && type !== 'task') {
    error(path, `${name}: "budget" only applies to task nodes, whose agents report usage; a ${type} node spends nothing. Put the budget on a task node or on the plan, or remove it.`);
    return;
  }
  if (!isRecord(budget)) return;
  if (budget.maxCostUsd === undefined && budget.maxTokens === undefined) {
    error(path, `${name}: "budget" needs a limit: maxCostUsd (US dollars) and/or maxTokens (input + output tokens), e.g. budget: { maxCostUsd: 5 }.`);
  }
}
