/**
 * Every plan in examples/ is valid, and the vendor due-diligence example uses what it is there to
 * show: sub-plans (one child run per vendor), a quorum sign-off with a veto, and budgets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { loadPlanFile } from '../../src/client/load-spec';
import { validatePlanSpec } from '../../src/engine/validate-spec';

const EXAMPLES = path.resolve(__dirname, '../../../examples');

test('every example plan is valid', () => {
  const files = readdirSync(EXAMPLES).filter((file) => file.endsWith('.plan.yaml'));
  assert.ok(files.length >= 4, `examples found: ${files.join(', ')}`);
  for (const file of files) {
    const result = validatePlanSpec(loadPlanFile(path.join(EXAMPLES, file)).raw);
    assert.deepEqual(result.errors, [], file);
    assert.equal(result.valid, true, file);
  }
});

test('vendor due diligence: a sub-plan per vendor, a 2-of-4 sign-off with a veto, a plan budget and a node budget', () => {
  const spec = loadPlanFile(path.join(EXAMPLES, 'vendor-due-diligence.plan.yaml')).raw as {
    budget?: { maxCostUsd?: number };
    plans?: Record<string, { nodes: Array<{ id: string; budget?: unknown }> }>;
    nodes: Array<{ id: string; type: string; plan?: string; forEach?: unknown; quorum?: { required: number; veto?: string[] }; approvers?: string[] }>;
  };
  assert.equal(spec.budget?.maxCostUsd, 5);
  const vet = spec.nodes.find((node) => node.type === 'plan');
  assert.ok(vet?.plan && spec.plans?.[vet.plan], 'a plan node naming a registered sub-plan');
  assert.ok(vet.forEach, 'one child run per vendor');
  assert.ok(spec.plans[vet.plan].nodes.some((node) => node.budget !== undefined), 'a node budget inside the sub-plan');
  const signOff = spec.nodes.find((node) => node.quorum);
  assert.deepEqual(signOff?.quorum, { required: 2, veto: ['carol'] });
  assert.equal(signOff?.approvers?.length, 4);
});
