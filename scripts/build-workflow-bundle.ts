/**
 * `node dist/scripts/build-workflow-bundle.js` (the last step of `npm run build`): bundles the
 * compiled workflows once, into `dist/workflow-bundle.js` with its manifest and licence notices, so
 * that a worker starts from the file instead of bundling at every start (src/worker/workflow-bundle.ts
 * says what the bundle is and when a worker uses it).
 *
 * It runs on every `npm run build`, after `tsc`, so the bundle is rebuilt from the code just compiled;
 * a worker also checks the manifest against the files on disk and does not use a stale bundle.
 */
import path from 'node:path';
import { DefaultLogger } from '@temporalio/worker';
import { BUILT_WORKFLOW_BUNDLE_PATH, WORKFLOWS_PATH, WORKFLOW_BUNDLE_BUDGET_BYTES, buildWorkflowBundle } from '../src/worker/workflow-bundle';

/** Builds the bundle and prints its size against the budget; resolves to the exit code. */
export async function main(): Promise<number> {
  const started = Date.now();
  const { codePath, manifest } = await buildWorkflowBundle({
    workflowsPath: WORKFLOWS_PATH,
    codePath: BUILT_WORKFLOW_BUNDLE_PATH,
    // webpack's own summary is long and says nothing a successful build needs; errors still show.
    logger: new DefaultLogger('WARN'),
  });
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);
  const shown = path.relative(process.cwd(), codePath) || codePath;
  console.log(
    `workflow bundle: ${shown}, ${mib(manifest.bundleBytes)} MiB (budget ${mib(WORKFLOW_BUNDLE_BUDGET_BYTES)} MiB), ` +
      `${Object.keys(manifest.inputs).length} files, ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  // Over the budget is a warning here (the build is still usable); the unit tests fail on it.
  if (manifest.bundleBytes > WORKFLOW_BUNDLE_BUDGET_BYTES) console.warn('workflow bundle: over its size budget (docs/performance.md#the-workflow-bundle)');
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error('building the workflow bundle failed:', error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
