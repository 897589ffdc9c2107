/** Helpers that read a fan-out back from its events, shared by the engine and the live tests. */
import type { RunEvent } from '../../src/engine';

/** The most instances of `nodeId` active (running or awaiting a person) at once, replayed from `events` in order. */
export function mostActiveAtOnce(events: readonly RunEvent[], nodeId: string): number {
  const active = new Set<string>();
  let most = 0;
  for (const event of events) {
    if (!event.nodeId?.startsWith(`${nodeId}[`)) continue;
    if (event.toStatus === 'running' || event.toStatus === 'awaiting-human') active.add(event.nodeId);
    else if (event.toStatus !== undefined) active.delete(event.nodeId);
    most = Math.max(most, active.size);
  }
  return most;
}
