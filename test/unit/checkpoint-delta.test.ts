/**
 * Checkpoints sent as differences within a batch of transition records (`compactCheckpoints`), and
 * expanded again by the store activity (`expandCheckpoints`): the store must get exactly the
 * checkpoints the engine took, and the batch must be much smaller than sent whole.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { applyAgentSubmission, compactCheckpoints, createRunState, expandCheckpoints, recordOf, snapshotOf, startRun, type Checkpoint, type NodeStatus, type TransitionRecord } from '../../src/engine';
import { chainPlan } from '../../bench/engine-step';
import { fcParams } from './fc-params';

const STATUSES: NodeStatus[] = ['pending', 'ready', 'running', 'completed', 'failed', 'skipped'];

/** Records that carry only what the delta touches: a checkpoint (or none) and a seq. */
function recordsWith(checkpoints: Array<Checkpoint | undefined>): TransitionRecord[] {
  return checkpoints.map((checkpoint, i) => ({ run: { runId: 'r', lastSeq: i + 1 }, nodes: [], attempts: [], approvals: [], events: [], ...(checkpoint ? { checkpoint } : {}) }) as unknown as TransitionRecord);
}

const ids = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/), { maxLength: 12 });
const checkpointArb = (sequence: number) =>
  fc.record({
    nodes: fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/), fc.constantFrom(...STATUSES)), { maxLength: 12 }),
    ready: ids,
    active: ids,
    completed: ids,
    artifacts: ids,
  }).map(({ nodes, ready, active, completed, artifacts }): Checkpoint => ({
    sequence,
    reason: 'node-result-complete',
    runStatus: 'running',
    readyNodeIds: ready,
    activeNodeIds: active,
    completedNodeIds: completed,
    nodeStatuses: Object.fromEntries(nodes),
    artifactIds: artifacts,
    at: `2026-01-01T00:00:${String(sequence % 60).padStart(2, '0')}.000Z`,
  }));

describe('checkpoint deltas in a batch of records', () => {
  it('expand back to exactly the checkpoints sent, whatever changed between them (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.nat(), { nil: undefined }), { minLength: 1, maxLength: 8 }).chain((slots) =>
          fc.tuple(...slots.map((slot, i) => (slot === undefined ? fc.constant(undefined) : checkpointArb(i + 1)))),
        ),
        (checkpoints) => {
          const records = recordsWith(checkpoints);
          const expanded = expandCheckpoints(JSON.parse(JSON.stringify(compactCheckpoints(records))));
          assert.deepEqual(expanded, JSON.parse(JSON.stringify(records)));
        },
      ),
      fcParams(300),
    );
  });

  it('send the first checkpoint of a batch whole and the others as differences', () => {
    const [a, b] = [1, 2].map((sequence): Checkpoint => ({
      sequence,
      reason: 'node-result-complete',
      runStatus: 'running',
      readyNodeIds: [],
      activeNodeIds: sequence === 1 ? ['x'] : [],
      completedNodeIds: sequence === 1 ? [] : ['x'],
      nodeStatuses: { x: sequence === 1 ? 'running' : 'completed', y: 'pending' },
      artifactIds: [],
      at: '2026-01-01T00:00:00.000Z',
    }));
    const [first, second] = compactCheckpoints(recordsWith([a, b]));
    assert.deepEqual(first.checkpoint, a);
    assert.deepEqual(second.checkpoint, {
      sequence: 2,
      reason: 'node-result-complete',
      runStatus: 'running',
      at: '2026-01-01T00:00:00.000Z',
      delta: true,
      readyNodeIds: { prefix: 0, suffix: 0, middle: [] },
      activeNodeIds: { prefix: 0, suffix: 0, middle: [] },
      completedNodeIds: { prefix: 0, suffix: 0, middle: ['x'] },
      artifactIds: { prefix: 0, suffix: 0, middle: [] },
      changedStatuses: { x: 'completed' },
    });
  });

  it('refuse a difference with no checkpoint before it in its batch, instead of storing a wrong checkpoint', () => {
    const [, second] = compactCheckpoints(recordsWith([
      { sequence: 1, reason: 'node-result-complete', runStatus: 'running', readyNodeIds: [], activeNodeIds: [], completedNodeIds: [], nodeStatuses: { x: 'running' }, artifactIds: [], at: 'T' },
      { sequence: 2, reason: 'node-result-complete', runStatus: 'running', readyNodeIds: [], activeNodeIds: [], completedNodeIds: ['x'], nodeStatuses: { x: 'completed' }, artifactIds: [], at: 'T' },
    ]));
    assert.throws(() => expandCheckpoints([second]), /checkpoint 2 was sent as a difference with no checkpoint before it/);
  });

  it('make a batch of 50 transitions of a 1,000-node run several times smaller, and expand to the same records', () => {
    let clock = Date.parse('2026-01-01T00:00:00.000Z');
    const now = () => new Date((clock += 1000)).toISOString();
    let state = startRun(createRunState({ runId: 'big', spec: chainPlan('big', 1000, 100, { maxConcurrency: 50 }), input: {}, now: now() }), now()).state;
    const records: TransitionRecord[] = [];
    const running = snapshotOf(state).nodes.filter((node) => node.status === 'running');
    for (const node of running) {
      const applied = applyAgentSubmission(state, { nodeId: node.id, attempt: 1, structuredOutput: { n: 1 } }, [], now());
      assert.ok(!('refused' in applied && applied.refused));
      const transition = applied as Exclude<typeof applied, { refused: true }>;
      records.push(recordOf(state, transition) as TransitionRecord);
      state = transition.state;
    }
    assert.equal(records.length, 50);
    const whole = JSON.stringify(records).length;
    const compact = JSON.stringify(compactCheckpoints(records)).length;
    assert.ok(compact * 4 < whole, `compact ${compact} vs whole ${whole}`);
    assert.deepEqual(expandCheckpoints(JSON.parse(JSON.stringify(compactCheckpoints(records)))), JSON.parse(JSON.stringify(records)));
  });
});
