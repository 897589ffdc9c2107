/**
 * Quorum approvals (docs/semantics.md, "Quorum approvals"): a `human-approval` node with `quorum`
 * collects one vote per approver on its approval and resolves as soon as the outcome is certain.
 * Pure: the tally is a function of the approvers, the quorum and the votes, in vote order.
 */
import type { Approval, ApprovalStatus, QuorumVote } from './types';

/** How a quorum stands after some votes. */
export type QuorumDecision =
  | {
      resolved: false;
      /** Votes that approve (approved, no edits). */
      approvals: number;
      required: number;
      /** Approvers who have not voted yet, in `approvers` order. */
      waitingFor: string[];
    }
  | {
      resolved: true;
      status: Extract<ApprovalStatus, 'approved' | 'rejected' | 'changes-requested'>;
      /** `required`: enough approvals; `veto`: a veto holder did not approve; `out-of-reach`: too few approvers are left. */
      why: 'required' | 'veto' | 'out-of-reach';
      approvals: number;
      required: number;
      waitingFor: string[];
      /** The veto holder whose vote decided, with `why: 'veto'`. */
      vetoBy?: string;
    };

/** A vote approves when it says `approved: true` and asks for no edits (as a single approval would be `approved`). */
export function voteApproves(vote: Pick<QuorumVote, 'approved' | 'requiredEdits'>): boolean {
  return vote.approved === true && (vote.requiredEdits?.length ?? 0) === 0;
}

/**
 * The tally of `votes` (each by a distinct approver, in the order they came). Resolved as soon as
 * the outcome is certain, checked in this order: a veto holder's vote that does not approve
 * rejects; `required` approving votes approve; and when the approving votes plus the approvers who
 * have not voted can no longer reach `required`, it is rejected. A rejection is
 * `changes-requested` when any vote asked for edits.
 */
export function decideQuorum(approvers: readonly string[], quorum: { required: number; veto?: readonly string[] }, votes: readonly QuorumVote[]): QuorumDecision {
  const voted = new Set(votes.map((vote) => vote.by));
  const waitingFor = [...new Set(approvers)].filter((approver) => !voted.has(approver));
  const approvals = votes.filter(voteApproves).length;
  const required = quorum.required;
  const negative = votes.some((vote) => (vote.requiredEdits?.length ?? 0) > 0) ? 'changes-requested' : 'rejected';
  const veto = new Set(quorum.veto ?? []);
  const vetoVote = votes.find((vote) => veto.has(vote.by) && !voteApproves(vote));
  const base = { approvals, required, waitingFor };
  if (vetoVote) return { resolved: true, status: negative, why: 'veto', vetoBy: vetoVote.by, ...base };
  if (approvals >= required) return { resolved: true, status: 'approved', why: 'required', ...base };
  if (approvals + waitingFor.length < required) return { resolved: true, status: negative, why: 'out-of-reach', ...base };
  return { resolved: false, ...base };
}

/** The tally of an approval that has a quorum. */
export function quorumDecisionOf(approval: Approval, votes: readonly QuorumVote[] = approval.votes ?? []): QuorumDecision | undefined {
  return approval.quorum ? decideQuorum(approval.approvers, approval.quorum, votes) : undefined;
}

/** The output of a node whose quorum resolved: `{approved, status, votes, requiredEdits}` (every edit asked for, in vote order). */
export interface QuorumOutput {
  approved: boolean;
  status: 'approved' | 'rejected' | 'changes-requested';
  votes: QuorumVote[];
  requiredEdits: string[];
  [key: string]: unknown;
}

export function quorumOutput(status: QuorumOutput['status'], votes: readonly QuorumVote[]): QuorumOutput {
  return {
    approved: status === 'approved',
    status,
    votes: votes.map((vote) => ({ ...vote, ...(vote.requiredEdits ? { requiredEdits: [...vote.requiredEdits] } : {}) })),
    requiredEdits: votes.flatMap((vote) => vote.requiredEdits ?? []),
  };
}

/** `1 of 2 approvals; waiting for bob, dave`: where a quorum stands, for messages and views. */
export function describeTally(decision: QuorumDecision): string {
  const tally = `${decision.approvals} of ${decision.required} approval${decision.required === 1 ? '' : 's'}`;
  if (decision.resolved) {
    switch (decision.why) {
      case 'veto':
        return `${tally}; vetoed by ${decision.vetoBy}`;
      case 'required':
        return tally;
      default:
        return `${tally}; ${decision.required} can no longer be reached`;
    }
  }
  return `${tally}; waiting for ${decision.waitingFor.join(', ')}`;
}

/** `alice ✔, carol ✘ (2 edits)`: the votes so far, in order. */
export function describeVotes(votes: readonly QuorumVote[]): string {
  if (votes.length === 0) return 'no votes yet';
  return votes
    .map((vote) => {
      const edits = vote.requiredEdits?.length ?? 0;
      return `${vote.by} ${voteApproves(vote) ? '✔' : '✘'}${edits ? ` (${edits} edit${edits === 1 ? '' : 's'})` : ''}`;
    })
    .join(', ');
}
