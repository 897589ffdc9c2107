/**
 * Shared helpers for the pure-engine unit tests (test/unit/engine-*.test.ts): spec builders, a run
 * driver that keeps the whole event log, and small assertions. No Temporal, no I/O.
 */
import assert from 'node:assert/strict';
import {
  applyAgentSubmission,
  applyHumanResponse,
  createRunState,
  startRun,
  type Issue,
  type NodeStatus,
  type NodeType,
  type PlanEdge,
  type PlanNode,
  type PlanSpec,
  type Refusal,
  type RunEvent,
  type RunState,
  type Transition,
} from '../../src/engine';

export const RUN_ID = 'run-1';
export const T0 = '2026-01-01T00:00:00.000Z';

/** ISO time `ms` milliseconds after T0. */
export function at(ms: number): string {
  return new Date(Date.parse(T0) + ms).toISOString();
}

// ---- Spec builders -------------------------------------------------------------------------------

export function task(id: string, extra: Partial<PlanNode> = {}): PlanNode {
  return { id, type: 'task', owner: { kind: 'agent', ref: `agent-${id}` }, ...extra };
}

export function human(id: string, type: NodeType = 'human-approval', extra: Partial<PlanNode> = {}): PlanNode {
  return { id, type, owner: { kind: 'human', ref: `people-${id}` }, ...extra };
}

export function structural(id: string, type: 'switch' | 'join' = 'switch', extra: Partial<PlanNode> = {}): PlanNode {
  return { id, type, ...extra };
}

export function edge(from: string, to: string, extra: Partial<PlanEdge> = {}): PlanEdge {
  return { from, to, ...extra };
}

/** Edges a→b→c… without conditions or maps. */
export function chain(...ids: string[]): PlanEdge[] {
  return ids.slice(1).map((id, i) => edge(ids[i], id));
}

export function plan(nodes: PlanNode[], edges: PlanEdge[] = [], extra: Partial<PlanSpec> = {}): PlanSpec {
  return { id: 'test-plan', title: 'Test plan', nodes, edges, ...extra };
}

// ---- Results ------------------------------------------------------------------------------------

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && (value as { refused?: unknown }).refused === true;
}

/** Asserts the engine accepted the operation and returns the transition. */
export function ok<T>(result: T | Refusal): T {
  if (isRefusal(result)) assert.fail(`unexpected refusal ${result.reason}: ${result.message}`);
  return result;
}

/** Asserts a refusal with the given reason. */
export function refused(result: unknown, reason: Refusal['reason']): Refusal {
  assert.ok(isRefusal(result), `expected a refusal (${reason}), got a transition`);
  assert.equal(result.reason, reason, result.message);
  assert.ok(result.message.length > 0);
  return result;
}

export const blocking = (message = 'bad', path?: string, code = 'schema'): Issue => ({
  severity: 'blocking',
  code,
  message,
  ...(path ? { path } : {}),
});
export const warning = (message = 'meh', path?: string, code = 'min-length'): Issue => ({
  severity: 'warning',
  code,
  message,
  ...(path ? { path } : {}),
});

// ---- Views on state and events --------------------------------------------------------------------

export function types(events: RunEvent[] | { events: RunEvent[] }): string[] {
  return (Array.isArray(events) ? events : events.events).map((event) => event.type);
}

/** `type:nodeId` for node events, `type` otherwise: compact and order-sensitive. */
export function trace(events: RunEvent[] | { events: RunEvent[] }): string[] {
  return (Array.isArray(events) ? events : events.events).map((e) => (e.nodeId ? `${e.type}:${e.nodeId}` : e.type));
}

export function eventsOf(events: RunEvent[], type: string, nodeId?: string): RunEvent[] {
  return events.filter((event) => event.type === type && (nodeId === undefined || event.nodeId === nodeId));
}

export function statusOf(state: RunState, nodeId: string): NodeStatus {
  const node = state.nodes.find((candidate) => candidate.nodeId === nodeId);
  assert.ok(node, `no node ${nodeId}`);
  return node.status;
}

export function nodeOf(state: RunState, nodeId: string) {
  const node = state.nodes.find((candidate) => candidate.nodeId === nodeId);
  assert.ok(node, `no node ${nodeId}`);
  return node;
}

export function statuses(state: RunState): Record<string, NodeStatus> {
  return Object.fromEntries(state.nodes.map((node) => [node.nodeId, node.status]));
}

// ---- A run driver ---------------------------------------------------------------------------------

/**
 * Drives one run and keeps every event and transition, so tests can assert on the whole log.
 * Each step advances the clock by one second unless a time is given.
 */
export class Driver {
  state: RunState;
  readonly events: RunEvent[] = [];
  readonly transitions: Transition[] = [];
  private tick = 0;

  constructor(spec: PlanSpec, input: unknown = {}, now = T0) {
    this.state = createRunState({ runId: RUN_ID, spec, input, now });
    this.take(startRun(this.state, now));
  }

  now(): string {
    this.tick += 1000;
    return at(this.tick);
  }

  take<T extends Transition>(transition: T): T {
    this.state = transition.state;
    this.events.push(...transition.events);
    this.transitions.push(transition);
    return transition;
  }

  submit(nodeId: string, output: unknown, issues: Issue[] = [], extra: Record<string, unknown> = {}, now = this.now()) {
    return this.take(ok(applyAgentSubmission(this.state, { nodeId, structuredOutput: output, ...extra }, issues, now)));
  }

  fail(nodeId: string, failureClass: string | undefined, message = 'it broke', now = this.now()) {
    const failure = failureClass ? { class: failureClass, message } : { message };
    return this.take(ok(applyAgentSubmission(this.state, { nodeId, failure }, [], now)));
  }

  respond(nodeId: string | undefined, response: Record<string, unknown>, by = 'alice', issues: Issue[] = [], now = this.now()) {
    const payload = { ...(nodeId ? { nodeId } : {}), respondedBy: by, response };
    return this.take(ok(applyHumanResponse(this.state, payload, issues, now)));
  }

  status(nodeId: string): NodeStatus {
    return statusOf(this.state, nodeId);
  }
}

/** Starts a run of `spec` and returns its state. */
export function run(spec: PlanSpec, input: unknown = {}, now = T0): RunState {
  return startRun(createRunState({ runId: RUN_ID, spec, input, now }), now).state;
}

/** Submits a structured output for a running task node (asserting it is accepted). */
export function submit(state: RunState, nodeId: string, output: unknown, issues: Issue[] = [], now = at(1000)) {
  return ok(applyAgentSubmission(state, { nodeId, structuredOutput: output }, issues, now));
}

/**
 * A deep copy that keeps each object's prototype (the engine keeps some records, such as the
 * submission log, on null-prototype objects; `structuredClone` would turn them into plain ones, and
 * a strict deep-equal would then fail on the prototype alone).
 */
export function exactCopy<T>(value: T): T {
  if (Array.isArray(value)) return value.map(exactCopy) as T;
  if (value !== null && typeof value === 'object') {
    const copy = Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>;
    for (const key of Object.keys(value)) {
      Object.defineProperty(copy, key, { value: exactCopy((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
    }
    return copy as T;
  }
  return value;
}
