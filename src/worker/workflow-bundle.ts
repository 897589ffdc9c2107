/**
 * The workflow bundle, built once by `npm run build` (scripts/build-workflow-bundle.ts) into
 * `dist/workflow-bundle.js`, instead of by every worker at its start (docs/performance.md#the-workflow-bundle).
 *
 * The build is `bundleWorkflowCode` with four changes to its webpack configuration, none of which
 * changes what the workflow code does (the committed histories replay against the built bundle):
 *
 * - **An inline source map without the sources' text** (`inline-nosources-source-map`). The worker
 *   only reads an inline map (it refuses a bundle without one), and uses it to turn stack frames into
 *   file, line and column of the original code: that part stays. What goes is the copy of every
 *   source file in the map, which only the enhanced stack-trace query shows, and only with the
 *   worker option `showStackTraceSources` (plan-runner leaves it off).
 * - **Minified by terser, function and class names kept.** Workflow types are the export names,
 *   which minification never touches; the kept names are for everything else that reads a name at
 *   run time: the failure type of an error (`error.constructor.name`), stack traces.
 * - **Numeric module ids** (webpack's production default) instead of file paths.
 * - **No zod locales.** zod's `z.locales` (40-odd translations of its messages, ~400 KiB) is only
 *   re-exported, never used by zod itself, and plan-runner's workflow code never calls it; English,
 *   the default, is loaded by zod's schemas themselves.
 * - **No source map for code no workflow stack frame points into**: the generated shape checks
 *   (`src/engine/generated/`: machine code from the zod schemas that only returns true or false and
 *   never throws; ~90 KB of map) and zod's JSON Schema conversion (`toJSONSchema`,
 *   `fromJSONSchema`), which zod's entry point loads but the workflow never calls (~80 KB). Every
 *   other module keeps its map.
 *
 * Next to the bundle the build writes a manifest: the SHA-256 of the bundle and of every file that
 * went into it. A worker uses the bundle only if every one of those files is unchanged; otherwise
 * (no bundle, an edited file after a plain `tsc`, another SDK version installed) it bundles the
 * workflows at start, as before, and warns why.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type BundleOptions, type Logger, type WorkflowBundleOption } from '@temporalio/worker';

/** The compiled workflows module: what is bundled (`dist/src/workflows/index.js`). */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/** `dist/workflow-bundle.js`: where `npm run build` writes the bundle (from `dist/src/worker/`). */
export const BUILT_WORKFLOW_BUNDLE_PATH = path.resolve(__dirname, '../../workflow-bundle.js');

/** The manifest beside the bundle: what it was built from (`WorkflowBundleManifest`). */
export function manifestPathFor(codePath: string): string {
  return codePath.replace(/\.js$/, '') + '.manifest.json';
}

/** The licence notices terser moves out of the minified code (re2js, long, @noble/hashes, …). */
export function licencePathFor(codePath: string): string {
  return `${codePath}.LICENSE.txt`;
}

/** The size the bundle must stay within (issue 14: ≤ 2 MiB); the unit tests check it. */
export const WORKFLOW_BUNDLE_BUDGET_BYTES = 2 * 1024 * 1024;

/** What `dist/workflow-bundle.manifest.json` records about the bundle beside it. */
export interface WorkflowBundleManifest {
  /** The manifest's format. */
  version: 1;
  /** The `@temporalio/worker` version that built it (informational: the file hashes decide). */
  temporalWorker: string;
  /** The bundle file's size in bytes and its SHA-256 (hex). */
  bundleBytes: number;
  bundleSha256: string;
  /**
   * Every file on disk that webpack put into the bundle, by path relative to the manifest's folder,
   * with its SHA-256 (hex): the compiled workflows and engine, zod, re2js, the SDK's workflow code.
   */
  inputs: Record<string, string>;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * The webpack configuration change behind the built bundle (see the module comment for each part);
 * `inputs` collects the absolute path of every module file webpack read, for the manifest.
 */
export function productionWebpackConfigHook(inputs?: Set<string>): NonNullable<BundleOptions['webpackConfigHook']> {
  return (config) => {
    config.devtool = 'inline-nosources-source-map';
    config.optimization = {
      ...config.optimization,
      minimize: true,
      // webpack's default JavaScript minimizer (terser) with its default options, plus the names.
      minimizeOptions: { javascript: { compress: { passes: 2 }, keep_fnames: true, keep_classnames: true } },
      // Short numeric module ids instead of paths (`../node_modules/zod/v4/core/schemas.cjs`), which
      // the code repeats at every require: ~37 KB, and no build machine's layout in the bundle.
      moduleIds: 'deterministic',
    };
    // Module path comments (`/*! ./spec */`): terser would move each into the licence file.
    config.output = { ...config.output, pathinfo: false };
    config.resolve = {
      ...config.resolve,
      alias: { ...(config.resolve?.alias as Record<string, string | false>), [zodLocalesIndex()]: false },
    };
    config.plugins = [
      ...(config.plugins ?? []),
      {
        apply(compiler) {
          compiler.hooks.compilation.tap('plan-runner-unmapped-modules', (compilation) => {
            // After the devtool's own tap, which turns every module's map on (stage 0).
            compilation.hooks.buildModule.tap({ name: 'plan-runner-unmapped-modules', stage: 10 }, (module) => {
              const resource = (module as { resource?: string }).resource;
              if (resource && UNMAPPED_MODULE.test(resource)) module.useSourceMap = false;
            });
          });
        },
      },
    ];
    if (inputs) {
      config.plugins = [
        ...(config.plugins ?? []),
        {
          apply(compiler) {
            compiler.hooks.done.tap('plan-runner-bundle-inputs', (stats) => {
              for (const module of stats.compilation.modules) {
                const resource = (module as { resource?: string }).resource;
                // The SDK's generated entry point lives in webpack's in-memory file system only.
                if (resource && fs.existsSync(resource)) inputs.add(resource);
              }
            });
          },
        },
      ];
    }
    return config;
  };
}

/** Modules bundled without a source map of their own (see the module comment). */
const UNMAPPED_MODULE = new RegExp(
  [
    String.raw`[\\/]engine[\\/]generated[\\/][^\\/]+\.js$`,
    String.raw`[\\/]zod[\\/]v4[\\/](?:core[\\/](?:json-schema|json-schema-generator|json-schema-processors|to-json-schema)|classic[\\/]from-json-schema)\.cjs$`,
  ].join('|'),
);

/** zod's `locales/index.cjs`, the module `z.locales` re-exports (aliased to an empty module). */
function zodLocalesIndex(): string {
  // zod's `exports` map hides its files; its package.json is reachable, and the file sits beside it.
  return path.join(path.dirname(require.resolve('zod/package.json')), 'v4', 'locales', 'index.cjs');
}

/** What `buildWorkflowBundle` wrote. */
export interface BuiltWorkflowBundle {
  codePath: string;
  manifestPath: string;
  manifest: WorkflowBundleManifest;
}

/**
 * Bundles `workflowsPath` with the production configuration and writes the bundle, its licence
 * notices and its manifest (each written to a temporary file and renamed, so that a build that stops
 * halfway leaves no half-written bundle). Throws when the minified code lost the workflow functions'
 * names or the inline source map, which would mean that the configuration no longer does what it says.
 */
export async function buildWorkflowBundle(options: { workflowsPath: string; codePath?: string; logger?: Logger }): Promise<BuiltWorkflowBundle> {
  const codePath = path.resolve(options.codePath ?? BUILT_WORKFLOW_BUNDLE_PATH);
  const inputs = new Set<string>();
  let licence = '';
  const hook = productionWebpackConfigHook(inputs);
  const { code: raw } = await bundleWorkflowCode({
    workflowsPath: options.workflowsPath,
    logger: options.logger,
    webpackConfigHook: (config) => {
      const configured = hook(config);
      configured.plugins = [
        ...(configured.plugins ?? []),
        {
          apply(compiler) {
            // The notices are a second asset, which bundleWorkflowCode drops (it returns the first
            // one); read while the assets still have their content (after emitting only sizes remain).
            compiler.hooks.thisCompilation.tap('plan-runner-bundle-licence', (compilation) => {
              const stage = compiler.webpack.Compilation.PROCESS_ASSETS_STAGE_REPORT;
              compilation.hooks.processAssets.tap({ name: 'plan-runner-bundle-licence', stage }, (assets) => {
                for (const [name, asset] of Object.entries(assets)) {
                  if (name.endsWith('.LICENSE.txt')) licence = asset.source().toString();
                }
              });
            });
          },
        },
      ];
      return configured;
    },
  });
  // terser's first line names its hashed asset; point it at the file written below. Only line 1
  // changes, so the source map's mappings (by line, then column) stay right.
  const code = raw.replace(/^\/\*! For license information please see \S+ \*\//, `/*! For license information please see ${path.basename(licencePathFor(codePath))} */`);
  assertProductionBundle(code, workflowFunctionNames(options.workflowsPath));

  const dir = path.dirname(codePath);
  const manifest: WorkflowBundleManifest = {
    version: 1,
    temporalWorker: temporalWorkerVersion(),
    bundleBytes: Buffer.byteLength(code),
    bundleSha256: sha256(code),
    inputs: Object.fromEntries(
      [...inputs].sort().map((file) => [path.relative(dir, file).split(path.sep).join('/'), sha256(fs.readFileSync(file))]),
    ),
  };
  fs.mkdirSync(dir, { recursive: true });
  writeAtomically(codePath, code);
  writeAtomically(licencePathFor(codePath), licence);
  // The manifest last: a bundle is only ever used together with the manifest written after it.
  const manifestPath = manifestPathFor(codePath);
  writeAtomically(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { codePath, manifestPath, manifest };
}

function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

/** The workflow types the bundle exports: the functions `workflowsPath` exports. */
function workflowFunctionNames(workflowsPath: string): string[] {
  // The compiled module loads outside the sandbox too (the SDK's workflow API only throws when called).
  const exported = require(workflowsPath) as Record<string, unknown>;
  return Object.keys(exported).filter((name) => typeof exported[name] === 'function');
}

/**
 * The checks `buildWorkflowBundle` makes on the code it writes: an inline source map (the worker
 * refuses a bundle without one), and each workflow function still declared under its own name
 * (`keep_fnames` took effect: a later webpack whose minimizer ignored it would fail here, not in a
 * stack trace in production).
 */
export function assertProductionBundle(code: string, workflowNames: string[]): void {
  if (!/\/\/# sourceMappingURL=data:application\/json;[^,]*base64,/.test(code)) {
    throw new Error('the workflow bundle has no inline source map: the worker would refuse it');
  }
  const lost = workflowNames.filter((name) => !new RegExp(`function ${name}\\(`).test(code));
  if (workflowNames.length === 0 || lost.length > 0) {
    throw new Error(`the minified workflow bundle lost the names of workflow functions [${lost.join(', ') || 'none found'}]: keep_fnames did not take effect`);
  }
}

function temporalWorkerVersion(): string {
  return (require('@temporalio/worker/package.json') as { version: string }).version;
}

/** The built bundle, if it can be used: `{ codePath }`; else why not (for the warning). */
export type BuiltBundleCheck = { ok: true; codePath: string; manifest: WorkflowBundleManifest } | { ok: false; reason: string };

/**
 * Whether the built bundle at `codePath` is there and was built from the files now on disk: the
 * bundle's own hash and each input's hash against the manifest (~2.5 MB of files to hash: a few ms).
 * A file changed after the build (a `tsc` without `npm run build`, a `git checkout`, another version
 * of zod or of the SDK installed) makes it stale.
 */
export function checkBuiltWorkflowBundle(codePath: string = BUILT_WORKFLOW_BUNDLE_PATH): BuiltBundleCheck {
  const absolute = path.resolve(codePath);
  const manifestPath = manifestPathFor(absolute);
  if (!fs.existsSync(absolute)) return { ok: false, reason: `${absolute} is missing (npm run build writes it)` };
  let manifest: WorkflowBundleManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as WorkflowBundleManifest;
  } catch (error) {
    return { ok: false, reason: `its manifest ${manifestPath} is unreadable (${error instanceof Error ? error.message : String(error)})` };
  }
  if (manifest.version !== 1 || typeof manifest.inputs !== 'object' || manifest.inputs === null) {
    return { ok: false, reason: `its manifest ${manifestPath} is not one this version reads` };
  }
  if (sha256(fs.readFileSync(absolute)) !== manifest.bundleSha256) {
    return { ok: false, reason: `${absolute} is not the bundle its manifest describes` };
  }
  const dir = path.dirname(absolute);
  for (const [relative, hash] of Object.entries(manifest.inputs)) {
    const file = path.resolve(dir, relative);
    let now: string;
    try {
      now = sha256(fs.readFileSync(file));
    } catch {
      return { ok: false, reason: `${file}, which it was built from, is gone` };
    }
    if (now !== hash) return { ok: false, reason: `${file} changed after it was built (run npm run build)` };
  }
  return { ok: true, codePath: absolute, manifest };
}

/**
 * For tests and scripts that run the workflows themselves (the integration harness, the replay test,
 * `record-histories`): the built bundle when it is fresh, so that they run what a worker runs; else
 * the workflows bundled now as a worker bundles them at start, after `warn` was told why.
 */
export async function builtBundleOrBundleNow(options: { warn: (message: string) => void; logger?: Logger }): Promise<WorkflowBundleOption> {
  const built = checkBuiltWorkflowBundle();
  if (built.ok) return { codePath: built.codePath };
  options.warn(`not using the built workflow bundle: ${built.reason}; bundling the workflows now`);
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: options.logger });
}
