/**
 * The persistence activity: the workflow hands over the records of its latest transitions and this
 * writes them to the store in one transaction (idempotent on run id + event seq, so a retried or
 * replayed call never duplicates or loses a row).
 */
import { log } from '@temporalio/activity';
import type { TransitionRecord } from '../engine';
import type { PlanStore } from '../store/types';

export interface RecordTransitionsInput {
  runId: string;
  records: TransitionRecord[];
}

export interface StoreActivities {
  recordTransitions(input: RecordTransitionsInput): Promise<{ lastSeq: number }>;
}

export function createStoreActivities(store: PlanStore): StoreActivities {
  return {
    async recordTransitions({ runId, records }) {
      const result = await store.recordTransitions(runId, records);
      if (result.skipped > 0) log.info('transition records already stored; skipped', { runId, skipped: result.skipped });
      return { lastSeq: result.lastSeq };
    },
  };
}
