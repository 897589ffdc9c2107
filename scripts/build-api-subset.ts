/**
 * `node dist/scripts/build-api-subset.js` (a step of `npm run build`): writes the part of the
 * Temporal API the CLI's light client speaks to `dist/temporal-api-subset.json`
 * (src/client/light/api-subset.ts says what it is and why). Without the file the CLI still works,
 * through the full Temporal client.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as protobuf from 'protobufjs';
import { API_SUBSET_FILE, apiSubset } from '../src/client/light/api-subset';

/** Writes the subset and prints its size; resolves to the exit code. */
export function main(): number {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const root = require('@temporalio/proto') as protobuf.Root;
  const { version } = require('@temporalio/proto/package.json') as { version: string };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const subset = apiSubset(root, version);
  const file = path.resolve(__dirname, '..', '..', API_SUBSET_FILE);
  mkdirSync(path.dirname(file), { recursive: true });
  const text = JSON.stringify(subset);
  writeFileSync(file, text);
  console.log(`temporal API subset: ${path.relative(process.cwd(), file) || file}, ${(text.length / 1024).toFixed(0)} KiB, ${Object.keys(subset.methods).length} methods`);
  return 0;
}

if (require.main === module) process.exit(main());
