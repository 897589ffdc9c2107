/**
 * The console lays large plans out ahead (src/console/layout-ahead.ts): a run's spec is laid out,
 * once per spec version, from the store, before anyone opens the run's page, and the page's own
 * drawing then finds the layout in the cache. Against a real worker, Temporal and store; ELK runs in
 * this thread, counted by a wrapping engine. No console server here: its own loop would lay the run
 * out first and leave nothing to count.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkNode } from 'elkjs/lib/elk-api';
import { closeAll, eventually, runId, startHarness, type Harness } from './harness';
import { chainsPlan } from '../scale/helpers';
import { LayoutAhead } from '../../src/console/layout-ahead';
import { consoleDrawing } from '../../src/console/drawing';
import { layoutGraph, planGraph } from '../../src/graph';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => closeAll(() => h?.close()));

test('a large plan is laid out ahead once per spec version, and its page then needs no layout; a finished run is not listed', async () => {
  const elk = new ELK();
  const laidOut: number[] = [];
  const engine = { layout: (root: ElkNode) => (laidOut.push(root.children?.length ?? 0), elk.layout(root)) };
  // 31 chains of 10: a shape no other test in this process lays out (the layout cache is shared).
  const large = chainsPlan(runId('ahead-large'), 31, 10, 31);
  const small = chainsPlan(runId('ahead-small'), 2, 5, 2);
  const since = new Date(Date.now() - 1_000).toISOString();
  const ahead = new LayoutAhead(h.store, engine);
  const largeRun = (await h.client.start(large, { runId: large.id })).runId;
  const smallRun = (await h.client.start(small, { runId: small.id })).runId;
  await eventually(async () => ((await h.store.listActiveRunsChangedSince(since, 100)).filter((run) => [largeRun, smallRun].includes(run.runId)).length === 2 ? true : undefined), 'both runs in the store');

  await ahead.tick();
  assert.deepEqual(laidOut, [310], 'the large plan only: a small one is laid out when asked for');
  assert.equal(ahead.laidOut, 1);
  await ahead.tick();
  assert.deepEqual(laidOut, [310], 'a spec version seen once is not laid out again');

  // What the run page draws (its snapshot, as graph.svg does) is the layout made ahead.
  const snapshot = await h.client.snapshot(largeRun);
  const graph = planGraph(await h.client.storedSpec(largeRun, snapshot.specVersion), snapshot);
  await layoutGraph(graph, consoleDrawing(graph, engine));
  assert.deepEqual(laidOut, [310], "the page's layout came from the cache");

  await h.client.cancel(largeRun, { by: 'test', reason: 'done' });
  await eventually(async () => ((await h.store.listActiveRunsChangedSince(since, 100)).some((run) => run.runId === largeRun) ? undefined : true), 'the cancelled run to leave the list');
  assert.ok((await h.store.listActiveRunsChangedSince(since, 100)).some((run) => run.runId === smallRun), 'the running one is still listed');
  assert.equal((await h.store.listActiveRunsChangedSince(new Date(Date.now() + 60_000).toISOString(), 100)).length, 0, 'nothing changed after a time to come');
  await h.client.cancel(smallRun, { by: 'test', reason: 'done' });
});
