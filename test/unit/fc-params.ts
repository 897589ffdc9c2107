/**
 * fast-check parameters shared by the property and fuzz tests, so every failure can be replayed.
 *
 * - The seed is random per run unless `FC_SEED` is set; it is printed as a test diagnostic even when
 *   the property passes, and fast-check's failure report (the error message node:test prints) names
 *   the seed, the shrink path and the counterexample.
 * - Replay a failure: `FC_SEED=<seed> FC_PATH=<path> node --test --test-name-pattern='<test name>' dist/test/…`
 *   (with FC_PATH, fast-check runs that one shrunk case straight away).
 * - `FC_NUM_RUNS` overrides the number of runs (e.g. a longer soak: FC_NUM_RUNS=100000).
 */
import type fc from 'fast-check';

export interface SeededParameters<T> extends fc.Parameters<T> {
  seed: number;
}

export function fcParams<T = unknown>(numRuns: number, extra: fc.Parameters<T> = {}): SeededParameters<T> {
  const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
  const path = process.env.FC_PATH;
  const runs = process.env.FC_NUM_RUNS !== undefined ? Number(process.env.FC_NUM_RUNS) : numRuns;
  return { numRuns: runs, includeErrorInReport: true, ...extra, seed, ...(path ? { path, endOnFailure: true } : {}) };
}

/** The line printed before each property runs (node:test shows diagnostics under the test). */
export function seedLine(parameters: { seed: number; numRuns?: number }, file: string): string {
  return `fast-check seed ${parameters.seed} (${parameters.numRuns} runs); replay with FC_SEED=${parameters.seed} [FC_PATH=<path from the failure>] node --test ${file}`;
}
