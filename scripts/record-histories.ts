/**
 * Records the Temporal event histories of representative plan runs into `test/histories/`, where the
 * replay test (`test/unit/replay.test.ts`) replays every one of them against the current workflow
 * code with `Worker.runReplayHistories`. A change to `src/workflows/` that would break runs already
 * in flight (a non-deterministic change) then fails the unit tests instead of failing live runs.
 *
 *   npm run record:histories                         build, then record every scenario
 *   node dist/scripts/record-histories.js            record every scenario (needs a build)
 *   node dist/scripts/record-histories.js --only linear-mapped-inputs --only delayed-timer
 *   node dist/scripts/record-histories.js --list     list the scenarios
 *
 * It connects to Temporal at TEMPORAL_ADDRESS (default 127.0.0.1:7233; `./temporal-dev.sh server`
 * starts one; TLS, API keys and temporal.toml profiles as in docs/operations.md#temporal-clusters) and runs in-process workers on private task queues, with the store from PLAN_STORE_URL
 * (default: the SQLite file .data/plan-runner.db): one with delivery without sinks or agent endpoints
 * (agents poll), and for the scenarios that ask for it one whose webhook sink and agent endpoints are
 * served by a local HTTP receiver. It drives each scenario through `PlanRunnerClient` to the end of
 * its run, fetches the closed workflow's history, checks that it replays against the worker's own
 * bundle, and writes it as `test/histories/<scenario>.json` in proto-JSON, the form
 * `temporal workflow show --output json` produces (see test/replay/history-json.ts for why the SDK's
 * own `historyToJSON` is not used). A history downloaded that way can be committed as is.
 *
 * Add a scenario: append an entry to SCENARIOS below (a unique kebab-case name, how the workflow
 * closes, and `run`, which drives one run with `ctx.runId`), record it with `--only <name>`, and
 * commit the new JSON file. The replay test fails while a scenario has no history.
 *
 * A committed history stands for the workflow code that produced it. Re-recording replaces that
 * baseline with the current code's. Once a version of the workflow is released, keep its histories
 * (e.g. `git mv test/histories/*.json test/histories/<version>/`; the replay test reads subfolders
 * too) for as long as runs started on it may still be open, and record the new version's next to them.
 * A patched change that makes one scenario's run end differently keeps that scenario's history the
 * same way: mark the scenario `frozen` (it is not recorded again) and add one next to it that records
 * the new behaviour (as `cancel-update` and `cancel-update-canceled`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { DeliveryConfig } from '../src/activities/delivery/types';
import { explainConnectFailure, resolveConnectionSettings } from '../src/client/connection';
import { PlanRunnerClient } from '../src/client/plan-runner-client';
import type { PlanSpec } from '../src/engine/spec';
import type { RunEvent, RunSnapshot } from '../src/engine/types';
import { openStore } from '../src/store';
import { createPlanWorker } from '../src/worker';
import { builtBundleOrBundleNow } from '../src/worker/workflow-bundle';
import {
  PlanIdKey,
  PlanRunStatusKey,
  PlanWaitingOnKey,
  WORKFLOW_TYPE,
  cancelSignal,
  humanResponseSignal,
  nodeResultSignal,
  raiseBudgetSignal,
  replanSignal,
  retryNodeSignal,
  type PlanRunInput,
} from '../src/workflows/definitions';
import { historyFromJSON, historyToJSON, type History } from '../test/replay/history-json';
import { installStoreRejections } from '../test/integration/store-rejections';
import { driveOneActivityChain } from '../test/support/one-activity-chain';

const DEFAULT_ADDRESS = '127.0.0.1:7233';

/** The repository root: the nearest directory above this file (src or dist) with a package.json. */
export function repoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** Where the committed histories live. */
export const HISTORIES_DIR = path.join(repoRoot(), 'test', 'histories');

// ------------------------------------------------------------------------------------------------
// Scenarios

export interface ScenarioContext {
  client: PlanRunnerClient;
  /** The run id (= workflow id) the scenario must use. */
  runId: string;
  /** The task queue of the scenario's worker (for starts through the raw Temporal client). */
  taskQueue: string;
  /** Poll the live run until `test` holds on its snapshot. */
  until(test: (snapshot: RunSnapshot) => boolean, what: string): Promise<RunSnapshot>;
  /** Poll the store until the run has recorded events `test` accepts. */
  untilEvents(test: (events: RunEvent[]) => boolean, what: string): Promise<RunEvent[]>;
  /** The local webhook receiver (only for scenarios with `delivery: 'webhooks'`). */
  webhooks?: WebhookReceiver;
}

/**
 * Delivery of the worker that runs a scenario: `none` (the default: no sinks, no agent endpoints,
 * agents poll) or `webhooks` (one webhook sink and wake-up endpoints for the agents in
 * WEBHOOK_AGENTS, all served by a local receiver), so the outbox's activities are in the history.
 */
export type ScenarioDelivery = 'none' | 'webhooks';

export interface Scenario {
  /** File name (without .json) under test/histories/. */
  name: string;
  description: string;
  /**
   * How the workflow (its last run, when it continued as new) closes: `completed` (returns its
   * snapshot), `cancelled` (closes as Canceled: the `cancel` message or Temporal's own
   * cancellation) or `failed` (a run refused at its start). A run that continued as new is recorded as `<name>.run-1.json`,
   * `<name>.run-2.json`, … (every run of the chain, oldest first).
   */
  closes: 'completed' | 'cancelled' | 'failed';
  /** Default `none`. */
  delivery?: ScenarioDelivery;
  /**
   * Set for a scenario whose committed history stands for older workflow code that the current code
   * no longer produces (it now closes the run otherwise, behind a `patched()` id): why. Its history
   * stays and must keep replaying, but it is not recorded again (`--only` refuses it, a full
   * recording skips it); a scenario next to it records what the current code does.
   */
  frozen?: string;
  /**
   * Child runs of plan nodes (docs/semantics.md, "Sub-plans") to record too, by the suffix of their
   * run id after `ctx.runId` (`.vet`, `.vet.2`): written as `<name>.child-1.json`, `<name>.child-2.json`, …
   * in this order, once they closed.
   */
  children?: string[];
  /** Drives one run, started with `ctx.runId`, to the end of its workflow. */
  run(ctx: ScenarioContext): Promise<void>;
}

/** Terse spec builder: an agent owner for tasks, `human:reviewers` for human nodes. */
function plan(id: string, nodes: Array<Partial<PlanSpec['nodes'][number]> & { id: string }>, edges: PlanSpec['edges'] = [], extra: Partial<PlanSpec> = {}): PlanSpec {
  return {
    id,
    title: `History scenario ${id}`,
    nodes: nodes.map((node) => {
      const type = node.type ?? 'task';
      const owner =
        type === 'task' ? { kind: 'agent' as const, ref: node.id } : type === 'switch' || type === 'join' || type === 'plan' ? undefined : { kind: 'human' as const, ref: 'reviewers' };
      return { type, ...(owner ? { owner } : {}), ...node } as PlanSpec['nodes'][number];
    }),
    edges,
    ...extra,
  };
}

const notesSchemas = {
  Notes: { type: 'object', required: ['summary'], properties: { summary: { type: 'string', minLength: 5 } } },
};

/**
 * Starts a run through the raw Temporal client, as `PlanRunnerClient.start` does but with workflow
 * options (`PlanRunInput.options`), which the client does not expose.
 */
async function startWithOptions({ client, runId, taskQueue }: ScenarioContext, spec: PlanSpec, options: PlanRunInput['options'], input?: unknown): Promise<void> {
  const args: PlanRunInput = { spec, input, options };
  await client.client.workflow.start(WORKFLOW_TYPE, {
    args: [args],
    workflowId: runId,
    taskQueue,
    typedSearchAttributes: [
      { key: PlanIdKey, value: spec.id },
      { key: PlanRunStatusKey, value: 'running' },
      { key: PlanWaitingOnKey, value: [] },
    ],
  });
}

/** The Temporal run id of the execution the workflow id currently points at. */
async function currentExecution(client: PlanRunnerClient, runId: string): Promise<string> {
  return (await client.client.workflow.getHandle(runId).describe()).runId;
}

/** Waits until the workflow id points at a running execution other than `previous` (it continued as new). */
async function untilContinued(client: PlanRunnerClient, runId: string, previous: string, what: string): Promise<string> {
  return poll(async () => {
    const described = await client.client.workflow.getHandle(runId).describe();
    return described.runId !== previous && described.status.name === 'RUNNING' ? described.runId : undefined;
  }, what);
}

const nodeStatus = (snapshot: RunSnapshot, nodeId: string) => snapshot.nodes.find((node) => node.id === nodeId)?.status;
const pendingApprovals = (snapshot: RunSnapshot) => snapshot.approvals.filter((approval) => approval.status === 'pending').length;

/** Approve / reject routing, shared by two scenarios. */
const approvalPlan = plan(
  'approval',
  [{ id: 'approve', type: 'human-approval', approvers: ['alice', 'bob'] }, { id: 'publish' }, { id: 'archive' }],
  [
    { from: 'approve', to: 'publish', when: 'output.approved == true' },
    { from: 'approve', to: 'archive', when: 'output.approved == false' },
  ],
);

/** Why the histories of runs cancelled by a `cancel` message before patch `close-cancelled-run-as-canceled` are frozen. */
const BEFORE_CLOSE_AS_CANCELED =
  'recorded before patch close-cancelled-run-as-canceled, when a run ended by the cancel message closed as Completed; the current code closes it as Canceled (see the <name>-canceled scenario)';

/** The default failure action aborts: the run fails and stays open; a cancel signal ends it. */
async function failureAbortCancel({ client, runId, untilEvents }: ScenarioContext): Promise<void> {
  const spec = plan('abort', [{ id: 'write', outputSchema: 'Notes' }, { id: 'after' }], [{ from: 'write', to: 'after' }], { schemas: notesSchemas });
  await client.start(spec, { runId });
  await client.submitResult(runId, { nodeId: 'write', structuredOutput: {} });
  await untilEvents((events) => events.some((event) => event.type === 'run-status-changed' && event.toStatus === 'failed'), 'run failed');
  await client.client.workflow.getHandle(runId).signal(cancelSignal, { by: 'operator', reason: 'gave up' });
}

/** The cancelRun update while a task runs, an approval waits and a node waits on a one-hour timer. */
async function cancelUpdate({ client, runId, until }: ScenarioContext): Promise<void> {
  const spec = plan('cancel', [{ id: 'work' }, { id: 'ask', type: 'human-input' }, { id: 'later', delayAfterPredecessorMs: 60 * 60_000 }], [], { maxConcurrency: 3 });
  await client.start(spec, { runId });
  await until((snapshot) => pendingApprovals(snapshot) === 1 && nodeStatus(snapshot, 'later') === 'scheduled', 'approval requested and timer started');
  await client.cancel(runId, { by: 'operator', reason: 'no longer needed' });
}

/** continueAsNewAfterMessages 3: eight submissions over three executions (two scenarios record it). */
async function continueAsNewScenario(ctx: ScenarioContext): Promise<void> {
    const { client, runId, until, untilEvents } = ctx;
    const spec = plan(
      'continue-as-new',
      [{ id: 'work', retry: { maxAttempts: 5 } }, { id: 'review', type: 'human-approval' }, { id: 'publish' }],
      [
        { from: 'work', to: 'review', map: { text: 'output.text' } },
        { from: 'review', to: 'publish', when: 'output.approved == true' },
      ],
    );
    await startWithOptions(ctx, spec, { continueAsNewAfterMessages: 3 });
    const attemptOf = (snapshot: RunSnapshot) => snapshot.nodes[0].currentAttempt;
    // Execution 1: three failed attempts (update, signal, update); then it continues as new.
    const first = await currentExecution(client, runId);
    await client.submitResult(runId, { nodeId: 'work', attempt: 1, submissionId: 'sub-1', failure: { message: 'try again' } });
    await client.signalResult(runId, { nodeId: 'work', attempt: 2, submissionId: 'sub-2', failure: { message: 'once more' } });
    await until((snapshot) => attemptOf(snapshot) === 3, 'attempt 3 of work');
    await client.submitResult(runId, { nodeId: 'work', attempt: 3, failure: { message: 'and again' } });
    const second = await untilContinued(client, runId, first, 'the second execution');
    // Execution 2: a repeated update (a duplicate: nothing changes), the result by signal and a
    // repeated signal (recorded as result-rejected); then it continues as new.
    const duplicate = await client.submitResult(runId, { nodeId: 'work', attempt: 1, submissionId: 'sub-1', failure: { message: 'try again' } });
    if (!duplicate.duplicate) throw new Error(`continue-as-new: the repeated sub-1 was not a duplicate: ${JSON.stringify(duplicate)}`);
    await client.signalResult(runId, { nodeId: 'work', attempt: 4, submissionId: 'sub-5', structuredOutput: { text: 'works' } });
    await until((snapshot) => pendingApprovals(snapshot) === 1, 'review requested');
    await client.signalResult(runId, { nodeId: 'work', attempt: 4, submissionId: 'sub-5', structuredOutput: { text: 'works' } });
    await untilEvents((events) => events.some((event) => event.type === 'result-rejected'), 'the repeated signal rejected');
    await untilContinued(client, runId, second, 'the third execution');
    // Execution 3: the approval and the last result; the run completes.
    await client.respond(runId, { nodeId: 'review', respondedBy: 'gina', submissionId: 'resp-1', response: { approved: true } });
    await client.submitResult(runId, { nodeId: 'publish', submissionId: 'sub-8', structuredOutput: {} });
  }

export const SCENARIOS: Scenario[] = [
  {
    name: 'linear-mapped-inputs',
    description: 'three tasks in a chain with mapped inputs and a run input; results by update',
    closes: 'completed',
    async run({ client, runId }) {
      const spec = plan(
        'linear',
        [{ id: 'research' }, { id: 'draft' }, { id: 'publish' }],
        [
          { from: 'research', to: 'draft', map: { 'brief.notes': 'output.summary', topic: 'input.topic' } },
          { from: 'draft', to: 'publish', map: { url: 'output.url', 'meta.topic': 'input.topic' } },
        ],
      );
      await client.start(spec, { runId, input: { topic: 'durable agents' } });
      await client.submitResult(runId, { nodeId: 'research', structuredOutput: { summary: 'notes' } });
      await client.submitResult(runId, { nodeId: 'draft', structuredOutput: { url: 'https://example.test/post' } });
      await client.submitResult(runId, { nodeId: 'publish', structuredOutput: { done: true } });
    },
  },
  {
    name: 'switch-join-skip',
    description: 'a switch takes one branch, the other branch is skipped (and its follower), the join completes',
    closes: 'completed',
    async run({ client, runId }) {
      const spec = plan(
        'switch-join',
        [{ id: 'classify' }, { id: 'route', type: 'switch' }, { id: 'short-path' }, { id: 'long-path' }, { id: 'long-followup' }, { id: 'merge', type: 'join' }, { id: 'finish' }],
        [
          { from: 'classify', to: 'route', map: { size: 'output.size' } },
          { from: 'route', to: 'short-path', when: "output.size == 'short'", map: { size: 'input.size' } },
          { from: 'route', to: 'long-path', when: "output.size == 'long'" },
          { from: 'long-path', to: 'long-followup' },
          { from: 'short-path', to: 'merge', map: { text: 'output.text' } },
          { from: 'long-followup', to: 'merge', map: { text: 'output.text' } },
          { from: 'merge', to: 'finish', map: { text: 'output.text' } },
        ],
      );
      await client.start(spec, { runId });
      await client.submitResult(runId, { nodeId: 'classify', structuredOutput: { size: 'short' } });
      await client.submitResult(runId, { nodeId: 'short-path', structuredOutput: { text: 'brief' } });
      await client.submitResult(runId, { nodeId: 'finish', structuredOutput: {} });
    },
  },
  {
    name: 'approval-approved',
    description: 'a human approval approved by a named approver routes to publish; archive is skipped',
    closes: 'completed',
    async run({ client, runId }) {
      await client.start(approvalPlan, { runId });
      await client.respond(runId, { nodeId: 'approve', respondedBy: 'alice', response: { approved: true, comments: 'ship it' } });
      await client.submitResult(runId, { nodeId: 'publish', structuredOutput: { url: 'https://example.test/p' } });
    },
  },
  {
    name: 'approval-rejected',
    description: 'a human approval rejected (by approval id) routes to archive; publish is skipped',
    closes: 'completed',
    async run({ client, runId }) {
      await client.start(approvalPlan, { runId });
      await client.respond(runId, { approvalId: 'approve#1', respondedBy: 'bob', response: { approved: false, requiredEdits: ['tone'], comments: 'off-topic' } });
      await client.submitResult(runId, { nodeId: 'archive', structuredOutput: {} });
    },
  },
  {
    name: 'quorum-approval',
    description:
      'quorum approvals: 2 of 4 approved by the second vote (a repeat vote by signal is refused as already-voted), then a veto holder rejects a second approval at once',
    closes: 'completed',
    async run({ client, runId, until, untilEvents }) {
      const spec = plan(
        'quorum',
        [
          { id: 'sign-off', type: 'human-approval', owner: { kind: 'human', ref: 'board' }, approvers: ['alice', 'bob', 'carol', 'dave'], quorum: { required: 2, veto: ['carol'] } },
          { id: 'publish' },
          { id: 'legal', type: 'human-approval', approvers: ['erin', 'frank', 'gina'], quorum: { required: 2, veto: ['gina'] } },
          { id: 'ship' },
          { id: 'archive' },
        ],
        [
          { from: 'sign-off', to: 'publish', when: 'output.approved == true' },
          { from: 'publish', to: 'legal' },
          { from: 'legal', to: 'ship', when: 'output.approved == true' },
          { from: 'legal', to: 'archive', when: 'output.approved == false' },
        ],
      );
      const handle = client.client.workflow.getHandle(runId);
      await client.start(spec, { runId });
      await client.respond(runId, { nodeId: 'sign-off', respondedBy: 'alice', response: { approved: true, comments: 'fine by me' } });
      await handle.signal(humanResponseSignal, { nodeId: 'sign-off', respondedBy: 'alice', response: { approved: false } });
      await untilEvents((events) => events.some((event) => event.type === 'result-rejected'), 'the repeat vote refused');
      await handle.signal(humanResponseSignal, { nodeId: 'sign-off', respondedBy: 'bob', response: { approved: true } });
      await until((snapshot) => snapshot.nodes.find((node) => node.id === 'publish')?.status === 'running', 'publish running');
      await client.submitResult(runId, { nodeId: 'publish', structuredOutput: { url: 'https://example.test/q' } });
      await client.respond(runId, { nodeId: 'legal', respondedBy: 'erin', response: { approved: true } });
      await client.respond(runId, { nodeId: 'legal', respondedBy: 'gina', response: { approved: false, requiredEdits: ['cite the licence'] } });
      await client.submitResult(runId, { nodeId: 'archive', structuredOutput: {} });
    },
  },
  {
    name: 'subplans',
    description:
      'sub-plans: a plan node starts a child run; the child fails, the parent retries it as a new child (.2) and cancels the failed one; the second child is approved and its outputs mapped onward',
    closes: 'completed',
    children: ['.vet', '.vet.2'],
    async run({ client, runId, until }) {
      const vet = plan(
        'vet-vendor',
        [{ id: 'check', owner: { kind: 'agent', ref: 'checker' } }, { id: 'approve', type: 'human-approval', owner: { kind: 'human', ref: 'legal' } }],
        [{ from: 'check', to: 'approve', map: { findings: 'output.findings' } }],
      );
      const spec = plan(
        'onboard',
        [{ id: 'intake' }, { id: 'vet', type: 'plan', plan: 'vet-vendor', retry: { maxAttempts: 2, retryOn: ['subplan'] } }, { id: 'sign' }],
        [
          { from: 'intake', to: 'vet', map: { vendor: 'output.vendor' } },
          { from: 'vet', to: 'sign', map: { approved: 'output.nodes.approve.approved' } },
        ],
        { plans: { 'vet-vendor': vet } },
      );
      const childRunning = (id: string) =>
        poll(async () => ((await client.snapshot(id)).nodes[0]?.status === 'running' ? true : undefined), `child run ${id} running`);
      await client.start(spec, { runId });
      await client.submitResult(runId, { nodeId: 'intake', structuredOutput: { vendor: 'acme' } });
      await childRunning(`${runId}.vet`);
      await client.submitResult(`${runId}.vet`, { nodeId: 'check', failure: { class: 'agent-error', message: 'registry unreachable' } });
      await until((snapshot) => snapshot.nodes.find((node) => node.id === 'vet')?.childRunId === `${runId}.vet.2`, 'the second child run');
      await childRunning(`${runId}.vet.2`);
      await client.submitResult(`${runId}.vet.2`, { nodeId: 'check', structuredOutput: { findings: ['ok'] } });
      await client.waitForStatus(`${runId}.vet.2`, 'awaiting-human');
      await client.respond(`${runId}.vet.2`, { nodeId: 'approve', respondedBy: 'legal-1', response: { approved: true } });
      await until((snapshot) => snapshot.nodes.find((node) => node.id === 'sign')?.status === 'running', 'sign running');
      await client.submitResult(runId, { nodeId: 'sign', structuredOutput: { signed: true } });
    },
  },
  {
    name: 'budgets',
    description:
      'budgets: a node over its maxTokens fails with class budget and onFailure skips it; the run passes its maxCostUsd and is blocked while a running node\'s result is still recorded; a raise that is not higher is refused by signal; raiseBudget by update lets it go on (PlanCostUsd upserted)',
    closes: 'completed',
    async run({ client, runId, until, untilEvents }) {
      const spec = plan(
        'budgets',
        [
          { id: 'draft', retry: { maxAttempts: 3 }, budget: { maxTokens: 1000 }, onFailure: [{ on: 'budget', action: 'skip' }] },
          { id: 'research' },
          { id: 'fact-check' },
          { id: 'report' },
        ],
        [
          { from: 'research', to: 'report' },
          { from: 'fact-check', to: 'report' },
        ],
        { maxConcurrency: 2, budget: { maxCostUsd: 1 } },
      );
      const handle = client.client.workflow.getHandle(runId);
      await client.start(spec, { runId });
      await client.submitResult(runId, { nodeId: 'draft', structuredOutput: { text: 'long' }, usage: { inputTokens: 900, outputTokens: 200, costUsd: 0.1 } });
      await until((snapshot) => nodeStatus(snapshot, 'research') === 'running' && nodeStatus(snapshot, 'fact-check') === 'running', 'research and fact-check running');
      await client.submitResult(runId, { nodeId: 'research', structuredOutput: { notes: 'n' }, usage: { costUsd: 0.75 } });
      await client.submitResult(runId, { nodeId: 'fact-check', structuredOutput: { ok: true }, usage: { costUsd: 0.5 } });
      await until((snapshot) => snapshot.status === 'blocked', 'the run blocked by its budget');
      await handle.signal(raiseBudgetSignal, { maxCostUsd: 0.5, by: 'ops' });
      await untilEvents((events) => events.some((event) => event.type === 'operation-rejected'), 'the lower raise refused');
      await client.raiseBudget(runId, { maxCostUsd: 3, by: 'ops' });
      await until((snapshot) => nodeStatus(snapshot, 'report') === 'running', 'report running');
      await client.submitResult(runId, { nodeId: 'report', structuredOutput: {}, usage: { costUsd: 0.2, inputTokens: 10, outputTokens: 5 } });
    },
  },
  {
    name: 'human-decision',
    description: 'a human decision among options routes on the chosen option',
    closes: 'completed',
    async run({ client, runId }) {
      const spec = plan(
        'decision',
        [{ id: 'pick', type: 'human-decision', options: ['blog', 'newsletter'], objective: 'Where does it go?' }, { id: 'blog' }, { id: 'newsletter' }],
        [
          { from: 'pick', to: 'blog', when: "output.decision == 'blog'" },
          { from: 'pick', to: 'newsletter', when: "output.decision == 'newsletter'" },
        ],
      );
      await client.start(spec, { runId });
      await client.respond(runId, { nodeId: 'pick', respondedBy: 'carol', response: { decision: 'newsletter' } });
      await client.submitResult(runId, { nodeId: 'newsletter', structuredOutput: {} });
    },
  },
  {
    name: 'human-input',
    description: "a person's free-form input is mapped into the next task's input",
    closes: 'completed',
    async run({ client, runId }) {
      const spec = plan('input', [{ id: 'ask', type: 'human-input' }, { id: 'write' }], [{ from: 'ask', to: 'write', map: { topic: 'output.topic' } }]);
      await client.start(spec, { runId });
      await client.respond(runId, { nodeId: 'ask', respondedBy: 'dave', response: { topic: 'temporal timers' } });
      await client.submitResult(runId, { nodeId: 'write', structuredOutput: { text: 'about timers' } });
    },
  },
  {
    name: 'human-review-edit',
    description: "a reviewer edits an agent's draft; the edited text goes on",
    closes: 'completed',
    async run({ client, runId }) {
      const spec = plan(
        'review-edit',
        [{ id: 'draft' }, { id: 'edit', type: 'human-review-edit' }, { id: 'publish' }],
        [
          { from: 'draft', to: 'edit', map: { text: 'output.text' } },
          { from: 'edit', to: 'publish', map: { text: 'output.edited.text' } },
        ],
      );
      await client.start(spec, { runId });
      await client.submitResult(runId, { nodeId: 'draft', structuredOutput: { text: 'first draft' } });
      await client.respond(runId, { nodeId: 'edit', respondedBy: 'erin', response: { edited: { text: 'edited draft' }, approved: true } });
      await client.submitResult(runId, { nodeId: 'publish', structuredOutput: {} });
    },
  },
  {
    name: 'validation-retry',
    description: 'a result fails its output schema, the node is retried with the issues, the second attempt passes',
    closes: 'completed',
    async run({ client, runId }) {
      const spec = plan('retry', [{ id: 'write', outputSchema: 'Notes', retry: { maxAttempts: 3, retryOn: ['validation'] } }], [], { schemas: notesSchemas });
      await client.start(spec, { runId });
      await client.submitResult(runId, { nodeId: 'write', attempt: 1, structuredOutput: { summary: 'no' } });
      await client.submitResult(runId, { nodeId: 'write', attempt: 2, structuredOutput: { summary: 'long enough' } });
    },
  },
  {
    name: 'failure-human-review',
    description: "onFailure human-review: an invalid result goes to a reviewer, whose answer becomes the node's output",
    closes: 'completed',
    async run({ client, runId }) {
      const spec = plan(
        'review',
        [{ id: 'write', outputSchema: 'Notes', onFailure: [{ on: 'validation', action: 'human-review' }] }, { id: 'next' }],
        [{ from: 'write', to: 'next', map: { summary: 'output.summary' } }],
        { schemas: notesSchemas },
      );
      await client.start(spec, { runId });
      await client.submitResult(runId, { nodeId: 'write', structuredOutput: { summary: 1 } });
      await client.respond(runId, { nodeId: 'write', respondedBy: 'editor', response: { summary: 'fixed by a human' } });
      await client.submitResult(runId, { nodeId: 'next', structuredOutput: {} });
    },
  },
  {
    name: 'failure-replan-retry',
    description: 'onFailure replan: an agent error blocks the node and the run; an operator retries it and it completes',
    closes: 'completed',
    async run({ client, runId }) {
      const spec = plan('replan', [{ id: 'write', outputSchema: 'Notes', onFailure: [{ on: 'agent-error', action: 'replan' }] }], [], { schemas: notesSchemas });
      await client.start(spec, { runId });
      await client.submitResult(runId, { nodeId: 'write', failure: { class: 'agent-error', message: 'tool crashed' } });
      await client.retry(runId, { nodeId: 'write', by: 'operator' });
      await client.submitResult(runId, { nodeId: 'write', attempt: 2, structuredOutput: { summary: 'works now' } });
    },
  },
  {
    name: 'failure-abort-cancel',
    description: 'the default failure action aborts: the run fails and stays open; a cancel signal then ends it aborted (closed as Completed: older code)',
    closes: 'completed',
    frozen: BEFORE_CLOSE_AS_CANCELED,
    run: failureAbortCancel,
  },
  {
    name: 'failure-abort-cancel-canceled',
    description: 'the default failure action aborts: the run fails and stays open; a cancel signal then ends it aborted and the workflow closes as Canceled',
    closes: 'cancelled',
    run: failureAbortCancel,
  },
  {
    name: 'cancel-update',
    description: 'cancelRun update while a task runs, an approval waits and a node waits on a one-hour timer (closed as Completed: older code)',
    closes: 'completed',
    frozen: BEFORE_CLOSE_AS_CANCELED,
    run: cancelUpdate,
  },
  {
    name: 'cancel-update-canceled',
    description: 'cancelRun update while a task runs, an approval waits and a node waits on a one-hour timer; the workflow closes as Canceled',
    closes: 'cancelled',
    run: cancelUpdate,
  },
  {
    name: 'temporal-cancel',
    description: "Temporal's own cancellation (handle.cancel()): the run ends aborted and the workflow closes as cancelled",
    closes: 'cancelled',
    async run({ client, runId, until }) {
      const spec = plan('temporal-cancel', [{ id: 'work' }, { id: 'ask', type: 'human-approval' }], [], { maxConcurrency: 2 });
      await client.start(spec, { runId });
      await until((snapshot) => pendingApprovals(snapshot) === 1, 'approval requested');
      await client.client.workflow.getHandle(runId).cancel();
    },
  },
  {
    name: 'delayed-timer',
    description: 'delayAfterPredecessorMs (1 s) and notBefore (2 s ahead) schedule nodes on durable timers that fire',
    closes: 'completed',
    async run({ client, runId, until }) {
      const notBefore = new Date(Date.now() + 2_000).toISOString();
      const spec = plan('delayed', [{ id: 'a' }, { id: 'b', delayAfterPredecessorMs: 1_000 }, { id: 'c', notBefore }], [{ from: 'a', to: 'b' }], { maxConcurrency: 3 });
      await client.start(spec, { runId });
      await client.submitResult(runId, { nodeId: 'a', structuredOutput: {} });
      await until((snapshot) => nodeStatus(snapshot, 'b') === 'running' && nodeStatus(snapshot, 'c') === 'running', 'b and c promoted by their timers');
      await client.submitResult(runId, { nodeId: 'b', structuredOutput: {} });
      await client.submitResult(runId, { nodeId: 'c', structuredOutput: {} });
    },
  },
  {
    name: 'signals-refusals',
    description: 'results and answers by signal: stale, unknown-node and duplicate submissions are recorded as result-rejected; a resume re-dispatches',
    closes: 'completed',
    async run({ client, runId, until, untilEvents }) {
      const spec = plan('signals', [{ id: 'write', outputSchema: 'Notes', retry: { maxAttempts: 3 } }, { id: 'ok', type: 'human-approval' }], [{ from: 'write', to: 'ok' }], {
        schemas: notesSchemas,
      });
      const handle = client.client.workflow.getHandle(runId);
      await client.start(spec, { runId });
      await handle.signal(nodeResultSignal, { nodeId: 'write', attempt: 1, submissionId: 's-1', structuredOutput: { summary: 'x' } });
      await until((snapshot) => snapshot.nodes[0].currentAttempt === 2, 'write retried');
      await handle.signal(nodeResultSignal, { nodeId: 'write', attempt: 1, structuredOutput: { summary: 'stale one' } });
      await handle.signal(nodeResultSignal, { nodeId: 'ghost', structuredOutput: {} });
      await handle.signal(nodeResultSignal, { nodeId: 'write', attempt: 1, submissionId: 's-1', structuredOutput: { summary: 'x' } });
      await untilEvents((events) => events.filter((event) => event.type === 'result-rejected').length === 3, 'three result-rejected events');
      await client.resume(runId, { by: 'operator' });
      await handle.signal(nodeResultSignal, { nodeId: 'write', attempt: 2, structuredOutput: { summary: 'long enough' } });
      await until((snapshot) => pendingApprovals(snapshot) === 1, 'approval requested');
      await handle.signal(humanResponseSignal, { nodeId: 'ok', respondedBy: 'frank', response: { approved: true } });
    },
  },
  {
    name: 'batched-results',
    description:
      'results signalled together are validated in one local activity and the search attributes published once per store write (patch batch-validation-and-search-attributes): one invalid (retried), one duplicate in the same batch',
    closes: 'completed',
    async run({ client, runId, until, untilEvents }) {
      const spec = plan(
        'batched',
        [{ id: 'a', outputSchema: 'Notes', retry: { maxAttempts: 2 } }, { id: 'b', outputSchema: 'Notes' }, { id: 'c' }, { id: 'd' }, { id: 'after', type: 'join' }],
        [
          { from: 'a', to: 'after' },
          { from: 'b', to: 'after' },
          { from: 'c', to: 'after' },
          { from: 'd', to: 'after' },
        ],
        { schemas: notesSchemas, maxConcurrency: 4 },
      );
      const handle = client.client.workflow.getHandle(runId);
      await client.start(spec, { runId });
      await until((snapshot) => snapshot.nodes.filter((node) => node.status === 'running').length === 4, 'four tasks running');
      await Promise.all([
        handle.signal(nodeResultSignal, { nodeId: 'a', attempt: 1, submissionId: 'a-1', structuredOutput: { summary: 'x' } }),
        handle.signal(nodeResultSignal, { nodeId: 'b', attempt: 1, submissionId: 'b-1', structuredOutput: { summary: 'long enough' } }),
        handle.signal(nodeResultSignal, { nodeId: 'c', attempt: 1, submissionId: 'c-1', structuredOutput: { n: 1 } }),
        handle.signal(nodeResultSignal, { nodeId: 'c', attempt: 1, submissionId: 'c-1', structuredOutput: { n: 1 } }),
        handle.signal(nodeResultSignal, { nodeId: 'd', attempt: 1, submissionId: 'd-1', structuredOutput: { n: 2 } }),
      ]);
      await untilEvents((events) => events.some((event) => event.type === 'result-rejected'), 'the duplicate rejected');
      await until((snapshot) => snapshot.nodes[0].currentAttempt === 2, 'a retried');
      await handle.signal(nodeResultSignal, { nodeId: 'a', attempt: 2, submissionId: 'a-2', structuredOutput: { summary: 'long enough now' } });
    },
  },
  {
    name: 'operation-signals-refused',
    description: 'a retry signal for a running node and a replan signal with an invalid spec are refused and recorded as operation-rejected (patch record-refused-operation-signals)',
    closes: 'completed',
    async run({ client, runId, untilEvents }) {
      const spec = plan('operations', [{ id: 'work' }]);
      const handle = client.client.workflow.getHandle(runId);
      await client.start(spec, { runId });
      await handle.signal(retryNodeSignal, { nodeId: 'work', by: 'operator' });
      await handle.signal(replanSignal, { spec: { ...spec, edges: [{ from: 'work', to: 'nowhere' }] }, by: 'planner' });
      await untilEvents((events) => events.filter((event) => event.type === 'operation-rejected').length === 2, 'two operation-rejected events');
      await client.submitResult(runId, { nodeId: 'work', structuredOutput: {} });
    },
  },
  {
    name: 'webhook-delivery',
    description: 'events delivered to a webhook sink and agents woken at their endpoints (deliverEvents and wakeAgent activities)',
    closes: 'completed',
    delivery: 'webhooks',
    async run({ client, runId, untilEvents, webhooks }) {
      const spec = plan(
        'webhooks',
        [
          { id: 'draft', owner: { kind: 'agent', ref: 'writer' } },
          { id: 'publish', owner: { kind: 'agent', ref: 'writer' } },
        ],
        [{ from: 'draft', to: 'publish', map: { text: 'output.text' } }],
      );
      await client.start(spec, { runId });
      await poll(async () => (webhooks!.wakeUps('writer') >= 1 ? true : undefined), 'the first wake-up');
      await client.submitResult(runId, { nodeId: 'draft', structuredOutput: { text: 'hello' } });
      await poll(async () => (webhooks!.wakeUps('writer') >= 2 ? true : undefined), 'the second wake-up');
      await client.submitResult(runId, { nodeId: 'publish', structuredOutput: {} });
      await untilEvents((events) => events.some((event) => event.type === 'run-status-changed' && event.toStatus === 'completed'), 'run completed');
    },
  },
  {
    name: 'join-any-cancel',
    description: 'a join in mode any: the first branch wins, the other running branch is cancelled and its agent woken with node-cancelled',
    closes: 'completed',
    delivery: 'webhooks',
    async run({ client, runId, untilEvents, webhooks }) {
      const spec = plan(
        'join-any',
        [
          { id: 'fast', owner: { kind: 'agent', ref: 'fast' } },
          { id: 'slow', owner: { kind: 'agent', ref: 'slow' } },
          { id: 'first', type: 'join', join: { mode: 'any' } },
          { id: 'write', owner: { kind: 'agent', ref: 'fast' } },
        ],
        [
          { from: 'fast', to: 'first', map: { text: 'output.text' } },
          { from: 'slow', to: 'first', map: { text: 'output.text' } },
          { from: 'first', to: 'write', map: { text: 'output.text' } },
        ],
        { maxConcurrency: 2 },
      );
      await client.start(spec, { runId });
      await poll(async () => (webhooks!.wakeUps('slow') >= 1 ? true : undefined), 'slow is dispatched');
      await client.submitResult(runId, { nodeId: 'fast', structuredOutput: { text: 'first!' } });
      await poll(async () => (webhooks!.wakeUps('slow') >= 2 ? true : undefined), 'slow is woken with node-cancelled');
      await client.submitResult(runId, { nodeId: 'write', structuredOutput: {} });
      await untilEvents((events) => events.some((event) => event.type === 'run-status-changed' && event.toStatus === 'completed'), 'run completed');
    },
  },
  {
    name: 'loop-revise-approved',
    description: 'a revise loop: rejected with edits, the body starts over with the edits mapped in, approved in iteration 2',
    closes: 'completed',
    async run({ client, runId }) {
      const spec = plan(
        'revise-loop',
        [{ id: 'draft' }, { id: 'review', type: 'human-approval' }, { id: 'publish' }],
        [
          { from: 'draft', to: 'review', map: { text: 'output.text' } },
          { from: 'review', to: 'publish', when: 'output.approved == true' },
          { from: 'review', to: 'draft', when: 'output.approved == false', map: { edits: 'output.requiredEdits' }, loop: { maxIterations: 3 } },
        ],
      );
      await client.start(spec, { runId });
      await client.submitResult(runId, { nodeId: 'draft', attempt: 1, structuredOutput: { text: 'v1' } });
      await client.respond(runId, { nodeId: 'review', respondedBy: 'alice', response: { approved: false, requiredEdits: ['shorter'] } });
      await client.submitResult(runId, { nodeId: 'draft', attempt: 2, structuredOutput: { text: 'v2' } });
      await client.respond(runId, { nodeId: 'review', respondedBy: 'alice', response: { approved: true } });
      await client.submitResult(runId, { nodeId: 'publish', structuredOutput: {} });
    },
  },
  {
    name: 'fan-out-partial',
    description: 'forEach over three topics, two at a time: one instance retried after a validation failure, one skipped → partial with null; then write',
    closes: 'completed',
    async run({ client, runId }) {
      const spec = plan(
        'fan-out',
        [
          { id: 'planner' },
          {
            id: 'research',
            outputSchema: 'Notes',
            forEach: { items: 'input.topics', maxConcurrency: 2 },
            retry: { maxAttempts: 2, retryOn: ['validation'] },
            onFailure: [{ on: 'agent-error', action: 'skip' }],
          },
          { id: 'write' },
        ],
        [
          { from: 'planner', to: 'research', map: { topics: 'output.topics' } },
          { from: 'research', to: 'write', map: { notes: 'output.items' } },
        ],
        { maxConcurrency: 3, schemas: { Notes: { type: 'object', required: ['summary'], properties: { summary: { type: 'string', minLength: 5 } } } } },
      );
      await client.start(spec, { runId });
      await client.submitResult(runId, { nodeId: 'planner', structuredOutput: { topics: ['a', 'b', 'c'] } });
      await client.submitResult(runId, { nodeId: 'research[0]', structuredOutput: { summary: 'no' } });
      await client.submitResult(runId, { nodeId: 'research[1]', failure: { class: 'agent-error', message: 'source offline' } });
      await client.submitResult(runId, { nodeId: 'research[0]', attempt: 2, structuredOutput: { summary: 'topic a, done' } });
      await client.submitResult(runId, { nodeId: 'research[2]', structuredOutput: { summary: 'topic c, done' } });
      await client.submitResult(runId, { nodeId: 'write', structuredOutput: {} });
    },
  },
  {
    name: 'work-item-tokens',
    description: 'a plan that requires work-item tokens: a signal with a made-up token is recorded as result-rejected, a failed attempt with its token is retried, the stale token is refused, the current one completes the node',
    closes: 'completed',
    async run({ client, runId }) {
      const spec = plan('work-item-tokens', [{ id: 'draft', retry: { maxAttempts: 2 } }], [], { requireWorkItemTokens: true });
      await client.start(spec, { runId });
      const first = await client.workItem(runId, 'draft');
      if (!first?.token) throw new Error('the work item carries no token');
      await client.signalResult(runId, { nodeId: 'draft', token: 'wit_made-up', structuredOutput: {} });
      await client.submitResult(runId, { nodeId: 'draft', token: first.token, failure: { class: 'agent-error', message: 'the model timed out' } });
      const second = await client.workItem(runId, 'draft');
      if (!second?.token || second.token === first.token) throw new Error('the retry carries no new token');
      await client.submitResult(runId, { nodeId: 'draft', token: first.token, structuredOutput: {} }).then(
        () => { throw new Error('the stale token was taken'); },
        () => undefined,
      );
      await client.submitResult(runId, { nodeId: 'draft', token: second.token, structuredOutput: { text: 'done' } });
    },
  },
  {
    name: 'wake-up-failure-resume',
    description: "an agent's endpoint fails every wake-up attempt: the node is blocked (class dispatch); resume wakes it again",
    closes: 'completed',
    delivery: 'webhooks',
    async run({ client, runId, until, webhooks }) {
      webhooks!.failNextWakeUps('flaky', WAKE_UP_ATTEMPTS);
      const spec = plan('wake-up-failure', [{ id: 'work', owner: { kind: 'agent', ref: 'flaky' } }]);
      await client.start(spec, { runId });
      await until((snapshot) => nodeStatus(snapshot, 'work') === 'blocked', 'work blocked after its failed wake-ups');
      await client.resume(runId, { by: 'operator' });
      await poll(async () => (webhooks!.wakeUps('flaky', 204) >= 1 ? true : undefined), 'a successful wake-up');
      await client.submitResult(runId, { nodeId: 'work', structuredOutput: {} });
    },
  },
  {
    name: 'task-timeout-retry',
    description: 'timeoutMs 1.5 s: attempt 1 times out on its timer (class timeout, retried), attempt 2 delivers in time',
    closes: 'completed',
    async run({ client, runId, until }) {
      const spec = plan('timeout', [{ id: 'slow', timeoutMs: 1_500, retry: { maxAttempts: 2, retryOn: ['timeout'] } }, { id: 'next' }], [
        { from: 'slow', to: 'next', map: { text: 'output.text' } },
      ]);
      await client.start(spec, { runId });
      await until((snapshot) => snapshot.nodes[0].currentAttempt === 2 && nodeStatus(snapshot, 'slow') === 'running', 'attempt 1 timed out and slow retried');
      await client.submitResult(runId, { nodeId: 'slow', attempt: 2, structuredOutput: { text: 'in time' } });
      await client.submitResult(runId, { nodeId: 'next', structuredOutput: {} });
    },
  },
  {
    name: 'deadline-warning-escalation',
    description: 'a human approval with a 3 s deadline: a warning at 1.5 s, escalation to human:lead at 3 s, then lead answers',
    closes: 'completed',
    async run({ client, runId, untilEvents }) {
      const spec = plan(
        'deadline',
        [
          { id: 'sign-off', type: 'human-approval', deadline: { afterMs: 3_000, warnBeforeMs: 1_500, escalateTo: { kind: 'human', ref: 'lead' } } },
          { id: 'ship' },
        ],
        [{ from: 'sign-off', to: 'ship', when: 'output.approved == true' }],
      );
      await client.start(spec, { runId });
      await untilEvents((events) => events.some((event) => event.type === 'deadline-warning' && event.nodeId === 'sign-off'), 'the deadline warning');
      await untilEvents((events) => events.some((event) => event.type === 'escalation-triggered' && event.nodeId === 'sign-off'), 'the escalation');
      await client.respond(runId, { nodeId: 'sign-off', respondedBy: 'lead', response: { approved: true, comments: 'late, but fine' } });
      await client.submitResult(runId, { nodeId: 'ship', structuredOutput: {} });
    },
  },
  {
    name: 'deadline-expiry-fail',
    description: 'a task deadline (1.5 s, onExpiry fail) expires: the attempt fails with class timeout, onFailure skip skips it and its follower',
    closes: 'completed',
    async run({ client, runId, until }) {
      const spec = plan(
        'expiry',
        [
          { id: 'slow', deadline: { afterMs: 1_500, onExpiry: 'fail' }, onFailure: [{ on: 'timeout', action: 'skip' }] },
          { id: 'after-slow' },
          { id: 'other' },
        ],
        [{ from: 'slow', to: 'after-slow' }],
        { maxConcurrency: 2 },
      );
      await client.start(spec, { runId });
      await client.submitResult(runId, { nodeId: 'other', structuredOutput: {} });
      await until((snapshot) => nodeStatus(snapshot, 'slow') === 'skipped', 'slow skipped after its deadline');
    },
  },
  {
    name: 'replan',
    description: 'replan after the first node completed: one node changed, one added; the run continues as new (two executions)',
    closes: 'completed',
    async run({ client, runId, until }) {
      const v1 = plan('replan', [{ id: 'research' }, { id: 'draft', objective: 'first version' }, { id: 'publish' }], [
        { from: 'research', to: 'draft', map: { notes: 'output.notes' } },
        { from: 'draft', to: 'publish', map: { text: 'output.text' } },
      ]);
      await client.start(v1, { runId });
      await client.submitResult(runId, { nodeId: 'research', structuredOutput: { notes: 'n' } });
      const first = await currentExecution(client, runId);
      const v2 = plan('replan', [{ id: 'research' }, { id: 'draft', objective: 'second version' }, { id: 'publish' }, { id: 'announce' }], [
        { from: 'research', to: 'draft', map: { notes: 'output.notes' } },
        { from: 'draft', to: 'publish', map: { text: 'output.text' } },
        { from: 'publish', to: 'announce', map: { url: 'output.url' } },
      ]);
      await client.replan(runId, v2, { by: 'planner', reason: 'a second draft and an announcement' });
      await untilContinued(client, runId, first, 'replan: the second execution');
      await until((snapshot) => snapshot.specVersion === 2 && nodeStatus(snapshot, 'draft') === 'running', 'draft running in version 2');
      await client.submitResult(runId, { nodeId: 'draft', structuredOutput: { text: 'second draft' } });
      await client.submitResult(runId, { nodeId: 'publish', structuredOutput: { url: 'https://example.test/v2' } });
      await client.submitResult(runId, { nodeId: 'announce', structuredOutput: {} });
    },
  },
  {
    name: 'store-rejects-write',
    description: 'the store refuses one transition for good (a trigger on the draft attempts): the run goes on, hands the problem over at continue-as-new, completes',
    closes: 'completed',
    delivery: 'webhooks',
    async run(ctx) {
      const { client, runId } = ctx;
      const rejections = await installStoreRejections();
      try {
        await rejections.rejectAttempts(runId, 'draft');
        const spec = plan('store-rejects', [{ id: 'research' }, { id: 'draft' }, { id: 'publish' }], [
          { from: 'research', to: 'draft' },
          { from: 'draft', to: 'publish' },
        ]);
        await startWithOptions(ctx, spec, { continueAsNewAfterMessages: 2 });
        await client.submitResult(runId, { nodeId: 'research', structuredOutput: { notes: 'n' } });
        const first = await currentExecution(client, runId);
        await client.submitResult(runId, { nodeId: 'draft', structuredOutput: { text: 'refused by the store' } });
        await untilContinued(client, runId, first, 'the second execution');
        await client.submitResult(runId, { nodeId: 'publish', structuredOutput: { url: 'https://example.test/p' } });
        const done = await client.result(runId);
        if (done.recording?.status !== 'incomplete' || done.recording.failedSeqs.length === 0) {
          throw new Error(`store-rejects-write: the final snapshot does not report the refused record: ${JSON.stringify(done.recording)}`);
        }
      } finally {
        await rejections.close();
      }
    },
  },
  {
    name: 'continue-as-new',
    description: 'continueAsNewAfterMessages 3: eight submissions (updates and signals, submission ids, duplicates) over three executions',
    closes: 'completed',
    frozen: 'recorded before patch hand-over-carries-unrecorded-transitions, when every transition was recorded before a hand-over (see continue-as-new-carried)',
    run: continueAsNewScenario,
  },
  {
    name: 'continue-as-new-carried',
    description: 'the continue-as-new scenario with patches batch-validation-and-search-attributes and hand-over-carries-unrecorded-transitions: a hand-over due at a quiet moment leaves the last store write to the next execution',
    closes: 'completed',
    run: continueAsNewScenario,
  },
  {
    name: 'validate-and-record',
    description:
      'patch validate-and-record-in-one-activity: a chain driven one result at a time, each validated and recorded in one local activity; an invalid result (retried) and one with a warning write nothing there and are recorded after; a duplicate, a stale and an unknown node; an approval; a signalled result',
    closes: 'completed',
    run: ({ client, runId }) => driveOneActivityChain(client, runId).then(() => undefined),
  },
  {
    name: 'begin-in-one-activity',
    description:
      'patch begin-in-one-activity: a run whose plan has an input schema begins in one local activity (settings, input check, the start recorded), then its agent is woken and its events delivered; results by update',
    closes: 'completed',
    delivery: 'webhooks',
    async run({ client, runId, untilEvents, webhooks }) {
      const spec = plan('begin', [{ id: 'draft', owner: { kind: 'agent', ref: 'writer' } }, { id: 'publish', owner: { kind: 'agent', ref: 'writer' } }], [{ from: 'draft', to: 'publish', map: { text: 'output.text' } }], {
        inputSchema: 'Topic',
        schemas: { Topic: { type: 'object', required: ['topic'], properties: { topic: { type: 'string', minLength: 3 } } } },
      });
      await client.start(spec, { runId, input: { topic: 'durable agents' } });
      await poll(async () => (webhooks!.wakeUps('writer') >= 1 ? true : undefined), 'the first wake-up');
      await client.submitResult(runId, { nodeId: 'draft', structuredOutput: { text: 'hello' } });
      await poll(async () => (webhooks!.wakeUps('writer') >= 2 ? true : undefined), 'the second wake-up');
      await client.submitResult(runId, { nodeId: 'publish', structuredOutput: {} });
      await untilEvents((events) => events.some((event) => event.type === 'run-status-changed' && event.toStatus === 'completed'), 'run completed');
    },
  },
  {
    name: 'invalid-input-refused',
    description: 'patch begin-in-one-activity: a run input that fails the plan\'s input schema (started past the client\'s own check) is refused in the one activity: nothing is recorded, the workflow fails',
    closes: 'failed',
    async run(ctx) {
      const spec = plan('refused', [{ id: 'draft' }], [], {
        inputSchema: 'Topic',
        schemas: { Topic: { type: 'object', required: ['topic'], properties: { topic: { type: 'string', minLength: 3 } } } },
      });
      await startWithOptions(ctx, spec, undefined, { topic: 'x' });
      const outcome = await ctx.client.client.workflow.getHandle(ctx.runId).result().then(
        () => 'completed',
        (error: unknown) => String((error as { cause?: { message?: string } }).cause?.message ?? error),
      );
      if (!outcome.includes('Invalid run input')) throw new Error(`invalid-input-refused: the run ended with ${outcome}`);
    },
  },
  {
    name: 'continue-as-new-one-activity',
    description: 'the continue-as-new scenario with patch validate-and-record-in-one-activity: submissions validated and recorded in one local activity across hand-overs',
    closes: 'completed',
    run: continueAsNewScenario,
  },
];

// ------------------------------------------------------------------------------------------------
// Recording

/** Agents with a wake-up endpoint on the `webhooks` worker. */
const WEBHOOK_AGENTS = ['writer', 'flaky', 'fast', 'slow'];
/** Wake-up attempts before a node is blocked with class `dispatch`. */
const WAKE_UP_ATTEMPTS = 3;

/** Delivery with no sinks and no agent endpoints (agents poll), or with the local receiver's. */
function recordingDelivery(receiver?: WebhookReceiver): DeliveryConfig {
  const secret = () => `whsec_${randomBytes(24).toString('base64')}`;
  return {
    sinks: receiver ? [{ id: 'history-sink', url: `${receiver.url}/sink`, secret: secret() }] : [],
    agents: receiver ? Object.fromEntries(WEBHOOK_AGENTS.map((ref) => [ref, { url: `${receiver.url}/agents/${ref}`, secret: secret() }])) : {},
    sinkRetry: { initialIntervalMs: 200, maximumIntervalMs: 1000, giveUpAfterMs: 10 * 60_000 },
    wakeUpRetry: { initialIntervalMs: 200, maximumIntervalMs: 500, maximumAttempts: WAKE_UP_ATTEMPTS },
    requestTimeoutMs: 2000,
  };
}

/** A local HTTP receiver for the sink and the agents' wake-ups: answers 204, or 500 when told to fail. */
export class WebhookReceiver {
  private server?: http.Server;
  private readonly failures = new Map<string, number>();
  private readonly answered: Array<{ path: string; status: number }> = [];
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = req.url ?? '';
        const agent = /^\/agents\/([^/?]+)/.exec(path)?.[1];
        const failing = agent ? (this.failures.get(agent) ?? 0) : 0;
        if (agent && failing > 0) this.failures.set(agent, failing - 1);
        const status = failing > 0 ? 500 : 204;
        this.answered.push({ path, status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Answer the next `count` wake-ups of `agentRef` with HTTP 500. */
  failNextWakeUps(agentRef: string, count: number): void {
    this.failures.set(agentRef, count);
  }

  /** Wake-up requests `agentRef` received (with this status, if given). */
  wakeUps(agentRef: string, status?: number): number {
    return this.answered.filter((entry) => entry.path.startsWith(`/agents/${agentRef}`) && (status === undefined || entry.status === status)).length;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function poll<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/**
 * The histories of every run of a workflow id, oldest first: the latest run, then the run each one
 * continued (`continuedExecutionRunId` of its first event), back to the first.
 */
async function historyChain(client: PlanRunnerClient, workflowId: string): Promise<History[]> {
  const chain: History[] = [];
  let runId: string | undefined;
  do {
    const history = await client.client.workflow.getHandle(workflowId, runId).fetchHistory();
    chain.unshift(history);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  } while (runId);
  return chain;
}

interface Options {
  only: string[];
  list: boolean;
  outDir: string;
}

const USAGE = `usage: node dist/scripts/record-histories.js [--only <scenario>]... [--out <dir>] [--list]

  --only <name>   record only this scenario (repeatable, or comma-separated); default: all
  --out <dir>     write the histories here (default: test/histories)
  --list          list the scenarios and exit

Environment: TEMPORAL_ADDRESS (default ${DEFAULT_ADDRESS}), TEMPORAL_NAMESPACE (default), TEMPORAL_API_KEY,
TEMPORAL_TLS*, TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE, PLAN_STORE_URL
(default: the SQLite file .data/plan-runner.db). The worker runs in this process on a private task queue.`;

function parseArgs(argv: string[]): Options {
  const options: Options = { only: [], list: false, outDir: HISTORIES_DIR };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n\n${USAGE}`);
      return next;
    };
    if (arg === '--only') options.only.push(...value().split(',').filter(Boolean));
    else if (arg.startsWith('--only=')) options.only.push(...arg.slice('--only='.length).split(',').filter(Boolean));
    else if (arg === '--out') options.outDir = path.resolve(value());
    else if (arg === '--list') options.list = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}\n\n${USAGE}`);
  }
  const unknown = options.only.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const frozen = SCENARIOS.filter((scenario) => scenario.frozen && options.only.includes(scenario.name));
  if (frozen.length > 0) {
    throw new Error(frozen.map((scenario) => `scenario ${scenario.name} is frozen, not recorded again: ${scenario.frozen}`).join('\n'));
  }
  return options;
}

/** A worker (with one kind of delivery) on its own task queue, and a client for that queue. */
interface Lane {
  client: PlanRunnerClient;
  taskQueue: string;
  webhooks?: WebhookReceiver;
  close(): Promise<void>;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (options.list) {
    for (const scenario of SCENARIOS) console.log(`${scenario.name.padEnd(30)} ${scenario.frozen ? '(frozen) ' : ''}${scenario.description}`);
    return 0;
  }
  const selected = options.only.length > 0 ? SCENARIOS.filter((scenario) => options.only.includes(scenario.name)) : SCENARIOS.filter((scenario) => !scenario.frozen);
  const frozen = SCENARIOS.filter((scenario) => scenario.frozen && !selected.includes(scenario));
  if (frozen.length > 0 && options.only.length === 0) {
    console.log(`not recorded again (frozen): ${frozen.map((scenario) => scenario.name).join(', ')}`);
  }
  // One resolution for the clients and the worker: the same address, namespace, TLS and API key.
  const settings = resolveConnectionSettings({ defaultAddress: DEFAULT_ADDRESS });

  // ERROR: the wake-up-failure scenario's failing activity attempts are expected, not worth a warning.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(settings.nativeConnectionOptions);
  } catch (error) {
    throw await explainConnectFailure(settings, error);
  }
  // What a worker runs: the bundle `npm run build` (run by `npm run record:histories`) just wrote.
  const workflowBundle = await builtBundleOrBundleNow({ warn: (message) => console.warn(message), logger: new DefaultLogger('WARN') });
  const store = await openStore();
  await store.migrate();
  const lanes = new Map<ScenarioDelivery, Lane>();
  const laneFor = async (delivery: ScenarioDelivery): Promise<Lane> => {
    const existing = lanes.get(delivery);
    if (existing) return existing;
    const taskQueue = `record-histories-${delivery}-${randomBytes(4).toString('hex')}`;
    const webhooks = delivery === 'webhooks' ? await new WebhookReceiver().start() : undefined;
    const client = await PlanRunnerClient.connect({ connectionSettings: settings, taskQueue, store });
    const planWorker = await createPlanWorker({ connection, connectionSettings: settings, taskQueue, store, delivery: recordingDelivery(webhooks), workflowBundle });
    const running = planWorker.run();
    const lane: Lane = {
      client,
      taskQueue,
      webhooks,
      async close() {
        planWorker.shutdown();
        await running;
        await client.close();
        await webhooks?.stop();
      },
    };
    lanes.set(delivery, lane);
    return lane;
  };
  console.log(`recording ${selected.length} scenario(s) on ${settings.description.summary} into ${path.relative(process.cwd(), options.outDir) || '.'}`);
  console.log(`store: ${store.dialect} at ${store.location}`);
  await mkdir(options.outDir, { recursive: true });

  const failures: string[] = [];
  let written = 0;
  try {
    for (const scenario of selected) {
      const started = Date.now();
      const runId = `${scenario.name}-${randomBytes(4).toString('hex')}`;
      const { client, webhooks, taskQueue } = await laneFor(scenario.delivery ?? 'none');
      try {
        const ctx: ScenarioContext = {
          client,
          runId,
          taskQueue,
          webhooks,
          until: (test, what) =>
            client.waitForStatus(runId, test, { timeoutMs: 30_000, intervalMs: 150 }).catch((error) => {
              throw new Error(`${scenario.name}: timed out waiting for ${what} (${String(error)})`);
            }),
          untilEvents: (test, what) =>
            poll(async () => {
              const events = await client.events(runId);
              return test(events) ? events : undefined;
            }, `${scenario.name}: ${what}`),
        };
        await scenario.run(ctx);
        const handle = client.client.workflow.getHandle(runId);
        const description = await poll(async () => {
          const described = await handle.describe();
          return described.status.name === 'RUNNING' ? undefined : described;
        }, `${scenario.name}: the workflow to close`);
        const expected = scenario.closes.toUpperCase();
        if (description.status.name !== expected) {
          throw new Error(`${scenario.name}: the workflow closed as ${description.status.name}, expected ${expected}`);
        }
        // A run that continued as new is a chain of workflow runs: record every one, oldest first.
        const chain = await historyChain(client, runId);
        const files: string[] = [];
        for (const [i, history] of chain.entries()) {
          const text = historyToJSON(history);
          // What is written must read back and replay against the code that produced it; else it is no baseline.
          await Worker.runReplayHistory({ workflowBundle }, historyFromJSON(JSON.parse(text)), runId);
          const file = path.join(options.outDir, chain.length === 1 ? `${scenario.name}.json` : `${scenario.name}.run-${i + 1}.json`);
          await writeFile(file, text + '\n');
          files.push(path.relative(process.cwd(), file));
        }
        for (const [i, suffix] of (scenario.children ?? []).entries()) {
          const childId = `${runId}${suffix}`;
          await poll(async () => ((await client.client.workflow.getHandle(childId).describe()).status.name === 'RUNNING' ? undefined : true), `${scenario.name}: child run ${childId} to close`);
          const text = historyToJSON(await client.client.workflow.getHandle(childId).fetchHistory());
          await Worker.runReplayHistory({ workflowBundle }, historyFromJSON(JSON.parse(text)), childId);
          const file = path.join(options.outDir, `${scenario.name}.child-${i + 1}.json`);
          await writeFile(file, text + '\n');
          files.push(path.relative(process.cwd(), file));
        }
        written += files.length;
        const events = chain.map((history) => history.events?.length ?? 0).join('+');
        console.log(
          `  ✔ ${scenario.name.padEnd(28)} ${events.padStart(8)} events  ${description.status.name.toLowerCase().padEnd(9)} ` +
            `${String(Date.now() - started).padStart(5)} ms  → ${files.join(', ')}`,
        );
      } catch (error) {
        failures.push(scenario.name);
        console.error(`  ✘ ${scenario.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        await client.client.workflow.getHandle(runId).terminate('record-histories: scenario failed').catch(() => undefined);
        // Child runs outlive their parent (they are abandoned when it closes): close them too.
        for (const suffix of scenario.children ?? []) {
          await client.client.workflow.getHandle(`${runId}${suffix}`).terminate('record-histories: scenario failed').catch(() => undefined);
        }
      }
    }
  } finally {
    for (const lane of lanes.values()) await lane.close();
    await connection.close();
    await store.close();
  }
  if (failures.length > 0) {
    console.error(`${failures.length} scenario(s) failed: ${failures.join(', ')}`);
    return 1;
  }
  console.log(`recorded ${selected.length} scenario(s) in ${written} history file(s); replay them with: node --test dist/test/unit/replay.test.js`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
