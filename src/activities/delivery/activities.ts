/**
 * The delivery activities (docs/semantics.md §12). The workflow calls
 *
 * - `deliverySettings` (a local activity, at run start): what it may know of the configuration;
 * - `deliverEvents` per sink, one call at a time per sink and run, after the events are stored: POSTs
 *   events (afterSeq, uptoSeq] in seq order, each signed (Standard Webhooks). The next event is only
 *   sent once the previous one was accepted, so a failure (thrown, retryable `DeliveryFailed`) keeps
 *   the order, and the retry resumes after the last accepted event (heartbeat details);
 * - `wakeAgent` per wake-up: POSTs the work item to the agent's endpoint. Retries are the workflow's
 *   (`wakeUpRetry`); when they run out the node is blocked with class `dispatch`.
 *
 * A sink that answers 410 Gone is disabled in the store (for every run, until enabled again) and gets
 * nothing more. URLs in messages and logs carry no credentials or query; secrets never appear.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { EventType } from '../../engine';
import type { PlanStore } from '../../store/types';
import { deliverySettingsOf } from './config';
import { EnvelopeBuilder, peopleEndpoints, peopleEnvelope, wakeUpEnvelopeOf } from './envelope';
import { describeUrl, postJson, urlHost } from './http';
import { signatureHeaders } from './signing';
import type {
  AgentEndpoint,
  DeliverEventsInput,
  DeliverEventsResult,
  DeliveryActivities,
  DeliveryConfig,
  SinkConfig,
  WakeAgentInput,
  WakeAgentResult,
} from './types';

export interface DeliveryDependencies {
  store: PlanStore;
  config: DeliveryConfig;
  /** The clock for signatures and store timestamps (tests). */
  now?: () => Date;
}

/** Failure types the delivery activities throw (ApplicationFailure.type). */
export const DeliveryFailureType = {
  /** Retryable: a sink did not accept an event (status, network error or timeout). */
  deliveryFailed: 'DeliveryFailed',
  /** Retryable: fewer events in the store than asked for (the write is not visible yet). */
  eventsNotStored: 'EventsNotStored',
  /** Retryable: the run is not in the store (yet). */
  runNotStored: 'RunNotStored',
  /** Not retryable: the sink id is not configured on this worker. */
  unknownSink: 'UnknownSink',
  /** Not retryable: the agent has no wake-up endpoint on this worker. */
  noAgentEndpoint: 'NoAgentEndpoint',
  /** Not retryable: the agent's endpoint answered 410 Gone. */
  agentGone: 'AgentGone',
  /** Retryable: the agent's endpoint did not accept the wake-up. */
  wakeUpFailed: 'WakeUpFailed',
} as const;

/** How often `deliverEvents` heartbeats while it waits for a sink's answer. */
const HEARTBEAT_WHILE_WAITING_MS = 5000;

/** The heartbeat details of `deliverEvents`: the last seq delivered or filtered out. */
export interface DeliveryProgress {
  deliveredUpTo: number;
}

export function createDeliveryActivities({ store, config, now = () => new Date() }: DeliveryDependencies): DeliveryActivities {
  const sinks = new Map<string, SinkConfig>(config.sinks.map((sink) => [sink.id, sink]));

  async function deliverySettings() {
    return deliverySettingsOf(config);
  }

  async function deliverEvents(input: DeliverEventsInput): Promise<DeliverEventsResult> {
    const { runId, sinkId, afterSeq, uptoSeq } = input;
    const sink = sinks.get(sinkId);
    if (!sink) {
      const known = [...sinks.keys()].map((id) => `"${id}"`).join(', ') || 'none';
      throw ApplicationFailure.nonRetryable(`no webhook sink "${sinkId}" is configured on this worker (configured: ${known})`, DeliveryFailureType.unknownSink);
    }
    if (!Number.isInteger(afterSeq) || !Number.isInteger(uptoSeq) || afterSeq < 0) {
      throw ApplicationFailure.nonRetryable(`bad event range (${afterSeq}, ${uptoSeq}] for run ${runId}`, 'BadEventRange');
    }

    const status = await store.getSinkStatus(sinkId);
    if (status.disabledAt !== undefined) {
      log.info('Sink is disabled: nothing sent', { sinkId, runId, afterSeq, uptoSeq, disabledAt: status.disabledAt });
      return { deliveredUpTo: uptoSeq, disabled: { reason: status.reason ?? `disabled at ${status.disabledAt}` } };
    }

    const context = Context.current();
    const resumedAt = progressOf(context.info.heartbeatDetails);
    let done = Math.max(afterSeq, resumedAt !== undefined && resumedAt <= uptoSeq ? resumedAt : afterSeq);
    if (done >= uptoSeq) return { deliveredUpTo: Math.max(done, uptoSeq) };

    const events = await store.listEvents(runId, { afterSeq: done, uptoSeq });
    const expected = uptoSeq - done;
    const gap = events.findIndex((event, index) => event.seq !== done + 1 + index);
    if (events.length < expected || gap !== -1) {
      const have = gap === -1 ? events.length : gap;
      throw ApplicationFailure.retryable(
        `run ${runId}: only ${have} of events ${done + 1}..${uptoSeq} are in the store (the write may not be visible yet)`,
        DeliveryFailureType.eventsNotStored,
      );
    }

    const builder = new EnvelopeBuilder(store, runId, config.consoleUrl);
    const filter = sink.eventTypes && sink.eventTypes.length > 0 ? new Set<EventType>(sink.eventTypes) : undefined;
    let sent = 0;
    let filtered = 0;
    let recorded = done;
    for (const event of events.slice(0, expected)) {
      if (filter && !filter.has(event.type)) {
        done = event.seq;
        filtered++;
        continue;
      }
      // The people sink sends each event to the people it concerns; others to their one URL.
      const targets = sink.people ? peopleEndpoints(config, event) : [{ url: sink.url, secret: sink.secret }];
      if (targets.length === 0) {
        done = event.seq;
        filtered++;
        continue;
      }
      const body = JSON.stringify(sink.people ? peopleEnvelope(event, config.consoleUrl) : await builder.envelope(event));
      // Keep heartbeating while a slow sink thinks, so a request timeout longer than the workflow's
      // heartbeat timeout does not time the attempt out.
      const progress = done;
      const beating = setInterval(() => context.heartbeat({ deliveredUpTo: progress } satisfies DeliveryProgress), HEARTBEAT_WHILE_WAITING_MS);
      let outcome: Awaited<ReturnType<typeof postJson>> = { kind: 'ok', status: 200 };
      try {
        for (const target of targets) {
          outcome = await postJson(target.url, body, { ...signatureHeaders(target.secret, event.id, body, now()) }, {
            timeoutMs: config.requestTimeoutMs,
            signal: context.cancellationSignal,
          });
          // One person's endpoint that is gone does not stop the others being told (nor the sink).
          if (sink.people && outcome.kind === 'gone') {
            log.warn('A person\'s endpoint answered 410 Gone: not told', { runId, eventId: event.id, url: describeUrl(target.url) });
            outcome = { kind: 'ok', status: 410 };
          }
          if (outcome.kind !== 'ok') break;
        }
      } finally {
        clearInterval(beating);
      }
      if (outcome.kind === 'ok') {
        done = event.seq;
        sent++;
        context.heartbeat({ deliveredUpTo: done } satisfies DeliveryProgress);
        await store.recordDelivery(sinkId, runId, done, now().toISOString());
        recorded = done;
        continue;
      }
      if (outcome.kind === 'gone') {
        const reason = `HTTP 410 Gone from ${urlHost(sink.url)}`;
        await store.disableSink(sinkId, reason, now().toISOString());
        if (done > recorded) await store.recordDelivery(sinkId, runId, done, now().toISOString());
        log.warn('Sink answered 410 Gone: disabled, it gets no more events', { sinkId, runId, url: describeUrl(sink.url), eventId: event.id, deliveredUpTo: done });
        return { deliveredUpTo: done, disabled: { reason } };
      }
      // Keep what this attempt got through (filtered events too), so the retry starts after it.
      context.heartbeat({ deliveredUpTo: done } satisfies DeliveryProgress);
      const message = `sink "${sinkId}": event ${event.id} (${event.type}) not delivered: ${outcome.message}`;
      log.warn('Event delivery failed; Temporal retries it', {
        sinkId,
        runId,
        eventId: event.id,
        attempt: context.info.attempt,
        status: outcome.status,
        error: outcome.message,
        deliveredUpTo: done,
      });
      throw ApplicationFailure.create({ message, type: DeliveryFailureType.deliveryFailed, nonRetryable: false, details: [{ deliveredUpTo: done, status: outcome.status }] });
    }
    if (done > recorded) await store.recordDelivery(sinkId, runId, done, now().toISOString());
    log.info('Events delivered', { sinkId, runId, afterSeq, uptoSeq, resumedAfter: resumedAt, sent, filtered });
    return { deliveredUpTo: done };
  }

  async function wakeAgent(input: WakeAgentInput): Promise<WakeAgentResult> {
    const { agentRef, eventId, eventType, runId } = input;
    const agent: AgentEndpoint | undefined = Object.hasOwn(config.agents, agentRef) ? config.agents[agentRef] : undefined;
    if (!agent) {
      throw ApplicationFailure.nonRetryable(`agent "${agentRef}" has no wake-up endpoint on this worker`, DeliveryFailureType.noAgentEndpoint);
    }
    const context = Context.current();
    const body = JSON.stringify(wakeUpEnvelopeOf(input));
    const where = describeUrl(agent.url);
    const outcome = await postJson(agent.url, body, { ...signatureHeaders(agent.secret, eventId, body, now()) }, {
      timeoutMs: config.requestTimeoutMs,
      signal: context.cancellationSignal,
    });
    const about = { agentRef, runId, nodeId: input.workItem.nodeId, attempt: input.workItem.attempt, eventId, eventType };
    if (outcome.kind === 'ok') {
      log.info('Agent woken', { ...about, status: outcome.status });
      return { status: outcome.status };
    }
    if (outcome.kind === 'gone') {
      log.warn('Agent endpoint answered 410 Gone', { ...about, url: where });
      throw ApplicationFailure.nonRetryable(
        `wake-up of agent "${agentRef}" (run ${runId}, node ${input.workItem.nodeId}): POST ${where} answered HTTP 410 Gone`,
        DeliveryFailureType.agentGone,
      );
    }
    log.warn('Wake-up failed', { ...about, activityAttempt: context.info.attempt, status: outcome.status, error: outcome.message });
    throw ApplicationFailure.retryable(
      `wake-up of agent "${agentRef}" (run ${runId}, node ${input.workItem.nodeId}, event ${eventId} ${eventType}) failed: ${outcome.message}`,
      DeliveryFailureType.wakeUpFailed,
    );
  }

  return { deliverySettings, deliverEvents, wakeAgent };
}

/** The seq a previous attempt got to, from its heartbeat details (`{ deliveredUpTo }` or a bare number). */
function progressOf(details: unknown): number | undefined {
  const value = typeof details === 'object' && details !== null ? (details as Partial<DeliveryProgress>).deliveredUpTo : details;
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}
