/** Reading plan files: JSON and YAML, with file:line:column on syntax errors. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadPlanFile, parsePlanText, PlanFileError, planFileFormat } from '../../src/client/load-spec';

const root = join(__dirname, '..', '..', '..');

function syntaxError(text: string, filename: string): PlanFileError {
  try {
    parsePlanText(text, filename);
  } catch (e) {
    assert.ok(e instanceof PlanFileError, String(e));
    return e;
  }
  assert.fail('expected a PlanFileError');
}

describe('load-spec', () => {
  it('picks the format by extension; unknown extensions are YAML', () => {
    assert.equal(planFileFormat('a.json'), 'json');
    assert.equal(planFileFormat('A.JSON'), 'json');
    assert.equal(planFileFormat('a.yaml'), 'yaml');
    assert.equal(planFileFormat('a.yml'), 'yaml');
    assert.equal(planFileFormat('plan'), 'yaml');
  });

  it('reads the YAML example', () => {
    const { raw } = loadPlanFile(join(root, 'examples', 'blog-post.plan.yaml')) as { raw: { id: string; nodes: unknown[] } };
    assert.equal(raw.id, 'blog-post');
    assert.equal(raw.nodes.length, 6);
  });

  it('reads JSON files, and JSON content under other extensions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    const file = join(dir, 'p.json');
    writeFileSync(file, '\uFEFF{"id": "p", "nodes": []}');
    assert.deepEqual(loadPlanFile(file).raw, { id: 'p', nodes: [] });
    assert.deepEqual(parsePlanText('{"id": "p", "nodes": []}', 'plan.txt').raw, { id: 'p', nodes: [] });
  });

  it('keeps ISO timestamps as strings (YAML 1.2)', () => {
    const { raw } = parsePlanText('id: p\nnotBefore: 2026-12-01T09:00:00Z\n', 'p.yaml') as { raw: { notBefore: unknown } };
    assert.equal(raw.notBefore, '2026-12-01T09:00:00Z');
  });

  it('a YAML syntax error names file, line and column', () => {
    const error = syntaxError('id: p\nnodes:\n  - id: a\n   type: task\n', 'plan.yaml');
    assert.equal(error.file, 'plan.yaml');
    assert.equal(error.line, 4);
    assert.equal(typeof error.column, 'number');
    assert.match(error.message, /^plan\.yaml:4:\d+: YAML syntax error: /);
  });

  it('duplicate keys and several documents are syntax errors with clear words', () => {
    const duplicate = syntaxError('id: a\ntitle: x\nid: b\n', 'p.yml');
    assert.equal(duplicate.line, 3);
    assert.equal(duplicate.column, 1);
    assert.match(duplicate.message, /the key "id" appears twice/);
    assert.match(syntaxError('id: a\n---\nid: b\n', 'p.yaml').message, /more than one YAML document/);
  });

  it('a JSON syntax error names file, line and column', () => {
    const error = syntaxError('{\n  "id": "p",\n  "nodes": [}\n', 'plan.json');
    assert.equal(error.line, 3);
    assert.equal(error.column, 13);
    assert.match(error.message, /^plan\.json:3:13: JSON syntax error: /);
    assert.match(error.snippet ?? '', /\n {12}\^$/);
    const truncated = syntaxError('{"id": ', 'plan.json');
    assert.equal(truncated.line, 1);
    assert.equal(truncated.column, 8);
  });

  it('an empty file is an error, a missing file too', () => {
    assert.match(syntaxError('', 'p.yaml').message, /the file is empty/);
    assert.match(syntaxError('# only a comment\n', 'p.yaml').message, /the file is empty/);
    assert.match(syntaxError('  ', 'p.json').message, /the file is empty/);
    assert.throws(() => loadPlanFile(join(root, 'no-such-plan.yaml')), (e: unknown) => e instanceof PlanFileError && /no such file/.test(e.message));
  });
});
