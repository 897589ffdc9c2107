/**
 * A small Temporal client for the CLI's quick commands: five `WorkflowService` calls over gRPC
 * (`@grpc/grpc-js`), encoded with `protobufjs/light` from the subset of the Temporal API that
 * `npm run build` extracts from the SDK's definitions (`api-subset.ts`).
 *
 * Why: a `plan-runner status` or `submit` process spends most of its life loading
 * `@temporalio/client` (about 260 ms: the protobuf reflection of the whole Temporal API, the SDK's
 * modules). This client loads in about 70 ms. It does only the successful path of a few calls;
 * whatever it does not understand (an error, an unfamiliar payload encoding, an update that is
 * not finished) it hands back as `undefined` or an error, and the caller goes through the full
 * client, which words every failure as before (`quick-commands.ts`).
 *
 * Payloads are encoded as the SDK's default data converter encodes them (`json/plain`, and
 * `binary/null` for `undefined`), so a workflow cannot tell which client sent a message.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as grpcTypes from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { API_SUBSET_FILE, WORKFLOW_SERVICE, type ApiSubset, type LightMethod } from './api-subset';
import type { ClientConnectionOptions } from '../connection';

/** The SDK's default port, added to an address without one (as the SDK does). */
const DEFAULT_PORT = 7233;
/** As the SDK's connection: a snapshot of a large run can be tens of megabytes. */
const MAX_RECEIVE_BYTES = 128 * 1024 * 1024;

/** A Temporal payload as protobufjs gives and takes it. */
export interface Payload {
  metadata?: Record<string, Uint8Array> | null;
  data?: Uint8Array | null;
}

/** A payload this client cannot decode (an encoding other than `json/plain` or `binary/null`). */
export class UnfamiliarPayloadError extends Error {
  constructor(encoding: string) {
    super(`payload encoding ${encoding} is left to the full client`);
    this.name = 'UnfamiliarPayloadError';
  }
}

/** Encode `value` as the SDK's default payload converter does. */
export function toPayload(value: unknown): Payload {
  if (value === undefined) return { metadata: { encoding: Buffer.from('binary/null') } };
  return { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) };
}

/** Decode a payload the SDK's default converter wrote for a JSON value or `undefined`. */
export function fromPayload(payload: Payload | undefined | null): unknown {
  if (!payload) return undefined;
  const encoding = payload.metadata?.encoding ? Buffer.from(payload.metadata.encoding).toString('utf8') : '';
  if (encoding === 'binary/null') return undefined;
  if (encoding !== 'json/plain') throw new UnfamiliarPayloadError(encoding || '(none)');
  return JSON.parse(Buffer.from(payload.data ?? new Uint8Array()).toString('utf8'));
}

/** The subset's types, loaded once per process. */
let loadedTypes: { root: protobuf.Root; subset: ApiSubset } | undefined;

/** The built subset, or `undefined` when it was not built (a plain `tsc`): the caller uses the full client. */
function apiTypes(): { root: protobuf.Root; subset: ApiSubset } | undefined {
  if (loadedTypes) return loadedTypes;
  let subset: ApiSubset;
  try {
    subset = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', '..', '..', API_SUBSET_FILE), 'utf8')) as ApiSubset;
  } catch {
    return undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Root } = require('protobufjs/light') as typeof protobuf;
  loadedTypes = { root: Root.fromJSON({ nested: subset.nested }), subset };
  return loadedTypes;
}

/** Whether the light client can be used in this installation (its API subset was built). */
export function lightClientAvailable(): boolean {
  return apiTypes() !== undefined;
}

/** A gRPC call that failed: its status code and message, as the server sent them. */
export class LightCallError extends Error {
  constructor(
    readonly method: LightMethod,
    readonly code: number,
    readonly details: string,
  ) {
    super(`${method}: ${details} (gRPC code ${code})`);
    this.name = 'LightCallError';
  }
}

/** What `LightClient` needs to reach Temporal: the settings `resolveConnectionSettings` made. */
export interface LightClientOptions {
  connectionOptions: ClientConnectionOptions;
  namespace: string;
}

/**
 * Calls `WorkflowService` methods and decodes their responses into protobufjs messages, the same
 * objects the SDK's `workflowService` returns. `withDeadline` and `workflowService` have the
 * SDK client's shape, so `WorkerCheck` runs on either.
 */
export class LightClient {
  private readonly grpc: typeof grpcTypes;
  private readonly channel: grpcTypes.Client;
  private readonly metadata: Record<string, string>;
  private readonly deadlines = new AsyncLocalStorage<number>();
  private readonly types: { root: protobuf.Root; subset: ApiSubset };
  /** The calls `WorkerCheck` makes, with the SDK's request and response shapes. */
  readonly workflowService: {
    describeTaskQueue(request: object): Promise<any>;
    listWorkers(request: object): Promise<any>;
  };
  /** As the SDK's client identity: who sent an update. */
  readonly identity = `${process.pid}@${os.hostname()}`;

  /** Throws when the API subset was not built (check `lightClientAvailable()` first). */
  constructor(readonly options: LightClientOptions) {
    const types = apiTypes();
    if (!types) throw new Error(`the light client needs ${API_SUBSET_FILE} (npm run build)`);
    this.types = types;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.grpc = require('@grpc/grpc-js') as typeof grpcTypes;
    const { address, tls, apiKey, metadata } = options.connectionOptions;
    const tlsConfig = tls ?? (apiKey !== undefined ? true : undefined);
    const channelOptions: grpcTypes.ChannelOptions = {
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    };
    let credentials: grpcTypes.ChannelCredentials;
    if (tlsConfig) {
      const config = typeof tlsConfig === 'object' ? tlsConfig : {};
      const buffer = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes) : undefined);
      credentials = this.grpc.credentials.createSsl(
        buffer(config.serverRootCACertificate),
        buffer(config.clientCertPair?.key),
        buffer(config.clientCertPair?.crt),
      );
      if (config.serverNameOverride) {
        channelOptions['grpc.ssl_target_name_override'] = config.serverNameOverride;
        channelOptions['grpc.default_authority'] = config.serverNameOverride;
      }
    } else {
      credentials = this.grpc.credentials.createInsecure();
    }
    const target = address ?? `localhost:${DEFAULT_PORT}`;
    this.channel = new this.grpc.Client(/:\d+$/.test(target) ? target : `${target}:${DEFAULT_PORT}`, credentials, channelOptions);
    this.metadata = {
      ...(metadata ?? {}),
      'client-name': 'temporal-typescript',
      'client-version': sdkVersion(),
      'temporal-namespace': options.namespace,
      ...(typeof apiKey === 'string' ? { authorization: `Bearer ${apiKey}` } : {}),
    };
    this.workflowService = {
      describeTaskQueue: (request) => this.call('DescribeTaskQueue', request),
      listWorkers: (request) => this.call('ListWorkers', request),
    };
  }

  /** The namespace every call is made in. */
  get namespace(): string {
    return this.options.namespace;
  }

  /** Run `fn` with every call in it bounded by `deadline` (epoch milliseconds), as the SDK's `withDeadline`. */
  withDeadline<R>(deadline: number, fn: () => Promise<R>): Promise<R> {
    return this.deadlines.run(deadline, fn);
  }

  /** One unary call: `request` (a plain object in the SDK's request shape) in, the decoded response out. */
  call(method: LightMethod, request: object): Promise<any> {
    const names = this.types.subset.methods[method];
    const requestType = this.types.root.lookupType(names.request);
    const responseType = this.types.root.lookupType(names.response);
    const metadata = new this.grpc.Metadata();
    for (const [key, value] of Object.entries(this.metadata)) metadata.set(key, value);
    const deadline = this.deadlines.getStore();
    return new Promise((resolve, reject) => {
      this.channel.makeUnaryRequest(
        `/${WORKFLOW_SERVICE}/${method}`,
        (message: object) => Buffer.from(requestType.encode(requestType.fromObject(message)).finish()),
        (bytes: Buffer) => responseType.decode(bytes),
        request,
        metadata,
        deadline !== undefined ? { deadline } : {},
        (error, response) => {
          if (error) reject(new LightCallError(method, error.code ?? this.grpc.status.UNKNOWN, error.details ?? error.message));
          else resolve(response);
        },
      );
    });
  }

  /** Close the channel. */
  close(): void {
    this.channel.close();
  }
}

function sdkVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('@temporalio/client/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
