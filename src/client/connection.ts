/**
 * Where Temporal is and how to reach it. One function turns the caller's options (code, CLI flags),
 * the `TEMPORAL_*` environment variables and a `temporal.toml` profile into what
 * `Connection.connect` (client) and `NativeConnection.connect` (worker) take, the namespace, and a
 * description that is safe to print. It reads the same file and variables as the `temporal` CLI,
 * through `@temporalio/envconfig`, so one profile serves both (docs/operations.md#temporal-clusters).
 *
 * Precedence, field by field: explicit options > `TEMPORAL_*` variables > the profile > defaults.
 *
 * This module never imports the worker SDK at run time (the client and most CLI commands must not
 * load it): the worker passes `nativeConnectionOptions` to `NativeConnection.connect` itself.
 */
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { ConnectionOptions } from '@temporalio/client';
import {
  loadClientConfig,
  loadClientConfigProfile,
  toClientOptions,
  type ClientConfigProfile,
  type ClientConfigTLS,
  type ConfigDataSource,
} from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { TemporalConfigError, TemporalUnavailableError, startHint, type TemporalUnavailableReason } from './errors';

/** The address when nothing else names one: the local dev server (`./temporal-dev.sh server`). */
export const DEFAULT_ADDRESS = 'localhost:7233';
/** The namespace when nothing else names one. */
export const DEFAULT_NAMESPACE = 'default';
/** The profile read from the config file when neither `profile` nor `TEMPORAL_PROFILE` names one. */
export const DEFAULT_PROFILE = 'default';

/**
 * TLS settings given explicitly (CLI flags `--tls`, `--tls-ca-path`, `--tls-cert-path`,
 * `--tls-key-path`, `--tls-server-name`). Each field overrides the same field from the environment
 * and the profile; fields left out keep theirs. Paths are read relative to the working directory.
 */
export interface TlsOptions {
  /** `false` turns TLS off whatever else says; `true` turns it on. Any path or name given implies `true`. */
  enabled?: boolean;
  /** PEM file of the CA that issued the server's certificate; without it the system's CAs are trusted. */
  serverCaCertPath?: string;
  /** PEM file of the client certificate, for mTLS (with `clientKeyPath`). */
  clientCertPath?: string;
  /** PEM file of the client certificate's private key, for mTLS (with `clientCertPath`). */
  clientKeyPath?: string;
  /** The name the server's certificate must carry, when it is not the host in the address. */
  serverName?: string;
}

/**
 * What a caller may set. Everything left out comes from the `TEMPORAL_*` variables, then from the
 * profile, then from the defaults.
 */
export interface TemporalConnectionOptions {
  /** `host:port` of the Temporal frontend. Else `TEMPORAL_ADDRESS`, the profile's `address`, `defaultAddress`. */
  address?: string;
  /** Else `TEMPORAL_NAMESPACE`, the profile's `namespace`, `default`. */
  namespace?: string;
  /** An API key (Temporal Cloud); sent as a bearer token and turns TLS on. Else `TEMPORAL_API_KEY`, the profile's `api_key`. */
  apiKey?: string;
  /** `true`/`false` to force TLS on or off, or explicit TLS settings. */
  tls?: boolean | TlsOptions;
  /** The profile to read from the config file. Else `TEMPORAL_PROFILE`, else `default`. */
  profile?: string;
  /**
   * The TOML config file. Else `TEMPORAL_CONFIG_FILE`, else the `temporal` CLI's default
   * (`~/.config/temporalio/temporal.toml` on Linux). A file named here or by the variable must
   * exist; the default file may be absent.
   */
  configFile?: string;
  /** The address when nothing else names one. Default `DEFAULT_ADDRESS` (`localhost:7233`). */
  defaultAddress?: string;
  /** The environment to read instead of `process.env` (tests, embedding). */
  env?: Record<string, string | undefined>;
}

/**
 * The connection flags of a command line, named as the `temporal` CLI names them and as commander
 * camel-cases them: `--address`, `--namespace`, `--profile`, `--config-file`, `--api-key`, `--tls` /
 * `--no-tls`, `--tls-ca-path`, `--tls-cert-path`, `--tls-key-path`, `--tls-server-name`. Flags not
 * given must be `undefined` (no commander `.default()` or `.env()`), or they would hide the
 * variables and the profile.
 */
export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  profile?: string;
  configFile?: string;
  apiKey?: string;
  tls?: boolean;
  tlsCaPath?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsServerName?: string;
}

/** Turn command-line flags into `TemporalConnectionOptions`, leaving out every flag not given. */
export function connectionOptionsFromFlags(flags: ConnectionFlags): TemporalConnectionOptions {
  const tlsFields = withoutUndefined({
    serverCaCertPath: flags.tlsCaPath,
    clientCertPath: flags.tlsCertPath,
    clientKeyPath: flags.tlsKeyPath,
    serverName: flags.tlsServerName,
  });
  const tlsOption: TemporalConnectionOptions['tls'] =
    Object.keys(tlsFields).length > 0 ? withoutUndefined({ enabled: flags.tls, ...tlsFields }) : flags.tls;
  return withoutUndefined({
    address: flags.address,
    namespace: flags.namespace,
    profile: flags.profile,
    configFile: flags.configFile,
    apiKey: flags.apiKey,
    tls: tlsOption,
  });
}

/** The subset of the client's `ConnectionOptions` that this module decides (add `connectTimeout` yourself). */
export type ClientConnectionOptions = Pick<ConnectionOptions, 'address' | 'tls' | 'apiKey' | 'metadata'>;

/** How the connection is set up, without secrets: safe to log and to print. */
export interface ConnectionDescription {
  address: string;
  namespace: string;
  /** Whether the connection uses TLS. */
  tls: boolean;
  /** With TLS: the CA file trusted for the server, `inline` (PEM given as data), or `system` (the default CAs). */
  serverCa?: string;
  /** With TLS: the name the server's certificate is checked against, when it is not the address's host. */
  serverName?: string;
  /** With mTLS: the client certificate file, or `inline`. */
  clientCert?: string;
  /** Whether an API key is sent. The key itself is never part of a description. */
  apiKey: boolean;
  /** The config file that was read, if one was. */
  configFile?: string;
  /** The profile taken from it, if the file has it. */
  profile?: string;
  /** All of the above on one line, e.g. `localhost:7233 (namespace default, TLS off)`. */
  summary: string;
}

/** Everything needed to connect, resolved from options, environment, profile and defaults. */
export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  /** For `Connection.connect` / `Connection.lazy` of `@temporalio/client`. */
  connectionOptions: ClientConnectionOptions;
  /** For `NativeConnection.connect` of `@temporalio/worker`. */
  nativeConnectionOptions: NativeConnectionOptions;
  description: ConnectionDescription;
}

/** The three files a TLS profile can name, with the words and names people know them by. */
const TLS_FILES = [
  {
    field: 'serverCACert',
    option: 'serverCaCertPath',
    toml: 'server_ca_cert_path',
    env: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
    flag: '--tls-ca-path',
    what: 'server CA certificate',
    pem: 'CERTIFICATE',
  },
  {
    field: 'clientCert',
    option: 'clientCertPath',
    toml: 'client_cert_path',
    env: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
    flag: '--tls-cert-path',
    what: 'client certificate',
    pem: 'CERTIFICATE',
  },
  {
    field: 'clientKey',
    option: 'clientKeyPath',
    toml: 'client_key_path',
    env: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
    flag: '--tls-key-path',
    what: 'client private key',
    pem: 'PRIVATE KEY',
  },
] as const;

/**
 * Resolve the connection settings. Synchronous and offline: it reads the config file and the TLS
 * files but connects to nothing. Throws `TemporalConfigError`, naming the file and what to fix, when
 * the config file cannot be read or parsed, the profile is missing, or a TLS file is missing or
 * not PEM.
 */
export function resolveConnectionSettings(options: TemporalConnectionOptions = {}): TemporalConnectionSettings {
  const env = usableEnv(options.env ?? process.env);
  const file = configFileLocation(options, env);
  const text = file ? readConfigFile(file) : undefined;
  const requested = options.profile ?? env.TEMPORAL_PROFILE;
  const profileName = requested ?? DEFAULT_PROFILE;
  const where = text !== undefined && file ? ` of ${file.path}` : '';

  // Parse once on its own, so a syntax error is reported against the file and a missing profile
  // can list the ones that are there.
  let known: string[] = [];
  if (text !== undefined && file) {
    try {
      known = Object.keys(loadClientConfig({ configSource: { data: text }, overrideEnvVars: env }).profiles);
    } catch (error) {
      // envconfig 1.24 fails with a TypeError on a valid file that has no [profile.*] table at all
      // (only comments, say); that file simply has no profiles. Syntax errors are TomlErrors.
      if (!(error instanceof TypeError)) {
        throw new TemporalConfigError(
          // The hint first: smol-toml's message ends with a multi-line excerpt of the file.
          `the Temporal config file ${file.path} is not a valid temporal.toml ` +
            `(fix it, or point TEMPORAL_CONFIG_FILE / --config-file at another file): ${messageOf(error)}`,
          { cause: error, file: file.path },
        );
      }
    }
  }
  if (requested !== undefined && !known.includes(requested)) {
    const from = options.profile !== undefined ? 'profile / --profile' : 'TEMPORAL_PROFILE';
    throw new TemporalConfigError(
      text !== undefined && file
        ? `the Temporal config file ${file.path} has no profile "${requested}" (named by ${from}); ` +
            (known.length ? `its profiles: ${known.join(', ')}` : 'it has no [profile.NAME] table')
        : `profile "${requested}" (named by ${from}) needs a Temporal config file, and there is none ` +
            `(${file ? `${file.path} does not exist` : 'no HOME to find one in'}): create it, or set TEMPORAL_CONFIG_FILE / --config-file`,
      { file: file?.path },
    );
  }

  let profile: ClientConfigProfile;
  try {
    // envconfig applies the TEMPORAL_* variables over the profile, field by field.
    profile = loadClientConfigProfile(
      known.includes(profileName)
        ? { profile: profileName, configSource: { data: text ?? '' }, overrideEnvVars: env }
        : // No file, or the default profile is not in it: the variables alone (envconfig would
          // otherwise go looking for the default file itself, or trip over a file without profiles).
          { disableFile: true, overrideEnvVars: env },
    );
  } catch (error) {
    throw new TemporalConfigError(
      `conflicting Temporal connection settings in profile "${profileName}"${where} and the TEMPORAL_* variables: ${messageOf(error)}`,
      { cause: error, file: file?.path },
    );
  }

  applyOptions(profile, options);
  const describedFiles = readTlsFiles(profile, options, env, `profile "${profileName}"${where}`);
  if (profile.tls && !profile.tls.disabled && Boolean(profile.tls.clientCert) !== Boolean(profile.tls.clientKey)) {
    const missing = profile.tls.clientCert ? TLS_FILES[2] : TLS_FILES[1];
    throw new TemporalConfigError(
      `mTLS needs both a client certificate and its private key, and the ${missing.what} is missing: ` +
        `set tls.${missing.toml} in the profile, ${missing.env}, or ${missing.flag}`,
      { file: file?.path },
    );
  }

  // envconfig decides the SDK's options (TLS on for an API key, TLSConfig from the profile), so the
  // behaviour is the temporal CLI's and stays so as the SDK moves.
  const connect = toClientOptions(profile);
  const address = connect.connectionOptions.address ?? options.defaultAddress ?? DEFAULT_ADDRESS;
  const namespace = connect.namespace ?? DEFAULT_NAMESPACE;
  const common = withoutUndefined({
    address,
    tls: connect.connectionOptions.tls,
    apiKey: connect.connectionOptions.apiKey,
    metadata: connect.connectionOptions.metadata,
  });
  const tlsConfig = common.tls;
  const tlsOn = Boolean(tlsConfig);
  const description: Omit<ConnectionDescription, 'summary'> = withoutUndefined({
    address,
    namespace,
    tls: tlsOn,
    serverCa: tlsOn ? (describedFiles.serverCACert ?? 'system') : undefined,
    serverName: tlsConfig && typeof tlsConfig === 'object' ? tlsConfig.serverNameOverride : undefined,
    clientCert: tlsOn ? describedFiles.clientCert : undefined,
    apiKey: common.apiKey !== undefined,
    configFile: text !== undefined ? file?.path : undefined,
    profile: text !== undefined && known.includes(profileName) ? profileName : undefined,
  });
  return {
    address,
    namespace,
    connectionOptions: { ...common },
    nativeConnectionOptions: { ...common },
    description: { ...description, summary: summarize(description) },
  };
}

/**
 * The address and namespace from the options and the environment alone, without reading any file:
 * for messages when `resolveConnectionSettings` failed or is not needed (a client given ready-made).
 */
export function namesWithoutFiles(options: TemporalConnectionOptions = {}): { address: string; namespace: string } {
  const env = usableEnv(options.env ?? process.env);
  return {
    address: options.address ?? env.TEMPORAL_ADDRESS ?? options.defaultAddress ?? DEFAULT_ADDRESS,
    namespace: options.namespace ?? env.TEMPORAL_NAMESPACE ?? DEFAULT_NAMESPACE,
  };
}

/**
 * Explain why connecting failed. The SDK's own error often says only "Failed to connect before the
 * deadline", so this probes the address with Node's `net` and `tls` (the same CA, client
 * certificate and server name) to tell a server that is down from a certificate that is not trusted,
 * a plain server from a TLS one, and a handshake the server refused. Never throws.
 */
export async function explainConnectFailure(
  settings: TemporalConnectionSettings,
  error: unknown,
  options: { probeTimeoutMs?: number } = {},
): Promise<TemporalUnavailableError> {
  const { address, description } = settings;
  const text = messageOf(error);
  const transport = description.tls ? 'TLS' : 'plain gRPC, no TLS';
  const make = (reason: TemporalUnavailableReason, message: string) =>
    new TemporalUnavailableError(address, message, { cause: error, reason, tls: description.tls });

  if (isAuthError(error)) {
    return make(
      'unauthenticated',
      `Temporal at ${address} refused the credentials (${text}): check the API key (TEMPORAL_API_KEY, api_key in the profile, --api-key), ` +
        `the client certificate, and that they grant access to namespace ${settings.namespace}`,
    );
  }
  const target = parseAddress(address);
  if (!target) {
    return make('unreachable', `cannot reach Temporal at ${address}: the address is not host:port (${text})`);
  }
  const result = await probe(target, settings, options.probeTimeoutMs ?? 2_000);
  const prefix = `cannot reach Temporal at ${address}`;
  switch (result.kind) {
    case 'tcp': {
      const local = isLoopback(target.host);
      return make(
        'unreachable',
        local && !description.tls
          ? `${prefix}: ${startHint(address)} (${result.detail})`
          : `${prefix} (${transport}): ${result.detail}: check the address (--address, TEMPORAL_ADDRESS or the profile's address) and that the server is up`,
      );
    }
    case 'tls-certificate':
      return make(
        'tls-certificate',
        `${prefix}: TLS handshake failed, the server's certificate is not trusted (${result.detail}). ` +
          (description.serverCa && description.serverCa !== 'system'
            ? `The CA ${description.serverCa} did not issue it: `
            : 'No server CA is set, so only the system CAs are trusted: ') +
          `set the CA certificate that issued the server's (tls.server_ca_cert_path in the profile, TEMPORAL_TLS_SERVER_CA_CERT_PATH, or --tls-ca-path)`,
      );
    case 'tls-server-name':
      return make(
        'tls-server-name',
        `${prefix}: TLS handshake failed, the server's certificate is trusted but not issued for ` +
          `${description.serverName ?? target.host} (${result.detail}): connect to a name on the certificate, ` +
          `or set the name to check (tls.server_name in the profile, TEMPORAL_TLS_SERVER_NAME, or --tls-server-name)`,
      );
    case 'tls-not-offered':
      return make(
        'tls-not-offered',
        `${prefix}: TLS is on, but the server there does not speak TLS (${result.detail}): ` +
          `use its TLS port, or turn TLS off (TEMPORAL_TLS=false, disabled = true in the profile's tls table, or no TLS options)`,
      );
    case 'tls-handshake':
      return make(
        'tls-handshake',
        `${prefix}: the server ended the TLS handshake (${result.detail}): ` +
          (description.clientCert
            ? `it may not accept the client certificate ${description.clientCert}`
            : 'it may require a client certificate (mTLS): set tls.client_cert_path and tls.client_key_path in the profile, ' +
              'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or --tls-cert-path and --tls-key-path'),
      );
    case 'tls-required':
      return make(
        'tls-required',
        `${prefix}: the server expects TLS, but TLS is off: turn it on (TEMPORAL_TLS=true, a tls table in the profile, or --tls) ` +
          `and set its CA certificate if it is a private one (TEMPORAL_TLS_SERVER_CA_CERT_PATH or --tls-ca-path)`,
      );
    case 'ok':
      return make('unknown', `${prefix} (${transport}): ${text}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Resolution helpers

/**
 * The environment as envconfig should see it. An empty `TEMPORAL_ADDRESS=` means "unset" to people
 * (and to the shell scripts that export it empty), not "the empty address"; only gRPC metadata
 * variables keep their empty values, which envconfig reads as "remove this header".
 */
function usableEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (value === '' && !key.startsWith('TEMPORAL_GRPC_META_')) continue;
    out[key] = value;
  }
  return out;
}

/** Which config file to read, and, if someone named it explicitly, who (so a missing one is an error). */
function configFileLocation(
  options: TemporalConnectionOptions,
  env: Record<string, string>,
): { path: string; namedBy?: string } | undefined {
  if (options.configFile !== undefined) return { path: path.resolve(options.configFile), namedBy: 'configFile / --config-file' };
  if (env.TEMPORAL_CONFIG_FILE !== undefined) return { path: path.resolve(env.TEMPORAL_CONFIG_FILE), namedBy: 'TEMPORAL_CONFIG_FILE' };
  const dir = userConfigDir(env);
  return dir === undefined ? undefined : { path: path.join(dir, 'temporalio', 'temporal.toml') };
}

/**
 * The directory the `temporal` CLI keeps its config in. Mirrors envconfig's own lookup (which it
 * does not export) so that errors can name the file that was read.
 */
function userConfigDir(env: Record<string, string>): string | undefined {
  switch (os.platform()) {
    case 'win32':
      return env.APPDATA || undefined;
    case 'darwin':
      return env.HOME ? path.join(env.HOME, 'Library', 'Application Support') : undefined;
    default: {
      const xdg = env.XDG_CONFIG_HOME;
      if (xdg) return path.isAbsolute(xdg) ? xdg : undefined;
      return env.HOME ? path.join(env.HOME, '.config') : undefined;
    }
  }
}

/** The file's text; `undefined` for an absent default file (most machines have none). */
function readConfigFile(file: { path: string; namedBy?: string }): string | undefined {
  try {
    return readFileSync(file.path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && file.namedBy === undefined) return undefined;
    const named = file.namedBy ? ` (named by ${file.namedBy})` : '';
    throw new TemporalConfigError(
      `cannot read the Temporal config file ${file.path}${named}: ${messageOf(error)}` +
        ((error as NodeJS.ErrnoException).code === 'ENOENT' ? ': create it, or fix the path' : ''),
      { cause: error, file: file.path },
    );
  }
}

/** Explicit options win over whatever the environment and the profile said. */
function applyOptions(profile: ClientConfigProfile, options: TemporalConnectionOptions): void {
  if (options.address !== undefined) profile.address = options.address;
  if (options.namespace !== undefined) profile.namespace = options.namespace;
  if (options.apiKey !== undefined) profile.apiKey = options.apiKey;
  const given = options.tls;
  if (given === undefined) return;
  if (given === false || (typeof given === 'object' && given.enabled === false)) {
    profile.tls = { ...profile.tls, disabled: true };
    return;
  }
  const tlsConfig: ClientConfigTLS = { ...profile.tls, disabled: false };
  if (typeof given === 'object') {
    for (const spec of TLS_FILES) {
      const value = given[spec.option];
      if (value !== undefined) tlsConfig[spec.field] = { path: value };
    }
    if (given.serverName !== undefined) tlsConfig.serverName = given.serverName;
  }
  profile.tls = tlsConfig;
}

/**
 * Read the TLS files now, replacing each path by its contents, so that a missing or unreadable file
 * is reported with the setting that named it (envconfig would throw a bare ENOENT later). Returns
 * how each file is described (its path, or `inline`).
 */
function readTlsFiles(
  profile: ClientConfigProfile,
  options: TemporalConnectionOptions,
  env: Record<string, string>,
  profileWhere: string,
): Partial<Record<'serverCACert' | 'clientCert' | 'clientKey', string>> {
  const described: Partial<Record<'serverCACert' | 'clientCert' | 'clientKey', string>> = {};
  const tlsConfig = profile.tls;
  if (!tlsConfig || tlsConfig.disabled) return described;
  const explicit = typeof options.tls === 'object' ? options.tls : undefined;
  for (const spec of TLS_FILES) {
    const source: ConfigDataSource | undefined = tlsConfig[spec.field];
    if (!source) continue;
    if (!('path' in source)) {
      described[spec.field] = 'inline';
      continue;
    }
    const file = path.resolve(source.path);
    const namedBy =
      explicit?.[spec.option] !== undefined
        ? `tls.${spec.option} / ${spec.flag}`
        : env[spec.env] !== undefined
          ? spec.env
          : `tls.${spec.toml} in ${profileWhere}`;
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (error) {
      throw new TemporalConfigError(`cannot read the TLS ${spec.what} ${file} (named by ${namedBy}): ${messageOf(error)}`, {
        cause: error,
        file,
      });
    }
    // gRPC and rustls want PEM; a DER file or a swapped cert and key would otherwise fail deep in the
    // handshake with a message that names neither the file nor the setting.
    const isKey = spec.pem === 'PRIVATE KEY';
    const pemLine = isKey ? /-----BEGIN [A-Z ]*PRIVATE KEY-----/ : /-----BEGIN CERTIFICATE-----/;
    if (!pemLine.test(data.toString('latin1'))) {
      throw new TemporalConfigError(
        `the TLS ${spec.what} ${file} (named by ${namedBy}) is not a PEM ${isKey ? 'private key' : 'certificate'} ` +
          `(no "-----BEGIN ${isKey ? '… PRIVATE KEY' : 'CERTIFICATE'}-----" line): point the setting at the PEM file` +
          (isKey ? '' : ', or convert a DER file with openssl x509 -inform der -in FILE -out FILE.pem'),
        { file },
      );
    }
    tlsConfig[spec.field] = { data: new Uint8Array(data) };
    described[spec.field] = file;
  }
  return described;
}

/** One line for people: address, namespace, TLS, API key, and where the settings came from. */
function summarize(description: Omit<ConnectionDescription, 'summary'>): string {
  const parts = [`namespace ${description.namespace}`];
  if (description.tls) {
    const details = [
      description.serverCa === 'system' ? 'system CAs' : `CA ${description.serverCa}`,
      description.serverName ? `server name ${description.serverName}` : undefined,
      description.clientCert ? `client certificate ${description.clientCert}` : undefined,
    ].filter(Boolean);
    parts.push(`TLS on (${details.join(', ')})`);
  } else {
    parts.push('TLS off');
  }
  if (description.apiKey) parts.push('API key set');
  // A file without the profile contributed nothing worth a mention.
  if (description.configFile && description.profile) parts.push(`profile ${description.profile} from ${description.configFile}`);
  return `${description.address} (${parts.join(', ')})`;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// Probing a failed address

type ProbeResult =
  | { kind: 'ok' }
  | { kind: 'tcp'; detail: string }
  | { kind: 'tls-certificate' | 'tls-server-name' | 'tls-not-offered' | 'tls-handshake'; detail: string }
  | { kind: 'tls-required' };

/** Node's codes for a certificate chain it does not trust. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
]);

function parseAddress(address: string): { host: string; port: number } | undefined {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:[\]]+):(\d+)$/.exec(address);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port > 0 && port < 65536 ? { host: match[1], port } : undefined;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** gRPC UNAUTHENTICATED (16) or PERMISSION_DENIED (7), from grpc-js or from the native core. */
function isAuthError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (code === 16 || code === 7) return true;
  return /\b(Unauthenticated|PermissionDenied|permission denied|unauthorized)\b/i.test(messageOf(error));
}

async function probe(
  target: { host: string; port: number },
  settings: TemporalConnectionSettings,
  timeoutMs: number,
): Promise<ProbeResult> {
  const tcp = await tcpProbe(target, timeoutMs);
  if (tcp) return { kind: 'tcp', detail: tcp };
  const tlsConfig = settings.connectionOptions.tls;
  if (!tlsConfig) {
    // Plain gRPC connected at TCP level but failed: does the server want TLS?
    const handshake = await tlsProbe(target, {}, false, timeoutMs);
    return handshake.ok ? { kind: 'tls-required' } : { kind: 'ok' };
  }
  const config = typeof tlsConfig === 'object' ? tlsConfig : {};
  const handshake = await tlsProbe(
    target,
    {
      ca: config.serverRootCACertificate ? Buffer.from(config.serverRootCACertificate) : undefined,
      cert: config.clientCertPair ? Buffer.from(config.clientCertPair.crt) : undefined,
      key: config.clientCertPair ? Buffer.from(config.clientCertPair.key) : undefined,
      serverName: config.serverNameOverride,
    },
    true,
    timeoutMs,
  );
  if (handshake.ok) return { kind: 'ok' };
  const { code, detail } = handshake;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { kind: 'tls-server-name', detail };
  if (code && UNTRUSTED.has(code)) return { kind: 'tls-certificate', detail };
  if (/wrong version number|packet length too long|unknown protocol|http request/i.test(detail)) {
    return { kind: 'tls-not-offered', detail };
  }
  return { kind: 'tls-handshake', detail };
}

/** `undefined` when a TCP connection opens; else what went wrong, in words. */
function tcpProbe(target: { host: string; port: number }, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const done = (result: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const words: Record<string, string> = {
        ECONNREFUSED: 'connection refused',
        ENOTFOUND: `host ${target.host} not found`,
        EAI_AGAIN: `host ${target.host} not found (DNS did not answer)`,
        EHOSTUNREACH: 'host unreachable',
        ENETUNREACH: 'network unreachable',
        ETIMEDOUT: 'connection timed out',
      };
      done(words[error.code ?? ''] ?? error.message);
    });
  });
}

/**
 * A TLS handshake like gRPC's (ALPN h2, the same CA, client pair and server name). After it
 * completes, waits a moment: with TLS 1.3 a server rejects a (missing) client certificate only
 * after the client thinks the handshake is done.
 */
function tlsProbe(
  target: { host: string; port: number },
  config: { ca?: Buffer; cert?: Buffer; key?: Buffer; serverName?: string },
  verify: boolean,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; code?: string; detail: string }> {
  return new Promise((resolve) => {
    // SNI must be a host name: Node warns (DEP0123) when it is given an IP address.
    const servername = config.serverName ?? (net.isIP(target.host) ? undefined : target.host);
    const socket = tls.connect({
      host: target.host,
      port: target.port,
      ca: config.ca,
      cert: config.cert,
      key: config.key,
      servername,
      ALPNProtocols: ['h2'],
      rejectUnauthorized: verify,
    });
    let settled = false;
    let secured = false;
    const done = (result: { ok: true } | { ok: false; code?: string; detail: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ ok: false, detail: `no TLS answer within ${timeoutMs} ms` }), timeoutMs);
    socket.on('data', () => undefined);
    socket.once('secureConnect', () => {
      secured = true;
      setTimeout(() => done({ ok: true }), 250);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const detail = error.message.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:/, '').replace(/:\.\.\/deps\/.*$/s, '').trim();
      done({ ok: false, code: error.code, detail: error.code && !/^ERR_SSL/.test(error.code) ? `${error.code}: ${detail}` : detail });
    });
    socket.once('close', () =>
      done({
        ok: false,
        detail: `the server closed the connection ${secured ? 'right after' : 'during'} the TLS handshake`,
      }),
    );
  });
}
