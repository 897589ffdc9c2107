/**
 * "Did you mean …?": the nearest known name to a mistyped one (edit distance, case-insensitive),
 * used by spec validation, the engine's refusals and the CLI, so that a typo is answered the same
 * way everywhere. Pure.
 */

/** The candidate closest to `given`, if it is close enough to be a likely typo. */
export function nearest(given: unknown, candidates: readonly unknown[]): string | undefined {
  if (typeof given !== 'string' || given === '') return undefined;
  const lower = given.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (typeof candidate !== 'string') continue;
    const distance = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A third of the name, between 1 and 3 edits: "publsh" → "publish", but "a" never → "b".
  const limit = Math.max(1, Math.min(3, Math.floor(given.length / 3)));
  if (best !== undefined && bestDistance <= limit) return best;
  // Part of a longer name: "waiting" → "awaiting-human".
  if (given.length >= 3) {
    const containing = candidates.filter((c): c is string => typeof c === 'string' && c.toLowerCase().includes(lower));
    if (containing.length === 1) return containing[0];
  }
  return undefined;
}

/** ` (did you mean "publish"?)`, or `''` when nothing is close. */
export function didYouMean(given: unknown, candidates: readonly unknown[]): string {
  const best = nearest(given, candidates);
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/** Levenshtein distance between two short strings. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** At most this many known names are listed in a message. */
const MAX_LISTED = 20;

/** `a, b, c` (and `… and 12 more`). */
export function listNames(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, MAX_LISTED).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

/**
 * The one message for an unknown node, wherever it is named (submit, respond, retry, attempts):
 * `run r1 has no node "publsh" (did you mean "publish"?); its nodes: research, draft, publish`.
 */
export function unknownNodeMessage(runId: string, nodeId: string, nodeIds: readonly string[]): string {
  return `run ${runId} has no node "${nodeId}"${didYouMean(nodeId, nodeIds)}; its nodes: ${listNames(nodeIds)}`;
}

/** The text with its first letter in upper case (a message that starts a sentence). */
export function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
