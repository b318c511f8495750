/** The vocabulary: words in order of first appearance, optionally with "<unk>" standing for rare words. */

/** Stands for every word seen fewer than --min-count times (and, in validation, words training never saw). */
export const UNK_TOKEN = "<unk>";

/** Marks a word that has no id (not in the vocabulary and no "<unk>" to fall back on). */
export const NO_ID = -1;

/**
 * Builds the vocabulary from cleaned headlines. minCount 1 is the notebook's: every word, in order of
 * first appearance, no "<unk>" (unk -1). With minCount > 1, "<unk>" is id 0 (so it is there for
 * predict and validation even when no training word is rare), then the words seen at least minCount
 * times, in order of first appearance.
 */
export function buildVocab(headlines: string[][], minCount: number): { vocab: string[]; unk: number } {
  const counts = new Map<string, number>();
  for (const words of headlines) {
    for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  // Map iteration follows insertion, i.e. first appearance.
  const frequent = [...counts].filter(([, n]) => n >= minCount).map(([w]) => w);
  return minCount > 1 ? { vocab: [UNK_TOKEN, ...frequent], unk: 0 } : { vocab: frequent, unk: NO_ID };
}

// Built once per vocabulary array: predict and dataset building look up many words in the same vocab.
const indexCache = new WeakMap<readonly string[], Map<string, number>>();

function indexOf(vocab: readonly string[]): Map<string, number> {
  let index = indexCache.get(vocab);
  if (index === undefined) {
    index = new Map(vocab.map((w, i) => [w, i]));
    indexCache.set(vocab, index);
  }
  return index;
}

/** The id of each word: its own, else `unk`, else NO_ID. */
export function wordIds(words: readonly string[], vocab: readonly string[], unk: number): Int32Array {
  const index = indexOf(vocab);
  return Int32Array.from(words, (w) => index.get(w) ?? (unk >= 0 ? unk : NO_ID));
}

/**
 * Maps cleaned words to ids for predict. Words not in the vocabulary are listed in `unknown` (once
 * each, in order); they become `unk` when the vocabulary has "<unk>" (unk >= 0) and are left out of
 * `ids` otherwise.
 */
export function encodeWords(
  words: readonly string[],
  vocab: readonly string[],
  unk: number,
): { ids: number[]; unknown: string[] } {
  const index = indexOf(vocab);
  const ids: number[] = [];
  const unknown: string[] = [];
  for (const w of words) {
    const id = index.get(w);
    if (id === undefined && !unknown.includes(w)) unknown.push(w);
    const mapped = id ?? unk;
    if (mapped >= 0) ids.push(mapped);
  }
  return { ids, unknown };
}
