/**
 * Writes `src/engine/generated/shape-checks.ts`: validators compiled ahead of time (Ajv's standalone
 * code) from the zod schemas of the plan spec and of the messages that arrive on every node. The
 * workflow checks a plan and each result with them instead of zod, so a run's sandbox never
 * evaluates zod unless something is wrong (docs/performance.md, "No zod in the workflow").
 *
 *   node dist/scripts/generate-shape-checks.js          # (re)generate the file
 *   node dist/scripts/generate-shape-checks.js --check  # exit 1 if the committed file is stale
 *
 * Each check must never accept what zod refuses, and zod's output for what it accepts must equal
 * the input. So every object is closed (`additionalProperties: false`, where zod would strip an
 * unknown field: such a payload goes to zod, which strips it), a record refuses an own `__proto__`
 * key (zod's output drops it), lengths count UTF-16 code units (zod counts code points, so a text
 * over a maximum in units but not in code points goes to zod, which accepts it; a minimum above 1
 * would be laxer than zod and stops this script), patterns run without the `u` flag (as zod runs
 * them), formats are left to the
 * patterns zod checks them with, and anything zod does that JSON Schema cannot say (a default, a
 * transform, a refinement other than "not a reserved name") stops this script instead of being
 * dropped. `test/unit/shape-checks.test.ts` checks the two against each other on generated values.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import Ajv from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import { z } from 'zod';
import { RESERVED_SEGMENTS, isNotReservedSegment } from '../src/engine/limits';
import { AgentSubmission, ApprovalResponse, DecisionResponse, HumanResponse, ReviewEditResponse, SubplanFinished } from '../src/engine/messages';
import { PlanSpec } from '../src/engine/spec';

export const SHAPE_CHECKS_FILE = 'src/engine/generated/shape-checks.ts';

/**
 * The schemas that get a check, and whether the check may accept unknown fields: only where the
 * caller wants a verdict and never the parsed value (the answers to human nodes).
 */
const CHECKED: Record<string, { schema: z.ZodType; open?: boolean }> = {
  PlanSpec: { schema: PlanSpec },
  AgentSubmission: { schema: AgentSubmission },
  HumanResponse: { schema: HumanResponse },
  SubplanFinished: { schema: SubplanFinished },
  ApprovalResponse: { schema: ApprovalResponse, open: true },
  DecisionResponse: { schema: DecisionResponse, open: true },
  ReviewEditResponse: { schema: ReviewEditResponse, open: true },
};

/** zod schema types JSON Schema says exactly (with the checks below); anything else stops the script. */
const EXACT_TYPES = new Set(['object', 'string', 'number', 'boolean', 'literal', 'enum', 'union', 'array', 'record', 'unknown', 'optional']);

interface ZodInternals {
  _zod: { def: { type: string; checks?: Array<{ _zod: { def: { check: string; format?: string; pattern?: RegExp; fn?: unknown; minimum?: number } } }> } };
}

/** The JSON Schema (draft-07) of one zod schema, as strict as zod or stricter. */
export function shapeJsonSchema(name: string, schema: z.ZodType, open = false): Record<string, unknown> {
  const json = z.toJSONSchema(schema, {
    target: 'draft-07',
    io: 'input',
    reused: 'ref',
    // No descriptions: the checks are code, not documentation.
    metadata: z.registry(),
    override: (ctx) => {
      const def = (ctx.zodSchema as unknown as ZodInternals)._zod.def;
      const out = ctx.jsonSchema as Record<string, unknown>;
      const where = `${name}${ctx.path.length ? ` at ${ctx.path.join('.')}` : ''}`;
      if (!EXACT_TYPES.has(def.type)) throw new Error(`${where}: a zod ${def.type} has no exact JSON Schema; leave this schema to zod or extend scripts/generate-shape-checks.ts`);
      if (def.type === 'object' && !open) out.additionalProperties = false;
      // zod builds a record's output by assignment, so an own `__proto__` key of the input is not in
      // it (it sets the output's prototype instead): such a payload goes to zod, as before.
      if (def.type === 'record') out.propertyNames = { ...(out.propertyNames as object), not: { const: '__proto__' } };
      for (const check of def.checks ?? []) {
        const checkDef = check._zod.def;
        if (checkDef.check === 'custom') {
          if (checkDef.fn !== isNotReservedSegment) throw new Error(`${where}: a refinement JSON Schema cannot say; use isNotReservedSegment or leave this schema to zod`);
          out.not = { enum: [...RESERVED_SEGMENTS] };
        } else if (checkDef.check === 'min_length' && (checkDef.minimum ?? 0) > 1) {
          // Code units are at least as many as code points: a minimum above 1 in units would pass a
          // text zod refuses (two emoji are four units but two code points).
          throw new Error(`${where}: a minimum length above 1 cannot be checked exactly here (zod counts code points)`);
        } else if (checkDef.check === 'string_format') {
          if (checkDef.format !== 'regex' && checkDef.format !== 'datetime') throw new Error(`${where}: string format ${checkDef.format} is not checked exactly here`);
          if (!checkDef.pattern || checkDef.pattern.flags !== '') throw new Error(`${where}: a pattern with flags cannot be checked exactly here`);
          // zod checks a date-time with this pattern alone; Ajv's own `format` check would differ.
          out.pattern = checkDef.pattern.source;
          delete out.format;
        }
      }
      if ('default' in out) throw new Error(`${where}: a default changes the parsed value; leave this schema to zod`);
    },
  }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** The generated module's text. */
export function renderShapeChecks(): string {
  const ajv = new Ajv({
    code: { source: true, esm: true, lines: true, optimize: true },
    // Only the verdict is used: the first failure ends a check, and zod words the problem.
    inlineRefs: false,
    allErrors: false,
    messages: false,
    // Lengths in UTF-16 code units (the module comment says why that is safe), which needs no
    // runtime helper in the generated code; zod counts code points.
    unicode: false,
    unicodeRegExp: false,
    validateFormats: false,
    strict: true,
    // `unicode` is deprecated in Ajv 8 (its default counts code points) but honoured.
    logger: false,
  });
  for (const [name, { schema, open }] of Object.entries(CHECKED)) ajv.addSchema({ ...shapeJsonSchema(name, schema, open), $id: name });
  const code = standaloneCode(ajv, Object.fromEntries(Object.keys(CHECKED).map((name) => [name, name])));
  if (/\brequire\(/.test(code)) throw new Error('the generated checks need an Ajv runtime module; the workflow bundle should stay free of them');
  return [
    '// @ts-nocheck',
    `// Generated by scripts/generate-shape-checks.ts from the zod schemas (${Object.keys(CHECKED).join(', ')}).`,
    '// Do not edit: `npm run build && npm run gen:shapes` regenerates it, and `npm test` fails when it is stale.',
    withoutErrorObjects(code.replace(/^"use strict";/, '')),
    '',
  ].join('\n');
}

/**
 * The code with each error object replaced by `null`. Only the verdict is used (zod words every
 * problem), and the objects were half the code. The arrays keep their lengths, because the code
 * counts errors to decide `anyOf`, `oneOf` and `not`. With `lines: true`, Ajv writes each such
 * statement on a line of its own, and each pattern must match at least once.
 */
function withoutErrorObjects(code: string): string {
  let replaced = 0;
  const out = code
    .split('\n')
    .map((line) => {
      const next = line.replace(/^(validate\d+\.errors = \[)\{.*\}(\];)$/, '$1null$2').replace(/^(const err\d+ = )\{.*\};$/, '$1null;');
      if (next !== line) replaced += 1;
      return next;
    })
    .join('\n');
  if (replaced === 0 || /errors = \[\{|const err\d+ = \{/.test(out)) throw new Error('Ajv wrote its error objects in an unexpected form: update withoutErrorObjects');
  return out;
}

/** The project root: this file runs from dist/scripts/ (compiled) or scripts/. */
function projectRoot(): string {
  const here = __dirname;
  return resolve(here, here.split(/[\\/]/).includes('dist') ? '../..' : '..');
}

export function main(argv: string[] = process.argv.slice(2)): number {
  const target = join(projectRoot(), SHAPE_CHECKS_FILE);
  const shown = relative(process.cwd(), target) || target;
  const expected = renderShapeChecks();
  if (argv.includes('--check')) {
    let current: string | undefined;
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === expected) {
      console.log(`${shown} is up to date.`);
      return 0;
    }
    console.error(current === undefined ? `${shown} is missing.` : `${shown} is out of date: it no longer matches the zod schemas.`);
    console.error('Run `npm run build && npm run gen:shapes` and commit the result.');
    return 1;
  }
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, expected);
  console.log(`wrote ${shown}`);
  return 0;
}

if (require.main === module) process.exit(main());
