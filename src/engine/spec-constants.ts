/**
 * The plan spec's constants and node-type predicates, without zod. The workflow sandbox evaluates
 * every module it imports once per run, and zod with the spec's schemas is most of that cost
 * (docs/performance.md, "No zod in the workflow"), so what the engine needs at run time lives here;
 * `spec.ts` builds its schemas from these and re-exports them.
 */

/** Letters, digits, `-`, `_` and `.`: safe in workflow ids, approval ids (`node#3`) and URLs. */
export const ID_PATTERN = /^[A-Za-z0-9_.-]+$/;
export const MAX_ID_LENGTH = 128;
export const MAX_LABEL_LENGTH = 500;

/** Every node type, in the order the docs list them. */
export const NODE_TYPES = ['task', 'human-input', 'human-approval', 'human-review-edit', 'human-decision', 'switch', 'join', 'plan'] as const;
export type NodeTypeName = (typeof NODE_TYPES)[number];

export const HUMAN_NODE_TYPES = ['human-input', 'human-approval', 'human-review-edit', 'human-decision'] as const;
export const STRUCTURAL_NODE_TYPES = ['switch', 'join'] as const;
export type HumanNodeType = (typeof HUMAN_NODE_TYPES)[number];

export function isHumanNodeType(type: NodeTypeName): type is HumanNodeType {
  return (HUMAN_NODE_TYPES as readonly string[]).includes(type);
}
export function isStructuralNodeType(type: NodeTypeName): boolean {
  return (STRUCTURAL_NODE_TYPES as readonly string[]).includes(type);
}
/** A `plan` node runs a sub-plan (an entry of the plan's `plans`) as a child run of its own. */
export function isPlanNodeType(type: NodeTypeName): boolean {
  return type === 'plan';
}

/** The most items one `forEach` may fan out over (`maxItems` may not be set higher). */
export const MAX_FOR_EACH_ITEMS = 1000;
/** `forEach.maxItems` when the plan names none. */
export const DEFAULT_FOR_EACH_ITEMS = 100;

/** `warnAt` when a budget names none. */
export const DEFAULT_BUDGET_WARN_AT = 0.8;

/** The most times a loop body may run, the first included (a bound per loop, not a global step cap). */
export const MAX_LOOP_ITERATIONS = 100;
