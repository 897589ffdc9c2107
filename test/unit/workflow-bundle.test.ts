/**
 * The workflow bundle `npm run build` writes (dist/workflow-bundle.js, src/worker/workflow-bundle.ts):
 * fresh, within its size budget, with what the worker needs of it (an inline source map that still
 * points at the original files, the workflow functions' names), and a worker that refuses a stale one.
 * The histories replay against this same file (replay.test.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { workflowSource } from '../../src/worker';
import {
  BUILT_WORKFLOW_BUNDLE_PATH,
  WORKFLOWS_PATH,
  WORKFLOW_BUNDLE_BUDGET_BYTES,
  assertProductionBundle,
  checkBuiltWorkflowBundle,
  licencePathFor,
  manifestPathFor,
  type WorkflowBundleManifest,
} from '../../src/worker/workflow-bundle';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The source map inlined at the end of a bundle, parsed. */
function inlineSourceMap(code: string): { sources: string[]; sourcesContent?: unknown; mappings: string } {
  const at = code.lastIndexOf('//# sourceMappingURL=data:');
  assert.ok(at > 0, 'no inline source map');
  const base64 = code.slice(code.indexOf('base64,', at) + 'base64,'.length).trimEnd();
  return JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
}

describe('the built workflow bundle', () => {
  const check = checkBuiltWorkflowBundle();

  test('is there and was built from the files now on disk (npm run build writes it)', () => {
    assert.ok(check.ok, check.ok ? '' : `${check.reason}: run npm run build`);
  });

  test(`stays within its budget of ${WORKFLOW_BUNDLE_BUDGET_BYTES / 1024 / 1024} MiB`, () => {
    const bytes = fs.statSync(BUILT_WORKFLOW_BUNDLE_PATH).size;
    assert.ok(bytes <= WORKFLOW_BUNDLE_BUDGET_BYTES, `${(bytes / 1024 / 1024).toFixed(2)} MiB (docs/performance.md#the-workflow-bundle)`);
  });

  test('keeps the workflow names and an inline source map to the original files, without their text', () => {
    const code = fs.readFileSync(BUILT_WORKFLOW_BUNDLE_PATH, 'utf8');
    assertProductionBundle(code, ['planRun']);
    const map = inlineSourceMap(code);
    assert.equal(map.sourcesContent, undefined);
    // Through tsc's own maps back to the TypeScript the stack frames should name.
    assert.ok(map.sources.some((source) => source.endsWith('src/workflows/plan-run.ts')), 'plan-run.ts is not among the sources');
    assert.ok(map.sources.some((source) => source.endsWith('src/engine/step.ts')), 'engine/step.ts is not among the sources');
    assert.ok(!map.sources.some((source) => /zod[\\/]v4[\\/]locales[\\/](?!en\.)/.test(source)), 'zod locales other than en are in the bundle');
    assert.ok(map.mappings.length > 0);
    assert.match(fs.readFileSync(licencePathFor(BUILT_WORKFLOW_BUNDLE_PATH), 'utf8'), /@license/);
  });

  test('is what a worker runs unless it is given a bundle or told to bundle at start', () => {
    assert.deepEqual(workflowSource({ workflowBundle: { code: 'x' } }).options, { workflowBundle: { code: 'x' } });
    assert.deepEqual(workflowSource({ bundleAtStart: true }).options, { workflowsPath: WORKFLOWS_PATH });
    if (check.ok) assert.deepEqual(workflowSource().options, { workflowBundle: { codePath: BUILT_WORKFLOW_BUNDLE_PATH } });
  });
});

describe('a stale or missing workflow bundle', () => {
  /** A bundle built from one input file, with its manifest, in a fresh folder. */
  function fixture() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-runner-bundle-'));
    const input = path.join(dir, 'src', 'workflow.js');
    fs.mkdirSync(path.dirname(input));
    fs.writeFileSync(input, 'exports.planRun = async function planRun() {}\n');
    const codePath = path.join(dir, 'workflow-bundle.js');
    const code = 'function planRun(){}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,e30=\n';
    fs.writeFileSync(codePath, code);
    const manifest: WorkflowBundleManifest = {
      version: 1,
      temporalWorker: 'test',
      bundleBytes: code.length,
      bundleSha256: sha256(code),
      inputs: { 'src/workflow.js': sha256(fs.readFileSync(input, 'utf8')) },
    };
    fs.writeFileSync(manifestPathFor(codePath), JSON.stringify(manifest));
    return { dir, input, codePath, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
  }

  test('is used when nothing changed', () => {
    const { codePath, cleanup } = fixture();
    try {
      const result = checkBuiltWorkflowBundle(codePath);
      assert.ok(result.ok, result.ok ? '' : result.reason);
    } finally {
      cleanup();
    }
  });

  test('is not used after an input changed, with the file named', () => {
    const { input, codePath, cleanup } = fixture();
    try {
      fs.appendFileSync(input, '// edited after the build\n');
      const result = checkBuiltWorkflowBundle(codePath);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, /workflow\.js changed after it was built/);
    } finally {
      cleanup();
    }
  });

  test('is not used when an input is gone, the bundle was replaced, or the manifest is missing', () => {
    const { input, codePath, cleanup } = fixture();
    try {
      fs.rmSync(input);
      assert.match(reasonOf(checkBuiltWorkflowBundle(codePath)), /is gone/);
      fs.appendFileSync(codePath, '\n');
      assert.match(reasonOf(checkBuiltWorkflowBundle(codePath)), /not the bundle its manifest describes/);
      fs.rmSync(manifestPathFor(codePath));
      assert.match(reasonOf(checkBuiltWorkflowBundle(codePath)), /manifest .* is unreadable/);
      fs.rmSync(codePath);
      assert.match(reasonOf(checkBuiltWorkflowBundle(codePath)), /is missing \(npm run build writes it\)/);
    } finally {
      cleanup();
    }
  });

  test('minified code that lost the workflow names or the source map is refused at build time', () => {
    const map = '\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,e30=';
    assert.throws(() => assertProductionBundle(`var a=async function(){}${map}`, ['planRun']), /lost the names of workflow functions \[planRun\]/);
    assert.throws(() => assertProductionBundle('async function planRun(){}', ['planRun']), /no inline source map/);
    assertProductionBundle(`async function planRun(){}${map}`, ['planRun']);
  });
});

function reasonOf(result: ReturnType<typeof checkBuiltWorkflowBundle>): string {
  return result.ok ? 'used' : result.reason;
}
