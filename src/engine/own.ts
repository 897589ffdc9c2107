/**
 * Records keyed by a caller's string (submission ids, artifact names, map targets) read and written
 * as own properties only, on objects without a prototype. A key such as `__proto__` or
 * `constructor` then is just a key: it can neither find `Object.prototype` nor change it. Plans
 * refuse such names already (validation); this is the second line of defence.
 */

/** An empty object without a prototype. */
export function ownRecord<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

/** `record[key]` when `key` is the record's own property, else undefined (never a prototype's). */
export function ownValue<V>(record: Record<string, V> | undefined, key: string): V | undefined {
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

export function hasOwn(record: object | undefined, key: string): boolean {
  return record !== undefined && record !== null && Object.prototype.hasOwnProperty.call(record, key);
}

/** Sets an own property, even for `__proto__` (a plain assignment would set the prototype instead). */
export function setOwn<V>(record: Record<string, V>, key: string, value: V): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A null-prototype copy of `record` with `key` set to `value`. On an object without a prototype a
 * plain assignment creates an own property for any key (`__proto__` is an accessor of
 * `Object.prototype`, which such an object does not have), so `Object.assign` is safe here.
 */
export function withOwn<V>(record: Record<string, V> | undefined, key: string, value: V): Record<string, V> {
  const copy: Record<string, V> = Object.assign(ownRecord<V>(), record);
  copy[key] = value;
  return copy;
}
