/**
 * Static spec validation with JSON Schema compilation (Ajv) plugged in, and the run-input check.
 * For the client (before starting a run) and activities; the workflow uses the pure
 * `validatePlanSpec`, which skips only the "every schema compiles" check.
 */
import type { PlanSpec } from '../../engine/spec';
import type { Issue } from '../../engine/types';
import { validatePlanSpec, type SpecValidationResult } from '../../engine/validate-spec';
import { checkSchema } from './schema-compiler';
import { validateValue } from './validate-value';

/** `validatePlanSpec` plus: every registry schema compiles as JSON Schema 2020-12 (with `$ref`s by name). */
export function validatePlanSpecWithSchemas(raw: unknown): SpecValidationResult {
  return validatePlanSpec(raw, { checkSchema });
}

/** The run input against the plan's `inputSchema` (blocking issues with code `input-schema`); [] without one. */
export function validateRunInput(spec: PlanSpec, input: unknown): Issue[] {
  if (spec.inputSchema === undefined) return [];
  return validateValue({
    schemaRef: spec.inputSchema,
    schemas: spec.schemas ?? {},
    value: input,
    checks: [],
    context: { input, output: undefined, artifact: {}, run: { input }, iteration: 1 },
    schemaIssueCode: 'input-schema',
  });
}
