/**
 * Validation for the activities, the client and tests: the validation activity (`validateBatch`,
 * in `./batch`), one value against its schema and checks, schema compilation, and the spec checks
 * with JSON Schema compilation plugged in. The worker imports `./batch` itself, not this index, so
 * that it does not load the spec checks (and zod) at start.
 */
export { validateBatch } from './batch';
export { validateValue } from './validate-value';
export { checkSchema, compileRef, createAjv, clearSchemaCache } from './schema-compiler';
export { validatePlanSpecWithSchemas, validateRunInput } from './spec';
