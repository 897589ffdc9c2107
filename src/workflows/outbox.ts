/**
 * The run's outbox (workflow code): what happens to a transition after the engine produced it.
 *
 * 1. **Record**: transition records are written to the store by the `recordTransitions` local
 *    activity, in order, batched (what one loop step produced goes in one call), never cancelled:
 *    what the workflow decided is always recorded, before an update's caller gets the answer. A
 *    record the store *rejects* (bad data, a constraint; the activity has already stored the rest of
 *    its batch one by one) cannot be recorded by retrying: the run goes on without it, the problem is
 *    kept for the snapshot (`recording`), and later records are still written.
 * 2. **Deliver**: once recorded, events go to every webhook sink by `deliverEvents`, one call in
 *    flight per sink, each covering the events recorded since the sink's last delivery, so each sink
 *    receives events in seq order, at least once, and a sink that is down delays only itself.
 * 3. **Wake**: wake-ups (docs/semantics.md §12) go to agents with a configured endpoint by `wakeAgent`, after the
 *    event that caused them is recorded; one that fails after its retries is reported back to the
 *    run (`onDispatchFailed`), which blocks the node with class `dispatch`.
 *
 * Recording holds the workflow loop for one short local activity per step (so an update is answered
 * only once its transition is stored); delivery and wake-ups never hold it up. The workflow waits for
 * the outbox to drain before it returns.
 */
import * as wf from '@temporalio/workflow';
import { MAX_LISTED_FAILED_SEQS, compactCheckpoints, expandCheckpoints, seqRanges, type CompactTransitionRecord, type EventType, type Issue, type RecordingProblem, type RunSnapshot, type TransitionRecord, type ValidationRequest, type WakeUp } from '../engine/core';
import type { DeliveryActivities, DeliverySettings } from '../activities/delivery/types';
import type { StoreActivities, StoreWriteRejectedDetails } from '../activities/store';
import type { ValidateAndRecordActivities } from '../activities/validate-and-record';
import type { BeginRunActivities } from '../activities/begin-run';
import { FAILURE_TYPES } from './definitions';

/** Records per store write: keeps one activity payload well under Temporal's payload limits. */
const MAX_RECORDS_PER_WRITE = 50;

/**
 * The store write is a local activity: a short database transaction next to the worker, recorded as
 * one marker event instead of three activity events. It retries without limit (a store outage
 * delays the run's records, it never drops them), except when the store rejected the records
 * themselves: the activity then fails at once with the non-retryable `StoreWriteRejected`.
 */
const { recordTransitions } = wf.proxyLocalActivities<StoreActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  summary: 'record',
});

/**
 * Validation and the store write in one local activity (patch `validate-and-record-in-one-activity`,
 * see `validateAndRecord`): retried like the store write, since it may write.
 */
const { validateAndRecordTransitions } = wf.proxyLocalActivities<ValidateAndRecordActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  summary: 'validate and record',
});

/**
 * A new run's settings, input check and first store write in one local activity (patch
 * `begin-in-one-activity`, see `begin`): retried like the store write, since it may write.
 */
const { beginRun } = wf.proxyLocalActivities<BeginRunActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  summary: 'begin run',
});

/** What `Outbox.begin` found: the input check's issues, the worker's settings, whether it wrote. */
export interface BeginOutcome {
  /** One list per request sent. */
  issues: Issue[][];
  /** Absent only when the store rejected the start's records (the call then returned nothing else). */
  settings?: DeliverySettings;
  /** True when the start's records are written or the store refused them (as `record` counts them). */
  recorded: boolean;
}

/** A transition's record and the wake-ups it causes, as queued until written. */
export interface OutboxEntry {
  record: TransitionRecord;
  wakeUps: WakeUp[];
}

const delivery = wf.proxyActivities<DeliveryActivities>({ startToCloseTimeout: '5 minutes' });

/** Delivery progress carried across continue-as-new (events up to `recordedSeq` are stored). */
export interface OutboxHandOver {
  recordedSeq: number;
  sinks: Array<{ id: string; deliveredSeq: number; disabled: boolean }>;
  /** Wake-ups not yet confirmed: sent again by the next execution (at least once). */
  wakeUps: WakeUp[];
  /** Events the store rejected, so not in it: recorded for `recording`, skipped by deliveries. */
  recording?: RecordingProblem;
  /** Rejected seqs some sink has not passed yet (absent when none). */
  missingSeqs?: number[];
  /**
   * Transitions applied but not yet written to the store, written first by the next execution
   * (checkpoints as differences, see `compactCheckpoints`); absent when none.
   */
  unrecorded?: { records: CompactTransitionRecord[]; wakeUps: WakeUp[][] };
}

export interface OutboxHooks {
  onDispatchFailed(failure: { nodeId: string; attempt: number; message: string }): void;
  onSinkDisabled(sink: { sinkId: string; reason: string }): void;
}

interface SinkProgress {
  id: string;
  eventTypes?: EventType[];
  deliveredSeq: number;
  busy: boolean;
  disabled: boolean;
}

export class Outbox {
  private readonly queue: OutboxEntry[] = [];
  private recordedSeq = 0;
  /** Types of recorded events some sink has not received yet (to skip calls a filter would empty). */
  private readonly pendingTypes = new Map<number, EventType>();
  private sinks: SinkProgress[] = [];
  /** Delivery waits for the worker's settings; recording does not. */
  private settings?: DeliverySettings;
  private readonly heldWakeUps: WakeUp[] = [];
  /** Set once the store rejected a record of this run (see `record`). */
  private recordingProblem?: RecordingProblem;
  /** Seqs the store rejected that some sink has not skipped yet (delivery reads events from the store). */
  private readonly missingSeqs = new Set<number>();
  private paused = false;
  private readonly wakeUpsInFlight = new Set<WakeUp>();
  /** Wake-ups stop when the workflow is cancelled through Temporal: nobody should start on it. */
  private readonly wakeScope = new wf.CancellationScope();

  constructor(
    private readonly runId: string,
    private readonly hooks: OutboxHooks,
  ) {}

  get configured(): boolean {
    return this.settings !== undefined;
  }

  /**
   * Starts delivery with the worker's settings (read once per execution by a local activity). A
   * continued execution passes what the previous one handed over: events up to `recordedSeq` are in
   * the store, sinks resume after their delivered seq, unfinished wake-ups are sent again.
   */
  configure(settings: DeliverySettings, handedOver?: OutboxHandOver): void {
    this.settings = settings;
    this.recordedSeq = handedOver?.recordedSeq ?? this.recordedSeq;
    if (handedOver?.recording) this.recordingProblem = handedOver.recording;
    for (const seq of handedOver?.missingSeqs ?? []) this.missingSeqs.add(seq);
    this.sinks = settings.sinks.map((sink) => {
      const previous = handedOver?.sinks.find((candidate) => candidate.id === sink.id);
      return { id: sink.id, eventTypes: sink.eventTypes, deliveredSeq: previous?.deliveredSeq ?? 0, busy: false, disabled: previous?.disabled ?? false };
    });
    for (const wakeUp of [...(handedOver?.wakeUps ?? []), ...this.heldWakeUps.splice(0)]) this.wake(wakeUp);
    const carried = handedOver?.unrecorded;
    // First in the queue: they come before anything this execution applies.
    if (carried) this.queue.unshift(...expandCheckpoints(carried.records).map((record, i) => ({ record, wakeUps: carried.wakeUps[i] ?? [] })));
    this.deliverAll();
  }

  /**
   * Before a hand-over: start no new delivery or wake-up, so the ones in flight can finish. What is
   * held back is handed over and sent by the next execution.
   */
  pause(): void {
    this.paused = true;
  }

  /**
   * After a hand-over that did not happen (a message came first): deliveries and wake-ups go on, and
   * those held back are sent now. A run left paused would hold them until its next hand-over, and a
   * run that finished while paused would wait for them forever (it closes only once idle).
   */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const wakeUp of this.heldWakeUps.splice(0)) this.wake(wakeUp);
    this.deliverAll();
  }

  /**
   * No delivery or wake-up in flight, whatever waits to be recorded: a good moment to hand over when
   * the next execution records what is left (see `OutboxHandOver.unrecorded`).
   */
  get settled(): boolean {
    return this.wakeUpsInFlight.size === 0 && this.sinks.every((sink) => !sink.busy);
  }

  /** No delivery or wake-up in flight: a good moment to hand over to a new execution. */
  get quiet(): boolean {
    return this.queue.length === 0 && this.wakeUpsInFlight.size === 0 && this.sinks.every((sink) => !sink.busy);
  }

  /** What the next execution needs to carry on delivering without losing anything. */
  handOver(): OutboxHandOver {
    return {
      recordedSeq: this.recordedSeq,
      sinks: this.sinks.map((sink) => ({ id: sink.id, deliveredSeq: sink.deliveredSeq, disabled: sink.disabled })),
      wakeUps: [...this.wakeUpsInFlight, ...this.heldWakeUps],
      // Only when there is something to carry: a run the store never refused hands over what it always did.
      ...(this.recordingProblem ? { recording: this.recordingProblem } : {}),
      ...(this.missingSeqs.size > 0 ? { missingSeqs: [...this.missingSeqs].sort((a, b) => a - b) } : {}),
      ...(this.queue.length > 0
        ? { unrecorded: { records: compactCheckpoints(this.queue.map((entry) => entry.record)), wakeUps: this.queue.map((entry) => entry.wakeUps) } }
        : {}),
    };
  }

  /** What the store refused of this run, if anything (the snapshot's `recording`). */
  get recording(): RecordingProblem | undefined {
    return this.recordingProblem;
  }

  /** `snapshot` plus `recording` when the store refused records of the run. */
  view(snapshot: RunSnapshot): RunSnapshot {
    return this.recordingProblem ? { ...snapshot, recording: { ...this.recordingProblem, failedSeqs: [...this.recordingProblem.failedSeqs] } } : snapshot;
  }

  /** Queues a transition's record and the wake-ups it causes; `record()` writes them. */
  add(record: TransitionRecord, wakeUps: WakeUp[]): void {
    this.queue.push({ record, wakeUps });
  }

  get unrecordedCount(): number {
    return this.queue.length;
  }

  /** True while transitions wait to be written to the store. */
  get hasUnrecorded(): boolean {
    return this.queue.length > 0;
  }

  /** True when everything queued is recorded, delivered to every live sink, and every wake-up settled. */
  get idle(): boolean {
    return (
      this.settings !== undefined &&
      this.heldWakeUps.length === 0 &&
      this.queue.length === 0 &&
      this.wakeUpsInFlight.size === 0 &&
      this.sinks.every((sink) => sink.disabled || (!sink.busy && sink.deliveredSeq >= this.recordedSeq))
    );
  }

  /**
   * Writes every queued record (in batches), then starts the deliveries and wake-ups they allow.
   * Only the workflow's main loop calls this, and it waits for it: local activities must never run
   * concurrently, because replay may deliver their results in a different grouping than the
   * original execution saw, which would reorder the commands that follow them.
   */
  async record(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_RECORDS_PER_WRITE);
      const records = batch.map((entry) => entry.record);
      // A run that never met a rejection takes exactly the path it always took: the same command.
      // Checkpoints after the batch's first go as differences (the input is recorded in history;
      // whole, 50 checkpoints of a 1,000-node run passed 1 MB), and the activity expands them.
      // Replay compares commands, not local activity inputs, so this needed no patch.
      const rejection = await wf.CancellationScope.nonCancellable(() => recordTransitions({ runId: this.runId, records: compactCheckpoints(records) })).then(
        () => undefined,
        (error: unknown) => {
          const details = storeRejection(error, records);
          if (!details) throw error;
          return details;
        },
      );
      this.written(batch, rejection);
    }
  }

  /** Whether `validateAndRecord` can write everything queued and one more record in its one call. */
  get fitsOneWrite(): boolean {
    return this.queue.length < MAX_RECORDS_PER_WRITE;
  }

  /**
   * Validates `requests` and, only when none of them has any issue, writes everything queued and
   * then `ahead` (the record of the transition the workflow makes when validation finds nothing) in
   * the same local activity, then starts the deliveries and wake-ups they allow, as `record` does.
   * Returns the issues when something was found: then nothing was written, and `ahead` is not
   * queued (the workflow drops it and applies the transition the issues make). Returns undefined
   * when everything is recorded (a store rejection counts as recorded, as in `record`).
   *
   * Never cancelled: what it wrote must be what the workflow goes on with. Only the main loop calls
   * it, when `fitsOneWrite`, and it waits for it (local activities never run concurrently).
   */
  async validateAndRecord(requests: ValidationRequest[], ahead: OutboxEntry): Promise<Issue[][] | undefined> {
    const batch = [...this.queue, ahead];
    const records = batch.map((entry) => entry.record);
    const outcome = await wf.CancellationScope.nonCancellable(() =>
      validateAndRecordTransitions({ runId: this.runId, requests, records: compactCheckpoints(records) }),
    ).then(
      (result) => ({ issues: result.recorded ? undefined : result.issues, rejection: undefined }),
      (error: unknown) => {
        // The store is written only after a validation without issues: a rejection says it found none.
        const details = storeRejection(error, records);
        if (!details) throw error;
        return { issues: undefined, rejection: details };
      },
    );
    if (outcome.issues) return outcome.issues;
    this.queue.splice(0, batch.length - 1);
    this.written(batch, outcome.rejection);
    return undefined;
  }

  /**
   * A new run's start (patch `begin-in-one-activity`): one local activity reads the worker's settings,
   * runs `requests` (the run input's check) and, only when no issue is blocking, writes everything
   * queued and then `ahead` (the record of the start, computed before the check: the engine is pure).
   * When something is blocking, nothing was written and `ahead` is not queued: the workflow fails the
   * run. Deliveries and wake-ups of what was written wait for `configure`, which the workflow calls
   * with the settings returned here. Never cancelled, like `validateAndRecord`.
   */
  async begin(requests: ValidationRequest[], ahead: OutboxEntry | undefined): Promise<BeginOutcome> {
    const batch = ahead ? [...this.queue, ahead] : [...this.queue];
    const records = batch.map((entry) => entry.record);
    const outcome = await wf.CancellationScope.nonCancellable(() => beginRun({ runId: this.runId, requests, records: compactCheckpoints(records) })).then(
      (result) => ({ result, rejection: undefined }),
      (error: unknown) => {
        // The store is written only when nothing was blocking: a rejection says so.
        const details = storeRejection(error, records);
        if (!details) throw error;
        return { result: undefined, rejection: details };
      },
    );
    if (outcome.result && !outcome.result.recorded) return { issues: outcome.result.issues, settings: outcome.result.settings, recorded: false };
    this.queue.splice(0, batch.length - (ahead ? 1 : 0));
    this.written(batch, outcome.rejection);
    return { issues: outcome.result?.issues ?? requests.map(() => []), ...(outcome.result ? { settings: outcome.result.settings } : {}), recorded: true };
  }

  /** After a store write of `batch`: what it recorded (or the store refused), then deliveries and wake-ups. */
  private written(batch: OutboxEntry[], rejection: StoreWriteRejectedDetails | undefined): void {
    const records = batch.map((entry) => entry.record);
    const missing = new Set(rejection?.rejected.flatMap((record) => record.seqs) ?? []);
    for (const record of records) {
      for (const event of record.events) {
        if (missing.has(event.seq)) this.missingSeqs.add(event.seq);
        else this.pendingTypes.set(event.seq, event.type);
      }
      // Rejected records count as done: nothing would record them later, and the run must go on.
      this.recordedSeq = Math.max(this.recordedSeq, record.run.lastSeq);
    }
    this.noteRecording(rejection, [...missing]);
    for (const entry of batch) for (const wakeUp of entry.wakeUps) this.wake(wakeUp);
    this.deliverAll();
  }

  /** Keeps what the store refused (or, after a refusal, that it stores again) for `recording`. */
  private noteRecording(rejection: StoreWriteRejectedDetails | undefined, seqs: number[]): void {
    const previous = this.recordingProblem;
    if (!rejection) {
      if (previous?.status === 'failing') this.recordingProblem = { ...previous, status: 'incomplete' };
      return;
    }
    const listed = [...(previous?.failedSeqs ?? []), ...seqs].sort((a, b) => a - b).slice(0, MAX_LISTED_FAILED_SEQS);
    const last = rejection.rejected[rejection.rejected.length - 1];
    this.recordingProblem = {
      status: 'failing',
      since: previous?.since ?? rejection.at,
      lastFailureAt: rejection.at,
      reason: `the plan store (${rejection.store}) rejected ${seqs.length === 1 ? 'event' : 'events'} ${seqRanges(seqs)}: ${last?.reason ?? 'no reason given'}`,
      failedSeqs: listed,
      failedCount: (previous?.failedCount ?? 0) + seqs.length,
    };
    wf.log.warn('the store rejected records of this run; it goes on without them', { seqs, store: rejection.store, reason: last?.reason });
  }

  private deliverAll(): void {
    if (!this.settings) return; // until the sinks are known, keep every recorded event's type
    for (const sink of this.sinks) this.deliver(sink);
    const floor = Math.min(this.recordedSeq, ...this.sinks.filter((sink) => !sink.disabled).map((sink) => sink.deliveredSeq));
    for (const seq of this.pendingTypes.keys()) if (seq <= floor) this.pendingTypes.delete(seq);
    for (const seq of this.missingSeqs) if (seq <= floor) this.missingSeqs.delete(seq);
  }

  private deliver(sink: SinkProgress): void {
    if (this.paused || sink.busy || sink.disabled) return;
    // Events the store rejected cannot be delivered (deliveries read the store): step over them, and
    // end a delivery before the next one, so a sink never waits for an event that will not come.
    while (this.missingSeqs.has(sink.deliveredSeq + 1) && sink.deliveredSeq < this.recordedSeq) sink.deliveredSeq++;
    if (sink.deliveredSeq >= this.recordedSeq) return;
    const afterSeq = sink.deliveredSeq;
    let uptoSeq = this.recordedSeq;
    for (const seq of this.missingSeqs) if (seq > afterSeq && seq <= uptoSeq) uptoSeq = seq - 1;
    if (sink.eventTypes?.length && !this.anyTypeBetween(afterSeq, uptoSeq, sink.eventTypes)) {
      sink.deliveredSeq = uptoSeq; // nothing in the range passes the sink's filter
      return;
    }
    sink.busy = true;
    const { initialIntervalMs, maximumIntervalMs, giveUpAfterMs } = this.settings!.sinkRetry;
    wf.CancellationScope.nonCancellable(() =>
      delivery.deliverEvents.executeWithOptions(
        {
          summary: `deliver events ${afterSeq + 1}–${uptoSeq} to ${sink.id}`,
          startToCloseTimeout: '5 minutes',
          heartbeatTimeout: '30 seconds',
          scheduleToCloseTimeout: giveUpAfterMs,
          retry: { initialInterval: initialIntervalMs, maximumInterval: maximumIntervalMs, backoffCoefficient: 2 },
        },
        [{ runId: this.runId, sinkId: sink.id, afterSeq, uptoSeq }],
      ),
    )
      .then(
        (result) => {
          sink.deliveredSeq = Math.max(sink.deliveredSeq, result.deliveredUpTo);
          if (result.disabled) this.disable(sink, result.disabled.reason);
        },
        (error) => this.disable(sink, `deliveries stopped: ${failureMessage(error)} (retried for up to ${giveUpAfterMs} ms)`),
      )
      .finally(() => {
        sink.busy = false;
        this.deliverAll();
      });
  }

  private disable(sink: SinkProgress, reason: string): void {
    if (sink.disabled) return;
    sink.disabled = true;
    this.hooks.onSinkDisabled({ sinkId: sink.id, reason });
  }

  private anyTypeBetween(afterSeq: number, uptoSeq: number, types: EventType[]): boolean {
    for (let seq = afterSeq + 1; seq <= uptoSeq; seq++) {
      const type = this.pendingTypes.get(seq);
      if (type === undefined || types.includes(type)) return true; // unknown: let the activity decide
    }
    return false;
  }

  private wake(wakeUp: WakeUp): void {
    if (!this.settings || this.paused) return void this.heldWakeUps.push(wakeUp);
    if (!this.settings.agents.includes(wakeUp.agentRef)) return; // no endpoint: the agent polls
    this.wakeUpsInFlight.add(wakeUp);
    const { initialIntervalMs, maximumIntervalMs, maximumAttempts } = this.settings.wakeUpRetry;
    this.wakeScope
      .run(() =>
        delivery.wakeAgent.executeWithOptions(
          {
            summary: `wake agent:${wakeUp.agentRef} for ${wakeUp.nodeId} attempt ${wakeUp.attempt} (${wakeUp.eventType})`,
            startToCloseTimeout: '1 minute',
            retry: { initialInterval: initialIntervalMs, maximumInterval: maximumIntervalMs, backoffCoefficient: 2, maximumAttempts },
          },
          [{ runId: this.runId, agentRef: wakeUp.agentRef, eventId: wakeUp.eventId, eventType: wakeUp.eventType, workItem: wakeUp.workItem }],
        ),
      )
      .then(
        () => undefined,
        (error) => {
          if (wf.isCancellation(error)) return;
          this.hooks.onDispatchFailed({ nodeId: wakeUp.nodeId, attempt: wakeUp.attempt, message: failureMessage(error) });
        },
      )
      .finally(() => {
        this.wakeUpsInFlight.delete(wakeUp);
      });
  }
}

/** The details of a `StoreWriteRejected` failure of `recordTransitions`, or undefined for any other error. */
function storeRejection(error: unknown, records: TransitionRecord[]): StoreWriteRejectedDetails | undefined {
  // Usually an ActivityFailure whose cause is the activity's ApplicationFailure; look down the chain.
  let cause: unknown = error;
  while (cause instanceof Error && !(cause instanceof wf.ApplicationFailure)) cause = cause.cause;
  if (!(cause instanceof wf.ApplicationFailure) || cause.type !== FAILURE_TYPES.storeWriteRejected) return undefined;
  const details = cause.details?.[0] as Partial<StoreWriteRejectedDetails> | undefined;
  return {
    store: details?.store ?? 'the plan store',
    at: details?.at ?? new Date().toISOString(),
    // Without details (another activity version), assume the worst: nothing of the batch was stored.
    rejected: Array.isArray(details?.rejected)
      ? details.rejected
      : records.map((record) => ({ seqs: record.events.map((event) => event.seq), reason: cause.message })),
  };
}

/** The innermost cause's message: an ActivityFailure wraps the ApplicationFailure the activity threw. */
function failureMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && 'cause' in current && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
