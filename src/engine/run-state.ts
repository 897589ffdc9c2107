/**
 * Run state construction and the lookups every rule needs. Pure: time and ids come in as arguments.
 */
import { clone } from './paths';
import { isHumanNodeType, isStructuralNodeType, type Owner, type PlanEdge, type PlanNode, type PlanSpec } from './spec';
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
}

/** A run with every node pending and no events yet; `startRun` makes it move. */
export function createRunState({ runId, spec, input, now, specVersion = 1 }: CreateRunArgs): RunState {
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
      }),
    ),
    approvals: [],
    seq: 0,
    checkpointSequence: 0,
    failureCount: 0,
    submissions: {},
    startedAt: now,
    updatedAt: now,
  };
}

export function isFinished(state: RunState): boolean {
  return FINISHED_RUN_STATUSES.includes(state.status);
}

export function findSpecNode(state: RunState, nodeId: string): PlanNode | undefined {
  return state.spec.nodes.find((node) => node.id === nodeId);
}

export function specNode(state: RunState, nodeId: string): PlanNode {
  const node = findSpecNode(state, nodeId);
  if (!node) throw new Error(`engine invariant: no node "${nodeId}" in spec`);
  return node;
}

export function findNodeRun(state: RunState, nodeId: string): NodeRun | undefined {
  return state.nodes.find((node) => node.nodeId === nodeId);
}

export function nodeRun(state: RunState, nodeId: string): NodeRun {
  const node = findNodeRun(state, nodeId);
  if (!node) throw new Error(`engine invariant: no node run "${nodeId}"`);
  return node;
}

export function incomingEdges(spec: PlanSpec, nodeId: string): PlanEdge[] {
  return (spec.edges ?? []).filter((edge) => edge.to === nodeId);
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

export function isSuccessful(node: NodeRun): boolean {
  return SUCCESSFUL_NODE_STATUSES.includes(node.status);
}
export function isActive(node: NodeRun): boolean {
  return ACTIVE_NODE_STATUSES.includes(node.status);
}

/** SPEC §4: `{ input, output, artifact, run: { input } }`. */
export function nodeContext(state: RunState, node: NodeRun, overrides: Partial<NodeContext> = {}): NodeContext {
  return {
    input: node.resolvedInput,
    output: node.output,
    artifact: node.artifacts,
    run: { input: state.input },
    ...overrides,
  };
}

export function mergeArtifacts(existing: Record<string, Artifact>, added: Artifact[] = []): Record<string, Artifact> {
  const merged = { ...existing };
  for (const artifact of added) merged[artifact.name] = clone(artifact);
  return merged;
}

/**
 * Who reviews a task node after a failed attempt (`onFailure: human-review`). SPEC names no field
 * for it: the node's deadline `escalateTo` when that is a human, else the role `reviewers`.
 */
export function reviewerOf(node: PlanNode): Owner {
  const escalateTo = node.deadline?.escalateTo;
  return escalateTo?.kind === 'human' ? escalateTo : { kind: 'human', ref: 'reviewers' };
}

/** SPEC §6 run-status table, evaluated top to bottom. */
export function deriveRunStatus(state: RunState): RunStatus {
  if (state.cancelled) return 'aborted';
  if (state.nodes.every(isSuccessful)) return 'completed';
  if (state.nodes.some((node) => node.status === 'failed')) return 'failed';
  const awaitingHuman = state.nodes.some((node) => node.status === 'awaiting-human');
  const running = state.nodes.some((node) => node.status === 'running');
  if (awaitingHuman && !running) return 'awaiting-human';
  const canMove = state.nodes.some(
    (node) => node.status === 'running' || node.status === 'scheduled' || node.status === 'ready' || node.inputCheckPending,
  );
  return canMove ? 'running' : 'blocked';
}
