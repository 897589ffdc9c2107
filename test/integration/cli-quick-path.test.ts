/**
 * The quick path of `plan-runner status` and `submit` (src/client/light/): against the real server
 * and worker, a fresh CLI process answers without loading the Temporal SDK, says what the full
 * client says, and a submission it sent is not applied twice when the full client sends it again
 * under the same submission id.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startHarness, runId, type Harness, runCli, TEMPORAL_ADDRESS } from './harness';

const EXAMPLE = path.resolve(__dirname, '../../../examples/blog-post.plan.yaml');
const CLI_MODULE = path.resolve(__dirname, '../../src/client/cli.js');

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const json = (text: string) => JSON.parse(text.trim().split('\n').at(-1) as string);

/** Run the CLI in a fresh process; with `full`, through the full Temporal client only. */
async function cli(args: string[], options: { full?: boolean } = {}) {
  const script = `
    const { main } = require(${JSON.stringify(CLI_MODULE)});
    let out = '';
    main(['node', 'plan-runner', ...${JSON.stringify([...args, '--address', TEMPORAL_ADDRESS, '--task-queue', h.taskQueue])}], { stdout(t) { out += t; }, stderr() {} }).then((code) => {
      const sdk = Object.keys(require.cache).some((file) => /@temporalio[\\\\/]client[\\\\/]lib/.test(file));
      process.stdout.write(JSON.stringify({ code, out, sdk }));
      process.exit(0);
    });`;
  const env = { ...process.env, CI: 'true', ...(options.full ? { PLAN_RUNNER_LIGHT_CLIENT: '0' } : {}) };
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { env });
  return JSON.parse(stdout) as { code: number; out: string; sdk: boolean };
}

test('status and submit of a running run answer without the Temporal SDK, as the full client does', async () => {
  const id = runId('quick');
  const started = await runCli(h.taskQueue, 'start', EXAMPLE, '--run-id', id, '--input', '{"topic":"quick"}', '--json');
  assert.equal(started.code, 0, started.stderr);
  try {
    const quick = await cli(['status', id, '--json']);
    const full = await cli(['status', id, '--json'], { full: true });
    assert.equal(quick.code, 0);
    assert.equal(quick.sdk, false, 'the quick path loaded @temporalio/client');
    assert.equal(full.sdk, true);
    assert.deepEqual(json(quick.out), json(full.out));

    const notes = JSON.stringify({ summary: 'Durable execution keeps agent runs alive.', sources: ['a', 'b', 'c'] });
    const args = ['submit', id, 'research', '--output', notes, '--submission-id', 'quick-1', '--json'];
    const sent = await cli(args);
    assert.equal(sent.code, 0);
    assert.equal(sent.sdk, false, 'the quick submit loaded @temporalio/client');
    assert.equal(json(sent.out).nodeStatus, 'completed');
    const again = await cli(args, { full: true });
    assert.equal(again.code, 0);
    assert.equal(json(again.out).duplicate, true, 'the full client sees the quick path’s submission as already recorded');

    // A refused submission (a node that does not exist) is worded by the full client, as before.
    const refused = await cli(['submit', id, 'no-such-node', '--output', '{}', '--json']);
    const refusedFull = await cli(['submit', id, 'no-such-node', '--output', '{}', '--json'], { full: true });
    assert.notEqual(refused.code, 0);
    assert.equal(refused.code, refusedFull.code);
  } finally {
    await h.client.cancel(id, { by: 'test' }).catch(() => undefined);
  }
});
