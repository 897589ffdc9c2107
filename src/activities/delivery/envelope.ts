/**
 * The body POSTed to a webhook sink for one event (docs/semantics.md §12): the event, the run it belongs to (the
 * run row without its input) and, when the event names a node, that node's spec and its node-run row.
 *
 * `run` and `node.run` are read from the store when the event is delivered, so they may be newer than
 * the event (a `node-running` delivered late can show the node `completed`): what happened is in
 * `event` (`fromStatus`, `toStatus`, `detail`), the rest is context.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { RunEvent, PlanNode } from '../../engine';
import type { PlanStore, RunSummary, StoredNodeRun, StoredRun } from '../../store/types';
import type { AgentEndpoint, DeliveryConfig, WakeAgentInput, WakeUpEnvelope, WebhookEnvelope } from './types';

/** The run row without its input (which can be large and is not the sink's business). */
export function runSummaryOf(run: StoredRun): RunSummary {
  const { input: _input, ...summary } = run;
  return summary;
}

/**
 * Builds envelopes for one run, reading the run row once and each node's rows once, so a batch of
 * events costs a few queries, not several per event.
 */
export class EnvelopeBuilder {
  private run?: Promise<RunSummary>;
  private readonly nodes = new Map<string, Promise<{ spec: PlanNode; run?: StoredNodeRun } | undefined>>();

  constructor(
    private readonly store: PlanStore,
    private readonly runId: string,
    /** The console's public URL: `approval-requested` envelopes then link to the approval's page. */
    private readonly consoleUrl?: string,
  ) {}

  async envelope(event: RunEvent): Promise<WebhookEnvelope> {
    if (event.runId !== this.runId) throw new Error(`event ${event.id} belongs to run ${event.runId}, not ${this.runId}`);
    const run = await (this.run ??= this.loadRun());
    const node = event.nodeId === undefined ? undefined : await this.node(event.nodeId);
    const url = this.consoleUrl !== undefined && event.type === 'approval-requested' ? approvalUrl(this.consoleUrl, event) : undefined;
    return { type: event.type, event, run, ...(node ? { node } : {}), ...(url ? { approvalUrl: url } : {}) };
  }

  private async loadRun(): Promise<RunSummary> {
    const run = await this.store.getRun(this.runId);
    if (!run) {
      // The workflow records a run before it delivers its events: the write is not visible yet.
      this.run = undefined;
      throw ApplicationFailure.retryable(`run ${this.runId} is not in the store (yet)`, 'RunNotStored');
    }
    return runSummaryOf(run);
  }

  private node(nodeId: string): Promise<{ spec: PlanNode; run?: StoredNodeRun } | undefined> {
    let found = this.nodes.get(nodeId);
    if (!found) {
      found = (async () => {
        const [spec, run] = await Promise.all([this.store.getPlanNode(this.runId, nodeId), this.store.getNodeRun(this.runId, nodeId)]);
        // A node a replan removed has no spec any more: the event alone describes it.
        if (!spec) return undefined;
        return { spec, ...(run ? { run } : {}) };
      })();
      this.nodes.set(nodeId, found);
    }
    return found;
  }
}

/** The envelope for one event (a builder of one). */
export function buildWebhookEnvelope(store: PlanStore, event: RunEvent): Promise<WebhookEnvelope> {
  return new EnvelopeBuilder(store, event.runId).envelope(event);
}

/** The body POSTed to an agent's endpoint to wake it: the causing event and the work item. */
export function wakeUpEnvelopeOf(input: WakeAgentInput): WakeUpEnvelope {
  return { type: 'wake-up', eventId: input.eventId, eventType: input.eventType, workItem: input.workItem };
}

/** The console page of the approval an `approval-requested` event opened. */
export function approvalUrl(consoleUrl: string, event: RunEvent): string | undefined {
  if (event.approvalId === undefined) return undefined;
  return `${consoleUrl}/approvals/${encodeURIComponent(event.runId)}/${encodeURIComponent(event.approvalId)}`;
}

/**
 * The endpoints of the people an approval event concerns: its human owner and its approvers, each
 * once (several names may share one chat channel's URL, which is then told once).
 */
export function peopleEndpoints(config: Pick<DeliveryConfig, 'people'>, event: RunEvent): AgentEndpoint[] {
  const people = config.people ?? {};
  const detail = (event.detail ?? {}) as { owner?: { kind?: string; ref?: string }; approvers?: unknown };
  const names = new Set<string>();
  if (detail.owner?.kind === 'human' && typeof detail.owner.ref === 'string') names.add(detail.owner.ref);
  if (Array.isArray(detail.approvers)) for (const name of detail.approvers) if (typeof name === 'string') names.add(name);
  const byUrl = new Map<string, AgentEndpoint>();
  for (const name of names) if (Object.hasOwn(people, name) && !byUrl.has(people[name].url)) byUrl.set(people[name].url, people[name]);
  return [...byUrl.values()];
}

/**
 * What a person's endpoint receives: a `text` line that chat incoming webhooks (Slack, Mattermost,
 * Google Chat) show as is, and the approval's fields for anything that reads JSON.
 */
export function peopleEnvelope(event: RunEvent, consoleUrl?: string) {
  const detail = (event.detail ?? {}) as { owner?: unknown; approvers?: unknown; brief?: { label?: string; objective?: string } };
  const url = consoleUrl !== undefined ? approvalUrl(consoleUrl, event) : undefined;
  const what = detail.brief?.objective ?? detail.brief?.label ?? `node ${event.nodeId}`;
  return {
    type: 'approval-requested' as const,
    text: `Approval needed in run ${event.runId}: ${what}${url ? ` — ${url}` : ` (plan-runner approvals --run ${event.runId})`}`,
    approval: {
      runId: event.runId,
      planId: event.planId,
      approvalId: event.approvalId,
      nodeId: event.nodeId,
      owner: detail.owner,
      approvers: detail.approvers,
      ...(url ? { url } : {}),
    },
    event,
  };
}
