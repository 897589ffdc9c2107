/**
 * Every command, in the order `plan-runner --help` lists them: one file per command, each adding
 * itself to the program with its options, help text and action.
 */
export { registerValidate } from './validate';
export { registerStart } from './start';
export { registerStatus } from './status';
export { registerGraph } from './graph';
export { registerSubmit } from './submit';
export { registerRespond } from './respond';
export { registerCancel } from './cancel';
export { registerResume } from './resume';
export { registerRetry } from './retry';
export { registerReplan } from './replan';
export { registerBudget } from './budget';
export { registerEvents } from './events';
export { registerApprovals } from './approvals';
export { registerAttempts } from './attempts';
export { registerCheckpoints } from './checkpoints';
export { registerSpecs } from './specs';
export { registerMigrate } from './migrate';
export { registerList } from './list';
export { registerInbox } from './inbox';
export { registerWorker } from './worker';
export { registerUsers } from './users';
export { registerConsole } from './console';
