/**
 * The run state one workflow execution hands the next when it continues as new. The store already
 * holds every attempt, so the state keeps only what the engine still needs: the latest attempts of
 * each node (stale-result messages, replan numbering) and a window of recent submission ids for
 * de-duplication. This keeps the continue-as-new payload small however long the run lives.
 */
import type { RunState } from './types';

export interface HandOverLimits {
  /** Attempt records kept per node (the attempt counter itself is never trimmed). Default 5. */
  attemptsPerNode?: number;
  /** Most recent submission ids kept for de-duplication. Default 1000. */
  submissionIds?: number;
}

export function compactForHandOver(state: RunState, limits: HandOverLimits = {}): RunState {
  const attemptsPerNode = limits.attemptsPerNode ?? 5;
  const submissionIds = limits.submissionIds ?? 1000;
  const ids = Object.keys(state.submissions);
  return {
    ...state,
    nodes: state.nodes.map((node) =>
      node.history.length > attemptsPerNode ? { ...node, history: node.history.slice(-attemptsPerNode) } : node,
    ),
    submissions:
      ids.length > submissionIds ? Object.fromEntries(ids.slice(-submissionIds).map((id) => [id, state.submissions[id]])) : state.submissions,
  };
}
