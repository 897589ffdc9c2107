/**
 * The JSON Schema of a plan file, for editors (completion, hover docs, red squiggles), generated from
 * the zod schemas in `spec.ts` so the two never drift. `scripts/generate-plan-schema.ts` writes it to
 * `schema/plan.schema.json`; `--check` fails when the committed file is stale.
 *
 * It describes the *shape* only: the cross-document rules (unique ids, edges naming existing nodes,
 * acyclicity, owners per node type, schema references) are checked by `validatePlanSpec`.
 */
import { z } from 'zod';
import {
  CompletionCheck,
  Deadline,
  FailureClass,
  FailureAction,
  FailureRule,
  Id,
  JsonSchemaDoc,
  NodeType,
  Owner,
  PlanEdge,
  PlanNode,
  PlanSpec,
  RetryPolicy,
  SubPlanSpec,
} from './spec';

/** Stable identifier of the schema (not fetched by anything; editors use the file path). */
export const PLAN_SCHEMA_ID = 'https://plan-runner.dev/schema/plan.schema.json';
export const PLAN_SCHEMA_FILE = 'schema/plan.schema.json';

interface Meta {
  id?: string;
  title?: string;
  description?: string;
}

function describe(): z.core.$ZodRegistry<Meta> {
  const registry = z.registry<Meta>();
  const add = (schema: z.ZodType, meta: Meta) => registry.add(schema, meta);

  // Named definitions ($defs), reused wherever they appear.
  add(Id, { id: 'Id', description: 'An id: letters, digits, "-", "_" and "." (at most 128 characters).' });
  add(NodeType, {
    id: 'NodeType',
    description:
      'task: done by an agent. human-input / human-approval / human-review-edit / human-decision: done by a person. ' +
      'switch / join: structural, completed by the engine as soon as they are ready. ' +
      'plan: runs a sub-plan (an entry of `plans`) as a child run of its own.',
  });
  add(Owner, {
    id: 'Owner',
    description: 'Who does the work: { kind: agent, ref } for task nodes, { kind: human, ref } for human nodes (ref names a person, role or team).',
  });
  add(FailureClass, { id: 'FailureClass', description: 'Why an attempt failed.' });
  add(FailureAction, { id: 'FailureAction', description: 'What happens when retries are used up.' });
  add(FailureRule, { id: 'FailureRule', description: 'When an attempt fails with class `on` and no retry is left, do `action` (default abort).' });
  add(RetryPolicy, { id: 'RetryPolicy', description: 'Retries after a failed attempt.' });
  add(Deadline, {
    id: 'Deadline',
    description: 'Counted from dispatch (for the plan: from the start). A warning at afterMs − warnBeforeMs; escalation at afterMs.',
  });
  add(CompletionCheck, {
    id: 'CompletionCheck',
    description: 'An extra check on every result. Paths (path) are relative to the output; expression is a condition on the node context. Blocking unless severity: warning.',
  });
  add(JsonSchemaDoc, { id: 'JsonSchema', description: 'A JSON Schema (2020-12). Registry schemas may refer to each other with { $ref: Name }.' });
  add(PlanNode, { id: 'PlanNode', description: 'One step of the plan. The order of nodes is their position, which breaks ties everywhere.' });
  add(PlanEdge, {
    id: 'PlanEdge',
    description: '`to` (a node id) waits for `from` (a node id); the edge is active when `from` completed and `when` holds on its context.',
  });

  // Fields.
  const spec = PlanSpec.shape;
  add(PlanSpec, { title: 'plan-runner plan', description: 'A plan spec for plan-runner: a graph of nodes and edges plus a registry of JSON Schemas.' });
  add(spec.$schema, { description: 'The JSON Schema of this file, for editors. Ignored by plan-runner.' });
  add(spec.title, { description: 'A human-readable title.' });
  add(spec.maxConcurrency, { description: 'How many nodes may be active (running or awaiting a human) at once. Default 1.' });
  add(spec.inputSchema, { description: 'Name of a schema in `schemas` that the run input must satisfy.' });
  add(spec.deadline, { description: 'A deadline for the whole plan, counted from the start.' });
  add(spec.budget, {
    description:
      'A spending limit over the whole run (cost in USD and/or input + output tokens, as results report them in `usage`). Passing it blocks the run until an operator raises it (raiseBudget) or cancels.',
  });
  add(spec.schemas, { description: 'JSON Schemas (2020-12), referenced by name from nodes and from each other.' });
  add(spec.nodes, { description: 'The nodes, in position order.' });
  add(spec.edges, { description: 'Dependencies: `to` waits for `from`.' });
  add(SubPlanSpec, {
    id: 'SubPlan',
    description: 'An inline sub-plan: a plan of its own (without `plans`: sub-plans share the registry at the top), run as a child run by `plan` nodes.',
  });
  add(PlanSpec.shape.plans, { description: 'Inline sub-plans, referenced by name from `plan` nodes (`plan: NAME`), like schemas.' });

  const node = PlanNode.shape;
  add(node.label, { description: 'A short human-readable name.' });
  add(node.owner, { description: 'Who does the work. Required for task and human nodes; not allowed on switch and join.' });
  add(node.objective, { description: 'Brief: what the node must achieve.' });
  add(node.instructions, { description: 'Brief: how to do it.' });
  add(node.deliverables, { description: 'Brief: what to hand back (e.g. artifact names).' });
  add(node.successCriteria, { description: 'Brief: how the result will be judged.' });
  add(node.toolPolicy, { description: 'Passed through to the owner untouched.' });
  add(node.contextPolicy, { description: 'Passed through to the owner untouched.' });
  add(node.inputSchema, { description: 'Name of a schema in `schemas`; checked on the resolved input before dispatch.' });
  add(node.outputSchema, { description: 'Name of a schema in `schemas`; checked on every result. Not allowed on switch and join.' });
  add(node.completionChecks, { description: 'Extra checks on every result.' });
  add(node.retry, { description: 'Total attempts and which failure classes are retried. Default: 1 attempt.' });
  add(node.onFailure, { description: 'What to do when an attempt fails and no retry is left; the first rule for the class wins. Default abort.' });
  add(node.timeoutMs, { description: 'Task nodes: limit for one attempt, counted from dispatch. On expiry the attempt fails with class timeout.' });
  add(node.delayAfterPredecessorMs, { description: 'Wait this long after the node becomes ready before it runs.' });
  add(node.notBefore, { description: 'Do not run before this time (ISO-8601 with offset, e.g. 2026-12-01T09:00:00Z).' });
  add(node.deadline, { description: 'Task and human nodes: warn and escalate when the node takes too long.' });
  add(node.visibility, { description: 'hidden nodes never wake their owner. Default visible.' });
  add(node.approvers, { description: 'Human nodes: who may answer; absent or empty means anyone.' });
  add(node.options, { description: 'human-decision nodes: the choices a person picks from.' });
  add(node.plan, { description: 'plan nodes: the name of the sub-plan (an entry of `plans`) to run as a child run.' });
  add(node.budget, {
    description:
      'Task nodes: a spending limit over the node\'s attempts (cost in USD and/or input + output tokens). An attempt that passes it fails the node with class budget, without retry; onFailure decides.',
  });
  add(node.quorum, {
    description:
      'human-approval nodes: every approver votes once; `required` approvals without edits approve the node, a rejection by a `veto` holder rejects it at once. Needs `approvers`.',
  });

  const edge = PlanEdge.shape;
  // edge.from / edge.to are the shared `Id` schema itself: described on PlanEdge.
  add(edge.when, {
    description:
      'Condition on the source node context: `always`, `PATH` (truthy) or `PATH OP LITERAL` with OP one of == != >= <= > <; ' +
      'PATH starts with output., input., artifact.NAME. or run.input. Absent means always.',
  });
  add(edge.map, { description: 'Input mapping: { targetPath: sourcePath }, e.g. { notes: output.summary }.' });
  return registry;
}

/** Keeps the generated schema readable for people and editors. */
function tidy(json: Record<string, unknown>): void {
  // z.iso.datetime adds zod's full regular expression next to `format: date-time`: `format` says it.
  if (json.format === 'date-time') delete json.pattern;
  // z.number().int() adds the safe-integer bounds.
  if (json.maximum === Number.MAX_SAFE_INTEGER) delete json.maximum;
  if (json.minimum === Number.MIN_SAFE_INTEGER) delete json.minimum;
  // Records: every JSON key is a string anyway.
  if (isRecord(json.propertyNames) && json.propertyNames.type === 'string' && Object.keys(json.propertyNames).length === 1) {
    delete json.propertyNames;
  }
}

export function buildPlanJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(PlanSpec, {
    target: 'draft-2020-12',
    io: 'input',
    metadata: describe(),
    override: (ctx) => tidy(ctx.jsonSchema as Record<string, unknown>),
  }) as Record<string, unknown>;
  const { $schema, title, description, ...rest } = generated;
  return { $schema, $id: PLAN_SCHEMA_ID, title, description, ...rest };
}

/** The file's text: stable key order, two-space indent, trailing newline. */
export function renderPlanJsonSchema(): string {
  return `${JSON.stringify(buildPlanJsonSchema(), null, 2)}\n`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
