/**
 * The worker's check, at start, that the namespace has plan-runner's search attributes. Runs set
 * `PlanId`, `PlanRunStatus` and `PlanWaitingOn` when they start, so a missing one refuses the start;
 * but `PlanCostUsd` is set only once a result reports a cost, and upserting an attribute the
 * namespace lacks fails the workflow task: the run would stop there, retrying. Refusing to start the
 * worker instead says what is missing and how to add it before any run gets that far.
 */
import { Connection } from '@temporalio/client';
import type { TemporalConnectionSettings } from '../client/connection';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions';

/** The search attributes `namespace` lacks (name → type to create); empty when all are there. */
export function missingSearchAttributes(registered: Record<string, unknown>): Array<[name: string, type: string]> {
  return Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in registered));
}

/** The commands that register `missing` (the `temporal` CLI's spelling of each type). */
export function registerCommands(missing: Array<[string, string]>, namespace: string): string {
  return missing.map(([name, type]) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`).join('\n  ');
}

/**
 * Throws when the namespace lacks one of the attributes. A server that does not let this worker
 * list them (Temporal Cloud API keys without the permission, for one) is not refused: it is told
 * on stderr, and registering them stays the operator's job (docs/operations.md).
 */
export async function checkSearchAttributes(settings: TemporalConnectionSettings): Promise<void> {
  const connection = await Connection.connect({ ...settings.connectionOptions, connectTimeout: 10_000 });
  try {
    let registered: Record<string, unknown>;
    try {
      const response = await connection.operatorService.listSearchAttributes({ namespace: settings.namespace });
      registered = { ...(response.customAttributes ?? {}) };
    } catch (error) {
      console.error(`plan-runner worker: could not list the search attributes of namespace ${settings.namespace} (${(error as Error).message}); make sure ${Object.keys(SEARCH_ATTRIBUTES).join(', ')} are registered`);
      return;
    }
    const missing = missingSearchAttributes(registered);
    if (missing.length === 0) return;
    throw new Error(
      `namespace ${settings.namespace} lacks the search attribute${missing.length === 1 ? '' : 's'} ${missing.map(([name]) => name).join(', ')}: ` +
        `runs would fail when they set ${missing.length === 1 ? 'it' : 'them'}. Register ${missing.length === 1 ? 'it' : 'them'} first:\n  ${registerCommands(missing, settings.namespace)}\n` +
        '(./temporal-dev.sh server registers them on the dev server)',
    );
  } finally {
    await connection.close();
  }
}
