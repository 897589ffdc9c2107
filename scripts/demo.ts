/**
 * plan-runner demo: one run of examples/blog-post.plan.yaml (or, with --plan revise, of
 * examples/revise-until-approved.plan.yaml), start to finish, in one process.
 *
 *   node dist/scripts/demo.js            ask at the terminal whether to approve the post
 *   node dist/scripts/demo.js --plan revise --yes   a loop: the editor asks for edits once, the
 *                                        writer revises, the second draft is approved
 *   node dist/scripts/demo.js --yes      approve automatically (also when stdin is not a terminal)
 *   node dist/scripts/demo.js --no       reject: the archive branch runs, publish and announce are skipped
 *
 * It opens the store (PLAN_STORE_URL; unset: the SQLite file .data/plan-runner.db), connects to
 * Temporal (TEMPORAL_ADDRESS and the other TEMPORAL_* variables, or a temporal.toml profile; default
 * 127.0.0.1:7233), starts a local HTTP server on 127.0.0.1 that
 * plays the plan's agents, and an in-process worker configured to wake those agents there. Then it
 * starts a run. Each agent gets its work as a signed wake-up (Standard Webhooks), verifies it, answers
 * 204 and submits a canned result (the researcher's first result is deliberately incomplete, so the
 * run rejects it and retries: the second wake-up carries the complaint). The editor's approval comes
 * from you (or --yes / --no). The run's events are read from the store as the worker records them.
 * At the end it says where the store is and how to query it. Exit code 0 when the run completed, 1
 * otherwise.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { Webhook } from 'standardwebhooks';
import type { AgentEndpoint, DeliveryConfig, WakeUpEnvelope } from '../src/activities/delivery/types';
import { resolveConnectionSettings, type TemporalConnectionSettings } from '../src/client/connection';
import {
  PlanRunnerError,
  RunNotFoundError,
  RunRefusedError,
  TemporalConfigError,
  TemporalUnavailableError,
} from '../src/client/errors';
import { PlanFileError, loadPlanFile } from '../src/client/load-spec';
import { PlanRunnerClient, shortId } from '../src/client/plan-runner-client';
import type { AgentSubmission } from '../src/engine/messages';
import type { Issue, RunEvent, RunSnapshot, SubmitOutcome, WorkItem } from '../src/engine/types';
import { startConsole, type RunningConsole } from '../src/console/server';
import { hashSecret, newPersonalToken } from '../src/console/tokens';
import { openStore } from '../src/store';
import type { PlanStore, StoredRun } from '../src/store/types';
import { createPlanWorker, type PlanWorker } from '../src/worker';

const DEFAULT_ADDRESS = '127.0.0.1:7233';
/** The example plans the demo can play: `--plan blog-post` (the default) or `--plan revise`. */
const PLAN_FILES = {
  'blog-post': path.resolve(__dirname, '..', '..', 'examples', 'blog-post.plan.yaml'),
  revise: path.resolve(__dirname, '..', '..', 'examples', 'revise-until-approved.plan.yaml'),
} as const;
type DemoPlan = keyof typeof PLAN_FILES;
const RUN_INPUT = { topic: 'Durable AI agents with Temporal' };
const POLL_MS = 300;
const FINISHED = new Set(['completed', 'failed', 'aborted', 'blocked']);
/** Where the agents listen: http://127.0.0.1:<port>/agents/<ref>. */
const AGENT_PATH = '/agents/';
/** A wake-up is a small JSON document; anything bigger is not one. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Delivery for the demo: no webhook sinks, the agents' endpoints, and retry timing short enough that
 * a wake-up the agents' server failed to take is retried within the demo's patience.
 */
function demoDelivery(agents: Record<string, AgentEndpoint>): DeliveryConfig {
  return {
    sinks: [],
    agents,
    sinkRetry: { initialIntervalMs: 500, maximumIntervalMs: 5_000, giveUpAfterMs: 10 * 60_000 },
    wakeUpRetry: { initialIntervalMs: 300, maximumIntervalMs: 2_000, maximumAttempts: 5 },
    requestTimeoutMs: 5_000,
  };
}

// ------------------------------------------------------------------------------------------------
// Options and output

interface Options {
  answer?: 'yes' | 'no';
  /** Serve the console next to the demo (default; --no-console turns it off). */
  console: boolean;
  timeoutMs: number;
  plan: DemoPlan;
}

const USAGE = `usage: node dist/scripts/demo.js [--plan blog-post|revise] [--yes | --no] [--timeout <seconds>]

  --plan <name>    blog-post (default): research, draft, approval, publish;
                   revise: draft, approval, revise with the editor's edits (a loop, at most 3 drafts)

  --yes, -y        approve the post without asking (the default when stdin is not a terminal)
  --no, -n         reject the post: the archive branch runs, publish and announce are skipped
  --timeout <s>    give up after this many seconds (default 120; time spent at the prompt is not counted)
  --no-console     do not serve the console (by default it runs on http://127.0.0.1:8080, or on
                   PLAN_CONSOLE_PORT, or on any free port when that one is taken)

Environment: TEMPORAL_ADDRESS (default ${DEFAULT_ADDRESS}), TEMPORAL_NAMESPACE (default), TEMPORAL_API_KEY,
TEMPORAL_TLS* and TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE (a temporal.toml profile), TEMPORAL_UI_URL
(default http://localhost:<port + 1000> for a local address, so 8233), PLAN_STORE_URL (default: the SQLite file .data/plan-runner.db under the
current directory; or postgres://…). The demo always runs on a task queue of its own: only its
in-process worker knows where its agents listen (PLAN_TASK_QUEUE is ignored).`;

function parseArgs(argv: string[]): Options {
  const options: Options = { timeoutMs: 120_000, plan: 'blog-post', console: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--yes' || arg === '-y') options.answer = 'yes';
    else if (arg === '--no' || arg === '-n') options.answer = 'no';
    else if (arg === '--no-console') options.console = false;
    else if (arg === '--plan') {
      const name = argv[++i];
      if (!Object.prototype.hasOwnProperty.call(PLAN_FILES, name)) usageError(`--plan is one of ${Object.keys(PLAN_FILES).join(', ')}, not ${name ?? 'nothing'}`);
      options.plan = name as DemoPlan;
    } else if (arg === '--timeout') {
      const seconds = Number(argv[++i]);
      if (!Number.isInteger(seconds) || seconds <= 0) usageError('--timeout needs a whole number of seconds');
      options.timeoutMs = seconds * 1000;
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else usageError(`unknown argument ${arg}`);
  }
  return options;
}

function usageError(message: string): never {
  console.error(`demo: ${message}\n\n${USAGE}`);
  process.exit(2);
}

const useColor = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const paint = (code: string) => (text: string) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
const c = {
  bold: paint('1'),
  dim: paint('2'),
  red: paint('31'),
  green: paint('32'),
  yellow: paint('33'),
  magenta: paint('35'),
  cyan: paint('36'),
};

const say = (text = '') => console.log(text);
const step = (text: string) => say(`\n${c.bold(c.cyan('▸'))} ${c.bold(text)}`);
const warn = (text: string) => console.error(`${c.yellow('warning:')} ${text}`);

function colorStatus(status: string): string {
  if (status === 'completed' || status === 'approved') return c.green(status);
  if (status === 'skipped') return c.dim(status);
  if (['failed', 'blocked', 'aborted', 'rejected'].includes(status)) return c.red(status);
  return c.yellow(status);
}

function formatIssue(issue: Issue): string {
  const mark = issue.severity === 'blocking' ? c.red('✗ blocking') : c.yellow('! warning ');
  return `      ${mark} [${issue.code}] ${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

/** Events that only repeat what the line before said. */
const QUIET_EVENTS = new Set(['checkpoint-saved', 'ownership-transition']);

/** One line per event: seq, what changed (node or run: from → to), and the event's own sentence. */
function formatEvent(event: RunEvent): string {
  const seq = c.dim(`#${String(event.seq).padStart(2)}`);
  const subject = event.nodeId ?? (event.type.startsWith('run-') ? 'run' : '');
  const from = event.toStatus && event.fromStatus ? `${event.fromStatus} → ` : '';
  const to = event.toStatus ?? '';
  const pad = ' '.repeat(Math.max(0, 30 - from.length - to.length));
  return `  ${seq}  ${subject.padEnd(9)} ${from}${to && colorStatus(to)}${pad} ${c.dim(event.message)}`;
}

/** A word for a POSIX shell: as is when safe, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

// ------------------------------------------------------------------------------------------------
// The agents: canned outputs per node and attempt

interface CannedResult {
  /** What the demo says before submitting. */
  story: string;
  submission: Omit<AgentSubmission, 'nodeId' | 'attempt' | 'submissionId' | 'by'>;
}

function cannedResult(item: WorkItem): CannedResult {
  const input = (item.resolvedInput ?? {}) as Record<string, unknown>;
  const topic = String(input.topic ?? RUN_INPUT.topic);
  switch (item.nodeId) {
    case 'research':
      if (item.attempt === 1) {
        return {
          story: 'researcher submits an incomplete result (missing sources) — the run will reject it and retry',
          submission: {
            structuredOutput: { summary: 'Durable execution lets long-running agents survive crashes and restarts.' },
            notes: 'Out of time; sources to follow.',
          },
        };
      }
      return {
        story: `researcher tries again, with the run's complaint in its work item (${describeIssues(item.previousIssues)}): now with 3 sources`,
        submission: {
          structuredOutput: {
            summary: 'Durable execution lets long-running agents survive crashes, restarts and week-long human waits.',
            sources: [
              'https://docs.temporal.io/workflows',
              'https://docs.temporal.io/encyclopedia/workflow-message-passing',
              'https://temporal.io/blog/durable-execution-for-ai-agents',
            ],
            confidence: 0.9,
          },
          artifacts: [{ name: 'notes', kind: 'document', pointer: 'memory://research/notes.md' }],
          handoffContext: { tone: 'practical, for engineers' },
        },
      };
    case 'draft':
      if (Array.isArray(input.edits)) {
        return {
          story: `writer revises the draft (iteration ${item.iteration ?? 1}) with the editor's edits: ${input.edits.join('; ')}`,
          submission: { structuredOutput: { title: 'Durable agents', body: 'Shorter, with one example: a crash mid-run resumes where it stopped.' } },
        };
      }
      return {
        story: 'writer turns the notes into a draft',
        submission: {
          structuredOutput: {
            title: topic,
            body: [
              `${String(input.notes ?? 'Agents fail in the middle of things.')}`,
              'An agent that calls tools, waits for people and retries is a long-running process.',
              'Temporal records every step, so a crash or a deploy resumes the run where it stopped.',
              'plan-runner turns a plan (tasks, approvals, branches) into one such durable run.',
              `Sources: ${Array.isArray(input.sources) ? input.sources.length : 0}.`,
            ].join('\n'),
          },
        },
      };
    case 'publish':
      return { story: 'publisher publishes the post', submission: { structuredOutput: { url: 'https://blog.example/durable-agents' } } };
    case 'announce':
      return {
        story: 'publisher announces the post',
        submission: { structuredOutput: { channel: '#engineering', message: `New post: ${String(input.url ?? '')}` } },
      };
    case 'archive':
      return { story: 'publisher archives the rejected draft', submission: { structuredOutput: { archived: true, location: 'drafts/durable-agents.md' } } };
    default:
      return { story: `${item.owner.ref} does its work`, submission: { structuredOutput: { done: true } } };
  }
}

/** The blocking issues of the previous attempt, as the agent sees them in its work item. */
function describeIssues(issues: Issue[]): string {
  const blocking = issues.filter((issue) => issue.severity === 'blocking');
  if (!blocking.length) return 'no issues';
  return blocking.map((issue) => `"${issue.path ? `${issue.path}: ` : ''}${issue.message}"`).join(', ');
}

/** The agent refs of the plan's task owners: each gets an endpoint. */
function agentRefs(raw: unknown): string[] {
  const nodes = (raw as { nodes?: Array<{ owner?: { kind?: string; ref?: string } }> }).nodes ?? [];
  const refs = nodes.filter((node) => node.owner?.kind === 'agent' && node.owner.ref).map((node) => String(node.owner?.ref));
  return [...new Set(refs)];
}

/** One wake-up as the agents' server received and verified it. */
interface WakeUp {
  agentRef: string;
  /** The `webhook-id` header: the causing event's id, the same on every redelivery. */
  deliveryId: string;
  envelope: WakeUpEnvelope;
}

/**
 * The agents' side of delivery: an HTTP server on 127.0.0.1 with one endpoint per agent, each with its
 * own secret. Every request is verified (Standard Webhooks); a verified wake-up is answered 204 at once
 * and handed to `onWakeUp` afterwards, one at a time, so the agent's work never holds up the response.
 * Delivery is at least once: a redelivered wake-up (same `webhook-id`) is answered and ignored.
 */
class AgentServer {
  /** What went wrong while handling a wake-up after the response (the demo stops on it). */
  failure?: Error;
  private readonly seen = new Set<string>();
  private work: Promise<void> = Promise.resolve();
  private onWakeUp: (wakeUp: WakeUp) => Promise<void> = async () => undefined;

  private constructor(
    private readonly server: http.Server,
    private readonly secrets: Record<string, string>,
    readonly baseUrl: string,
  ) {}

  static async start(refs: string[]): Promise<AgentServer> {
    const secrets = Object.fromEntries(refs.map((ref) => [ref, `whsec_${randomBytes(24).toString('base64')}`]));
    let agents: AgentServer | undefined;
    const server = http.createServer((req, res) => {
      agents?.handle(req, res).catch((err: unknown) => {
        warn(`agents: ${(err as Error).message}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    agents = new AgentServer(server, secrets, `http://127.0.0.1:${port}`);
    return agents;
  }

  /** The agents' endpoints for the worker's delivery configuration. */
  endpoints(): Record<string, AgentEndpoint> {
    return Object.fromEntries(Object.entries(this.secrets).map(([ref, secret]) => [ref, { url: this.url(ref), secret }]));
  }

  url(ref: string): string {
    return `${this.baseUrl}${AGENT_PATH}${encodeURIComponent(ref)}`;
  }

  /** Where verified wake-ups go. */
  handleWith(onWakeUp: (wakeUp: WakeUp) => Promise<void>): void {
    this.onWakeUp = onWakeUp;
  }

  /** Resolves once every wake-up received so far was handled. */
  async idle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.work;
      await current;
    } while (current !== this.work);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', this.baseUrl).pathname;
    const ref = pathname.startsWith(AGENT_PATH) ? decodeURIComponent(pathname.slice(AGENT_PATH.length)) : '';
    const secret = Object.hasOwn(this.secrets, ref) ? this.secrets[ref] : undefined;
    if (!secret) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such agent\n');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST only\n');
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      res.writeHead(413, { 'content-type': 'text/plain' }).end('too large\n');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value[0] : value;
    }
    let envelope: WakeUpEnvelope;
    try {
      envelope = new Webhook(secret).verify(body, headers) as WakeUpEnvelope;
    } catch (err) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('signature verification failed\n');
      warn(`agent ${ref} refused a request that failed verification (401): ${(err as Error).message}`);
      return;
    }
    if (envelope?.type !== 'wake-up' || !envelope.workItem || typeof envelope.workItem.nodeId !== 'string') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('not a wake-up\n');
      warn(`agent ${ref} got a signed request that is not a wake-up (400)`);
      return;
    }
    res.writeHead(204).end();

    const deliveryId = headers['webhook-id'];
    const key = `${ref} ${deliveryId}`;
    if (this.seen.has(key)) {
      say(c.dim(`  wake-up  ${ref} again for ${envelope.workItem.nodeId} (${deliveryId}): a redelivery, ignored`));
      return;
    }
    this.seen.add(key);
    this.work = this.work
      .then(() => this.onWakeUp({ agentRef: ref, deliveryId, envelope }))
      .catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      });
  }
}

/** The request body as text, or undefined when it is larger than MAX_BODY_BYTES. */
async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// ------------------------------------------------------------------------------------------------
// The human: the editor's approval

/**
 * Shows the draft from the approval request and returns alice's answer, or undefined when she
 * answered in the console meanwhile (`answeredElsewhere` settles).
 */
async function decideApproval(event: RunEvent | undefined, options: Options, deadline: Deadline, answeredElsewhere?: Promise<void>): Promise<boolean | undefined> {
  const detail = (event?.detail ?? {}) as { resolvedInput?: { title?: unknown; body?: unknown }; approvers?: string[] };
  const draft = detail.resolvedInput ?? {};
  const lines = String(draft.body ?? '').split('\n');
  say(`    ${c.dim('┌')} ${c.bold(String(draft.title ?? '(no title)'))}`);
  for (const line of lines.slice(0, 4)) say(`    ${c.dim('│')} ${line}`);
  if (lines.length > 4) say(`    ${c.dim('│ …')}`);
  say(`    ${c.dim('└')} approvers: ${(detail.approvers ?? []).join(', ') || 'anyone'}`);

  if (options.answer) {
    say(`  alice ${options.answer === 'yes' ? 'approves' : 'rejects'} the post (--${options.answer})`);
    return options.answer === 'yes';
  }
  if (!process.stdin.isTTY) {
    say('  stdin is not a terminal: alice approves the post automatically (use --no to reject)');
    return true;
  }
  const started = Date.now();
  const approved = await ask(`  ${c.bold('Approve the post?')} [y/n] `, answeredElsewhere);
  deadline.extend(Date.now() - started);
  return approved;
}

/**
 * Asks until the answer is y(es) or n(o); undefined when `answeredElsewhere` settles first. Ctrl-C
 * or end of input interrupts the demo.
 */
function ask(question: string, answeredElsewhere?: Promise<void>): Promise<boolean | undefined> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      settle();
      rl.close();
    };
    const prompt = () =>
      rl.question(question, (answer) => {
        const text = answer.trim().toLowerCase();
        if (['y', 'yes', 'n', 'no'].includes(text)) finish(() => resolve(text.startsWith('y')));
        else prompt();
      });
    rl.on('SIGINT', () => finish(() => reject(new Interrupted())));
    rl.on('close', () => finish(() => reject(new Interrupted('stdin closed before an answer'))));
    void answeredElsewhere?.then(() => finish(() => {
      process.stdout.write('\n');
      resolve(undefined);
    }));
    prompt();
  });
}

// ------------------------------------------------------------------------------------------------
// The run

/** An expected end of the demo: said in one line, without a stack trace. */
class DemoStop extends Error {}
class Interrupted extends DemoStop {}

class Deadline {
  private at: number;
  constructor(readonly ms: number) {
    this.at = Date.now() + ms;
  }
  extend(ms: number): void {
    this.at += ms;
  }
  get passed(): boolean {
    return Date.now() > this.at;
  }
}

/**
 * The run's events as the worker records them in the store, printed once each, in seq order. Reads
 * are serialized, so the play loop and the agents can both ask for "everything up to now".
 */
class EventLog {
  private lastSeq = 0;
  private reading: Promise<void> = Promise.resolve();
  /** approval-requested events by approval id, and the approvals answered since. */
  readonly approvalRequests = new Map<string, RunEvent>();
  readonly resolvedApprovals = new Set<string>();

  constructor(
    private readonly client: PlanRunnerClient,
    private readonly runId: string,
  ) {}

  get seq(): number {
    return this.lastSeq;
  }

  /** Prints the events recorded since the last call. */
  flush(): Promise<void> {
    const next = this.reading.then(() => this.read());
    this.reading = next.catch(() => undefined);
    return next;
  }

  /** The run's row in the store, or undefined before the worker recorded the start. */
  async run(): Promise<StoredRun | undefined> {
    try {
      return await this.client.storedRun(this.runId);
    } catch (err) {
      if (err instanceof RunNotFoundError) return undefined;
      throw err;
    }
  }

  private async read(): Promise<void> {
    let events: RunEvent[];
    try {
      events = await this.client.events(this.runId, { sinceSeq: this.lastSeq });
    } catch (err) {
      if (err instanceof RunNotFoundError) return; // nothing recorded yet
      throw err;
    }
    for (const event of events) {
      if (event.seq <= this.lastSeq) continue;
      this.lastSeq = event.seq;
      if (event.type === 'approval-requested' && event.approvalId) this.approvalRequests.set(event.approvalId, event);
      if (event.type === 'approval-resolved' && event.approvalId) this.resolvedApprovals.add(event.approvalId);
      if (!QUIET_EVENTS.has(event.type)) say(formatEvent(event));
    }
  }
}

class Demo {
  private readonly handled = new Set<string>();
  private readonly submitted = new Set<string>();
  interrupted = false;

  constructor(
    private readonly client: PlanRunnerClient,
    private readonly runId: string,
    private readonly log: EventLog,
    private readonly agents: AgentServer,
    private readonly options: Options,
    private readonly deadline: Deadline,
    private readonly workerError: () => Error | undefined,
    /** The console's base URL, when the demo serves it. */
    private readonly consoleUrl?: string,
  ) {
    agents.handleWith((wakeUp) => this.playAgent(wakeUp));
  }

  /**
   * Prints the run's events from the store and plays the editor until the run finishes (the agents
   * play themselves, on their wake-ups); returns the final snapshot.
   */
  async play(): Promise<RunSnapshot> {
    for (;;) {
      this.checkHealth();
      if (this.deadline.passed) {
        const last = await this.client.snapshot(this.runId).catch(() => undefined);
        const waiting = last ? activeNodes(last) : '';
        throw new DemoStop(`the run did not finish within ${this.deadline.ms / 1000} s${waiting ? ` (waiting on ${waiting})` : ''}`);
      }
      // The run row first: its events up to lastSeq are recorded in the same transaction.
      const run = await this.log.run();
      await this.log.flush();
      for (const [approvalId, request] of this.log.approvalRequests) {
        if (!this.log.resolvedApprovals.has(approvalId)) await this.playEditor(approvalId, request);
      }
      if (run && FINISHED.has(run.status) && this.log.seq >= run.lastSeq) {
        await this.agents.idle();
        this.checkHealth();
        await this.log.flush();
        return this.client.snapshot(this.runId);
      }
      await sleep(POLL_MS);
    }
  }

  private checkHealth(): void {
    if (this.interrupted) throw new Interrupted();
    const failed = this.workerError();
    if (failed) throw new DemoStop(`the in-process worker stopped: ${failed.message}`);
    if (this.agents.failure) throw new DemoStop(`an agent failed: ${this.agents.failure.message}`);
  }

  /** An agent woke up: it does its node's work and submits the result for the attempt it was given. */
  private async playAgent({ agentRef, envelope }: WakeUp): Promise<void> {
    if (this.interrupted) return;
    const item = envelope.workItem;
    // The event that caused the wake-up is recorded before the wake-up is sent: print up to it first.
    await this.log.flush().catch(() => undefined);
    say(`  ${c.magenta('wake-up')}  ${agentRef.padEnd(10)} ${item.nodeId} attempt ${item.attempt} (${envelope.eventType})`);
    const key = `${item.runId} ${item.nodeId}#${item.attempt}`;
    if (this.submitted.has(key)) {
      say(c.dim(`           attempt ${item.attempt} of ${item.nodeId} was submitted already: nothing to do`));
      return;
    }
    this.submitted.add(key);
    const canned = cannedResult(item);
    step(`${item.nodeId}, attempt ${item.attempt}: ${canned.story}`);
    try {
      const outcome = await this.client.submitResult(item.runId, {
        ...canned.submission,
        nodeId: item.nodeId,
        attempt: item.attempt,
        // The wake-up's token proves the result answers this attempt (docs/security.md).
        ...(item.token ? { token: item.token } : {}),
        submissionId: `${item.runId}/${item.nodeId}/${item.attempt}`,
        by: `agent:${agentRef}`,
      });
      printOutcome(outcome);
    } catch (err) {
      // A stale wake-up (the attempt moved on meanwhile) is refused by the run: say so and carry on.
      if (!(err instanceof RunRefusedError)) throw err;
      say(`  → ${c.red('refused')}: ${err.message}`);
    }
  }

  /** Settles once the approval is no longer pending (answered in the console), until `signal` aborts. */
  private async answered(approvalId: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const approvals = await this.client.approvals({ runId: this.runId }).catch(() => []);
      if (approvals.some((approval) => approval.approvalId === approvalId && approval.status !== 'pending')) return;
      await sleep(POLL_MS);
    }
    return new Promise(() => undefined); // aborted: never settles
  }

  private async playEditor(approvalId: string, request: RunEvent): Promise<void> {
    const key = `approval ${approvalId}`;
    if (this.handled.has(key)) return;
    this.handled.add(key);
    const nodeId = request.nodeId ?? '?';
    // Let the agent that finished the node before say its piece first.
    await this.agents.idle();
    step(`${nodeId}: the editors are asked to approve the draft (approval ${approvalId})`);
    if (this.options.plan === 'revise' && (request.iteration ?? 1) === 1) {
      // The loop's first round: the editor sends the draft back with edits, which the loop maps
      // into the writer's next work item.
      say('  the editor asks for edits: "a shorter title", "add one example"');
      printOutcome(
        await this.client.respond(this.runId, {
          approvalId,
          respondedBy: 'alice',
          response: { approved: false, requiredEdits: ['a shorter title', 'add one example'], comments: 'Close; two edits.' },
        }),
      );
      return;
    }
    if (this.consoleUrl) say(`  or answer it in the console, signed in as alice: ${c.bold(`${this.consoleUrl}/approvals/${encodeURIComponent(this.runId)}/${encodeURIComponent(approvalId)}`)}`);
    const stopWatching = new AbortController();
    const approved = await decideApproval(request, this.options, this.deadline, this.consoleUrl ? this.answered(approvalId, stopWatching.signal) : undefined).finally(() => stopWatching.abort());
    if (approved === undefined) {
      say('  → answered in the console');
      return;
    }
    const outcome = await this.client.respond(this.runId, {
      approvalId,
      respondedBy: 'alice',
      response: approved
        ? { approved: true, comments: 'Clear and useful. Ship it!' }
        : { approved: false, comments: 'Not this week; archive it.' },
    });
    printOutcome(outcome);
  }
}

function activeNodes(snapshot: RunSnapshot): string {
  return snapshot.nodes
    .filter((node) => node.status === 'running' || node.status === 'awaiting-human')
    .map((node) => `${node.id} (${node.status})`)
    .join(', ');
}

function printOutcome(outcome: SubmitOutcome): void {
  const blocking = outcome.issues.filter((issue) => issue.severity === 'blocking').length;
  const verdict = blocking
    ? c.red(`rejected (${blocking} blocking issue${blocking === 1 ? '' : 's'})`)
    : outcome.approvalStatus
      ? `recorded (${colorStatus(outcome.approvalStatus)})`
      : c.green('accepted');
  say(`  → ${verdict}: ${outcome.nodeId} is now ${colorStatus(outcome.nodeStatus)}, the run is ${colorStatus(outcome.runStatus)}`);
  for (const issue of outcome.issues) say(formatIssue(issue));
}

/** Addresses the CLI (default localhost:7233) and the dev script (127.0.0.1:7233) reach without being told. */
const DEFAULT_ADDRESSES = new Set([DEFAULT_ADDRESS, 'localhost:7233']);

/**
 * What a printed `plan-runner` command needs to reach the server the demo used: `--address` when it is
 * not the default one, and `--namespace` when that is not `default` (empty when neither).
 */
function temporalFlags(address: string, namespace: string): string {
  let flags = '';
  if (!DEFAULT_ADDRESSES.has(address)) flags += ` --address ${shellWord(address)}`;
  if (namespace !== 'default') flags += ` --namespace ${shellWord(namespace)}`;
  return flags;
}

/** `TEMPORAL_ADDRESS=… ` in front of a temporal-dev.sh command when the address is not the default. */
function addressPrefix(address: string): string {
  return DEFAULT_ADDRESSES.has(address) ? '' : `TEMPORAL_ADDRESS=${shellWord(address)} `;
}

function printSummary(snapshot: RunSnapshot, url: string, store: PlanStore, flags: string): void {
  const runId = snapshot.runId;
  step(`Run ${runId}: ${colorStatus(snapshot.status)}`);
  const rows = [['NODE', 'STATUS', 'ATTEMPTS', 'OUTPUT'], ...snapshot.nodes.map((n) => [n.id, n.status, String(n.attempts), preview(n.output)])];
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  rows.forEach((row, index) => {
    const cells = row.map((cell, col) => cell.padEnd(widths[col]));
    if (index === 0) say(`  ${c.dim(cells.join('  ').trimEnd())}`);
    else say(`  ${cells[0]}  ${colorStatus(row[1])}${' '.repeat(widths[1] - row[1].length)}  ${row[3] ? `${cells[2]}  ${c.dim(row[3])}` : row[2]}`);
  });

  say(`\n  Web UI:   ${url}`);
  const configured = process.env.PLAN_STORE_URL?.trim() ? 'PLAN_STORE_URL' : 'PLAN_STORE_URL unset: the default';
  say(`  Store:    ${store.dialect}  ${store.location}  ${c.dim(`(${configured})`)}`);
  const sql = `SELECT seq, type, node_id, message FROM events WHERE run_id = '${runId}' ORDER BY seq`;
  if (store.dialect === 'postgres') {
    say(`  SQL:      psql ${shellWord(store.location)} -c "${sql}"`);
    say(c.dim('            (the URL is shown without its password: psql asks for it, or set PGPASSWORD)'));
  } else {
    say(`  SQL:      sqlite3 ${shellWord(store.location)} "${sql}"`);
  }
  say(`  CLI:      npx plan-runner events ${runId}`);
  say(`            npx plan-runner attempts ${runId} ${runId.startsWith("revise-") ? "draft" : "research"}`);
  say(`            npx plan-runner${flags} status ${runId}`);
  if (store.dialect === 'sqlite' && !process.env.PLAN_STORE_URL?.trim()) {
    say(c.dim(`            (events and attempts read the store: run them from this directory, or set PLAN_STORE_URL=${shellWord(store.location)})`));
  } else {
    say(c.dim('            (events and attempts read the store: run them with the same PLAN_STORE_URL)'));
  }
  if (flags) say(c.dim(`            (status asks Temporal: ${flags.trim()} is the server this demo used; or export TEMPORAL_ADDRESS)`));
}

function preview(value: unknown): string {
  if (value === undefined) return '';
  const text = JSON.stringify(value);
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------------------------------------
// Setup and teardown

async function openDemoStore(): Promise<PlanStore> {
  try {
    return await openStore(process.env.PLAN_STORE_URL);
  } catch (err) {
    console.error(`\n${c.red('Cannot open the store')}: ${(err as Error).message}`);
    console.error('Unset PLAN_STORE_URL for the SQLite file .data/plan-runner.db, or point it at a reachable database.');
    process.exit(1);
  }
}

async function connect(settings: TemporalConnectionSettings, taskQueue: string, store: PlanStore): Promise<PlanRunnerClient> {
  try {
    return await PlanRunnerClient.connect({
      connectionSettings: settings,
      taskQueue,
      store,
      connectTimeoutMs: 5_000,
      queryTimeoutMs: 10_000,
      updateTimeoutMs: 20_000,
    });
  } catch (err) {
    if (err instanceof TemporalUnavailableError) {
      if (err.reason === 'unreachable' && !settings.description.tls) {
        // Nothing listens there: most likely no dev server yet, which the script can start.
        console.error(`\n${c.red('Cannot reach Temporal')} at ${settings.address}.`);
        console.error(`Start a local dev server first:   ${addressPrefix(settings.address)}./temporal-dev.sh server`);
        console.error(`or let the script do everything:  ${addressPrefix(settings.address)}./temporal-dev.sh demo`);
      } else {
        // A secured cluster, or a TLS mismatch: the probe's explanation says what to change.
        console.error(`\n${c.red('Cannot reach Temporal')}: ${err.message}`);
      }
      await store.close().catch(() => undefined);
      process.exit(1);
    }
    throw err;
  }
}

async function startWorker(settings: TemporalConnectionSettings, taskQueue: string, store: PlanStore, delivery: DeliveryConfig) {
  // The client connected a moment ago with the same settings; a failure here is reported like any other.
  const connection = await NativeConnection.connect(settings.nativeConnectionOptions);
  let planWorker: PlanWorker;
  try {
    planWorker = await createPlanWorker({ connection, connectionSettings: settings, taskQueue, store, delivery, requireWorkItemTokens: true });
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw err;
  }
  let error: Error | undefined;
  const running = planWorker.run().catch((err: unknown) => {
    error = err instanceof Error ? err : new Error(String(err));
  });
  return {
    error: () => error,
    async stop(): Promise<void> {
      if (planWorker.worker.getState() === 'RUNNING') planWorker.shutdown();
      await withTimeout(running, 15_000, 'worker shutdown').catch((err) => console.error(`worker: ${(err as Error).message}`));
      if (error) console.error(`worker: ${error.message}`);
      await connection.close().catch(() => undefined);
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Serves the console on 127.0.0.1 (PLAN_CONSOLE_PORT, default 8080; any free port when that one is
 * taken) and makes sure alice, the plan's approver, can sign in: a new personal token when the
 * store has no alice yet (printed once), else a reminder of how to get a new one.
 */
async function startDemoConsole(client: PlanRunnerClient, store: PlanStore): Promise<RunningConsole> {
  const port = Number(process.env.PLAN_CONSOLE_PORT ?? 8080);
  let running: RunningConsole;
  try {
    running = await startConsole({ client, store, host: '127.0.0.1', port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    running = await startConsole({ client, store, host: '127.0.0.1', port: 0 });
  }
  const alice = (await store.listUsers()).find((user) => user.name === 'alice' && !user.revokedAt);
  if (alice) {
    say(`  console    ${running.url}  sign in as alice with her personal token ${c.dim('(lost it? npx plan-runner users revoke alice && npx plan-runner users add alice)')}`);
  } else {
    const token = newPersonalToken();
    await store.addUser('alice', hashSecret(token), new Date().toISOString());
    say(`  console    ${running.url}  sign in as alice with ${c.bold(token)} ${c.dim('(shown once; kept hashed in the store)')}`);
  }
  return running;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const deadline = new Deadline(options.timeoutMs);
  // Quiet worker logs; we handle Ctrl-C ourselves so the worker is still there to clean up.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });

  let settings: TemporalConnectionSettings;
  try {
    // Client and worker share one resolution: the same address, namespace, TLS and API key.
    settings = resolveConnectionSettings({ defaultAddress: DEFAULT_ADDRESS });
  } catch (err) {
    if (!(err instanceof TemporalConfigError)) throw err;
    console.error(`\n${c.red('Cannot use the Temporal settings')}: ${err.message}`);
    return 1;
  }
  // A private queue even when PLAN_TASK_QUEUE is set (./temporal-dev.sh sets it): a worker elsewhere on
  // a shared queue could pick up the run's tasks without knowing the agents' endpoints, and nobody
  // would be woken.
  const taskQueue = `plan-runs-demo-${shortId()}`;

  say(c.bold(options.plan === 'revise' ? 'plan-runner demo: a writer drafts, an editor asks for edits, the loop sends them back' : 'plan-runner demo: three agents write a blog post, an editor approves it'));
  let raw: unknown;
  try {
    raw = loadPlanFile(PLAN_FILES[options.plan]).raw;
  } catch (err) {
    reportFailure(err);
    return 1;
  }
  const store = await openDemoStore();
  const client = await connect(settings, taskQueue, store);
  say(`  Temporal   ${settings.description.summary}`);
  say(`  store      ${store.dialect} ${store.location}`);
  const agents = await AgentServer.start(agentRefs(raw));
  const refs = Object.keys(agents.endpoints());
  say(`  agents     ${agents.baseUrl}${AGENT_PATH}{${refs.join(',')}}: wake-ups signed per Standard Webhooks, a secret per agent`);
  say(`  worker     in-process, task queue ${taskQueue} (private to this demo; it alone knows the agents' endpoints)`);
  say(c.dim('             bundling the workflow code takes a few seconds…'));

  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  let consoleServer: RunningConsole | undefined;
  let runId: string | undefined;
  let demo: Demo | undefined;
  const onSignal = () => {
    if (demo) demo.interrupted = true;
    else process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    worker = await startWorker(settings, taskQueue, store, demoDelivery(agents.endpoints()));
    say(`  plan       ${path.relative(process.cwd(), PLAN_FILES[options.plan]) || PLAN_FILES[options.plan]}`);
    const id = `${options.plan}-demo-${shortId().slice(0, 6)}`;
    const log = new EventLog(client, id);
    consoleServer = options.console ? await startDemoConsole(client, store) : undefined;
    demo = new Demo(client, id, log, agents, options, deadline, worker.error, consoleServer?.url);
    await client.start(raw, { runId: id, input: RUN_INPUT });
    runId = id;
    const url = client.webUiUrl(runId);
    say(`  run        ${c.bold(runId)}  input ${JSON.stringify(RUN_INPUT)}`);
    say(`  Web UI     ${url}`);
    if (consoleServer) say(`  console    ${consoleServer.url}/runs/${encodeURIComponent(runId)}  (the live plan graph)`);
    say();

    const final = await demo.play();
    printSummary(final, url, store, temporalFlags(settings.address, settings.namespace));
    if (final.status === 'completed') return 0;
    console.error(`\n${c.red('demo stopped:')} the run ended ${final.status}, not completed`);
    await closeRun(client, runId, `demo: run ended ${final.status}`, temporalFlags(settings.address, settings.namespace));
    return 1;
  } catch (err) {
    reportFailure(err);
    if (runId) await closeRun(client, runId, err instanceof Error ? err.message : String(err), temporalFlags(settings.address, settings.namespace));
    return err instanceof Interrupted ? 130 : 1;
  } finally {
    if (demo) demo.interrupted = true; // wake-ups still arriving are answered, not acted on
    await worker?.stop();
    await consoleServer?.close().catch(() => undefined);
    await agents.close().catch(() => undefined);
    await client.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}

/** Says what went wrong, in one line when it was expected. */
function reportFailure(err: unknown): void {
  const message = err instanceof Interrupted ? `interrupted${err.message ? ` (${err.message})` : ''}` : err instanceof Error ? err.message : String(err);
  console.error(`\n${c.red('demo stopped:')} ${message}`);
  const expected = err instanceof PlanRunnerError || err instanceof PlanFileError || err instanceof DemoStop;
  if (!expected && err instanceof Error && err.stack) console.error(c.dim(err.stack));
}

/**
 * Cancels an unfinished run, so it does not wait forever on a task queue that nobody polls once this
 * process is gone. A run that does not answer (e.g. its workflow task fails) is terminated instead.
 */
async function closeRun(client: PlanRunnerClient, runId: string, reason: string, flags: string): Promise<void> {
  try {
    await withTimeout(client.cancel(runId, { by: 'demo', reason }), 10_000, 'cancel');
    console.error(`cancelled run ${runId}; see it in the Web UI: ${client.webUiUrl(runId)}`);
  } catch {
    try {
      await withTimeout(client.client.workflow.getHandle(runId).terminate(reason), 10_000, 'terminate');
      console.error(`terminated run ${runId} (it did not answer a cancel); see why in the Web UI: ${client.webUiUrl(runId)}`);
    } catch {
      console.error(`run ${runId} may still be open: npx plan-runner${flags} cancel ${runId}`);
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
