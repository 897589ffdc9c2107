/** docs/semantics.md, "Sub-plans": the static checks of `plans` and `plan` nodes, with the parent, as a whole. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePlanSpec } from '../../src/engine/validate-spec';

const vet = () => ({
  id: 'vet-vendor',
  title: 'Vet a vendor',
  nodes: [
    { id: 'check', type: 'task', owner: { kind: 'agent', ref: 'checker' } },
    { id: 'approve', type: 'human-approval', owner: { kind: 'human', ref: 'legal' } },
  ],
  edges: [{ from: 'check', to: 'approve' }],
});

function parent(plans: Record<string, unknown>, nodes: unknown[] = [{ id: 'vet', type: 'plan', plan: 'vet-vendor', label: 'Vet the vendor' }]): any {
  return { id: 'onboard', plans, nodes };
}

const errorsOf = (spec: unknown) => validatePlanSpec(spec).errors;

describe('sub-plans: static validation', () => {
  it('accepts a plan node that names a registry entry, with forEach, and keeps the typed registry', () => {
    const result = validatePlanSpec(
      parent({ 'vet-vendor': vet() }, [
        { id: 'list', type: 'task', owner: { kind: 'agent', ref: 'lister' } },
        { id: 'vet', type: 'plan', plan: 'vet-vendor', forEach: { items: 'input.vendors' }, retry: { maxAttempts: 2, retryOn: ['subplan'] } },
      ]),
    );
    assert.deepEqual(result.errors, []);
    assert.equal(result.valid, true);
    assert.equal(result.spec?.plans?.['vet-vendor'].nodes.length, 2);
  });

  it('reports every problem of a sub-plan under $.plans.<name>, named after it, together with the parent’s', () => {
    const broken = vet();
    (broken.nodes[0] as any).owner = undefined;
    (broken.nodes[1] as any).colour = 'red';
    broken.edges.push({ from: 'approve', to: 'nowhere' });
    const errors = errorsOf(parent({ 'vet-vendor': broken }, [{ id: 'vet', type: 'plan', plan: 'vet-vendor', owner: { kind: 'agent', ref: 'x' } }]));
    const paths = errors.map((e) => e.path);
    assert.deepEqual(paths, ['$.nodes[0].owner', '$.plans["vet-vendor"].nodes[0].owner', '$.plans["vet-vendor"].nodes[1].colour', '$.plans["vet-vendor"].edges[1].to']);
    for (const e of errors.slice(1)) assert.match(e.message, /^sub-plan "vet-vendor": /);
    assert.match(errors[3].message, /no node "nowhere"/);
  });

  it('a plan node needs "plan", naming a known sub-plan (with a suggestion), and takes no owner, output schema, checks or deadline', () => {
    const errors = errorsOf(
      parent({ 'vet-vendor': vet() }, [
        { id: 'a', type: 'plan' },
        { id: 'b', type: 'plan', plan: 'vet-vender' },
        { id: 'c', type: 'plan', plan: 'vet-vendor', outputSchema: 'X', completionChecks: [{ kind: 'required', path: 'x' }], deadline: { afterMs: 5 } },
        { id: 'd', type: 'task', owner: { kind: 'agent', ref: 'x' }, plan: 'vet-vendor' },
      ]),
    );
    const byPath = Object.fromEntries(errors.filter((e) => !/unknown schema/.test(e.message)).map((e) => [e.path, e.message]));
    assert.match(byPath['$.nodes[0].plan'], /needs "plan"/);
    assert.match(byPath['$.nodes[1].plan'], /unknown sub-plan "vet-vender" \(did you mean "vet-vendor"\?\); known: vet-vendor/);
    assert.match(byPath['$.nodes[2].outputSchema'], /does not apply/);
    assert.match(byPath['$.nodes[2].completionChecks'], /does not apply/);
    assert.match(byPath['$.nodes[2].deadline'], /does not apply/);
    assert.match(byPath['$.nodes[3].plan'], /only applies to plan nodes/);
  });

  it('a sub-plan that includes itself is an error with the path of the cycle', () => {
    const self = { id: 'loop', nodes: [{ id: 'again', type: 'plan', plan: 'loop' }] };
    const errors = errorsOf(parent({ loop: self }, [{ id: 'go', type: 'plan', plan: 'loop' }]));
    assert.deepEqual(errors.map((e) => e.path), ['$.plans.loop.nodes[0].plan']);
    assert.match(errors[0].message, /includes itself: plans\.loop → plans\.loop/);
  });

  it('a sub-plan that includes itself through another is one error, with the whole path', () => {
    const a = { id: 'a', nodes: [{ id: 'x', type: 'task', owner: { kind: 'agent', ref: 'x' } }, { id: 'to-b', type: 'plan', plan: 'b' }] };
    const b = { id: 'b', nodes: [{ id: 'to-c', type: 'plan', plan: 'c' }] };
    const c = { id: 'c', nodes: [{ id: 'to-a', type: 'plan', plan: 'a' }] };
    const errors = errorsOf(parent({ a, b, c }, [{ id: 'go', type: 'plan', plan: 'a' }]));
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0].path, '$.plans.c.nodes[0].plan');
    assert.match(errors[0].message, /plans\.c → plans\.a → plans\.b → plans\.c/);
  });

  it('a plan that includes the same sub-plan twice, or two that share one, is no cycle', () => {
    const leaf = { id: 'leaf', nodes: [{ id: 'x', type: 'task', owner: { kind: 'agent', ref: 'x' } }] };
    const mid = { id: 'mid', nodes: [{ id: 'l1', type: 'plan', plan: 'leaf' }, { id: 'l2', type: 'plan', plan: 'leaf' }] };
    const result = validatePlanSpec(parent({ leaf, mid }, [{ id: 'm', type: 'plan', plan: 'mid' }, { id: 'l', type: 'plan', plan: 'leaf' }]));
    assert.deepEqual(result.errors, []);
  });

  it('sub-plans share the registry at the top: a nested "plans" is refused, and so is a bad name', () => {
    const nested = { ...vet(), plans: { inner: vet() } };
    const errors = errorsOf(parent({ 'vet-vendor': nested, 'bad name': vet() }));
    const byPath = Object.fromEntries(errors.map((e) => [e.path, e.message]));
    assert.match(byPath['$.plans["vet-vendor"].plans'], /share the registry/);
    assert.match(byPath['$.plans["bad name"]'], /not a valid name/);
  });

  it('forEach on a plan node is checked like any other (items rooted at input or run)', () => {
    const errors = errorsOf(parent({ 'vet-vendor': vet() }, [{ id: 'vet', type: 'plan', plan: 'vet-vendor', forEach: { items: 'output.list' } }]));
    assert.deepEqual(errors.map((e) => e.path), ['$.nodes[0].forEach.items']);
  });
});
