/**
 * Workflow histories as JSON files: the proto-JSON form that `temporal workflow show --output json`,
 * the Web UI's "Download" and the SDK's `historyToJSON` produce, and that `Worker.runReplayHistory`
 * accepts.
 *
 * Why not `historyToJSON` / `historyFromJSON` from `@temporalio/common/lib/proto-utils`: in this
 * install they throw `TypeError: type must be a Type`. They hand a type from `@temporalio/proto`'s
 * copy of protobufjs to the protojson functions of `@temporalio/common`'s own copy, and npm nests a
 * separate protobufjs 8.x under each `@temporalio/*` package (the top-level protobufjs is 7.x, for
 * @grpc/proto-loader), so the `instanceof Type` check fails. `Worker.runReplayHistory` given a JSON
 * object (string event ids) calls the same `historyFromJSON` and fails the same way. The functions
 * below do what the SDK's do, with the protojson of the protobufjs copy `@temporalio/proto` itself
 * uses, so they work whichever way npm lays the packages out; replay is then given decoded
 * `History` objects.
 */
import * as path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';

export type { History };

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): History | null;
}

let codec: { historyType: unknown; fromObject(history: History): unknown; protojson: ProtoJson } | undefined;

/** The History type and protojson of the one protobufjs copy `@temporalio/proto` (as the SDK resolves it) uses. */
function historyCodec() {
  if (codec) return codec;
  const commonDir = path.dirname(require.resolve('@temporalio/common/package.json'));
  const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json', { paths: [commonDir] }));
  const proto = require(protoDir);
  const { patchProtobufRoot } = require(path.join(protoDir, 'lib', 'patch-protobuf-root'));
  const protojson: ProtoJson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] }));
  const historyType = patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History');
  codec = { historyType, protojson, fromObject: (history) => proto.temporal.api.history.v1.History.fromObject(history) };
  return codec;
}

/** A history (e.g. from `handle.fetchHistory()`) as pretty-printed proto-JSON text. */
export function historyToJSON(history: History): string {
  const { historyType, protojson, fromObject } = historyCodec();
  return JSON.stringify(protojson.toJson(historyType, fromObject(history)), null, 2);
}

/**
 * A parsed history JSON file as a `History` ready for `Worker.runReplayHistories`. Also accepts the
 * older exports with PascalCase enum values (`"eventType": "WorkflowExecutionStarted"`), as the SDK does.
 */
export function historyFromJSON(json: unknown): History {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events)) {
    throw new TypeError('not a workflow history: expected an object with an array of events');
  }
  const { historyType, protojson } = historyCodec();
  const events = (json as { events: Array<Record<string, any>> }).events.map(fixEvent);
  const history = protojson.fromJson(historyType, { events }, { ignoreUnknownFields: true });
  if (!history?.events?.length) throw new TypeError('not a workflow history: no events');
  return history;
}

/** The workflow id a history belongs to, when its first event names it (Temporal Server 1.27+ does). */
export function workflowIdOf(json: unknown): string | undefined {
  const first = (json as { events?: Array<Record<string, any>> } | undefined)?.events?.[0];
  const started = first?.workflowExecutionStartedEventAttributes;
  const id = started?.workflowId ?? started?.rootWorkflowExecution?.workflowId;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

// The same enum fix-ups as the SDK's `historyFromJSON`.
function constantCase(value: string): string {
  return value.replace(/[^\b][A-Z]/g, (m) => `${m[0]}_${m[1]}`).toUpperCase();
}
function fixEnum(obj: Record<string, any>, attr: string, prefix: string): Record<string, unknown> | undefined {
  const value = obj[attr];
  if (typeof value !== 'string') return undefined;
  return { [attr]: value.startsWith(prefix) ? value : `${prefix}_${constantCase(value)}` };
}
function fixEvent(event: Record<string, any>): Record<string, any> {
  const key = Object.keys(event).find((k) => k.endsWith('EventAttributes'));
  if (!key) throw new TypeError(`history event without attributes: ${JSON.stringify(event).slice(0, 200)}`);
  const attributes = event[key] as Record<string, any>;
  return {
    ...event,
    ...fixEnum(event, 'eventType', 'EVENT_TYPE'),
    [key]: {
      ...attributes,
      ...(attributes.taskQueue && { taskQueue: { ...attributes.taskQueue, ...fixEnum(attributes.taskQueue, 'kind', 'TASK_QUEUE_KIND') } }),
      ...fixEnum(attributes, 'parentClosePolicy', 'PARENT_CLOSE_POLICY'),
      ...fixEnum(attributes, 'workflowIdReusePolicy', 'WORKFLOW_ID_REUSE_POLICY'),
      ...fixEnum(attributes, 'initiator', 'CONTINUE_AS_NEW_INITIATOR'),
      ...fixEnum(attributes, 'retryState', 'RETRY_STATE'),
      ...(attributes.childWorkflowExecutionFailureInfo && {
        childWorkflowExecutionFailureInfo: {
          ...attributes.childWorkflowExecutionFailureInfo,
          ...fixEnum(attributes.childWorkflowExecutionFailureInfo, 'retryState', 'RETRY_STATE'),
        },
      }),
    },
  };
}
