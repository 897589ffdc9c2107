/** The editor JSON Schema generated from the zod schemas (schema/plan.schema.json). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createAjv } from '../../src/activities/validation/schema-compiler';
import { loadPlanFile } from '../../src/client/load-spec';
import { buildPlanJsonSchema, PLAN_SCHEMA_FILE, PLAN_SCHEMA_ID, renderPlanJsonSchema } from '../../src/engine/plan-json-schema';

const root = join(__dirname, '..', '..', '..');

describe('plan JSON Schema', () => {
  const schema = buildPlanJsonSchema();
  const validate = createAjv().compile(schema);

  it('is draft 2020-12 with an id, a title and a description', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.$id, PLAN_SCHEMA_ID);
    assert.equal(typeof schema.title, 'string');
    assert.equal(typeof schema.description, 'string');
  });

  it('the committed file is what the zod schemas generate', () => {
    assert.equal(readFileSync(join(root, PLAN_SCHEMA_FILE), 'utf8'), renderPlanJsonSchema(), 'run `npm run gen:schema`');
  });

  it('accepts the example plan', () => {
    const { raw } = loadPlanFile(join(root, 'examples', 'blog-post.plan.yaml'));
    assert.equal(validate(raw), true, JSON.stringify(validate.errors));
  });

  it('the example points editors at the schema', () => {
    const firstLine = readFileSync(join(root, 'examples', 'blog-post.plan.yaml'), 'utf8').split('\n')[0];
    assert.equal(firstLine, '# yaml-language-server: $schema=../schema/plan.schema.json');
  });

  it('rejects shape errors the zod schemas reject', () => {
    const node = { id: 'a', type: 'task', owner: { kind: 'agent', ref: 'x' } };
    assert.equal(validate({ id: 'p', nodes: [node] }), true);
    assert.equal(validate({ id: 'p', nodes: [] }), false);
    assert.equal(validate({ id: 'bad id', nodes: [node] }), false);
    assert.equal(validate({ id: 'p', nodes: [{ ...node, type: 'tsk' }] }), false);
    assert.equal(validate({ id: 'p', nodes: [{ ...node, ownr: {} }] }), false);
    assert.equal(validate({ id: 'p', nodes: [{ ...node, retry: { maxAttempts: 0 } }] }), false);
    assert.equal(validate({ id: 'p', nodes: [{ ...node, completionChecks: [{ kind: 'min-length', path: 'x' }] }] }), false);
    assert.equal(validate({ id: 'p', nodes: [{ ...node, notBefore: 'tomorrow' }] }), false);
    assert.equal(validate({ id: 'p', nodes: [{ ...node, notBefore: '2026-12-01T09:00:00Z' }] }), true);
  });

  it('has no zod artefacts: no safe-integer bounds, no datetime regex', () => {
    const text = JSON.stringify(schema);
    assert.equal(text.includes('9007199254740991'), false);
    const notBefore = ((schema.$defs as any).PlanNode.properties.notBefore) as Record<string, unknown>;
    assert.equal(notBefore.format, 'date-time');
    assert.equal(notBefore.pattern, undefined);
  });
});
