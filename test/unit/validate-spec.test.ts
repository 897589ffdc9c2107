/** docs/semantics.md §2: static validation of a plan spec, every problem with its JSON path. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validatePlanSpecWithSchemas } from '../../src/activities/validation/spec';
import { loadPlanFile } from '../../src/client/load-spec';
import { formatPath, validatePlanSpec, type SpecProblem, type SpecValidationResult } from '../../src/engine/validate-spec';

const root = join(__dirname, '..', '..', '..');
const fixture = (name: string) => join(root, 'test', 'fixtures', name);

/** A small valid plan; each test breaks one thing. */
function base(): any {
  return {
    id: 'demo',
    schemas: {
      Notes: { type: 'object', required: ['summary'], properties: { summary: { type: 'string' } } },
      Draft: { type: 'object' },
    },
    nodes: [
      { id: 'research', type: 'task', owner: { kind: 'agent', ref: 'researcher' }, outputSchema: 'Notes' },
      { id: 'approve', type: 'human-approval', owner: { kind: 'human', ref: 'editors' } },
      { id: 'route', type: 'switch' },
      { id: 'publish', type: 'task', owner: { kind: 'agent', ref: 'publisher' } },
    ],
    edges: [
      { from: 'research', to: 'approve', map: { notes: 'output.summary' } },
      { from: 'approve', to: 'route' },
      { from: 'route', to: 'publish', when: 'output.approved == true' },
    ],
  };
}

const paths = (problems: SpecProblem[]) => problems.map((p) => p.path);
const find = (problems: SpecProblem[], path: string) => problems.find((p) => p.path === path);

/** Exactly one error, at `path`, whose message matches `pattern`; no other errors. */
function assertOneError(result: SpecValidationResult, path: string, pattern: RegExp): void {
  assert.deepEqual(paths(result.errors), [path], JSON.stringify(result.errors, null, 2));
  assert.match(result.errors[0].message, pattern);
  assert.equal(result.valid, false);
  assert.equal(result.spec, undefined);
}

function check(mutate: (spec: any) => void, options = {}): SpecValidationResult {
  const spec = base();
  mutate(spec);
  return validatePlanSpec(spec, options);
}

describe('validatePlanSpec: valid plans', () => {
  it('the base plan is valid and returns the parsed spec', () => {
    const result = validatePlanSpec(base());
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.valid, true);
    assert.equal(result.spec?.id, 'demo');
  });

  it('the blog-post example passes (with schema compilation) and has no warnings', () => {
    const { raw } = loadPlanFile(join(root, 'examples', 'blog-post.plan.yaml'));
    const result = validatePlanSpecWithSchemas(raw);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.valid, true);
    assert.equal(result.spec?.nodes.length, 6);
  });

  it('a plan without edges is valid (every node is a root)', () => {
    const result = check((s) => delete s.edges);
    assert.equal(result.valid, true);
  });
});

describe('validatePlanSpec: one rule at a time', () => {
  it('the document must be an object', () => {
    for (const raw of [null, 'plan', [1], 42]) {
      const result = validatePlanSpec(raw);
      assert.equal(result.valid, false);
      assert.deepEqual(paths(result.errors), ['$']);
      assert.match(result.errors[0].message, /the plan must be an object/);
    }
  });

  it('required fields: id and at least one node', () => {
    const result = check((s) => {
      delete s.id;
      s.nodes = [];
      s.edges = [];
    });
    assert.deepEqual(paths(result.errors), ['$.id', '$.nodes']);
    assert.match(find(result.errors, '$.id')!.message, /is required/);
    assert.match(find(result.errors, '$.nodes')!.message, /at least one node/);
  });

  it('ids must be well-formed and fit a sane length; labels too', () => {
    assertOneError(check((s) => (s.id = 'has space')), '$.id', /only letters, digits/);
    const long = check((s) => s.nodes.push({ id: 'x'.repeat(129), type: 'join' }));
    assertOneError(long, '$.nodes[4].id', /at most 128 characters/);
    assertOneError(check((s) => (s.nodes[1].label = 'l'.repeat(501))), '$.nodes[1].label', /node "approve".*at most 500 characters/);
  });

  it('unknown fields are errors that suggest the intended one', () => {
    assertOneError(check((s) => (s.nodes[0].outputSchem = 'Notes')), '$.nodes[0].outputSchem', /unknown field "outputSchem" \(did you mean "outputSchema"\?\)/);
  });

  it('node ids are unique', () => {
    const result = check((s) => (s.nodes[3].id = 'research'));
    assert.ok(find(result.errors, '$.nodes[3].id'), JSON.stringify(result.errors));
    assert.match(find(result.errors, '$.nodes[3].id')!.message, /"research" is already used by the node at \$\.nodes\[0\]/);
  });

  it('a dangling edge names the missing node, at from or to', () => {
    assertOneError(check((s) => (s.edges[2].to = 'publsh')), '$.edges[2].to', /no node "publsh" \(did you mean "publish"\?\); known nodes: research, approve, route, publish/);
    assertOneError(check((s) => (s.edges[0].from = 'ghost')), '$.edges[0].from', /no node "ghost"/);
  });

  it('no self-loops', () => {
    const result = check((s) => s.edges.push({ from: 'publish', to: 'publish' }));
    assertOneError(result, '$.edges[3].to', /self-loop/);
  });

  it('the graph is acyclic: one cycle reported as a path at the edge that closes it', () => {
    const result = check((s) => s.edges.push({ from: 'publish', to: 'research' }));
    assertOneError(result, '$.edges[3]', /cycle: research → approve → route → publish → research/);
  });

  it('schema references resolve: node input/output schemas and the plan input schema', () => {
    assertOneError(check((s) => (s.nodes[0].outputSchema = 'Notez')), '$.nodes[0].outputSchema', /node "research": unknown schema "Notez".*known: Notes, Draft/);
    assertOneError(check((s) => (s.nodes[3].inputSchema = 'Nope')), '$.nodes[3].inputSchema', /unknown schema "Nope"/);
    assertOneError(check((s) => (s.inputSchema = 'RunInput')), '$.inputSchema', /the plan: unknown schema "RunInput" in "inputSchema"; known: Notes, Draft/);
    assertOneError(check((s) => delete s.schemas), '$.nodes[0].outputSchema', /known: \(none\)/);
  });

  it('registry schemas refer to each other by name; an unknown name is an error', () => {
    assert.equal(check((s) => (s.schemas.Wrap = { type: 'object', properties: { n: { $ref: 'Notes' } } })).valid, true);
    assertOneError(check((s) => (s.schemas.Wrap = { properties: { n: { $ref: 'Noets#/properties/summary' } } })), '$.schemas.Wrap', /refers to "Noets"/);
  });

  it('every schema compiles, via the injected checker', () => {
    const calls: string[] = [];
    const checkSchema = (schema: unknown, name: string) => {
      calls.push(name);
      return name === 'Draft' ? 'it is broken' : undefined;
    };
    const result = check(() => undefined, { checkSchema });
    assert.deepEqual(calls, ['Notes', 'Draft']);
    assertOneError(result, '$.schemas.Draft', /schema "Draft" is not a valid JSON Schema \(2020-12\): it is broken/);
  });

  it('with Ajv plugged in, a broken schema is reported with the offending keyword', () => {
    const spec = base();
    spec.schemas.Draft = { type: 'objekt' };
    spec.schemas.Pattern = { type: 'string', pattern: '(' };
    const result = validatePlanSpecWithSchemas(spec);
    assert.deepEqual(paths(result.errors), ['$.schemas.Draft', '$.schemas.Pattern']);
    assert.match(find(result.errors, '$.schemas.Draft')!.message, /"type" must be equal to one of the allowed values/);
    assert.match(find(result.errors, '$.schemas.Pattern')!.message, /regular expression/i);
  });

  it('a schema that is neither an object nor a boolean is a shape error', () => {
    assertOneError(check((s) => (s.schemas.Draft = 'object')), '$.schemas.Draft', /must be a JSON Schema/);
  });

  it('`when` must parse; prose is a warning, not an error', () => {
    assertOneError(check((s) => (s.edges[2].when = 'result.approved == true')), '$.edges[2].when', /cannot be evaluated: path "result.approved" must start with/);
    assertOneError(check((s) => (s.edges[2].when = 'output.approved ==')), '$.edges[2].when', /nothing to compare with/);

    const prose = check((s) => (s.edges[2].when = 'if the editor liked it'));
    assert.equal(prose.valid, true);
    assert.deepEqual(prose.errors, []);
    assert.deepEqual(paths(prose.warnings), ['$.edges[2].when']);
    assert.match(prose.warnings[0].message, /not executable and counts as true/);
  });

  it('`map` targets are dotted paths and sources start at a context root', () => {
    assertOneError(check((s) => (s.edges[0].map = { 'bad target': 'output.summary' })), '$.edges[0].map["bad target"]', /not a valid target/);
    assertOneError(check((s) => (s.edges[0].map = { notes: 'summary' })), '$.edges[0].map.notes', /must start with one of output\., input\./);
    assertOneError(check((s) => (s.edges[0].map = { notes: 'run.status' })), '$.edges[0].map.notes', /only "run.input" exists/);
    assertOneError(check((s) => (s.edges[0].map = { notes: 42 })), '$.edges[0].map.notes', /must be a text, but it is 42/);
  });

  it('task nodes need an agent owner', () => {
    assertOneError(check((s) => delete s.nodes[0].owner), '$.nodes[0].owner', /node "research" is a task node and needs an agent owner/);
    assertOneError(check((s) => (s.nodes[0].owner.kind = 'human')), '$.nodes[0].owner.kind', /must be an agent/);
  });

  it('human nodes need a human owner', () => {
    assertOneError(check((s) => delete s.nodes[1].owner), '$.nodes[1].owner', /node "approve" is a human-approval node and needs a human owner/);
    assertOneError(check((s) => (s.nodes[1].owner.kind = 'agent')), '$.nodes[1].owner.kind', /kind: human/);
  });

  it('owner kinds are agent or human', () => {
    assertOneError(check((s) => (s.nodes[0].owner.kind = 'robot')), '$.nodes[0].owner.kind', /must be one of: agent, human; it is "robot"/);
  });

  it('switch and join nodes have no owner and no output schema', () => {
    const result = check((s) => {
      s.nodes[2].owner = { kind: 'agent', ref: 'x' };
      s.nodes[2].outputSchema = 'Notes';
    });
    assert.deepEqual(paths(result.errors), ['$.nodes[2].owner', '$.nodes[2].outputSchema']);
    assert.match(result.errors[0].message, /node "route" is a switch node.*must not have an owner/);
  });

  it('human-decision nodes need non-empty options', () => {
    const decision = { id: 'choose', type: 'human-decision', owner: { kind: 'human', ref: 'lead' } };
    assertOneError(check((s) => s.nodes.push({ ...decision })), '$.nodes[4].options', /needs "options"/);
    assertOneError(check((s) => s.nodes.push({ ...decision, options: [] })), '$.nodes[4].options', /needs "options"/);
    assert.equal(check((s) => s.nodes.push({ ...decision, options: ['a', 'b'] })).valid, true);
  });

  it('approvers and options elsewhere are warnings', () => {
    const result = check((s) => {
      s.nodes[0].approvers = ['alice'];
      s.nodes[1].options = ['yes'];
    });
    assert.equal(result.valid, true);
    assert.deepEqual(paths(result.warnings), ['$.nodes[0].approvers', '$.nodes[1].options']);
  });

  it('retry.maxAttempts is at least 1; numbers are non-negative whole numbers', () => {
    assertOneError(check((s) => (s.nodes[0].retry = { maxAttempts: 0 })), '$.nodes[0].retry.maxAttempts', /must be at least 1/);
    assertOneError(check((s) => (s.nodes[0].timeoutMs = -1)), '$.nodes[0].timeoutMs', /must not be negative/);
    assertOneError(check((s) => (s.nodes[0].delayAfterPredecessorMs = 1.5)), '$.nodes[0].delayAfterPredecessorMs', /whole number/);
    assertOneError(check((s) => (s.maxConcurrency = 0)), '$.maxConcurrency', /at least 1/);
  });

  it('failure classes and actions are known, and the message lists the allowed values', () => {
    assertOneError(check((s) => (s.nodes[0].retry = { maxAttempts: 2, retryOn: ['timeout', 'timout'] })), '$.nodes[0].retry.retryOn[1]', /must be one of: validation, agent-error, timeout, input, dispatch, loop-exhausted, subplan, budget; it is "timout" \(did you mean "timeout"\?\)/);
    assertOneError(check((s) => (s.nodes[0].onFailure = [{ on: 'validation', action: 'retry' }])), '$.nodes[0].onFailure[0].action', /must be one of: abort, human-review, replan, skip/);
  });

  it('completion checks: kinds listed, paths dotted, conditions parse, patterns compile', () => {
    const set = (checks: unknown[]) => (s: any) => (s.nodes[0].completionChecks = checks);
    assertOneError(check(set([{ kind: 'requird', path: 'summary' }])), '$.nodes[0].completionChecks[0].kind', /must be one of: required, artifact, min-length, matches, condition/);
    assertOneError(check(set([{ kind: 'required', path: 'a b' }])), '$.nodes[0].completionChecks[0].path', /not a dotted path/);
    assertOneError(check(set([{ kind: 'condition', expression: 'outptu.ok' }])), '$.nodes[0].completionChecks[0].expression', /cannot be evaluated/);
    assertOneError(check(set([{ kind: 'matches', path: 'summary', pattern: '[a-' }])), '$.nodes[0].completionChecks[0].pattern', /not a valid regular expression/);
    assertOneError(check(set([{ kind: 'min-length', path: 'summary' }])), '$.nodes[0].completionChecks[0].min', /is required/);

    const prose = check(set([{ kind: 'condition', expression: 'the summary reads well' }]));
    assert.equal(prose.valid, true);
    assert.deepEqual(paths(prose.warnings), ['$.nodes[0].completionChecks[0].expression']);

    const outputPrefix = check(set([{ kind: 'required', path: 'output.summary' }]));
    assert.equal(outputPrefix.valid, true);
    assert.match(find(outputPrefix.warnings, '$.nodes[0].completionChecks[0].path')!.message, /did you mean "summary"/);
  });

  it('duplicate edges are a warning', () => {
    const result = check((s) => s.edges.push({ from: 'research', to: 'approve', when: 'output.ok' }));
    assert.equal(result.valid, true);
    assert.deepEqual(paths(result.warnings), ['$.edges[3]']);
    assert.match(result.warnings[0].message, /repeats the edge at \$\.edges\[0\]/);
  });

  it('a deadline warns before it expires, not before it starts', () => {
    assertOneError(check((s) => (s.nodes[1].deadline = { afterMs: 1000, warnBeforeMs: 5000 })), '$.nodes[1].deadline.warnBeforeMs', /must not exceed "afterMs"/);
    assertOneError(check((s) => (s.deadline = { afterMs: 10, warnBeforeMs: 11 })), '$.deadline.warnBeforeMs', /the plan/);
    assert.equal(check((s) => (s.nodes[1].deadline = { afterMs: 1000, warnBeforeMs: 1000 })).valid, true);
  });

  it('notBefore is an ISO date-time with an offset', () => {
    assertOneError(check((s) => (s.nodes[0].notBefore = 'tomorrow')), '$.nodes[0].notBefore', /ISO-8601/);
    assert.equal(check((s) => (s.nodes[0].notBefore = '2026-12-01T09:00:00Z')).valid, true);
  });
});

describe('validatePlanSpec: every problem at once', () => {
  it('the broken fixture reports its cycle, dangling edge and unknown schema with paths', () => {
    const { raw } = loadPlanFile(fixture('broken.plan.yaml'));
    const result = validatePlanSpecWithSchemas(raw);
    assert.equal(result.valid, false);
    assert.deepEqual(paths(result.errors), ['$.nodes[1].outputSchema', '$.edges[2]', '$.edges[3].to']);
    assert.match(find(result.errors, '$.nodes[1].outputSchema')!.message, /node "draft": unknown schema "Draft".*known: Notes/);
    assert.match(find(result.errors, '$.edges[2]')!.message, /cycle: research → draft → review → research/);
    assert.match(find(result.errors, '$.edges[3].to')!.message, /no node "publish"/);
  });

  it('graph checks still run when the shape is wrong', () => {
    const spec = base();
    spec.nodes[0].type = 'tsk'; // shape error
    spec.nodes[3].retry = { maxAttempts: 0 }; // shape error
    spec.edges.push({ from: 'publish', to: 'research' }); // cycle
    spec.edges.push({ from: 'route', to: 'nowhere' }); // dangling
    spec.nodes[1].outputSchema = 'Missing'; // unknown schema
    const result = validatePlanSpec(spec);
    assert.deepEqual(paths(result.errors), [
      '$.nodes[0].type',
      '$.nodes[1].outputSchema',
      '$.nodes[3].retry.maxAttempts',
      '$.edges[3]',
      '$.edges[4].to',
    ]);
    assert.match(result.errors[0].message, /did you mean "task"/);
  });

  it('non-object nodes and edges are reported without breaking the other checks', () => {
    const spec = base();
    spec.nodes.push('oops');
    spec.edges.push(7);
    spec.edges.push({ from: 'research', to: 'missing' });
    const result = validatePlanSpec(spec);
    assert.deepEqual(paths(result.errors), ['$.nodes[4]', '$.edges[3]', '$.edges[4].to']);
  });
});

describe('formatPath', () => {
  it('writes JSONPath-style locations', () => {
    assert.equal(formatPath([]), '$');
    assert.equal(formatPath(['nodes', 2, 'owner', 'kind']), '$.nodes[2].owner.kind');
    assert.equal(formatPath(['schemas', 'my-schema']), '$.schemas["my-schema"]');
    assert.equal(formatPath(['edges', 0, 'map', 'draft.title']), '$.edges[0].map["draft.title"]');
  });
});
