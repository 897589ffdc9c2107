/**
 * Which registry schemas a validation needs: the named schema and, transitively, every registry
 * entry it references by name (`{ "$ref": "Notes" }`). Only these travel to the activity, which keeps
 * activity payloads (and so workflow history) small.
 */
import type { PlanSpec } from './spec';

export function schemasFor(spec: PlanSpec, schemaRef: string | undefined): Record<string, unknown> {
  const registry = spec.schemas ?? {};
  const needed: Record<string, unknown> = {};
  const queue = schemaRef ? [schemaRef] : [];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (name in needed || !(name in registry)) continue;
    needed[name] = registry[name];
    collectRefs(registry[name], (ref) => {
      if (ref in registry && !(ref in needed)) queue.push(ref);
    });
  }
  return needed;
}

function collectRefs(value: unknown, found: (ref: string) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, found);
  } else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') found(child.split('#')[0]);
      else collectRefs(child, found);
    }
  }
}
