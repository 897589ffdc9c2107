/**
 * The `planRun` workflow: the Temporal shell around the pure engine.
 *
 * A thin loop: take one message (or a due timer) at a time, ask the engine for the next state and
 * effects, carry the effects out (validation activity, timers, search attributes, event log).
 * Messages are processed strictly one after another from an inbox, so two results racing for the
 * same node are decided in arrival order, never interleaved across the validation activity.
 *
 * Rules for this file (it runs in Temporal's deterministic sandbox): import only
 * `@temporalio/workflow`, the engine and types; use workflow time (`new Date()` here is replay-safe);
 * register every handler before the first `await`; validators are synchronous; refusals are
 * `ApplicationFailure`s.
 */
import * as wf from '@temporalio/workflow';
import {
  applyAgentSubmission,
  applyHumanResponse,
  applyInputChecks,
  cancelRun,
  checkAgentSubmission,
  checkHumanResponse,
  compactForHandOver,
  createRunState,
  currentDetails,
  inspectJson,
  resolvePayloadLimits,
  type PayloadLimits,
  currentWorkItem,
  dispatchFailed,
  isFinished,
  pendingInputChecks,
  runInputCheck,
  pendingTimers,
  fireDueTimers,
  raiseBudget,
  recordOf,
  rejectOperation,
  rejectSubmission,
  resumeRun,
  retryNode,
  sinkDisabled,
  snapshotOf,
  startRun,
  subplanFinished,
  subplanReport,
  waitingOn,
  wakeUpsFor,
  type Checkpoint,
  type Issue,
  type OperationKind,
  type Refusal,
  type RunEvent,
  type RunSnapshot,
  type RunState,
  type SubplanCancel,
  type SubplanFinished,
  type SubplanStart,
  type Transition,
  type ValidationRequest,
} from '../engine/core';
import { validatePlanSpec } from '../engine/validate-spec';
import { replanRun, type RunReplannedDetail } from '../engine/replan';
import type { ValidationActivities } from '../activities';
import type { CloseActivities } from '../activities/close';
import type { DeliveryActivities } from '../activities/delivery/types';
import { Outbox } from './outbox';
import {
  FAILURE_TYPES,
  PlanIdKey,
  PlanRunStatusKey,
  PlanWaitingOnKey,
  PlanCostUsdKey,
  raiseBudgetSignal,
  raiseBudgetUpdate,
  cancelRunUpdate,
  cancelSignal,
  replanRunUpdate,
  replanSignal,
  eventsQuery,
  humanResponseSignal,
  nodeResultSignal,
  resumeRunUpdate,
  resumeSignal,
  retryNodeSignal,
  retryNodeUpdate,
  snapshotQuery,
  subplanFinishedSignal,
  submitHumanResponseUpdate,
  submitNodeResultUpdate,
  workItemQuery,
  type OperationOutcome,
  type PlanRunInput,
  type ReplanOutcome,
} from './definitions';

/**
 * Validation runs as a local activity: its result is recorded in history (so validators can change
 * without breaking replay) at one marker event instead of three activity events, and without a
 * round trip through the task queue.
 */
const { validateBatch } = wf.proxyLocalActivities<ValidationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  summary: 'validate',
});

/** The worker's delivery settings (sink ids, agents with endpoints, retry timing), read once per run. */
const { deliverySettings } = wf.proxyLocalActivities<DeliveryActivities>({
  startToCloseTimeout: '10 seconds',
  summary: 'delivery settings',
});

/**
 * Asks Temporal, through the worker, to cancel this execution: how a run plan-runner cancelled closes
 * as *Canceled* (see `closeAsCancelled`). Retried for a while; a worker that may not cancel workflows
 * (a restricted API key) makes the run close as Completed instead, as before.
 */
const { requestOwnCancellation } = wf.proxyLocalActivities<CloseActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8 },
  summary: 'close as cancelled',
});

type ExternalKind = 'result' | 'response' | OperationKind;
type Via = { via: 'signal' } | { via: 'update'; resolve: (value: never) => void; reject: (error: unknown) => void };
type Message =
  | ({ kind: 'result'; payload: unknown } & Via)
  | ({ kind: 'response'; payload: unknown } & Via)
  | ({ kind: OperationKind; payload: unknown } & Via)
  /** Reported by the outbox: a wake-up failed after its retries (docs/semantics.md §12). */
  | { kind: 'dispatch-failed'; payload: { nodeId: string; attempt: number; message: string }; via: 'internal' }
  /** Reported by the outbox: a webhook sink answered 410 Gone or gave up. */
  | { kind: 'sink-disabled'; payload: { sinkId: string; reason: string }; via: 'internal' }
  /** A child run's report (signal `subplanFinished`), or its workflow closing without one. */
  | { kind: 'subplan-finished'; payload: unknown; via: 'internal' };

/**
 * Workflow time. A transition that waits for a local activity (validation) is stamped with the time
 * taken *before* the await: after a local activity, replay can see a later workflow time than the
 * original execution did, and events must read the same on every replay.
 */
function now(): string {
  return new Date().toISOString();
}

function refusalFailure(refusal: Refusal): wf.ApplicationFailure {
  return wf.ApplicationFailure.create({
    type: FAILURE_TYPES.refused,
    message: refusal.message,
    details: [{ reason: refusal.reason, message: refusal.message }],
    nonRetryable: true,
  });
}

function withoutSpec({ spec: _spec, ...rest }: RunState): Omit<RunState, 'spec'> {
  return rest;
}

function isRefusal(value: object): value is Refusal {
  return 'refused' in value && (value as Refusal).refused === true;
}

/** Patch id: a refused cancel/resume/retry/replan signal is recorded as `operation-rejected`. */
const RECORD_REFUSED_OPERATIONS = 'record-refused-operation-signals';

/**
 * Patch id: a run ended by the `cancel` message (update or signal) closes as Temporal *Canceled*;
 * before, its workflow returned the final snapshot and closed as *Completed*.
 */
const CLOSE_CANCELLED_AS_CANCELED = 'close-cancelled-run-as-canceled';

/**
 * Patch id: every run draws a work-item token secret, and its work items carry tokens
 * (docs/semantics.md, "Who may act"); before, work items had none and results were not checked.
 */
const WORK_ITEM_TOKENS = 'work-item-tokens';

/**
 * Patch id: runs whose results report a cost publish it as search attribute `PlanCostUsd`
 * (docs/semantics.md, "Budgets"). Checked only when a run has a cost, so runs without one record
 * nothing new; runs recorded before budgets had no such upsert.
 */
const BUDGETS = 'budgets';

/**
 * Patch id: submissions waiting together in the inbox are validated in one local activity (one
 * history marker for up to `RECORD_BATCH` of them, instead of one each), and the search attributes
 * are published once per store write instead of after every transition. Both cut what a workflow
 * task does, and what a replay of a long execution repeats, by the size of a batch: before, a
 * 1,000-node run's history held a marker and an upsert (with its whole `PlanWaitingOn` list) per
 * result, and its replay outlasted the workflow task timeout (docs/performance.md).
 */
const BATCHED_EFFECTS = 'batch-validation-and-search-attributes';

/**
 * Patch id: a hand-over (continue-as-new) due at a quiet moment leaves the store write of the last
 * transitions (one batch at most) to the next execution, which writes them first; and a hand-over
 * put off by a message lets deliveries and wake-ups go on. Temporal refuses a continue-as-new when a
 * message arrived while its workflow task ran, and the worker then replays the whole execution. The
 * task that wrote the last records was open for the whole write, just when agents, seeing their
 * results stored, send the next ones: a 1,000-instance fan-out had 11 refusals, each followed by a
 * replay of ~500 transitions, and never handed over.
 */
const HAND_OVER_CARRIES_UNRECORDED = 'hand-over-carries-unrecorded-transitions';

/**
 * Patch id: a submission whose turn comes when nothing else waits in the inbox is validated and
 * recorded in one local activity instead of two. The engine is pure, so the transition it makes when
 * validation finds nothing is computed before the validation, and its records go with the validation
 * request (together with any records still unwritten); the activity writes them only when there is no
 * issue at all (docs/design-choices.md, "Validate and record in one local activity"). With issues
 * (warnings included), nothing is written: the transition computed ahead is dropped, the one the
 * issues make is applied and recorded as before. Before, every such result cost a validation marker
 * and a store-write marker.
 */
const VALIDATE_AND_RECORD = 'validate-and-record-in-one-activity';

/**
 * Patch id: a new run begins in one local activity instead of three (the worker's settings, the
 * run input's check and the store write of the start, `Outbox.begin`), so an update sent right after
 * the start waits for one activity, not three. Its marker also stands for every patch above: an
 * execution that records it behaves as all of them say and records no marker of theirs (one marker
 * and one `TemporalChangeVersion` upsert per execution instead of three or four of each). Executions
 * recorded before it replay as they ran: without its marker, each earlier patch is checked where it
 * always was. (A patch added after this one is checked on its own, as usual.)
 */
const BEGIN_IN_ONE_ACTIVITY = 'begin-in-one-activity';

/** Default for `PlanRunOptions.continueAsNewAfterMessages`: far below Temporal's per-execution limits. */
const CONTINUE_AS_NEW_AFTER_MESSAGES = 500;
/** Transitions applied before they must be recorded, while messages keep arriving. */
const RECORD_BATCH = 50;

export async function planRun({ spec, input, options, continued, parent }: PlanRunInput): Promise<RunSnapshot> {
  // A spec that bypassed the client's validation is refused before anything is recorded.
  const checked = validatePlanSpec(spec);
  if (!checked.valid || !checked.spec) {
    await reportStartFailure(parent, `its spec is invalid: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    throw wf.ApplicationFailure.create({
      type: FAILURE_TYPES.invalidSpec,
      message: `Invalid plan spec: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
      details: [checked.errors],
      nonRetryable: true,
    });
  }

  // The worker's payload limits arrive with its settings (below); until then, the defaults.
  let limits: PayloadLimits = resolvePayloadLimits();
  // A run input the store could not hold (too large, too deep, a NUL) is refused before anything
  // touches it, like one that fails the plan's input schema. (The client checks the same first.)
  const inputProblem = continued ? undefined : inspectJson(input ?? {}, { maxBytes: limits.maxInputBytes, maxDepth: limits.maxDepth, what: 'the run input' });
  if (inputProblem) {
    await reportStartFailure(parent, `its input is invalid: ${inputProblem.message}`);
    throw wf.ApplicationFailure.create({
      type: FAILURE_TYPES.invalidInput,
      message: `Invalid run input: ${inputProblem.message}`,
      details: [[{ severity: 'blocking', code: 'input', message: inputProblem.description, path: inputProblem.path }]],
      nonRetryable: true,
    });
  }

  // A continued execution (after a replan, or to keep history short) carries the whole run state.
  let state: RunState = continued
    ? { ...continued.state, spec: checked.spec }
    : createRunState({ runId: wf.workflowInfo().workflowId, spec: checked.spec, input, now: now(), ...(parent ? { parent } : {}) });
  // Decided once per execution, before anything is recorded (see `BEGIN_IN_ONE_ACTIVITY`): true in
  // every new execution, and where it is true no earlier patch is asked about.
  const beginsInOne = wf.patched(BEGIN_IN_ONE_ACTIVITY);
  // Work-item tokens derive from one secret per run, drawn from the workflow's deterministic
  // randomness (so replay draws the same). Runs recorded before tokens existed replay without one.
  if (state.tokenSecret === undefined && (beginsInOne || wf.patched(WORK_ITEM_TOKENS))) state = { ...state, tokenSecret: `${wf.uuid4()}${wf.uuid4()}` };
  const eventLog: RunEvent[] = [];
  let lastCheckpoint: Checkpoint | undefined;
  const inbox: Message[] = [];

  // ---- Handlers: all registered synchronously, before the first await. -------------------------
  const enqueue = <T>(kind: ExternalKind, payload: unknown) =>
    new Promise<T>((resolve, reject) => inbox.push({ kind, payload, via: 'update', resolve: resolve as never, reject }));
  // Updates that arrived with the start are dispatched as soon as their handler is registered, before
  // the run has started: validators then accept, and the loop decides when the message's turn comes.
  let started = continued !== undefined;
  const refuseIf = (check: () => object) => {
    if (!started) return;
    const result = check();
    if (isRefusal(result)) throw refusalFailure(result);
  };

  wf.setHandler(nodeResultSignal, (payload) => void inbox.push({ kind: 'result', payload, via: 'signal' }), {
    description: "An agent's result for a running task node: { nodeId, attempt?, submissionId?, structuredOutput?, artifacts?, notes?, failure? }. Refusals are recorded as result-rejected.",
  });
  wf.setHandler(humanResponseSignal, (payload) => void inbox.push({ kind: 'response', payload, via: 'signal' }), {
    description: "A person's answer to a pending approval: { nodeId? | approvalId?, respondedBy, response }. Refusals are recorded as result-rejected.",
  });
  wf.setHandler(cancelSignal, (payload) => void inbox.push({ kind: 'cancel', payload, via: 'signal' }), {
    description: 'Cancel the run: { by, reason? }.',
  });
  wf.setHandler(resumeSignal, (payload) => void inbox.push({ kind: 'resume', payload, via: 'signal' }), {
    description: 'Dispatch running nodes again and re-evaluate the graph: { by }.',
  });
  wf.setHandler(retryNodeSignal, (payload) => void inbox.push({ kind: 'retry', payload, via: 'signal' }), {
    description: 'Make a failed or blocked node ready again: { nodeId, by, input? }.',
  });
  wf.setHandler(replanSignal, (payload) => void inbox.push({ kind: 'replan', payload, via: 'signal' }), {
    description: 'Replace the spec: { spec, by, reason? }. Unchanged finished nodes keep their results; the run continues as new.',
  });
  wf.setHandler(raiseBudgetSignal, (payload) => void inbox.push({ kind: 'raiseBudget', payload, via: 'signal' }), {
    description: "Raise the plan's budget: { maxCostUsd?, maxTokens?, by }. A run blocked by its budget goes on once it is within the new limits.",
  });

  wf.setHandler(subplanFinishedSignal, (payload) => void inbox.push({ kind: 'subplan-finished', payload, via: 'internal' }), {
    description: 'Sent by a child run of a plan node when it completed, failed or was cancelled: { nodeId, attempt, childRunId, status, output?, partial?, reason? }.',
  });

  // Validators refuse early (no history entry) what the engine would refuse now; the loop re-checks
  // when the message's turn comes, because the state may have moved in between.
  wf.setHandler(submitNodeResultUpdate, (payload) => enqueue('result', payload), {
    description: "Submit an agent's result and get the outcome (node status, issues); refused results fail with PlanRunRefused.",
    validator: (payload) => refuseIf(() => checkAgentSubmission(state, payload, limits)),
  });
  wf.setHandler(submitHumanResponseUpdate, (payload) => enqueue('response', payload), {
    description: 'Answer a pending approval and get the outcome; refused answers fail with PlanRunRefused.',
    validator: (payload) => refuseIf(() => checkHumanResponse(state, payload, limits)),
  });
  wf.setHandler(cancelRunUpdate, (payload) => enqueue<OperationOutcome>('cancel', payload), {
    description: 'Cancel the run: { by, reason? }.',
    validator: (payload) => refuseIf(() => cancelRun(state, payload, now(), limits)),
  });
  wf.setHandler(resumeRunUpdate, (payload) => enqueue<OperationOutcome>('resume', payload), {
    description: 'Resume the run: { by }.',
    validator: (payload) => refuseIf(() => resumeRun(state, payload, now(), limits)),
  });
  wf.setHandler(retryNodeUpdate, (payload) => enqueue<OperationOutcome>('retry', payload), {
    description: 'Retry a failed or blocked node: { nodeId, by, input? }.',
    validator: (payload) => refuseIf(() => retryNode(state, payload, now(), limits)),
  });

  wf.setHandler(raiseBudgetUpdate, (payload) => enqueue<OperationOutcome>('raiseBudget', payload), {
    description: "Raise the plan's budget: { maxCostUsd?, maxTokens?, by }; a raise that raises nothing fails with PlanRunRefused.",
    validator: (payload) => refuseIf(() => raiseBudget(state, payload, now(), limits)),
  });

  wf.setHandler(replanRunUpdate, (payload) => enqueue<ReplanOutcome>('replan', payload), {
    description: 'Replace the spec and get what was kept, reset, added and removed; an invalid spec fails with PlanRunRefused.',
    validator: (payload) => refuseIf(() => replanRun(state, payload, now())),
  });

  wf.setHandler(snapshotQuery, () => outbox.view(snapshotOf(state)), { description: "The run's status, nodes (spec order) and approvals, and `recording` when the store refused some of its records." });
  wf.setHandler(eventsQuery, (range) => eventLog.filter((event) => event.seq > (range?.sinceSeq ?? 0)), {
    description: "This execution's events after { sinceSeq? } (the store has every event of the run).",
  });
  wf.setHandler(workItemQuery, (args) => currentWorkItem(state, String(args?.nodeId ?? '')), { description: 'The work item of a running task node: { nodeId } → brief, resolved input, handoff, previous issues.' });

  // ---- Effects ---------------------------------------------------------------------------------
  const outbox = new Outbox(state.runId, {
    onDispatchFailed: (payload) => void inbox.push({ kind: 'dispatch-failed', payload, via: 'internal' }),
    onSinkDisabled: (payload) => void inbox.push({ kind: 'sink-disabled', payload, via: 'internal' }),
  });
  let specRecorded = continued !== undefined;
  let published = { status: '', waitingOn: '' };
  /** What the outbox records for `transition` applied to the current state (undefined: nothing). */
  const entryFor = (transition: Transition) => {
    const record = recordOf(state, transition, { includeSpec: !specRecorded || state.specVersion !== transition.state.specVersion });
    return record && { record, wakeUps: wakeUpsFor(transition.state, transition.events) };
  };
  /** A transition whose records are already in the store (see `processSubmissionInOne`): not queued again. */
  let recordedAhead: Transition | undefined;
  const apply = (transition: Transition) => {
    const before = state;
    const entry = transition === recordedAhead ? undefined : entryFor(transition);
    if (transition === recordedAhead) specRecorded = true;
    state = transition.state;
    if (entry) {
      specRecorded = true;
      outbox.add(entry.record, entry.wakeUps);
    }
    eventLog.push(...transition.events);
    if (transition.checkpoint) lastCheckpoint = transition.checkpoint;
    if (batchedEffects) progressPending = true;
    else publishProgress();
    syncTimers();
    // Sub-plans (docs/semantics.md, "Sub-plans"): only runs of plans with plan nodes, and child runs, get here.
    if (transition.subplans) {
      for (const start of transition.subplans.start) startChildRun(start);
      for (const cancel of transition.subplans.cancel) cancelChildRun(cancel);
    }
    if (state.parent && state.status !== before.status) reportToParent();
  };

  // ---- Child runs (docs/semantics.md, "Sub-plans"; docs/design-choices.md, "Sub-plans") ------------
  // A child run is a `planRun` child workflow, abandoned when this execution closes, so it outlives
  // a continue-as-new; it reports how it ended with a signal to this run's workflow id, which reaches
  // whichever execution is current. Nodes that stop waiting for a child cancel it with the `cancel`
  // signal (the child is a run of its own: it records the cancellation and closes as Canceled).
  const childStarts = new Map<string, Promise<unknown>>();
  const childOps = new Set<Promise<unknown>>();
  const track = (operation: Promise<unknown>) => {
    const tracked = operation.finally(() => childOps.delete(tracked));
    childOps.add(tracked);
  };
  const startChildRun = (start: SubplanStart) => {
    const started = wf.CancellationScope.nonCancellable(async () => {
      try {
        const child = await wf.startChild(planRun, {
          workflowId: start.childRunId,
          args: [{ spec: start.spec, input: start.input, ...(options ? { options } : {}), parent: { runId: state.runId, nodeId: start.nodeId, attempt: start.attempt } }],
          parentClosePolicy: 'ABANDON',
          cancellationType: 'ABANDON',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          staticSummary: `sub-plan "${start.plan}" for node ${start.nodeId} of run ${state.runId} (attempt ${start.attempt})`,
        });
        // The child's report is its signal; a child that closes without one (terminated, or failed
        // as a workflow) fails the attempt. A late or repeated outcome changes nothing in the engine.
        // (Not tracked: waiting for it would hold up a hand-over for as long as the child runs.)
        void (
          child.result().then(
            () => undefined,
            (error: unknown) => {
              const cancelled = wf.isCancellation(error) || failureChain(error).some((cause) => cause instanceof wf.CancelledFailure);
              inbox.push({
                kind: 'subplan-finished',
                payload: {
                  nodeId: start.nodeId,
                  attempt: start.attempt,
                  childRunId: start.childRunId,
                  status: cancelled ? 'aborted' : 'failed',
                  reason: `child run ${start.childRunId} closed without a report: ${innermostMessage(error)}`,
                } satisfies SubplanFinished,
                via: 'internal',
              });
            },
          )
        );
      } catch (error) {
        inbox.push({
          kind: 'subplan-finished',
          payload: {
            nodeId: start.nodeId,
            attempt: start.attempt,
            childRunId: start.childRunId,
            status: 'failed',
            reason: `child run ${start.childRunId} could not be started: ${innermostMessage(error)}`,
          } satisfies SubplanFinished,
          via: 'internal',
        });
      }
    }).finally(() => childStarts.delete(start.childRunId));
    childStarts.set(start.childRunId, started);
    track(started);
  };
  const cancelChildRun = (cancel: SubplanCancel) => {
    // A child whose start is still on its way is cancelled once it started.
    const after = childStarts.get(cancel.childRunId) ?? Promise.resolve();
    track(
      after.then(() =>
        wf.CancellationScope.nonCancellable(() =>
          wf.getExternalWorkflowHandle(cancel.childRunId).signal(cancelSignal, { by: `run:${state.runId}`, reason: cancel.reason }),
        ).catch((error: unknown) => wf.log.info('child run not cancelled (it may have closed already)', { childRunId: cancel.childRunId, error: innermostMessage(error) })),
      ),
    );
  };
  const reportToParent = () => {
    const report = subplanReport(state);
    const to = state.parent;
    if (!report || !to) return;
    track(
      wf.CancellationScope.nonCancellable(() => wf.getExternalWorkflowHandle(to.runId).signal(subplanFinishedSignal, report)).catch((error: unknown) =>
        wf.log.warn('could not report to the parent run', { parentRunId: to.runId, error: innermostMessage(error) }),
      ),
    );
  };
  /** Waits until every child start, cancellation and report of this execution has gone out. */
  const childOpsSettled = async () => {
    while (childOps.size > 0) await Promise.allSettled([...childOps]);
  };

  // With batched effects the run's progress (search attributes, current details) is published once
  // per store write and before every wait, not after every transition.
  let batchedEffects = false;
  /** `VALIDATE_AND_RECORD`, decided with `batchedEffects` (it builds on it). */
  let validateAndRecord = false;
  let progressPending = false;
  const publishPendingProgress = () => {
    if (!progressPending) return;
    progressPending = false;
    publishProgress();
  };

  const publishProgress = () => {
    wf.setCurrentDetails(currentDetails(state));
    const owners = waitingOn(state);
    const next = { status: state.status, waitingOn: owners.join(',') };
    if (next.status === published.status && next.waitingOn === published.waitingOn) return;
    wf.upsertSearchAttributes([
      { key: PlanIdKey, value: state.planId },
      { key: PlanRunStatusKey, value: state.status },
      { key: PlanWaitingOnKey, value: owners },
    ]);
    published = next;
  };

  // What the run spent, as search attribute PlanCostUsd: once per batch of transitions (with their
  // store write), and only for runs whose results report a cost (docs/semantics.md, "Budgets").
  let publishedCost: number | undefined;
  const publishCost = () => {
    const cost = state.usage?.costUsd;
    if (cost === undefined || cost === publishedCost || !(beginsInOne || wf.patched(BUDGETS))) return;
    wf.upsertSearchAttributes([{ key: PlanCostUsdKey, value: cost }]);
    publishedCost = cost;
  };

  // One cancellable Temporal timer per pending engine timer (delays, timeouts, deadlines), with a
  // summary so the Web UI shows what it waits for.
  const timers = new Map<string, wf.CancellationScope>();
  let timerDue = false;
  const syncTimers = () => {
    // A timer is identified by its key and due time: one whose time moved (a resumed node's
    // timeout) is replaced, one no longer wanted (the node finished) is cancelled, not left to fire.
    const wanted = new Map(pendingTimers(state).map((timer) => [`${timer.key}@${timer.at}`, timer]));
    for (const [id, scope] of timers) {
      if (!wanted.has(id)) {
        scope.cancel();
        timers.delete(id);
      }
    }
    for (const [id, timer] of wanted) {
      if (timers.has(id)) continue;
      const scope = new wf.CancellationScope();
      timers.set(id, scope);
      const delayMs = Math.max(0, Date.parse(timer.at) - Date.parse(now()));
      scope
        .run(() => wf.sleep(delayMs, { summary: timer.summary }))
        .then(
          () => {
            timers.delete(id);
            timerDue = true;
          },
          () => undefined, // cancelled: no longer needed
        );
    }
  };

  // Any other wait ends a batch validated ahead: what is left of it is validated again, at a later
  // time, so that no event is stamped earlier than one recorded before it.
  const validate = async (requests: ValidationRequest[]): Promise<Issue[][]> => {
    validatedAhead.clear();
    return requests.length === 0 ? [] : validateBatch(requests);
  };

  const runInputChecks = async () => {
    for (let checks = pendingInputChecks(state); checks.length > 0; checks = pendingInputChecks(state)) {
      const at = now();
      const results = await validate(checks.map((check) => check.request));
      apply(applyInputChecks(state, checks.map((check, i) => ({ nodeId: check.nodeId, issues: results[i] })), at));
    }
  };

  // ---- Message processing ----------------------------------------------------------------------
  const settleMessage = <T>(message: Message, result: Transition | Refusal, outcome?: T, at = now()) => {
    if (isRefusal(result)) {
      if (message.via === 'internal') return;
      if (message.via === 'update') message.reject(refusalFailure(result));
      else if (message.kind === 'result' || message.kind === 'response') apply(rejectSubmission(state, message.payload, result, at));
      else {
        wf.log.warn(`${message.kind} refused`, { reason: result.reason, message: result.message });
        // Runs that refused an operation signal before this change only logged it; their histories
        // have no store write for it (see "Changing workflow code safely" in the README).
        if (beginsInOne || wf.patched(RECORD_REFUSED_OPERATIONS)) apply(rejectOperation(state, message.kind, message.payload, result, at));
      }
      return;
    }
    apply(result);
    if (message.via === 'update') {
      const reply = outcome ?? ({ accepted: true, runStatus: state.status, message: result.summary ?? describeOperation(message.kind) } satisfies OperationOutcome);
      // The caller is answered once the transition is in the store (see `recordAndReply`).
      replies.push(() => (message.resolve as (value: unknown) => void)(reply));
    }
  };

  /** Updates whose transition is applied but not yet recorded. */
  const replies: Array<() => void> = [];
  const recordAndReply = async () => {
    validatedAhead.clear();
    publishPendingProgress();
    publishCost();
    await outbox.record();
    for (const reply of replies.splice(0)) reply();
  };

  /**
   * Submissions validated ahead, in one batch (see `BATCHED_EFFECTS`): the request each one's check
   * made then (as JSON), its issues, and the workflow time of the batch.
   */
  const validatedAhead = new Map<Message, { request?: string; issues: Issue[]; at: string }>();
  const isSubmission = (message: Message) => message.kind === 'result' || message.kind === 'response';
  const checkSubmission = (message: Message, at: string) =>
    message.kind === 'result' ? checkAgentSubmission(state, message.payload, limits) : checkHumanResponse(state, message.payload, limits, at);

  /**
   * Validates `first` and the submissions queued right behind it (up to `RECORD_BATCH`) in one local
   * activity, each checked against the state as it is now. Each is checked again when its turn comes
   * (earlier ones may have moved the state); only a check that asks for the very same validation uses
   * the issues found here, any other is validated on its own. All are stamped with this batch's time,
   * taken before the await (see `now`).
   */
  const validateAhead = async (first: Message) => {
    const at = now();
    const batch = [first, ...inbox.slice(0, RECORD_BATCH - 1)];
    const cut = batch.findIndex((message) => !isSubmission(message));
    const messages = cut === -1 ? batch : batch.slice(0, cut);
    const requests = messages.map((message) => {
      const check = checkSubmission(message, at);
      return !check.refused && !check.duplicate && check.validation ? check.validation : undefined;
    });
    const wanted = requests.filter((request): request is ValidationRequest => request !== undefined);
    const results = await validate(wanted);
    let next = 0;
    messages.forEach((message, i) => {
      const request = requests[i];
      validatedAhead.set(message, request ? { request: JSON.stringify(request), issues: results[next++], at } : { issues: [], at });
    });
  };

  /**
   * A submission's turn up to its validation, at workflow time `at`: a refusal or a duplicate is
   * settled here (undefined is returned); otherwise what it needs validated (`null`: nothing).
   */
  const beginSubmission = (message: Message, at: string) => {
    // Workflow time stands still while this runs (no await until the validation): a vote that
    // resolves a quorum approval is validated as the output it makes, stamped with this time.
    const check = checkSubmission(message, at);
    if (check.refused) return void settleMessage(message, check, undefined, at);
    if (check.duplicate) {
      if (message.via === 'update') return void (message.resolve as (value: unknown) => void)(check.duplicate);
      const refusal: Refusal = { refused: true, reason: 'duplicate-submission', message: 'this submissionId was already recorded; nothing changed.' };
      return void apply(rejectSubmission(state, message.payload, refusal, at));
    }
    return { validation: check.validation };
  };

  /** A submission's turn after its validation found `issues`: the engine applies it. */
  const finishSubmission = (message: Message, issues: Issue[], at: string) => {
    const applied =
      message.kind === 'result'
        ? applyAgentSubmission(state, message.payload, issues, at, limits)
        : applyHumanResponse(state, message.payload, issues, at, limits);
    settleMessage(message, applied, isRefusal(applied) ? undefined : applied.outcome, at);
  };

  /** A submission's turn in runs recorded before `BATCHED_EFFECTS`: validated on its own. */
  const processSubmissionAlone = async (message: Message) => {
    const begun = beginSubmission(message, now());
    if (!begun) return;
    const at = now();
    const [issues] = begun.validation ? await validate([begun.validation]) : [[]];
    finishSubmission(message, issues, at);
  };

  /**
   * A submission's turn with `BATCHED_EFFECTS`: validated ahead with those queued behind it, and
   * synchronous (no promise, no await) when that validation still holds, which is nearly always.
   * Promises are not free in a workflow: the SDK records a stack trace for every one created.
   */
  const processSubmissionBatched = (message: Message): Promise<void> | undefined => {
    const ahead = validatedAhead.get(message);
    if (!ahead && inOneActivity(message)) return processSubmissionInOne(message);
    if (!ahead) return validateAhead(message).then(() => processSubmissionBatched(message));
    validatedAhead.delete(message);
    const begun = beginSubmission(message, ahead.at);
    if (!begun) return undefined;
    const { validation } = begun;
    if (!validation) return void finishSubmission(message, [], ahead.at);
    if (ahead.request === JSON.stringify(validation)) return void finishSubmission(message, ahead.issues, ahead.at);
    return validate([validation]).then(([issues]) => finishSubmission(message, issues, ahead.at));
  };

  /**
   * Whether a submission's turn, with `VALIDATE_AND_RECORD`, validates and records in one local
   * activity: only where the loop would write the store right after applying it anyway. Nothing else
   * waits in the inbox (messages that wait are applied first and recorded together, and submissions
   * among them validated ahead in one batch), what is unwritten fits one store write, and the write is
   * not one a hand-over would leave to the next execution (only a signal's can be: an update waits for
   * its reply).
   */
  const inOneActivity = (message: Message) =>
    validateAndRecord &&
    inbox.length === 0 &&
    outbox.fitsOneWrite &&
    (message.via === 'update' || !handOverCarries || (continueAsNewReason === undefined && !handOverDue()));

  /**
   * A submission's turn with `VALIDATE_AND_RECORD` (see `inOneActivity`): the transition it makes when
   * validation finds nothing is computed first (the engine is pure, `state` does not move while the
   * activity runs: only this loop applies transitions), and its records go to the store in the same
   * local activity as the validation, which writes them only if no issue at all was found. Then the
   * transition is applied as recorded, and the updates it and the earlier transitions answer are
   * answered, as `recordAndReply` does. With any issue, nothing was written: the transition computed
   * ahead is dropped and the one the issues make is applied, and recorded by the loop as before.
   */
  const processSubmissionInOne = async (message: Message) => {
    const at = now();
    const begun = beginSubmission(message, at);
    if (!begun) return;
    const { validation } = begun;
    if (!validation) return finishSubmission(message, [], at);
    const clean = message.kind === 'result' ? applyAgentSubmission(state, message.payload, [], at, limits) : applyHumanResponse(state, message.payload, [], at, limits);
    const entry = isRefusal(clean) ? undefined : entryFor(clean);
    validatedAhead.clear();
    // Refused or recording nothing even without issues, or making a node's input wait for its check
    // (which the loop runs before it records, and the update's answer waits for): validated alone, as before.
    if (isRefusal(clean) || !entry || pendingInputChecks(clean.state).length > 0) {
      const [issues] = await validate([validation]);
      return finishSubmission(message, issues, at);
    }
    const issues = await outbox.validateAndRecord([validation], entry);
    if (issues) return finishSubmission(message, issues[0], at);
    recordedAhead = clean;
    try {
      settleMessage(message, clean, clean.outcome, at);
    } finally {
      recordedAhead = undefined;
    }
    publishPendingProgress();
    publishCost();
    for (const reply of replies.splice(0)) reply();
  };

  let messagesHandled = 0;
  let continueAsNewReason: 'replan' | 'history' | undefined;
  /** One message's turn: a promise only when it must wait (validation), see `processSubmissionBatched`. */
  const processMessage = (message: Message): Promise<void> | void => {
    if (message.via !== 'internal') messagesHandled += 1;
    switch (message.kind) {
      case 'result':
      case 'response':
        return batchedEffects ? processSubmissionBatched(message) : processSubmissionAlone(message);
      case 'cancel':
        return settleMessage(message, cancelRun(state, message.payload, now(), limits));
      case 'resume':
        return settleMessage(message, resumeRun(state, message.payload, now(), limits));
      case 'retry':
        return settleMessage(message, retryNode(state, message.payload, now(), limits));
      case 'raiseBudget':
        return settleMessage(message, raiseBudget(state, message.payload, now(), limits));
      case 'replan': {
        const replanned = replanRun(state, message.payload, now());
        if (isRefusal(replanned)) return settleMessage(message, replanned);
        const changes = replanned.events.find((event) => event.type === 'run-replanned')?.detail as unknown as RunReplannedDetail;
        settleMessage(message, replanned, {
          accepted: true,
          runStatus: replanned.state.status,
          message: `The run was replanned to spec version ${replanned.state.specVersion}.`,
          specVersion: replanned.state.specVersion,
          changes,
        } satisfies ReplanOutcome);
        // docs/semantics.md §11: the run continues as new under the same workflow id with the new spec.
        continueAsNewReason = 'replan';
        return;
      }
      case 'dispatch-failed': {
        const blocked = dispatchFailed(state, message.payload, now());
        return blocked && apply(blocked);
      }
      case 'sink-disabled':
        return apply(sinkDisabled(state, message.payload, now()));
      case 'subplan-finished': {
        const finished = subplanFinished(state, message.payload, now());
        if (!finished) wf.log.info('a child run report changed nothing (stale or malformed)', { payload: message.payload as never });
        return finished && apply(finished);
      }
    }
  };

  // ---- Run ---------------------------------------------------------------------------------------
  const inputCheck = continued ? undefined : runInputCheck(state);
  /** Fails a run whose input has blocking issues, before anything of it is recorded. */
  const refuseInput = async (blocking: Issue[]) => {
    await reportStartFailure(parent, `its input is invalid: ${blocking.map((issue) => `${issue.path ?? '(input)'}: ${issue.message}`).join('; ')}`);
    throw wf.ApplicationFailure.create({
      type: FAILURE_TYPES.invalidInput,
      message: `Invalid run input: ${blocking.map((issue) => `${issue.path ?? '(input)'}: ${issue.message}`).join('; ')}`,
      details: [blocking],
      nonRetryable: true,
    });
  };
  // A new run with `BEGIN_IN_ONE_ACTIVITY`: its start is computed first (the engine is pure, and only
  // this loop moves `state`), and goes to the store with the input check and the settings read.
  const start = beginsInOne && !continued ? startRun(state, now()) : undefined;
  const begun = start ? await outbox.begin(inputCheck ? [inputCheck] : [], entryFor(start)) : undefined;
  if (begun) {
    const blocking = (begun.issues[0] ?? []).filter((issue) => issue.severity === 'blocking');
    if (blocking.length > 0) await refuseInput(blocking);
  } else if (inputCheck) {
    const [issues] = await validate([inputCheck]);
    const blocking = issues.filter((issue) => issue.severity === 'blocking');
    if (blocking.length > 0) await refuseInput(blocking);
  }

  // Decided once per execution, before the first transition: a run recorded before batching replays
  // as it ran (no marker here), every other batches from its first transition on.
  batchedEffects = beginsInOne || wf.patched(BATCHED_EFFECTS);
  const handOverCarries = beginsInOne || wf.patched(HAND_OVER_CARRIES_UNRECORDED);
  // Runs recorded before it replay with a validation and a store write per submission.
  validateAndRecord = batchedEffects && (beginsInOne || wf.patched(VALIDATE_AND_RECORD));

  // The run starts in this workflow task, once `beginRun` has recorded it. A query that comes with
  // the first workflow task is answered before that, from the state before the start (no node
  // running yet); one a moment later sees it started. Delivery begins once the worker's settings
  // are in. A continued run re-arms its timers from the state.
  if (continued) {
    publishProgress();
    syncTimers();
  } else if (start && begun) {
    // Recorded already (or refused by the store, which `Outbox.begin` noted): not queued again.
    recordedAhead = begun.recorded ? start : undefined;
    try {
      apply(start);
    } finally {
      recordedAhead = undefined;
    }
  } else {
    apply(startRun(state, now()));
  }
  started = true;
  // The settings came with the start, unless the store refused its records (that call returned nothing else).
  const settings = begun?.settings ?? (await deliverySettings());
  limits = resolvePayloadLimits(settings.limits);
  // A worker that requires tokens records that in the run: it holds for every later execution too.
  if (settings.requireWorkItemTokens && !state.requireWorkItemTokens) state = { ...state, requireWorkItemTokens: true };
  outbox.configure(settings, continued?.outbox);
  const messageLimit = options?.continueAsNewAfterMessages ?? CONTINUE_AS_NEW_AFTER_MESSAGES;
  /** Whether this execution has taken enough messages (or Temporal suggests it) to hand over. */
  const handOverDue = () => messagesHandled >= messageLimit || wf.workflowInfo().continueAsNewSuggested;
  let current: Message | undefined;
  try {
    while (true) {
      // With batched effects, no promise is made for what need not wait (see `processSubmissionBatched`);
      // runs recorded before keep the awaits they were recorded with.
      if (!batchedEffects) await runInputChecks();
      else if (pendingInputChecks(state).length > 0) await runInputChecks();
      // Messages that arrived together are applied first and recorded together (one store write).
      // With the hand-over patch, a hand-over that is due at a quiet moment leaves that write to the
      // next execution (at most one batch, carried in the hand-over): its workflow task then runs no
      // local activity, and agents, who send their next results once they see these recorded, cannot
      // send them while it is open (Temporal refuses a continue-as-new when a message came meanwhile).
      const writeLeftToNext =
        handOverCarries && inbox.length === 0 && !timerDue && replies.length === 0 && outbox.unrecordedCount <= RECORD_BATCH && !isFinished(state) &&
        (continueAsNewReason !== undefined || handOverDue());
      if ((outbox.hasUnrecorded || replies.length > 0) && (inbox.length === 0 || timerDue || outbox.unrecordedCount >= RECORD_BATCH) && !writeLeftToNext) {
        await recordAndReply();
        continue;
      }
      if (timerDue) {
        timerDue = false;
        validatedAhead.clear();
        apply(fireDueTimers(state, now()));
        continue;
      }
      current = inbox.shift();
      if (current) {
        if (!batchedEffects) await (async (message: Message) => processMessage(message))(current);
        else {
          const waiting = processMessage(current);
          if (waiting) await waiting;
        }
        current = undefined;
        continue;
      }
      if (!isFinished(state)) {
        if (!continueAsNewReason && handOverDue()) {
          continueAsNewReason = 'history';
        }
        if (continueAsNewReason) {
          // Hand over at a quiet moment: everything applied is answered (and, before the hand-over
          // patch, recorded) above, no message waits, and deliveries and wake-ups in flight get a
          // few seconds to finish (what is still unconfirmed then is carried over and sent again:
          // at least once).
          outbox.pause();
          publishPendingProgress();
          // A hand-over put off by a message lets deliveries go on until the next quiet moment.
          // (Runs recorded before the patch stayed paused; one that finished so never closed.)
          const putOff = () => {
            if (handOverCarries) outbox.resume();
          };
          await wf.condition(() => inbox.length > 0 || timerDue || (handOverCarries ? outbox.settled : outbox.quiet), '10 seconds');
          if (inbox.length > 0 || timerDue || (!handOverCarries && outbox.hasUnrecorded)) {
            putOff();
            continue;
          }
          // Child runs being started, cancelled or reported to go out before the hand-over.
          if (childOps.size > 0 || childStarts.size > 0) {
            await Promise.race([childOpsSettled(), wf.condition(() => inbox.length > 0 || timerDue)]);
            putOff();
            continue;
          }
          // An update handler finishes only when the loop answers it, so a message arriving now must
          // send the loop back to work rather than leave it waiting here for that handler.
          await wf.condition(() => wf.allHandlersFinished() || inbox.length > 0);
          if (inbox.length > 0) {
            putOff();
            continue;
          }
          wf.log.info('continuing as new', { reason: continueAsNewReason, messagesHandled, seq: state.seq });
          return await wf.continueAsNew<typeof planRun>({
            spec: state.spec,
            input: state.input,
            options,
            continued: {
              state: withoutSpec(compactForHandOver(state)),
              outbox: outbox.handOver(),
              execution: (continued?.execution ?? 1) + 1,
              reason: continueAsNewReason,
            },
          });
        }
      }
      // A finished run still records and delivers what it produced before the workflow returns.
      publishPendingProgress();
      if (isFinished(state) && outbox.idle) break;
      await wf.condition(() => inbox.length > 0 || timerDue || (isFinished(state) && outbox.idle));
    }
  } catch (error) {
    if (!wf.isCancellation(error)) throw error;
    // Temporal's own cancellation (handle.cancel(), the Web UI's Cancel button) ends the run like
    // the `cancel` message: run aborted, approvals closed, events and a final checkpoint recorded.
    await wf.CancellationScope.nonCancellable(async () => {
      const cancelled = cancelRun(state, { by: 'temporal', reason: 'the workflow was cancelled through Temporal' }, now());
      if (!isRefusal(cancelled)) apply(cancelled);
      const finished: Refusal = { refused: true, reason: 'run-finished', message: `Run ${state.runId} was cancelled.` };
      for (const message of [...(current ? [current] : []), ...inbox.splice(0)]) {
        if (message.via === 'update') message.reject(refusalFailure(finished));
      }
      // The cancellation's events are recorded and delivered before the workflow closes; updates
      // applied before the cancellation get their answers.
      if (!outbox.configured) outbox.configure(await deliverySettings());
      await recordAndReply();
      await wf.condition(() => outbox.idle);
      await childOpsSettled();
    });
    throw error;
  }

  for (const scope of timers.values()) scope.cancel();
  await childOpsSettled();
  await wf.condition(wf.allHandlersFinished);
  wf.log.info('run finished', { status: state.status, checkpoint: lastCheckpoint?.sequence });
  // A cancelled run closes as Canceled. Runs cancelled before this change returned their snapshot
  // (Completed); their histories have no patch marker here, so they replay the same.
  if (state.cancelled && (beginsInOne || wf.patched(CLOSE_CANCELLED_AS_CANCELED))) await closeAsCancelled(state.cancelled);
  return outbox.view(snapshotOf(state));
}

/**
 * Ends a run that the `cancel` message cancelled, once everything is recorded, delivered and
 * answered, by closing the workflow as Temporal *Canceled* (docs/semantics.md §11).
 *
 * The TypeScript SDK closes a workflow as Canceled only when Temporal asked it to cancel and the
 * workflow then ends with that cancellation; a `CancelledFailure` thrown without a request closes it
 * as Failed, and a workflow may not cancel itself as an external workflow. So a local activity asks
 * Temporal to cancel this very execution; the request arrives as Temporal's cancellation, which ends
 * the wait below with a `CancelledFailure`, and that, rethrown, closes the workflow as Canceled. The
 * workflow alone decides, and it is recorded: no client has to stay alive for it.
 *
 * Returns (the run then closes as Completed, as before) only when the request cannot be made.
 */
async function closeAsCancelled(cancelled: NonNullable<RunState['cancelled']>): Promise<void> {
  const { workflowId, runId } = wf.workflowInfo();
  const reason = `plan-runner: the run was cancelled by ${cancelled.by}${cancelled.reason ? `: ${cancelled.reason}` : ''}`;
  try {
    await wf.CancellationScope.nonCancellable(() => requestOwnCancellation({ workflowId, runId, reason }));
  } catch (error) {
    wf.log.warn('could not ask Temporal to cancel the run; it closes as Completed', { error: error instanceof Error ? error.message : String(error) });
    return;
  }
  // The activity returned once the server had the request, so the cancellation comes (or came
  // already: a wait in a cancelled scope ends at once). Nothing else is awaited any more.
  await wf.condition(() => false);
}

function describeOperation(kind: ExternalKind): string {
  switch (kind) {
    case 'cancel':
      return 'The run was cancelled.';
    case 'resume':
      return 'The run was resumed.';
    case 'raiseBudget':
      return "The run's budget was raised.";
    default:
      return 'The node was retried.';
  }
}

/**
 * A child run that cannot start (its spec or input is refused) tells its parent before it fails, so
 * the parent's attempt fails with class `subplan` instead of waiting (docs/semantics.md, "Sub-plans").
 */
async function reportStartFailure(parent: PlanRunInput['parent'], why: string): Promise<void> {
  if (!parent) return;
  const childRunId = wf.workflowInfo().workflowId;
  const report: SubplanFinished = { nodeId: parent.nodeId, attempt: parent.attempt, childRunId, status: 'failed', reason: `child run ${childRunId} could not start: ${why}` };
  try {
    await wf.getExternalWorkflowHandle(parent.runId).signal(subplanFinishedSignal, report);
  } catch (error) {
    wf.log.warn('could not report to the parent run', { parentRunId: parent.runId, error: innermostMessage(error) });
  }
}

function failureChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current: unknown = error; current instanceof Error && chain.length < 10; current = current.cause) chain.push(current);
  return chain;
}

function innermostMessage(error: unknown): string {
  const chain = failureChain(error);
  const last = chain[chain.length - 1];
  return last instanceof Error ? last.message : String(error);
}
