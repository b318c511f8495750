/**
 * Sliding-window training pairs: `window` consecutive word ids -> the id of the next word; with headline
 * boundaries, each headline is framed by start tokens and an end token first.
 */
import type { Coverage, PairSet } from "./types.ts";
import { BOS_ID, EOS_ID, NO_ID, wordIds } from "./vocab.ts";

/**
 * The pairs of headlines given as ids, headline by headline in order. Without boundaries they are the
 * notebook's: for each headline w and each i with i + window < w.length, inputs w[i..i+window-1] -> target
 * w[i+window]. With `boundaries`, each headline of n >= 1 words is first framed as `window` BOS_IDs, its
 * words, then EOS_ID, so its n + 1 pairs also predict its first words (from start tokens) and its end; a
 * headline with no words has nothing to frame and gives no pair. A pair touching a NO_ID word is skipped
 * (counted in `skipped`) rather than joined across the gap.
 */
export function makePairs(
  headlines: readonly Int32Array[],
  window: number,
  boundaries = false,
): { pairs: PairSet; skipped: number } {
  const framed = boundaries
    ? headlines.filter((ids) => ids.length > 0).map((ids) => {
      const out = new Int32Array(window + ids.length + 1).fill(BOS_ID);
      out.set(ids, window);
      out[out.length - 1] = EOS_ID;
      return out;
    })
    : headlines;
  let room = 0;
  for (const ids of framed) room += Math.max(0, ids.length - window);
  const inputs = new Int32Array(room * window);
  const targets = new Int32Array(room);
  let count = 0;
  let skipped = 0;
  for (const ids of framed) {
    for (let i = 0; i + window < ids.length; i++) {
      const span = ids.subarray(i, i + window + 1);
      if (span.includes(NO_ID)) {
        skipped++;
        continue;
      }
      inputs.set(span.subarray(0, window), count * window);
      targets[count++] = span[window];
    }
  }
  return {
    pairs: { inputs: inputs.slice(0, count * window), targets: targets.slice(0, count), count },
    skipped,
  };
}

/**
 * Cleaned headlines -> the pairs a model with this vocabulary, window and boundaries reads, the headlines
 * as ids (what a headline model's rows are made from), and how the words met the vocabulary: words not in it become `unk` where there is one (unk >= 0), else NO_ID, whose
 * pairs are skipped. `unknown` counts each such word's occurrences, in order of first appearance.
 */
export function headlinePairs(
  headlines: readonly string[][],
  vocab: readonly string[],
  unk: number,
  window: number,
  boundaries: boolean,
): { pairs: PairSet; coverage: Coverage; unknown: Map<string, number>; ids: Int32Array[] } {
  const known = new Set(vocab);
  const unknown = new Map<string, number>();
  let tokens = 0;
  let unknownTokens = 0;
  for (const words of headlines) {
    tokens += words.length;
    for (const w of words) {
      if (known.has(w)) continue;
      unknownTokens++;
      unknown.set(w, (unknown.get(w) ?? 0) + 1);
    }
  }
  const ids = headlines.map((w) => wordIds(w, vocab, unk));
  const { pairs, skipped } = makePairs(ids, window, boundaries);
  return {
    pairs,
    coverage: { tokens, unknownTokens, unknownWords: unknown.size, skippedPairs: skipped },
    unknown,
    ids,
  };
}
