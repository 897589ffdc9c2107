/**
 * Replan (docs/semantics.md §11): a run continues under a new spec version. Nodes whose definition did not change
 * keep their node run when it finished successfully (completed, partial, skipped); every other node
 * starts over as pending, and readiness and dispatch run again in the same transition. The workflow
 * then continues as new with the returned state (same workflow id).
 *
 * What counts as a change (`specChanges`):
 * - a node's own spec object differs (deep JSON equality, key order ignored);
 * - its incoming edges differ: the list of `{ from, when, map }` in spec order (a missing `when` is
 *   `always`, a missing `map` is `{}`);
 * - a registry schema it references (`inputSchema`, `outputSchema`, and whatever those `$ref` by
 *   name) differs.
 * A node downstream (transitively) of a changed or added node is `affected`: its input came from
 * outputs that will be produced again, so it starts over too. Otherwise a completed node would sit
 * below a pending one, which readiness (§5) never allows.
 *
 * PURE: no I/O, no clock; `now` comes in as an argument.
 */
import { closePendingApprovals } from './dispatch';
import { DEFAULT_PAYLOAD_LIMITS, DEFAULT_SPEC_LIMITS } from './limits';
import { parseMessage, refuse } from './message-checks';
import { MESSAGE_SHAPES } from './message-shapes';
import { clone, jsonEqual } from './paths';
import { incomingEdges, isFinished, isSuccessful } from './run-state';
import { schemasFor } from './schemas';
import { settle } from './settle';
import type { PlanNode, PlanSpec } from './spec';
import { Step } from './step';
import type { NodeRun, Refusal, RunState, Transition } from './types';
import { validatePlanSpec, type ValidatePlanSpecOptions } from './validate-spec';

/** How a new spec version differs from the old one, node by node. */
export interface SpecChanges {
  /** Same id, unchanged definition and nothing changed upstream: these may keep their node run. New spec order. */
  kept: string[];
  /** Same id, but the node, its incoming edges or a schema it references changed. New spec order. */
  changed: string[];
  /** Unchanged definition, but downstream of a changed or added node: they start over. New spec order. */
  affected: string[];
  /** Only in the new spec. New spec order. */
  added: string[];
  /** Only in the old spec. Old spec order. */
  removed: string[];
}

/** Detail of the `run-replanned` event. */
export interface RunReplannedDetail {
  fromVersion: number;
  toVersion: number;
  /** Nodes that keep their node run (status, outputs, attempts, history, artifacts). */
  kept: string[];
  /** Nodes of the old version that start over as pending (changed, affected, or not finished). */
  reset: string[];
  added: string[];
  removed: string[];
  /** Nodes whose own definition changed (a subset of `reset`). */
  changed: string[];
  /** Nodes that were running or awaiting a person: their work in flight is abandoned. */
  stoppedNodeIds: string[];
  reason?: string;
  /** Validation warnings of the new spec (e.g. prose conditions), as `path: message`. */
  warnings?: string[];
}

/** Compares two spec versions (see the module comment for what counts as a change). Pure. */
/**
 * The nodes a replan keeps: unchanged by the new spec, finished successfully (`finishedOk`), and
 * every node upstream of them kept too. Shared by `replanRun` and the CLI's `replan --dry-run`.
 */
export function nodesToKeep(changes: SpecChanges, newSpec: PlanSpec, finishedOk: (nodeId: string) => boolean): Set<string> {
  const keep = new Set(changes.kept.filter(finishedOk));
  for (let moved = true; moved; ) {
    moved = false;
    for (const id of [...keep]) {
      if (incomingEdges(newSpec, id).every((edge) => keep.has(edge.from))) continue;
      keep.delete(id);
      moved = true;
    }
  }
  return keep;
}

/** kept / reset / added / removed / changed in the new spec's order, as `run-replanned` reports them. */
export function replanOutline(changes: SpecChanges, newSpec: PlanSpec, keep: Set<string>, oldIds: Set<string>) {
  const newIds = newSpec.nodes.map((node) => node.id);
  return {
    kept: newIds.filter((id) => keep.has(id)),
    reset: newIds.filter((id) => oldIds.has(id) && !keep.has(id)),
    added: changes.added,
    removed: changes.removed,
    changed: changes.changed,
  };
}

export function specChanges(oldSpec: PlanSpec, newSpec: PlanSpec): SpecChanges {
  const oldIds = new Set(oldSpec.nodes.map((node) => node.id));
  const newIds = new Set(newSpec.nodes.map((node) => node.id));
  const changed = new Set<string>();
  const added = new Set<string>();
  for (const node of newSpec.nodes) {
    if (!oldIds.has(node.id)) added.add(node.id);
    else if (nodeChanged(oldSpec, newSpec, node.id)) changed.add(node.id);
  }
  // Everything downstream of a changed or added node (in the new graph) starts over too.
  const affected = new Set<string>();
  const queue = [...changed, ...added];
  while (queue.length > 0) {
    const from = queue.shift() as string;
    for (const edge of newSpec.edges ?? []) {
      if (edge.from !== from || changed.has(edge.to) || added.has(edge.to) || affected.has(edge.to)) continue;
      affected.add(edge.to);
      queue.push(edge.to);
    }
  }
  const inOrder = (set: Set<string>) => newSpec.nodes.map((node) => node.id).filter((id) => set.has(id));
  return {
    kept: newSpec.nodes.map((node) => node.id).filter((id) => oldIds.has(id) && !changed.has(id) && !affected.has(id)),
    changed: inOrder(changed),
    affected: inOrder(affected),
    added: inOrder(added),
    removed: oldSpec.nodes.map((node) => node.id).filter((id) => !newIds.has(id)),
  };
}

function nodeChanged(oldSpec: PlanSpec, newSpec: PlanSpec, nodeId: string): boolean {
  const before = oldSpec.nodes.find((node) => node.id === nodeId) as PlanNode;
  const after = newSpec.nodes.find((node) => node.id === nodeId) as PlanNode;
  if (!jsonEqual(before, after)) return true;
  if (!jsonEqual(incomingOf(oldSpec, nodeId), incomingOf(newSpec, nodeId))) return true;
  for (const ref of [after.inputSchema, after.outputSchema]) {
    if (ref && !jsonEqual(schemasFor(oldSpec.schemas, ref), schemasFor(newSpec.schemas, ref))) return true;
  }
  return false;
}

function incomingOf(spec: PlanSpec, nodeId: string): Array<{ from: string; when: string; map: Record<string, string> }> {
  return incomingEdges(spec, nodeId).map((edge) => ({
    from: edge.from,
    when: edge.when === undefined || edge.when.trim() === '' ? 'always' : edge.when.trim(),
    map: edge.map ?? {},
  }));
}

/**
 * docs/semantics.md §11 replan `{ spec, by, reason? }`. Refused, changing nothing: a malformed payload
 * (`invalid-payload`), an invalid spec or one with another plan id (`invalid-spec`, every problem as
 * `path: message`), a finished run (`run-finished`). `options.checkSchema` lets a caller outside the
 * workflow sandbox also check that every registry schema compiles.
 */
export function replanRun(
  state: RunState,
  payload: unknown,
  now: string,
  options: ValidatePlanSpecOptions = {},
): Transition | Refusal {
  // The payload carries a whole plan: it is bounded by the plan's limits, not by a result's.
  const parsed = parseMessage(MESSAGE_SHAPES.ReplanRequest, payload ?? {}, 'replan', {
    ...DEFAULT_PAYLOAD_LIMITS,
    maxPayloadBytes: DEFAULT_SPEC_LIMITS.maxSpecBytes + 64 * 1024,
    maxDepth: DEFAULT_SPEC_LIMITS.maxSpecDepth + 1,
  });
  if (parsed.refused) return parsed;
  if (isFinished(state)) return refuse('run-finished', `Run ${state.runId} is ${state.status}: it cannot be replanned.`);
  const { by, reason } = parsed.message;
  const checked = validatePlanSpec(parsed.message.spec, options);
  if (!checked.valid || !checked.spec) {
    const problems = checked.errors.map((problem) => `${problem.path}: ${problem.message}`).join('; ');
    return refuse('invalid-spec', `The new spec is invalid (${checked.errors.length} problem(s)): ${problems}`);
  }
  const newSpec = clone(checked.spec);
  if (newSpec.id !== state.planId) {
    return refuse(
      'invalid-spec',
      `The new spec is invalid (1 problem(s)): $.id: is "${newSpec.id}" but run ${state.runId} runs plan "${state.planId}"; a replan keeps the plan id (start a new run for another plan).`,
    );
  }

  const changes = specChanges(state.spec, newSpec);
  const step = new Step(state, now, by);
  const old = step.state;
  const oldRuns = new Map(old.nodes.map((node) => [node.nodeId, node]));

  const keep = nodesToKeep(changes, newSpec, (id) => isSuccessful(oldRuns.get(id) as NodeRun));
  const stoppedNodeIds = old.nodes.filter((node) => node.status === 'running' || node.status === 'awaiting-human').map((node) => node.nodeId);
  const fromVersion = old.specVersion;
  const toVersion = fromVersion + 1;
  for (const id of changes.removed) {
    const removed = oldRuns.get(id);
    if (!removed) continue;
    const highest = Math.max(removed.attempts, removed.currentAttempt ?? 0, ...removed.history.map((record) => record.attempt));
    if (highest > 0) old.retiredAttempts = { ...old.retiredAttempts, [id]: Math.max(highest, old.retiredAttempts?.[id] ?? 0) };
  }
  // Instances of a kept fanned-out node stay with it; those of a node that starts over go (their
  // attempt numbers are remembered, so the instances it makes again continue them).
  const instances = old.nodes.filter((node) => node.instanceOf !== undefined);
  const retired = { ...old.retiredAttempts };
  for (const instance of instances) {
    if (keep.has(instance.instanceOf as string)) continue;
    const highest = Math.max(instance.attempts, instance.currentAttempt ?? 0, ...instance.history.map((record) => record.attempt));
    if (highest > 0) retired[instance.nodeId] = Math.max(highest, retired[instance.nodeId] ?? 0);
  }
  if (Object.keys(retired).length > 0) old.retiredAttempts = retired;
  old.nodes = [
    ...newSpec.nodes.map((node): NodeRun => {
      const previous = oldRuns.get(node.id);
      if (previous && keep.has(node.id)) return previous;
      return freshNodeRun(old, node, previous);
    }),
    ...instances.filter((instance) => keep.has(instance.instanceOf as string)),
  ];
  old.spec = newSpec;
  old.specVersion = toVersion;

  const detail: RunReplannedDetail = {
    fromVersion,
    toVersion,
    ...replanOutline(changes, newSpec, keep, new Set(oldRuns.keys())),
    stoppedNodeIds,
    ...(reason !== undefined ? { reason } : {}),
    ...(checked.warnings.length ? { warnings: checked.warnings.map((w) => `${w.path}: ${w.message}`) } : {}),
  };
  step.emit('run-replanned', {
    message:
      `Run replanned by ${by}: spec version ${fromVersion} → ${toVersion} ` +
      `(kept ${detail.kept.length}, reset ${detail.reset.length}, added ${detail.added.length}, removed ${detail.removed.length})` +
      `${reason ? `: ${reason}` : ''}.`,
    detail: { ...detail },
  });

  // Approvals of the old version are closed, as on cancel: their nodes start over with a new attempt.
  closePendingApprovals(step, `the run was replanned (spec version ${toVersion})`, { replanned: true });

  step.changed = true;
  settle(step);
  return step.finish('run-replanned');
}

/**
 * A node that starts over: pending, no input or output yet, but its attempt history stays and its
 * attempt numbers continue past every attempt already handed out (recorded, dispatched or asked of
 * a person), so the store's (run, node, attempt) and approval ids `<nodeId>#<attempt>` stay unique.
 */
function freshNodeRun(state: RunState, node: PlanNode, previous: NodeRun | undefined): NodeRun {
  const approvalsOfNode = state.approvals.filter((approval) => approval.nodeId === node.id).map((approval) => approval.attempt);
  const attempts = Math.max(
    previous?.attempts ?? 0,
    previous?.currentAttempt ?? 0,
    ...(previous?.history ?? []).map((record) => record.attempt),
    // A node removed by an earlier replan and added back: its closed approvals are still in the
    // state, and so is the highest attempt it was handed.
    ...approvalsOfNode,
    state.retiredAttempts?.[node.id] ?? 0,
  );
  return {
    nodeId: node.id,
    type: node.type,
    status: 'pending',
    attempts,
    // A node that starts over gets its whole retry budget again; its attempt numbers continue.
    ...(attempts > 0 ? { attemptBase: attempts } : {}),
    artifacts: {},
    history: previous?.history ?? [],
    lastIssues: [],
    // What it spent stays its own; its budget starts over with it (docs/semantics.md, "Budgets").
    ...(previous?.usage !== undefined ? { usage: previous.usage, budgetBase: previous.usage } : {}),
  };
}
