/**
 * The run state one workflow execution hands the next when it continues as new. The store already
 * holds every attempt, so the state keeps only what the engine still needs: the latest attempts of
 * each node still in play (the note on a stale result that a timer ended), none of a node that
 * finished successfully (its output, input and artifacts stay on the node run, and the attempt
 * counter numbers any later attempt), and a window of recent submission ids for de-duplication.
 * This keeps the continue-as-new payload small however long the run lives.
 */
import { isSuccessful } from './run-state';
import type { NodeRun, RunState } from './types';

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
  const finishedNodes = new Set(state.nodes.filter((node) => node.instanceOf === undefined && isSuccessful(node)).map((node) => node.nodeId));
  return {
    ...state,
    nodes: state.nodes.map((node) => withoutFinishedPayloads(finishedNodes, withHistory(node, isSuccessful(node) ? 0 : attemptsPerNode))),
    submissions:
      ids.length > submissionIds ? Object.fromEntries(ids.slice(-submissionIds).map((id) => [id, state.submissions[id]])) : state.submissions,
  };
}

/**
 * A finished instance needs no input any more, and once its node finished its output is in the
 * node's output (`{ items }`): a hand-over of a thousand-instance fan-out carries each output once.
 */
function withoutFinishedPayloads(finishedNodes: Set<string>, node: NodeRun): NodeRun {
  if (node.instanceOf === undefined || !isSuccessful(node)) return node;
  const { resolvedInput: _input, output, notes: _notes, ...rest } = node;
  return finishedNodes.has(node.instanceOf) ? rest : { ...rest, ...(output !== undefined ? { output } : {}) };
}

function withHistory(node: NodeRun, keep: number): NodeRun {
  if (node.history.length <= keep) return node;
  return { ...node, history: keep === 0 ? [] : node.history.slice(-keep) };
}
