/**
 * How long a client waits for a worker's answer, shared by `PlanRunnerClient` and the CLI's light
 * client (this module imports nothing, so the light client stays light).
 */

/** Default `queryTimeoutMs`: a query (status, events, work item) waits this long for the worker. */
export const DEFAULT_QUERY_TIMEOUT_MS = 20_000;
/** Default `updateTimeoutMs`: an update (a result, an answer, an operation) waits this long for its outcome. */
export const DEFAULT_UPDATE_TIMEOUT_MS = 60_000;
