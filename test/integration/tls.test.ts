/**
 * TLS and mTLS for real: `temporal server start-dev` has no TLS options, so a TLS-terminating proxy
 * (Node's `tls.createServer`, ALPN h2) in front of the shared dev server plays a secured cluster;
 * gRPC over HTTP/2 passes through a byte proxy unchanged. Certificates are made with `openssl` for
 * this run (a CA, a server certificate for 127.0.0.1 and localhost, a client certificate).
 *
 * It checks that the client and the worker reach the proxy through a temporal.toml profile and
 * through TEMPORAL_* variables, that a missing CA, a wrong server name, TLS against a plain server
 * and plain gRPC against a TLS one each fail with a TemporalUnavailableError that says which, and
 * that a proxy demanding client certificates accepts the profile's and refuses a connection
 * without one. A tiny plan runs end to end with both client and worker on TLS.
 *
 * The proxies, the worker process, the temp directory and any run left open are cleaned up.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { NativeConnection } from '@temporalio/worker';
import { resolveConnectionSettings, type TemporalConnectionOptions } from '../../src/client/connection';
import { TemporalUnavailableError } from '../../src/client/errors';
import { PlanRunnerClient } from '../../src/client/plan-runner-client';
import { createPlanWorker } from '../../src/worker';
import {
  TEMPORAL_CONNECTION,
  closeAll,
  plan,
  registerTaskQueue,
  runId,
  startHarness,
  terminateOpenRuns,
  startWorkerProcess,
  testDelivery,
  workerStartupOutput,
  workflowBundle,
  type Harness,
} from './harness';

const OPENSSL = ['/usr/bin/openssl', 'openssl'].find((candidate) => {
  try {
    execFileSync(candidate, ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
// The proxy forwards plain bytes, so it needs a plain upstream: the dev server, not a secured cluster.
const skip = !OPENSSL ? 'openssl is not installed' : TEMPORAL_CONNECTION.description.tls ? 'TEMPORAL_* already point at a TLS cluster' : false;

/** A TLS-terminating TCP proxy to the dev server, counting the handshakes it completed. */
class TlsProxy {
  handshakes = 0;
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: tls.Server,
    readonly port: number,
  ) {}

  static async start(options: tls.TlsOptions, upstream: { host: string; port: number }): Promise<TlsProxy> {
    const server = tls.createServer({ ALPNProtocols: ['h2'], ...options });
    const proxy = await new Promise<TlsProxy>((resolve) => {
      server.listen(0, '127.0.0.1', () => resolve(new TlsProxy(server, (server.address() as net.AddressInfo).port)));
    });
    server.on('secureConnection', (client) => {
      proxy.handshakes++;
      const backend = net.connect(upstream.port, upstream.host);
      for (const socket of [client, backend]) {
        proxy.sockets.add(socket);
        socket.once('close', () => proxy.sockets.delete(socket));
      }
      client.on('error', () => backend.destroy());
      backend.on('error', () => client.destroy());
      client.pipe(backend).pipe(client);
    });
    // Failed handshakes are what several tests provoke.
    server.on('tlsClientError', () => undefined);
    server.on('connection', (socket) => {
      proxy.sockets.add(socket);
      socket.once('close', () => proxy.sockets.delete(socket));
    });
    return proxy;
  }

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

let dir: string;
let files: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
let proxy: TlsProxy;
let mtlsProxy: TlsProxy;
let h: Harness;
let workerProcess: ChildProcess | undefined;
const upstream = (() => {
  const match = /^(.*):(\d+)$/.exec(TEMPORAL_CONNECTION.address);
  return { host: match?.[1].replace(/^\[|\]$/g, '') ?? '127.0.0.1', port: Number(match?.[2] ?? 7233) };
})();
const namespace = TEMPORAL_CONNECTION.namespace;

/**
 * The environment without any TEMPORAL_* variable (the suite's TEMPORAL_ADDRESS would beat a
 * profile's address, as it should) and without the developer's own temporal.toml.
 */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_')));
  return { ...env, TEMPORAL_CONFIG_FILE: os.devNull, ...extra };
}

function openssl(...args: string[]): void {
  execFileSync(OPENSSL!, args, { cwd: dir, stdio: 'pipe' });
}

function makeCertificates(): typeof files {
  const at = (name: string) => path.join(dir, name);
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=plan-runner test CA',
    '-keyout', 'ca.key', '-out', 'ca.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name: string, cn: string, extensions: string) => {
    writeFileSync(at(`${name}.ext`), `[ext]\n${extensions}\n`);
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1',
      '-out', `${name}.pem`, '-extfile', `${name}.ext`, '-extensions', 'ext');
  };
  // rustls (the worker's TLS) insists on v3 certificates with a SAN, and a CA marked as one.
  leaf('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth');
  leaf('client', 'plan-runner test client', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth');
  return {
    ca: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
  };
}

function writeToml(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The profile the tests use: the proxy by IP, the test CA, and the certificate's DNS name. */
function profileFile(): string {
  return writeToml(
    'temporal.toml',
    `[profile.tls-proxy]
address = "127.0.0.1:${proxy.port}"
namespace = "${namespace}"

[profile.tls-proxy.tls]
server_ca_cert_path = "${files.ca}"
server_name = "localhost"

[profile.mtls]
address = "127.0.0.1:${mtlsProxy.port}"
namespace = "${namespace}"

[profile.mtls.tls]
server_ca_cert_path = "${files.ca}"
server_name = "localhost"
client_cert_path = "${files.clientCert}"
client_key_path = "${files.clientKey}"
`,
  );
}

/** What `PlanRunnerClient.connect` rejects with. */
async function connectFailure(options: TemporalConnectionOptions): Promise<TemporalUnavailableError> {
  try {
    const client = await PlanRunnerClient.connect({ connectTimeoutMs: 1_500, store: h.store, ...options });
    await client.close();
  } catch (error) {
    assert.ok(error instanceof TemporalUnavailableError, `a TemporalUnavailableError, not ${String(error)}`);
    return error;
  }
  assert.fail('the connection should have failed');
}

/** What the worker's connection (NativeConnection, through createPlanWorker) rejects with. */
async function workerFailure(options: TemporalConnectionOptions): Promise<TemporalUnavailableError> {
  try {
    const worker = await createPlanWorker({
      ...options,
      taskQueue: h.taskQueue,
      store: h.store,
      delivery: testDelivery(),
      workflowBundle: await workflowBundle(),
    });
    worker.shutdown();
    await worker.run();
  } catch (error) {
    assert.ok(error instanceof TemporalUnavailableError, `a TemporalUnavailableError, not ${String(error)}`);
    return error;
  }
  assert.fail('the worker should not have connected');
}

/** Runs test (d) started through its TLS client, on the queue `${h.taskQueue}-e2e` (the harness's client did not start them). */
const opened: string[] = [];
const e2eQueue = () => `${h.taskQueue}-e2e`;

describe('TLS connections', { skip }, () => {
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plan-runner-tls-'));
    files = makeCertificates();
    const { readFileSync } = await import('node:fs');
    const identity = { cert: readFileSync(files.serverCert), key: readFileSync(files.serverKey) };
    proxy = await TlsProxy.start(identity, upstream);
    mtlsProxy = await TlsProxy.start({ ...identity, requestCert: true, rejectUnauthorized: true, ca: readFileSync(files.ca) }, upstream);
    // A plain client on the dev server: a store, and a hand to terminate what a failed test left open.
    h = await startHarness({ withWorker: false });
  });

  after(async () => {
    // The same server behind the proxy: the harness's plain client closes what test (d) left open there.
    if (h) await terminateOpenRuns(h.client.client, e2eQueue(), opened);
    if (workerProcess && workerProcess.exitCode === null) {
      workerProcess.kill('SIGKILL');
      await once(workerProcess, 'exit');
    }
    await closeAll(
      () => h?.close(),
      () => proxy?.close(),
      () => mtlsProxy?.close(),
      () => dir && rmSync(dir, { recursive: true, force: true }),
    );
  });

  test('(a) a temporal.toml profile with the CA and server name: the client connects over TLS and lists runs', async () => {
    const before = proxy.handshakes;
    const client = await PlanRunnerClient.connect({
      configFile: profileFile(),
      profile: 'tls-proxy',
      env: cleanEnv(),
      taskQueue: h.taskQueue,
      store: h.store,
    });
    try {
      assert.equal(client.address, `127.0.0.1:${proxy.port}`);
      assert.equal(client.connectionDescription?.tls, true);
      assert.equal(client.connectionDescription?.serverName, 'localhost');
      assert.match(client.connectionDescription!.summary, /TLS on \(CA .*ca\.pem, server name localhost\), profile tls-proxy from .*temporal\.toml/);
      assert.ok(Array.isArray(await client.list({ limit: 1 })));
      const described = await client.client.workflowService.describeNamespace({ namespace });
      assert.equal(described.namespaceInfo?.name, namespace);
      assert.ok(proxy.handshakes > before, 'the traffic went through the TLS proxy');
    } finally {
      await client.close();
    }
  });

  test('(b) the same through TEMPORAL_* variables, for the client and for a worker process', async () => {
    const tlsEnv = {
      TEMPORAL_ADDRESS: `127.0.0.1:${proxy.port}`,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.ca,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    };
    const client = await PlanRunnerClient.connect({ env: cleanEnv(tlsEnv), store: h.store });
    try {
      assert.equal(client.connectionDescription?.tls, true);
      assert.equal((await client.client.workflowService.getSystemInfo({})).capabilities !== undefined, true);
    } finally {
      await client.close();
    }

    // dist/src/worker/main.js reads process.env like in production; the banner comes once it connected.
    const before = proxy.handshakes;
    workerProcess = await startWorkerProcess(`${h.taskQueue}-process`, { ...tlsEnv, TEMPORAL_CONFIG_FILE: os.devNull });
    assert.ok(proxy.handshakes > before, 'the worker process connected through the TLS proxy');
    assert.match(
      workerStartupOutput.get(workerProcess) ?? '',
      new RegExp(`plan-runner worker: task queue "[^"]+" on 127\\.0\\.0\\.1:${proxy.port} \\(namespace ${namespace}, TLS on \\(CA .*ca\\.pem, server name localhost\\)\\)`),
    );
    workerProcess.kill('SIGTERM');
    const [code] = await once(workerProcess, 'exit');
    assert.ok(code === 0 || code === null, `the worker stopped cleanly (exit ${code})`);
  });

  test('the CLI: --profile and --config-file, the --tls-* flags, and a refused handshake as exit 3 with its reason', async () => {
    const { main } = await import('../../src/client/cli');
    const run = async (args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await main(['node', 'plan-runner', ...args, '--task-queue', h.taskQueue], {
        stdout: (text) => void (stdout += text),
        stderr: (text) => void (stderr += text),
      });
      return { code, stdout, stderr };
    };
    // TEMPORAL_* variables win over a profile (docs/operations.md): the CLI runs without the suite's.
    const saved = { address: process.env.TEMPORAL_ADDRESS, tls: process.env.TEMPORAL_TLS };
    delete process.env.TEMPORAL_ADDRESS;
    delete process.env.TEMPORAL_TLS;
    try {
    const before = proxy.handshakes;
    const viaProfile = await run(['list', '--limit', '1', '--profile', 'tls-proxy', '--config-file', profileFile(), '--json']);
    assert.equal(viaProfile.code, 0, viaProfile.stderr);
    assert.ok(Array.isArray(JSON.parse(viaProfile.stdout.trim())));
    const viaFlags = await run(['list', '--limit', '1', '--address', `127.0.0.1:${proxy.port}`, '--tls-ca-path', files.ca, '--tls-server-name', 'localhost', '--json']);
    assert.equal(viaFlags.code, 0, viaFlags.stderr);
    assert.ok(proxy.handshakes > before, 'the CLI went through the TLS proxy');
    const noCa = await run(['list', '--address', `localhost:${proxy.port}`, '--tls', '--json']);
    assert.equal(noCa.code, 3, noCa.stderr);
    assert.equal(JSON.parse(noCa.stdout.trim()).reason, 'tls-certificate');
    assert.match(noCa.stderr, /certificate is not trusted/);
    } finally {
      if (saved.address !== undefined) process.env.TEMPORAL_ADDRESS = saved.address;
      if (saved.tls !== undefined) process.env.TEMPORAL_TLS = saved.tls;
    }
  });

  test('(c) without the CA the connection fails with a TemporalUnavailableError about the certificate', async () => {
    // localhost, not 127.0.0.1: grpc-js would send the IP as SNI, and Node warns about that.
    const noCa = { env: cleanEnv({ TEMPORAL_ADDRESS: `localhost:${proxy.port}`, TEMPORAL_TLS: 'true' }) };
    const client = await connectFailure(noCa);
    assert.equal(client.reason, 'tls-certificate');
    assert.equal(client.tls, true);
    assert.equal(client.code, 'unavailable');
    assert.match(client.message, /cannot reach Temporal at localhost:\d+: TLS handshake failed, the server's certificate is not trusted/);
    assert.match(client.message, /No server CA is set.*TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
    const worker = await workerFailure(noCa);
    assert.equal(worker.reason, 'tls-certificate');
    assert.match(worker.message, /certificate is not trusted/);
  });

  test('(c) a wrong server name, TLS against a plain server and plain gRPC against TLS each say which', async () => {
    const wrongName = await connectFailure({
      env: cleanEnv(),
      address: `127.0.0.1:${proxy.port}`,
      tls: { serverCaCertPath: files.ca, serverName: 'other.example' },
    });
    assert.equal(wrongName.reason, 'tls-server-name');
    assert.match(wrongName.message, /not issued for other\.example.*TEMPORAL_TLS_SERVER_NAME/);

    const tlsToPlain = await connectFailure({ env: cleanEnv(), address: TEMPORAL_CONNECTION.address, tls: { serverCaCertPath: files.ca, serverName: 'localhost' } });
    assert.equal(tlsToPlain.reason, 'tls-not-offered');
    assert.match(tlsToPlain.message, /TLS is on, but the server there does not speak TLS/);

    const plainToTls = await connectFailure({ env: cleanEnv(), address: `127.0.0.1:${proxy.port}` });
    assert.equal(plainToTls.reason, 'tls-required');
    assert.equal(plainToTls.tls, false);
    assert.match(plainToTls.message, /the server expects TLS, but TLS is off: turn it on/);
    assert.equal((await workerFailure({ env: cleanEnv(), address: `127.0.0.1:${proxy.port}` })).reason, 'tls-required');
  });

  test('(d) a worker connects over TLS through the profile and runs a plan end to end with a TLS client', async () => {
    const configFile = profileFile();
    const taskQueue = e2eQueue();
    registerTaskQueue(taskQueue);
    const worker = await createPlanWorker({
      configFile,
      profile: 'tls-proxy',
      env: cleanEnv(),
      taskQueue,
      store: h.store,
      delivery: testDelivery(),
      workflowBundle: await workflowBundle(),
    });
    const running = worker.run();
    const client = await PlanRunnerClient.connect({ configFile, profile: 'tls-proxy', env: cleanEnv(), taskQueue, store: h.store });
    try {
      const { runId: id } = await client.start(plan('tls-e2e', [{ id: 'only' }]), { runId: runId('tls-e2e') });
      opened.push(id);
      const outcome = await client.submitResult(id, { nodeId: 'only', structuredOutput: { ok: true } });
      assert.equal(outcome.runStatus, 'completed');
      assert.equal((await client.result(id)).status, 'completed');
    } finally {
      await client.close();
      worker.shutdown();
      await running;
    }
  });

  test('(e) mTLS: the profile\'s client certificate is accepted; without one the server ends the handshake', async () => {
    const configFile = profileFile();
    const settings = resolveConnectionSettings({ configFile, profile: 'mtls', env: cleanEnv() });
    assert.match(settings.description.summary, /client certificate .*client\.pem/);
    const native = await NativeConnection.connect(settings.nativeConnectionOptions);
    await native.close();
    const client = await PlanRunnerClient.connect({ connectionSettings: settings, store: h.store });
    await client.close();

    const withoutCert = await connectFailure({
      env: cleanEnv(),
      address: `127.0.0.1:${mtlsProxy.port}`,
      tls: { serverCaCertPath: files.ca, serverName: 'localhost' },
    });
    assert.equal(withoutCert.reason, 'tls-handshake');
    assert.match(withoutCert.message, /the server ended the TLS handshake .*it may require a client certificate \(mTLS\)/);
  });
});
