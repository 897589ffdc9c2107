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

  // What a history's markers record: patch ids and local activity types, in order.
  const markersOf = (history: History, only?: 'patches') =>
    (history.events ?? []).flatMap((event) => {
      const marker = event.markerRecordedEventAttributes;
      if (!marker || (only === 'patches' && marker.markerName !== 'core_patch')) return [];
      const text = Object.values(marker.details ?? {})
        .flatMap((payloads) => payloads.payloads ?? [])
        .map((payload) => Buffer.from(payload.data ?? new Uint8Array()).toString())
        .join(' ');
      // The activity type or patch id; a local activity's result may hold other "id"s (a sink's) before them.
      return [(/"activity_type":"([^"]*)"/.exec(text) ?? /"patch_id":"([^"]*)"/.exec(text) ?? /"id":"([^"]*)"/.exec(text))?.[1] ?? text];
    });
  const historyNamed = (name: string) => {
    const entry = histories.find((candidate) => candidate.name === name);
    assert.ok(entry, `no history ${name}`);
    return entry.history;
  };
  const BEFORE_BEGIN = 'before-begin-in-one-activity';

  test('the validate-and-record histories take the path of patch validate-and-record-in-one-activity', () => {
    const expected = ['validate-and-record', 'continue-as-new-one-activity.run-1', 'continue-as-new-one-activity.run-2', 'continue-as-new-one-activity.run-3'];
    for (const name of expected) {
      // Recorded before patch begin-in-one-activity: with the patch's own marker.
      const before = markersOf(historyNamed(`${BEFORE_BEGIN}/${name}`));
      assert.ok(before.includes('validate-and-record-in-one-activity'), `${BEFORE_BEGIN}/${name} has no marker of the patch: ${before.join(', ')}`);
      // Recorded since: the same path, under the one marker of begin-in-one-activity.
      const since = markersOf(historyNamed(name));
      assert.ok(!since.includes('validate-and-record-in-one-activity') && since.includes('begin-in-one-activity'), `${name}: ${since.join(', ')}`);
      if (name === 'validate-and-record') {
        for (const markers of [before, since]) assert.ok(markers.filter((marker) => marker === 'validateAndRecordTransitions').length >= 6, `${name}: ${markers.join(', ')}`);
      }
    }
    // Histories recorded before the patch have none of its markers (they replay the old path).
    assert.ok(!markersOf(historyNamed(`${BEFORE_BEGIN}/batched-results`)).includes('validateAndRecordTransitions'));
  });

  test('histories recorded since patch begin-in-one-activity have its one patch marker per execution, and begin in one local activity', () => {
    const frozen = new Set(SCENARIOS.filter((scenario) => scenario.frozen).map((scenario) => scenario.name));
    const current = histories.filter((entry) => !entry.name.includes('/') && !frozen.has(entry.name.replace(/\.(run|child)-\d+$/, '')));
    assert.ok(current.length >= 30, `only ${current.length} histories recorded since the patch`);
    for (const { name, history } of current) {
      assert.deepEqual(markersOf(history, 'patches'), ['begin-in-one-activity'], `${name}: its patch markers`);
    }
    // A new run (not a continued execution) asks for the settings, checks its input and records its
    // start in one local activity; before, in up to three.
    const started = current.filter(({ name }) => !/\.run-[2-9]$/.test(name));
    for (const { name, history } of started) {
      const markers = markersOf(history);
      assert.equal(markers.indexOf('beginRun'), 1, `${name}: ${markers.join(', ')}`);
      assert.ok(!markers.includes('deliverySettings'), `${name}: ${markers.join(', ')}`);
    }
    const before = markersOf(historyNamed(`${BEFORE_BEGIN}/validate-and-record`));
    assert.deepEqual(before.slice(0, 4), ['work-item-tokens', 'batch-validation-and-search-attributes', 'hand-over-carries-unrecorded-transitions', 'validate-and-record-in-one-activity']);
    assert.ok(before.includes('deliverySettings') && !before.includes('beginRun'));
    // A run input the plan's schema refuses: the one activity wrote nothing, and the run failed.
    assert.deepEqual(markersOf(historyNamed('invalid-input-refused')), ['begin-in-one-activity', 'beginRun']);
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
