/**
 * The compiled shape checks (src/engine/generated/shape-checks.ts) against the zod schemas they are
 * compiled from. The workflow takes a payload its check passes as parsed, without asking zod, so a
 * check must never pass what zod refuses, nor anything zod would change (strip a field, fill in a
 * default): for every value x, check(x) implies that zod accepts x and returns a value equal to x.
 * The checks must also pass the ordinary valid payloads, or the workflow would load zod after all.
 *
 * Seeds: see fc-params.ts. A failure prints `seed` and `path`; replay with
 *   FC_SEED=<seed> FC_PATH=<path> node --test --test-name-pattern='<test name>' dist/test/unit/shape-checks.test.js
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { z } from 'zod';
import { SHAPE_CHECKS_FILE, renderShapeChecks } from '../../scripts/generate-shape-checks';
import * as compiled from '../../src/engine/generated/shape-checks';
import { AgentSubmission, ApprovalResponse, DecisionResponse, HumanResponse, ReviewEditResponse, SubplanFinished } from '../../src/engine/messages';
import { PlanSpec } from '../../src/engine/spec';
import { fcParams } from './fc-params';
import { HOSTILE_NAMES, HOSTILE_PLAN_NAMES, planArb, taskOutputArb } from './plan-arbitraries';

const ROOT = join(__dirname, '..', '..', '..');
const DIST = join(__dirname, '..', '..');
type Check = (value: unknown) => boolean;
const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

// ---- Valid payloads, and mutations of them ----------------------------------------------------------------

const nameArb = fc.oneof(fc.constantFrom('a', 'writer-1', 'ü', '🙂', 'toString', ...HOSTILE_NAMES), fc.string({ minLength: 1, maxLength: 12 }));
/** Keys of free-form objects: an own `__proto__` key sends a payload to zod on purpose (tested below). */
const keyArb = nameArb.filter((key) => key !== '__proto__');
const usageArb = fc.record({ inputTokens: fc.nat(), outputTokens: fc.nat(), costUsd: fc.double({ min: 0, max: 100, noNaN: true }) }, { requiredKeys: [] });
/** Artifact names may not be reserved (`__proto__`, `prototype`, `constructor`). */
const artifactNameArb = fc.oneof(fc.constantFrom('report', '🙂', ...HOSTILE_PLAN_NAMES), fc.string({ minLength: 1, maxLength: 12 }).filter((name) => !HOSTILE_NAMES.slice(0, 3).includes(name)));
const artifactArb = fc.record(
  { name: artifactNameArb, kind: nameArb, pointer: fc.string({ minLength: 1, maxLength: 20 }), schemaRef: nameArb, payload: fc.jsonValue({ maxDepth: 2 }) },
  { requiredKeys: ['name', 'kind', 'pointer'] },
);
const submissionArb = fc.record(
  {
    nodeId: fc.constantFrom('draft', 'review', 'n1', 'a'.repeat(128)),
    attempt: fc.integer({ min: 1, max: 5 }),
    submissionId: nameArb,
    by: nameArb,
    token: nameArb,
    structuredOutput: fc.oneof(taskOutputArb, fc.dictionary(keyArb, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })),
    artifacts: fc.array(artifactArb, { maxLength: 3 }),
    notes: fc.string({ maxLength: 20 }),
    handoffContext: fc.jsonValue({ maxDepth: 2 }),
    failure: fc.record({ class: fc.constantFrom('validation', 'agent-error', 'timeout', 'input', 'dispatch'), message: fc.string({ maxLength: 20 }) }, { requiredKeys: ['message'] }),
    usage: usageArb,
  },
  { requiredKeys: ['nodeId'] },
);
const approvalArb = fc.record({ approved: fc.boolean(), requiredEdits: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), comments: fc.string({ maxLength: 20 }) }, { requiredKeys: ['approved'] });
const decisionArb = fc.record({ decision: fc.constantFrom('yes', 'no', 'maybe'), comments: fc.string({ maxLength: 20 }) }, { requiredKeys: ['decision'] });
const reviewEditArb = fc.record({ edited: fc.dictionary(keyArb, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), approved: fc.boolean(), comments: fc.string({ maxLength: 20 }) }, { requiredKeys: ['edited'] });
const humanResponseArb = fc.record(
  {
    nodeId: fc.constantFrom('approve', 'decide'),
    approvalId: fc.constantFrom('approve#1', 'decide#2'),
    submissionId: nameArb,
    respondedBy: nameArb,
    response: fc.oneof(approvalArb, decisionArb, reviewEditArb, fc.dictionary(keyArb, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })),
  },
  { requiredKeys: ['respondedBy', 'response'] },
);
const subplanFinishedArb = fc.record(
  {
    nodeId: fc.constantFrom('child', 'child[0]'),
    attempt: fc.integer({ min: 1, max: 3 }),
    childRunId: fc.constantFrom('run-1.child'),
    status: fc.constantFrom('completed', 'failed', 'aborted'),
    output: fc.record({ runId: fc.string({ maxLength: 10 }), nodes: fc.dictionary(keyArb, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) }),
    partial: fc.boolean(),
    reason: fc.string({ maxLength: 20 }),
  },
  { requiredKeys: ['nodeId', 'attempt', 'childRunId', 'status'] },
);
const planSpecArb = planArb({ maxNodes: 6, timers: true, inputSchemas: true, outputSchemas: true, failurePolicies: true, hostile: true }).map((plan) => plan.spec);

const weirdValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -0, 1.5, -1, 2 ** 53, 1e308, NaN, Infinity, -Infinity, '', ' ', '🙂', '\u0000', [], {}, [[]], 'a'.repeat(501)),
  fc.string({ maxLength: 8 }),
  fc.jsonValue({ maxDepth: 2 }),
  fc.dictionary(fc.constantFrom(...HOSTILE_NAMES, 'extra', 'nodeId', 'type'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
);

type Mutation = { m: 'delete' | 'replace' | 'rename' | 'add'; pick: number; value: unknown; key: string };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  m: fc.constantFrom('delete' as const, 'replace' as const, 'rename' as const, 'add' as const),
  pick: fc.nat(),
  value: weirdValue,
  key: fc.constantFrom(...HOSTILE_NAMES, 'extra', 'nodeId', 'id', 'type', 'approved', ''),
});

/** Every container in a JSON tree with one of its keys. */
function places(root: unknown): Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> {
  const found: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) value.forEach((child, i) => (found.push({ parent: value, key: i }), stack.push(child)));
    else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) found.push({ parent: value as Record<string, unknown>, key }), stack.push(child);
    }
  }
  return found;
}

/**
 * A copy with every object a plain one, as JSON.parse makes them (fast-check makes some without a
 * prototype, which zod's output would not equal); numbers such as NaN and -0 stay.
 */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) Object.defineProperty(out, key, { value: plain(child), enumerable: true, writable: true, configurable: true });
  return out;
}

/** The value with a few mutations applied (JSON in, JSON-like out: it may hold NaN or -0). */
function mutated(value: unknown, mutations: Mutation[]): unknown {
  const root = plain(value);
  for (const mutation of mutations) {
    const all = places(root);
    if (all.length === 0) break;
    const { parent, key } = all[mutation.pick % all.length];
    if (Array.isArray(parent)) {
      if (mutation.m === 'delete') parent.splice(key as number, 1);
      else parent[key as number] = mutation.value;
      continue;
    }
    const record = parent as Record<string, unknown>;
    if (mutation.m === 'delete') delete record[key];
    else if (mutation.m === 'replace') record[key] = mutation.value;
    else if (mutation.m === 'rename') {
      Object.defineProperty(record, mutation.key, { value: record[key], enumerable: true, writable: true, configurable: true });
      if (mutation.key !== key) delete record[key];
    } else Object.defineProperty(record, mutation.key, { value: mutation.value, enumerable: true, writable: true, configurable: true });
  }
  return plain(root);
}

// ---- The pairs -------------------------------------------------------------------------------------------

interface Pair {
  name: string;
  check: Check;
  schema: z.ZodType;
  /** An open check may pass unknown fields: only its verdict is used, never the value. */
  open: boolean;
  valid: fc.Arbitrary<unknown>;
}
const PAIRS: Pair[] = [
  { name: 'PlanSpec', check: compiled.PlanSpec as Check, schema: PlanSpec, open: false, valid: planSpecArb.map(json) },
  { name: 'AgentSubmission', check: compiled.AgentSubmission as Check, schema: AgentSubmission, open: false, valid: submissionArb.map(json) },
  { name: 'HumanResponse', check: compiled.HumanResponse as Check, schema: HumanResponse, open: false, valid: humanResponseArb.map(json) },
  { name: 'SubplanFinished', check: compiled.SubplanFinished as Check, schema: SubplanFinished, open: false, valid: subplanFinishedArb.map(json) },
  { name: 'ApprovalResponse', check: compiled.ApprovalResponse as Check, schema: ApprovalResponse, open: true, valid: approvalArb.map(json) },
  { name: 'DecisionResponse', check: compiled.DecisionResponse as Check, schema: DecisionResponse, open: true, valid: decisionArb.map(json) },
  { name: 'ReviewEditResponse', check: compiled.ReviewEditResponse as Check, schema: ReviewEditResponse, open: true, valid: reviewEditArb.map(json) },
];
const pair = (name: string): Pair => PAIRS.find((p) => p.name === name)!;

/** The property itself: a passed check means zod accepts the value and returns it unchanged. */
function agreesWithZod(p: Pair, value: unknown): void {
  if (!p.check(value)) return;
  const parsed = p.schema.safeParse(value);
  assert.ok(parsed.success, `${p.name}: the compiled check passed what zod refuses: ${parsed.success ? '' : parsed.error.message}\n${JSON.stringify(value)}`);
  if (!p.open) assert.deepStrictEqual(parsed.data, value, `${p.name}: zod changed a value the compiled check passed`);
}

describe('compiled shape checks against their zod schemas', () => {
  for (const p of PAIRS) {
    it(`${p.name}: passes every generated valid payload, which zod returns unchanged`, () => {
      fc.assert(
        fc.property(p.valid, (value) => {
          const parsed = p.schema.safeParse(value);
          assert.ok(parsed.success, `the generator made an invalid ${p.name}: ${parsed.success ? '' : parsed.error.message}`);
          assert.ok(p.check(value), `${p.name}: the compiled check refused a valid payload, which would load zod in the workflow\n${JSON.stringify(value)}`);
          if (!p.open) assert.deepStrictEqual(parsed.data, value);
        }),
        fcParams(p.name === 'PlanSpec' ? 150 : 300),
      );
    });

    it(`${p.name}: never passes what zod refuses or changes (mutated payloads and arbitrary values)`, () => {
      let passed = 0;
      let refused = 0;
      fc.assert(
        fc.property(fc.oneof({ weight: 4, arbitrary: fc.tuple(p.valid, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([value, m]) => mutated(value, m)) }, weirdValue.map(plain)), (value) => {
          if (p.check(value)) passed += 1;
          else refused += 1;
          agreesWithZod(p, value);
        }),
        fcParams(p.name === 'PlanSpec' ? 600 : 1000),
      );
      // Both outcomes happened, so the property was tested on each side.
      assert.ok(passed > 0 && refused > 0, `${p.name}: ${passed} passed and ${refused} refused`);
    });
  }

  it('an unknown field goes to zod, which strips it (closed checks) or keeps it (open checks)', () => {
    const submission = { nodeId: 'draft', structuredOutput: { ok: true }, extra: 1 };
    assert.equal(pair('AgentSubmission').check(submission), false);
    const parsed = AgentSubmission.safeParse(submission);
    assert.ok(parsed.success);
    assert.deepStrictEqual(parsed.data, { nodeId: 'draft', structuredOutput: { ok: true } });
    const spec = { id: 'p', nodes: [{ id: 'a', type: 'task', objective: 'x', color: 'red' }] };
    assert.equal(pair('PlanSpec').check(spec), false, 'a plan node with an unknown field must go to zod, which names the field');
    assert.equal(pair('ApprovalResponse').check({ approved: true, extra: 1 }), true);
  });

  it('reserved ids and artifact names are refused by both', () => {
    for (const id of ['__proto__', 'prototype', 'constructor']) {
      const spec = { id: 'p', nodes: [{ id, type: 'task', objective: 'x' }] };
      assert.equal(pair('PlanSpec').check(spec), false, id);
      assert.equal(PlanSpec.safeParse(spec).success, false, id);
      const submission = { nodeId: 'draft', artifacts: [{ name: id, kind: 'doc', pointer: 's3://x' }] };
      assert.equal(pair('AgentSubmission').check(submission), false, id);
      assert.equal(AgentSubmission.safeParse(submission).success, false, id);
    }
    const fine = { id: 'p', nodes: [{ id: 'toString', type: 'task', objective: 'x' }] };
    assert.equal(pair('PlanSpec').check(fine), true, 'only the three reserved names are refused');
  });

  it('an own "__proto__" key in a record goes to zod, whose output drops it', () => {
    const submission = JSON.parse('{"nodeId":"draft","structuredOutput":{"__proto__":{"x":1},"ok":true}}');
    assert.equal(pair('AgentSubmission').check(submission), false);
    const parsed = AgentSubmission.safeParse(submission);
    assert.ok(parsed.success);
    assert.deepStrictEqual(Object.keys(parsed.data.structuredOutput!), ['ok']);
  });

  it('a maximum length counts UTF-16 code units, so a text zod measures in code points may go to zod', () => {
    const label = (n: number) => ({ id: 'p', nodes: [{ id: 'a', type: 'task', objective: 'x', label: '🙂'.repeat(n) }] });
    assert.equal(pair('PlanSpec').check(label(250)), true, '500 code units is the limit');
    assert.equal(pair('PlanSpec').check(label(251)), false, '502 code units is over it in units');
    assert.equal(PlanSpec.safeParse(label(251)).success, true, 'but 251 code points is within it for zod, which decides');
    assert.equal(pair('PlanSpec').check(label(501)), false);
    assert.equal(PlanSpec.safeParse(label(501)).success, false, '501 code points is over it for both');
  });

  it('a date-time is checked with the pattern zod uses (an offset is required)', () => {
    const at = (notBefore: string) => ({ id: 'p', nodes: [{ id: 'a', type: 'task', objective: 'x', notBefore }] });
    for (const text of ['2026-12-01T09:00:00Z', '2026-12-01T09:00:00.123+01:00', '2026-12-01T09:00:00', '2026-12-01', 'tomorrow', '2026-13-01T09:00:00Z']) {
      assert.equal(pair('PlanSpec').check(at(text)), PlanSpec.safeParse(at(text)).success, text);
    }
    assert.equal(pair('PlanSpec').check(at('2026-12-01T09:00:00Z')), true);
  });

  it('numbers zod refuses (NaN, infinities, unsafe or fractional integers) are refused', () => {
    for (const attempt of [NaN, Infinity, 1.5, 0, 2 ** 53]) assert.equal(pair('AgentSubmission').check({ nodeId: 'draft', attempt }), false, String(attempt));
    for (const costUsd of [NaN, Infinity, -1]) assert.equal(pair('AgentSubmission').check({ nodeId: 'draft', usage: { costUsd } }), false, String(costUsd));
    assert.equal(pair('AgentSubmission').check({ nodeId: 'draft', attempt: 2 ** 53 - 1, usage: { costUsd: 1e308 } }), true);
  });
});

describe('the generated shape checks file', () => {
  it('is what the generator writes from the current zod schemas', () => {
    const committed = readFileSync(join(ROOT, SHAPE_CHECKS_FILE), 'utf8');
    assert.ok(committed === renderShapeChecks(), `${SHAPE_CHECKS_FILE} is stale: run \`npm run build && npm run gen:shapes\``);
  });

  it('lets a fresh process check a valid plan and result without loading zod, and loads zod for an invalid one', () => {
    const script = `
      const loadedZod = () => Object.keys(require.cache).some((file) => /[\\\\/]node_modules[\\\\/]zod[\\\\/]/.test(file));
      const engine = require(${JSON.stringify(join(DIST, 'src', 'engine', 'core.js'))});
      const { validatePlanSpec } = require(${JSON.stringify(join(DIST, 'src', 'engine', 'validate-spec.js'))});
      const { MESSAGE_SHAPES } = require(${JSON.stringify(join(DIST, 'src', 'engine', 'message-shapes.js'))});
      const out = { afterLoad: loadedZod() };
      const plan = { id: 'p', nodes: [{ id: 'a', type: 'task', objective: 'x', owner: { kind: 'agent', ref: 'writer' } }, { id: 'b', type: 'human-approval', owner: { kind: 'human', ref: 'editors' }, approvers: ['alice'] }], edges: [{ from: 'a', to: 'b' }] };
      out.planValid = validatePlanSpec(plan).errors;
      out.submission = engine.parseMessage(MESSAGE_SHAPES.AgentSubmission, { nodeId: 'a', structuredOutput: { ok: true } }, 'result').refused;
      out.afterValid = loadedZod();
      out.invalid = engine.parseMessage(MESSAGE_SHAPES.AgentSubmission, { nodeId: '', attempt: 0 }, 'result').message;
      out.afterInvalid = loadedZod();
      console.log(JSON.stringify(out));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
    assert.equal(out.afterLoad, false, 'loading the engine core loaded zod');
    assert.deepStrictEqual(out.planValid, [], 'the plan is valid');
    assert.equal(out.submission, false);
    assert.equal(out.afterValid, false, 'a valid plan or result loaded zod');
    assert.match(out.invalid, /^Invalid result payload: nodeId: must not be empty; attempt: /, "zod's wording, with each path");
    assert.equal(out.afterInvalid, true);
  });
});
