/**
 * Validation and the store write in one local activity (patch `validate-and-record-in-one-activity`)
 * on a real Temporal server and store: a chain driven one result at a time through every kind of
 * submission turn (valid, blocking and retried, a warning, a duplicate, refused, an approval, a
 * signal). Each valid result costs one local activity, the others two (the validation writes
 * nothing, the store write comes after), and the store holds exactly what the workflow applied.
 *
 * That the rows are the same as the code before the patch writes for the same submissions was
 * checked by running `driveOneActivityChain` against both and comparing `storedRows` (docs/performance.md).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, runId, type Harness } from './harness';
import { driveOneActivityChain, storedRows } from '../support/one-activity-chain';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** The local activities of a run's history, by activity type, in order. */
async function localActivities(id: string): Promise<string[]> {
  const history = await h.client.client.workflow.getHandle(id).fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') return [];
    const data = marker.details?.data?.payloads?.[0]?.data;
    const type = data ? /"activity_type":"([^"]*)"/.exec(Buffer.from(data).toString())?.[1] : undefined;
    return [type ?? '?'];
  });
}

describe('validate and record in one local activity', () => {
  test('each submission turn is answered as before, and a valid result costs one local activity', async () => {
    const id = runId('one-activity');
    const seen = await driveOneActivityChain(h.client, id);
    assert.deepEqual(seen, [
      'a invalid: rejected blocking:schema',
      'a valid: completed',
      'a stale: refused node-not-running',
      'b warned: partial warning:min-length',
      'c valid: completed',
      'c duplicate: completed',
      'nowhere: refused unknown-node',
      'review: completed',
      'e valid: completed',
    ]);
    assert.deepEqual(await localActivities(id), [
      'beginRun', // the worker's settings and the run's start recorded, in one (patch begin-in-one-activity)
      'validateAndRecordTransitions', // a, invalid: nothing written …
      'recordTransitions', // … then the rejection recorded
      'validateAndRecordTransitions', // a, valid
      'validateAndRecordTransitions', // b, a warning: nothing written …
      'recordTransitions', // … then the partial result recorded
      'validateAndRecordTransitions', // c (its duplicate is answered from the state, the stale and unknown ones refused by the validator)
      'validateAndRecordTransitions', // the approval
      'validateBatch', // d, signalled: validated alone, as e's input waits for its check …
      'validateBatch', // … which comes next …
      'recordTransitions', // … and then both are recorded
      'validateAndRecordTransitions', // e
    ]);
  });

  test('the store holds exactly what the workflow applied: events, node runs, attempts, approvals, checkpoints', async () => {
    const id = runId('one-activity-store');
    await driveOneActivityChain(h.client, id);
    const rows = await storedRows(h.store, id);
    const applied = await h.client.queryEvents(id);
    const final = await h.client.result(id);
    assert.deepEqual(
      rows.events.map((event) => event.seq),
      rows.events.map((_, i) => i + 1),
      'event seqs are contiguous from 1',
    );
    assert.deepEqual(rows.events, applied, "the stored events are the workflow's, times included");
    assert.equal(rows.run?.status, 'completed');
    assert.equal(rows.run?.lastSeq, rows.events.length);
    assert.deepEqual(
      rows.nodeRuns.map((node) => [node.nodeId, node.status, node.currentAttempt]),
      final.nodes.map((node) => [node.id, node.status, node.currentAttempt]),
      'node runs as the final snapshot has them',
    );
    assert.deepEqual(
      rows.attempts.map((attempt) => [attempt.nodeId, attempt.attempt, attempt.status]),
      [
        ['a', 1, 'failed'],
        ['a', 2, 'completed'],
        ['b', 1, 'partial'],
        ['c', 1, 'completed'],
        ['review', 1, 'completed'],
        ['d', 1, 'completed'],
        ['e', 1, 'completed'],
      ],
    );
    assert.equal(rows.approvals.length, 1);
    assert.equal(rows.approvals[0].status, 'approved');
    assert.equal(rows.checkpoints.length, rows.events.filter((event) => event.type === 'checkpoint-saved').length, 'a checkpoint row per checkpoint event');
    assert.equal(rows.checkpoints.at(-1)?.runStatus, 'completed');
  });
});
