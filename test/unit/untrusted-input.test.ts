/**
 * Untrusted plans and payloads (docs/security.md): the pure and activity-level regressions for what
 * a hostile planner or agent could do before. The same reproductions run against a live server and
 * both stores in test/integration/untrusted-input.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyAgentSubmission,
  cancelRun,
  checkAgentSubmission,
  checkHumanResponse,
  inspectJson,
  payloadLimitsFromEnv,
  rejectSubmission,
  retryNode,
  storableText,
} from '../../src/engine';
import { validatePlanSpecWithSchemas, validateValue } from '../../src/activities/validation';
import { getPath, setPath } from '../../src/engine/paths';
import { validatePlanSpec } from '../../src/engine/validate-spec';
import { at, Driver, exactCopy, human, ok, plan, refused, task } from './engine-helpers';

/** A value nested `depth` levels deep: { a: { a: … } }. */
function deep(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('untrusted input: no prototype is reachable (reproduction 1)', () => {
  it('a map target __proto__.polluted is a validation error at its path', () => {
    const spec = plan([task('a'), task('b')], [{ from: 'a', to: 'b', map: { '__proto__.polluted': 'output.x' } }]);
    const result = validatePlanSpec(spec);
    assert.equal(result.valid, false);
    const problem = result.errors.find((p) => p.path === '$.edges[0].map["__proto__.polluted"]');
    assert.ok(problem, JSON.stringify(result.errors));
    assert.match(problem.message, /reserved/);
  });

  it('reserved segments are errors in when, map sources, completion checks, node ids and schema names', () => {
    const spec = {
      id: 'p',
      schemas: JSON.parse('{"constructor": {"type": "object"}}'),
      nodes: [
        task('a', { completionChecks: [{ kind: 'required', path: 'items.prototype' }, { kind: 'artifact', name: 'constructor' }] }),
        task('__proto__'),
        task('b'),
      ],
      edges: [{ from: 'a', to: 'b', when: 'output.constructor.name == "x"', map: { x: 'output.__proto__' } }],
    };
    const paths = validatePlanSpec(spec).errors.map((p) => p.path);
    for (const expected of [
      '$.schemas.constructor',
      '$.nodes[0].completionChecks[0].path',
      '$.nodes[0].completionChecks[1].name',
      '$.nodes[1].id',
      '$.edges[0].when',
      '$.edges[0].map.x',
    ]) {
      assert.ok(paths.includes(expected), `${expected} in ${paths.join(', ')}`);
    }
  });

  it('the path helpers never read or write a prototype, even for a path validation would refuse', () => {
    const target: Record<string, unknown> = {};
    setPath(target, '__proto__.polluted', 'yes');
    setPath(target, 'constructor.prototype.polluted', 'yes');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(target), Object.prototype);
    assert.equal(getPath({}, 'constructor'), undefined);
    assert.equal(getPath({ a: {} }, 'a.toString'), undefined);
    // an own key that JSON.parse made is just a key
    assert.deepEqual(getPath(JSON.parse('{"a": {"b": 1}}'), 'a.b'), 1);
  });

  it('an artifact named __proto__ in a result is refused, and would not replace a prototype', () => {
    const d = new Driver(plan([task('a')]));
    const refusal = refused(
      checkAgentSubmission(d.state, { nodeId: 'a', structuredOutput: {}, artifacts: [{ name: 'constructor', kind: 'uri', pointer: 'x' }] }),
      'invalid-payload',
    );
    assert.match(refusal.message, /artifacts\.0\.name: .*reserved/);
    const proto = refused(checkAgentSubmission(d.state, JSON.parse('{"nodeId":"a","structuredOutput":{"__proto__":{"x":1}}}')), 'invalid-payload');
    assert.match(proto.message, /structuredOutput\.__proto__: .*reserved/);
  });
});

describe('untrusted input: regexes run in linear time (reproduction 2)', () => {
  const adversarial = `${'a'.repeat(1_000_000)}b`;
  for (const pattern of ['^(a+)+$', '(a|aa)+$', '(.*a){20}$']) {
    it(`a matches check ${pattern} against 1 MB of adversarial text finishes (a backtracking engine takes minutes)`, () => {
      const issues = validateValue({
        schemas: {},
        value: { text: adversarial },
        checks: [{ kind: 'matches', path: 'text', pattern }],
        context: { input: {}, output: { text: adversarial }, artifact: {}, run: { input: {} }, iteration: 1 },
        schemaIssueCode: 'schema',
      });
      // The text ends with "b", so none of them matches: the check fails, quickly.
      assert.equal(issues.length, 1);
      assert.equal(issues[0].code, 'matches');
    });
  }

  it('a JSON Schema pattern is matched by RE2 too', () => {
    const issues = validateValue({
      schemaRef: 'S',
      schemas: { S: { type: 'object', properties: { text: { type: 'string', pattern: '^(a+)+$' } } } },
      value: { text: adversarial },
      checks: [],
      context: { input: {}, output: {}, artifact: {}, run: { input: {} }, iteration: 1 },
      schemaIssueCode: 'schema',
    });
    assert.equal(issues.length, 1);
    assert.equal(issues[0].path, 'text');
  });

  it('a pattern RE2 cannot compile is a validation error at its path, in a check and in a schema', () => {
    const spec = plan([task('a', { outputSchema: 'S', completionChecks: [{ kind: 'matches', path: 'x', pattern: '(?=lookahead)' }] })], [], {
      schemas: { S: { type: 'object', properties: { y: { type: 'string', pattern: '(a)\\1' } } } },
    });
    const result = validatePlanSpecWithSchemas(spec);
    const byPath = new Map(result.errors.map((p) => [p.path, p.message]));
    assert.match(byPath.get('$.nodes[0].completionChecks[0].pattern') ?? '', /RE2/);
    assert.match(byPath.get('$.schemas.S') ?? '', /not a valid regular expression/);
  });
});

describe('untrusted input: text every store can hold (reproduction 3)', () => {
  const d = new Driver(plan([task('a')]));
  for (const [name, text, where] of [
    ['a NUL', 'bad\u0000text', /NUL/],
    ['a lone high surrogate', 'bad\ud800text', /surrogate/],
    ['a lone low surrogate', '\udc00', /surrogate/],
  ] as const) {
    it(`${name} in an output, a key or a name is refused as invalid-payload with its path`, () => {
      assert.match(refused(checkAgentSubmission(d.state, { nodeId: 'a', structuredOutput: { list: [text] } }), 'invalid-payload').message, /structuredOutput\.list\.0: /);
      assert.match(refused(checkAgentSubmission(d.state, { nodeId: 'a', structuredOutput: { [text]: 1 } }), 'invalid-payload').message, where);
      assert.match(refused(checkAgentSubmission(d.state, { nodeId: 'a', by: text }), 'invalid-payload').message, /^Invalid result payload: by: /);
      refused(cancelRun(d.state, { by: 'x', reason: text }, at(5)), 'invalid-payload');
    });
  }

  it('the refusal of a bad key never repeats the bad character (a refused signal records its message)', () => {
    for (const key of ['k\u0000', '\ud800', `${'x'.repeat(500)}\u0000`]) {
      const refusal = refused(checkAgentSubmission(d.state, { nodeId: 'a', structuredOutput: { [key]: 1 } }), 'invalid-payload');
      assert.ok(refusal.message.length < 400, 'a long key is cut short in the message');
      assert.equal(inspectJson({ message: refusal.message }, { maxBytes: 10_000, maxDepth: 3, what: 'x' }), undefined, refusal.message);
      const recorded = rejectSubmission(d.state, { nodeId: 'a' }, refusal, at(7)).events[0].message;
      assert.equal(inspectJson({ recorded }, { maxBytes: 10_000, maxDepth: 3, what: 'x' }), undefined);
    }
    assert.equal(storableText('a\u0000b\ud800c\ud83d\ude00'), 'a\ufffdb\ufffdc\ud83d\ude00');
  });

  it('well-formed pairs and other control characters are fine', () => {
    assert.equal(inspectJson({ emoji: '😀 \u0001 é' }, { maxBytes: 1000, maxDepth: 5, what: 'x' }), undefined);
  });

  it('a refused signal records only names the store can hold', () => {
    const transition = rejectSubmission(
      d.state,
      { nodeId: 'a\u0000', by: 'x'.repeat(10_000), submissionId: 'ok-id' },
      { refused: true, reason: 'invalid-payload', message: 'no' },
      at(9),
    );
    const [event] = transition.events;
    assert.equal(event.by, 'unknown');
    assert.equal(event.detail?.requestedNodeId, undefined);
    assert.equal(event.detail?.submissionId, 'ok-id');
  });
});

describe('untrusted input: submission ids that name prototype members (reproduction 4)', () => {
  for (const submissionId of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
    it(`submissionId "${submissionId}" is recorded like any other, and de-duplicated only against itself`, () => {
      const d = new Driver(plan([task('a', { retry: { maxAttempts: 3 } })]));
      const first = d.submit('a', { v: 1 }, [{ severity: 'blocking', code: 'schema', message: 'bad' }], { submissionId });
      assert.equal(first.outcome.duplicate, undefined);
      assert.equal(first.outcome.attempt, 1);
      assert.equal(d.state.nodes[0].attempts, 1);
      const again = ok(applyAgentSubmission(d.state, { nodeId: 'a', submissionId, structuredOutput: { v: 2 } }, [], at(99)));
      assert.equal(again.outcome.duplicate, true);
      assert.equal(again.outcome.attempt, 1);
      assert.equal(Object.getPrototypeOf(Object.prototype), null, 'Object.prototype untouched');
      assert.equal(({} as Record<string, unknown>).nodeId, undefined);
    });
  }
});

describe('untrusted input: limits with clear refusals (reproductions 5 and 6)', () => {
  it('a 3 MB output is refused as payload-too-large, naming the limit and what to do', () => {
    const d = new Driver(plan([task('a')]));
    const refusal = refused(checkAgentSubmission(d.state, { nodeId: 'a', structuredOutput: { text: 'x'.repeat(3_000_000) } }), 'payload-too-large');
    assert.match(refusal.message, /256 KiB/);
    assert.match(refusal.message, /artifact/);
    // the limit counts UTF-8 bytes: 100,000 three-byte characters are 300 KB
    refused(checkAgentSubmission(d.state, { nodeId: 'a', structuredOutput: { text: '€'.repeat(100_000) } }), 'payload-too-large');
    ok(checkAgentSubmission(d.state, { nodeId: 'a', structuredOutput: { text: 'x'.repeat(200_000) } }));
  });

  it('too many artifacts, a deep output, a long id and a deep retry input are refused', () => {
    const d = new Driver(plan([task('a')]));
    const artifacts = Array.from({ length: 101 }, (_, i) => ({ name: `n${i}`, kind: 'uri', pointer: 'p' }));
    assert.match(refused(checkAgentSubmission(d.state, { nodeId: 'a', artifacts }), 'payload-too-large').message, /101 artifacts/);
    assert.match(refused(checkAgentSubmission(d.state, { nodeId: 'a', structuredOutput: deep(100) }), 'invalid-payload').message, /64 levels/);
    refused(checkAgentSubmission(d.state, { nodeId: 'a', submissionId: 's'.repeat(201) }), 'invalid-payload');
    refused(retryNode(d.state, { nodeId: 'a', by: 'ops', input: deep(100) }, at(3)), 'invalid-payload');
  });

  it('limits come from PLAN_LIMIT_* and a bad value names the variable', () => {
    const limits = payloadLimitsFromEnv({ PLAN_LIMIT_PAYLOAD_BYTES: '1024', PLAN_LIMIT_ARTIFACTS: '2' });
    assert.equal(limits.maxPayloadBytes, 1024);
    assert.equal(limits.maxArtifacts, 2);
    assert.equal(payloadLimitsFromEnv({ PLAN_LIMIT_PAYLOAD_BYTES: String(10 * 1024 * 1024) }).maxPayloadBytes, 1536 * 1024, 'capped below Temporal’s limit');
    assert.throws(() => payloadLimitsFromEnv({ PLAN_LIMIT_DEPTH: 'deep' }), /PLAN_LIMIT_DEPTH=deep/);
    const d = new Driver(plan([task('a')]));
    refused(checkAgentSubmission(d.state, { nodeId: 'a', structuredOutput: { t: 'x'.repeat(2000) } }, limits), 'payload-too-large');
  });

  it('deeply nested registry schemas and a 5,000-deep toolPolicy are errors with a path, never a thrown RangeError', () => {
    const deepSchema = plan([task('a', { outputSchema: 'S' })], [], { schemas: { S: deep(10_000) } });
    for (const validate of [validatePlanSpec, validatePlanSpecWithSchemas]) {
      const result = validate(deepSchema);
      assert.equal(result.valid, false);
      assert.match(result.errors[0].path, /^\$\.schemas\.S/);
      assert.match(result.errors[0].message, /nested more than 64 levels/);
    }
    const deepPolicy = validatePlanSpec(plan([task('a', { toolPolicy: deep(5000) })]));
    assert.equal(deepPolicy.valid, false);
    assert.match(deepPolicy.errors[0].path, /^\$\.nodes\[0\]\.toolPolicy\.a/);
  });

  it('a plan over the node, edge or byte limit is refused at once', () => {
    const nodes = Array.from({ length: 1001 }, (_, i) => task(`n${i}`));
    assert.deepEqual(validatePlanSpec(plan(nodes)).errors.map((p) => p.path), ['$.nodes']);
    const big = validatePlanSpec(plan([task('a', { instructions: 'x'.repeat(1_100_000) })]));
    assert.match(big.errors[0].message, /larger than the limit of 1 MiB/);
  });
});

describe('untrusted input: results and responses are JSON objects (reproduction 7)', () => {
  for (const output of [42, null, 'str', [1, 2], true]) {
    it(`structuredOutput ${JSON.stringify(output)} is refused as invalid-payload, saying what to send`, () => {
      const d = new Driver(plan([task('a')]));
      const before = exactCopy(d.state);
      const refusal = refused(checkAgentSubmission(d.state, { nodeId: 'a', structuredOutput: output }), 'invalid-payload');
      assert.match(refusal.message, /structuredOutput: must be a JSON object/);
      assert.match(refusal.message, /"value"/);
      refused(applyAgentSubmission(d.state, { nodeId: 'a', structuredOutput: output }, [], at(5)), 'invalid-payload');
      assert.deepEqual(d.state, before);
    });
  }

  it('a human response must be an object too', () => {
    const d = new Driver(plan([human('h', 'human-input')]));
    refused(checkHumanResponse(d.state, { respondedBy: 'alice', response: [1] }), 'invalid-payload');
  });
});
