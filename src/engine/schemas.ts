/**
 * Registry schemas (docs/semantics.md §2: JSON Schemas referenced by name). A registry entry may point at another
 * with `{ "$ref": "Notes" }` (or `"Notes#/properties/summary"`); the validation activity registers
 * every entry it receives under its name so such references resolve. PURE: runs in the workflow.
 */
import { hasOwn } from './own';

/** A `$ref` that names a registry entry: not local (`#…`) and not an absolute URI (`https:…`). */
export function registryRefName(ref: string): string | undefined {
  if (ref === '' || ref.startsWith('#')) return undefined;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(ref)) return undefined;
  const name = ref.split('#')[0];
  return name === '' ? undefined : name;
}

/** Every registry name a schema refers to with `$ref` (anywhere inside it), in order of appearance. */
export function registryRefs(schema: unknown): string[] {
  const found: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      if (key === '$ref' && typeof child === 'string') {
        const name = registryRefName(child);
        if (name !== undefined && !found.includes(name)) found.push(name);
      } else {
        visit(child);
      }
    }
  };
  visit(schema);
  return found;
}

/**
 * The registry entries one validation needs: the named schema and, transitively, every entry it
 * references. Only these travel to the activity, which keeps payloads (and history) small.
 */
export function schemasFor(registry: Record<string, unknown> | undefined, schemaRef: string | undefined): Record<string, unknown> {
  const needed: Record<string, unknown> = {};
  const queue = schemaRef ? [schemaRef] : [];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (hasOwn(needed, name) || !registry || !hasOwn(registry, name)) continue;
    needed[name] = registry[name];
    queue.push(...registryRefs(registry[name]));
  }
  return needed;
}
