/** docs/semantics.md §3: the condition grammar of `when` (and of `condition` completion checks). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkContextPath, evaluateCondition, evaluateWhen, parseCondition, parseLiteral } from '../../src/engine/conditions';

const context = {
  input: { topic: 'agents', count: 5 },
  output: { approved: true, confidence: 0.8, score: 5, label: '5', empty: '', zero: 0, tags: ['a'], nested: { ok: true } },
  artifact: { notes: { kind: 'file', pointer: 's3://notes.md' } },
  run: { input: { lang: 'en' } },
};

describe('conditions: grammar (§3)', () => {
  it('a missing when and `always` are always true', () => {
    assert.deepEqual(parseCondition(undefined), { ok: true, condition: { kind: 'always' } });
    assert.deepEqual(parseCondition('  always '), { ok: true, condition: { kind: 'always' } });
    assert.equal(evaluateWhen(undefined, {}), true);
    assert.equal(evaluateWhen('always', {}), true);
  });

  it('a lone path is a truthiness test', () => {
    assert.deepEqual(parseCondition('output.approved'), { ok: true, condition: { kind: 'truthy', path: 'output.approved' } });
    assert.equal(evaluateWhen('output.approved', context), true);
    assert.equal(evaluateWhen('output.nested.ok', context), true);
    assert.equal(evaluateWhen('output.empty', context), false);
    assert.equal(evaluateWhen('output.zero', context), false);
    assert.equal(evaluateWhen('output.tags', context), true);
    assert.equal(evaluateWhen('artifact.notes.pointer', context), true);
    assert.equal(evaluateWhen('run.input.lang', context), true);
  });

  it('parses PATH OP LITERAL with and without spaces', () => {
    assert.deepEqual(parseCondition('output.confidence>=0.7'), {
      ok: true,
      condition: { kind: 'compare', path: 'output.confidence', op: '>=', literal: 0.7 },
    });
    assert.deepEqual(parseCondition('input.count != 3'), {
      ok: true,
      condition: { kind: 'compare', path: 'input.count', op: '!=', literal: 3 },
    });
  });

  it('each operator compares as specified', () => {
    const cases: Array<[string, boolean]> = [
      ['output.score == 5', true],
      ['output.score == 6', false],
      ['output.score != 6', true],
      ['output.score != 5', false],
      ['output.score >= 5', true],
      ['output.score >= 5.1', false],
      ['output.score <= 5', true],
      ['output.score <= 4', false],
      ['output.score > 4', true],
      ['output.score > 5', false],
      ['output.score < 6', true],
      ['output.score < 5', false],
      ['output.confidence >= 0.7', true],
      ['input.count < 10', true],
    ];
    for (const [expression, expected] of cases) {
      assert.equal(evaluateWhen(expression, context), expected, expression);
    }
  });

  it('== and != are strict: the string "5" is not the number 5', () => {
    assert.equal(evaluateWhen('output.label == 5', context), false);
    assert.equal(evaluateWhen('output.label == "5"', context), true);
    assert.equal(evaluateWhen("output.label == '5'", context), true);
    assert.equal(evaluateWhen('output.score == "5"', context), false);
    assert.equal(evaluateWhen('output.label != 5', context), true);
    assert.equal(evaluateWhen('output.approved == true', context), true);
    assert.equal(evaluateWhen('output.approved == "true"', context), false);
  });

  it('ordering operators are false for anything but two numbers', () => {
    assert.equal(evaluateWhen('output.label >= 1', context), false);
    assert.equal(evaluateWhen('output.label < 10', context), false);
    assert.equal(evaluateWhen('output.score > "1"', context), false);
    assert.equal(evaluateWhen('output.approved > 0', context), false);
    assert.equal(evaluateWhen('output.missing < 1', context), false);
    assert.equal(evaluateWhen('output.missing >= 0', context), false);
  });

  it('missing paths: falsy, unequal to values, equal to nothing', () => {
    assert.equal(evaluateWhen('output.nope', context), false);
    assert.equal(evaluateWhen('output.nope.deeper', context), false);
    assert.equal(evaluateWhen('output.nope == 1', context), false);
    assert.equal(evaluateWhen('output.nope != 1', context), true);
    assert.equal(evaluateWhen('output.nope == null', context), false, 'missing is not null');
    assert.equal(evaluateWhen('input.topic.length == 6', context), false, 'no JS properties of primitives');
    assert.equal(evaluateWhen('output.approved', {}), false);
  });

  it('prose outside the grammar is accepted, marked prose, and counts as true', () => {
    const parsed = parseCondition('if the draft looks good');
    assert.deepEqual(parsed, { ok: true, condition: { kind: 'prose', text: 'if the draft looks good' } });
    assert.equal(evaluateWhen('if the draft looks good', {}), true);
    if (parsed.ok) assert.equal(evaluateCondition(parsed.condition, {}), true);
  });

  it('a condition-shaped expression with an unknown root is an error, and evaluates to false', () => {
    const parsed = parseCondition('result.ok == true');
    assert.equal(parsed.ok, false);
    if (!parsed.ok) assert.match(parsed.error, /must start with one of output\., input\., artifact\., run\./);
    assert.equal(parseCondition('result.ok').ok, false);
    assert.equal(evaluateWhen('result.ok == true', { result: { ok: true } }), false);
  });

  it('rejects empty expressions, missing literals, run.* other than run.input and bare artifact', () => {
    assert.equal(parseCondition('   ').ok, false);
    assert.equal(parseCondition('output.x ==').ok, false);
    assert.equal(parseCondition('run.status == "ok"').ok, false);
    assert.equal(parseCondition('artifact').ok, false);
    assert.equal(checkContextPath('artifact.notes'), undefined);
    assert.equal(checkContextPath('run.input.topic'), undefined);
    assert.match(checkContextPath('a b') ?? '', /not a dotted path/);
  });
});

describe('conditions: literals (§3)', () => {
  it('numbers, booleans and null', () => {
    assert.equal(parseLiteral('42'), 42);
    assert.equal(parseLiteral('-1.5'), -1.5);
    assert.equal(parseLiteral('.5'), 0.5);
    assert.equal(parseLiteral('1e3'), 1000);
    assert.equal(parseLiteral('true'), true);
    assert.equal(parseLiteral('false'), false);
    assert.equal(parseLiteral('null'), null);
  });

  it("quoted strings in '…', \"…\" and `…`", () => {
    assert.equal(parseLiteral("'hello world'"), 'hello world');
    assert.equal(parseLiteral('"a \\"quoted\\" word"'), 'a "quoted" word');
    assert.equal(parseLiteral('`x`'), 'x');
    assert.equal(parseLiteral('"5"'), '5');
  });

  it('JSON objects and arrays; anything else is a bare string', () => {
    assert.deepEqual(parseLiteral('{"a": [1, 2]}'), { a: [1, 2] });
    assert.deepEqual(parseLiteral('[1, "x"]'), [1, 'x']);
    assert.equal(parseLiteral('publish'), 'publish');
    assert.equal(parseLiteral('{not json'), '{not json');
    assert.equal(evaluateWhen('output.tags == ["a"]', context), true);
    assert.equal(evaluateWhen('output.nested == {"ok": true}', context), true);
    assert.equal(evaluateWhen('input.topic == agents', context), true);
  });
});
