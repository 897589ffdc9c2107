/** docs/semantics.md §3/§4: dotted paths, reading and writing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clone, getPath, isValidPath, jsonEqual, setPath, splitPath } from '../../src/engine/paths';

describe('paths: reading', () => {
  const value = { a: { b: { c: 1 } }, items: [{ name: 'x' }, { name: 'y' }], 'final-draft': { pointer: 'p' }, zero: 0 };

  it('walks objects by key and arrays by index', () => {
    assert.equal(getPath(value, 'a.b.c'), 1);
    assert.equal(getPath(value, 'items.1.name'), 'y');
    assert.equal(getPath(value, 'final-draft.pointer'), 'p');
    assert.equal(getPath(value, 'zero'), 0);
    assert.equal(getPath(value, ['a', 'b']), value.a.b);
  });

  it('a missing step yields undefined, never an error', () => {
    assert.equal(getPath(value, 'a.x.c'), undefined);
    assert.equal(getPath(value, 'items.5.name'), undefined);
    assert.equal(getPath(value, 'zero.more'), undefined);
    assert.equal(getPath(null, 'a'), undefined);
    assert.equal(getPath(value, 'toString'), undefined, 'inherited properties are not paths');
  });

  it('knows which paths are well-formed', () => {
    assert.deepEqual(splitPath('output.items.0'), ['output', 'items', '0']);
    assert.equal(isValidPath('a.b_c.d-e.0'), true);
    assert.equal(isValidPath('a..b'), false);
    assert.equal(isValidPath('a b'), false);
    assert.equal(isValidPath(''), false);
    assert.equal(isValidPath('a[0]'), false);
  });
});

describe('paths: writing (§4)', () => {
  it('sets nested values, creating objects on the way', () => {
    const target: Record<string, unknown> = {};
    setPath(target, 'draft.meta.title', 'Hello');
    setPath(target, 'draft.body', 'text');
    setPath(target, 'top', 1);
    assert.deepEqual(target, { draft: { meta: { title: 'Hello' }, body: 'text' }, top: 1 });
  });

  it('does not write undefined', () => {
    const target: Record<string, unknown> = { keep: 1 };
    setPath(target, 'gone', undefined);
    setPath(target, 'deep.gone', undefined);
    assert.deepEqual(target, { keep: 1 });
    assert.equal('deep' in target, false);
  });

  it('writes null, 0, false and empty strings (they are values)', () => {
    const target: Record<string, unknown> = {};
    setPath(target, 'n', null);
    setPath(target, 'z', 0);
    setPath(target, 'f', false);
    setPath(target, 's', '');
    assert.deepEqual(target, { n: null, z: 0, f: false, s: '' });
  });

  it('a later write overwrites an earlier one, also replacing a non-object in the way', () => {
    const target: Record<string, unknown> = {};
    setPath(target, 'notes', 'first');
    setPath(target, 'notes', 'second');
    assert.equal(target.notes, 'second');
    setPath(target, 'notes.summary', 'now an object');
    assert.deepEqual(target.notes, { summary: 'now an object' });
  });

  it('stores a copy, so later changes to the source do not leak in', () => {
    const source = { list: [1, 2] };
    const target: Record<string, unknown> = {};
    setPath(target, 'copy', source);
    source.list.push(3);
    assert.deepEqual(target.copy, { list: [1, 2] });
  });

  it('ignores a malformed target path', () => {
    const target: Record<string, unknown> = {};
    setPath(target, 'a b', 1);
    assert.deepEqual(target, {});
  });
});

describe('paths: JSON helpers', () => {
  it('jsonEqual ignores key order and undefined members, but not types', () => {
    assert.equal(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }), true);
    assert.equal(jsonEqual({ a: 1, x: undefined }, { a: 1 }), true);
    assert.equal(jsonEqual([1, 2], [2, 1]), false);
    assert.equal(jsonEqual('5', 5), false);
    assert.equal(jsonEqual(null, {}), false);
    assert.equal(jsonEqual([], {}), false);
  });

  it('clone is deep', () => {
    const original = { a: { b: [1] } };
    const copy = clone(original);
    copy.a.b.push(2);
    assert.deepEqual(original, { a: { b: [1] } });
  });
});
