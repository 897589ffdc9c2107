/** docs/semantics.md §7: the validation activity: output schemas and completion checks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateBatch } from '../../src/activities/validation';
import { checkSchema } from '../../src/activities/validation/schema-compiler';
import { validateRunInput } from '../../src/activities/validation/spec';
import { validateValue } from '../../src/activities/validation/validate-value';
import type { CompletionCheck } from '../../src/engine/spec';
import type { Issue, NodeContext, ValidationRequest } from '../../src/engine/types';

const Notes = {
  type: 'object',
  required: ['summary', 'sources'],
  properties: {
    summary: { type: 'string', minLength: 5 },
    sources: { type: 'array', items: { type: 'string' }, minItems: 1 },
    items: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
    level: { enum: ['low', 'high'] },
  },
  additionalProperties: false,
};

function request(value: unknown, extra: Partial<ValidationRequest> = {}): ValidationRequest {
  const context: NodeContext = { input: {}, output: value, artifact: {}, run: { input: {} }, iteration: 1 };
  return { schemaRef: 'Notes', schemas: { Notes }, value, checks: [], context, schemaIssueCode: 'schema', ...extra };
}

const good = { summary: 'A fine summary', sources: ['https://a', 'https://b'] };
const byPath = (issues: Issue[]) => Object.fromEntries(issues.map((i) => [i.path ?? '(root)', i.message]));

describe('validateValue: output schema', () => {
  it('a valid value has no issues', () => {
    assert.deepEqual(validateValue(request(good)), []);
  });

  it('every schema error is a blocking issue with its path and a readable message', () => {
    const issues = validateValue(
      request({ summary: 'hi', sources: [], items: [{ name: 'ok' }, { name: 3 }], level: 'mid', extra: 1 }),
    );
    assert.ok(issues.every((i) => i.severity === 'blocking' && i.code === 'schema'));
    assert.deepEqual(byPath(issues), {
      '(root)': "must NOT have additional properties ('extra')",
      summary: 'must NOT have fewer than 5 characters',
      sources: 'must NOT have fewer than 1 items',
      'items.1.name': 'must be string',
      level: 'must be equal to one of the allowed values: "low", "high"',
    });
  });

  it('a missing required property is reported at the missing property', () => {
    const issues = validateValue(request({ sources: ['x'] }));
    assert.deepEqual(issues, [{ severity: 'blocking', code: 'schema', message: "must have required property 'summary'", path: 'summary' }]);
  });

  it('uses the request’s issue code (input-schema for inputs)', () => {
    const issues = validateValue(request({}, { schemaIssueCode: 'input-schema' }));
    assert.equal(issues.length, 2);
    assert.ok(issues.every((i) => i.code === 'input-schema'));
  });

  it('a non-object output against an object schema fails at the root', () => {
    const issues = validateValue(request(undefined));
    assert.deepEqual(issues, [{ severity: 'blocking', code: 'schema', message: 'must be object' }]);
  });

  it('registry schemas $ref each other by name, also with a JSON pointer', () => {
    const schemas = {
      Notes,
      Source: { type: 'string', format: 'uri' },
      Report: {
        type: 'object',
        required: ['notes'],
        properties: { notes: { $ref: 'Notes' }, link: { $ref: 'Source' }, summary: { $ref: 'Notes#/properties/summary' } },
      },
    };
    assert.deepEqual(validateValue(request({ notes: good, link: 'https://example.com/x' }, { schemaRef: 'Report', schemas })), []);
    const issues = validateValue(request({ notes: { summary: 'long enough' }, link: 'not a uri', summary: 'x' }, { schemaRef: 'Report', schemas }));
    assert.deepEqual(byPath(issues), {
      'notes.sources': "must have required property 'sources'",
      link: 'must match format "uri"',
      summary: 'must NOT have fewer than 5 characters',
    });
  });

  it('an unknown schemaRef is a blocking schema-missing issue', () => {
    const issues = validateValue(request(good, { schemaRef: 'Nope' }));
    assert.equal(issues.length, 1);
    assert.equal(issues[0].code, 'schema-missing');
    assert.equal(issues[0].severity, 'blocking');
    assert.match(issues[0].message, /schema "Nope".*known: Notes/);
  });

  it('a schema that does not compile is a blocking schema-invalid issue', () => {
    const issues = validateValue(request(good, { schemaRef: 'Bad', schemas: { Bad: { type: 'objekt' } } }));
    assert.equal(issues.length, 1);
    assert.equal(issues[0].code, 'schema-invalid');
  });

  it('no schemaRef: no schema check', () => {
    assert.deepEqual(validateValue(request('anything', { schemaRef: undefined, schemas: {} })), []);
  });

  it('boolean schemas work', () => {
    assert.deepEqual(validateValue(request(42, { schemaRef: 'Any', schemas: { Any: true } })), []);
    assert.equal(validateValue(request(42, { schemaRef: 'None', schemas: { None: false } })).length, 1);
  });

  it('same registry names with different content never share a cached validator', () => {
    const strict = { N: { type: 'number' } };
    const loose = { N: { type: 'string' } };
    assert.equal(validateValue(request(1, { schemaRef: 'N', schemas: strict })).length, 0);
    assert.equal(validateValue(request(1, { schemaRef: 'N', schemas: loose })).length, 1);
    assert.equal(validateValue(request(1, { schemaRef: 'N', schemas: strict })).length, 0);
  });
});

describe('validateValue: completion checks (paths relative to the output)', () => {
  const run = (value: unknown, check: CompletionCheck, context: Partial<NodeContext> = {}) =>
    validateValue(request(value, { schemaRef: undefined, checks: [check], context: { input: {}, output: value, artifact: {}, run: { input: {} }, iteration: 1, ...context } as NodeContext }));

  it('required: present and not empty', () => {
    const check: CompletionCheck = { kind: 'required', path: 'draft.title' };
    assert.deepEqual(run({ draft: { title: 'T' } }, check), []);
    assert.deepEqual(run({ draft: { title: 0 } }, check), [], '0 is a value');
    assert.deepEqual(run({ draft: { title: false } }, check), [], 'false is a value');
    for (const empty of [undefined, null, '', [], {}]) {
      const issues = run({ draft: { title: empty } }, check);
      assert.equal(issues.length, 1, JSON.stringify(empty));
      assert.deepEqual({ ...issues[0], message: '' }, { severity: 'blocking', code: 'required', path: 'draft.title', message: '' });
    }
    assert.match(run({}, check)[0].message, /"draft.title" is required but missing/);
    assert.match(run({ draft: { title: '' } }, check)[0].message, /is required but empty/);
  });

  it('artifact: the named artifact is in the context', () => {
    const check: CompletionCheck = { kind: 'artifact', name: 'notes' };
    assert.deepEqual(run({}, check, { artifact: { notes: { name: 'notes', kind: 'file', pointer: 's3://n' } } }), []);
    const issues = run({}, check, { artifact: { other: { name: 'other', kind: 'file', pointer: 'x' } } });
    assert.deepEqual(issues, [{ severity: 'blocking', code: 'artifact', message: 'artifact "notes" is required but was not submitted' }]);
  });

  it('min-length: strings and arrays; missing or other types fail', () => {
    const check: CompletionCheck = { kind: 'min-length', path: 'sources', min: 2 };
    assert.deepEqual(run({ sources: ['a', 'b'] }, check), []);
    assert.deepEqual(run({ sources: 'ab' }, check), []);
    assert.match(run({ sources: ['a'] }, check)[0].message, /at least 2 items, but it has 1/);
    assert.match(run({ sources: 'a' }, check)[0].message, /at least 2 characters long, but it has 1/);
    assert.match(run({}, check)[0].message, /missing/);
    assert.match(run({ sources: 5 }, check)[0].message, /but it is a number/);
    assert.equal(run({ sources: { a: 1, b: 2 } }, check)[0].code, 'min-length');
    assert.deepEqual(run({ n: [] }, { kind: 'min-length', path: 'n', min: 0 }), []);
  });

  it('matches: the string at the path matches the regex', () => {
    const check: CompletionCheck = { kind: 'matches', path: 'slug', pattern: '^[a-z-]+$' };
    assert.deepEqual(run({ slug: 'durable-agents' }, check), []);
    const issues = run({ slug: 'Durable Agents' }, check);
    assert.equal(issues[0].code, 'matches');
    assert.equal(issues[0].path, 'slug');
    assert.match(issues[0].message, /must match \/\^\[a-z-\]\+\$\/, but it is "Durable Agents"/);
    assert.match(run({}, check)[0].message, /missing/);
    assert.match(run({ slug: 42 }, check)[0].message, /must be a text/);
    assert.equal(run({ slug: 'x' }, { kind: 'matches', path: 'slug', pattern: '(' })[0].code, 'matches');
  });

  it('condition: a §3 expression on the node context', () => {
    const check: CompletionCheck = { kind: 'condition', expression: 'output.confidence >= 0.7' };
    assert.deepEqual(run({ confidence: 0.9 }, check), []);
    const issues = run({ confidence: 0.2 }, check);
    assert.deepEqual(issues, [{ severity: 'blocking', code: 'condition', message: 'the condition "output.confidence >= 0.7" does not hold' }]);
    assert.deepEqual(run({}, { kind: 'condition', expression: 'run.input.strict' }, { run: { input: { strict: true } } }), []);
    assert.deepEqual(run({}, { kind: 'condition', expression: 'prose that cannot run' }), [], 'prose counts as true');
    assert.match(run({}, { kind: 'condition', expression: 'result.x == 1' })[0].message, /cannot be evaluated/);
  });

  it('severity: warning makes a non-blocking issue; message overrides the default', () => {
    const issues = run({}, { kind: 'required', path: 'summary', severity: 'warning', message: 'please add a summary' });
    assert.deepEqual(issues, [{ severity: 'warning', code: 'required', message: 'please add a summary', path: 'summary' }]);
    assert.equal(run({}, { kind: 'required', path: 'summary', severity: 'blocking' })[0].severity, 'blocking');
  });

  it('schema issues and check issues come together, schema first', () => {
    const issues = validateValue(
      request({ summary: 'A fine summary', sources: ['one'] }, { checks: [{ kind: 'min-length', path: 'sources', min: 3, severity: 'warning' }] }),
    );
    assert.deepEqual(issues.map((i) => [i.code, i.severity]), [['min-length', 'warning']]);
    const both = validateValue(request({ sources: ['one'] }, { checks: [{ kind: 'required', path: 'summary' }] }));
    assert.deepEqual(both.map((i) => i.code), ['schema', 'required']);
  });
});

describe('validateBatch and validateRunInput', () => {
  it('answers one Issue[] per request, in order', async () => {
    const results = await validateBatch([request(good), request({}), request(good, { schemaRef: 'Nope' })]);
    assert.equal(results.length, 3);
    assert.deepEqual(results[0], []);
    assert.equal(results[1].length, 2);
    assert.equal(results[2][0].code, 'schema-missing');
  });

  it('a validator crash becomes a blocking issue for that request only', async () => {
    const broken = { ...request(good), checks: null } as unknown as ValidationRequest;
    const results = await validateBatch([broken, request(good)]);
    assert.equal(results[0][0].code, 'validation-error');
    assert.deepEqual(results[1], []);
  });

  it('checks the run input against the plan inputSchema with code input-schema', () => {
    const spec = { id: 'p', inputSchema: 'RunInput', schemas: { RunInput: { type: 'object', required: ['topic'] } }, nodes: [{ id: 'a', type: 'task' as const }] };
    assert.deepEqual(validateRunInput(spec, { topic: 'x' }), []);
    assert.deepEqual(validateRunInput(spec, {}), [{ severity: 'blocking', code: 'input-schema', message: "must have required property 'topic'", path: 'topic' }]);
    assert.deepEqual(validateRunInput({ ...spec, inputSchema: undefined }, 'anything'), []);
  });
});

describe('checkSchema', () => {
  it('returns undefined for a good schema and a readable message for a bad one', () => {
    assert.equal(checkSchema({ type: 'object' }), undefined);
    assert.match(checkSchema({ type: 'objekt' }) ?? '', /"type" must be equal to one of the allowed values/);
    assert.match(checkSchema({ minLength: -1 }) ?? '', /"minLength" must be >= 0/);
    assert.match(checkSchema({ $ref: 'Elsewhere' }) ?? '', /resolve reference/);
    assert.match(checkSchema({ $schema: 'http://json-schema.org/draft-07/schema#' }) ?? '', /2020-12/);
    assert.match(checkSchema('object') ?? '', /must be an object or true\/false/);
  });

  it('resolves references by name inside a registry', () => {
    const registry = { A: { type: 'string' }, B: { $ref: 'A' }, C: { $ref: 'Z' } };
    assert.equal(checkSchema(registry.B, 'B', registry), undefined);
    assert.match(checkSchema(registry.C, 'C', registry) ?? '', /resolve reference Z/);
  });
});
