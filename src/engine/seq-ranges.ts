/**
 * Event seqs written as ranges, for messages about events the store is missing. A module of its
 * own, importing nothing, so that the CLI can word such a problem without loading the engine.
 */

/** `3–5, 9`: seqs as ascending ranges (for messages about events missing from the store). */
export function seqRanges(seqs: number[]): string {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}
