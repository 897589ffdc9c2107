/**
 * plan-runner demo: one run of examples/blog-post.plan.yaml, start to finish, in one process.
 *
 *   node dist/scripts/demo.js            ask at the terminal whether to approve the post
 *   node dist/scripts/demo.js --yes      approve automatically (also when stdin is not a terminal)
 *   node dist/scripts/demo.js --no       reject: the archive branch runs, publish and announce are skipped
 *
 * It connects to Temporal (TEMPORAL_ADDRESS, default 127.0.0.1:7233), starts an in-process worker,
 * starts a run and then plays the agents with canned outputs (the researcher's first result is
 * deliberately incomplete, so the run rejects it and retries) and the editor with your answer, printing
 * the run's events as they happen. Exit code 0 when the run completed, 1 otherwise.
 */
import * as path from 'node:path';
import * as readline from 'node:readline';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { PlanRunnerError, TemporalUnavailableError } from '../src/client/errors';
import { PlanFileError, loadPlanFile } from '../src/client/load-spec';
import { PlanRunnerClient, shortId } from '../src/client/plan-runner-client';
import type { AgentSubmission } from '../src/engine/messages';
import type { Issue, RunEvent, RunSnapshot, SubmitOutcome, WorkItem } from '../src/engine/types';
import { createPlanWorker } from '../src/worker';

const DEFAULT_ADDRESS = '127.0.0.1:7233';
const PLAN_FILE = path.resolve(__dirname, '..', '..', 'examples', 'blog-post.plan.yaml');
const RUN_INPUT = { topic: 'Durable AI agents with Temporal' };
const POLL_MS = 300;
const FINISHED = new Set(['completed', 'failed', 'aborted', 'blocked']);

// ------------------------------------------------------------------------------------------------
// Options and output

interface Options {
  answer?: 'yes' | 'no';
  timeoutMs: number;
}

const USAGE = `usage: node dist/scripts/demo.js [--yes | --no] [--timeout <seconds>]

  --yes, -y        approve the post without asking (the default when stdin is not a terminal)
  --no, -n         reject the post: the archive branch runs, publish and announce are skipped
  --timeout <s>    give up after this many seconds (default 120; time spent at the prompt is not counted)

Environment: TEMPORAL_ADDRESS (default ${DEFAULT_ADDRESS}), TEMPORAL_NAMESPACE (default), PLAN_TASK_QUEUE
(default: a private queue for this demo), TEMPORAL_UI_URL (default http://localhost:8233).`;

function parseArgs(argv: string[]): Options {
  const options: Options = { timeoutMs: 120_000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--yes' || arg === '-y') options.answer = 'yes';
    else if (arg === '--no' || arg === '-n') options.answer = 'no';
    else if (arg === '--timeout') {
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
const c = { bold: paint('1'), dim: paint('2'), red: paint('31'), green: paint('32'), yellow: paint('33'), cyan: paint('36') };

const say = (text = '') => console.log(text);
const step = (text: string) => say(`\n${c.bold(c.cyan('▸'))} ${c.bold(text)}`);

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

// ------------------------------------------------------------------------------------------------
// The human: the editor's approval

/** Shows the draft from the approval request and returns alice's answer. */
async function decideApproval(event: RunEvent | undefined, options: Options, deadline: Deadline): Promise<boolean> {
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
  const approved = await ask(`  ${c.bold('Approve the post?')} [y/n] `);
  deadline.extend(Date.now() - started);
  return approved;
}

/** Asks until the answer is y(es) or n(o). Ctrl-C or end of input interrupts the demo. */
function ask(question: string): Promise<boolean> {
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

class Demo {
  private lastSeq = 0;
  private readonly handled = new Set<string>();
  private readonly approvalRequests = new Map<string, RunEvent>();
  interrupted = false;

  constructor(
    private readonly client: PlanRunnerClient,
    private readonly runId: string,
    private readonly options: Options,
    private readonly deadline: Deadline,
    private readonly workerError: () => Error | undefined,
  ) {}

  /** Plays every agent and the editor until the run finishes; returns the final snapshot. */
  async play(): Promise<RunSnapshot> {
    for (;;) {
      if (this.interrupted) throw new Interrupted();
      const failed = this.workerError();
      if (failed) throw new DemoStop(`the in-process worker stopped: ${failed.message}`);
      if (this.deadline.passed) {
        const last = await this.client.snapshot(this.runId).catch(() => undefined);
        const waiting = last ? activeNodes(last) : '';
        throw new DemoStop(`the run did not finish within ${this.deadline.ms / 1000} s${waiting ? ` (waiting on ${waiting})` : ''}`);
      }
      await this.printNewEvents();
      const snapshot = await this.client.snapshot(this.runId);
      if (FINISHED.has(snapshot.status)) {
        await this.printNewEvents();
        return snapshot;
      }
      for (const node of snapshot.nodes) {
        if (node.status === 'running') await this.playAgent(node.id);
      }
      for (const approval of snapshot.approvals) {
        if (approval.status === 'pending') await this.playEditor(approval.approvalId, approval.nodeId);
      }
      await sleep(POLL_MS);
    }
  }

  private async printNewEvents(): Promise<void> {
    const events = await this.client.events(this.runId, this.lastSeq);
    for (const event of events) {
      this.lastSeq = Math.max(this.lastSeq, event.seq);
      if (event.type === 'approval-requested' && event.approvalId) this.approvalRequests.set(event.approvalId, event);
      if (!QUIET_EVENTS.has(event.type)) say(formatEvent(event));
    }
  }

  private async playAgent(nodeId: string): Promise<void> {
    const item = await this.client.workItem(this.runId, nodeId);
    const key = `agent ${nodeId}#${item?.attempt}`;
    if (!item || this.handled.has(key)) return;
    this.handled.add(key);
    const canned = cannedResult(item);
    step(`${nodeId}, attempt ${item.attempt}: ${canned.story}`);
    const outcome = await this.client.submitResult(this.runId, {
      ...canned.submission,
      nodeId,
      attempt: item.attempt,
      submissionId: `${this.runId}/${nodeId}/${item.attempt}`,
      by: `agent:${item.owner.ref}`,
    });
    printOutcome(outcome);
  }

  private async playEditor(approvalId: string, nodeId: string): Promise<void> {
    const request = this.approvalRequests.get(approvalId);
    const key = `approval ${approvalId}`;
    if (!request || this.handled.has(key)) return; // its event shows up on the next poll
    this.handled.add(key);
    step(`${nodeId}: the editors are asked to approve the draft (approval ${approvalId})`);
    const approved = await decideApproval(request, this.options, this.deadline);
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

function printSummary(snapshot: RunSnapshot, url: string, taskQueue: string): void {
  step(`Run ${snapshot.runId}: ${colorStatus(snapshot.status)}`);
  const rows = [['NODE', 'STATUS', 'ATTEMPTS', 'OUTPUT'], ...snapshot.nodes.map((n) => [n.id, n.status, String(n.attempts), preview(n.output)])];
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  rows.forEach((row, index) => {
    const cells = row.map((cell, col) => cell.padEnd(widths[col]));
    if (index === 0) say(`  ${c.dim(cells.join('  ').trimEnd())}`);
    else say(`  ${cells[0]}  ${colorStatus(row[1])}${' '.repeat(widths[1] - row[1].length)}  ${row[3] ? `${cells[2]}  ${c.dim(row[3])}` : row[2]}`);
  });
  say(`\n  Web UI:   ${url}`);
  say(`  Explore:  npx plan-runner status ${snapshot.runId}`);
  say(`            npx plan-runner events ${snapshot.runId}`);
  const worker = taskQueue === 'plan-runs' ? './temporal-dev.sh worker' : `npx plan-runner --task-queue ${taskQueue} worker`;
  say(c.dim(`            (events is a query: it needs a worker on task queue ${taskQueue}: ${worker})`));
}

function preview(value: unknown): string {
  if (value === undefined) return '';
  const text = JSON.stringify(value);
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------------------------------------
// Setup and teardown

async function connect(address: string, taskQueue: string): Promise<PlanRunnerClient> {
  try {
    return await PlanRunnerClient.connect({ address, taskQueue, connectTimeoutMs: 5_000, queryTimeoutMs: 10_000, updateTimeoutMs: 20_000 });
  } catch (err) {
    if (err instanceof TemporalUnavailableError) {
      console.error(`\n${c.red('Cannot reach Temporal')} at ${address}.`);
      console.error('Start a local dev server first:   ./temporal-dev.sh server');
      console.error('or let the script do everything:  ./temporal-dev.sh demo');
      process.exit(1);
    }
    throw err;
  }
}

async function startWorker(address: string, namespace: string, taskQueue: string) {
  const connection = await NativeConnection.connect({ address });
  const worker: Worker = await createPlanWorker({ connection, namespace, taskQueue });
  let error: Error | undefined;
  const running = worker.run().catch((err: unknown) => {
    error = err instanceof Error ? err : new Error(String(err));
  });
  return {
    error: () => error,
    async stop(): Promise<void> {
      if (worker.getState() === 'RUNNING') worker.shutdown();
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

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const deadline = new Deadline(options.timeoutMs);
  // Quiet worker logs; we handle Ctrl-C ourselves so the worker is still there to clean up.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });

  const address = process.env.TEMPORAL_ADDRESS || DEFAULT_ADDRESS;
  const namespace = process.env.TEMPORAL_NAMESPACE || 'default';
  const taskQueue = process.env.PLAN_TASK_QUEUE || `plan-runs-demo-${shortId()}`;

  say(c.bold('plan-runner demo: three agents write a blog post, an editor approves it'));
  const client = await connect(address, taskQueue);
  say(`  Temporal   ${address} (namespace ${namespace})`);
  say(`  worker     in-process, task queue ${taskQueue}${process.env.PLAN_TASK_QUEUE ? ' (PLAN_TASK_QUEUE)' : ' (private to this demo)'}`);
  say(c.dim('             bundling the workflow code takes a few seconds…'));
  const worker = await startWorker(address, namespace, taskQueue);

  let runId: string | undefined;
  let demo: Demo | undefined;
  const onSignal = () => {
    if (demo) demo.interrupted = true;
    else process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { raw } = loadPlanFile(PLAN_FILE);
    say(`  plan       ${path.relative(process.cwd(), PLAN_FILE) || PLAN_FILE}`);
    const id = `blog-post-demo-${shortId().slice(0, 6)}`;
    await client.start(raw, { runId: id, input: RUN_INPUT });
    runId = id;
    const url = client.webUiUrl(runId);
    say(`  run        ${c.bold(runId)}  input ${JSON.stringify(RUN_INPUT)}`);
    say(`  Web UI     ${url}`);

    demo = new Demo(client, runId, options, deadline, worker.error);
    const final = await demo.play();
    printSummary(final, url, taskQueue);
    if (final.status === 'completed') return 0;
    console.error(`\n${c.red('demo stopped:')} the run ended ${final.status}, not completed`);
    await closeRun(client, runId, `demo: run ended ${final.status}`);
    return 1;
  } catch (err) {
    reportFailure(err);
    if (runId) await closeRun(client, runId, err instanceof Error ? err.message : String(err));
    return err instanceof Interrupted ? 130 : 1;
  } finally {
    await worker.stop();
    await client.close().catch(() => undefined);
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
async function closeRun(client: PlanRunnerClient, runId: string, reason: string): Promise<void> {
  try {
    await withTimeout(client.cancel(runId, { by: 'demo', reason }), 10_000, 'cancel');
    console.error(`cancelled run ${runId}; see it in the Web UI: ${client.webUiUrl(runId)}`);
  } catch {
    try {
      await withTimeout(client.client.workflow.getHandle(runId).terminate(reason), 10_000, 'terminate');
      console.error(`terminated run ${runId} (it did not answer a cancel); see why in the Web UI: ${client.webUiUrl(runId)}`);
    } catch {
      console.error(`run ${runId} may still be open: npx plan-runner cancel ${runId}`);
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
