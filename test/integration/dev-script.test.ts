/**
 * temporal-dev.sh on a shared machine (issue 10). A checkout copied together with its .data folder
 * used to stop the other checkout's dev server: `stop` trusted any pid in .data/temporal.pid whose
 * command line contained `start-dev` (and any worker/main.js in worker.pids, and whatever
 * postgres/postmaster.pid named). Now a pid is only stopped when the process is this checkout's.
 *
 * Real processes only, and never the shared server on 127.0.0.1:7233: the first "checkout" is a
 * temporary directory holding a copy of the script, which starts a throwaway dev server of its own
 * on free ports (the installed CLI: TEMPORAL_CLI_PATH, else .tools/temporal-1.9.1/bin/temporal) and
 * records a stand-in worker process; the second checkout holds copies of the same script and of the
 * first one's .data folder. Linux only (the script reads /proc there; elsewhere it falls back to ps).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../../..');
const SCRIPT = path.join(REPO, 'temporal-dev.sh');
const CLI = process.env.TEMPORAL_CLI_PATH || path.join(REPO, '.tools', 'temporal-1.9.1', 'bin', 'temporal');

const skip =
  process.platform !== 'linux'
    ? 'the script identifies processes through /proc on Linux'
    : !fs.existsSync(CLI)
      ? `no Temporal CLI at ${CLI} (./temporal-dev.sh install, or set TEMPORAL_CLI_PATH)`
      : false;

const dirs: string[] = [];
/** Processes this file started (directly, or through the script), killed in after() if still there. */
const started = new Set<number>();
const children: ChildProcess[] = [];

after(() => {
  for (const pid of started) if (running(pid)) process.kill(pid, 'SIGKILL');
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A checkout: a fresh directory (searchable by others, for PostgreSQL run as `postgres` under root) with the script. */
function checkout(name: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `plan-runner-dev-script-${name}-`)));
  dirs.push(dir);
  fs.chmodSync(dir, 0o755);
  fs.copyFileSync(SCRIPT, path.join(dir, 'temporal-dev.sh'));
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The process exists and is not a zombie (what the script's pid_alive also checks). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `./temporal-dev.sh ARGS` in DIR against 127.0.0.1:PORT. The variables a surrounding
 * `./temporal-dev.sh test` exports (the shared server's address and UI) are replaced or removed.
 */
function devScript(dir: string, args: string[], env: Record<string, string>): Promise<Exit> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_CLI_PATH: CLI, TEMPORAL_NAMESPACE: 'default', TEMPORAL_START_TIMEOUT: '20', ...env };
  for (const name of ['TEMPORAL_PORT', 'TEMPORAL_UI_PORT', 'TEMPORAL_UI_URL', 'PLAN_RUNNER_DATA', 'KEEP_SERVER']) {
    if (!(name in env)) delete childEnv[name];
  }
  return new Promise((resolve) => {
    execFile('bash', [path.join(dir, 'temporal-dev.sh'), ...args], { cwd: dir, env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number | null }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

/** `temporal operator cluster health` against the address: true when it answers SERVING. */
function answers(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(CLI, ['operator', 'cluster', 'health', '--address', address, '--command-timeout', '3s'], { timeout: 10_000 }, (error, stdout) =>
      resolve(!error && stdout.includes('SERVING')),
    );
  });
}

function readPid(file: string): number {
  const pid = Number(fs.readFileSync(file, 'utf8').trim().split('\n')[0]);
  assert.ok(Number.isInteger(pid) && pid > 0, `${file} holds a pid`);
  return pid;
}

test('stop in a copy of a checkout (with its .data) leaves the original dev server and worker running; stop in the original stops them', { skip, timeout: 90_000 }, async () => {
  const port = await freePort();
  const uiPort = await freePort();
  const address = `127.0.0.1:${port}`;
  assert.notEqual(port, 7233);
  // No PostgreSQL in these checkouts; a free port, so that `stop` could not reach the shared one either.
  const env = { TEMPORAL_ADDRESS: address, PLAN_PG_PORT: String(await freePort()) };

  // The first checkout starts its own server on a UI port that is not port + 1000.
  const first = checkout('first');
  const server = await devScript(first, ['server'], { ...env, TEMPORAL_UI_PORT: String(uiPort) });
  const serverPid = readPid(path.join(first, '.data', 'temporal.pid'));
  started.add(serverPid);
  assert.equal(server.code, 0, server.stderr);
  assert.ok(server.stderr.includes(`Web UI: http://localhost:${uiPort}`), `server prints the UI port it passed:\n${server.stderr}`);
  assert.ok(await answers(address), 'the first checkout\'s server answers');

  // A stand-in for `./temporal-dev.sh worker`: node dist/src/worker/main.js, run from the checkout.
  fs.mkdirSync(path.join(first, 'dist', 'src', 'worker'), { recursive: true });
  fs.writeFileSync(path.join(first, 'dist', 'src', 'worker', 'main.js'), "setInterval(() => {}, 1000);\nprocess.on('SIGTERM', () => process.exit(0));\n");
  const worker = spawn(process.execPath, ['dist/src/worker/main.js'], { cwd: first, stdio: 'ignore', env: { ...process.env, PLAN_RUNNER_DEV_DATA: path.join(first, '.data') } });
  children.push(worker);
  const workerPid = worker.pid as number;
  started.add(workerPid);
  fs.writeFileSync(path.join(first, '.data', 'worker.pids'), `${workerPid}\n`);

  // status reads the UI port from the server's own command line, even without TEMPORAL_UI_PORT.
  const status = await devScript(first, ['status'], env);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`^web UI: +http://localhost:${uiPort} `, 'm'));
  assert.match(status.stdout, new RegExp(`^started by: +this checkout, pid ${serverPid} `, 'm'));
  assert.match(status.stdout, new RegExp(`^workers: +${workerPid} `, 'm'));

  // The second checkout: a copy of the first, .data (pid files, address file, SQLite file) included.
  const second = checkout('second');
  fs.cpSync(path.join(first, '.data'), path.join(second, '.data'), { recursive: true });
  fs.cpSync(path.join(first, 'dist'), path.join(second, 'dist'), { recursive: true });
  const firstDb = path.join(first, '.data', 'temporal.sqlite');

  const foreignStatus = await devScript(second, ['status'], env);
  assert.doesNotMatch(foreignStatus.stdout, /^started by: +this checkout/m, foreignStatus.stdout);
  assert.match(foreignStatus.stdout, new RegExp(`^started by: .*not this checkout's: pid ${serverPid} is the Temporal dev server for port ${port}, data file ${firstDb}`, 'm'));
  assert.match(foreignStatus.stdout, new RegExp(`^workers: +none started by this checkout .*${workerPid}`, 'm'));

  const refused = await devScript(second, ['stop'], env);
  assert.equal(refused.code, 0, `stop exits 0: nothing of the second checkout runs\n${refused.stderr}`);
  assert.ok(refused.stderr.includes(`not stopping pid ${serverPid} from .data/temporal.pid: pid ${serverPid} is the Temporal dev server for port ${port}, data file ${firstDb}, not this checkout's`), refused.stderr);
  assert.ok(refused.stderr.includes(`not stopping pid ${workerPid} from .data/worker.pids`), refused.stderr);
  assert.ok(running(serverPid), 'the first checkout\'s server still runs');
  assert.ok(running(workerPid), 'the first checkout\'s worker still runs');
  assert.ok(await answers(address), 'and the server still answers');
  assert.ok(fs.existsSync(path.join(second, '.data', 'temporal.pid')), 'a pid file whose process runs is kept');

  // The first checkout's stop stops both (no TEMPORAL_ADDRESS needed: it finds its server by the address file).
  const stopped = await devScript(first, ['stop'], env);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.ok(stopped.stderr.includes(`stopped Temporal dev server (port ${port}, data .data/temporal.sqlite) (pid ${serverPid})`), stopped.stderr);
  assert.ok(stopped.stderr.includes(`stopped plan-runner worker (pid ${workerPid})`), stopped.stderr);
  assert.equal(running(serverPid), false, 'the server is gone');
  assert.equal(running(workerPid), false, 'the worker is gone');
  assert.equal(await answers(address), false, 'nothing answers at its address');
  assert.equal(fs.existsSync(path.join(first, '.data', 'temporal.pid')), false);

  // Now that the process is gone, the copy's stale pid file is removed.
  const stale = await devScript(second, ['stop'], env);
  assert.equal(stale.code, 0, stale.stderr);
  assert.ok(stale.stderr.includes(`removing stale pid file .data/temporal.pid (pid ${serverPid} is not running)`), stale.stderr);
  assert.equal(fs.existsSync(path.join(second, '.data', 'temporal.pid')), false);
  assert.equal(fs.existsSync(path.join(second, '.data', 'worker.pids')), false);
});

/** Where the script would find pg_ctl: PATH, then /usr/lib/postgresql/<version>/bin. */
function havePostgres(): boolean {
  const onPath = (process.env.PATH ?? '').split(':').some((dir) => dir && fs.existsSync(path.join(dir, 'pg_ctl')));
  const debian = fs.existsSync('/usr/lib/postgresql') && fs.readdirSync('/usr/lib/postgresql').some((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`));
  if (!onPath && !debian) return false;
  // As root the script runs PostgreSQL as the user postgres, which must exist.
  return process.getuid?.() !== 0 || fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((line) => line.startsWith('postgres:'));
}

test('stop and postgres start in a copy leave the original PostgreSQL alone (pg_ctl trusts postmaster.pid)', { skip: skip || (!havePostgres() && 'PostgreSQL is not installed'), timeout: 60_000 }, async () => {
  const pgPort = await freePort();
  // TEMPORAL_ADDRESS: a free port with nothing on it, never the shared server.
  const env = { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, PLAN_PG_PORT: String(pgPort) };

  const first = checkout('pg-first');
  const start = await devScript(first, ['postgres', 'start'], env);
  assert.equal(start.code, 0, start.stderr);
  const pgPid = readPid(path.join(first, '.data', 'postgres', 'postmaster.pid'));
  started.add(pgPid);

  const second = checkout('pg-second');
  fs.mkdirSync(path.join(second, '.data'));
  fs.cpSync(path.join(first, '.data', 'postgres'), path.join(second, '.data', 'postgres'), { recursive: true });

  const refused = await devScript(second, ['stop'], env);
  assert.equal(refused.code, 0, refused.stderr);
  assert.ok(refused.stderr.includes(`not stopping PostgreSQL pid ${pgPid} from .data/postgres/postmaster.pid: pid ${pgPid} is the PostgreSQL of ${path.join(first, '.data', 'postgres')}`), refused.stderr);
  assert.ok(running(pgPid), 'the first checkout\'s PostgreSQL still runs');

  const startCopy = await devScript(second, ['postgres', 'start'], env);
  assert.equal(startCopy.code, 1, startCopy.stderr);
  assert.ok(startCopy.stderr.includes('rm .data/postgres/postmaster.pid'), startCopy.stderr);
  assert.ok(running(pgPid));

  const stopped = await devScript(first, ['stop'], env);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.ok(stopped.stderr.includes(`stopped PostgreSQL (pid ${pgPid}`), stopped.stderr);
  assert.equal(running(pgPid), false);
});
