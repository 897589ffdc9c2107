/**
 * What a message to a closed run is answered with (`RunFinishedError`, src/client/errors.ts): how
 * the run ended in plan-runner's terms (completed, cancelled by whom and why, or closed in Temporal
 * some other way), that it takes no more messages, and what to do instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunFinishedError, RunRefusedError, closedRunMessage } from '../../src/client/errors';

test('a cancelled run: who cancelled it and why, whatever Temporal status its workflow closed with', () => {
  for (const temporalStatus of ['CANCELLED', 'COMPLETED']) {
    const message = closedRunMessage({ runId: 'post-1', temporalStatus, runStatus: 'aborted', cancelledBy: 'bob', cancelReason: 'wrong topic' });
    assert.match(message, /^run post-1 was cancelled \(by bob: wrong topic\); it is aborted and takes no more messages: start a new run/);
    assert.doesNotMatch(message, /Temporal status/);
    assert.match(message, /plan-runner events post-1/);
  }
  assert.match(closedRunMessage({ runId: 'r', temporalStatus: 'CANCELLED', runStatus: 'aborted', cancelledBy: 'bob' }), /^run r was cancelled \(by bob\); /);
  // Without the store, the search attribute still says it was cancelled.
  assert.match(closedRunMessage({ runId: 'r', temporalStatus: 'CANCELLED', runStatus: 'aborted' }), /^run r was cancelled; it is aborted/);
});

test('a completed run, and workflows Temporal closed otherwise', () => {
  assert.match(closedRunMessage({ runId: 'r', temporalStatus: 'COMPLETED', runStatus: 'completed' }), /^run r is completed \(every node finished\); it takes no more messages: start a new run/);
  assert.match(
    closedRunMessage({ runId: 'r', temporalStatus: 'TERMINATED', runStatus: 'failed' }),
    /^the workflow of run r was terminated in Temporal \(status TERMINATED\) while the run was failed; the run takes no more messages/,
  );
  assert.match(closedRunMessage({ runId: 'r', temporalStatus: 'FAILED' }), /^the workflow of run r failed in Temporal \(status FAILED\) before the run started;/);
  assert.match(closedRunMessage({ runId: 'r', temporalStatus: 'TIMED_OUT', runStatus: 'running' }), /timed out in Temporal \(status TIMED_OUT\) while the run was running/);
});

test('RunFinishedError is a run-finished refusal carrying what it says', () => {
  const error = new RunFinishedError({ runId: 'r', temporalStatus: 'CANCELLED', runStatus: 'aborted', cancelledBy: 'bob', cancelReason: 'x' });
  assert.ok(error instanceof RunRefusedError);
  assert.equal(error.code, 'refused');
  assert.equal(error.reason, 'run-finished');
  assert.deepEqual([error.temporalStatus, error.runStatus, error.cancelledBy, error.cancelReason], ['CANCELLED', 'aborted', 'bob', 'x']);
  assert.equal(error.name, 'RunFinishedError');
});
