/**
 * fast-check generators for plan specs (shared by the engine property tests, the spec fuzzer and the
 * live fuzz test), plus an independent oracle for the conditions and maps they contain: the tests
 * check the engine's routing against this oracle, not against the engine's own evaluator.
 */
import fc from 'fast-check';
import type { FailureClass, NodeType, PlanEdge, PlanNode, PlanSpec } from '../../src/engine';

export const T0_MS = Date.parse('2026-01-01T00:00:00.000Z');
export const FAILURE_CLASSES: FailureClass[] = ['validation', 'agent-error', 'timeout', 'input', 'dispatch'];
export const FAILURE_ACTIONS = ['abort', 'human-review', 'replan', 'skip'] as const;
export const DECISION_OPTIONS = ['yes', 'no', 'maybe'];
export const APPROVERS = ['alice', 'bob'];
/** Names JavaScript objects inherit: ids, keys and paths built from them catch `obj[key]` lookups. */
export const HOSTILE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
/** Object.prototype members a plan may still use as ids and path segments (the first three are reserved and refused). */
export const HOSTILE_PLAN_NAMES = HOSTILE_NAMES.slice(3);

// ---- Conditions (docs/semantics.md §3) with an oracle ------------------------------------------------------------

export type Literal = string | number | boolean | null;
export type Cond =
  | { kind: 'none' }
  | { kind: 'always' }
  | { kind: 'prose'; text: string }
  | { kind: 'truthy'; path: string[] }
  | { kind: 'cmp'; path: string[]; op: '==' | '!=' | '>=' | '<=' | '>' | '<'; literal: Literal; style: 'plain' | 'single' | 'double' | 'bare' };

const CONDITION_PATHS: string[][] = [
  ['output', 'ok'],
  ['output', 'n'],
  ['output', 'kind'],
  ['output', 'approved'],
  ['output', 'decision'],
  ['output', 'edited', 'ok'],
  ['output', 'missing'],
  ['input', 'n'],
  ['input', 'x'],
  ['run', 'input', 'flag'],
  ['run', 'input', 'n'],
];

const literalArb: fc.Arbitrary<{ literal: Literal; style: 'plain' | 'single' | 'double' | 'bare' }> = fc.oneof(
  fc.record({ literal: fc.integer({ min: -1, max: 6 }), style: fc.constant('plain' as const) }),
  fc.record({ literal: fc.boolean(), style: fc.constant('plain' as const) }),
  fc.record({ literal: fc.constant(null), style: fc.constant('plain' as const) }),
  fc.record({ literal: fc.constantFrom('a', 'b', 'c', 'yes', 'no', 'maybe', 'true', '1'), style: fc.constantFrom('single' as const, 'double' as const) }),
  fc.record({ literal: fc.constantFrom('a', 'b', 'yes', 'maybe'), style: fc.constant('bare' as const) }),
);

export const condArb: fc.Arbitrary<Cond> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Cond>({ kind: 'none' }) },
  { weight: 1, arbitrary: fc.constant<Cond>({ kind: 'always' }) },
  { weight: 1, arbitrary: fc.constantFrom<Cond>({ kind: 'prose', text: 'if the draft looks good' }, { kind: 'prose', text: 'when everyone agrees!' }) },
  { weight: 2, arbitrary: fc.constantFrom(...CONDITION_PATHS).map((path): Cond => ({ kind: 'truthy', path })) },
  {
    weight: 5,
    arbitrary: fc
      .tuple(fc.constantFrom(...CONDITION_PATHS), fc.constantFrom('==', '!=', '>=', '<=', '>', '<'), literalArb)
      .map(([path, op, { literal, style }]): Cond => ({ kind: 'cmp', path, op: op as '==', literal, style })),
  },
);

export function renderCond(cond: Cond): string | undefined {
  switch (cond.kind) {
    case 'none':
      return undefined;
    case 'always':
      return 'always';
    case 'prose':
      return cond.text;
    case 'truthy':
      return cond.path.join('.');
    case 'cmp': {
      const lit =
        cond.style === 'single' ? `'${cond.literal}'` : cond.style === 'double' ? JSON.stringify(cond.literal) : String(cond.literal);
      return `${cond.path.join('.')} ${cond.op} ${lit}`;
    }
  }
}

/** Own-property walk (docs/semantics.md §3: a missing step is undefined). */
export function oracleGet(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** What the condition means per README "Conditions": strict JSON equality, numbers-only ordering. */
export function oracleCond(cond: Cond, context: unknown): boolean {
  switch (cond.kind) {
    case 'none':
    case 'always':
    case 'prose':
      return true;
    case 'truthy':
      return Boolean(oracleGet(context, cond.path));
    case 'cmp': {
      const value = oracleGet(context, cond.path);
      const equal = value === cond.literal;
      if (cond.op === '==') return equal;
      if (cond.op === '!=') return !equal;
      if (typeof value !== 'number' || typeof cond.literal !== 'number') return false;
      if (cond.op === '>=') return value >= cond.literal;
      if (cond.op === '<=') return value <= cond.literal;
      if (cond.op === '>') return value > cond.literal;
      return value < cond.literal;
    }
  }
}

// ---- Maps (docs/semantics.md §4) with an oracle ------------------------------------------------------------------

export const MAP_TARGETS = ['x', 'n', 'kind', 'data.v', 'data.w.z', 'data', 'approved'];
export const MAP_SOURCES = ['output.n', 'output.kind', 'output.ok', 'output', 'output.edited', 'input.x', 'input', 'run.input.topic', 'run.input.n', 'output.missing'];

const mapArb = (targets: string[]): fc.Arbitrary<Record<string, string> | undefined> =>
  fc.option(
    fc.uniqueArray(fc.tuple(fc.constantFrom(...targets), fc.constantFrom(...MAP_SOURCES)), { maxLength: 3, selector: ([target]) => target }).map((entries) =>
      Object.fromEntries(entries),
    ),
    { nil: undefined, freq: 2 },
  );

/** docs/semantics.md §4 input of a node from its active edges (in spec order), written independently of the engine. */
export function oracleInput(edges: Array<{ map?: Record<string, string>; context: unknown }>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const { map, context } of edges) {
    for (const [target, source] of Object.entries(map ?? {})) {
      const value = oracleGet(context, source.split('.'));
      if (value === undefined) continue;
      const segments = target.split('.');
      let current: Record<string, unknown> = input;
      for (const segment of segments.slice(0, -1)) {
        const next = current[segment];
        if (next === null || typeof next !== 'object' || Array.isArray(next)) current[segment] = {};
        current = current[segment] as Record<string, unknown>;
      }
      current[segments[segments.length - 1]] = JSON.parse(JSON.stringify(value));
    }
  }
  return input;
}

// ---- Plans ------------------------------------------------------------------------------------------

export interface PlanOptions {
  maxNodes?: number;
  /** Timers (timeouts, delays, notBefore, deadlines). */
  timers?: boolean;
  /** Input schemas (their checks are answered by the test in pure runs). */
  inputSchemas?: boolean;
  /** A trivial output schema on some nodes (`{type: object}`), for live runs. */
  outputSchemas?: boolean;
  /** Failure policies (retry, onFailure). */
  failurePolicies?: boolean;
  /** Map targets and node ids taken from HOSTILE_NAMES now and then. */
  hostile?: boolean;
}

export interface GeneratedPlan {
  spec: PlanSpec;
  /** The structured condition of each edge (same index as `spec.edges`). */
  conds: Cond[];
}

const NODE_TYPES: Array<{ weight: number; arbitrary: fc.Arbitrary<NodeType> }> = [
  { weight: 8, arbitrary: fc.constant('task' as const) },
  { weight: 2, arbitrary: fc.constant('human-approval' as const) },
  { weight: 1, arbitrary: fc.constant('human-decision' as const) },
  { weight: 1, arbitrary: fc.constant('human-input' as const) },
  { weight: 1, arbitrary: fc.constant('human-review-edit' as const) },
  { weight: 2, arbitrary: fc.constant('switch' as const) },
  { weight: 2, arbitrary: fc.constant('join' as const) },
];

const u = <T>(arb: fc.Arbitrary<T>, freq = 2) => fc.option(arb, { nil: undefined, freq });

function nodeArb(options: PlanOptions) {
  const timers = options.timers ?? true;
  const policies = options.failurePolicies ?? true;
  return fc.record({
    type: fc.oneof(...NODE_TYPES),
    retry: policies
      ? u(fc.record({ maxAttempts: fc.integer({ min: 1, max: 3 }), retryOn: u(fc.subarray(FAILURE_CLASSES)) }, { requiredKeys: ['maxAttempts'] }))
      : fc.constant(undefined),
    onFailure: policies
      ? u(fc.array(fc.record({ on: fc.constantFrom(...FAILURE_CLASSES), action: fc.constantFrom(...FAILURE_ACTIONS) }), { maxLength: 3 }))
      : fc.constant(undefined),
    timeoutMs: timers ? u(fc.constantFrom(0, 1_000, 60_000), 3) : fc.constant(undefined),
    delayAfterPredecessorMs: timers ? u(fc.constantFrom(0, 500, 30_000), 4) : fc.constant(undefined),
    notBeforeMs: timers ? u(fc.constantFrom(0, 2_000, 120_000), 6) : fc.constant(undefined),
    deadline: timers
      ? u(
          fc
            .record({ afterMs: fc.constantFrom(0, 5_000, 90_000), warn: fc.constantFrom(0, 1_000, 5_000), onExpiry: u(fc.constantFrom('escalate' as const, 'fail' as const), 1), human: fc.boolean() })
            .map(({ afterMs, warn, onExpiry, human }) => ({
              afterMs,
              ...(warn <= afterMs && warn > 0 ? { warnBeforeMs: warn } : {}),
              ...(onExpiry ? { onExpiry } : {}),
              ...(human ? { escalateTo: { kind: 'human' as const, ref: 'lead' } } : {}),
            })),
          3,
        )
      : fc.constant(undefined),
    approvers: u(fc.constant(APPROVERS), 2),
    options: fc.subarray(DECISION_OPTIONS, { minLength: 1 }),
    inputSchema: options.inputSchemas ? fc.boolean() : fc.constant(false),
    outputSchema: options.outputSchemas ? fc.boolean() : fc.constant(false),
    hostileId: options.hostile ? u(fc.constantFrom(...HOSTILE_PLAN_NAMES), 6) : fc.constant(undefined),
  });
}

type NodeDraft = ReturnType<typeof nodeArb> extends fc.Arbitrary<infer R> ? R : never;

function buildNode(id: string, d: NodeDraft): PlanNode {
  const node: PlanNode = { id, type: d.type };
  const isTask = d.type === 'task';
  const isHuman = d.type.startsWith('human-');
  if (isTask) node.owner = { kind: 'agent', ref: `agent-${id}` };
  if (isHuman) node.owner = { kind: 'human', ref: `people-${id}` };
  if (isTask || isHuman) {
    if (d.retry) node.retry = d.retry.retryOn ? { maxAttempts: d.retry.maxAttempts, retryOn: d.retry.retryOn } : { maxAttempts: d.retry.maxAttempts };
    if (d.onFailure) node.onFailure = d.onFailure;
    if (d.deadline) node.deadline = d.deadline;
    if (d.outputSchema) node.outputSchema = 'Out';
  }
  if (isTask && d.timeoutMs !== undefined) node.timeoutMs = d.timeoutMs;
  if (isHuman && d.approvers) node.approvers = d.approvers;
  if (d.type === 'human-decision') node.options = d.options;
  if (d.delayAfterPredecessorMs !== undefined) node.delayAfterPredecessorMs = d.delayAfterPredecessorMs;
  if (d.notBeforeMs !== undefined) node.notBefore = new Date(T0_MS + d.notBeforeMs).toISOString();
  if (d.inputSchema) node.inputSchema = 'In';
  return node;
}

export function planArb(options: PlanOptions = {}): fc.Arbitrary<GeneratedPlan> {
  const maxNodes = options.maxNodes ?? 7;
  const timers = options.timers ?? true;
  const targets = options.hostile ? [...MAP_TARGETS, 'toString', 'valueOf.x', 'hasOwnProperty'] : MAP_TARGETS;
  return fc
    .record({
      nodes: fc.array(nodeArb(options), { minLength: 1, maxLength: maxNodes }),
      edges: fc.array(fc.record({ a: fc.nat(), b: fc.nat(), cond: condArb, map: mapArb(targets) }), { maxLength: maxNodes * 2 }),
      maxConcurrency: u(fc.integer({ min: 1, max: 3 }), 1),
      deadline: timers
        ? u(fc.record({ afterMs: fc.constantFrom(10_000, 300_000), onExpiry: fc.constantFrom('escalate' as const, 'fail' as const) }), 4)
        : fc.constant(undefined),
    })
    .map(({ nodes, edges, maxConcurrency, deadline }) => {
      const used = new Set<string>();
      const ids = nodes.map((d, i) => {
        const id = d.hostileId && !used.has(d.hostileId) ? d.hostileId : `n${i}`;
        used.add(id);
        return id;
      });
      const specNodes = nodes.map((d, i) => buildNode(ids[i], d));
      // Acyclic by construction: edges only go from an earlier to a later node; one edge per pair.
      const seen = new Set<string>();
      const specEdges: PlanEdge[] = [];
      const conds: Cond[] = [];
      for (const { a, b, cond, map } of edges) {
        if (nodes.length < 2) break;
        const from = a % nodes.length;
        const to = b % nodes.length;
        if (from === to) continue;
        const [lo, hi] = from < to ? [from, to] : [to, from];
        const key = `${lo}>${hi}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const when = renderCond(cond);
        specEdges.push({ from: ids[lo], to: ids[hi], ...(when !== undefined ? { when } : {}), ...(map ? { map } : {}) });
        conds.push(cond);
      }
      const spec: PlanSpec = {
        id: 'fuzz-plan',
        title: 'A generated plan',
        schemas: { In: { type: 'object' }, Out: { type: 'object' } },
        nodes: specNodes,
        edges: specEdges,
        ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
        ...(deadline ? { deadline } : {}),
      };
      return { spec, conds };
    });
}

/** A task result's structured output: a random subset of the fields conditions and maps read. */
export const taskOutputArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    ok: fc.boolean(),
    n: fc.integer({ min: -1, max: 6 }),
    kind: fc.constantFrom('a', 'b', 'c', 'yes'),
    approved: fc.boolean(),
    decision: fc.constantFrom(...DECISION_OPTIONS),
    edited: fc.record({ ok: fc.boolean() }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
