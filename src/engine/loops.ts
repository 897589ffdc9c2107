/**
 * Bounded loops (docs/semantics.md, "Loops"): a loop edge points back from `from` to an earlier
 * `to`; its **body** is every node on a path from `to` to `from` over forward edges. When `from`
 * finishes and the edge's `when` holds, the body starts over, at most `maxIterations` times in all.
 * The bound is per loop, so one busy loop never starves another, and an inner loop's count starts
 * over each time its outer loop goes round.
 *
 * The graph facts (bodies, nesting) are computed once per spec; `evaluateLoops` is the rule the
 * engine runs while it settles a step.
 */
import { restartNodeBudget } from './budgets';
import { evaluateWhen } from './conditions';
import { closePendingApprovals } from './dispatch';
import { applyFailureAction } from './failure';
import { retireInstances } from './fan-out';
import { getPath, setPath } from './paths';
import { findNodeRun, nodeContext } from './run-state';
import type { PlanEdge, PlanSpec } from './spec';
import type { Step } from './step';
import type { NodeContext, NodeRun, RunState } from './types';

/** A loop edge with its index in `spec.edges` and its body. */
export interface LoopInfo {
  index: number;
  edge: PlanEdge & { loop: NonNullable<PlanEdge['loop']> };
  /** The body's node ids, in spec order. */
  body: string[];
}

interface LoopIndex {
  loops: LoopInfo[];
  /** Per node: the loop edges leaving it. */
  from: Map<string, LoopInfo[]>;
  /** Per node: the innermost loop whose body holds it. */
  innermost: Map<string, LoopInfo>;
}

const loopIndexes = new WeakMap<PlanSpec, LoopIndex>();

/** Nodes reachable from `start` over forward edges (`start` included). */
function reachable(spec: PlanSpec, start: string, direction: 'down' | 'up'): Set<string> {
  const forward = (spec.edges ?? []).filter((edge) => !edge.loop);
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    for (const edge of forward) {
      const [here, there] = direction === 'down' ? [edge.from, edge.to] : [edge.to, edge.from];
      if (here === id && !seen.has(there)) {
        seen.add(there);
        queue.push(there);
      }
    }
  }
  return seen;
}

/** The body of a loop edge: the nodes on a path from `to` to `from` over forward edges, both included. */
export function loopBody(spec: PlanSpec, edge: Pick<PlanEdge, 'from' | 'to'>): string[] {
  const below = reachable(spec, edge.to, 'down');
  const above = reachable(spec, edge.from, 'up');
  return spec.nodes.map((node) => node.id).filter((id) => below.has(id) && above.has(id));
}

function loopIndex(spec: PlanSpec): LoopIndex {
  let index = loopIndexes.get(spec);
  if (index) return index;
  const loops: LoopInfo[] = [];
  (spec.edges ?? []).forEach((edge, i) => {
    if (edge.loop) loops.push({ index: i, edge: edge as LoopInfo['edge'], body: loopBody(spec, edge) });
  });
  const from = new Map<string, LoopInfo[]>();
  for (const loop of loops) from.set(loop.edge.from, [...(from.get(loop.edge.from) ?? []), loop]);
  // Bodies nest or are disjoint (validation), so the smallest body holding a node is its innermost loop.
  const innermost = new Map<string, LoopInfo>();
  for (const loop of loops) {
    for (const id of loop.body) {
      const current = innermost.get(id);
      if (!current || loop.body.length < current.body.length) innermost.set(id, loop);
    }
  }
  index = { loops, from, innermost };
  loopIndexes.set(spec, index);
  return index;
}

/** Every loop edge of the plan with its body. */
export function loopsOf(spec: PlanSpec): LoopInfo[] {
  return loopIndex(spec).loops;
}

/** The innermost loop whose body holds `nodeId`, if any. */
export function innermostLoop(spec: PlanSpec, nodeId: string): LoopInfo | undefined {
  return loopIndex(spec).innermost.get(nodeId);
}

/** The iteration a loop's body is in (1 until it first goes round). */
export function loopCount(state: RunState, loop: LoopInfo): number {
  return state.loopCounts?.[String(loop.index)] ?? 1;
}

/**
 * Evaluates the loop edges of nodes that just finished (`completed` or `partial`): the first whose
 * `when` holds either starts its body over (event `loop-iterated`) or, with no iterations left, is
 * exhausted (event `loop-exhausted`; with `onExhausted: fail` the node fails with class
 * `loop-exhausted`). Returns true when anything changed. Each finish is evaluated once; a node that
 * runs again (retried, or reopened by a review) is evaluated again when it next finishes.
 */
export function evaluateLoops(step: Step): boolean {
  const { state } = step;
  const index = loopIndex(state.spec);
  if (index.loops.length === 0) return false;
  let changed = false;
  // Over the nodes as they were when the pass began, each as it is now: a loop that starts over
  // edits its body's node runs (`Step.edit` replaces them) and may drop instances (a new array).
  const nodes = state.nodes;
  for (let i = 0; i < nodes.length; i += 1) {
    const seen = state.nodes === nodes ? nodes[i] : findNodeRun(state, nodes[i].nodeId);
    if (!seen) continue;
    if (seen.status !== 'completed' && seen.status !== 'partial') {
      // Run again (a retry, a review's answer): its next finish is evaluated afresh.
      if (seen.loopsEvaluated) delete step.edit(seen).loopsEvaluated;
      continue;
    }
    if (seen.loopsEvaluated) continue;
    const loops = index.from.get(seen.nodeId);
    if (!loops) continue;
    const node = step.edit(seen);
    node.loopsEvaluated = true;
    step.changed = true;
    changed = true;
    for (const loop of loops) {
      const context = nodeContext(state, node);
      if (!evaluateWhen(loop.edge.when, context)) continue;
      const count = loopCount(state, loop);
      if (count < loop.edge.loop.maxIterations) {
        startOver(step, loop, count + 1, context);
        break;
      }
      const onExhausted = loop.edge.loop.onExhausted ?? 'continue';
      step.emit('loop-exhausted', {
        nodeId: node.nodeId,
        ...(node.iteration !== undefined ? { iteration: node.iteration } : {}),
        message:
          `Loop from "${loop.edge.from}" back to "${loop.edge.to}" ran ${count} of ${loop.edge.loop.maxIterations} times and may not run again` +
          (onExhausted === 'fail' ? `: node "${node.nodeId}" fails (loop-exhausted).` : ': the forward edges decide.'),
        detail: { edge: loop.index, iterations: count, maxIterations: loop.edge.loop.maxIterations, onExhausted },
      });
      if (onExhausted === 'fail') {
        // Retry does not apply: the same node would exhaust the same loop again.
        node.failureClass = 'loop-exhausted';
        state.failureCount += 1;
        const action = state.spec.nodes.find((n) => n.id === node.nodeId)?.onFailure?.find((rule) => rule.on === 'loop-exhausted')?.action ?? 'abort';
        applyFailureAction(step, node, action, 'loop-exhausted');
        break;
      }
    }
  }
  return changed;
}


/** Resets the loop's body for `iteration`: pending, output and input cleared, attempts kept. */
function startOver(step: Step, loop: LoopInfo, iteration: number, fromContext: NodeContext): void {
  const { state } = step;
  const counts = { ...(state.loopCounts ?? {}) };
  counts[String(loop.index)] = iteration;
  // Loops nested inside this body start over from their first iteration.
  const body = new Set(loop.body);
  for (const other of loopsOf(state.spec)) {
    if (other.index !== loop.index && other.body.every((id) => body.has(id))) delete counts[String(other.index)];
  }
  state.loopCounts = counts;

  // The loop edge's map, read from `from` before the reset, goes on top of `to`'s next input.
  const loopInput: Record<string, unknown> = {};
  for (const [target, source] of Object.entries(loop.edge.map ?? {})) setPath(loopInput, target, getPath(fromContext, source));

  step.emit('loop-iterated', {
    nodeId: loop.edge.to,
    iteration,
    message: `Loop from "${loop.edge.from}" back to "${loop.edge.to}": iteration ${iteration} of ${loop.edge.loop.maxIterations} starts (${loop.body.length} node(s) run again).`,
    detail: { edge: loop.index, iteration, maxIterations: loop.edge.loop.maxIterations, nodeIds: loop.body },
  });
  for (const id of loop.body) {
    const node = step.edit(id);
    if (node.approvalId && state.approvals.some((a) => a.approvalId === node.approvalId && a.status === 'pending')) {
      closePendingApprovals(step, `the loop back to "${loop.edge.to}" started iteration ${iteration}`, { edge: loop.index }, { status: 'cancelled', nodeId: id });
    }
    // A fanned-out body node fans out afresh from the next iteration's list.
    if (node.fanOut) retireInstances(step, id, `the loop back to "${loop.edge.to}" started iteration ${iteration}`);
    resetForIteration(node, innermostLoop(state.spec, id) ? loopCount(state, innermostLoop(state.spec, id) as LoopInfo) : iteration);
  }
  if (Object.keys(loopInput).length > 0) step.edit(loop.edge.to).loopInput = loopInput;
  step.reasonOverride = 'loop-iterated';
}

/** A body node (editable, `Step.edit`) runs again: its latest output, input and approval go; its attempt records stay. */
function resetForIteration(node: NodeRun, iteration: number): void {
  node.status = 'pending';
  node.iteration = iteration;
  // The retry budget counts per iteration; attempt numbers continue. So does the node's spending budget.
  node.attemptBase = node.attempts;
  restartNodeBudget(node);
  node.lastIssues = [];
  node.artifacts = {};
  for (const key of [
    'resolvedInput',
    'inputCheckPending',
    'output',
    'notes',
    'handoffContext',
    'failureClass',
    'humanMode',
    'approvalId',
    'scheduledUntil',
    'scheduledReason',
    'startedAt',
    'dispatchedAt',
    'deadlineWarned',
    'escalated',
    'finishedAt',
    'cancelledByJoin',
    'loopInput',
    'loopsEvaluated',
    'currentAttempt',
  ] as const) {
    delete node[key];
  }
}
