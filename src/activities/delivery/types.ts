/**
 * The delivery contract between the workflow and the delivery activities.
 *
 * The worker's delivery configuration (sink URLs, agent endpoints, secrets) never enters workflow
 * history: the workflow learns only `DeliverySettings` (ids, filters, retry timing) from the
 * `deliverySettings` local activity, and activities look secrets up by id.
 */
import type { EventType, RunEvent, WorkItem } from '../../engine';
import type { RunSummary, StoredNodeRun } from '../../store/types';
import type { PlanNode } from '../../engine';
import type { PayloadLimits } from '../../engine/limits';

/** One webhook sink as the worker configures it (PLAN_DELIVERY_CONFIG or PLAN_WEBHOOK_URL/SECRET). */
export interface SinkConfig {
  id: string;
  url: string;
  /** A Standard Webhooks secret: `whsec_` + base64. */
  secret: string;
  /** Only these event types are sent (absent or empty: all). */
  eventTypes?: EventType[];
  /**
   * The people sink (`people` in the delivery file): each event goes to the endpoints of the people
   * it concerns (an approval's human owner and approvers), not to `url` (empty for it).
   */
  people?: true;
}

/** An agent's wake-up endpoint, by owner ref (the agent registry). */
export interface AgentEndpoint {
  url: string;
  secret: string;
}

export interface RetryTiming {
  initialIntervalMs: number;
  maximumIntervalMs: number;
}

export interface DeliveryConfig {
  sinks: SinkConfig[];
  /** owner ref → endpoint. */
  agents: Record<string, AgentEndpoint>;
  /** Sink deliveries retry with this backoff until `giveUpAfterMs` (default 3 days). */
  sinkRetry: RetryTiming & { giveUpAfterMs: number };
  /** Wake-ups retry this many times in all before the node is blocked with class `dispatch`. */
  wakeUpRetry: RetryTiming & { maximumAttempts: number };
  /** One HTTP request's timeout. */
  requestTimeoutMs: number;
  /** human owner ref or approver name → the endpoint that tells them an approval waits (a chat incoming webhook). */
  people?: Record<string, AgentEndpoint>;
  /** The console's public URL: approval events then carry a link to the approval's page. */
  consoleUrl?: string;
}

/** What the workflow learns of the configuration: no URLs, no secrets. */
export interface DeliverySettings {
  sinks: Array<{ id: string; eventTypes?: EventType[] }>;
  /** Owner refs that have a wake-up endpoint; other agents poll (`workItem` query, `plan-runner inbox`). */
  agents: string[];
  sinkRetry: RetryTiming & { giveUpAfterMs: number };
  wakeUpRetry: RetryTiming & { maximumAttempts: number };
  /**
   * The worker's payload limits. Not delivery, but read at the same moment (see `createActivities`);
   * absent in histories recorded before the limits existed, where the defaults apply.
   */
  limits?: Partial<PayloadLimits>;
  /** Every run of this worker takes results only with their work-item token (set only when true). */
  requireWorkItemTokens?: true;
}

export interface DeliverEventsInput {
  runId: string;
  sinkId: string;
  /** Deliver events with seq > afterSeq … */
  afterSeq: number;
  /** … up to and including uptoSeq, in seq order. */
  uptoSeq: number;
}

export interface DeliverEventsResult {
  /** Every event up to here was delivered (or filtered out). */
  deliveredUpTo: number;
  /** Set when the sink answered 410 Gone (or is disabled in the store): deliver nothing more to it. */
  disabled?: { reason: string };
}

export interface WakeAgentInput {
  runId: string;
  agentRef: string;
  eventId: string;
  eventType: EventType;
  workItem: WorkItem;
}

export interface WakeAgentResult {
  status: number;
}

/** The body POSTed to a webhook sink for one event. */
export interface WebhookEnvelope {
  type: EventType;
  event: RunEvent;
  run: RunSummary;
  /** Present when the event names a node. */
  node?: { spec: PlanNode; run?: StoredNodeRun };
  /** On `approval-requested`, when the worker knows the console's URL: the approval's page. */
  approvalUrl?: string;
}

/** The body POSTed to an agent's endpoint to wake it. */
export interface WakeUpEnvelope {
  type: 'wake-up';
  eventId: string;
  eventType: EventType;
  workItem: WorkItem;
}

/** The activities the workflow calls for delivery (see `createDeliveryActivities`). */
export interface DeliveryActivities {
  deliverySettings(): Promise<DeliverySettings>;
  deliverEvents(input: DeliverEventsInput): Promise<DeliverEventsResult>;
  wakeAgent(input: WakeAgentInput): Promise<WakeAgentResult>;
}
