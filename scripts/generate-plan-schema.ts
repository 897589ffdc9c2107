/**
 * Writes `schema/plan.schema.json` (the JSON Schema of plan files, for editors) from the zod schemas
 * in `src/engine/spec.ts`.
 *
 *   node dist/scripts/generate-plan-schema.js          # (re)generate the file
 *   node dist/scripts/generate-plan-schema.js --check  # exit 1 if the committed file is stale
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PLAN_SCHEMA_FILE, renderPlanJsonSchema } from '../src/engine/plan-json-schema';

/** The project root: this file runs from dist/scripts/ (compiled) or scripts/ (ts-node and friends). */
function projectRoot(): string {
  const here = __dirname;
  return resolve(here, here.split(/[\\/]/).includes('dist') ? '../..' : '..');
}

export function main(argv: string[] = process.argv.slice(2)): number {
  const check = argv.includes('--check');
  const target = join(projectRoot(), PLAN_SCHEMA_FILE);
  const shown = relative(process.cwd(), target) || target;
  const expected = renderPlanJsonSchema();

  if (check) {
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
    console.error(
      current === undefined
        ? `${shown} is missing.`
        : `${shown} is out of date: it no longer matches the zod schemas in src/engine/spec.ts.`,
    );
    console.error('Run `npm run build && npm run gen:schema` and commit the result.');
    return 1;
  }

  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, expected);
  console.log(`wrote ${shown}`);
  return 0;
}

if (require.main === module) {
  process.exitCode = main();
}
