/**
 * The workflow type and the default task queue of plan runs, on their own so that code which only
 * needs the names (the CLI's `--task-queue` default, printed by `--help`) does not load the
 * workflow SDK that `./definitions` needs for its message definitions (docs/performance.md).
 */

/** The workflow type every plan run is started as. */
export const WORKFLOW_TYPE = 'planRun';
/** The task queue runs are started on, and workers poll, unless told another. */
export const DEFAULT_TASK_QUEUE = 'plan-runs';
