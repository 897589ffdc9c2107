/**
 * Checkpoints in a batch of transition records, sent as differences.
 *
 * Every transition takes a checkpoint of the whole run (docs/semantics.md §10: every node's status,
 * the ready, active and completed nodes, the artifacts), so on a 1,000-node plan one checkpoint is
 * tens of kilobytes, and the workflow writes up to 50 transitions in one local activity, whose input
 * is recorded in the workflow's history. Sent whole, a batch grew past Temporal's 512 KiB payload
 * warning on a 1,000-node plan, and with longer node ids it would pass the 2 MiB limit, which fails
 * the workflow task. Successive checkpoints differ in a node or two, so every checkpoint of a batch
 * after the first is sent as its difference from the one before; the store activity expands them
 * again before it writes, so the store holds exactly the checkpoints it always did.
 *
 * Pure: no I/O. `expandCheckpoints(compactCheckpoints(records))` gives back `records` exactly.
 */
import { hasOwn, setOwn } from './own';
import type { TransitionRecord } from './records';
import type { Checkpoint, NodeStatus } from './types';

/** An array as its difference from a previous one: keep `prefix` items from the front and `suffix` from the back, put `middle` between. */
export interface ArrayDelta {
  prefix: number;
  suffix: number;
  middle: string[];
}

/** A checkpoint as its difference from the checkpoint before it in the same batch. */
export interface CheckpointDelta extends Omit<Checkpoint, 'readyNodeIds' | 'activeNodeIds' | 'completedNodeIds' | 'nodeStatuses' | 'artifactIds'> {
  /** Marks the delta form; a whole checkpoint has no such field. */
  delta: true;
  readyNodeIds: ArrayDelta;
  activeNodeIds: ArrayDelta;
  completedNodeIds: ArrayDelta;
  artifactIds: ArrayDelta;
  /** The node ids of `nodeStatuses`, in order (same as before when absent). */
  nodeIds?: ArrayDelta;
  /** The statuses that differ from the previous checkpoint's, for the same node ids. */
  changedStatuses: Record<string, NodeStatus>;
}

/** A transition record whose checkpoint may be sent as a difference. */
export type CompactTransitionRecord = Omit<TransitionRecord, 'checkpoint'> & { checkpoint?: Checkpoint | CheckpointDelta };

function arrayDelta(before: readonly string[], after: readonly string[]): ArrayDelta {
  const shorter = Math.min(before.length, after.length);
  let prefix = 0;
  while (prefix < shorter && before[prefix] === after[prefix]) prefix += 1;
  let suffix = 0;
  while (suffix < shorter - prefix && before[before.length - 1 - suffix] === after[after.length - 1 - suffix]) suffix += 1;
  return { prefix, suffix, middle: after.slice(prefix, after.length - suffix) };
}

function applyArrayDelta(before: readonly string[], delta: ArrayDelta): string[] {
  return [...before.slice(0, delta.prefix), ...delta.middle, ...before.slice(before.length - delta.suffix)];
}

function isDelta(checkpoint: Checkpoint | CheckpointDelta): checkpoint is CheckpointDelta {
  return (checkpoint as CheckpointDelta).delta === true;
}

function checkpointDelta(before: Checkpoint, after: Checkpoint): CheckpointDelta {
  const { readyNodeIds, activeNodeIds, completedNodeIds, nodeStatuses, artifactIds, ...rest } = after;
  const idsBefore = Object.keys(before.nodeStatuses);
  const idsAfter = Object.keys(nodeStatuses);
  const sameIds = idsBefore.length === idsAfter.length && idsBefore.every((id, i) => id === idsAfter[i]);
  const changedStatuses: Record<string, NodeStatus> = {};
  for (const id of idsAfter) {
    if (!sameIds || before.nodeStatuses[id] !== nodeStatuses[id]) setOwn(changedStatuses, id, nodeStatuses[id]);
  }
  return {
    ...rest,
    delta: true,
    readyNodeIds: arrayDelta(before.readyNodeIds, readyNodeIds),
    activeNodeIds: arrayDelta(before.activeNodeIds, activeNodeIds),
    completedNodeIds: arrayDelta(before.completedNodeIds, completedNodeIds),
    artifactIds: arrayDelta(before.artifactIds, artifactIds),
    ...(sameIds ? {} : { nodeIds: arrayDelta(idsBefore, idsAfter) }),
    changedStatuses,
  };
}

function expandDelta(before: Checkpoint, delta: CheckpointDelta): Checkpoint {
  const { delta: _delta, readyNodeIds, activeNodeIds, completedNodeIds, artifactIds, nodeIds, changedStatuses, ...rest } = delta;
  const ids = nodeIds ? applyArrayDelta(Object.keys(before.nodeStatuses), nodeIds) : Object.keys(before.nodeStatuses);
  const nodeStatuses: Record<string, NodeStatus> = {};
  for (const id of ids) setOwn(nodeStatuses, id, hasOwn(changedStatuses, id) ? changedStatuses[id] : before.nodeStatuses[id]);
  return {
    sequence: rest.sequence,
    reason: rest.reason,
    runStatus: rest.runStatus,
    readyNodeIds: applyArrayDelta(before.readyNodeIds, readyNodeIds),
    activeNodeIds: applyArrayDelta(before.activeNodeIds, activeNodeIds),
    completedNodeIds: applyArrayDelta(before.completedNodeIds, completedNodeIds),
    nodeStatuses,
    artifactIds: applyArrayDelta(before.artifactIds, artifactIds),
    at: rest.at,
  };
}

/** `records` with every checkpoint after the batch's first one as its difference from the one before. */
export function compactCheckpoints(records: readonly TransitionRecord[]): CompactTransitionRecord[] {
  let previous: Checkpoint | undefined;
  return records.map((record) => {
    if (!record.checkpoint) return record;
    const checkpoint = record.checkpoint;
    const compact = previous ? { ...record, checkpoint: checkpointDelta(previous, checkpoint) } : record;
    previous = checkpoint;
    return compact;
  });
}

/**
 * The whole records of a batch `compactCheckpoints` made. Records whose checkpoints are whole (from
 * a workflow that sent them so) pass unchanged. A delta with no checkpoint before it in the batch is
 * a bug in the sender: it throws rather than store a wrong checkpoint.
 */
export function expandCheckpoints(records: readonly CompactTransitionRecord[]): TransitionRecord[] {
  let previous: Checkpoint | undefined;
  return records.map((record) => {
    if (!record.checkpoint) return record as TransitionRecord;
    let checkpoint: Checkpoint;
    if (isDelta(record.checkpoint)) {
      if (!previous) throw new Error(`checkpoint ${record.checkpoint.sequence} was sent as a difference with no checkpoint before it in its batch`);
      checkpoint = expandDelta(previous, record.checkpoint);
    } else {
      checkpoint = record.checkpoint;
    }
    previous = checkpoint;
    return { ...record, checkpoint };
  });
}
