/**
 * Which store errors are worth retrying (src/store/errors.ts) and how `status` words a recording
 * problem (src/client/format.ts). A wrong class either loses records to a passing outage
 * (`rejected` for an outage) or holds a run forever (`unavailable` for bad data).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError, isRejectionCode, storeFailureKind } from '../../src/store/errors';
import { recordingLine } from '../../src/client/format';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });

test('data, constraint and size errors are rejections: retrying cannot succeed', () => {
  for (const code of ['22P02', '22P05', '22021', '22001', '23514', '23505', '23503', '23502', '54000', 'SQLITE_CONSTRAINT', 'SQLITE_CONSTRAINT_TRIGGER', 'SQLITE_CONSTRAINT_CHECK', 'SQLITE_MISMATCH', 'SQLITE_TOOBIG']) {
    assert.equal(storeFailureKind(withCode(code)), 'rejected', code);
    assert.equal(isRejectionCode(code), true, code);
  }
  // Wrapped by the store (cause chain) it is still a rejection.
  assert.equal(storeFailureKind(new StoreError('write failed', '/x.db', { cause: withCode('23514') })), 'rejected');
});

test('outages, busy files, deadlocks, missing tables and unknown errors are retried', () => {
  for (const code of ['ECONNREFUSED', '57P01', '08006', '53300', '40001', '40P01', '42P01', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR_WRITE', 'SQLITE_CANTOPEN', 'EPERM', 'EROFS']) {
    assert.equal(storeFailureKind(withCode(code)), 'unavailable', code);
  }
  assert.equal(storeFailureKind(new Error('something odd')), 'unavailable');
  assert.equal(storeFailureKind(new Error('Connection terminated unexpectedly')), 'unavailable');
  // A connection problem anywhere wins over a rejection code elsewhere in the chain.
  assert.equal(storeFailureKind(new AggregateError([withCode('23514'), withCode('ECONNRESET')])), 'unavailable');
});

test('status words a failing and an incomplete recording', () => {
  const problem = {
    status: 'failing' as const,
    since: '2026-01-01T00:00:00.000Z',
    lastFailureAt: '2026-01-01T00:01:00.000Z',
    reason: 'the plan store (SQLite at /x.db) rejected events 5–7: no (SQLITE_CONSTRAINT_TRIGGER)',
    failedSeqs: [5, 6, 7, 9],
    failedCount: 4,
  };
  assert.equal(
    recordingLine(problem),
    'recording to the store is failing since 2026-01-01T00:00:00.000Z: the plan store (SQLite at /x.db) rejected events 5–7: no (SQLITE_CONSTRAINT_TRIGGER); ' +
      'the run keeps going in Temporal; events after seq 4 may be missing from the store (not stored: 5–7, 9)',
  );
  assert.match(recordingLine({ ...problem, status: 'incomplete', failedCount: 150 }), /^recording to the store failed from 2026-01-01T00:00:00\.000Z to 2026-01-01T00:01:00\.000Z: .*; the run keeps going in Temporal and its later events are stored again; missing from the store: events 5–7, 9, … \(150 in all\)$/);
});
