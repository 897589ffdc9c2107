/**
 * The names of the failure classes (docs/semantics.md §7), as plain strings. `./spec` builds its
 * schema from them; the CLI lists them in `submit --help` and checks `--fail` against them without
 * loading zod and the spec schemas (docs/performance.md).
 */

/**
 * Every failure class. `loop-exhausted`: a loop with `onExhausted: fail` ran out of iterations
 * (set by the engine only). `subplan`: the child run of a `plan` node failed or was cancelled (set
 * by the engine only). `budget`: the node's attempts used more than its `budget` allows (set by
 * the engine only).
 */
export const FAILURE_CLASS_NAMES = ['validation', 'agent-error', 'timeout', 'input', 'dispatch', 'loop-exhausted', 'subplan', 'budget'] as const;

/** The classes only the engine sets: an agent cannot report them. */
export const ENGINE_ONLY_FAILURE_CLASSES: readonly string[] = ['loop-exhausted', 'subplan', 'budget'];
