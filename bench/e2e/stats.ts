/** Small statistics and formatting helpers for the end-to-end benchmark. */

/** The `p`-th percentile (0-100) of `values`, by the nearest-rank method; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The median: the mean of the two middle values for an even count (NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function min(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.min(...values);
}

/** A number with at most `digits` decimals and at least two significant digits ("-" for NaN). */
export function formatNumber(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  const decimals = abs >= 100 ? 0 : abs >= 10 ? Math.min(digits, 1) : abs >= 1 ? Math.max(digits, 1) : Math.max(digits, 2);
  return value.toFixed(decimals);
}

/** Rounds for JSON output (3 decimals), keeping NaN as null. */
export function round(value: number): number | null {
  return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : null;
}
