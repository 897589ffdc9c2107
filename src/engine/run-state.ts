/**
 * Run state construction and the lookups every rule needs. Pure: time and ids come in as arguments.
 */
import { innermostLoop } from './loops';
import { ownRecord, setOwn } from './own';
import { clone } from './paths';
import { isHumanNodeType, isStructuralNodeType } from './spec-constants';
import type { Owner, PlanEdge, PlanNode, PlanSpec } from './spec';
import {
  ACTIVE_NODE_STATUSES,
  FINISHED_RUN_STATUSES,
  SUCCESSFUL_NODE_STATUSES,
  type Artifact,
  type NodeContext,
  type NodeRun,
  type RunState,
  type RunStatus,
} from './types';

export interface CreateRunArgs {
  runId: string;
  spec: PlanSpec;
  input?: unknown;
  /** Workflow time, ISO-8601. */
  now: string;
  specVersion?: number;
  /** The run's work-item token secret, drawn by the workflow (`./tokens.ts`); absent: no tokens. */
  tokenSecret?: string;
  /** The worker requires work-item tokens for every run (the plan can also ask for them). */
  requireWorkItemTokens?: boolean;
  /** A child run's parent (docs/semantics.md, "Sub-plans"). */
  parent?: { runId: string; nodeId: string; attempt: number };
}

/** A run with every node pending and no events yet; `startRun` makes it move. */
export function createRunState({ runId, spec, input, now, specVersion = 1, tokenSecret, requireWorkItemTokens, parent }: CreateRunArgs): RunState {
  const tokens = requireWorkItemTokens || spec.requireWorkItemTokens;
  return {
    runId,
    planId: spec.id,
    specVersion,
    spec,
    input: input === undefined ? {} : clone(input),
    status: 'running',
    nodes: spec.nodes.map(
      (node): NodeRun => ({
        nodeId: node.id,
        type: node.type,
        status: 'pending',
        attempts: 0,
        artifacts: {},
        history: [],
        lastIssues: [],
        // Nodes inside a loop body carry their iteration from the start (events, work items, rows).
        ...(innermostLoop(spec, node.id) !== undefined ? { iteration: 1 } : {}),
      }),
    ),
    approvals: [],
    seq: 0,
    checkpointSequence: 0,
    failureCount: 0,
    submissions: ownRecord(),
    startedAt: now,
    updatedAt: now,
    ...(tokenSecret !== undefined ? { tokenSecret } : {}),
    // Recorded in the run, so a replan that drops the plan's field does not drop the requirement.
    ...(tokens ? { requireWorkItemTokens: true } : {}),
    ...(parent ? { parent: { ...parent } } : {}),
  };
}

export function isFinished(state: RunState): boolean {
  return FINISHED_RUN_STATUSES.includes(state.status);
}

/**
 * Lookup indexes, built once per spec and once per node-run array. Without them every lookup scans
 * the plan, and a step over a 1,000-node plan does thousands of lookups. The node-run index maps a
 * node id to its position, not to the node run: a step replaces node runs in its array as it edits
 * them (`editNode`), and a position stays right through that, so a step's array (a copy of the
 * previous one, same positions) shares the previous array's index instead of building its own.
 * WeakMaps: deterministic, and gone with the objects they index.
 */
const specIndexes = new WeakMap<PlanSpec, { nodes: Map<string, PlanNode>; incoming: Map<string, PlanEdge[]> }>();
const nodeRunIndexes = new WeakMap<NodeRun[], Map<string, number>>();

function specIndex(spec: PlanSpec) {
  let index = specIndexes.get(spec);
  if (!index) {
    const incoming = new Map<string, PlanEdge[]>();
    // A loop edge is never an incoming dependency of its `to` (docs/semantics.md, "Loops").
    for (const edge of spec.edges ?? []) if (!edge.loop) incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), edge]);
    index = { nodes: new Map(spec.nodes.map((node) => [node.id, node])), incoming };
    specIndexes.set(spec, index);
  }
  return index;
}

/**
 * The spec node `nodeId` names. An instance id (`research[2]`, docs/semantics.md, "Fan-out") names
 * its node's spec: instances share the brief, owner, checks, retries and time limits.
 */
export function findSpecNode(state: RunState, nodeId: string): PlanNode | undefined {
  const nodes = specIndex(state.spec).nodes;
  const node = nodes.get(nodeId);
  if (node !== undefined || !nodeId.endsWith(']')) return node;
  const instance = parseInstanceId(nodeId);
  return instance ? nodes.get(instance.nodeId) : undefined;
}

const INSTANCE_ID = /^([A-Za-z0-9_.-]+)\[(0|[1-9][0-9]{0,5})\]$/;

/** `research[2]` → `{ nodeId: 'research', index: 2 }`; undefined for anything that is not an instance id. */
export function parseInstanceId(id: string): { nodeId: string; index: number } | undefined {
  const match = INSTANCE_ID.exec(id);
  return match ? { nodeId: match[1], index: Number(match[2]) } : undefined;
}

/** The id of instance `index` of `nodeId`: `research[2]`. */
export function instanceId(nodeId: string, index: number): string {
  return `${nodeId}[${index}]`;
}

export function specNode(state: RunState, nodeId: string): PlanNode {
  const node = findSpecNode(state, nodeId);
  if (!node) throw new Error(`engine invariant: no node "${nodeId}" in spec`);
  return node;
}

export function findNodeRun(state: RunState, nodeId: string): NodeRun | undefined {
  const position = nodePosition(state.nodes, nodeId);
  return position === undefined ? undefined : state.nodes[position];
}

/** The position of node run `nodeId` in `nodes`, from the array's index (built on first use). */
function nodePosition(nodes: NodeRun[], nodeId: string): number | undefined {
  let index = nodeRunIndexes.get(nodes);
  // Node-run arrays never grow or shrink in place (a fan-out or a replan builds a new array); the
  // size check is a cheap guard all the same, and so is the id check on the position found.
  if (!index || index.size !== nodes.length) index = indexNodeRuns(nodes);
  const position = index.get(nodeId);
  if (position !== undefined && nodes[position].nodeId !== nodeId) return indexNodeRuns(nodes).get(nodeId);
  return position;
}

function indexNodeRuns(nodes: NodeRun[]): Map<string, number> {
  const index = new Map<string, number>();
  for (let position = 0; position < nodes.length; position += 1) index.set(nodes[position].nodeId, position);
  nodeRunIndexes.set(nodes, index);
  return index;
}

/**
 * `copy` (a copy of `nodes`, every node run at the same position) uses the index of `nodes`. A step
 * copies the node-run array after every message: rebuilding a 1,000-entry map each time was a
 * twentieth of a step. The index is never edited once built, so sharing it is safe.
 */
function shareNodeRunIndex(nodes: NodeRun[], copy: NodeRun[]): void {
  const index = nodeRunIndexes.get(nodes);
  if (index && nodes.length === copy.length) nodeRunIndexes.set(copy, index);
}

/**
 * Node-run arrays whose node runs are all frozen: those of finished steps. A step starts from one
 * without looking at its node runs again.
 */
const frozenNodeArrays = new WeakSet<NodeRun[]>();
/**
 * A step's node-run array, while every node run in it is either frozen or a copy listed here (the
 * array was copied from a frozen one and only `editNode` replaced node runs in it): the step freezes
 * just its copies when it finishes. An array built otherwise (a fan-out, a replan) is not listed,
 * and its node runs are all looked at.
 */
const nodeCopies = new WeakMap<NodeRun[], NodeRun[]>();

/**
 * Copy-on-write of node runs (see `Step`): the node run at `at` (a node id, a position in
 * `state.nodes`, or the node run itself, also as it was before this step copied it) ready to be
 * edited. A node run the step still shares with the previous state is frozen: it is replaced in the
 * step's array by a shallow copy, which is returned, and stays the node's run for the rest of the
 * step (asking again returns the same copy). Every rule edits a node run only through what this
 * returns: an edit of a shared, frozen one throws (engine modules are strict), instead of silently
 * changing the state before the step.
 */
export function editNode(state: RunState, at: NodeRun | string | number): NodeRun {
  const nodes = state.nodes;
  const nodeId = typeof at === 'number' ? undefined : typeof at === 'string' ? at : at.nodeId;
  const position = nodeId === undefined ? (at as number) : nodePosition(nodes, nodeId);
  const node = position === undefined ? undefined : nodes[position];
  if (node === undefined || position === undefined) throw new Error(`engine invariant: no node run "${nodeId ?? at}" to edit`);
  if (!Object.isFrozen(node)) return node;
  const copy = { ...node };
  nodes[position] = copy;
  frozenNodeArrays.delete(nodes);
  nodeCopies.get(nodes)?.push(copy);
  return copy;
}

/**
 * The node-run array a step starts with: a copy of `nodes` (same positions, same index), whose node
 * runs are frozen first if they are not yet (node runs built by `createRunState`, a replan, a
 * hand-over or JSON), so that a rule that edits one without `editNode` throws instead of changing
 * the state the step started from.
 */
export function copyNodeRuns(nodes: NodeRun[]): NodeRun[] {
  if (!frozenNodeArrays.has(nodes)) freezeAll(nodes);
  const copy = nodes.slice();
  shareNodeRunIndex(nodes, copy);
  nodeCopies.set(copy, []);
  return copy;
}

/**
 * A step finished with `nodes`: its own node runs are frozen, since the next step shares them. Only
 * the copies it made, when it kept the array it started with (untouched node runs are frozen
 * already), else every node run of the array.
 */
export function freezeNodeRuns(nodes: NodeRun[]): void {
  const copies = nodeCopies.get(nodes);
  if (copies) {
    for (let i = 0; i < copies.length; i += 1) Object.freeze(copies[i]);
    nodeCopies.delete(nodes);
  } else {
    freezeAll(nodes);
  }
  frozenNodeArrays.add(nodes);
}

function freezeAll(nodes: readonly NodeRun[]): void {
  for (let i = 0; i < nodes.length; i += 1) if (!Object.isFrozen(nodes[i])) Object.freeze(nodes[i]);
}

export function nodeRun(state: RunState, nodeId: string): NodeRun {
  const node = findNodeRun(state, nodeId);
  if (!node) throw new Error(`engine invariant: no node run "${nodeId}"`);
  return node;
}

export function incomingEdges(spec: PlanSpec, nodeId: string): PlanEdge[] {
  return specIndex(spec).incoming.get(nodeId) ?? [];
}

export function isTaskNode(node: PlanNode): boolean {
  return node.type === 'task';
}
export function isHumanNode(node: PlanNode): boolean {
  return isHumanNodeType(node.type);
}
export function isStructuralNode(node: PlanNode): boolean {
  return isStructuralNodeType(node.type);
}

/**
 * Finished in a way that lets the run complete: completed, partial, skipped, or cancelled as a
 * join's losing branch (a branch nobody needs any more is not a failure).
 */
export function isSuccessful(node: NodeRun): boolean {
  return SUCCESSFUL_NODE_STATUSES.includes(node.status) || (node.status === 'cancelled' && node.cancelledByJoin !== undefined);
}

/** The forward edges that leave `nodeId`, in spec order (loop edges left out). */
export function outgoingEdges(spec: PlanSpec, nodeId: string): PlanEdge[] {
  return (spec.edges ?? []).filter((edge) => edge.from === nodeId && !edge.loop);
}
/** Worked on now (running or awaiting a person). A fanned-out node is not: its instances are. */
export function isActive(node: NodeRun): boolean {
  return ACTIVE_NODE_STATUSES.includes(node.status) && node.fanOut === undefined;
}

/** docs/semantics.md §4: `{ input, output, artifact, run: { input }, iteration }`. */
export function nodeContext(state: RunState, node: NodeRun, overrides: Partial<NodeContext> = {}): NodeContext {
  return {
    input: node.instanceOf !== undefined ? instanceInput(state, node) : node.resolvedInput,
    output: node.output,
    artifact: node.artifacts,
    run: { input: state.input },
    iteration: node.iteration ?? 1,
    ...overrides,
  };
}

/**
 * An instance's resolved input: its node's resolved input plus `item` and `index` (docs/semantics.md,
 * "Fan-out"). A node input that is not an object is kept under `input`.
 */
export function instanceInput(state: RunState, instance: NodeRun): unknown {
  const own = (instance.resolvedInput ?? {}) as Record<string, unknown>;
  const shared = findNodeRun(state, instance.instanceOf as string)?.resolvedInput;
  const base = shared !== null && typeof shared === 'object' && !Array.isArray(shared) ? shared : shared === undefined ? {} : { input: shared };
  return { ...base, ...own };
}

export function mergeArtifacts(existing: Record<string, Artifact>, added: Artifact[] = []): Record<string, Artifact> {
  const merged = { ...existing };
  for (const artifact of added) setOwn(merged, artifact.name, clone(artifact));
  return merged;
}

/**
 * Who reviews a task node after a failed attempt (`onFailure: human-review`). The semantics name no field
 * for it: the node's deadline `escalateTo` when that is a human, else the role `reviewers`.
 */
export function reviewerOf(node: PlanNode): Owner {
  const escalateTo = node.deadline?.escalateTo;
  return escalateTo?.kind === 'human' ? escalateTo : { kind: 'human', ref: 'reviewers' };
}

/** docs/semantics.md §6 run-status table, evaluated top to bottom. */
export function deriveRunStatus(state: RunState): RunStatus {
  if (state.cancelled) return 'aborted';
  if (state.nodes.every(isSuccessful)) return 'completed';
  if (state.nodes.some((node) => node.status === 'failed')) return 'failed';
  // Over the plan's budget: blocked until an operator raises it or cancels (docs/semantics.md, "Budgets").
  if (state.planBudget?.exceededAt !== undefined) return 'blocked';
  // A fanned-out node is running while its instances work: the instances say what the run waits for.
  const working = state.nodes.filter((node) => node.fanOut === undefined || node.status !== 'running');
  const awaitingHuman = working.some((node) => node.status === 'awaiting-human');
  const running = working.some((node) => node.status === 'running');
  if (awaitingHuman && !running) return 'awaiting-human';
  const canMove = working.some(
    (node) => node.status === 'running' || node.status === 'scheduled' || node.status === 'ready' || node.inputCheckPending,
  );
  return canMove ? 'running' : 'blocked';
}
