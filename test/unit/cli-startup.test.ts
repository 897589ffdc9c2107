/**
 * The CLI loads only what a command needs (docs/performance.md, "The CLI starts only what a command
 * needs"): these tests run a command in a fresh process and list the packages it loaded, so that an
 * import added at the top of a command or of the program, which would bring back hundreds of
 * milliseconds of start-up for every command, fails here instead of going unnoticed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const CLI = path.join(__dirname, '..', '..', 'src', 'client', 'cli.js');

/** Packages that take tens to hundreds of milliseconds to load, and the commands that need them. */
const HEAVY = ['@temporalio/client', '@temporalio/worker', '@grpc/grpc-js', 'zod', 'ajv', 'yaml', 'elkjs', 'fastify', 'kysely', '@libsql/client', 'pg'];

/** Run `plan-runner ARGS` in a new process; return its exit code and the heavy packages it loaded. */
function loadedBy(args: string[]): { exitCode: number; loaded: string[] } {
  const script = `
    const { main } = require(${JSON.stringify(CLI)});
    const quiet = { stdout() {}, stderr() {} };
    main(['node', 'plan-runner', ...${JSON.stringify(args)}], quiet).then((exitCode) => {
      const packages = new Set();
      for (const file of Object.keys(require.cache)) {
        const match = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(file);
        if (match) packages.add(match[1].replace(/\\\\/g, '/'));
      }
      process.stdout.write(JSON.stringify({ exitCode, packages: [...packages] }));
      process.exit(0);
    });`;
  // An address nothing listens on: a command that connects fails at once (exit 3), after loading what it needs.
  const result = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', PLAN_RUNNER_CONNECT_TIMEOUT_MS: '2000' },
  });
  assert.equal(result.status, 0, result.stderr);
  const { exitCode, packages } = JSON.parse(result.stdout) as { exitCode: number; packages: string[] };
  return { exitCode, loaded: HEAVY.filter((name) => packages.includes(name)) };
}

test('--help loads none of the heavy packages', () => {
  const { exitCode, loaded } = loadedBy(['--help']);
  assert.equal(exitCode, 0);
  assert.deepEqual(loaded, []);
});

test('a usage error loads none of the heavy packages', () => {
  const { exitCode, loaded } = loadedBy(['submit', 'run-1', 'node-1', '--attempt', 'zero']);
  assert.equal(exitCode, 2);
  assert.deepEqual(loaded, []);
});

test('status loads the Temporal client, and neither the validator, the YAML parser nor the worker', () => {
  const { exitCode, loaded } = loadedBy(['status', 'run-1']);
  assert.equal(exitCode, 3);
  assert.deepEqual(loaded, ['@temporalio/client', '@grpc/grpc-js']);
});

test('submit may add zod (the message is checked before it is sent), never ajv, yaml or the worker', () => {
  const { exitCode, loaded } = loadedBy(['submit', 'run-1', 'node-1', '--output', '{"a":1}']);
  assert.equal(exitCode, 3);
  assert.deepEqual(loaded.filter((name) => !['@temporalio/client', '@grpc/grpc-js', 'zod'].includes(name)), []);
});
