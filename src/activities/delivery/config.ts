/**
 * The worker's delivery configuration (docs/semantics.md §12): webhook sinks, agent wake-up endpoints, their
 * Standard Webhooks secrets and retry timing. Read once when the worker starts, from
 *
 * - `PLAN_DELIVERY_CONFIG`: a YAML or JSON file (`.json` is JSON, anything else YAML) with `sinks`,
 *   `agents`, `sinkRetry`, `wakeUpRetry` and `requestTimeoutMs`. A secret is given inline (`secret`)
 *   or by the name of an environment variable that holds it (`secretEnv`), so files need no secrets;
 * - `PLAN_WEBHOOK_URL` + `PLAN_WEBHOOK_SECRET`: one more sink, with id `default`;
 * - `PLAN_DELIVERY_RETRY_INITIAL_MS`, `PLAN_DELIVERY_RETRY_MAX_MS` (sinks and wake-ups),
 *   `PLAN_DELIVERY_GIVE_UP_MS` (sinks) and `PLAN_WAKEUP_MAX_ATTEMPTS`: overrides of the file's timing.
 *
 * Every problem is reported at once, each with the file (or variable) and the path of the bad field:
 * `delivery.yaml: sinks[1].url: Invalid URL`. Messages never contain a secret.
 */
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import type { z } from 'zod';
import type * as LoadSpec from '../../client/load-spec';
import type { EventType } from '../../engine';
import type { AgentEndpoint, DeliveryConfig, DeliverySettings, SinkConfig } from './types';

/** Every event type a sink may filter on: docs/semantics.md §12's list plus `sink-disabled` and `operation-rejected` (docs/design-choices.md). */
export const DELIVERY_EVENT_TYPES = [
  'run-started',
  'run-status-changed',
  'run-resumed',
  'run-replanned',
  'node-scheduled',
  'node-ready',
  'node-running',
  'ownership-transition',
  'node-completed',
  'node-partial',
  'node-failed',
  'node-blocked',
  'node-skipped',
  'node-unblocked',
  'node-auto-completed',
  'node-timed-out',
  'validation-reported',
  'approval-requested',
  'approval-resolved',
  'approval-vote-recorded',
  'result-rejected',
  'deadline-warning',
  'escalation-triggered',
  'checkpoint-saved',
  'sink-disabled',
  'operation-rejected',
  'node-cancelled',
  'loop-iterated',
  'loop-exhausted',
  'fan-out-started',
  'fan-out-completed',
  'subplan-started',
  'budget-warning',
  'budget-exceeded',
  'budget-raised',
] as const satisfies readonly EventType[];

// Compile-time check that the list above names every EventType (a new engine event type must be added).
type MissingEventTypes = Exclude<EventType, (typeof DELIVERY_EVENT_TYPES)[number]>;
const everyEventTypeListed: [MissingEventTypes] extends [never] ? true : MissingEventTypes = true;
void everyEventTypeListed;

export const DEFAULT_SINK_RETRY: DeliveryConfig['sinkRetry'] = {
  initialIntervalMs: 1000,
  maximumIntervalMs: 60_000,
  giveUpAfterMs: 3 * 24 * 60 * 60 * 1000,
};
export const DEFAULT_WAKE_UP_RETRY: DeliveryConfig['wakeUpRetry'] = {
  initialIntervalMs: 1000,
  maximumIntervalMs: 30_000,
  maximumAttempts: 5,
};
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** The id of the sink that `PLAN_WEBHOOK_URL` + `PLAN_WEBHOOK_SECRET` add. */
export const DEFAULT_SINK_ID = 'default';
/** The id of the sink that tells people an approval waits for them (the `people` registry). */
export const PEOPLE_SINK_ID = 'people';
/** What the people sink delivers. */
export const PEOPLE_EVENT_TYPES = ['approval-requested'] as const satisfies readonly EventType[];

/** A configuration problem. `message` is `<source>: <path>: <problem>` (several joined by "; "). */
export class DeliveryConfigError extends Error {
  /** The file path or environment variable the problems were found in. */
  readonly source: string;
  /** One `<path>: <problem>` per problem (no source prefix). */
  readonly problems: string[];

  constructor(source: string, problems: string[], options?: { cause?: unknown }) {
    super(`${source}: ${problems.join('; ')}`, options);
    this.name = 'DeliveryConfigError';
    this.source = source;
    this.problems = problems;
  }
}

// ---- Schema ---------------------------------------------------------------------------------------

const SECRET_HINT = 'a Standard Webhooks secret is "whsec_" followed by base64 (e.g. `echo whsec_$(openssl rand -base64 32)`)';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why `secret` is not a usable Standard Webhooks secret, or undefined when it is. Never echoes it. */
export function secretProblem(secret: string): string | undefined {
  if (!secret.startsWith('whsec_')) return `must start with "whsec_": ${SECRET_HINT}`;
  const body = secret.slice('whsec_'.length);
  if (body === '') return `is empty after "whsec_": ${SECRET_HINT}`;
  if (!BASE64.test(body)) return `is not valid base64 after "whsec_": ${SECRET_HINT}`;
  try {
    new Webhook(secret);
  } catch (e) {
    return `is not accepted by standardwebhooks (${e instanceof Error ? e.message : String(e)}): ${SECRET_HINT}`;
  }
  return undefined;
}

/**
 * The zod schemas of the file and of the URL variables, built on first use. zod (~50 ms to load) and
 * the YAML parser are needed only when there is something to check: a worker started without
 * PLAN_DELIVERY_CONFIG, PLAN_WEBHOOK_URL and PLAN_CONSOLE_URL loads neither. Every check is the
 * same as before, at the same moment (when the worker reads its configuration, at start).
 */
function schemas(): DeliverySchemas {
  return (cachedSchemas ??= buildSchemas());
}

function buildSchemas() {
  const { z } = require('zod') as typeof import('zod');
  const positiveInt = z.number().int('Expected an integer').positive('Expected a positive number');
  const httpUrl = z.url({ protocol: /^https?$/, error: 'Invalid URL (an http:// or https:// URL is expected)' });
  const secretFields = {
    secret: z.string().optional(),
    secretEnv: z.string().min(1, 'Expected the name of an environment variable').optional(),
  };

  const sinkSchema = z.strictObject({
    id: z.string().min(1, 'Expected a non-empty sink id'),
    url: httpUrl,
    ...secretFields,
    eventTypes: z.array(z.enum(DELIVERY_EVENT_TYPES)).optional(),
  });

  const agentSchema = z.strictObject({ url: httpUrl, ...secretFields });

  const fileSchema = z.strictObject({
    sinks: z.array(sinkSchema).optional(),
    agents: z.record(z.string().min(1, 'Expected a non-empty owner ref'), agentSchema).optional(),
    sinkRetry: z
      .strictObject({ initialIntervalMs: positiveInt.optional(), maximumIntervalMs: positiveInt.optional(), giveUpAfterMs: positiveInt.optional() })
      .optional(),
    wakeUpRetry: z
      .strictObject({ initialIntervalMs: positiveInt.optional(), maximumIntervalMs: positiveInt.optional(), maximumAttempts: positiveInt.optional() })
      .optional(),
    requestTimeoutMs: positiveInt.optional(),
    people: z.record(z.string().min(1, 'Expected a non-empty name or owner ref'), agentSchema).optional(),
    consoleUrl: httpUrl.optional(),
  });
  return { httpUrl, fileSchema };
}

type DeliverySchemas = ReturnType<typeof buildSchemas>;
let cachedSchemas: DeliverySchemas | undefined;
type FileConfig = z.infer<DeliverySchemas['fileSchema']>;

// ---- Loading --------------------------------------------------------------------------------------

/** Reads the delivery configuration from `env` (see the module comment). Throws DeliveryConfigError. */
export function loadDeliveryConfig(env: NodeJS.ProcessEnv = process.env): DeliveryConfig {
  const value = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw;
  };

  const config: DeliveryConfig = {
    sinks: [],
    agents: {},
    sinkRetry: { ...DEFAULT_SINK_RETRY },
    wakeUpRetry: { ...DEFAULT_WAKE_UP_RETRY },
    requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
  };

  const file = value('PLAN_DELIVERY_CONFIG');
  if (file !== undefined) applyFile(config, file.trim(), env);

  const url = value('PLAN_WEBHOOK_URL');
  const secret = value('PLAN_WEBHOOK_SECRET');
  if (url !== undefined || secret !== undefined) {
    if (url === undefined) throw new DeliveryConfigError('PLAN_WEBHOOK_SECRET', ['is set but PLAN_WEBHOOK_URL is not: set both to add the default sink, or neither']);
    if (secret === undefined) throw new DeliveryConfigError('PLAN_WEBHOOK_URL', ['is set but PLAN_WEBHOOK_SECRET is not: set both to add the default sink, or neither']);
    const parsedUrl = schemas().httpUrl.safeParse(url.trim());
    if (!parsedUrl.success) throw new DeliveryConfigError('PLAN_WEBHOOK_URL', [parsedUrl.error.issues[0].message]);
    const problem = secretProblem(secret.trim());
    if (problem) throw new DeliveryConfigError('PLAN_WEBHOOK_SECRET', [problem]);
    if (config.sinks.some((sink) => sink.id === DEFAULT_SINK_ID)) {
      throw new DeliveryConfigError('PLAN_WEBHOOK_URL', [`adds the sink "${DEFAULT_SINK_ID}", but ${file} already has a sink with that id`]);
    }
    config.sinks.push({ id: DEFAULT_SINK_ID, url: parsedUrl.data, secret: secret.trim() });
  }

  const consoleUrl = value('PLAN_CONSOLE_URL');
  if (consoleUrl !== undefined) {
    const parsedConsoleUrl = schemas().httpUrl.safeParse(consoleUrl.trim());
    if (!parsedConsoleUrl.success) throw new DeliveryConfigError('PLAN_CONSOLE_URL', [parsedConsoleUrl.error.issues[0].message]);
    config.consoleUrl = parsedConsoleUrl.data;
  }
  if (config.consoleUrl !== undefined) config.consoleUrl = config.consoleUrl.replace(/\/+$/, '');

  const override = (name: string): number | undefined => {
    const raw = value(name);
    if (raw === undefined) return undefined;
    if (!/^\s*\d+\s*$/.test(raw) || Number(raw) <= 0 || !Number.isSafeInteger(Number(raw))) {
      throw new DeliveryConfigError(name, [`expected a positive integer, got ${JSON.stringify(raw)}`]);
    }
    return Number(raw);
  };
  const initial = override('PLAN_DELIVERY_RETRY_INITIAL_MS');
  const maximum = override('PLAN_DELIVERY_RETRY_MAX_MS');
  const giveUp = override('PLAN_DELIVERY_GIVE_UP_MS');
  const attempts = override('PLAN_WAKEUP_MAX_ATTEMPTS');
  for (const retry of [config.sinkRetry, config.wakeUpRetry]) {
    if (initial !== undefined) retry.initialIntervalMs = initial;
    if (maximum !== undefined) retry.maximumIntervalMs = maximum;
  }
  if (giveUp !== undefined) config.sinkRetry.giveUpAfterMs = giveUp;
  if (attempts !== undefined) config.wakeUpRetry.maximumAttempts = attempts;

  for (const [name, retry] of [
    ['sinkRetry', config.sinkRetry],
    ['wakeUpRetry', config.wakeUpRetry],
  ] as const) {
    if (retry.maximumIntervalMs < retry.initialIntervalMs) {
      const source = initial !== undefined || maximum !== undefined ? 'PLAN_DELIVERY_RETRY_INITIAL_MS/PLAN_DELIVERY_RETRY_MAX_MS' : (file ?? 'defaults');
      throw new DeliveryConfigError(source, [
        `${name}.maximumIntervalMs: ${retry.maximumIntervalMs} is less than initialIntervalMs ${retry.initialIntervalMs}`,
      ]);
    }
  }
  return config;
}

function applyFile(config: DeliveryConfig, file: string, env: NodeJS.ProcessEnv): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file (PLAN_DELIVERY_CONFIG)' : `cannot read the file (${e instanceof Error ? e.message : String(e)})`;
    throw new DeliveryConfigError(file, [reason], { cause: e });
  }
  if (text.replace(/^\uFEFF/, '').trim() === '') {
    throw new DeliveryConfigError(file, ['the file is empty: expected `sinks` and/or `agents`']);
  }
  // The YAML/JSON reader (the `yaml` package) only when there is a file to read.
  const { parsePlanText, PlanFileError } = require('../../client/load-spec') as typeof LoadSpec;
  let raw: unknown;
  try {
    raw = parsePlanText(text, file).raw;
  } catch (e) {
    // PlanFileError's message is "<file>[:<line>:<col>]: <reason>"; keep the same shape.
    if (!(e instanceof PlanFileError)) throw e;
    const where = e.line !== undefined ? `${file}:${e.line}:${e.column}` : file;
    const reason = e.message.startsWith(`${where}: `) ? e.message.slice(where.length + 2) : e.message;
    throw new DeliveryConfigError(where, [reason], { cause: e });
  }

  const parsed = schemas().fileSchema.safeParse(raw);
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map((issue) => `${pathText(issue.path) || '(top level)'}: ${issue.message}`);
  const data: FileConfig = parsed.success ? parsed.data : {};

  if (parsed.success) {
    const seen = new Set<string>();
    data.sinks?.forEach((sink, index) => {
      const secret = resolveSecret(sink, `sinks[${index}]`, env, problems);
      if (seen.has(sink.id)) problems.push(`sinks[${index}].id: duplicate sink id "${sink.id}"`);
      seen.add(sink.id);
      if (secret === undefined) return;
      const eventTypes = sink.eventTypes && sink.eventTypes.length > 0 ? [...new Set(sink.eventTypes)] : undefined;
      const entry: SinkConfig = { id: sink.id, url: sink.url, secret, ...(eventTypes ? { eventTypes } : {}) };
      config.sinks.push(entry);
    });
    for (const [ref, agent] of Object.entries(data.agents ?? {})) {
      const secret = resolveSecret(agent, `agents${keyText(ref)}`, env, problems);
      if (secret !== undefined) config.agents[ref] = { url: agent.url, secret } satisfies AgentEndpoint;
    }
    const people: Record<string, AgentEndpoint> = Object.create(null) as Record<string, AgentEndpoint>;
    for (const [name, person] of Object.entries(data.people ?? {})) {
      const secret = resolveSecret(person, `people${keyText(name)}`, env, problems);
      if (secret !== undefined) people[name] = { url: person.url, secret };
    }
    if (Object.keys(people).length > 0) {
      // People are told through one more sink, so the workflow delivers to them in order and retries
      // like any sink, and needs no change: the activity picks each event's endpoints.
      const clash = data.sinks?.findIndex((sink) => sink.id === PEOPLE_SINK_ID) ?? -1;
      if (clash !== -1) problems.push(`sinks[${clash}].id: "${PEOPLE_SINK_ID}" is the sink of the people registry; give this sink another id`);
      config.people = people;
      config.sinks.push({ id: PEOPLE_SINK_ID, url: '', secret: '', eventTypes: [...PEOPLE_EVENT_TYPES], people: true });
    }
    if (data.consoleUrl !== undefined) config.consoleUrl = data.consoleUrl;
    Object.assign(config.sinkRetry, data.sinkRetry ?? {});
    Object.assign(config.wakeUpRetry, data.wakeUpRetry ?? {});
    if (data.requestTimeoutMs !== undefined) config.requestTimeoutMs = data.requestTimeoutMs;
  }
  if (problems.length > 0) throw new DeliveryConfigError(file, problems);
}

function resolveSecret(entry: { secret?: string; secretEnv?: string }, path: string, env: NodeJS.ProcessEnv, problems: string[]): string | undefined {
  if (entry.secret !== undefined && entry.secretEnv !== undefined) {
    problems.push(`${path}: give either secret or secretEnv, not both`);
    return undefined;
  }
  if (entry.secret === undefined && entry.secretEnv === undefined) {
    problems.push(`${path}: a secret is required (secret, or secretEnv naming an environment variable that holds it)`);
    return undefined;
  }
  let secret: string;
  let where: string;
  if (entry.secretEnv !== undefined) {
    const fromEnv = env[entry.secretEnv];
    if (fromEnv === undefined || fromEnv.trim() === '') {
      problems.push(`${path}.secretEnv: the environment variable ${entry.secretEnv} is not set`);
      return undefined;
    }
    secret = fromEnv.trim();
    where = `${path}.secretEnv: the secret in ${entry.secretEnv}`;
  } else {
    secret = entry.secret!.trim();
    where = `${path}.secret`;
  }
  const problem = secretProblem(secret);
  if (problem) {
    problems.push(`${where} ${problem}`);
    return undefined;
  }
  return secret;
}

/** `sinks[1].url`, `agents.writer`, `agents["acme/writer"].url`. */
function pathText(path: ReadonlyArray<PropertyKey>): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' && /^[A-Za-z_$][\w$]*$/.test(String(key)) ? String(key) : keyText(String(key));
  }
  return text;
}

function keyText(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

// ---- What the workflow may know ----------------------------------------------------------------------

/** The configuration without URLs and secrets: what the workflow learns (and records in its history). */
export function deliverySettingsOf(config: DeliveryConfig): DeliverySettings {
  return {
    sinks: config.sinks.map((sink) => ({ id: sink.id, ...(sink.eventTypes && sink.eventTypes.length > 0 ? { eventTypes: [...sink.eventTypes] } : {}) })),
    agents: Object.keys(config.agents).sort(),
    sinkRetry: { ...config.sinkRetry },
    wakeUpRetry: { ...config.wakeUpRetry },
  };
}
