/** Workflow entry point for the worker's bundle: every workflow type this worker runs. */
export { planRun } from './plan-run';
