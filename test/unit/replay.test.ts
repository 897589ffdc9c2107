/**
 * Safe upgrades: every committed workflow history (test/histories/*.json, recorded from real runs by
 * `npm run record:histories`) must replay against the current workflow code. A change to
 * src/workflows/ that would break runs in flight (a different command sequence for the same
 * history) fails here with a DeterminismViolationError, before any worker runs it.
 *
 * No Temporal server is needed: `Worker.runReplayHistories` feeds the histories to a replay worker.
 * The real workflows are the bundle `npm run build` wrote (dist/workflow-bundle.js, minified, as a
 * worker runs it); when it is missing or stale they are bundled here, with a warning.
 * The determinism tests replay the same histories against deliberately changed copies of the
 * workflow in test/fixtures/changed-workflow/: one changed unsafely (must fail) and one with the
 * same change behind `patched()` (must pass).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode, type ReplayResult, type WorkflowBundleOption } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { HISTORIES_DIR, SCENARIOS } from '../../scripts/record-histories';
import { historyFromJSON, workflowIdOf, type History } from '../replay/history-json';
import { builtBundleOrBundleNow } from '../../src/worker/workflow-bundle';

const CHANGED_WORKFLOWS_PATH = require.resolve('../fixtures/changed-workflow');
const PATCHED_WORKFLOWS_PATH = require.resolve('../fixtures/changed-workflow/patched');

interface HistoryFile {
  name: string;
  file: string;
  workflowId: string;
  history: History;
}

/**
 * Every `*.json` under test/histories/, subfolders included (histories of released versions can be
 * kept in `test/histories/<version>/`). `name` is the path below test/histories/ without `.json`.
 */
function loadHistories(): HistoryFile[] {
  if (!existsSync(HISTORIES_DIR)) return [];
  return (readdirSync(HISTORIES_DIR, { recursive: true }) as string[])
    .filter((entry) => entry.endsWith('.json'))
    .map((entry) => entry.split(path.sep).join('/'))
    .sort()
    .map((entry) => {
      const file = path.join(HISTORIES_DIR, entry);
      const name = entry.replace(/\.json$/, '');
      try {
        const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
        return { name, file, workflowId: workflowIdOf(json) ?? name, history: historyFromJSON(json) };
      } catch (error) {
        throw new Error(`${relative(file)} is not a readable workflow history: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
}

/** Replays the histories one after another on one replay worker; the results by history name. */
async function replayAll(workflowBundle: WorkflowBundleOption, histories: HistoryFile[]): Promise<Map<string, ReplayResult>> {
  const results = new Map<string, ReplayResult>();
  const iterable = histories.map(({ workflowId, history }) => ({ workflowId, history }));
  let index = 0;
  // One result per history, in the order given (the replay worker takes them one at a time).
  for await (const result of Worker.runReplayHistories({ workflowBundle }, iterable)) {
    results.set(histories[index++].name, result);
  }
  return results;
}

const relative = (file: string) => path.relative(process.cwd(), file) || file;

describe('workflow replay (safe upgrades)', () => {
  const histories = loadHistories();
  let real: Promise<WorkflowBundleOption>;
  let changed: Promise<WorkflowBundleOption>;
  let patched: Promise<WorkflowBundleOption>;

  before(() => {
    // The replay worker logs every failed replay; the assertions below say all there is to say.
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
    const logger = new DefaultLogger('ERROR');
    // The real workflows as a worker runs them: the bundle `npm run build` wrote (minified), else bundled now.
    real = builtBundleOrBundleNow({ warn: (message) => console.warn(`replay: ${message}`), logger });
    changed = bundleWorkflowCode({ workflowsPath: CHANGED_WORKFLOWS_PATH, logger });
    patched = bundleWorkflowCode({ workflowsPath: PATCHED_WORKFLOWS_PATH, logger });
    // Each test awaits its own bundle; a failed build must not also be an unhandled rejection.
    for (const bundle of [real, changed, patched]) bundle.catch(() => undefined);
  });

  test('the committed histories are there: one per recording scenario', () => {
    assert.ok(
      histories.length > 0,
      `no workflow histories in ${relative(HISTORIES_DIR)}: record them with \`npm run record:histories\` (needs a Temporal dev server) and commit them`,
    );
    const names = new Set(histories.map((entry) => entry.name));
    // A scenario whose run continued as new is recorded as <name>.run-1.json, <name>.run-2.json, …
    const missing = SCENARIOS.map((scenario) => scenario.name).filter((name) => !names.has(name) && !names.has(`${name}.run-1`));
    assert.deepEqual(missing, [], `scenarios without a recorded history: record them with \`npm run record:histories -- --only ${missing.join(',')}\``);
  });

  test('the validate-and-record histories take the path of patch validate-and-record-in-one-activity', () => {
    // What a history's markers record: patch ids and local activity types, in order.
    const markersOf = (history: History) =>
      (history.events ?? []).flatMap((event) => {
        const marker = event.markerRecordedEventAttributes;
        if (!marker) return [];
        const text = Object.values(marker.details ?? {})
          .flatMap((payloads) => payloads.payloads ?? [])
          .map((payload) => Buffer.from(payload.data ?? new Uint8Array()).toString())
          .join(' ');
        return [/"(?:activity_type|patch_id|id)":"([^"]*)"/.exec(text)?.[1] ?? text];
      });
    const expected = ['validate-and-record', 'continue-as-new-one-activity.run-1', 'continue-as-new-one-activity.run-2', 'continue-as-new-one-activity.run-3'];
    for (const name of expected) {
      const entry = histories.find((candidate) => candidate.name === name);
      assert.ok(entry, `no history ${name}`);
      const markers = markersOf(entry.history);
      assert.ok(markers.includes('validate-and-record-in-one-activity'), `${name} has no marker of the patch: ${markers.join(', ')}`);
      if (name === 'validate-and-record') {
        assert.ok(markers.filter((marker) => marker === 'validateAndRecordTransitions').length >= 6, `${name}: ${markers.join(', ')}`);
      }
    }
    // Histories recorded before the patch have none of its markers (they replay the old path).
    const batched = histories.find((candidate) => candidate.name === 'batched-results');
    assert.ok(batched && !markersOf(batched.history).includes('validateAndRecordTransitions'));
  });

  test('every committed history replays against the current workflow code', async (t) => {
    assert.ok(histories.length > 0, `no workflow histories in ${relative(HISTORIES_DIR)} to replay`);
    const results = await replayAll(await real, histories);
    for (const entry of histories) {
      await t.test(entry.name, () => {
        const result = results.get(entry.name);
        assert.ok(result, `${relative(entry.file)} was not replayed`);
        assert.equal(
          result.error,
          undefined,
          `${relative(entry.file)} does not replay against the current workflow code: ${String(result.error?.message)}\n` +
            'A change to src/workflows/ breaks runs in flight. Put it behind patched() (README, "Changing workflow code safely"); ' +
            're-record a history only when its scenario itself changed.',
        );
      });
    }
  });

  test('a non-deterministic change of the workflow code fails replay with a DeterminismViolationError', async () => {
    assert.ok(histories.length > 0, `no workflow histories in ${relative(HISTORIES_DIR)} to replay`);
    const bundle = await changed;
    // One history through the single-history API: it throws the error itself.
    const [first] = histories;
    await assert.rejects(Worker.runReplayHistory({ workflowBundle: bundle }, first.history, first.workflowId), (error: unknown) => {
      assert.ok(error instanceof DeterminismViolationError, `expected a DeterminismViolationError, got ${String(error)}`);
      assert.equal(error.name, 'DeterminismViolationError');
      assert.match(error.message, /nondeterminism/i);
      return true;
    });
    // And every history through the batch API, the one the replay test above uses.
    const results = await replayAll(bundle, histories);
    const notDetected = histories
      .filter((entry) => !(results.get(entry.name)?.error instanceof DeterminismViolationError))
      .map((entry) => `${entry.name}: ${String(results.get(entry.name)?.error ?? 'replayed without error')}`);
    assert.deepEqual(notDetected, [], 'the changed workflow must fail every history with a DeterminismViolationError');
  });

  test('the same change behind patched() replays every committed history', async () => {
    assert.ok(histories.length > 0, `no workflow histories in ${relative(HISTORIES_DIR)} to replay`);
    const results = await replayAll(await patched, histories);
    const failed = histories
      .filter((entry) => results.get(entry.name)?.error !== undefined || !results.has(entry.name))
      .map((entry) => `${entry.name}: ${String(results.get(entry.name)?.error ?? 'not replayed')}`);
    assert.deepEqual(failed, []);
  });
});
