/**
 * Sub-plans (docs/semantics.md, "Sub-plans"): a `plan` node runs an entry of the plan's `plans` as a
 * **child run** of its own, a Temporal child workflow `planRun` whose workflow id (its run id) is
 * `<runId>.<nodeId>`, plus `.<attempt>` from the second attempt on (an instance: `<runId>.vet[2]`).
 *
 * The engine decides, the workflow carries it out:
 * - dispatch moves a ready plan node to `running` (event `subplan-started`, detail the child run id)
 *   and `subplanEffects` tells the workflow which child runs to start (spec, input) and which to
 *   cancel: every child whose node stopped waiting for it (the run was cancelled, a join cancelled
 *   the branch, a replan reset the node, the child failed), except a child that finished by itself;
 * - the child reports how it ended with `subplanReport`, and the parent applies it with
 *   `subplanFinished`: `completed` completes the node (`partial` when a node of the child was
 *   partial) with output `{ runId, nodes: { <childNodeId>: output } }`; `failed` or `aborted` fails
 *   the attempt with class `subplan`, and the node's retry and failure rules decide.
 *
 * PURE, like the rest of the engine.
 */
import { handleFailedAttempt } from './failure';
import { clone } from './paths';
import { findNodeRun, isFinished, nodeContext, specNode } from './run-state';
import { settle } from './settle';
import type { SubplanFinished } from './messages';
import { MESSAGE_SHAPES, parseShape } from './message-shapes';
import type { PlanSpec } from './spec';
import { Step } from './step';
import type { AttemptRecord, NodeRun, RunState, Transition } from './types';

/** A child run the workflow must start now (the engine's `start-subplan` effect). */
export interface SubplanStart {
  nodeId: string;
  attempt: number;
  childRunId: string;
  /** The sub-plan's name in `plans`. */
  plan: string;
  /** The child's spec: the sub-plan, with the registry entries it includes in turn. */
  spec: PlanSpec;
  /** The node's resolved input: the child's run input. */
  input: unknown;
}

/** A child run the workflow must cancel: its node no longer waits for it. */
export interface SubplanCancel {
  nodeId: string;
  childRunId: string;
  /** Why, for the cancellation's reason. */
  reason: string;
}

export interface SubplanEffects {
  start: SubplanStart[];
  cancel: SubplanCancel[];
}

const subplanPlans = new WeakMap<PlanSpec, boolean>();

/** Whether any node of the plan runs a sub-plan (most plans: no, and these rules cost nothing). */
export function hasSubplans(spec: PlanSpec): boolean {
  let known = subplanPlans.get(spec);
  if (known === undefined) {
    known = spec.nodes.some((node) => node.type === 'plan');
    subplanPlans.set(spec, known);
  }
  return known;
}

/** `<runId>.<nodeId>` for the first attempt, `<runId>.<nodeId>.<attempt>` from the second on. */
export function childRunIdOf(runId: string, nodeId: string, attempt: number): string {
  return attempt > 1 ? `${runId}.${nodeId}.${attempt}` : `${runId}.${nodeId}`;
}

/**
 * The spec a child run of sub-plan `name` starts with: the registry entry, plus the entries it
 * includes (directly or not) as its own `plans`, so the child can start children of its own.
 */
export function subplanSpec(spec: PlanSpec, name: string): PlanSpec {
  const registry = spec.plans ?? {};
  const reachable = new Set<string>();
  const queue = [name];
  while (queue.length > 0) {
    const next = queue.shift() as string;
    for (const node of registry[next]?.nodes ?? []) {
      if (node.type === 'plan' && node.plan !== undefined && !reachable.has(node.plan) && Object.prototype.hasOwnProperty.call(registry, node.plan)) {
        reachable.add(node.plan);
        queue.push(node.plan);
      }
    }
  }
  const child: PlanSpec = clone(registry[name]) as PlanSpec;
  if (reachable.size > 0) child.plans = Object.fromEntries([...reachable].sort().map((entry) => [entry, clone(registry[entry])]));
  return child;
}

/** Dispatch of a ready plan node: it runs while its child run works (event `subplan-started`). */
export function startSubplan(step: Step, node: NodeRun): void {
  const spec = specNode(step.state, node.nodeId);
  node.currentAttempt = node.attempts + 1;
  node.startedAt = step.now;
  node.dispatchedAt = step.now;
  node.childRunId = childRunIdOf(step.state.runId, node.nodeId, node.currentAttempt);
  step.moveNode(
    node,
    'running',
    'subplan-started',
    `Node "${node.nodeId}" started sub-plan "${spec.plan}" as child run ${node.childRunId} (attempt ${node.currentAttempt}).`,
    { childRunId: node.childRunId, plan: spec.plan },
  );
}

/** A node that waits for child run `childRunId`. */
function waitsFor(node: NodeRun | undefined, childRunId: string | undefined): boolean {
  return node !== undefined && childRunId !== undefined && node.status === 'running' && node.childRunId === childRunId;
}

/**
 * What the workflow must do about child runs after a transition from `before` to `after`: start the
 * child of every plan node that began waiting for one, and cancel every child that a node stopped
 * waiting for, except those in `closed` (children that completed or were cancelled by themselves).
 */
export function subplanEffects(before: RunState | undefined, after: RunState, closed: ReadonlySet<string> = new Set()): SubplanEffects {
  const effects: SubplanEffects = { start: [], cancel: [] };
  if (!(hasSubplans(after.spec) || (before !== undefined && hasSubplans(before.spec)))) return effects;
  for (const node of after.nodes) {
    if (node.childRunId === undefined || !waitsFor(node, node.childRunId)) continue;
    if (before && waitsFor(findNodeRun(before, node.nodeId), node.childRunId)) continue;
    const spec = specNode(after, node.nodeId);
    effects.start.push({
      nodeId: node.nodeId,
      attempt: node.currentAttempt as number,
      childRunId: node.childRunId,
      plan: spec.plan as string,
      spec: subplanSpec(after.spec, spec.plan as string),
      input: clone(nodeContext(after, node).input ?? {}),
    });
  }
  for (const node of before?.nodes ?? []) {
    if (node.childRunId === undefined || !waitsFor(node, node.childRunId) || closed.has(node.childRunId)) continue;
    const now = findNodeRun(after, node.nodeId);
    if (waitsFor(now, node.childRunId)) continue;
    effects.cancel.push({ nodeId: node.nodeId, childRunId: node.childRunId, reason: cancelReason(after, now) });
  }
  return effects;
}

function cancelReason(after: RunState, node: NodeRun | undefined): string {
  if (after.cancelled) return `its parent run ${after.runId} was cancelled by ${after.cancelled.by}`;
  if (!node) return `its node was removed from parent run ${after.runId} by a replan`;
  if (node.failureClass === 'subplan') return `parent run ${after.runId} took its failure (node "${node.nodeId}" is ${node.status})`;
  return `parent run ${after.runId} no longer waits for it (node "${node.nodeId}" is ${node.status})`;
}

/** The parent a child run reports to: recorded in the child's state. */
export interface ParentRef {
  runId: string;
  nodeId: string;
  attempt: number;
}

/**
 * The report a child run sends its parent once it is `completed`, `failed` or `aborted`; undefined
 * while it runs (or when it has no parent). A failed run stays open, but its parent's attempt fails.
 */
export function subplanReport(state: RunState): SubplanFinished | undefined {
  const parent = state.parent;
  if (!parent) return undefined;
  const base = { nodeId: parent.nodeId, attempt: parent.attempt, childRunId: state.runId };
  const planNodes = state.nodes.filter((node) => node.instanceOf === undefined);
  switch (state.status) {
    case 'completed': {
      const nodes: Record<string, unknown> = {};
      for (const node of planNodes) {
        const value = node.status === 'completed' || node.status === 'partial' ? (node.output ?? null) : null;
        Object.defineProperty(nodes, node.nodeId, { value: clone(value), enumerable: true, writable: true, configurable: true });
      }
      const partial = planNodes.some((node) => node.status === 'partial');
      return { ...base, status: 'completed', output: { runId: state.runId, nodes }, ...(partial ? { partial } : {}) };
    }
    case 'failed': {
      const failed = planNodes.filter((node) => node.status === 'failed');
      const what = failed.map((node) => {
        const last = node.history.at(-1);
        return `node "${node.nodeId}" failed (${node.failureClass ?? last?.failureClass ?? 'unknown'}${last?.failureMessage ? `: ${last.failureMessage}` : ''})`;
      });
      return { ...base, status: 'failed', reason: `child run ${state.runId} failed: ${what.join('; ') || 'a node failed'}` };
    }
    case 'aborted': {
      const by = state.cancelled ? ` by ${state.cancelled.by}${state.cancelled.reason ? `: ${state.cancelled.reason}` : ''}` : '';
      return { ...base, status: 'aborted', reason: `child run ${state.runId} was cancelled${by}` };
    }
    default:
      return undefined;
  }
}

/**
 * A child run's report (docs/semantics.md, "Sub-plans"). Undefined, changing nothing, when it no
 * longer matters (the node does not wait for that child any more, or the run finished) or does not
 * parse. The attempt is recorded by `run:<childRunId>`.
 */
export function subplanFinished(state: RunState, payload: unknown, now: string): Transition | undefined {
  const parsed = parseShape(MESSAGE_SHAPES.SubplanFinished, payload);
  if (!parsed.ok) return undefined;
  const report = parsed.value;
  if (isFinished(state) || !waitsFor(findNodeRun(state, report.nodeId), report.childRunId)) return undefined;
  if (findNodeRun(state, report.nodeId)?.currentAttempt !== report.attempt) return undefined;
  const step = new Step(state, now, `run:${report.childRunId}`);
  const node = step.edit(report.nodeId);
  const attempt = report.attempt;
  if (report.status !== 'failed') step.closedChildren.add(report.childRunId);
  const detail = { childRunId: report.childRunId, childStatus: report.status };
  let reason: ReturnType<typeof handleFailedAttempt> = 'node-result-complete';
  if (report.status === 'completed') {
    const output = clone(report.output ?? { runId: report.childRunId, nodes: {} });
    const status = report.partial ? 'partial' : 'completed';
    node.history = [...node.history, attemptRecord(node, attempt, step.by, now, { output, status })];
    node.attempts += 1;
    node.output = output;
    node.lastIssues = [];
    delete node.failureClass;
    step.moveNode(
      node,
      status,
      report.partial ? 'node-partial' : 'node-completed',
      `Node "${node.nodeId}" ${report.partial ? 'is partial' : 'completed'}: child run ${report.childRunId} completed${report.partial ? ' with a partial node' : ''} (attempt ${attempt}).`,
      detail,
    );
  } else {
    const message = report.reason ?? `child run ${report.childRunId} ${report.status === 'aborted' ? 'was cancelled' : 'failed'}`;
    const issues = [{ severity: 'blocking' as const, code: 'subplan', message }];
    node.history = [...node.history, attemptRecord(node, attempt, step.by, now, { status: 'failed', failureClass: 'subplan', failureMessage: message, issues })];
    node.attempts += 1;
    delete node.output;
    reason = handleFailedAttempt(step, node, 'subplan', issues, message, {
      type: 'validation-reported',
      message: `Node "${node.nodeId}" failed (subplan): ${message}.`,
      detail,
    });
  }
  settle(step);
  return step.finish(reason);
}

function attemptRecord(node: NodeRun, attempt: number, by: string, at: string, fields: Partial<AttemptRecord> & Pick<AttemptRecord, 'status'>): AttemptRecord {
  return {
    attempt,
    ...(node.iteration !== undefined ? { iteration: node.iteration } : {}),
    kind: 'subplan',
    by,
    at,
    artifacts: [],
    issues: [],
    ...fields,
  };
}
