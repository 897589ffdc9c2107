/**
 * Helpers for the scale tests: plan builders, the chain of workflow executions of a run (followed
 * through the histories, not visibility), polling, and a store audit that proves the event log has
 * no gap and no duplicate.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { Harness } from '../integration/harness';
import type { PlanSpec, RunEvent } from '../../src/engine';

/** `chains` parallel chains of task nodes (`length` each); every edge maps the predecessor's output. */
export function chainsPlan(id: string, chains: number, length: number, maxConcurrency: number): PlanSpec {
  const nodes: PlanSpec['nodes'] = [];
  const edges: NonNullable<PlanSpec['edges']> = [];
  // Spec order interleaves the chains (step 0 of every chain first), so dispatch (first ready node
  // in spec order) advances all chains evenly while more nodes are ready than `maxConcurrency`.
  for (let step = 0; step < length; step++) {
    for (let chain = 0; chain < chains; chain++) {
      const nodeId = chainNodeId(chain, step);
      nodes.push({ id: nodeId, type: 'task', owner: { kind: 'agent', ref: `chain-${chain}` }, objective: `step ${step} of chain ${chain}` });
      if (step > 0) edges.push({ from: chainNodeId(chain, step - 1), to: nodeId, map: { previous: 'output.step', chainSoFar: 'output.path' } });
    }
  }
  return { id, title: `Scale: ${chains} chains of ${length}`, maxConcurrency, nodes, edges };
}

export function chainNodeId(chain: number, step: number): string {
  return `c${String(chain).padStart(3, '0')}-s${String(step).padStart(3, '0')}`;
}

/** `count` independent task nodes, each allowed `maxAttempts` attempts. */
export function retriesPlan(id: string, count: number, maxAttempts: number): PlanSpec {
  return {
    id,
    title: `Scale: ${count} nodes x ${maxAttempts} attempts`,
    maxConcurrency: count,
    nodes: Array.from({ length: count }, (_, i) => ({
      id: `t${String(i).padStart(3, '0')}`,
      type: 'task' as const,
      owner: { kind: 'agent' as const, ref: `worker-${i % 10}` },
      retry: { maxAttempts },
    })),
    edges: [],
  };
}

export interface Execution {
  runId: string;
  historyLength: number;
  status: string;
  /** Events in this execution's history by kind (signals, markers, workflow tasks, …). */
  kinds: Record<string, number>;
  /** Messages this execution received: signals plus accepted updates. */
  messages: number;
}

/** A short name for a history event, from its attributes (`workflowExecutionSignaledEventAttributes` → `signal`). */
function kindOf(event: object): string {
  const attributes = Object.entries(event).find(([key, value]) => key.endsWith('EventAttributes') && value != null)?.[0] ?? 'unknown';
  if (attributes.startsWith('workflowExecutionSignaled')) return 'signal';
  if (attributes.startsWith('markerRecorded')) return 'marker';
  // A failed workflow task (e.g. cause UNHANDLED_COMMAND: a signal arrived while the task that
  // continues as new was in flight) is counted apart: the worker replays the execution after it.
  if (attributes.startsWith('workflowTaskFailed')) return 'workflowTaskFailed';
  // A workflow task that timed out: the worker took longer than the task timeout (10 s), e.g. replaying.
  if (attributes.startsWith('workflowTaskTimedOut')) return 'workflowTaskTimedOut';
  if (attributes.startsWith('workflowTask')) return 'workflowTask';
  if (attributes.startsWith('upsertWorkflowSearchAttributes')) return 'upsertSearchAttributes';
  if (attributes.startsWith('workflowExecutionUpdateAccepted')) return 'updateAccepted';
  if (attributes.startsWith('workflowExecutionUpdate')) return 'update';
  if (attributes.startsWith('timer')) return 'timer';
  if (attributes.startsWith('activityTask')) return 'activity';
  return 'other';
}

/**
 * The chain of executions from `firstRunId` to the current one, following each continue-as-new in
 * the histories themselves (visibility is eventually consistent). Every history is fetched, so the
 * caller can count signals across the chain.
 */
export async function executions(h: Harness, workflowId: string, firstRunId: string): Promise<Execution[]> {
  const chain: Execution[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const handle: WorkflowHandle = h.client.client.workflow.getHandle(workflowId, runId);
    const description = await handle.describe();
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await handle.fetchHistory();
    const kinds: Record<string, number> = {};
    for (const event of history.events ?? []) {
      const kind = kindOf(event);
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
    const messages = (kinds.signal ?? 0) + (kinds.updateAccepted ?? 0);
    chain.push({ runId, historyLength: description.historyLength, status: description.status.name, kinds, messages });
    if (description.status.name !== 'CONTINUED_AS_NEW') break;
    runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return chain;
}

/** Polls `probe` every `intervalMs` until it returns something other than undefined/false. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Problems with a run's stored event log: seqs must be exactly 1..lastSeq, ids unique and matching. */
export function eventLogProblems(events: RunEvent[], runId: string, lastSeq: number): string[] {
  const problems: string[] = [];
  if (events.length !== lastSeq) problems.push(`${events.length} events stored, lastSeq is ${lastSeq}`);
  const ids = new Set<string>();
  events.forEach((event, i) => {
    if (event.seq !== i + 1) problems.push(`position ${i + 1} holds seq ${event.seq}`);
    if (event.id !== `${runId}:${event.seq}`) problems.push(`seq ${event.seq} has id ${event.id}`);
    if (ids.has(event.id)) problems.push(`event ${event.id} stored twice`);
    ids.add(event.id);
  });
  return problems.slice(0, 10);
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Wall-clock phases of a test, printed at the end. */
export class Stopwatch {
  private readonly started = Date.now();
  private last = this.started;
  readonly phases: Array<[string, number]> = [];

  lap(name: string): number {
    const now = Date.now();
    const ms = now - this.last;
    this.phases.push([name, ms]);
    this.last = now;
    return ms;
  }

  get totalMs(): number {
    return Date.now() - this.started;
  }

  summary(): string {
    return this.phases.map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)}s`).join(', ');
  }
}

export function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Prints a timing line straight to stdout, so the numbers show up in CI logs whatever the reporter. */
export function log(message: string): void {
  process.stdout.write(`[scale] ${message}\n`);
}

/** A run a failed test leaves behind would keep the in-process worker busy during the next test. */
export async function terminateIfRunning(h: Harness, id: string): Promise<void> {
  const handle = h.client.client.workflow.getHandle(id);
  if ((await handle.describe()).status.name === 'RUNNING') await handle.terminate('the scale test ended before the run finished');
}

/** The Temporal run id of a workflow's current (at first: its first) execution. */
export async function firstRunIdOf(h: Harness, id: string): Promise<string> {
  return (await h.client.client.workflow.getHandle(id).describe()).runId;
}
