/**
 * A payload fuzz against a live run, on whichever store PLAN_STORE_URL names (the suite runs on
 * SQLite and on PostgreSQL): a few hundred hostile results (huge, deep, NUL and lone surrogates in
 * values, keys and names, `__proto__` keys, prototype-named ids, non-objects, wrong field types,
 * too many artifacts), sent by update and by signal with the raw Temporal client, so the workflow's
 * own defences are what is tested. Throughout, a victim run on the same worker must keep answering
 * its updates. At the end neither run has a failed workflow task and the store holds every event
 * of the target run once, in order.
 *
 * Reproducible: the seed is printed on failure; `FC_SEED=<seed>` replays the same cases.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { startHarness, plan, runId, type Harness } from './harness';
import { nodeResultSignal, submitNodeResultUpdate } from '../../src/workflows/definitions';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const CASES = Number(process.env.PLAN_FUZZ_CASES ?? 300);
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Date.now() % 2_147_483_647;

/** Text that no store may be handed: NUL, lone surrogates of either half. */
const badText = fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\udc00\ud800');
const protoName = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { d: value };
  return value;
}

/** One hostile (or, sometimes, perfectly fine) result for node `a`. */
const hostileResult: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  // ordinary JSON objects (accepted; the node's check rejects them, so it keeps running)
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })).map((structuredOutput) => ({ nodeId: 'a', structuredOutput })),
  // outputs that are not objects
  fc.oneof(fc.integer(), fc.constant(null), fc.string(), fc.array(fc.integer()), fc.boolean()).map((structuredOutput) => ({ nodeId: 'a', structuredOutput })),
  // text the store cannot hold, in a value, a key, or a name
  badText.map((text) => ({ nodeId: 'a', structuredOutput: { text } })),
  badText.map((text) => ({ nodeId: 'a', structuredOutput: { [text]: 1 } })),
  fc.tuple(badText, fc.constantFrom('by', 'submissionId', 'notes', 'nodeId')).map(([text, field]) => ({ nodeId: 'a', structuredOutput: {}, [field]: text })),
  // prototype keys and names
  fc.constant(JSON.parse('{"nodeId":"a","structuredOutput":{"__proto__":{"polluted":true}}}') as Record<string, unknown>),
  protoName.map((submissionId) => ({ nodeId: 'a', submissionId: `${submissionId}`, structuredOutput: {} })),
  protoName.map((nodeId) => ({ nodeId, structuredOutput: {} })),
  protoName.map((name) => ({ nodeId: 'a', structuredOutput: {}, artifacts: [{ name, kind: 'uri', pointer: 'p' }] })),
  // deep and large
  fc.integer({ min: 40, max: 400 }).map((depth) => ({ nodeId: 'a', structuredOutput: { deep: nested(depth) } })),
  fc.integer({ min: 200_000, max: 700_000 }).map((size) => ({ nodeId: 'a', structuredOutput: { text: 'x'.repeat(size) } })),
  fc.integer({ min: 90, max: 150 }).map((count) => ({
    nodeId: 'a',
    structuredOutput: {},
    artifacts: Array.from({ length: count }, (_, i) => ({ name: `n${i}`, kind: 'uri', pointer: `p${i}` })),
  })),
  // wrong field types
  fc.record({ nodeId: fc.oneof(fc.integer(), fc.constant(null), fc.constant('')), attempt: fc.oneof(fc.string(), fc.double(), fc.constant(-1)) }),
  fc.constant({ nodeId: 'a', failure: { class: 'not-a-class', message: 7 } }),
);

const CASE_KINDS = fc.tuple(hostileResult, fc.constantFrom('update' as const, 'signal' as const));

describe('payload fuzz against a live run', () => {
  test(`${CASES} hostile results: no workflow task fails, the store stays contiguous, a victim run keeps answering (seed ${SEED})`, async () => {
    // The target's only node always fails its check, so it keeps running and takes every result.
    const spec = plan('fuzz-target', [
      { id: 'a', retry: { maxAttempts: 100_000 }, completionChecks: [{ kind: 'condition', expression: 'output.neverTrue == true' }] },
    ]);
    const target = (await h.client.start(spec, { runId: runId('fuzz-target') })).runId;
    const victim = (await h.client.start(plan('fuzz-victim', [{ id: 'a', retry: { maxAttempts: 100_000 } }]), { runId: runId('fuzz-victim') })).runId;
    const handle = h.client.client.workflow.getHandle(target);
    const cases = fc.sample(CASE_KINDS, { numRuns: CASES, seed: SEED });
    const reasons = new Map<string, number>();
    let signals = 0;
    try {
      for (const [index, [payload, via]] of cases.entries()) {
        if (via === 'signal') {
          await handle.signal(nodeResultSignal, payload as never);
          signals++;
        } else {
          try {
            await handle.executeUpdate(submitNodeResultUpdate, { args: [payload as never] });
            reasons.set('accepted', (reasons.get('accepted') ?? 0) + 1);
          } catch (error) {
            // A refusal is an answer; anything else (a timeout, a failed workflow task) is a defect.
            assert.ok(error instanceof WorkflowUpdateFailedError, `case ${index}: ${String(error)}`);
            const reason = (error.cause as { details?: Array<{ reason?: string }> } | undefined)?.details?.[0]?.reason;
            assert.ok(reason, `case ${index}: an update failed without a refusal reason: ${String(error.cause)}`);
            reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
          }
        }
        if (index % 20 === 0) {
          // The victim on the same worker answers its updates throughout.
          const outcome = await h.client.submitResult(victim, { nodeId: 'a', failure: { message: `still here ${index}` } });
          assert.equal(outcome.nodeStatus, 'running');
        }
      }
      // Every signal is settled: the target answers an update only after what came before it.
      const last = await h.client.submitResult(target, { nodeId: 'a', structuredOutput: { neverTrue: true } });
      assert.equal(last.nodeStatus, 'completed');
      assert.equal((await h.client.result(target)).status, 'completed');

      const events = await h.client.events(target);
      assert.deepEqual(
        events.map((event) => event.seq),
        events.map((_, i) => i + 1),
        'the store holds every event once, in order',
      );
      for (const id of [target, victim]) {
        const history = await h.client.client.workflow.getHandle(id).fetchHistory();
        const failed = (history.events ?? []).filter((event) => event.workflowTaskFailedEventAttributes);
        assert.equal(failed.length, 0, `${id}: ${failed.map((e) => e.workflowTaskFailedEventAttributes?.failure?.message).join('; ')}`);
      }
      // The fuzz reached the defences it is for (a change in the generators must not hollow it out).
      for (const reason of ['invalid-payload', 'payload-too-large']) assert.ok((reasons.get(reason) ?? 0) > 0, `no ${reason} refusal in ${[...reasons]}`);
      assert.ok(signals > 0 && events.some((event) => event.type === 'result-rejected'), 'refused signals were recorded');
    } catch (error) {
      throw new Error(`payload fuzz failed; replay with FC_SEED=${SEED}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  });
});
