/**
 * Wake-ups (docs/semantics.md §12): which events wake which agent, carrying which work item. Pure: the shell
 * decides how to deliver them (an activity per wake-up) and what a failed delivery means
 * (`dispatchFailed`).
 */
import { workItemFor } from './dispatch';
import { findNodeRun, findSpecNode } from './run-state';
import type { EventType, RunEvent, RunState, WorkItem } from './types';

/** The events that wake a node's agent owner (docs/semantics.md §12). */
export const WAKE_UP_EVENT_TYPES: readonly EventType[] = [
  'node-running',
  'node-unblocked',
  'approval-resolved',
  'run-resumed',
  'deadline-warning',
  'escalation-triggered',
  // A join cancelled the node as a losing branch: its agent can stop working on it.
  'node-cancelled',
];

export interface WakeUp {
  /** The event that caused the wake-up: its id is the delivery id (`webhook-id`). */
  eventId: string;
  eventSeq: number;
  eventType: EventType;
  nodeId: string;
  attempt: number;
  /** The agent to wake (owner ref; `escalateTo` for an escalation when that is an agent). */
  agentRef: string;
  workItem: WorkItem;
}

/**
 * The wake-ups `events` cause in `state` (the state after the transition that emitted them): one per
 * node, agent and transition, for the last event that wakes that agent about that node, so a retry
 * that unblocks and dispatches a node in one step wakes its agent once, while a deadline warning
 * (owner) and an escalation to another agent (`escalateTo`) in the same step wake both. Events
 * without a node (the plan's deadline) wake nobody. Human-owned, structural and hidden nodes never
 * wake their owner; an escalation wakes `escalateTo` when that is an agent, else the owner (docs/semantics.md §9).
 */
export function wakeUpsFor(state: RunState, events: readonly RunEvent[]): WakeUp[] {
  const byNode = new Map<string, WakeUp>();
  for (const event of events) {
    if (!event.nodeId || !WAKE_UP_EVENT_TYPES.includes(event.type)) continue;
    const spec = findSpecNode(state, event.nodeId);
    const node = findNodeRun(state, event.nodeId);
    // A fanned-out node has no owner at work: each of its instances is woken under its own id.
    if (!spec || !node || node.fanOut || spec.visibility === 'hidden') continue;
    const target = event.type === 'escalation-triggered' && spec.deadline?.escalateTo ? spec.deadline.escalateTo : spec.owner;
    if (target?.kind !== 'agent') continue;
    const workItem = workItemFor(state, node, event.type);
    const key = `${event.nodeId}\u0000${target.ref}`;
    byNode.delete(key); // re-insert so wake-ups keep the order of their events
    byNode.set(key, {
      eventId: event.id,
      eventSeq: event.seq,
      eventType: event.type,
      nodeId: event.nodeId,
      attempt: event.attempt ?? workItem.attempt,
      agentRef: target.ref,
      workItem,
    });
  }
  return [...byNode.values()];
}
