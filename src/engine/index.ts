/**
 * The pure plan engine: the semantics of docs/semantics.md with no I/O, no clocks and no randomness. Time (`now`, an ISO
 * string of workflow time) and ids come in as arguments; every operation returns the next state plus
 * the effects for the shell (events, a checkpoint, owners to wake), or a Refusal that changed nothing.
 * The client, the CLI and the tests use this module; the workflow uses `core.ts`, the same without zod.
 */
export * from './core';
export * from './spec';
export * from './messages';
