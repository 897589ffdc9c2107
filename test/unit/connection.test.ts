/**
 * Connection settings (src/client/connection.ts): precedence options > TEMPORAL_* variables > the
 * temporal.toml profile > defaults, TLS and API keys, and errors that name the file at fault. Every
 * test passes its own `env`, so neither the machine's variables nor its ~/.config are read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  DEFAULT_ADDRESS,
  connectionOptionsFromFlags,
  explainConnectFailure,
  resolveConnectionSettings,
  type TemporalConnectionOptions,
} from '../../src/client/connection';
import { TemporalConfigError, TemporalUnavailableError } from '../../src/client/errors';
import { PlanRunnerClient } from '../../src/client/plan-runner-client';

const dir = mkdtempSync(path.join(os.tmpdir(), 'plan-runner-connection-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file that passes for PEM (the module checks the BEGIN line; the bytes go to the SDK as they are). */
function pem(name: string, kind = 'CERTIFICATE'): string {
  const file = path.join(dir, name);
  writeFileSync(file, `-----BEGIN ${kind}-----\nMIIB${name}\n-----END ${kind}-----\n`);
  return file;
}
const CA = pem('ca.pem');
const OTHER_CA = pem('other-ca.pem');
const CLIENT_CERT = pem('client.pem');
const CLIENT_KEY = pem('client.key', 'PRIVATE KEY');

function toml(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

const CONFIG = toml(
  'temporal.toml',
  `
[profile.default]
address = "profile-host:7233"
namespace = "profile-ns"
api_key = "profile-key"

[profile.default.tls]
server_ca_cert_path = "${CA}"
server_name = "profile-name"

[profile.staging]
address = "staging-host:7233"
namespace = "staging-ns"

[profile.mtls]
address = "mtls-host:7233"

[profile.mtls.tls]
client_cert_path = "${CLIENT_CERT}"
client_key_path = "${CLIENT_KEY}"
`,
);

/** No HOME, no variables: nothing but what each test gives. */
function resolve(options: TemporalConnectionOptions = {}, env: Record<string, string> = {}) {
  return resolveConnectionSettings({ ...options, env });
}

function tlsOf(settings: ReturnType<typeof resolve>) {
  const tls = settings.connectionOptions.tls;
  return typeof tls === 'object' && tls ? tls : undefined;
}

describe('connection settings: precedence', () => {
  test('defaults: localhost:7233, namespace default, no TLS, no API key', () => {
    const settings = resolve();
    assert.equal(settings.address, DEFAULT_ADDRESS);
    assert.equal(settings.address, 'localhost:7233');
    assert.equal(settings.namespace, 'default');
    assert.equal(settings.connectionOptions.tls, undefined);
    assert.deepEqual(settings.connectionOptions, { address: 'localhost:7233' });
    assert.deepEqual(settings.nativeConnectionOptions, { address: 'localhost:7233' });
    assert.equal(settings.description.tls, false);
    assert.equal(settings.description.apiKey, false);
    assert.equal(settings.description.summary, 'localhost:7233 (namespace default, TLS off)');
  });

  test('defaultAddress is used only when nothing else names an address', () => {
    assert.equal(resolve({ defaultAddress: '127.0.0.1:7233' }).address, '127.0.0.1:7233');
    assert.equal(resolve({ defaultAddress: '127.0.0.1:7233' }, { TEMPORAL_ADDRESS: 'env:1' }).address, 'env:1');
  });

  test('the profile beats the defaults', () => {
    const settings = resolve({ configFile: CONFIG });
    assert.equal(settings.address, 'profile-host:7233');
    assert.equal(settings.namespace, 'profile-ns');
    assert.equal(settings.connectionOptions.apiKey, 'profile-key');
    assert.equal(tlsOf(settings)?.serverNameOverride, 'profile-name');
    assert.equal(settings.description.profile, 'default');
    assert.equal(settings.description.configFile, CONFIG);
  });

  test('TEMPORAL_* variables beat the profile, field by field', () => {
    const settings = resolve(
      { configFile: CONFIG },
      { TEMPORAL_ADDRESS: 'env-host:7233', TEMPORAL_API_KEY: 'env-key', TEMPORAL_TLS_SERVER_NAME: 'env-name' },
    );
    assert.equal(settings.address, 'env-host:7233');
    assert.equal(settings.namespace, 'profile-ns', 'a field the variables leave alone keeps the profile value');
    assert.equal(settings.connectionOptions.apiKey, 'env-key');
    assert.equal(tlsOf(settings)?.serverNameOverride, 'env-name');
    assert.deepEqual(Buffer.from(tlsOf(settings)!.serverRootCACertificate!).toString(), `-----BEGIN CERTIFICATE-----\nMIIBca.pem\n-----END CERTIFICATE-----\n`);
  });

  test('explicit options beat the variables and the profile', () => {
    const settings = resolve(
      {
        configFile: CONFIG,
        address: 'option-host:7233',
        namespace: 'option-ns',
        apiKey: 'option-key',
        tls: { serverName: 'option-name', serverCaCertPath: OTHER_CA },
      },
      {
        TEMPORAL_ADDRESS: 'env-host:7233',
        TEMPORAL_NAMESPACE: 'env-ns',
        TEMPORAL_API_KEY: 'env-key',
        TEMPORAL_TLS_SERVER_NAME: 'env-name',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: CA,
      },
    );
    assert.equal(settings.address, 'option-host:7233');
    assert.equal(settings.namespace, 'option-ns');
    assert.equal(settings.connectionOptions.apiKey, 'option-key');
    assert.equal(tlsOf(settings)?.serverNameOverride, 'option-name');
    assert.match(Buffer.from(tlsOf(settings)!.serverRootCACertificate!).toString(), /other-ca\.pem/);
    assert.equal(settings.description.serverCa, OTHER_CA);
  });

  test('an empty variable counts as unset', () => {
    const settings = resolve({ configFile: CONFIG }, { TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '' });
    assert.equal(settings.address, 'profile-host:7233');
    assert.equal(settings.namespace, 'profile-ns');
  });

  test('the profile: option > TEMPORAL_PROFILE > default', () => {
    assert.equal(resolve({ configFile: CONFIG }, { TEMPORAL_PROFILE: 'staging' }).address, 'staging-host:7233');
    assert.equal(resolve({ configFile: CONFIG, profile: 'mtls' }, { TEMPORAL_PROFILE: 'staging' }).address, 'mtls-host:7233');
    assert.equal(resolve({ configFile: CONFIG, profile: 'staging' }).description.profile, 'staging');
  });

  test('the file: configFile > TEMPORAL_CONFIG_FILE > the default file under the config directory', () => {
    const home = path.join(dir, 'xdg');
    mkdirSync(path.join(home, 'temporalio'), { recursive: true });
    writeFileSync(path.join(home, 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "home-host:7233"\n');
    const other = toml('other.toml', '[profile.default]\naddress = "other-host:7233"\n');
    // os.platform() decides the default directory; these variables cover Linux, macOS and Windows alike.
    const defaults = { XDG_CONFIG_HOME: home, HOME: path.join(dir, 'no-home'), APPDATA: home };
    if (os.platform() !== 'darwin') assert.equal(resolve({}, defaults).address, 'home-host:7233');
    assert.equal(resolve({}, { ...defaults, TEMPORAL_CONFIG_FILE: other }).address, 'other-host:7233');
    assert.equal(resolve({ configFile: CONFIG }, { ...defaults, TEMPORAL_CONFIG_FILE: other }).address, 'profile-host:7233');
  });

  test('a missing default file is no error; a file without profiles neither', () => {
    assert.equal(resolve({}, { HOME: path.join(dir, 'nobody'), XDG_CONFIG_HOME: path.join(dir, 'nobody') }).address, DEFAULT_ADDRESS);
    const comments = toml('comments.toml', '# nothing here yet\n');
    const settings = resolve({ configFile: comments }, { TEMPORAL_NAMESPACE: 'env-ns' });
    assert.equal(settings.namespace, 'env-ns');
    assert.equal(settings.description.profile, undefined);
  });
});

describe('connection settings: TLS and API keys', () => {
  test('an API key turns TLS on with the system CAs, and the key is never in the description', () => {
    const settings = resolve({ apiKey: 'sekrit-key-123' });
    assert.equal(settings.connectionOptions.tls, true);
    assert.equal(settings.nativeConnectionOptions.apiKey, 'sekrit-key-123');
    assert.equal(settings.description.tls, true);
    assert.equal(settings.description.serverCa, 'system');
    assert.equal(settings.description.apiKey, true);
    assert.doesNotMatch(JSON.stringify(settings.description), /sekrit/);
    assert.equal(settings.description.summary, 'localhost:7233 (namespace default, TLS on (system CAs), API key set)');
  });

  test('TEMPORAL_TLS=true alone turns TLS on; tls: false turns it off whatever else says', () => {
    assert.ok(resolve({}, { TEMPORAL_TLS: 'true' }).description.tls);
    const off = resolve({ configFile: CONFIG, tls: false });
    assert.equal(off.connectionOptions.tls, false);
    assert.equal(off.description.tls, false);
    assert.equal(resolve({ tls: { enabled: false, serverCaCertPath: CA } }).description.tls, false);
    assert.equal(resolve({}, { TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_CA_CERT_PATH: CA }).description.tls, false);
  });

  test('a CA path alone turns TLS on; mTLS reads the client pair', () => {
    const ca = resolve({}, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: CA });
    assert.ok(tlsOf(ca)?.serverRootCACertificate);
    assert.equal(tlsOf(ca)?.clientCertPair, undefined);
    const mtls = resolve({ configFile: CONFIG, profile: 'mtls' });
    assert.match(Buffer.from(tlsOf(mtls)!.clientCertPair!.crt).toString(), /client\.pem/);
    assert.match(Buffer.from(tlsOf(mtls)!.clientCertPair!.key).toString(), /PRIVATE KEY/);
    assert.equal(mtls.description.clientCert, CLIENT_CERT);
    assert.equal(mtls.description.summary, `mtls-host:7233 (namespace default, TLS on (system CAs, client certificate ${CLIENT_CERT}), profile mtls from ${CONFIG})`);
  });

  test('client and worker options agree', () => {
    const settings = resolve({ configFile: CONFIG });
    assert.deepEqual(settings.connectionOptions, settings.nativeConnectionOptions);
  });
});

describe('connection settings: errors name the file and what to fix', () => {
  function configError(options: TemporalConnectionOptions, env: Record<string, string> = {}): TemporalConfigError {
    try {
      resolve(options, env);
    } catch (error) {
      assert.ok(error instanceof TemporalConfigError, `a TemporalConfigError, not ${String(error)}`);
      assert.equal(error.code, 'setup');
      return error;
    }
    assert.fail('expected a TemporalConfigError');
  }

  test('bad TOML', () => {
    const bad = toml('bad.toml', '[profile.default\naddress = "x"\n');
    const error = configError({ configFile: bad });
    assert.equal(error.file, bad);
    assert.match(error.message, new RegExp(`the Temporal config file ${bad.replace(/[.\\]/g, '\\$&')} is not a valid temporal.toml \\(fix it, or point TEMPORAL_CONFIG_FILE / --config-file at another file\\): Invalid TOML document`));
  });

  test('a config file that was named but does not exist', () => {
    const missing = path.join(dir, 'missing.toml');
    assert.match(configError({ configFile: missing }).message, /cannot read the Temporal config file .*missing\.toml \(named by configFile \/ --config-file\): .*ENOENT.*create it, or fix the path/);
    assert.match(configError({}, { TEMPORAL_CONFIG_FILE: missing }).message, /missing\.toml \(named by TEMPORAL_CONFIG_FILE\)/);
  });

  test('a profile that is not in the file lists the ones that are', () => {
    const error = configError({ configFile: CONFIG, profile: 'prod' });
    assert.match(error.message, /has no profile "prod" \(named by profile \/ --profile\); its profiles: default, staging, mtls/);
    assert.match(configError({ configFile: CONFIG }, { TEMPORAL_PROFILE: 'prod' }).message, /named by TEMPORAL_PROFILE/);
  });

  test('a missing CA file names the file and the setting that named it', () => {
    const missing = path.join(dir, 'nope', 'ca.pem');
    const fromFile = configError({ configFile: toml('missing-ca.toml', `[profile.default.tls]\nserver_ca_cert_path = "${missing}"\n`) });
    assert.equal(fromFile.file, missing);
    assert.match(fromFile.message, /cannot read the TLS server CA certificate .*nope\/ca\.pem \(named by tls\.server_ca_cert_path in profile "default" of .*missing-ca\.toml\): ENOENT/);
    assert.match(configError({}, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: missing }).message, /named by TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
    assert.match(configError({ tls: { serverCaCertPath: missing } }).message, /named by tls\.serverCaCertPath \/ --tls-ca-path/);
  });

  test('a certificate that is not PEM', () => {
    const der = path.join(dir, 'ca.der');
    writeFileSync(der, Buffer.from([0x30, 0x82, 0x01, 0x0a]));
    assert.match(configError({ tls: { serverCaCertPath: der } }).message, /ca\.der .* is not a PEM certificate .*openssl x509 -inform der/);
    assert.match(configError({ tls: { clientCertPath: CLIENT_CERT, clientKeyPath: CA } }).message, /client private key .*ca\.pem .*is not a PEM private key/);
  });

  test('a client certificate without its key', () => {
    assert.match(
      configError({}, { TEMPORAL_TLS_CLIENT_CERT_PATH: CLIENT_CERT }).message,
      /mTLS needs both a client certificate and its private key, and the client private key is missing: set tls\.client_key_path .*TEMPORAL_TLS_CLIENT_KEY_PATH.*--tls-key-path/,
    );
  });

  test('a PlanRunnerClient with broken settings still builds (store reads need none) and fails on first Temporal use', () => {
    const bad = toml('broken.toml', 'not toml at all = = =\n');
    const client = new PlanRunnerClient({ configFile: bad, env: {}, address: '127.0.0.1:1' });
    assert.equal(client.address, '127.0.0.1:1');
    assert.equal(client.connectionDescription, undefined);
    assert.throws(() => client.client, TemporalConfigError);
    return client.close();
  });

  test('PlanRunnerClient.connect reports broken settings before connecting', async () => {
    const bad = toml('broken2.toml', '[[[\n');
    await assert.rejects(PlanRunnerClient.connect({ configFile: bad, env: {} }), (error: unknown) => {
      assert.ok(error instanceof TemporalConfigError);
      assert.match(error.message, /broken2\.toml/);
      return true;
    });
  });
});

describe('connectionOptionsFromFlags', () => {
  test('flags not given stay out, so the variables and the profile still apply', () => {
    assert.deepEqual(connectionOptionsFromFlags({}), {});
    assert.deepEqual(connectionOptionsFromFlags({ address: 'a:1', tls: undefined, apiKey: undefined }), { address: 'a:1' });
    const settings = resolve(connectionOptionsFromFlags({ namespace: 'flag-ns' }), { TEMPORAL_ADDRESS: 'env:1' });
    assert.equal(settings.address, 'env:1');
    assert.equal(settings.namespace, 'flag-ns');
  });

  test('--tls, --no-tls and the TLS paths', () => {
    assert.deepEqual(connectionOptionsFromFlags({ tls: true }), { tls: true });
    assert.deepEqual(connectionOptionsFromFlags({ tls: false }), { tls: false });
    assert.deepEqual(connectionOptionsFromFlags({ tlsCaPath: CA, tlsServerName: 'n' }), { tls: { serverCaCertPath: CA, serverName: 'n' } });
    assert.deepEqual(connectionOptionsFromFlags({ tls: false, tlsCaPath: CA }), { tls: { enabled: false, serverCaCertPath: CA } });
    const mtls = resolve(
      connectionOptionsFromFlags({ profile: 'staging', configFile: CONFIG, apiKey: 'k', tlsCertPath: CLIENT_CERT, tlsKeyPath: CLIENT_KEY }),
    );
    assert.equal(mtls.address, 'staging-host:7233');
    assert.equal(mtls.description.clientCert, CLIENT_CERT);
    assert.equal(mtls.description.apiKey, true);
  });
});

describe('explainConnectFailure', () => {
  test('a refused local port keeps the dev-server hint', async () => {
    const settings = resolve({ address: '127.0.0.1:1' });
    const error = await explainConnectFailure(settings, new Error('Failed to connect before the deadline'));
    assert.ok(error instanceof TemporalUnavailableError);
    assert.equal(error.reason, 'unreachable');
    assert.equal(error.tls, false);
    // The same words as TemporalUnavailableError's own, plus what the probe saw.
    assert.equal(
      error.message,
      `${new TemporalUnavailableError('127.0.0.1:1').message} (connection refused)`,
    );
    assert.match(error.message, /^cannot reach Temporal at 127\.0\.0\.1:1: is the server running\? TEMPORAL_ADDRESS=127\.0\.0\.1:1 \.\/temporal-dev\.sh server/);
  });

  test('a refused port with TLS on says so, and points at the address settings', async () => {
    const error = await explainConnectFailure(resolve({ address: '127.0.0.1:1', tls: true }), new Error('x'));
    assert.equal(error.reason, 'unreachable');
    assert.match(error.message, /cannot reach Temporal at 127\.0\.0\.1:1 \(TLS\): connection refused: check the address/);
  });

  test('refused credentials are told apart from an unreachable server', async () => {
    const denied = Object.assign(new Error('16 UNAUTHENTICATED: bad key'), { code: 16 });
    const error = await explainConnectFailure(resolve({ address: '127.0.0.1:1', apiKey: 'k' }), denied);
    assert.equal(error.reason, 'unauthenticated');
    assert.match(error.message, /refused the credentials .*TEMPORAL_API_KEY/);
  });
});
