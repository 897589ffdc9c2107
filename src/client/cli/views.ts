/** What the CLI prints for a run: the JSON views of `status` and `list`, and an outcome's one-line summary. */
import type { RunSnapshot, SubmitOutcome } from '../../engine/types';
import type { RunListEntry } from '../plan-runner-client';

/** The `status` view of a snapshot (the JSON contract of `plan-runner status`). */
export function statusView(snapshot: RunSnapshot) {
  return {
    runId: snapshot.runId,
    planId: snapshot.planId,
    title: snapshot.title,
    specVersion: snapshot.specVersion,
    status: snapshot.status,
    nodes: snapshot.nodes.map((node) => ({
      id: node.id,
      type: node.type,
      status: node.status,
      attempts: node.attempts,
      output: node.output ?? null,
      ...(node.owner ? { owner: `${node.owner.kind}:${node.owner.ref}` } : {}),
      ...(node.failureClass ? { failureClass: node.failureClass } : {}),
      ...(node.issues?.length ? { issues: node.issues } : {}),
    })),
    approvals: snapshot.approvals.map((approval) => ({
      approvalId: approval.approvalId,
      nodeId: approval.nodeId,
      status: approval.status,
      ...(approval.respondedBy ? { respondedBy: approval.respondedBy } : {}),
    })),
    failureCount: snapshot.failureCount,
    lastSeq: snapshot.lastSeq,
    // Only when the store refused records: scripts can test for the key.
    ...(snapshot.recording ? { recording: snapshot.recording } : {}),
  };
}

/** The `list --json` view of a run. */
export function listJson(run: RunListEntry) {
  return {
    runId: run.runId,
    planId: run.planId,
    status: run.status,
    waitingOn: run.waitingOn,
    startTime: run.startTime.toISOString(),
    closeTime: run.closeTime?.toISOString(),
    temporalStatus: run.temporalStatus,
  };
}

/** The one-line summary of a submit or respond outcome. */
export function submitSummary(outcome: SubmitOutcome): string {
  return (
    `${outcome.duplicate ? 'already recorded' : 'recorded'}: node ${outcome.nodeId} attempt ${outcome.attempt} → ${outcome.nodeStatus}` +
    `${outcome.approvalStatus ? ` (approval ${outcome.approvalStatus})` : ''}; run ${outcome.runStatus}`
  );
}
