/**
 * Fan-out (docs/semantics.md, "Fan-out"): a task or human node with `forEach` runs one **instance**
 * per entry of a list it reads when it becomes ready. An instance (`research[2]`) is a node run of its
 * own, so it has its own status, attempts, retries, timeout, deadline, approval and work item, and
 * every rule that applies to a node applies to it. The node itself is `running` while its instances
 * work and finishes when every instance has: `completed` (or `partial`) with output
 * `{ items: [each instance's output in index order, null where skipped] }`.
 *
 * Instances are appended to `state.nodes` after the plan's nodes, in index order, so the spec's
 * positions never move. An instance's `resolvedInput` holds only its `item` and `index`; the node's
 * input is added when it is read (`instanceInput`).
 */
import { closePendingApprovals } from './dispatch';
import { handleFailedAttempt } from './failure';
import { clone, getPath } from './paths';
import { findNodeRun, instanceId, nodeContext, parseInstanceId } from './run-state';
import { DEFAULT_FOR_EACH_ITEMS } from './spec-constants';
import type { ForEachPolicy, PlanSpec } from './spec';
import type { Step } from './step';
import { listNames, unknownNodeMessage } from './suggest';
import type { NodeRun, NodeStatus, RunState } from './types';

/** Statuses an instance ends in without failing the node. */
const DONE: readonly NodeStatus[] = ['completed', 'partial', 'skipped'];
const FINISHED: readonly NodeStatus[] = ['completed', 'partial', 'skipped', 'failed', 'cancelled'];

const fanOutPlans = new WeakMap<PlanSpec, boolean>();

/** Whether any node of the plan fans out (most plans: no, and the fan-out rules cost nothing). */
export function hasFanOut(spec: PlanSpec): boolean {
  let known = fanOutPlans.get(spec);
  if (known === undefined) {
    known = spec.nodes.some((node) => node.forEach !== undefined);
    fanOutPlans.set(spec, known);
  }
  return known;
}

/** The instances of `nodeId`, in index order. */
export function instancesOf(state: RunState, nodeId: string): NodeRun[] {
  return state.nodes.filter((node) => node.instanceOf === nodeId);
}

/** The item count as text: `research[0] … research[4]`. */
function instanceRange(nodeId: string, count: number): string {
  if (count === 0) return 'none';
  return count === 1 ? instanceId(nodeId, 0) : `${instanceId(nodeId, 0)} … ${instanceId(nodeId, count - 1)}`;
}

/**
 * Fans a ready node out: reads its list, creates one `ready` instance per entry (dispatch hands them
 * out in index order, within the run's and the node's `maxConcurrency`) and moves the node to
 * `running` (event `fan-out-started`). A list that is not an array or is longer than `maxItems` fails
 * the node with class `input` (its `onFailure` decides; it is not retried: the same input would fail
 * again). An empty list completes the node at once with `{ items: [] }`. `node` is editable (`Step.edit`).
 */
export function startFanOut(step: Step, node: NodeRun, forEach: ForEachPolicy): void {
  const { state } = step;
  const items = getPath(nodeContext(state, node), forEach.items);
  const maxItems = forEach.maxItems ?? DEFAULT_FOR_EACH_ITEMS;
  if (!Array.isArray(items) || items.length > maxItems) {
    const message = !Array.isArray(items)
      ? `forEach.items "${forEach.items}" is ${items === undefined ? 'missing' : `a ${items === null ? 'null' : typeof items}`}, not a list; map a list into the node's input`
      : `forEach.items "${forEach.items}" has ${items.length} entries, more than forEach.maxItems (${maxItems}); raise maxItems (at most 1000) or split the list`;
    node.currentAttempt = node.attempts + 1;
    handleFailedAttempt(step, node, 'input', [{ severity: 'blocking', code: 'for-each-items', message, path: forEach.items }]);
    return;
  }
  const retired = state.retiredAttempts ?? {};
  const instances = items.map((item, index): NodeRun => {
    const id = instanceId(node.nodeId, index);
    // An instance made again (its loop went round, its node was retried or replanned) continues its
    // attempt numbers, so the store's (run, node, attempt) and approval ids stay unique.
    const attempts = Object.prototype.hasOwnProperty.call(retired, id) ? retired[id] : 0;
    return {
      nodeId: id,
      type: node.type,
      status: 'ready',
      attempts,
      ...(attempts > 0 ? { attemptBase: attempts } : {}),
      resolvedInput: { item: clone(item), index },
      artifacts: {},
      history: [],
      lastIssues: [],
      instanceOf: node.nodeId,
      index,
      ...(node.iteration !== undefined ? { iteration: node.iteration } : {}),
    };
  });
  node.fanOut = { count: items.length };
  delete node.currentAttempt;
  state.nodes = [...state.nodes, ...instances];
  step.moveNode(
    node,
    'running',
    'fan-out-started',
    `Node "${node.nodeId}" fans out over ${items.length} item(s)${items.length ? ` (${instanceRange(node.nodeId, items.length)})` : ''}` +
      `${forEach.maxConcurrency ? `, at most ${forEach.maxConcurrency} at a time` : ''}.`,
    { count: items.length, ...(forEach.maxConcurrency ? { maxConcurrency: forEach.maxConcurrency } : {}) },
  );
  if (items.length === 0) finishFanOut(step, node, []);
}

/**
 * Finishes fanned-out nodes whose instances are all done (`completed`/`partial` with the list of
 * outputs), or fails the node when an instance failed for good (its failure rule aborted): the other
 * unfinished instances are cancelled and their agents woken with `node-cancelled`. Run while the
 * engine settles a step; returns true when anything changed.
 */
export function settleFanOuts(step: Step): boolean {
  const { state } = step;
  if (!hasFanOut(state.spec)) return false;
  let changed = false;
  for (const node of state.nodes) {
    if (node.fanOut === undefined || node.status !== 'running') continue;
    const instances = instancesOf(state, node.nodeId);
    const failed = instances.find((instance) => instance.status === 'failed');
    if (failed) {
      failFanOut(step, step.edit(node), failed, instances);
      changed = true;
    } else if (instances.every((instance) => DONE.includes(instance.status))) {
      finishFanOut(step, step.edit(node), instances);
      changed = true;
    }
  }
  return changed;
}

function finishFanOut(step: Step, node: NodeRun, instances: NodeRun[]): void {
  const count = (status: NodeStatus) => instances.filter((instance) => instance.status === status).length;
  const tally = { count: instances.length, completed: count('completed'), partial: count('partial'), skipped: count('skipped') };
  const partial = tally.partial + tally.skipped > 0;
  node.output = { items: instances.map((instance) => (instance.status === 'skipped' ? null : (instance.output ?? null))) };
  node.lastIssues = [];
  delete node.failureClass;
  step.emit('fan-out-completed', {
    nodeId: node.nodeId,
    message: `All ${instances.length} instance(s) of node "${node.nodeId}" finished: ${tally.completed} completed, ${tally.partial} partial, ${tally.skipped} skipped.`,
    detail: tally,
  });
  step.moveNode(
    node,
    partial ? 'partial' : 'completed',
    partial ? 'node-partial' : 'node-completed',
    partial
      ? `Node "${node.nodeId}" is partial: ${tally.partial + tally.skipped} of its ${instances.length} instance(s) were partial or skipped (null in its output).`
      : `Node "${node.nodeId}" completed: all ${instances.length} instance(s) completed.`,
    tally,
  );
  step.reasonOverride = 'fan-out-completed';
}

function failFanOut(step: Step, node: NodeRun, failed: NodeRun, instances: NodeRun[]): void {
  const cancelled: string[] = [];
  for (const instance of instances) {
    if (FINISHED.includes(instance.status)) continue;
    cancelInstance(step, step.edit(instance), `instance ${failed.nodeId} failed and aborted node "${node.nodeId}"`, { failedInstance: failed.nodeId });
    cancelled.push(instance.nodeId);
  }
  node.failureClass = failed.failureClass;
  step.moveNode(
    node,
    'failed',
    'node-failed',
    `Node "${node.nodeId}" failed: instance ${failed.nodeId} failed (${failed.failureClass ?? 'unknown'}) and its failure rule aborts` +
      `${cancelled.length ? `; ${cancelled.length} other instance(s) were cancelled` : ''}. Retry "${node.nodeId}" to run its failed and cancelled instances again.`,
    { failureClass: failed.failureClass, action: 'abort', failedInstance: failed.nodeId, cancelledInstances: cancelled },
  );
}

/** Cancels one unfinished instance (editable, `Step.edit`): its approval closes, its agent is woken with `node-cancelled`. */
export function cancelInstance(step: Step, instance: NodeRun, why: string, detail: Record<string, unknown>): void {
  delete instance.inputCheckPending;
  if (instance.approvalId) closePendingApprovals(step, why, detail, { status: 'cancelled', nodeId: instance.nodeId });
  step.moveNode(instance, 'cancelled', 'node-cancelled', `Node "${instance.nodeId}" was cancelled: ${why}.`, detail);
}

/**
 * Removes the instances of `nodeId` (its loop starts over, it is retried from its list, or a replan
 * resets it): their pending approvals close, and the attempt numbers they reached are remembered so
 * instances made again continue them. Their attempts stay in the store.
 */
export function retireInstances(step: Step, nodeId: string, why: string): void {
  const { state } = step;
  const instances = instancesOf(state, nodeId);
  if (instances.length === 0) return;
  const retired = { ...(state.retiredAttempts ?? {}) };
  for (const instance of instances) {
    if (state.approvals.some((approval) => approval.nodeId === instance.nodeId && approval.status === 'pending')) {
      closePendingApprovals(step, why, {}, { status: 'cancelled', nodeId: instance.nodeId });
    }
    const highest = Math.max(instance.attempts, instance.currentAttempt ?? 0, ...instance.history.map((record) => record.attempt));
    if (highest > 0) retired[instance.nodeId] = Math.max(highest, retired[instance.nodeId] ?? 0);
  }
  state.retiredAttempts = retired;
  state.nodes = state.nodes.filter((node) => node.instanceOf !== nodeId);
  if (findNodeRun(state, nodeId)?.fanOut !== undefined) delete step.edit(nodeId).fanOut;
  step.changed = true;
}

/**
 * Whether dispatch must leave a ready instance waiting: its node's `forEach.maxConcurrency` is used
 * up. `busy` counts the active instances per node.
 */
export function atFanOutLimit(instance: NodeRun, forEach: ForEachPolicy | undefined, busy: Map<string, number>): boolean {
  if (instance.instanceOf === undefined || !forEach?.maxConcurrency) return false;
  return (busy.get(instance.instanceOf) ?? 0) >= forEach.maxConcurrency;
}

/**
 * The refusal text for a message that names a fanned-out node itself (its instances take results
 * and responses), or an instance it does not have. Undefined when `nodeId` is neither.
 */
export function fanOutTargetProblem(state: RunState, nodeId: string): string | undefined {
  const instance = parseInstanceId(nodeId);
  const parentId = instance?.nodeId ?? nodeId;
  const parent = findNodeRun(state, parentId);
  const forEach = state.spec.nodes.find((node) => node.id === parentId)?.forEach;
  if (!parent || !forEach) return undefined;
  const count = parent.fanOut?.count;
  if (instance === undefined) {
    return count === undefined
      ? `node "${nodeId}" fans out over ${forEach.items} and has no instances yet (it is ${parent.status}); name an instance such as "${instanceId(nodeId, 0)}" once it runs`
      : `node "${nodeId}" fans out: name one of its ${count} instance(s), ${instanceRange(nodeId, count)}, e.g. submit RUN '${instanceId(nodeId, 0)}'`;
  }
  if (findNodeRun(state, nodeId)) return undefined;
  return count === undefined
    ? `node "${parentId}" has no instances yet (it is ${parent.status}), so "${nodeId}" does not exist`
    : `node "${parentId}" has ${count} instance(s) (${instanceRange(parentId, count)}), so "${nodeId}" does not exist`;
}

/** The unknown-node message, which for an instance id says what instances there are. */
export function unknownTargetMessage(state: RunState, nodeId: string): string {
  return fanOutTargetProblem(state, nodeId) ?? unknownNodeMessage(state.runId, nodeId, state.spec.nodes.map((node) => node.id));
}
