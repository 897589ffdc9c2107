/**
 * The part of the Temporal API that the light client (`light-client.ts`) speaks: the request and
 * response messages of a few `WorkflowService` methods and every message and enum they reach, taken
 * from the SDK's own protobuf definitions (`@temporalio/proto`) at build time.
 *
 * Why: loading `@temporalio/proto` builds the reflection of the whole Temporal API, core SDK
 * included (thousands of types, ~140 ms), and `@temporalio/client` on top of it takes ~260 ms in
 * all; `plan-runner status` and `submit` need five methods. The subset is a few per cent of it and
 * loads in milliseconds with `protobufjs/light`. It is made from the same definitions the SDK
 * encodes with, so both put the same bytes on the wire.
 */
import type * as protobuf from 'protobufjs';

/** Where `npm run build` writes the subset (relative to the package root). */
export const API_SUBSET_FILE = 'dist/temporal-api-subset.json';

/** The service whose methods the light client calls. */
export const WORKFLOW_SERVICE = 'temporal.api.workflowservice.v1.WorkflowService';

/** The methods the light client calls: all the CLI's `status` and `submit` need on their fast path. */
export const LIGHT_METHODS = [
  'DescribeWorkflowExecution',
  'QueryWorkflow',
  'UpdateWorkflowExecution',
  'DescribeTaskQueue',
  'ListWorkers',
] as const;

/** A method of `LIGHT_METHODS`. */
export type LightMethod = (typeof LIGHT_METHODS)[number];

/** The subset as written to `API_SUBSET_FILE`: protobufjs JSON (`Root.fromJSON`) plus the methods' type names. */
export interface ApiSubset {
  /** The `@temporalio/proto` version it was taken from. */
  protoVersion: string;
  /** Full names (no leading dot) of each method's request and response message. */
  methods: Record<LightMethod, { request: string; response: string }>;
  /** protobufjs JSON of every message and enum reachable from those, at their full names. */
  nested: protobuf.INamespace['nested'];
}

/**
 * The subset of `root` (the SDK's reflection root) that `methods` of `WORKFLOW_SERVICE` reach. Each
 * message keeps its fields and oneofs; its nested declarations are kept only where reached, so the
 * subset resolves on its own.
 */
export function apiSubset(root: protobuf.Root, protoVersion: string, methods: readonly LightMethod[] = LIGHT_METHODS): ApiSubset {
  const service = root.lookupService(WORKFLOW_SERVICE);
  const reached = new Map<string, protobuf.Type | protobuf.Enum>();
  const visit = (type: protobuf.Type | protobuf.Enum): void => {
    const name = type.fullName.replace(/^\./, '');
    if (reached.has(name)) return;
    reached.set(name, type);
    if (!('fieldsArray' in type)) return; // an enum
    for (const field of type.fieldsArray) {
      field.resolve();
      if (field.resolvedType) visit(field.resolvedType as protobuf.Type | protobuf.Enum);
    }
  };
  const methodTypes = {} as ApiSubset['methods'];
  for (const name of methods) {
    const method = service.methods[name];
    if (!method) throw new Error(`${WORKFLOW_SERVICE} has no method ${name} in @temporalio/proto ${protoVersion}`);
    method.resolve();
    visit(method.resolvedRequestType!);
    visit(method.resolvedResponseType!);
    methodTypes[name] = { request: fullName(method.resolvedRequestType!), response: fullName(method.resolvedResponseType!) };
  }

  const nested: Record<string, any> = {};
  // Parents before children, so that a message nested in another reached one lands inside it.
  for (const name of [...reached.keys()].sort()) {
    const type = reached.get(name)!;
    const parts = name.split('.');
    let level = nested;
    for (const part of parts.slice(0, -1)) {
      level[part] ??= {};
      level[part].nested ??= {};
      level = level[part].nested;
    }
    const json = type.toJSON() as unknown as Record<string, unknown>;
    delete json.nested; // only the reached nested declarations, added as they are visited
    delete json.comment;
    const last = parts[parts.length - 1];
    level[last] = { ...json, ...(level[last]?.nested ? { nested: level[last].nested } : {}) };
  }
  return { protoVersion, methods: methodTypes, nested };
}

function fullName(type: protobuf.ReflectionObject): string {
  return type.fullName.replace(/^\./, '');
}
