/** The worker's start check for the namespace's search attributes: what is missing, and the commands that add it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingSearchAttributes, registerCommands } from '../../src/worker/search-attributes';

test('a namespace with every attribute lacks nothing; without PlanCostUsd, that one is named with its type', () => {
  const all = { PlanId: 'Keyword', PlanRunStatus: 'Keyword', PlanWaitingOn: 'KeywordList', PlanCostUsd: 'Double', Other: 'Text' };
  assert.deepEqual(missingSearchAttributes(all), []);
  const { PlanCostUsd: _cost, ...withoutCost } = all;
  assert.deepEqual(missingSearchAttributes(withoutCost), [['PlanCostUsd', 'Double']]);
  assert.equal(missingSearchAttributes({}).length, 4);
});

test('the commands to register what is missing name the namespace, the attribute and its type', () => {
  assert.equal(
    registerCommands([['PlanCostUsd', 'Double'], ['PlanWaitingOn', 'KeywordList']], 'prod'),
    'temporal operator search-attribute create --namespace prod --name PlanCostUsd --type Double\n  temporal operator search-attribute create --namespace prod --name PlanWaitingOn --type KeywordList',
  );
});
