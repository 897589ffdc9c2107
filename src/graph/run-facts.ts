/**
 * What the graph needs to know about a run, read the same way from the two shapes a caller may
 * hold: a `RunSnapshot` (what the `snapshot` query, `plan-runner status` and the client return) or
 * a `RunState` (the engine's own state, as in the engine's tests and the workflow). Pure.
 *
 * A `RunState` gives every node's exact context (`nodeContext`, docs/semantics.md §4). A snapshot
 * carries each node's output, iteration and the run input, but not the node's resolved input or
 * its artifacts: conditions that read those cannot be evaluated from it (see `GraphEdgeState`).
 */
import { loopCount, innermostLoop, type LoopInfo } from '../engine/loops';
import { findNodeRun, nodeContext } from '../engine/run-state';
import type { PlanSpec } from '../engine/spec';
import type { NodeContext, NodeView, RunSnapshot, RunState } from '../engine/types';
import { snapshotOf } from '../engine/views';
import type { GraphRunInfo } from './types';

/** A run as `planGraph` accepts it: the snapshot the client has, or the engine's state. */
export type GraphRun = RunSnapshot | RunState;

/** The run, read for drawing. */
export interface RunFacts {
  info: GraphRunInfo;
  /** True for a `RunState`: every context is exact. */
  exact: boolean;
  /** The node's view (status, attempts, iteration, instances), if the run has the node. */
  node(id: string): NodeView | undefined;
  /**
   * The node's context for conditions. From a snapshot, `input` and `artifact` are not known: they
   * are `undefined` and `{}`.
   */
  context(id: string): NodeContext | undefined;
  /** Whether a cancelled node was cancelled by a join (as a losing branch) rather than with the run. */
  cancelledByJoin(id: string): boolean;
  /** The iteration a loop's body is in (1 until it first goes round), if the run tells. */
  loopIteration(spec: PlanSpec, loop: LoopInfo): number | undefined;
}

/** True when `run` is the engine's `RunState` (it carries its spec), not a snapshot. */
export function isRunState(run: GraphRun): run is RunState {
  return 'spec' in run && typeof (run as RunState).seq === 'number';
}

/** Reads `run` for drawing. */
export function runFacts(run: GraphRun): RunFacts {
  return isRunState(run) ? stateFacts(run) : snapshotFacts(run);
}

function viewIndex(snapshot: RunSnapshot): Map<string, NodeView> {
  return new Map(snapshot.nodes.map((node) => [node.id, node]));
}

function infoOf(run: RunSnapshot | RunState): GraphRunInfo {
  return { runId: run.runId, status: run.status, specVersion: run.specVersion };
}

function stateFacts(state: RunState): RunFacts {
  const views = viewIndex(snapshotOf(state));
  return {
    info: infoOf(state),
    exact: true,
    node: (id) => views.get(id),
    context: (id) => {
      const run = findNodeRun(state, id);
      return run ? nodeContext(state, run) : undefined;
    },
    cancelledByJoin: (id) => findNodeRun(state, id)?.cancelledByJoin !== undefined,
    loopIteration: (_spec, loop) => loopCount(state, loop),
  };
}

function snapshotFacts(snapshot: RunSnapshot): RunFacts {
  const views = viewIndex(snapshot);
  return {
    info: infoOf(snapshot),
    exact: false,
    node: (id) => views.get(id),
    context: (id) => {
      const view = views.get(id);
      if (!view) return undefined;
      return { input: undefined, output: view.output, artifact: {}, run: { input: snapshot.input }, iteration: view.iteration ?? 1 };
    },
    // A snapshot does not say who cancelled a node: in a run that was not cancelled, only a join does.
    cancelledByJoin: (id) => views.get(id)?.status === 'cancelled' && snapshot.status !== 'aborted',
    loopIteration: (spec, loop) => {
      // A node's iteration is its innermost loop's: read it off a body node this loop holds most closely.
      for (const id of loop.body) {
        if (innermostLoop(spec, id)?.index !== loop.index) continue;
        const iteration = views.get(id)?.iteration;
        if (iteration !== undefined) return iteration;
      }
      return undefined;
    },
  };
}
