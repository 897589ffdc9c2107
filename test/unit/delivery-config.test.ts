/**
 * The worker's delivery configuration (src/activities/delivery/config.ts): PLAN_DELIVERY_CONFIG files
 * (YAML and JSON), secretEnv, PLAN_WEBHOOK_URL/SECRET, defaults, env overrides, and errors that name
 * the file and the bad field without echoing secrets. Also the Standard Webhooks signing helper.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SINK_RETRY,
  DEFAULT_WAKE_UP_RETRY,
  DELIVERY_EVENT_TYPES,
  DeliveryConfigError,
  deliverySettingsOf,
  loadDeliveryConfig,
  secretProblem,
  signatureHeaders,
  userAgent,
} from '../../src/activities/delivery';

// Test secrets (random bytes, base64): not used anywhere else.
const SECRET_A = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SECRET_B = `whsec_${Buffer.from('another test secret, 32 bytes!!').toString('base64')}`;

const dir = mkdtempSync(join(tmpdir(), 'delivery-config-'));
let files = 0;
function file(text: string, ext = 'yaml'): string {
  const path = join(dir, `delivery-${++files}.${ext}`);
  writeFileSync(path, text);
  return path;
}

function configError(env: NodeJS.ProcessEnv): DeliveryConfigError {
  try {
    loadDeliveryConfig(env);
  } catch (e) {
    assert.ok(e instanceof DeliveryConfigError, `expected a DeliveryConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected loadDeliveryConfig to throw');
}

describe('delivery config', () => {
  it('no configuration: no sinks, no agents, the defaults', () => {
    const config = loadDeliveryConfig({});
    assert.deepEqual(config, {
      sinks: [],
      agents: {},
      sinkRetry: { initialIntervalMs: 1000, maximumIntervalMs: 60_000, giveUpAfterMs: 3 * 24 * 3600 * 1000 },
      wakeUpRetry: { initialIntervalMs: 1000, maximumIntervalMs: 30_000, maximumAttempts: 5 },
      requestTimeoutMs: 10_000,
    });
    assert.deepEqual(config.sinkRetry, DEFAULT_SINK_RETRY);
    assert.deepEqual(config.wakeUpRetry, DEFAULT_WAKE_UP_RETRY);
    assert.equal(config.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
    // The defaults are copied, not shared.
    config.sinkRetry.initialIntervalMs = 1;
    assert.equal(loadDeliveryConfig({}).sinkRetry.initialIntervalMs, 1000);
  });

  it('reads a YAML file: sinks, agents (secret or secretEnv), timing', () => {
    const path = file(`
sinks:
  - id: audit
    url: https://hooks.example.com/plan-events
    secretEnv: AUDIT_SECRET
    eventTypes: [node-failed, node-blocked, node-failed]
  - id: all
    url: http://127.0.0.1:9000/events
    secret: ${SECRET_A}
agents:
  writer:
    url: https://agents.example.com/writer/wake
    secret: ${SECRET_B}
  "acme/reviewer":
    url: https://agents.example.com/reviewer/wake
    secretEnv: REVIEWER_SECRET
sinkRetry:
  maximumIntervalMs: 120000
wakeUpRetry:
  maximumAttempts: 3
requestTimeoutMs: 2500
`);
    const config = loadDeliveryConfig({ PLAN_DELIVERY_CONFIG: path, AUDIT_SECRET: `${SECRET_B}\n`, REVIEWER_SECRET: SECRET_A });
    assert.deepEqual(config.sinks, [
      { id: 'audit', url: 'https://hooks.example.com/plan-events', secret: SECRET_B, eventTypes: ['node-failed', 'node-blocked'] },
      { id: 'all', url: 'http://127.0.0.1:9000/events', secret: SECRET_A },
    ]);
    assert.deepEqual(config.agents, {
      writer: { url: 'https://agents.example.com/writer/wake', secret: SECRET_B },
      'acme/reviewer': { url: 'https://agents.example.com/reviewer/wake', secret: SECRET_A },
    });
    assert.deepEqual(config.sinkRetry, { initialIntervalMs: 1000, maximumIntervalMs: 120_000, giveUpAfterMs: DEFAULT_SINK_RETRY.giveUpAfterMs });
    assert.deepEqual(config.wakeUpRetry, { initialIntervalMs: 1000, maximumIntervalMs: 30_000, maximumAttempts: 3 });
    assert.equal(config.requestTimeoutMs, 2500);
  });

  it('people: a registry of human owners and approvers adds the people sink (approval-requested only); consoleUrl links approvals', () => {
    const path = file(`
people:
  reviewers:
    url: https://chat.example.com/hooks/reviewers
    secret: ${SECRET_A}
  alice:
    url: https://chat.example.com/hooks/alice
    secretEnv: ALICE_SECRET
consoleUrl: https://console.example.com/
`);
    const config = loadDeliveryConfig({ PLAN_DELIVERY_CONFIG: path, ALICE_SECRET: SECRET_B });
    assert.deepEqual({ ...config.people }, {
      reviewers: { url: 'https://chat.example.com/hooks/reviewers', secret: SECRET_A },
      alice: { url: 'https://chat.example.com/hooks/alice', secret: SECRET_B },
    });
    assert.deepEqual(config.sinks, [{ id: 'people', url: '', secret: '', eventTypes: ['approval-requested'], people: true }]);
    assert.equal(config.consoleUrl, 'https://console.example.com', 'trailing slashes go');
    assert.deepEqual(deliverySettingsOf(config).sinks, [{ id: 'people', eventTypes: ['approval-requested'] }], 'the workflow sees one more sink, no URL');
    assert.equal(loadDeliveryConfig({ PLAN_DELIVERY_CONFIG: path, ALICE_SECRET: SECRET_B, PLAN_CONSOLE_URL: 'http://localhost:8080' }).consoleUrl, 'http://localhost:8080', 'PLAN_CONSOLE_URL wins');
    const clash = configError({ PLAN_DELIVERY_CONFIG: file(`sinks: [{ id: people, url: "https://x.example", secret: ${SECRET_A} }]\npeople: { bob: { url: "https://y.example", secret: ${SECRET_A} } }\n`) });
    assert.match(clash.message, /sinks\[0\]\.id: "people" is the sink of the people registry/);
    assert.match(configError({ PLAN_CONSOLE_URL: 'not a url' }).message, /^PLAN_CONSOLE_URL: Invalid URL/);
  });

  it('reads a JSON file', () => {
    const path = file(JSON.stringify({ sinks: [{ id: 'j', url: 'https://example.com/h', secret: SECRET_A, eventTypes: [] }] }), 'json');
    const config = loadDeliveryConfig({ PLAN_DELIVERY_CONFIG: path });
    // An empty filter means all events: it is dropped.
    assert.deepEqual(config.sinks, [{ id: 'j', url: 'https://example.com/h', secret: SECRET_A }]);
  });

  it('PLAN_WEBHOOK_URL + PLAN_WEBHOOK_SECRET add the sink "default", after the file\'s sinks', () => {
    assert.deepEqual(loadDeliveryConfig({ PLAN_WEBHOOK_URL: 'https://example.com/hook', PLAN_WEBHOOK_SECRET: SECRET_A }).sinks, [
      { id: 'default', url: 'https://example.com/hook', secret: SECRET_A },
    ]);
    const path = file(`sinks:\n  - { id: other, url: "https://example.org/x", secret: "${SECRET_B}" }\n`);
    const ids = loadDeliveryConfig({ PLAN_DELIVERY_CONFIG: path, PLAN_WEBHOOK_URL: 'https://example.com/hook', PLAN_WEBHOOK_SECRET: SECRET_A }).sinks.map((s) => s.id);
    assert.deepEqual(ids, ['other', 'default']);
  });

  it('PLAN_WEBHOOK_URL without PLAN_WEBHOOK_SECRET (and the reverse) is an error', () => {
    const noSecret = configError({ PLAN_WEBHOOK_URL: 'https://example.com/hook' });
    assert.equal(noSecret.source, 'PLAN_WEBHOOK_URL');
    assert.match(noSecret.message, /^PLAN_WEBHOOK_URL: is set but PLAN_WEBHOOK_SECRET is not/);
    const noUrl = configError({ PLAN_WEBHOOK_SECRET: SECRET_A });
    assert.match(noUrl.message, /^PLAN_WEBHOOK_SECRET: is set but PLAN_WEBHOOK_URL is not/);
    // Empty values count as unset.
    assert.deepEqual(loadDeliveryConfig({ PLAN_WEBHOOK_URL: '', PLAN_WEBHOOK_SECRET: '' }).sinks, []);
  });

  it('PLAN_WEBHOOK_URL and PLAN_WEBHOOK_SECRET are validated', () => {
    assert.match(configError({ PLAN_WEBHOOK_URL: 'not a url', PLAN_WEBHOOK_SECRET: SECRET_A }).message, /^PLAN_WEBHOOK_URL: Invalid URL/);
    assert.match(configError({ PLAN_WEBHOOK_URL: 'ftp://example.com/x', PLAN_WEBHOOK_SECRET: SECRET_A }).message, /^PLAN_WEBHOOK_URL: Invalid URL/);
    const badSecret = configError({ PLAN_WEBHOOK_URL: 'https://example.com/x', PLAN_WEBHOOK_SECRET: 'hunter2' });
    assert.match(badSecret.message, /^PLAN_WEBHOOK_SECRET: must start with "whsec_"/);
    assert.doesNotMatch(badSecret.message, /hunter2/);
    const path = file(`sinks:\n  - { id: default, url: "https://example.org/x", secret: "${SECRET_B}" }\n`);
    assert.match(
      configError({ PLAN_DELIVERY_CONFIG: path, PLAN_WEBHOOK_URL: 'https://example.com/x', PLAN_WEBHOOK_SECRET: SECRET_A }).message,
      /already has a sink with that id/,
    );
  });

  it('errors name the file and the path of every bad field', () => {
    const path = file(`
sinks:
  - id: ok
    url: https://example.com/a
    secret: ${SECRET_A}
  - id: bad
    url: not-a-url
    secret: ${SECRET_A}
    eventTypes: [node-failed, node-exploded]
  - id: ok
    url: https://example.com/c
    secret: ${SECRET_A}
agents:
  writer:
    url: https://example.com/w
sinkRetry:
  initialIntervalMs: -5
requestTimeoutMs: 1.5
colour: blue
`);
    const error = configError({ PLAN_DELIVERY_CONFIG: path });
    assert.equal(error.source, path);
    assert.ok(error.message.startsWith(`${path}: `), error.message);
    const byPath = (prefix: string) => error.problems.filter((problem) => problem.startsWith(prefix));
    assert.equal(byPath('sinks[1].url: Invalid URL').length, 1, error.message);
    assert.equal(byPath('sinks[1].eventTypes[1]: ').length, 1, error.message);
    assert.equal(byPath('sinkRetry.initialIntervalMs: ').length, 1, error.message);
    assert.equal(byPath('requestTimeoutMs: Expected an integer').length, 1, error.message);
    assert.match(error.message, /\(top level\): Unrecognized key: "colour"/);
    assert.equal(error.problems.length, 5, error.message);
  });

  it('after the schema: duplicate sink ids and missing secrets, each with its path', () => {
    const path = file(`
sinks:
  - { id: a, url: "https://example.com/1", secret: "${SECRET_A}" }
  - { id: a, url: "https://example.com/2", secret: "${SECRET_A}" }
  - { id: b, url: "https://example.com/3" }
agents:
  "acme/writer": { url: "https://example.com/w", secret: "${SECRET_A}", secretEnv: WRITER_SECRET }
  reviewer: { url: "https://example.com/r", secretEnv: REVIEWER_SECRET }
`);
    const error = configError({ PLAN_DELIVERY_CONFIG: path });
    assert.deepEqual(error.problems, [
      'sinks[1].id: duplicate sink id "a"',
      'sinks[2]: a secret is required (secret, or secretEnv naming an environment variable that holds it)',
      'agents["acme/writer"]: give either secret or secretEnv, not both',
      'agents.reviewer.secretEnv: the environment variable REVIEWER_SECRET is not set',
    ]);
  });

  it('secrets must be whsec_ + base64 that standardwebhooks accepts, and are never echoed', () => {
    for (const bad of ['whsec_', 'whsec_abc', 'whsec_!!!!', 'whsec_YQ', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']) {
      const problem = secretProblem(bad);
      assert.ok(problem, `${bad} should be refused`);
      const key = bad.replace(/^whsec_/, '');
      if (key !== '') assert.ok(!problem.includes(key), `the problem echoes the secret: ${problem}`);
    }
    for (const good of [SECRET_A, SECRET_B, 'whsec_YQ==']) {
      assert.equal(secretProblem(good), undefined, good);
      assert.doesNotThrow(() => new Webhook(good));
    }

    const path = file(`sinks:\n  - { id: s, url: "https://example.com/1", secretEnv: S }\n`);
    const error = configError({ PLAN_DELIVERY_CONFIG: path, S: 'whsec_not*base64' });
    assert.deepEqual(error.problems.length, 1);
    assert.match(error.problems[0], /^sinks\[0\]\.secretEnv: the secret in S is not valid base64 after "whsec_"/);
    assert.doesNotMatch(error.message, /not\*base64/);
  });

  it('file problems: missing, empty, syntax errors with line and column', () => {
    const missing = configError({ PLAN_DELIVERY_CONFIG: join(dir, 'nope.yaml') });
    assert.match(missing.message, /nope\.yaml: no such file/);
    assert.match(configError({ PLAN_DELIVERY_CONFIG: file('\n') }).message, /: the file is empty/);
    const yaml = configError({ PLAN_DELIVERY_CONFIG: file('sinks:\n  - id: a\n   url: x\n') });
    assert.match(yaml.message, /delivery-\d+\.yaml:3:\d+: YAML syntax error/);
    const json = configError({ PLAN_DELIVERY_CONFIG: file('{"sinks": [}', 'json') });
    assert.match(json.message, /delivery-\d+\.json:1:\d+: JSON syntax error/);
    assert.match(configError({ PLAN_DELIVERY_CONFIG: file('- a\n- b\n') }).message, /\(top level\): Invalid input: expected object/);
  });

  it('env overrides: retry intervals (sinks and wake-ups), give-up time, wake-up attempts', () => {
    const path = file('wakeUpRetry: { maximumAttempts: 9 }\nsinkRetry: { initialIntervalMs: 500 }\n');
    const config = loadDeliveryConfig({
      PLAN_DELIVERY_CONFIG: path,
      PLAN_DELIVERY_RETRY_INITIAL_MS: '10',
      PLAN_DELIVERY_RETRY_MAX_MS: ' 20 ',
      PLAN_DELIVERY_GIVE_UP_MS: '3000',
      PLAN_WAKEUP_MAX_ATTEMPTS: '2',
    });
    assert.deepEqual(config.sinkRetry, { initialIntervalMs: 10, maximumIntervalMs: 20, giveUpAfterMs: 3000 });
    assert.deepEqual(config.wakeUpRetry, { initialIntervalMs: 10, maximumIntervalMs: 20, maximumAttempts: 2 });
  });

  it('env overrides must be positive integers', () => {
    for (const [name, value] of [
      ['PLAN_WAKEUP_MAX_ATTEMPTS', '0'],
      ['PLAN_WAKEUP_MAX_ATTEMPTS', '-1'],
      ['PLAN_DELIVERY_RETRY_INITIAL_MS', '1.5'],
      ['PLAN_DELIVERY_RETRY_MAX_MS', 'soon'],
      ['PLAN_DELIVERY_RETRY_MAX_MS', '1e3'],
    ]) {
      const error = configError({ [name]: value });
      assert.equal(error.source, name);
      assert.equal(error.message, `${name}: expected a positive integer, got ${JSON.stringify(value)}`);
    }
  });

  it('a maximum interval below the initial one is an error', () => {
    assert.match(configError({ PLAN_DELIVERY_RETRY_INITIAL_MS: '5000', PLAN_DELIVERY_RETRY_MAX_MS: '100' }).message, /sinkRetry\.maximumIntervalMs: 100 is less than initialIntervalMs 5000/);
    const path = file('wakeUpRetry: { initialIntervalMs: 40000 }\n');
    const error = configError({ PLAN_DELIVERY_CONFIG: path });
    assert.equal(error.source, path);
    assert.match(error.message, /wakeUpRetry\.maximumIntervalMs: 30000 is less than initialIntervalMs 40000/);
  });

  it('sinks may filter on every event type, the extensions sink-disabled and operation-rejected included', () => {
    assert.ok(DELIVERY_EVENT_TYPES.includes('sink-disabled'));
    assert.ok(DELIVERY_EVENT_TYPES.includes('operation-rejected'));
    assert.ok(DELIVERY_EVENT_TYPES.includes('checkpoint-saved'));
    assert.ok(DELIVERY_EVENT_TYPES.includes('node-cancelled'));
    // docs/semantics.md §12's 23 types, the two extensions, node-cancelled (join modes), loop-iterated and loop-exhausted (loops),
    // fan-out-started and fan-out-completed (fan-out), approval-vote-recorded (quorum approvals),
    // budget-warning, budget-exceeded and budget-raised (budgets), subplan-started (sub-plans).
    assert.ok(DELIVERY_EVENT_TYPES.includes('approval-vote-recorded'));
    assert.ok(DELIVERY_EVENT_TYPES.includes('subplan-started'));
    for (const type of ['budget-warning', 'budget-exceeded', 'budget-raised'] as const) assert.ok(DELIVERY_EVENT_TYPES.includes(type));
    assert.equal(new Set(DELIVERY_EVENT_TYPES).size, 35);
    const path = file(JSON.stringify({ sinks: [{ id: 's', url: 'https://example.com/1', secret: SECRET_A, eventTypes: DELIVERY_EVENT_TYPES }] }), 'json');
    assert.equal(loadDeliveryConfig({ PLAN_DELIVERY_CONFIG: path }).sinks[0].eventTypes?.length, 35);
  });

  it('deliverySettingsOf strips URLs and secrets', () => {
    const path = file(`
sinks:
  - { id: a, url: "https://example.com/1", secret: "${SECRET_A}", eventTypes: [node-failed] }
  - { id: b, url: "https://example.com/2", secret: "${SECRET_A}" }
agents:
  zed: { url: "https://example.com/z", secret: "${SECRET_B}" }
  alpha: { url: "https://example.com/a", secret: "${SECRET_B}" }
`);
    const config = loadDeliveryConfig({ PLAN_DELIVERY_CONFIG: path, PLAN_WAKEUP_MAX_ATTEMPTS: '4' });
    const settings = deliverySettingsOf(config);
    assert.deepEqual(settings, {
      sinks: [{ id: 'a', eventTypes: ['node-failed'] }, { id: 'b' }],
      agents: ['alpha', 'zed'],
      sinkRetry: DEFAULT_SINK_RETRY,
      wakeUpRetry: { ...DEFAULT_WAKE_UP_RETRY, maximumAttempts: 4 },
    });
    const text = JSON.stringify(settings);
    assert.doesNotMatch(text, /whsec_|https?:/);
  });
});

describe('delivery signing', () => {
  it('signatureHeaders produce headers standardwebhooks verifies, and only with the right secret', () => {
    const body = JSON.stringify({ type: 'node-failed', n: 1 });
    const at = new Date();
    const headers = signatureHeaders(SECRET_A, 'run-1:7', body, at);
    assert.equal(headers['webhook-id'], 'run-1:7');
    assert.equal(headers['webhook-timestamp'], String(Math.floor(at.getTime() / 1000)));
    assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(new Webhook(SECRET_A).verify(body, { ...headers }), { type: 'node-failed', n: 1 });
    assert.throws(() => new Webhook(SECRET_B).verify(body, { ...headers }), /No matching signature/);
    assert.throws(() => new Webhook(SECRET_A).verify(body.replace('1', '2'), { ...headers }), /No matching signature/);
    assert.throws(() => new Webhook(SECRET_A).verify(body, { ...headers, 'webhook-id': 'run-1:8' }), /No matching signature/);
  });

  it('the user agent carries the package version', () => {
    const { version } = require('../../../package.json') as { version: string };
    assert.equal(userAgent(), `plan-runner/${version}`);
  });
});
