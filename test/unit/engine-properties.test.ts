/**
 * Property tests of the pure engine (issue 9): random acyclic plans × random agent, human, operator
 * and clock behaviour. After every step the run must keep its invariants (contiguous event seqs,
 * no dispatch before the upstream nodes succeeded, skip propagation, frozen finished runs,
 * contiguous attempt numbers, refusals that change nothing, states that are never mutated).
 *
 * Seeds: see fc-params.ts. A failure prints `seed` and `path`; replay with
 *   FC_SEED=<seed> FC_PATH=<path> node --test --test-name-pattern='<test name>' dist/test/unit/engine-properties.test.js
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  applyAgentSubmission,
  applyHumanResponse,
  applyInputChecks,
  cancelRun,
  createRunState,
  dispatchFailed,
  fireDueTimers,
  pendingInputChecks,
  pendingTimers,
  rejectOperation,
  rejectSubmission,
  resumeRun,
  retryNode,
  startRun,
  SUCCESSFUL_NODE_STATUSES,
  type FailureClass,
  type Issue,
  type NodeStatus,
  type PlanSpec,
  type Refusal,
  type RunEvent,
  type RunState,
  type Transition,
} from '../../src/engine';
import { validatePlanSpec } from '../../src/engine/validate-spec';
import { fcParams, seedLine } from './fc-params';
import { FAILURE_CLASSES, HOSTILE_NAMES, T0_MS, oracleCond, oracleInput, planArb, taskOutputArb, type Cond, type GeneratedPlan, type PlanOptions } from './plan-arbitraries';

const FILE = 'dist/test/unit/engine-properties.test.js';
const RUN_ID = 'prop-run';
const iso = (ms: number) => new Date(ms).toISOString();
const BLOCKING: Issue = { severity: 'blocking', code: 'schema', message: 'generated blocking issue', path: 'x' };
const WARNING: Issue = { severity: 'warning', code: 'min-length', message: 'generated warning' };

// ---- Actions ------------------------------------------------------------------------------------------

type SidMode = 'none' | 'fresh' | 'reuse';
const sidArb = fc.constantFrom<SidMode>('none', 'none', 'fresh', 'fresh', 'reuse');
const common = { dt: fc.oneof(fc.constant(0), fc.constant(1), fc.constant(1_000), fc.integer({ min: 0, max: 120_000 })), bits: fc.nat(), signal: fc.boolean() };

const actionArb = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      t: fc.constant('result' as const),
      pick: fc.nat(),
      variant: fc.constantFrom('ok', 'ok', 'ok', 'warn', 'block', 'fail', 'fail-class'),
      cls: fc.constantFrom<FailureClass>(...FAILURE_CLASSES),
      attempt: fc.constantFrom('current', 'omit', 'omit', 'stale-low', 'stale-high'),
      sid: sidArb,
      reuse: fc.nat(),
      output: taskOutputArb,
      ...common,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('bad-result' as const), pick: fc.nat(), variant: fc.constantFrom('any-node', 'unknown', 'malformed'), malformed: fc.nat({ max: 3 }), ...common }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('response' as const),
      pick: fc.nat(),
      variant: fc.constantFrom('ok', 'ok', 'ok', 'warn', 'block', 'wrong-shape', 'wrong-approver', 'malformed'),
      address: fc.constantFrom('node', 'approval', 'none', 'mismatch'),
      by: fc.constantFrom('alice', 'bob'),
      approved: fc.boolean(),
      edits: fc.boolean(),
      option: fc.nat(),
      sid: sidArb,
      reuse: fc.nat(),
      output: taskOutputArb,
      ...common,
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), malformed: fc.boolean(), ...common }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('resume' as const), ...common }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('retry' as const), pick: fc.nat(), target: fc.constantFrom('stuck', 'stuck', 'any', 'unknown'), input: fc.option(taskOutputArb, { nil: undefined }), ...common }),
  },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('timer' as const), mode: fc.constantFrom('next', 'next', 'past-next', 'random'), ms: fc.integer({ min: 0, max: 200_000 }), ...common }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('dispatch-failed' as const), pick: fc.nat(), stale: fc.boolean(), ...common }) },
);
type Action = typeof actionArb extends fc.Arbitrary<infer A> ? A : never;

// ---- The model: drives one run and checks every invariant after every step ---------------------------------

/** What the runs reached, printed as a diagnostic: a property that passes without reaching anything proves nothing. */
const stats = { runs: 0, accepted: {} as Record<string, number>, refused: {} as Record<string, number>, final: {} as Record<string, number>, reached: {} as Record<string, number> };
const bump = (table: Record<string, number>, key: string) => (table[key] = (table[key] ?? 0) + 1);

const isRefusal = (value: unknown): value is Refusal => typeof value === 'object' && value !== null && (value as Refusal).refused === true;
const successful = (status: NodeStatus | undefined) => status !== undefined && SUCCESSFUL_NODE_STATUSES.includes(status);
const snapshot = (value: unknown) => JSON.stringify(value);

class Model {
  state: RunState;
  now = T0_MS;
  readonly events: RunEvent[] = [];
  private lastCheckpoint = 0;
  private readonly sids: string[] = [];
  private sidCounter = 0;
  /** Last status each node reached according to the event log. */
  private readonly eventStatus = new Map<string, string>();
  private readonly incoming = new Map<string, Array<{ from: string; cond: Cond; map?: Record<string, string> }>>();
  /** Input replaced by `retry --input`: the oracle's input no longer applies. */
  private readonly replacedInput = new Set<string>();
  private readonly spec: PlanSpec;
  private readonly runInput: Record<string, unknown>;
  private readonly protoKeys = Object.getOwnPropertyNames(Object.prototype).join(',');

  constructor(
    plan: GeneratedPlan,
    runInput: Record<string, unknown>,
    private readonly hostile = false,
    /** Let agents report failure class `dispatch` (a separate property: it once broke resume, see below). */
    private readonly agentDispatch = false,
  ) {
    this.spec = plan.spec;
    this.runInput = runInput;
    (plan.spec.edges ?? []).forEach((edge, i) => {
      this.incoming.set(edge.to, [...(this.incoming.get(edge.to) ?? []), { from: edge.from, cond: plan.conds[i], map: edge.map }]);
    });
    this.state = createRunState({ runId: RUN_ID, spec: plan.spec, input: runInput, now: iso(this.now) });
    this.take(this.guard(() => startRun(this.state, iso(this.now))) as Transition, 'start');
  }

  /** Runs an engine call and checks the state it started from is untouched (copy-on-write). */
  guard<T>(call: () => T): T {
    const before = snapshot(this.state);
    const previous = this.state;
    const result = call();
    assert.equal(snapshot(previous), before, 'an engine call mutated the state it was given');
    return result;
  }

  take(transition: Transition, what: string): void {
    const previousSeq = this.state.seq;
    for (const [i, event] of transition.events.entries()) {
      assert.equal(event.seq, previousSeq + i + 1, `${what}: event seqs must be contiguous (got ${event.seq} after ${previousSeq + i})`);
      assert.equal(event.id, `${RUN_ID}:${event.seq}`);
      this.checkEventOrder(event, what);
    }
    assert.equal(transition.state.seq, previousSeq + transition.events.length, `${what}: state.seq is the last event's seq`);
    if (transition.checkpoint) {
      assert.equal(transition.checkpoint.sequence, this.lastCheckpoint + 1, `${what}: checkpoint sequences are contiguous`);
      this.lastCheckpoint = transition.checkpoint.sequence;
      assert.equal(transition.events.at(-1)?.type, 'checkpoint-saved');
      assert.deepStrictEqual(
        transition.checkpoint.nodeStatuses,
        Object.fromEntries(transition.state.nodes.map((node) => [node.nodeId, node.status])),
        `${what}: the checkpoint lists every node's status`,
      );
    }
    assert.equal(transition.state.checkpointSequence, this.lastCheckpoint);
    this.events.push(...transition.events);
    for (const event of transition.events) if (event.toStatus && event.nodeId) bump(stats.reached, event.toStatus);
    this.state = transition.state;
    this.checkState(what);
  }

  /** No node is handed out (ready/scheduled/running/awaiting-human) before all its upstream nodes succeeded. */
  private checkEventOrder(event: RunEvent, what: string): void {
    if (!event.nodeId) return;
    const to = event.toStatus;
    if (to && ['ready', 'scheduled', 'running', 'awaiting-human', 'completed', 'partial'].includes(to)) {
      for (const edge of this.incoming.get(event.nodeId) ?? []) {
        assert.ok(
          successful(this.eventStatus.get(edge.from) as NodeStatus),
          `${what}: ${event.type} moved "${event.nodeId}" to ${to} while upstream "${edge.from}" is ${this.eventStatus.get(edge.from) ?? 'pending'} (seq ${event.seq})`,
        );
      }
    }
    if (to) this.eventStatus.set(event.nodeId, to);
  }

  private checkState(what: string): void {
    const { state } = this;
    assert.equal(Object.getOwnPropertyNames(Object.prototype).join(','), this.protoKeys, `${what}: Object.prototype was polluted`);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false, `${what}: Object.prototype was polluted`);
    const byId = new Map(state.nodes.map((node) => [node.nodeId, node]));
    // Run status (README "Statuses"): aborted iff cancelled, completed iff every node succeeded.
    if (state.cancelled) assert.equal(state.status, 'aborted');
    else assert.equal(state.status === 'completed', state.nodes.every((node) => successful(node.status)), `${what}: completed iff every node succeeded`);
    const approvalIds = new Set<string>();
    for (const approval of state.approvals) {
      assert.ok(!approvalIds.has(approval.approvalId), `${what}: approval id ${approval.approvalId} handed out twice`);
      approvalIds.add(approval.approvalId);
    }
    for (const node of state.nodes) {
      const where = `${what}: node "${node.nodeId}" (${node.status})`;
      // Attempt numbers are contiguous per node: 1, 2, 3 …
      assert.deepEqual(node.history.map((record) => record.attempt), node.history.map((_, i) => i + 1), `${where}: attempt numbers must be 1, 2, 3 …`);
      assert.equal(node.attempts, node.history.length, `${where}: attempts counts the recorded attempts`);
      if (node.status === 'running' || node.status === 'awaiting-human') {
        assert.equal(node.currentAttempt, node.attempts + 1, `${where}: an active node waits for the next attempt number`);
      }
      const pending = state.approvals.filter((approval) => approval.status === 'pending' && approval.nodeId === node.nodeId);
      if (node.status === 'awaiting-human') {
        assert.equal(pending.length, 1, `${where}: exactly one pending approval`);
        assert.equal(pending[0].attempt, node.currentAttempt);
        assert.equal(pending[0].approvalId, `${node.nodeId}#${node.currentAttempt}`);
      } else {
        assert.equal(pending.length, 0, `${where}: no pending approval unless awaiting-human`);
      }

      const edges = this.incoming.get(node.nodeId) ?? [];
      const upstreamDone = edges.every((edge) => successful(byId.get(edge.from)?.status));
      // Nothing leaves `pending` before every upstream node finished successfully (docs/semantics.md §5).
      if (node.status !== 'pending' || node.inputCheckPending) {
        assert.ok(upstreamDone, `${where}: left pending before its upstream nodes succeeded (${edges.map((e) => `${e.from}=${byId.get(e.from)?.status}`).join(', ')})`);
      }
      if (!upstreamDone) continue;
      const active = edges.filter((edge) => {
        const source = byId.get(edge.from)!;
        if (source.status !== 'completed' && source.status !== 'partial') return false;
        return oracleCond(edge.cond, { input: source.resolvedInput, output: source.output, artifact: source.artifacts, run: { input: state.input } });
      });
      if (edges.length > 0 && active.length === 0) {
        // Skips propagate: no active incoming edge → skipped, never run (a cancelled run stops re-evaluating).
        if (!state.cancelled || node.status !== 'pending') {
          assert.equal(node.status, 'skipped', `${where}: every incoming edge is inactive, so it must be skipped`);
          assert.equal(node.attempts, 0, `${where}: a skipped node never ran`);
        }
        continue;
      }
      if (node.status === 'skipped') {
        assert.ok(node.failureClass !== undefined, `${where}: skipped although an incoming edge is active, and not by a failure rule`);
      }
      if (node.status === 'pending' && !node.inputCheckPending && !state.cancelled) {
        assert.fail(`${where}: stuck pending although its upstream nodes succeeded`);
      }
      // The resolved input is built from the active edges' maps (docs/semantics.md §4); roots get the run input.
      if (node.status !== 'pending' && node.status !== 'skipped' && !this.replacedInput.has(node.nodeId)) {
        const expected =
          edges.length === 0
            ? this.runInput
            : oracleInput(
                active.map((edge) => {
                  const source = byId.get(edge.from)!;
                  return { map: edge.map, context: { input: source.resolvedInput, output: source.output, artifact: source.artifacts, run: { input: state.input } } };
                }),
              );
        assert.deepStrictEqual(JSON.parse(JSON.stringify(node.resolvedInput ?? null)), JSON.parse(JSON.stringify(expected)), `${where}: resolved input`);
      }
    }
    assert.equal(state.seq, this.events.length, `${what}: every event is kept`);
  }

  finished(): boolean {
    return this.state.status === 'completed' || this.state.status === 'aborted';
  }

  /** The shell's input checks (src/workflows/plan-run.ts `runInputChecks`), answered from `bits`. */
  runInputChecks(bits: number): void {
    for (let round = 0; ; round++) {
      const checks = pendingInputChecks(this.state);
      if (checks.length === 0) return;
      assert.ok(round < 50, 'input checks never settle');
      const results = checks.map((check, i) => {
        const k = (bits >>> ((i + round) % 28)) & 3;
        return { nodeId: check.nodeId, issues: k === 0 ? [BLOCKING] : k === 1 ? [WARNING] : [] };
      });
      this.take(this.guard(() => applyInputChecks(this.state, results, iso(this.now))), 'input checks');
    }
  }

  /** A refusal changed nothing; a signal records it as a record-only event (seq + 1, nothing else). */
  refused(refusal: Refusal, action: Action, record: (() => Transition) | undefined, what: string): void {
    assert.ok(refusal.message.length > 0, `${what}: a refusal explains itself`);
    bump(stats.refused, refusal.reason);
    if (!record || !action.signal || this.finished()) return;
    const before = JSON.parse(snapshot(this.state)) as RunState;
    const transition = this.guard(record);
    assert.equal(transition.checkpoint, undefined, `${what}: a recorded refusal takes no checkpoint`);
    assert.deepEqual(
      transition.events.map((event) => event.type),
      [transition.events[0]?.type === 'operation-rejected' ? 'operation-rejected' : 'result-rejected'],
    );
    this.take(transition, `${what} (recorded)`);
    assert.deepStrictEqual({ ...JSON.parse(snapshot(this.state)), seq: before.seq }, before, `${what}: a recorded refusal changes nothing but the seq`);
  }

  /** A finished run never changes: the action is refused or changes nothing. */
  frozen(result: unknown, before: string, what: string): void {
    if (isRefusal(result) || result === undefined) return;
    const transition = result as Transition;
    assert.deepEqual(transition.events, [], `${what}: a finished run emitted events`);
    assert.equal(snapshot(transition.state), before, `${what}: a finished run changed`);
  }

  submissionId(mode: SidMode, reuse: number): string | undefined {
    if (mode === 'none') return undefined;
    if (mode === 'reuse' && this.sids.length > 0) return this.sids[reuse % this.sids.length];
    const n = ++this.sidCounter;
    const sid = this.hostile && n <= HOSTILE_NAMES.length ? HOSTILE_NAMES[n - 1] : `sub-${n}`;
    this.sids.push(sid);
    return sid;
  }

  step(action: Action, index: number): void {
    this.now += action.dt;
    const now = iso(this.now);
    const what = `action ${index} (${action.t})`;
    const wasFinished = this.finished();
    const before = snapshot(this.state);
    const nodes = this.state.nodes;
    let result: unknown;
    switch (action.t) {
      case 'result': {
        const running = nodes.filter((node) => node.status === 'running');
        // Nothing runs: mostly let the clock move instead (a result now would only be refused).
        if (running.length === 0 && action.pick % 4 !== 0 && !wasFinished) {
          return this.step({ t: 'timer', mode: 'next', ms: 0, dt: 0, bits: action.bits, signal: false }, index);
        }
        const target = running.length ? running[action.pick % running.length] : nodes[action.pick % nodes.length];
        const current = target.currentAttempt ?? target.attempts + 1;
        const attempt = action.attempt === 'current' ? current : action.attempt === 'stale-low' ? current - 1 : action.attempt === 'stale-high' ? current + 1 : undefined;
        const sid = this.submissionId(action.sid, action.reuse);
        const duplicate = sid !== undefined && this.state.submissions[sid] !== undefined && Object.prototype.hasOwnProperty.call(this.state.submissions, sid);
        const payload: Record<string, unknown> = {
          nodeId: target.nodeId,
          ...(attempt !== undefined && attempt >= 1 ? { attempt } : {}),
          ...(sid ? { submissionId: sid } : {}),
          ...(action.variant === 'fail'
            ? { failure: { message: 'agent gave up' } }
            : action.variant === 'fail-class'
              ? { failure: { class: action.cls === 'dispatch' && !this.agentDispatch ? 'agent-error' : action.cls, message: 'agent failed' } }
              : { structuredOutput: action.output }),
        };
        const issues = action.variant === 'warn' ? [WARNING] : action.variant === 'block' ? [BLOCKING] : [];
        result = this.guard(() => applyAgentSubmission(this.state, payload, issues, now));
        if (wasFinished) break;
        if (duplicate) {
          assert.ok(!isRefusal(result), `${what}: a duplicate submissionId is answered, not refused`);
          const applied = result as Transition & { outcome: { duplicate?: boolean } };
          assert.equal(applied.outcome.duplicate, true);
          assert.equal(applied.events.length, 0, `${what}: a duplicate changes nothing`);
          assert.equal(applied.state, this.state);
          if (action.signal) {
            const refusal: Refusal = { refused: true, reason: 'duplicate-submission', message: 'this submissionId was already recorded; nothing changed.' };
            this.refused(refusal, action, () => rejectSubmission(this.state, payload, refusal, now), what);
          }
          return this.after(action);
        }
        const type = this.spec.nodes.find((node) => node.id === target.nodeId)!.type;
        const expected =
          type !== 'task'
            ? 'not-agent-node'
            : target.status !== 'running'
              ? 'node-not-running'
              : payload.attempt !== undefined && payload.attempt !== target.currentAttempt
                ? 'stale-attempt'
                : attempt !== undefined && attempt < 1
                  ? undefined
                  : undefined;
        if (expected) {
          assert.ok(isRefusal(result) && result.reason === expected, `${what}: expected refusal ${expected}, got ${isRefusal(result) ? result.reason : 'acceptance'}`);
        } else {
          assert.ok(!isRefusal(result), `${what}: a result for the running attempt must be accepted (${isRefusal(result) ? result.message : ''})`);
        }
        if (isRefusal(result)) {
          this.refused(result, action, () => rejectSubmission(this.state, payload, result as Refusal, now), what);
          return this.after(action);
        }
        const applied = result as Transition & { outcome: { attempt: number } };
        assert.equal(applied.outcome.attempt, target.currentAttempt, `${what}: the outcome names the attempt it recorded`);
        break;
      }
      case 'bad-result': {
        const target = nodes[action.pick % nodes.length];
        const payloads = [{ structuredOutput: {} }, { nodeId: target.nodeId, attempt: 0 }, { nodeId: target.nodeId, failure: { class: 'weird', message: 'x' } }, 'not an object'];
        const payload =
          action.variant === 'unknown' ? { nodeId: 'no-such-node', structuredOutput: {} } : action.variant === 'malformed' ? payloads[action.malformed] : { nodeId: target.nodeId, structuredOutput: {} };
        result = this.guard(() => applyAgentSubmission(this.state, payload, [], now));
        if (action.variant === 'malformed') assert.ok(isRefusal(result) && result.reason === 'invalid-payload', `${what}: a malformed result is refused`);
        else if (action.variant === 'unknown') assert.ok(isRefusal(result) && result.reason === (wasFinished ? 'run-finished' : 'unknown-node'));
        if (wasFinished) break;
        if (isRefusal(result)) {
          this.refused(result, action, () => rejectSubmission(this.state, payload, result as Refusal, now), what);
          return this.after(action);
        }
        break;
      }
      case 'response': {
        const pending = this.state.approvals.filter((approval) => approval.status === 'pending');
        // Nothing pending: mostly let the clock move instead (an answer now would only be refused).
        if (pending.length === 0 && action.pick % 4 !== 0 && !wasFinished) {
          return this.step({ t: 'timer', mode: 'next', ms: 0, dt: 0, bits: action.bits, signal: false }, index);
        }
        const approval = pending.length ? pending[action.pick % pending.length] : undefined;
        const spec = approval ? this.spec.nodes.find((node) => node.id === approval.nodeId)! : undefined;
        const nodeType = approval?.kind === 'review' ? 'review' : spec?.type;
        let response: Record<string, unknown>;
        switch (nodeType) {
          case 'human-approval':
            response = { approved: action.approved, ...(action.edits ? { requiredEdits: ['fix the intro'] } : {}), comments: 'ok' };
            break;
          case 'human-decision':
            response = { decision: spec!.options![action.option % spec!.options!.length] };
            break;
          case 'human-review-edit':
            response = { edited: action.output, ...(action.edits ? { approved: action.approved } : {}) };
            break;
          default:
            response = action.output;
        }
        const shaped = nodeType === 'human-approval' || nodeType === 'human-decision' || nodeType === 'human-review-edit';
        if (action.variant === 'wrong-shape') {
          response = nodeType === 'human-approval' ? { approved: 'yes' } : nodeType === 'human-decision' ? { decision: 'not-an-option' } : nodeType === 'human-review-edit' ? { edited: 5 } : response;
        }
        const restricted = approval !== undefined && approval.approvers.length > 0;
        const respondedBy = action.variant === 'wrong-approver' ? 'mallory' : action.by;
        const sid = this.submissionId(action.sid, action.reuse);
        const duplicate = sid !== undefined && Object.prototype.hasOwnProperty.call(this.state.submissions, sid);
        const address =
          approval === undefined
            ? { nodeId: nodes[action.pick % nodes.length].nodeId }
            : action.address === 'node'
              ? { nodeId: approval.nodeId }
              : action.address === 'approval'
                ? { approvalId: approval.approvalId }
                : action.address === 'mismatch'
                  ? { approvalId: `${approval.nodeId}#${approval.attempt + 1}` }
                  : {};
        const payload = action.variant === 'malformed' ? { ...address, respondedBy, response: 'yes' } : { ...address, respondedBy, response, ...(sid ? { submissionId: sid } : {}) };
        const issues = action.variant === 'warn' ? [WARNING] : action.variant === 'block' ? [BLOCKING] : [];
        result = this.guard(() => applyHumanResponse(this.state, payload, issues, now));
        if (wasFinished) break;
        if (duplicate && action.variant !== 'malformed') {
          assert.ok(!isRefusal(result) && (result as { outcome: { duplicate?: boolean } }).outcome.duplicate === true, `${what}: a duplicate is answered with its first outcome`);
          assert.equal((result as Transition).state, this.state);
          return this.after(action);
        }
        if (approval) {
          const expected =
            action.variant === 'malformed'
              ? 'invalid-payload'
              : action.address === 'mismatch'
                ? 'approval-mismatch'
                : action.address === 'none' && pending.length > 1
                  ? 'ambiguous-approval'
                  : action.variant === 'wrong-approver' && restricted && approval.kind === 'node'
                    ? 'not-authorized'
                    : action.variant === 'wrong-shape' && shaped
                      ? 'invalid-response'
                      : undefined;
          if (expected) assert.ok(isRefusal(result) && result.reason === expected, `${what}: expected ${expected}, got ${isRefusal(result) ? result.reason : 'acceptance'}`);
          else assert.ok(!isRefusal(result), `${what}: a well-formed answer to ${approval.approvalId} must be accepted (${isRefusal(result) ? result.message : ''})`);
        } else {
          assert.ok(isRefusal(result), `${what}: nothing is pending, so a response is refused`);
        }
        if (isRefusal(result)) {
          this.refused(result, action, () => rejectSubmission(this.state, payload, result as Refusal, now), what);
          return this.after(action);
        }
        break;
      }
      case 'cancel': {
        const payload = action.malformed ? { by: 5 } : { by: 'ops', reason: 'property test' };
        result = this.guard(() => cancelRun(this.state, payload, now));
        if (wasFinished) break;
        assert.equal(isRefusal(result), action.malformed, `${what}: cancel of an open run is accepted`);
        if (isRefusal(result)) {
          this.refused(result, action, () => rejectOperation(this.state, 'cancel', payload, result as Refusal, now), what);
          return this.after(action);
        }
        break;
      }
      case 'resume': {
        result = this.guard(() => resumeRun(this.state, { by: 'ops' }, now));
        if (wasFinished) break;
        assert.ok(!isRefusal(result), `${what}: resume of an open run is accepted`);
        break;
      }
      case 'retry': {
        const stuck = nodes.filter((node) => node.status === 'failed' || node.status === 'blocked');
        const target =
          action.target === 'unknown' ? undefined : action.target === 'stuck' && stuck.length ? stuck[action.pick % stuck.length] : nodes[action.pick % nodes.length];
        const payload = { nodeId: target?.nodeId ?? 'no-such-node', by: 'ops', ...(action.input !== undefined ? { input: action.input } : {}) };
        result = this.guard(() => retryNode(this.state, payload, now));
        if (wasFinished) break;
        const expected = !target ? 'unknown-node' : target.status === 'failed' || target.status === 'blocked' ? undefined : 'not-retryable';
        if (expected) assert.ok(isRefusal(result) && result.reason === expected, `${what}: expected ${expected}`);
        else assert.ok(!isRefusal(result), `${what}: retry of a ${target!.status} node is accepted`);
        if (isRefusal(result)) {
          this.refused(result, action, () => rejectOperation(this.state, 'retry', payload, result as Refusal, now), what);
          return this.after(action);
        }
        if (action.input !== undefined && target) this.replacedInput.add(target.nodeId);
        break;
      }
      case 'timer': {
        const due = pendingTimers(this.state)[0];
        if (action.mode !== 'random' && due) this.now = Math.max(this.now, Date.parse(due.at) + (action.mode === 'past-next' ? action.ms : 0));
        else this.now += action.ms;
        const at = iso(this.now);
        result = this.guard(() => fireDueTimers(this.state, at));
        if (wasFinished) break;
        const fired = result as Transition;
        const left = pendingTimers(fired.state).filter((timer) => Date.parse(timer.at) <= this.now);
        // Input checks may still make nodes move; timers they create are fired by the next round.
        if (pendingInputChecks(fired.state).length === 0) assert.deepEqual(left, [], `${what}: every timer due at ${at} fired`);
        break;
      }
      case 'dispatch-failed': {
        const running = nodes.filter((node) => node.status === 'running');
        const target = running.length ? running[action.pick % running.length] : nodes[action.pick % nodes.length];
        const attempt = (target.currentAttempt ?? 1) + (action.stale ? 1 : 0);
        result = this.guard(() => dispatchFailed(this.state, { nodeId: target.nodeId, attempt, message: 'connection refused' }, now));
        if (wasFinished) break;
        assert.equal(result !== undefined, target.status === 'running' && !action.stale, `${what}: only the running attempt can fail its dispatch`);
        if (result === undefined) return this.after(action);
        break;
      }
    }
    if (wasFinished) {
      this.frozen(result, before, `${what} after the run finished`);
      return;
    }
    bump(stats.accepted, action.t);
    this.take(result as Transition, what);
    this.after(action);
  }

  after(action: Action): void {
    if (!this.finished()) this.runInputChecks(action.bits);
  }
}

const runInputArb = fc.record({ topic: fc.constantFrom('ai', 'durable'), flag: fc.boolean(), n: fc.integer({ min: 0, max: 5 }) }, { requiredKeys: ['topic'] });

function runProperty(options: PlanOptions, maxActions: number, agentDispatch = false) {
  return fc.property(planArb(options), runInputArb, fc.array(actionArb, { minLength: Math.floor(maxActions / 3), maxLength: maxActions }), (plan, input, actions) => {
    const validation = validatePlanSpec(plan.spec);
    assert.ok(validation.valid, `the generator made an invalid plan: ${JSON.stringify(validation.errors)}`);
    try {
      const model = new Model({ ...plan, spec: validation.spec! }, input, options.hostile, agentDispatch);
      model.runInputChecks(0xaaaaaaa);
      actions.forEach((action, i) => model.step(action, i));
      assert.equal(model.events.length, model.state.seq);
      stats.runs += 1;
      bump(stats.final, model.state.status);
      for (const node of model.state.nodes) bump(stats.reached, `final:${node.status}`);
    } finally {
      // A polluted prototype must not leak into the next run (or the next test).
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });
}

describe('engine properties (issue 9)', () => {
  it('10,000 random plans × random behaviour keep every run invariant', (t) => {
    const parameters = fcParams(10_000);
    t.diagnostic(seedLine(parameters, FILE));
    fc.assert(runProperty({ maxNodes: 6, inputSchemas: true }, 28), parameters);
    t.diagnostic(`reached: ${JSON.stringify(stats)}`);
    // The generators must reach the interesting places, or the invariants above were never tested.
    for (const status of ['completed', 'aborted', 'failed', 'blocked', 'awaiting-human']) assert.ok((stats.final[status] ?? 0) > 0, `no run ended ${status}`);
    for (const status of ['skipped', 'partial', 'scheduled', 'blocked', 'failed', 'final:cancelled']) assert.ok((stats.reached[status] ?? 0) > 0, `no node reached ${status}`);
  });

  it(
    'ids, submission ids and map targets named like Object.prototype members are plain names',
    {},
    (t) => {
      const parameters = fcParams(1_000);
      t.diagnostic(seedLine(parameters, FILE));
      fc.assert(runProperty({ maxNodes: 5, hostile: true }, 20), parameters);
    },
  );
});

// Bugs these properties found (fixed in issue 9): an agent-reported `dispatch` failure that resume
// handed out again under the same attempt number (seed 1445396386), and names that reached
// Object.prototype (map targets, submission ids, node ids).
describe('engine properties: what they found', () => {
  it('an agent-reported dispatch failure followed by resume does not reuse the attempt number', () => {
    const spec: PlanSpec = {
      id: 'dispatch-bug',
      nodes: [{ id: 'n0', type: 'task', owner: { kind: 'agent', ref: 'a' }, onFailure: [{ on: 'dispatch', action: 'replan' }] }],
    };
    let state = startRun(createRunState({ runId: RUN_ID, spec, now: iso(T0_MS) }), iso(T0_MS)).state;
    const failed = applyAgentSubmission(state, { nodeId: 'n0', failure: { class: 'dispatch', message: 'could not reach the tool' } }, [], iso(T0_MS + 1));
    assert.ok(!isRefusal(failed));
    state = failed.state;
    assert.equal(state.nodes[0].status, 'blocked');
    const resumed = resumeRun(state, { by: 'ops' }, iso(T0_MS + 2));
    assert.ok(!isRefusal(resumed));
    state = resumed.state;
    if (state.nodes[0].status === 'running') assert.equal(state.nodes[0].currentAttempt, 2, 'a resumed node must not be handed attempt 1 again');
    const next = applyAgentSubmission(state, { nodeId: 'n0', structuredOutput: {} }, [], iso(T0_MS + 3));
    if (!isRefusal(next)) assert.deepEqual(next.state.nodes[0].history.map((record) => record.attempt), [1, 2]);
  });

  it('random runs where agents also report failure class "dispatch" keep every run invariant', (t) => {
    const parameters = fcParams(3_000);
    t.diagnostic(seedLine(parameters, FILE));
    fc.assert(runProperty({ maxNodes: 3 }, 20, true), parameters);
  });

  const task = (id: string) => ({ id, type: 'task' as const, owner: { kind: 'agent' as const, ref: 'a' } });
  const started = (spec: PlanSpec) => startRun(createRunState({ runId: RUN_ID, spec, now: iso(T0_MS) }), iso(T0_MS)).state;

  it(
    'a map target "__proto__.polluted" is refused by validation and, run anyway, does not write Object.prototype',
    () => {
      const spec: PlanSpec = { id: 'pollute', nodes: [task('a'), task('b')], edges: [{ from: 'a', to: 'b', map: { '__proto__.polluted': 'output.v' } }] };
      assert.equal(validatePlanSpec(spec).valid, false);
      try {
        const done = applyAgentSubmission(started(spec), { nodeId: 'a', structuredOutput: { v: 'yes' } }, [], iso(T0_MS + 1));
        assert.ok(!isRefusal(done));
        assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false, 'Object.prototype.polluted was written');
        assert.deepEqual(JSON.parse(JSON.stringify(done.state.nodes[1].resolvedInput)), {}, 'a reserved target writes nothing');
      } finally {
        delete (Object.prototype as Record<string, unknown>).polluted;
      }
    },
  );

  it(
    'a submissionId named like an Object.prototype member is a new submission',
    () => {
      for (const submissionId of ['constructor', 'toString', '__proto__']) {
        const result = applyAgentSubmission(started({ id: 'sid', nodes: [task('a')] }), { nodeId: 'a', submissionId, structuredOutput: {} }, [], iso(T0_MS + 1));
        assert.ok(!isRefusal(result));
        assert.equal(result.outcome.duplicate, undefined, `submissionId "${submissionId}" was answered as a duplicate: ${JSON.stringify(result.outcome)}`);
        assert.equal(result.state.status, 'completed');
      }
    },
  );

  it(
    'a node id "__proto__" is refused by validation and, run anyway, is listed in checkpoints',
    () => {
      const transition = startRun(createRunState({ runId: RUN_ID, spec: { id: 'proto', nodes: [task('__proto__')] }, now: iso(T0_MS) }), iso(T0_MS));
      assert.equal(validatePlanSpec({ id: 'proto', nodes: [task('__proto__')] }).valid, false);
      assert.deepEqual(Object.keys(transition.checkpoint!.nodeStatuses), ['__proto__']);
    },
  );
});

describe('engine properties: quorum approvals (docs/semantics.md, "Quorum approvals")', () => {
  /** One approver's vote: approve or not, with 0–2 edits. */
  const voteArb = fc.record({ approved: fc.boolean(), edits: fc.integer({ min: 0, max: 2 }) });
  const quorumArb = fc.integer({ min: 1, max: 6 }).chain((n) => {
    const approvers = Array.from({ length: n }, (_, i) => `p${i}`);
    return fc.record({
      approvers: fc.constant(approvers),
      required: fc.integer({ min: 1, max: n }),
      veto: fc.subarray(approvers),
      order: fc.shuffledSubarray(approvers, { minLength: n, maxLength: n }),
      votes: fc.array(voteArb, { minLength: n, maxLength: n }),
      repeat: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    });
  });

  it('the outcome never contradicts the votes, and comes as soon as it is certain', (t) => {
    const parameters = fcParams(500);
    t.diagnostic(seedLine(parameters, 'dist/test/unit/engine-properties.test.js'));
    fc.assert(
      fc.property(quorumArb, ({ approvers, required, veto, order, votes, repeat }) => {
        const spec: PlanSpec = {
          id: 'quorum',
          nodes: [{ id: 'q', type: 'human-approval', owner: { kind: 'human', ref: 'board' }, approvers, quorum: { required, veto } }],
        };
        assert.ok(validatePlanSpec(spec).valid);
        let state = startRun(createRunState({ runId: RUN_ID, spec, now: iso(T0_MS) }), iso(T0_MS)).state;
        const cast: Array<{ by: string; approved: boolean; requiredEdits: string[] }> = [];
        let resolvedAt: number | undefined;
        order.forEach((by, i) => {
          const now = iso(T0_MS + (i + 1) * 1000);
          const requiredEdits = Array.from({ length: votes[i].edits }, (_, k) => `${by} edit ${k + 1}`);
          const response = { approved: votes[i].approved, ...(requiredEdits.length ? { requiredEdits } : {}) };
          const result = applyHumanResponse(state, { nodeId: 'q', respondedBy: by, response }, [], now);
          if (resolvedAt !== undefined) {
            // (a one-node plan is finished once its approval resolved)
            assert.ok(isRefusal(result) && ['no-pending-approval', 'run-finished'].includes(result.reason), `a vote after the approval resolved is refused (${by})`);
            return;
          }
          // A second vote by someone who already voted is refused and changes nothing.
          if (repeat[i] && cast.length > 0) {
            const again = applyHumanResponse(state, { nodeId: 'q', respondedBy: cast[0].by, response: { approved: true } }, [], now);
            assert.ok(isRefusal(again) && again.reason === 'already-voted');
          }
          assert.ok(!isRefusal(result), `${by}'s first vote is accepted`);
          state = result.state;
          cast.push({ by, approved: votes[i].approved, requiredEdits });
          const approves = (v: (typeof cast)[number]) => v.approved && v.requiredEdits.length === 0;
          const approving = cast.filter(approves).length;
          const remaining = approvers.length - cast.length;
          const vetoed = cast.some((v) => veto.includes(v.by) && !approves(v));
          const edits = cast.some((v) => v.requiredEdits.length > 0);
          const approval = state.approvals[0];
          const node = state.nodes[0];
          assert.equal(approval.votes?.length, cast.length, 'every vote is kept, in order');
          assert.deepEqual(approval.votes?.map((v) => v.by), cast.map((v) => v.by));
          if (approval.status === 'pending') {
            assert.equal(node.status, 'awaiting-human');
            assert.ok(!vetoed, 'a veto holder who did not approve ends it');
            assert.ok(approving < required, 'required approvals end it');
            assert.ok(approving + remaining >= required, 'it stays pending only while required can still be reached');
            assert.equal(result.outcome.approvalStatus, 'pending');
            return;
          }
          resolvedAt = i;
          assert.equal(node.status, 'completed');
          const output = node.output as { approved: boolean; status: string; votes: Array<{ by: string; approved: boolean }>; requiredEdits: string[] };
          assert.equal(output.status, approval.status);
          assert.equal(output.approved, approval.status === 'approved');
          assert.deepEqual(output.votes.map((v) => [v.by, v.approved]), cast.map((v) => [v.by, v.approved]));
          assert.deepEqual(output.requiredEdits, cast.flatMap((v) => v.requiredEdits));
          if (approval.status === 'approved') {
            assert.ok(approving >= required && !vetoed, 'approved only with required approvals and no veto');
          } else {
            assert.ok(vetoed || approving + remaining < required, `${approval.status} only after a veto or once required is out of reach`);
            assert.equal(approval.status, edits ? 'changes-requested' : 'rejected');
          }
        });
        assert.notEqual(resolvedAt, undefined, 'once everyone voted, the outcome is certain');
      }),
      parameters,
    );
  });
});
