/**
 * A typed client for plan runs: start (validated first), send results and responses, operate on runs,
 * read their state, and find runs through Temporal visibility. Every expected failure surfaces as one
 * of the errors in `./errors` (with a stable `code`), never as a raw gRPC error.
 *
 * Two sources of data:
 * - **Temporal** (the live run): start, messages (`replan` too), `snapshot`, `workItem`, `list`, `inbox`.
 * - **The store** (`PLAN_STORE_URL`: the SQLite file `.data/plan-runner.db` by default, or
 *   PostgreSQL), where the worker records every transition: `events`, `followEvents`, `approvals`,
 *   `attempts`, `checkpoints`, `storedSpec`, `previewReplan`, `migrate`. These need no Temporal server and no worker, and work for
 *   finished runs too. The store opens on the first such call; a client that only sends messages
 *   never touches the database.
 */
import { randomBytes } from 'node:crypto';
import {
  ApplicationFailure,
  CancelledFailure,
  Client,
  Connection,
  NamespaceNotFoundError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import type { QueryDefinition, UpdateDefinition } from '@temporalio/common';
import { DEFAULT_QUERY_TIMEOUT_MS, DEFAULT_UPDATE_TIMEOUT_MS } from './timeouts';
import { UPDATE_MAY_STILL_APPLY, WorkerCheck, noWorkerMessage, unansweredError, type PollerReport, type WorkerVerdict } from './worker-check';
import type {
  AgentSubmission,
  CancelRequest,
  HumanResponse,
  ReplanRequest,
  ResumeRequest,
  RetryRequest,
  RaiseBudgetRequest,
} from '../engine/messages';
import { payloadLimitsFromEnv, resolvePayloadLimits, type PayloadLimits } from '../engine/limits';
import type { RunReplannedDetail } from '../engine/replan';
import type { Owner, PlanSpec } from '../engine/spec';
import {
  FINISHED_RUN_STATUSES,
  SUCCESSFUL_NODE_STATUSES,
  type Checkpoint,
  type NodeStatus,
  type RunEvent,
  type RunSnapshot,
  type RunStatus,
  type SubmitOutcome,
  type WorkItem,
} from '../engine/types';
import type { PlanStore, StoredApproval, StoredAttempt, StoredRun, StoredSpecVersion } from '../store/types';
import type { SpecProblem } from '../engine/validate-spec';
import {
  DEFAULT_TASK_QUEUE,
  FAILURE_TYPES,
  PlanIdKey,
  PlanRunStatusKey,
  PlanWaitingOnKey,
  PlanCostUsdKey,
  WORKFLOW_TYPE,
  cancelRunUpdate,
  eventsQuery,
  humanResponseSignal,
  nodeResultSignal,
  replanRunUpdate,
  resumeRunUpdate,
  retryNodeUpdate,
  raiseBudgetUpdate,
  snapshotQuery,
  submitHumanResponseUpdate,
  submitNodeResultUpdate,
  workItemQuery,
  type OperationOutcome,
  type PlanRunInput,
  type PlanRunOptions,
  type ReplanOutcome,
} from '../workflows/definitions';
import {
  PlanRunnerError,
  PlanValidationError,
  RunAlreadyExistsError,
  RunFailedError,
  RunFinishedError,
  RunNotFoundError,
  RunRefusedError,
  RunUnresponsiveError,
  NoWorkerError,
  NodeNotFoundError,
  StoreUnavailableError,
  TemporalSetupError,
  TemporalUnavailableError,
  WaitTimeoutError,
  type ClosedRun,
} from './errors';
import {
  explainConnectFailure,
  namesWithoutFiles,
  resolveConnectionSettings,
  type ConnectionDescription,
  type TemporalConnectionOptions,
  type TemporalConnectionSettings,
} from './connection';
import {
  StoreReader,
  translateStoreError,
  type ApprovalsOptions,
  type EventsOptions,
  type FollowEventsOptions,
  type MigrateResult,
} from './store-reads';

import { assertValidPlanSpec, assertValidRunRequest } from './plan-checks';

export type { ApprovalsOptions, EventsOptions, FollowEventsOptions, MigrateResult } from './store-reads';
export { assertValidPlanSpec, assertValidRunRequest, checkRunRequest, type RunRequestCheck } from './plan-checks';
export { DEFAULT_STORE_FILE, storeTarget, type StoreTarget } from './store-reads';

export { DEFAULT_ADDRESS, DEFAULT_NAMESPACE } from './connection';
export type {
  ConnectionDescription,
  TemporalConnectionOptions,
  TemporalConnectionSettings,
  TlsOptions,
} from './connection';
export const DEFAULT_UI_URL = 'http://localhost:8233';

// The message schemas (zod) and the replan engine are loaded by the first call that needs them, not
// with this module: `plan-runner status` and the store reads never check a message or a replan,
// and loading them would cost them a good part of their time (docs/performance.md).
/* eslint-disable @typescript-eslint/no-require-imports */
/** The messages' shapes (a compiled check, then zod), loaded on first use. */
function messageShapes(): typeof import('../engine/message-shapes') {
  return require('../engine/message-shapes');
}
/** The checks the workflow makes of a message (limits, then schema), loaded on first use. */
function messageChecks(): typeof import('../engine/message-checks') {
  return require('../engine/message-checks');
}
/** The replan engine (spec changes, which nodes keep their runs), loaded on first use. */
function replanEngine(): typeof import('../engine/replan') {
  return require('../engine/replan');
}
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The Web UI base for links when `TEMPORAL_UI_URL` is not set: for a local address
 * (`localhost:P`, `127.0.0.1:P`, `[::1]:P`), the dev server's default UI port P + 1000
 * (`temporal server start-dev` serves it there unless told `--ui-port`); else `DEFAULT_UI_URL`.
 */
export function defaultUiUrl(address: string): string {
  const match = /^(localhost|127\.0\.0\.1|\[::1\]):(\d{1,5})$/.exec(address.trim());
  const port = match ? Number(match[2]) + 1000 : NaN;
  return port > 0 && port <= 65535 ? `http://localhost:${port}` : DEFAULT_UI_URL;
}

/**
 * Where Temporal is comes from the connection options (`address`, `namespace`, `apiKey`, `tls`,
 * `profile`, `configFile`, …: see `TemporalConnectionOptions`), then the `TEMPORAL_*` variables,
 * then the `temporal.toml` profile, then `localhost:7233` and namespace `default`.
 */
export interface PlanRunnerClientOptions extends TemporalConnectionOptions {
  /** An existing client (its namespace wins). Not closed by `close()`. */
  client?: Client;
  /** An existing connection. Not closed by `close()`. Its namespace comes from the settings. */
  connection?: Connection;
  /** Settings already resolved by `resolveConnectionSettings` (shared with a worker); the connection options are then ignored. */
  connectionSettings?: TemporalConnectionSettings;
  /** Default `$PLAN_TASK_QUEUE`, else `plan-runs`. */
  taskQueue?: string;
  /**
   * Web UI base for links. Default `$TEMPORAL_UI_URL`, else for a local address `localhost:P` (or
   * 127.0.0.1) `http://localhost:<P + 1000>` (the dev server's default), else `http://localhost:8233`.
   */
  uiUrl?: string;
  /**
   * Payload limits checked before a message is sent; set them like the worker's. Default: the
   * `PLAN_LIMIT_*` environment variables, else the defaults (docs/security.md).
   */
  limits?: Partial<PayloadLimits>;
  /** How long `connect()` waits for the server. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Deadline of one query (snapshot, events, workItem). Default 20000 ms. */
  queryTimeoutMs?: number;
  /** Deadline of one update (submit, respond, cancel, resume, retry). Default 60000 ms. */
  updateTimeoutMs?: number;
  /**
   * The store to read events, approvals, attempts and checkpoints from. Default `$PLAN_STORE_URL`;
   * unset → the SQLite file `.data/plan-runner.db` under the current directory; `postgres://…` →
   * PostgreSQL. Opened on first use and closed by `close()`.
   */
  storeUrl?: string;
  /** An open store to read from instead of `storeUrl`. Not closed by `close()`. */
  store?: PlanStore;
  /** Deadline of one store read. Default 20000 ms. */
  storeTimeoutMs?: number;
}

export interface StartRunOptions {
  /** The run id (= workflow id). Default `<spec.id>-<8 hex chars>`. */
  runId?: string;
  /** The run input, checked against the spec's `inputSchema`. */
  input?: unknown;
  /** Workflow tuning, e.g. `{ continueAsNewAfterMessages }` (the defaults suit production). */
  options?: PlanRunOptions;
}

export interface StartedRun {
  runId: string;
  planId: string;
  /** Spec warnings (e.g. a prose `when`); they do not prevent the start. */
  warnings: SpecProblem[];
}

/** One run as Temporal visibility sees it (search attributes; may lag the live state slightly). */
export interface RunListEntry {
  runId: string;
  planId?: string;
  /** `PlanRunStatus` search attribute (a `RunStatus`). */
  status?: RunStatus;
  /** `PlanWaitingOn` search attribute: owners (`agent:REF`, `human:REF`) the run is waiting on. */
  waitingOn: string[];
  /** `PlanCostUsd` search attribute: what the run's results reported spending (absent: no cost reported). */
  costUsd?: number;
  startTime: Date;
  closeTime?: Date;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, … */
  temporalStatus: string;
  /** On a child run of a plan node (docs/semantics.md, "Sub-plans"): its parent run. */
  parentRunId?: string;
}

export interface ListRunsOptions {
  status?: RunStatus | string;
  planId?: string;
  /** Only runs waiting on this owner (`agent:REF` or `human:REF`, matched against `PlanWaitingOn`). */
  waitingOn?: string;
  /** Only top-level runs: no child runs of plan nodes (docs/semantics.md, "Sub-plans"). */
  topLevel?: boolean;
  /** Only the child runs of this run. */
  parentRunId?: string;
  /** Default 100. */
  limit?: number;
}

export interface InboxNode {
  nodeId: string;
  type: string;
  status: string;
  attempt?: number;
  /** Set when the node waits for a human answer. */
  approvalId?: string;
  /** The node's label and objective: what is asked, so an agent can tell one plan's work from another's. */
  label?: string;
  objective?: string;
}

export interface InboxEntry {
  runId: string;
  planId?: string;
  title?: string;
  runStatus?: RunStatus;
  /** Ids of the nodes waiting on this owner (from a `snapshot` query). */
  nodeIds: string[];
  nodes: InboxNode[];
  /** Set when the run could not be queried (e.g. no worker); `nodeIds` is then empty. */
  error?: string;
}

export type StatusPredicate = RunStatus | readonly RunStatus[] | ((snapshot: RunSnapshot) => boolean);

export interface WaitOptions {
  /** Default 30000 ms. */
  timeoutMs?: number;
  /** Default 200 ms. */
  intervalMs?: number;
}


type PlanRunWorkflow = (input: PlanRunInput) => Promise<RunSnapshot>;

/** The messages a client sends, by the name of their schema in `../engine/messages`. */
type MessageSchemaName =
  | 'AgentSubmission'
  | 'HumanResponse'
  | 'CancelRequest'
  | 'ResumeRequest'
  | 'RetryRequest'
  | 'RaiseBudgetRequest'
  | 'ReplanRequest';

/** `agent:writer`, `human:editors`: how owners appear in `PlanWaitingOn` and in `inbox()`. */
export function ownerKey(owner: Pick<Owner, 'kind' | 'ref'>): string {
  return `${owner.kind}:${owner.ref}`;
}

/** Quote a value for a visibility query: `'it\'s'`. */
export function quoteVisibilityValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A short random suffix for run ids. */
export function shortId(): string {
  return randomBytes(4).toString('hex');
}

export interface ReplanOptions {
  /** Who replans (recorded on event `run-replanned`). */
  by: string;
  /** Why; recorded on the event. */
  reason?: string;
}

/** The run as a replan preview needs it: its spec, and the status of each node run. */
export interface ReplanBase {
  runId: string;
  planId: string;
  status: RunStatus;
  specVersion: number;
  spec: PlanSpec;
  /** Node runs of the current version (a node with no row counts as pending). */
  nodes: ReadonlyArray<{ nodeId: string; status: NodeStatus }>;
  /** The last event seq this view includes (the store may lag the live run). */
  lastSeq?: number;
}

/** What a replan would do, computed without sending it (`previewReplan`, `plan-runner replan --dry-run`). */
export interface ReplanPreview extends Omit<RunReplannedDetail, 'reason' | 'warnings'> {
  runId: string;
  planId: string;
  runStatus: RunStatus;
  /** Unchanged nodes downstream of a changed or added node: they start over too. */
  affected: string[];
  /** Validation warnings of the new spec. */
  warnings: SpecProblem[];
  /** Set when the run would refuse this replan (nothing would change). */
  refusal?: { reason: 'invalid-spec' | 'run-finished'; message: string };
  /** The last event seq the preview is based on, when known. */
  basedOnSeq?: number;
}

/**
 * What replanning `base` with `newSpec` (already validated) would do, computed as the workflow does
 * (docs/semantics.md §11, `replanRun` in src/engine/replan.ts): a node keeps its node run when its definition
 * and everything upstream are unchanged, it finished successfully (completed, partial, skipped) and
 * every node it depends on is kept too; every other node of the current version starts over. Pure.
 */
export function computeReplanPreview(base: ReplanBase, newSpec: PlanSpec, warnings: SpecProblem[] = []): ReplanPreview {
  const { specChanges, nodesToKeep, replanOutline } = replanEngine();
  const changes = specChanges(base.spec, newSpec);
  const status = new Map(base.nodes.map((node) => [node.nodeId, node.status]));
  const keep = nodesToKeep(changes, newSpec, (id) => SUCCESSFUL_NODE_STATUSES.includes(status.get(id) ?? 'pending'));
  const preview: ReplanPreview = {
    runId: base.runId,
    planId: base.planId,
    runStatus: base.status,
    fromVersion: base.specVersion,
    toVersion: base.specVersion + 1,
    ...replanOutline(changes, newSpec, keep, new Set(base.spec.nodes.map((node) => node.id))),
    affected: changes.affected,
    stoppedNodeIds: base.nodes
      .filter((node) => node.status === 'running' || node.status === 'awaiting-human')
      .map((node) => node.nodeId),
    warnings,
    ...(base.lastSeq !== undefined ? { basedOnSeq: base.lastSeq } : {}),
  };
  if (FINISHED_RUN_STATUSES.includes(base.status)) {
    preview.refusal = { reason: 'run-finished', message: `Run ${base.runId} is ${base.status}: it cannot be replanned.` };
  } else if (newSpec.id !== base.planId) {
    preview.refusal = {
      reason: 'invalid-spec',
      message:
        `$.id: is "${newSpec.id}" but run ${base.runId} runs plan "${base.planId}"; ` +
        'a replan keeps the plan id (start a new run for another plan).',
    };
  }
  return preview;
}

/** `inbox` when no row could be read for want of a worker: one error for all of them. */
function inboxDiagnosis(owner: string, errors: Array<NoWorkerError | RunUnresponsiveError>): PlanRunnerError {
  const count = `${errors.length} run(s) wait on ${owner}`;
  const queues = [...new Set(errors.map((err) => err.taskQueue ?? '(unknown)'))];
  const first = errors[0];
  if (errors.every((err) => err instanceof NoWorkerError)) {
    return new NoWorkerError(
      first.runId,
      queues[0],
      queues.length === 1
        ? `${count}, but ${first.message.replace(/query snapshot of run \S+/, 'their nodes')}`
        : `${count}, but no worker polls their task queues (${queues.join(', ')}): start one per queue (plan-runner worker --task-queue Q)`,
      { cause: first },
    );
  }
  return new RunUnresponsiveError(
    first.runId,
    queues.length === 1 && errors.every((err) => err.constructor === first.constructor)
      ? `${count}, but ${first.message.replace(/query snapshot of run \S+/, 'their nodes')}`
      : `${count}, but none could be read: ${[...new Set(errors.map(shortWorkerError))].join('; ')}`,
    { cause: first, taskQueue: queues[0] },
  );
}

/** The short form of a worker error, for one row of `inbox`. */
function shortWorkerError(err: NoWorkerError | RunUnresponsiveError): string {
  if (err instanceof NoWorkerError) return `no worker is polling task queue ${err.taskQueue}`;
  return `the worker on task queue ${err.taskQueue ?? '(unknown)'} did not answer in time`;
}

/**
 * For a closed run: Temporal needs a worker for a query even then (it replays the run to answer),
 * but the store has its record without one. `closed` says how it ended, when the store knows.
 */
function closedNote(closed: ClosedRun | undefined): string {
  if (!closed) return '';
  const ended =
    closed.runStatus === 'aborted' && closed.cancelledBy
      ? `cancelled by ${closed.cancelledBy}${closed.cancelReason ? ` (${closed.cancelReason})` : ''}, Temporal status ${closed.temporalStatus}`
      : `${closed.runStatus ? `plan-runner's last status ${closed.runStatus}, ` : ''}Temporal status ${closed.temporalStatus}`;
  return (
    `. The run is closed (${ended}), and Temporal still needs a worker to answer a query about it; ` +
    `without one, the store has its record: plan-runner events ${closed.runId} (and attempts, approvals, checkpoints)`
  );
}

function grpcCode(err: unknown): number | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function messages(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (current instanceof Error) parts.push(current.message);
    else if (typeof current === 'string') parts.push(current);
    current = current && typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
  return parts.join(' / ');
}

const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;
const GRPC_INVALID_ARGUMENT = 3;
/** How long a refusal of a closed run waits for the store to say who cancelled it. */
const CLOSED_RUN_STORE_WAIT_MS = 3_000;

export class PlanRunnerClient {
  readonly address: string;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly uiUrl: string;
  /**
   * How this client reaches Temporal, without secrets (address, namespace, TLS, whether an API key
   * is set, the profile): for logs and `--help`-style output. `undefined` for a client given ready-made.
   */
  readonly connectionDescription?: ConnectionDescription;
  private ownsConnection: boolean;
  private clientInstance?: Client;
  private readonly settings?: TemporalConnectionSettings;
  /** A config error kept for the first call that needs Temporal: store reads must work without one. */
  private readonly settingsError?: unknown;
  private readonly givenConnection?: Connection;
  private readonly reader: StoreReader;
  private readonly queryTimeoutMs: number;
  private readonly updateTimeoutMs: number;
  private readonly storeTimeoutMs: number;
  /** Whether a worker polls a run's task queue, asked before queries and updates. */
  private workerCheck?: WorkerCheck;
  /** The payload limits messages are checked against before they are sent. */
  readonly limits: PayloadLimits;

  /**
   * Without `client` or `connection` the connection is lazy: the first call connects (and a server
   * that is down is reported by that call). Prefer `PlanRunnerClient.connect()`, which checks first.
   */
  constructor(options: PlanRunnerClientOptions = {}) {
    this.taskQueue = options.taskQueue ?? process.env.PLAN_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
    this.queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    this.updateTimeoutMs = options.updateTimeoutMs ?? DEFAULT_UPDATE_TIMEOUT_MS;
    this.storeTimeoutMs = options.storeTimeoutMs ?? 20_000;
    this.limits = options.limits ? resolvePayloadLimits(options.limits) : payloadLimitsFromEnv(process.env);
    this.reader = new StoreReader({ url: options.storeUrl, store: options.store, timeoutMs: options.storeTimeoutMs });
    if (options.client) {
      this.clientInstance = options.client;
      this.address = namesWithoutFiles(options).address;
      this.namespace = options.client.options.namespace;
      this.ownsConnection = false;
    } else {
      try {
        this.settings = options.connectionSettings ?? resolveConnectionSettings(options);
      } catch (err) {
        // With a connection of its own the caller asked for these settings (the namespace): say so now.
        if (options.connection) throw err;
        this.settingsError = err;
      }
      const names = this.settings ?? namesWithoutFiles(options);
      this.address = names.address;
      this.namespace = names.namespace;
      this.connectionDescription = this.settings?.description;
      this.givenConnection = options.connection;
      this.ownsConnection = !options.connection;
    }
    // After the address: a local one links to its dev server's own UI port.
    this.uiUrl = (options.uiUrl ?? (process.env.TEMPORAL_UI_URL || defaultUiUrl(this.address))).replace(/\/+$/, '');
  }

  /**
   * The Temporal client. Built on first use, so that a client used only for store reads never
   * needs Temporal settings that work; throws the `TemporalConfigError` if they do not.
   */
  get client(): Client {
    if (!this.clientInstance) {
      if (this.settingsError !== undefined) throw this.settingsError;
      const connection = this.givenConnection ?? Connection.lazy(this.settings!.connectionOptions);
      this.clientInstance = new Client({ connection, namespace: this.namespace });
    }
    return this.clientInstance;
  }

  /**
   * Connect (failing fast when the server cannot be reached) and build a client. Throws
   * `TemporalConfigError` for unusable settings (config file, profile, TLS files) and
   * `TemporalUnavailableError` with the `reason` a probe found (down, untrusted certificate, TLS
   * mismatch, …) when the connection fails.
   */
  static async connect(options: PlanRunnerClientOptions = {}): Promise<PlanRunnerClient> {
    if (options.client || options.connection) return new PlanRunnerClient(options);
    const settings = options.connectionSettings ?? resolveConnectionSettings(options);
    let connection: Connection;
    try {
      connection = await Connection.connect({ ...settings.connectionOptions, connectTimeout: options.connectTimeoutMs ?? 5_000 });
    } catch (err) {
      throw await explainConnectFailure(settings, err);
    }
    const client = new PlanRunnerClient({ ...options, connectionSettings: settings, connection });
    client.ownsConnection = true;
    return client;
  }

  /** Close the connection and the store if this client opened them. */
  async close(): Promise<void> {
    try {
      // connect() hands its connection over before anything built the Temporal client on it.
      const connection = this.clientInstance?.connection ?? this.givenConnection;
      if (this.ownsConnection && connection) await connection.close();
    } finally {
      await this.reader.close();
    }
  }

  /**
   * Where the store is: the SQLite file's absolute path, or the PostgreSQL URL without its password.
   * Does not open the store.
   */
  get storeLocation(): string {
    return this.reader.location;
  }

  /** The store, opened on first use (throws `StoreUnavailableError` naming its location). */
  async store(): Promise<PlanStore> {
    return this.reader.store();
  }

  /** The Temporal Web UI page of a run. */
  webUiUrl(runId: string): string {
    return `${this.uiUrl}/namespaces/${encodeURIComponent(this.namespace)}/workflows/${encodeURIComponent(runId)}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Start

  /**
   * Validate the spec (with its JSON Schemas) and the input, then start workflow `planRun`. Nothing
   * is started when there is a problem (`PlanValidationError`). A run id that was used before, even
   * by a finished run, is refused (`RunAlreadyExistsError`).
   */
  async start(spec: unknown, opts: StartRunOptions = {}): Promise<StartedRun> {
    const { spec: planSpec, warnings } = assertValidRunRequest(spec, opts.input, this.limits);
    const runId = opts.runId ?? `${planSpec.id}-${shortId()}`;
    if (!runId.trim() || runId.length > 255) {
      throw new PlanValidationError([{ path: '$runId', message: 'must be 1 to 255 characters' }], [], 'run id');
    }
    const input: PlanRunInput = { spec: planSpec, input: opts.input, ...(opts.options ? { options: opts.options } : {}) };
    const edgeCount = planSpec.edges?.length ?? 0;
    const staticDetails = [
      `**Plan** \`${planSpec.id}\`${planSpec.title ? `: ${planSpec.title}` : ''}`,
      '',
      `${planSpec.nodes.length} node${planSpec.nodes.length === 1 ? '' : 's'}, ${edgeCount} edge${edgeCount === 1 ? '' : 's'}: ` +
        planSpec.nodes.map((node) => `\`${node.id}\``).join(', '),
    ].join('\n');
    try {
      await this.client.workflow.start<PlanRunWorkflow>(WORKFLOW_TYPE, {
        args: [input],
        workflowId: runId,
        taskQueue: this.taskQueue,
        staticSummary: planSpec.title ?? planSpec.id,
        staticDetails,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: PlanIdKey, value: planSpec.id },
          { key: PlanRunStatusKey, value: 'running' },
          { key: PlanWaitingOnKey, value: [] },
        ],
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new RunAlreadyExistsError(runId, { cause: err });
      throw this.translate(err, runId);
    }
    return { runId, planId: planSpec.id, warnings };
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  /**
   * Submit an agent's result (update `submitNodeResult`). Refusals throw `RunRefusedError`.
   * `options.updateId` names the Temporal update: one that may already have reached the server
   * (sent before, by this or another client) is then not applied again, and its outcome comes back.
   */
  async submitResult(runId: string, submission: AgentSubmission, options: { updateId?: string } = {}): Promise<SubmitOutcome> {
    const payload = this.parse(runId, 'AgentSubmission', submission, 'result');
    return this.update(runId, submitNodeResultUpdate, payload, options.updateId);
  }

  /** Send an agent's result as signal `nodeResult`: no outcome; a refusal becomes event `result-rejected`. */
  async signalResult(runId: string, submission: AgentSubmission): Promise<void> {
    const payload = this.parse(runId, 'AgentSubmission', submission, 'result');
    await this.signal(runId, () => this.handle(runId).signal(nodeResultSignal, payload));
  }

  /** Answer a pending approval (update `submitHumanResponse`). Refusals throw `RunRefusedError`. */
  async respond(runId: string, response: HumanResponse): Promise<SubmitOutcome> {
    const payload = this.parse(runId, 'HumanResponse', response, 'response');
    return this.update(runId, submitHumanResponseUpdate, payload);
  }

  /** Answer a pending approval as signal `humanResponse`. */
  async signalResponse(runId: string, response: HumanResponse): Promise<void> {
    const payload = this.parse(runId, 'HumanResponse', response, 'response');
    await this.signal(runId, () => this.handle(runId).signal(humanResponseSignal, payload));
  }

  /**
   * Cancel the run (update `cancelRun`): run `aborted`. Once its records are written and delivered,
   * the workflow closes as Temporal *Canceled* (`result()` then queries the final snapshot).
   */
  async cancel(runId: string, request: CancelRequest): Promise<OperationOutcome> {
    const payload = this.parse(runId, 'CancelRequest', request, 'cancel');
    return this.update(runId, cancelRunUpdate, payload);
  }

  /** Resume the run (update `resumeRun`). */
  async resume(runId: string, request: ResumeRequest): Promise<OperationOutcome> {
    const payload = this.parse(runId, 'ResumeRequest', request, 'resume');
    return this.update(runId, resumeRunUpdate, payload);
  }

  /** Retry a failed or blocked node (update `retryNodeRun`); `input` replaces its resolved input. */
  async retry(runId: string, request: RetryRequest): Promise<OperationOutcome> {
    const payload = this.parse(runId, 'RetryRequest', request, 'retry');
    return this.update(runId, retryNodeUpdate, payload);
  }

  /**
   * Raise the plan's budget (update `raiseBudget`; docs/semantics.md, "Budgets"): new, higher limits.
   * A run blocked by its budget goes on once its spending is within them. Refused (`RunRefusedError`,
   * reason `budget-not-raised`) when the run has no such budget or a limit is not higher.
   */
  async raiseBudget(runId: string, request: RaiseBudgetRequest): Promise<OperationOutcome> {
    const payload = this.parse(runId, 'RaiseBudgetRequest', request, 'raiseBudget');
    return this.update(runId, raiseBudgetUpdate, payload);
  }

  /**
   * Replan the run (docs/semantics.md §11, update `replanRun`): it continues under the new spec version. Nodes
   * with an unchanged definition that finished successfully keep their node run; every other node
   * starts over as pending (see `previewReplan` for what would happen, without sending anything).
   *
   * The new spec is checked first exactly as `start` checks one (its JSON Schemas compiled too): a
   * broken spec throws `PlanValidationError` and never reaches the run. The run itself refuses
   * (`RunRefusedError`) a spec with another plan id or one that fails its own checks (`invalid-spec`)
   * and a finished run (`run-finished`). After accepting, the workflow continues as new under the
   * same workflow id (messages always go to its latest execution).
   */
  async replan(runId: string, spec: unknown, options: ReplanOptions): Promise<ReplanOutcome> {
    const { spec: planSpec } = assertValidPlanSpec(spec);
    const payload = this.parse(
      runId,
      'ReplanRequest',
      { spec: planSpec, by: options.by, ...(options.reason !== undefined ? { reason: options.reason } : {}) },
      'replan',
    );
    return this.update(runId, replanRunUpdate, payload);
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  /**
   * The run's current snapshot. A completed run answers from its result (no worker needed); a live
   * run, or one that closed otherwise (a cancelled run closes as Canceled), is queried.
   */
  async snapshot(runId: string): Promise<RunSnapshot> {
    this.checkWorkersMeanwhile();
    const description = await this.describeRaw(runId);
    if (description.status.name === 'COMPLETED') {
      try {
        return await this.result(runId);
      } catch (err) {
        if (!(err instanceof RunFailedError)) throw err;
        // Fall through to the query below.
      }
    }
    return this.query(runId, snapshotQuery, [], description);
  }

  /**
   * The run's events from the store, in seq order: those after `sinceSeq`, at most `limit`. Needs no
   * Temporal server or worker. `events(runId, 12)` is short for `events(runId, { sinceSeq: 12 })`.
   * An unknown run throws `RunNotFoundError` naming the store.
   */
  async events(runId: string, options?: number | EventsOptions): Promise<RunEvent[]> {
    return this.reader.events(runId, typeof options === 'number' ? { sinceSeq: options } : (options ?? {}));
  }

  /**
   * The run's events as the worker records them, in seq order, read by polling the store (every
   * `pollMs`, default 500 ms). It ends once the run is finished (`completed` or `aborted`; add
   * `failed` with `endOn`) and every event up to the run's last seq was yielded, or when `signal`
   * aborts. A `failed` run is followed on by default, since retrying a node can continue it. A run
   * the store does not know throws `RunNotFoundError`, at once unless `waitForRunMs` is given (useful
   * right after `start`, before the worker recorded the run's first step).
   *
   * ```ts
   * for await (const event of client.followEvents(runId, { sinceSeq: 0 })) console.log(event.message);
   * ```
   */
  followEvents(runId: string, options: FollowEventsOptions = {}): AsyncGenerator<RunEvent, void, undefined> {
    return this.reader.followEvents(runId, options);
  }

  /**
   * The live workflow's events (query `events`), optionally only those after `sinceSeq`. Needs a
   * worker; prefer `events()`, which reads the store and also works for finished runs.
   */
  async queryEvents(runId: string, sinceSeq?: number): Promise<RunEvent[]> {
    const args: [{ sinceSeq?: number }?] = sinceSeq === undefined ? [] : [{ sinceSeq }];
    return this.query(runId, eventsQuery, args);
  }

  /**
   * A spec of the run from the store (no Temporal needed): `version`, or without it the current one
   * (the one it started with, or its last replan's). An unknown run throws `RunNotFoundError` naming
   * the store, a version the run never had `SpecVersionNotFoundError`.
   */
  async storedSpec(runId: string, version?: number): Promise<PlanSpec> {
    return this.reader.spec(runId, version);
  }

  /** Every spec version of the run from the store, oldest first, with when each was recorded. */
  async specVersions(runId: string): Promise<StoredSpecVersion[]> {
    return this.reader.specVersions(runId);
  }

  /**
   * What `replan(runId, spec)` would do, read from the store (no Temporal needed, nothing is sent):
   * the nodes kept, reset, added and removed, and the refusal the run would answer with, if any. The
   * spec is checked first as `replan` checks it (`PlanValidationError`). The store may lag the live
   * run by a moment (`basedOnSeq` says how far it got).
   */
  async previewReplan(runId: string, spec: unknown): Promise<ReplanPreview> {
    const { spec: newSpec, warnings } = assertValidPlanSpec(spec);
    const run = await this.reader.run(runId);
    const [current, nodes] = await this.storeRead((store) => Promise.all([store.getSpec(runId), store.listNodeRuns(runId)]));
    if (!current) throw new RunNotFoundError(runId, this.namespace, { store: this.reader.location });
    return computeReplanPreview(
      {
        runId,
        planId: run.planId,
        status: run.status,
        specVersion: run.specVersion,
        spec: current,
        nodes,
        lastSeq: run.lastSeq,
      },
      newSpec,
      warnings,
    );
  }

  /** The run as the store records it (status, lastSeq, failure count, times). */
  async storedRun(runId: string): Promise<StoredRun> {
    return this.reader.run(runId);
  }

  /**
   * Approvals across runs from the store, newest request first: `pending` ones only, those `by` may
   * answer (owner ref or named approver) or answered, of one `runId`, at most `limit`.
   */
  async approvals(options: ApprovalsOptions = {}): Promise<StoredApproval[]> {
    return this.reader.approvals(options);
  }

  /** A node's attempts from the store, in order, each with its issues and artifacts. */
  async attempts(runId: string, nodeId: string): Promise<StoredAttempt[]> {
    return this.reader.attempts(runId, nodeId);
  }

  /** The run's checkpoints from the store, in sequence order (docs/semantics.md §10). */
  async checkpoints(runId: string): Promise<Checkpoint[]> {
    return this.reader.checkpoints(runId);
  }

  /** Apply the store's pending migrations (creating the SQLite file if needed). */
  async migrate(): Promise<MigrateResult> {
    return this.reader.migrate();
  }

  /** The work item of a node (query `workItem`): what its owner is asked to do now, or null. */
  async workItem(runId: string, nodeId: string): Promise<WorkItem | null> {
    return this.query(runId, workItemQuery, [{ nodeId }]);
  }

  /**
   * Wait for the workflow to close and return its final snapshot. A completed run's is its
   * workflow's result; a cancelled run's workflow closes as Canceled, without a result, so its final
   * snapshot is queried (a worker must be up), and status `aborted` says it was cancelled.
   */
  async result(runId: string): Promise<RunSnapshot> {
    try {
      return (await this.handle(runId).result()) as RunSnapshot;
    } catch (err) {
      if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
        const snapshot = await this.query(runId, snapshotQuery, []);
        if (snapshot.status === 'aborted') return snapshot;
      }
      if (err instanceof WorkflowFailedError) {
        const cause = err.cause;
        const failureType = cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
        throw new RunFailedError(runId, `run ${runId} did not complete: ${cause?.message ?? err.message}`, {
          cause: err,
          failureType,
        });
      }
      throw this.translate(err, runId);
    }
  }

  /** What visibility knows about one run (search attributes and Temporal status). */
  async describe(runId: string): Promise<RunListEntry> {
    return toListEntry(await this.describeRaw(runId));
  }

  /** Runs of type `planRun`, newest first, filtered by `PlanRunStatus`, `PlanId` and `PlanWaitingOn`. */
  async list(options: ListRunsOptions = {}): Promise<RunListEntry[]> {
    const clauses = [`WorkflowType = ${quoteVisibilityValue(WORKFLOW_TYPE)}`];
    if (options.status) clauses.push(`PlanRunStatus = ${quoteVisibilityValue(options.status)}`);
    if (options.planId) clauses.push(`PlanId = ${quoteVisibilityValue(options.planId)}`);
    if (options.waitingOn) clauses.push(`PlanWaitingOn = ${quoteVisibilityValue(options.waitingOn)}`);
    if (options.topLevel) clauses.push('ParentWorkflowId IS NULL');
    if (options.parentRunId) clauses.push(`ParentWorkflowId = ${quoteVisibilityValue(options.parentRunId)}`);
    return this.listQuery(clauses.join(' AND '), options.limit ?? 100);
  }

  /**
   * Open runs waiting on `owner` (`agent:REF` or `human:REF`, matched against `PlanWaitingOn`), each
   * with the nodes waiting on that owner (from a `snapshot` query per run), their attempt and brief.
   * `planId` keeps only runs of that plan: an owner ref may serve several plans, and a result meant
   * for one plan's node is accepted by another's if its schema fits.
   */
  async inbox(owner: string, options: { limit?: number; planId?: string } = {}): Promise<InboxEntry[]> {
    const match = /^(agent|human):(.+)$/.exec(owner);
    if (!match) {
      throw new PlanValidationError(
        [{ path: 'owner', message: `"${owner}" must look like agent:REF or human:REF` }],
        [],
        'owner',
      );
    }
    const [, kind, ref] = match;
    const query = [
      `WorkflowType = ${quoteVisibilityValue(WORKFLOW_TYPE)}`,
      `ExecutionStatus = 'Running'`,
      `PlanWaitingOn = ${quoteVisibilityValue(owner)}`,
      // An owner such as agent:writer may work for several plans: an agent filters by the plan it serves.
      ...(options.planId !== undefined ? [`PlanId = ${quoteVisibilityValue(options.planId)}`] : []),
    ].join(' AND ');
    const runs = await this.listQuery(query, options.limit ?? 100);
    const entries = await Promise.all(
      runs.map(async (run): Promise<InboxEntry> => {
        try {
          const snapshot = await this.snapshot(run.runId);
          const nodes = waitingNodes(snapshot, kind as Owner['kind'], ref);
          return {
            runId: run.runId,
            planId: snapshot.planId,
            title: snapshot.title,
            runStatus: snapshot.status,
            nodeIds: nodes.map((node) => node.nodeId),
            nodes,
          };
        } catch (err) {
          if (err instanceof TemporalUnavailableError) throw err;
          return {
            runId: run.runId,
            planId: run.planId,
            runStatus: run.status,
            nodeIds: [],
            nodes: [],
            error: err instanceof Error ? err.message : String(err),
            ...(err instanceof NoWorkerError || err instanceof RunUnresponsiveError ? { workerError: err } : {}),
          };
        }
      }),
    );
    // One diagnosis for the command, not the same one per row: when no run could be read because
    // no worker polls its queue (or the one listed did not answer), say that once.
    const failed = entries.map((entry) => (entry as { workerError?: NoWorkerError | RunUnresponsiveError }).workerError);
    if (entries.length > 0 && failed.every((err) => err !== undefined)) {
      throw inboxDiagnosis(owner, failed as Array<NoWorkerError | RunUnresponsiveError>);
    }
    for (const entry of entries) {
      const row = entry as { workerError?: NoWorkerError | RunUnresponsiveError; error?: string };
      if (row.workerError) {
        row.error = shortWorkerError(row.workerError);
        delete row.workerError;
      }
    }
    return entries;
  }

  /** Poll `snapshot` until `predicate` holds; throws `WaitTimeoutError` after `timeoutMs`. */
  async waitForStatus(runId: string, predicate: StatusPredicate, options: WaitOptions = {}): Promise<RunSnapshot> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const intervalMs = options.intervalMs ?? 200;
    const test: (snapshot: RunSnapshot) => boolean =
      typeof predicate === 'function'
        ? predicate
        : typeof predicate === 'string'
          ? (snapshot) => snapshot.status === predicate
          : (snapshot) => (predicate as readonly RunStatus[]).includes(snapshot.status);
    const deadline = Date.now() + timeoutMs;
    let last: RunSnapshot | undefined;
    for (;;) {
      try {
        last = await this.snapshot(runId);
        if (test(last)) return last;
      } catch (err) {
        if (!(err instanceof RunUnresponsiveError)) throw err;
      }
      if (Date.now() + intervalMs > deadline) throw new WaitTimeoutError(runId, timeoutMs, last?.status);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private handle(runId: string): WorkflowHandle<PlanRunWorkflow> {
    return this.client.workflow.getHandle<PlanRunWorkflow>(runId);
  }

  /**
   * A message checked as the run will check it (the same limits and schema), so a message the run
   * would refuse is refused here, before anything is sent.
   */
  private parse(runId: string, schema: MessageSchemaName, value: unknown, what: string): any {
    const parsed = messageChecks().parseMessage<unknown>(messageShapes().MESSAGE_SHAPES[schema], value, what, this.limits);
    if (parsed.refused) throw new RunRefusedError(runId, parsed.reason, parsed.message);
    return parsed.message;
  }

  /** One read from the store, with the store deadline, its errors naming the store. */
  private async storeRead<T>(read: (store: PlanStore) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const work = this.reader.store().then(read);
      work.catch(() => undefined);
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const where = this.reader.location;
          reject(new StoreUnavailableError(where, `the store at ${where} did not answer within ${this.storeTimeoutMs} ms: is the database up?`));
        }, this.storeTimeoutMs);
      });
      return await Promise.race([work, deadline]);
    } catch (err) {
      throw translateStoreError(err, this.reader.location);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private async describeRaw(runId: string) {
    try {
      return await this.handle(runId).describe();
    } catch (err) {
      throw this.translate(err, runId);
    }
  }

  private async listQuery(query: string, limit: number): Promise<RunListEntry[]> {
    const entries: RunListEntry[] = [];
    if (limit <= 0) return entries;
    try {
      for await (const info of this.client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
        entries.push(toListEntry(info));
        if (entries.length >= limit) break;
      }
    } catch (err) {
      throw this.translate(err);
    }
    return entries;
  }

  /**
   * Throws `NoWorkerError` when no worker polls the run's task queue (the queue it was started on,
   * which need not be this client's), so that a query or update is not sent to wait for nothing.
   * Returns the run's task queue and what the server said about its pollers. When the server cannot
   * say, the call goes ahead. A worker that is listed is waited for, however slow (worker-check.ts).
   */
  private async requireWorker(
    runId: string,
    what: string,
    described?: WorkflowExecutionDescription,
  ): Promise<{ taskQueue: string; report?: PollerReport }> {
    const description = described ?? (await this.describeRaw(runId));
    const taskQueue = description.taskQueue;
    let verdict: WorkerVerdict;
    try {
      verdict = await this.workers().verdict(taskQueue);
    } catch {
      return { taskQueue };
    }
    if (verdict.ok) return { taskQueue, report: verdict.report };
    const closed = description.status.name === 'RUNNING' ? undefined : await this.closedRun(runId, description);
    throw new NoWorkerError(runId, taskQueue, `${noWorkerMessage(verdict, what)}${closedNote(closed)}`);
  }

  /** The task queue of each run updated lately (a run's never changes), at most `TASK_QUEUES_KEPT`. */
  private readonly taskQueueOfRun = new Map<string, string>();

  private rememberTaskQueue(runId: string, taskQueue: string): void {
    this.taskQueueOfRun.delete(runId);
    this.taskQueueOfRun.set(runId, taskQueue);
    if (this.taskQueueOfRun.size > TASK_QUEUES_KEPT) this.taskQueueOfRun.delete(this.taskQueueOfRun.keys().next().value as string);
  }

  /**
   * Start asking who polls this client's task queue while the run is described: the run is nearly
   * always on that queue, and `requireWorker` then finds the answer already asked for instead
   * of waiting one more round trip after the description (a run on another queue is asked about
   * as before). An answer that failed is asked for again by the check itself.
   */
  private checkWorkersMeanwhile(): void {
    try {
      this.workers().askAhead(this.taskQueue);
    } catch {
      // No Temporal client (unusable settings): the description reports it.
    }
  }

  private workers(): WorkerCheck {
    this.workerCheck ??= new WorkerCheck(this.client, this.namespace);
    return this.workerCheck;
  }

  /** `unansweredError` with how the run ended, when `description` says it is closed. */
  private unanswered(
    runId: string,
    taskQueue: string,
    what: string,
    timeoutMs: number,
    cause: unknown,
    options: { description?: WorkflowExecutionDescription; suffix?: string } = {},
  ): Promise<Error> {
    const description = options.description;
    return unansweredError(this.workers(), runId, taskQueue, what, timeoutMs, cause, {
      suffix: options.suffix,
      closedNote: async () =>
        description && description.status.name !== 'RUNNING' ? closedNote(await this.closedRun(runId, description)) : '',
    });
  }

  private async query<R, A extends any[]>(
    runId: string,
    def: QueryDefinition<R, A>,
    args: A,
    described?: WorkflowExecutionDescription,
  ): Promise<R> {
    const what = `query ${def.name} of run ${runId}`;
    const { taskQueue } = await this.requireWorker(runId, what, described);
    try {
      return await this.client.withDeadline(Date.now() + this.queryTimeoutMs, () =>
        this.handle(runId).query(def, ...args),
      );
    } catch (err) {
      if (grpcCode(err) === GRPC_DEADLINE_EXCEEDED) {
        throw await this.unanswered(runId, taskQueue, what, this.queryTimeoutMs, err, { description: described });
      }
      throw this.translate(err, runId);
    }
  }

  private async update<R, A>(runId: string, def: UpdateDefinition<R, [A]>, arg: A, updateId?: string): Promise<R> {
    const what = `update ${def.name} of run ${runId}`;
    let taskQueue = this.taskQueue;
    const known = this.taskQueueOfRun.get(runId);
    if (known !== undefined && this.workers().recentlySeen(known)) {
      // Updates in a row to one run (an agent's results, a person's answers) skip the describe: the
      // run's task queue does not change, and its worker was seen within the last few seconds. A run
      // that closed meanwhile fails the update as "not found", which finishedOrMissing words below.
      taskQueue = known;
    } else {
      this.checkWorkersMeanwhile();
      try {
        const description = await this.handle(runId).describe();
        taskQueue = description.taskQueue;
        // A closed run is answered below (a message to it fails as "not found": finishedOrMissing).
        if (description.status.name === 'RUNNING') {
          await this.requireWorker(runId, what, description);
          this.rememberTaskQueue(runId, taskQueue);
        }
      } catch (err) {
        if (err instanceof NoWorkerError) throw err;
        if (err instanceof WorkflowNotFoundError) throw this.translate(err, runId);
        // Otherwise let the update itself report what is wrong.
      }
    }
    try {
      const deadline = Date.now() + this.updateTimeoutMs;
      for (let attempt = 1; ; attempt++) {
        try {
          // A given id goes with the first attempt only: an unprocessed update was not applied, and
          // the retries below get ids of their own as before.
          const id = attempt === 1 ? updateId : undefined;
          return await this.client.withDeadline(deadline, () => this.handle(runId).executeUpdate(def, { args: [arg], ...(id ? { updateId: id } : {}) }));
        } catch (err) {
          // Under concurrent updates to one run, the server sometimes rejects an update the worker
          // never saw ("wasn't processed by worker"): nothing was applied, so sending it again is
          // safe (and a result with a submissionId is applied once however often it is sent).
          if (!(err instanceof WorkflowUpdateFailedError && isUnprocessedUpdate(err)) || attempt >= UNPROCESSED_UPDATE_ATTEMPTS || Date.now() >= deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** (attempt - 1)));
        }
      }
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const refusal = refusalFrom(runId, err);
        const nodeId = (arg as { nodeId?: unknown } | undefined)?.nodeId;
        // An unknown node is the same error wherever it is named (the store says it for attempts).
        if (refusal.reason === 'unknown-node' && typeof nodeId === 'string') {
          const nodes = /its nodes: (.+?)\.?$/.exec(refusal.message)?.[1]?.split(', ') ?? [];
          throw new NodeNotFoundError(runId, nodeId, nodes.filter((id) => !/ and \d+ more$/.test(id)), { cause: err, message: refusal.message.replace(/\.$/, '') });
        }
        throw refusal;
      }
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || grpcCode(err) === GRPC_DEADLINE_EXCEEDED) {
        throw await this.unanswered(runId, taskQueue, what, this.updateTimeoutMs, err, {
          suffix: UPDATE_MAY_STILL_APPLY,
        });
      }
      if (err instanceof WorkflowNotFoundError) throw await this.finishedOrMissing(runId, err);
      throw this.translate(err, runId);
    }
  }

  private async signal(runId: string, send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw await this.finishedOrMissing(runId, err);
      throw this.translate(err, runId);
    }
  }

  /**
   * A message to a closed workflow fails as "not found": tell a finished run from a missing one, and
   * say how the finished one ended (`RunFinishedError`).
   */
  private async finishedOrMissing(runId: string, err: unknown): Promise<Error> {
    let description: WorkflowExecutionDescription;
    try {
      description = await this.handle(runId).describe();
    } catch (describeErr) {
      return this.translate(describeErr, runId);
    }
    if (description.status.name === 'RUNNING') return this.translate(err, runId);
    return new RunFinishedError(await this.closedRun(runId, description), { cause: err });
  }

  /**
   * How a closed run ended: plan-runner's last status and who cancelled it, from the store (waited
   * for briefly: this only words an error), else the status from the `PlanRunStatus` search attribute.
   */
  private async closedRun(runId: string, description: WorkflowExecutionDescription): Promise<ClosedRun> {
    const closed: ClosedRun = {
      runId,
      temporalStatus: description.status.name,
      runStatus: description.typedSearchAttributes?.get(PlanRunStatusKey) as RunStatus | undefined,
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      const read = this.reader.run(runId);
      read.catch(() => undefined);
      const stored = await Promise.race([
        read,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), Math.min(this.storeTimeoutMs, CLOSED_RUN_STORE_WAIT_MS));
        }),
      ]);
      if (!stored) return closed;
      return { ...closed, runStatus: stored.status, cancelledBy: stored.cancelledBy, cancelReason: stored.cancelReason };
    } catch {
      return closed; // another store, or none: the search attribute says enough
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Map SDK and gRPC errors to plan-runner errors. */
  private translate(err: unknown, runId?: string): Error {
    if (err instanceof PlanRunnerError) return err;
    if (err instanceof WorkflowNotFoundError && runId !== undefined) {
      return new RunNotFoundError(runId, this.namespace, { cause: err });
    }
    if (err instanceof NamespaceNotFoundError) {
      return new TemporalSetupError(
        `namespace ${err.namespace} does not exist on Temporal at ${this.address} ` +
          `(create it: temporal operator namespace create --namespace ${err.namespace})`,
        { cause: err },
      );
    }
    const code = grpcCode(err);
    const text = messages(err);
    if (code === GRPC_UNAVAILABLE || /Failed to connect before the deadline/i.test(text)) {
      const description = this.settings?.description;
      // No probe here (this is synchronous); PlanRunnerClient.connect() and the CLI run one.
      return new TemporalUnavailableError(
        this.address,
        description?.tls
          ? `cannot reach Temporal at ${this.address} over TLS (${description.summary}): is the server up, does it speak TLS, ` +
              `and is its certificate trusted? PlanRunnerClient.connect() says which (${text})`
          : undefined,
        { cause: err, tls: description?.tls },
      );
    }
    if (code === GRPC_INVALID_ARGUMENT && /search attribute/i.test(text)) {
      return new TemporalSetupError(
        `Temporal at ${this.address} lacks plan-runner's search attributes (PlanId, PlanRunStatus, PlanWaitingOn, PlanCostUsd): ` +
          `start the server with ./temporal-dev.sh server, or register them (${text})`,
        { cause: err },
      );
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** How many times an update the worker never processed is sent in all (see `update`). */
const UNPROCESSED_UPDATE_ATTEMPTS = 6;

/** Runs whose task queue a client keeps (for updates in a row without a describe each). */
const TASK_QUEUES_KEPT = 1_000;

/** The server's rejection of an update that no worker processed (not a refusal by the run). */
function isUnprocessedUpdate(err: WorkflowUpdateFailedError): boolean {
  return /wasn't processed by worker/i.test(err.cause?.message ?? err.message);
}

function refusalFrom(runId: string, err: WorkflowUpdateFailedError): RunRefusedError {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    const detail = cause.details?.[0] as { reason?: unknown; message?: unknown } | undefined;
    const reason =
      typeof detail?.reason === 'string'
        ? detail.reason
        : cause.type === FAILURE_TYPES.refused || !cause.type
          ? 'refused'
          : cause.type;
    const message = typeof detail?.message === 'string' ? detail.message : cause.message;
    return new RunRefusedError(runId, reason, message, { cause: err });
  }
  return new RunRefusedError(runId, 'refused', cause?.message ?? err.message, { cause: err });
}

function toListEntry(
  info: Pick<WorkflowExecutionInfo, 'workflowId' | 'typedSearchAttributes' | 'startTime' | 'closeTime' | 'status' | 'parentExecution'>,
): RunListEntry {
  const attributes = info.typedSearchAttributes;
  return {
    runId: info.workflowId,
    planId: attributes?.get(PlanIdKey),
    status: attributes?.get(PlanRunStatusKey) as RunStatus | undefined,
    waitingOn: attributes?.get(PlanWaitingOnKey) ?? [],
    ...(attributes?.get(PlanCostUsdKey) !== undefined ? { costUsd: attributes.get(PlanCostUsdKey) } : {}),
    startTime: info.startTime,
    closeTime: info.closeTime,
    temporalStatus: info.status.name,
    ...(info.parentExecution?.workflowId ? { parentRunId: info.parentExecution.workflowId } : {}),
  };
}

/** Nodes of a snapshot that wait on `kind:ref`: running agent tasks it owns, pending approvals it answers. */
function briefOf(node: RunSnapshot['nodes'][number]): Pick<InboxNode, 'label' | 'objective'> {
  return { ...(node.label !== undefined ? { label: node.label } : {}), ...(node.objective !== undefined ? { objective: node.objective } : {}) };
}

function waitingNodes(snapshot: RunSnapshot, kind: Owner['kind'], ref: string): InboxNode[] {
  const result: InboxNode[] = [];
  const seen = new Set<string>();
  if (kind === 'agent') {
    for (const node of snapshot.nodes) {
      if (node.owner?.kind !== 'agent' || node.owner.ref !== ref) continue;
      // A fanned-out node's work is its instances' (research[2]): each is a work item of its own.
      const items = node.instances ?? [node];
      for (const item of items) {
        if (item.status !== 'running') continue;
        result.push({ nodeId: item.id, type: node.type, status: item.status, attempt: item.currentAttempt, ...briefOf(node) });
        seen.add(item.id);
      }
    }
  }
  for (const approval of snapshot.approvals) {
    if (approval.status !== 'pending' || seen.has(approval.nodeId)) continue;
    const owned = approval.owner?.kind === kind && approval.owner.ref === ref;
    const approver = kind === 'human' && (approval.approvers ?? []).includes(ref);
    if (!owned && !approver) continue;
    // An instance's approval (approve[1]) belongs to its node (approve).
    const node = snapshot.nodes.find((candidate) => candidate.id === approval.nodeId || candidate.instances?.some((instance) => instance.id === approval.nodeId));
    result.push({
      nodeId: approval.nodeId,
      type: node?.type ?? 'unknown',
      status: (node?.instances?.find((instance) => instance.id === approval.nodeId) ?? node)?.status ?? 'awaiting-human',
      attempt: approval.attempt,
      approvalId: approval.approvalId,
      ...(node ? briefOf(node) : {}),
    });
    seen.add(approval.nodeId);
  }
  return result;
}
