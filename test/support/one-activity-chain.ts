/**
 * One run of a chain plan driven one result at a time, through every kind of submission turn the
 * workflow validates (patch `validate-and-record-in-one-activity`): valid results, a blocking one
 * (retried), one with a warning, a duplicate, refused ones (a stale attempt, an unknown node), an
 * approval, a signalled result and one that makes the next node's input wait for its check. Shared
 * by the live test (test/integration/validate-and-record.test.ts), the recorded history
 * `validate-and-record` and by-hand comparisons of the store against older code.
 * Also: what the store holds of a run, without what differs between two runs of the same submissions
 * (run id, times, tokens), to compare two runs' rows.
 */
import type { PlanRunnerClient } from '../../src/client/plan-runner-client';
import type { PlanSpec } from '../../src/engine';
import type { PlanStore } from '../../src/store/types';

const schemas = {
  Notes: { type: 'object', required: ['summary'], properties: { summary: { type: 'string', minLength: 5 } } },
  Text: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
};

/** a (retried once) → b (a warning) → c → review (approval) → d (signalled) → e (its input checked). */
export function oneActivityChainSpec(): PlanSpec {
  const task = (id: string, extra: Partial<PlanSpec['nodes'][number]> = {}) => ({ id, type: 'task' as const, owner: { kind: 'agent' as const, ref: `agent-${id}` }, objective: id, ...extra });
  return {
    id: 'one-activity-chain',
    title: 'Validated and recorded in one local activity',
    schemas,
    nodes: [
      task('a', { outputSchema: 'Notes', retry: { maxAttempts: 2 } }),
      task('b', { outputSchema: 'Notes', completionChecks: [{ kind: 'min-length', path: 'summary', min: 40, severity: 'warning' }] }),
      task('c', { outputSchema: 'Notes' }),
      { id: 'review', type: 'human-approval', owner: { kind: 'human', ref: 'reviewers' }, objective: 'review' },
      task('d'),
      task('e', { inputSchema: 'Text', outputSchema: 'Notes' }),
    ],
    edges: [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'c', to: 'review' },
      { from: 'review', to: 'd' },
      { from: 'd', to: 'e', map: { text: 'output.text' } },
    ],
  } as PlanSpec;
}

/** What each step answered (verdicts, refusals), in order. */
export async function driveOneActivityChain(client: PlanRunnerClient, runId: string): Promise<string[]> {
  const seen: string[] = [];
  const submit = async (what: string, submission: Parameters<PlanRunnerClient['submitResult']>[1]) => {
    try {
      const outcome = await client.submitResult(runId, submission);
      seen.push(`${what}: ${outcome.verdict} ${outcome.issues?.map((issue) => `${issue.severity}:${issue.code}`).join(',') ?? ''}`.trim());
    } catch (error) {
      seen.push(`${what}: refused ${(error as { reason?: string }).reason ?? (error as Error).name}`);
    }
  };
  await client.start(oneActivityChainSpec(), { runId });
  await submit('a invalid', { nodeId: 'a', attempt: 1, submissionId: 'a-1', structuredOutput: { summary: 'x' } });
  await submit('a valid', { nodeId: 'a', attempt: 2, submissionId: 'a-2', structuredOutput: { summary: 'long enough now' } });
  await submit('a stale', { nodeId: 'a', attempt: 1, submissionId: 'a-3', structuredOutput: { summary: 'too late for this' } });
  await submit('b warned', { nodeId: 'b', submissionId: 'b-1', structuredOutput: { summary: 'short but valid' } });
  await submit('c valid', { nodeId: 'c', submissionId: 'c-1', structuredOutput: { summary: 'the third one' } });
  await submit('c duplicate', { nodeId: 'c', submissionId: 'c-1', structuredOutput: { summary: 'the third one' } });
  await submit('nowhere', { nodeId: 'nowhere', structuredOutput: { summary: 'no such node' } });
  const answer = await client.respond(runId, { nodeId: 'review', respondedBy: 'alice', response: { approved: true, comments: 'fine' } });
  seen.push(`review: ${answer.verdict}`);
  await client.signalResult(runId, { nodeId: 'd', submissionId: 'd-1', structuredOutput: { text: 'signalled' } });
  await client.waitForStatus(runId, (snapshot) => snapshot.nodes.find((node) => node.id === 'e')?.status === 'running');
  await submit('e valid', { nodeId: 'e', submissionId: 'e-1', structuredOutput: { summary: 'the last one' } });
  await client.result(runId);
  return seen;
}

const VOLATILE = new Set(['at', 'runId', 'startedAt', 'finishedAt', 'createdAt', 'updatedAt', 'requestedAt', 'respondedAt', 'submittedAt', 'recordedAt', 'token', 'workItemToken', 'eventId', 'id', 'dueAt', 'savedAt', 'checkpointId', 'decidedAt', 'closedAt']);

/** `value` without run ids, times and tokens (strings that look like times become `<time>`). */
export function withoutVolatile(value: unknown, runId: string): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutVolatile(item, runId));
  if (typeof value === 'string') {
    if (/^\d{4}-\d{2}-\d{2}T/.test(value)) return '<time>';
    return value.split(runId).join('<run>');
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !VOLATILE.has(key))
        .map(([key, item]) => [key, withoutVolatile(item, runId)]),
    );
  }
  return value;
}

/** Every row the store holds of `runId` (events, node runs, attempts, approvals, checkpoints), for comparing. */
export async function storedRows(store: PlanStore, runId: string) {
  const nodeRuns = await store.listNodeRuns(runId);
  const attempts = [];
  for (const node of nodeRuns) attempts.push(...(await store.listAttempts(runId, node.nodeId)));
  return {
    run: await store.getRun(runId),
    events: await store.listEvents(runId),
    nodeRuns,
    attempts,
    approvals: await store.listApprovals({ runId }),
    checkpoints: await store.listCheckpoints(runId),
  };
}
