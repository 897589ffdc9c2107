/**
 * JSON columns: `jsonb` on PostgreSQL, TEXT on SQLite. Both travel as JSON text in both directions
 * (the PostgreSQL pool keeps jsonb as text, see `connect.ts`), so reads parse the same way on both.
 *
 * SQL NULL stands for "absent" (an optional field the engine left undefined); a stored JSON `null`
 * is the text `null`, so `output: null` and "no output" stay different.
 */
import type { Json } from './schema';

export function encodeJson(value: unknown): Json | null {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  // JSON.stringify gives undefined for functions and symbols: nothing JSON can carry.
  return text === undefined ? null : text;
}

/** Like `encodeJson` for columns that are NOT NULL (lists, maps): absent becomes `fallback`. */
export function encodeJsonOr(value: unknown, fallback: unknown): Json {
  return encodeJson(value) ?? JSON.stringify(fallback);
}

export function decodeJson<T = unknown>(text: Json | null | undefined): T | undefined {
  if (text === null || text === undefined) return undefined;
  // Defensive: a driver configured to parse JSON itself hands over values, not text.
  if (typeof text !== 'string') return text as T;
  return JSON.parse(text) as T;
}
