/** Sliding-window training pairs: `window` consecutive word ids -> the id of the next word. */
import type { PairSet } from "./types.ts";
import { NO_ID } from "./vocab.ts";

/**
 * The notebook's pairs: for each headline w and each i with i + window < w.length, inputs
 * w[i..i+window-1] -> target w[i+window], headline by headline in order. A pair touching a NO_ID word
 * is skipped (counted in `skipped`) rather than joined across the gap.
 */
export function makePairs(
  headlines: readonly Int32Array[],
  window: number,
): { pairs: PairSet; skipped: number } {
  let room = 0;
  for (const ids of headlines) room += Math.max(0, ids.length - window);
  const inputs = new Int32Array(room * window);
  const targets = new Int32Array(room);
  let count = 0;
  let skipped = 0;
  for (const ids of headlines) {
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
