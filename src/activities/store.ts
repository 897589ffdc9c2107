/**
 * The persistence activity: the workflow hands over the records of its latest transitions and this
 * writes them to the store in one transaction (idempotent on run id + event seq, so a retried or
 * replayed call never duplicates or loses a row).
 *
 * A store that is down or busy makes the call fail and Temporal retry it without limit: the run waits
 * and nothing is lost. A store that *rejects* the rows (bad data, a constraint: see
 * `storeFailureKind`) would reject them on every retry, so the batch is written again one record
 * per transaction, which stores every record it can and isolates the ones it cannot, and the call
 * then fails with a non-retryable `StoreWriteRejected` naming those records. The workflow goes on
 * without them (README §10, "State and storage").
 */
import { ApplicationFailure, log } from '@temporalio/activity';
// The engine's own modules, not its index: the index also loads the spec's zod schemas, which a
// worker's activities never use (zod alone is ~50 ms of the worker's start).
import { expandCheckpoints, type CompactTransitionRecord } from '../engine/checkpoint-delta';
import type { TransitionRecord } from '../engine/records';
import { seqRanges } from '../engine/seq-ranges';
import { reasonOf, storeFailureKind } from '../store/errors';
import type { PlanStore } from '../store/types';
import { FAILURE_TYPES } from '../workflows/definitions';

export interface RecordTransitionsInput {
  runId: string;
  /** In order. Checkpoints after a batch's first may come as differences (`compactCheckpoints`): expanded here. */
  records: CompactTransitionRecord[];
}

export interface StoreActivities {
  recordTransitions(input: RecordTransitionsInput): Promise<{ lastSeq: number }>;
}

/** One record the store refused: the seqs of its events and the database's reason. */
export interface RejectedRecord {
  seqs: number[];
  reason: string;
}

/** The details of a `StoreWriteRejected` failure (its first detail). */
export interface StoreWriteRejectedDetails {
  /** "PostgreSQL at postgres://…" or "SQLite at /path/runs.db". */
  store: string;
  /** When the store refused them (the worker's clock; the workflow keeps it, so it replays the same). */
  at: string;
  /** The refused records, in order. The call's other records are stored. */
  rejected: RejectedRecord[];
}

export function createStoreActivities(store: PlanStore): StoreActivities {
  const where = `${store.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'} at ${store.location}`;
  return {
    async recordTransitions({ runId, records: sent }) {
      const records: TransitionRecord[] = expandCheckpoints(sent);
      let firstRejection: unknown;
      try {
        const result = await store.recordTransitions(runId, records);
        if (result.skipped > 0) log.info('transition records already stored; skipped', { runId, skipped: result.skipped });
        return { lastSeq: result.lastSeq };
      } catch (error) {
        if (storeFailureKind(error) !== 'rejected') throw error; // unavailable: Temporal retries
        firstRejection = error;
      }

      // The batch's one transaction was rolled back as a whole. Write it again one record per
      // transaction, in order, so only the records the store refuses are lost. A record written by an
      // earlier attempt of this call is skipped by the store (idempotent on seq).
      const rejected: RejectedRecord[] = [];
      let lastSeq = 0;
      if (records.length === 1) {
        rejected.push({ seqs: seqsOf(records[0]), reason: reasonOf(firstRejection) });
      } else {
        log.warn('the store rejected a batch of transition records; writing them one by one', { runId, records: records.length, store: where, reason: reasonOf(firstRejection) });
        for (const record of records) {
          try {
            lastSeq = (await store.recordTransitions(runId, [record])).lastSeq;
          } catch (error) {
            // Down in the middle of it: retried as a whole, the records stored so far are skipped then.
            if (storeFailureKind(error) !== 'rejected') throw error;
            rejected.push({ seqs: seqsOf(record), reason: reasonOf(error) });
          }
        }
      }
      if (rejected.length === 0) return { lastSeq }; // stored one by one after all (a conflict that went away)

      const seqs = rejected.flatMap((record) => record.seqs);
      const message =
        `The plan store (${where}) rejected ${rejected.length} of ${records.length} transition record(s) of run ${runId} ` +
        `(events ${seqRanges(seqs)}): ${rejected[rejected.length - 1].reason}. Retrying cannot succeed, so they are not retried: ` +
        'the run keeps going in Temporal, and these events are missing from the store.';
      log.error(message, { runId, store: where, failure: FAILURE_TYPES.storeWriteRejected, rejectedSeqs: seqs, records: records.length });
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.storeWriteRejected,
        message,
        nonRetryable: true,
        details: [{ store: where, at: new Date().toISOString(), rejected } satisfies StoreWriteRejectedDetails],
      });
    },
  };
}

function seqsOf(record: TransitionRecord): number[] {
  return record.events.map((event) => event.seq);
}
