/**
 * "Did you mean …?" for unknown configuration keys: the known key nearest to a typo, by edit
 * distance, so `tickMS` or `electonTicks` is answered with the key that was meant instead of
 * the whole list of keys.
 */

/**
 * The optimal-string-alignment distance (Damerau-Levenshtein restricted to adjacent
 * transpositions, each substring edited once): insertions, deletions, substitutions and swaps
 * of two neighbours count 1 each. Case-sensitive; callers lower-case first when case should not
 * count.
 */
export function editDistance(a: string, b: string): number {
  // Three rolling rows: the transposition step looks two rows back.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] as number) + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * How far a typo may be from the key it stands for. Short keys get 1: at 2 edits, any two short
 * words are "near" (`ab` and `id`), and a wrong suggestion misleads more than none.
 */
function maxDistance(length: number): number {
  return length <= 4 ? 1 : 2;
}

/**
 * The candidate `word` most likely stands for, or undefined when none is close: equal ignoring
 * case, or within {@link maxDistance} edits of it (case ignored). Ties go to the earlier
 * candidate, so callers list the likelier keys first.
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const limit = maxDistance(Math.min(word.length, candidate.length));
    // The lengths alone bound the distance from below: a long pasted value costs nothing.
    if (Math.abs(word.length - candidate.length) > limit) continue;
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance && d <= limit) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
