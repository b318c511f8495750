/**
 * Which words of headlines a model of a given window is scored on, and where each stands: exactly the
 * targets of the pairs src/data/pairs.ts makes for it, in the same order, so that a predictor which reads
 * more (or other) context than the window — the Kneser-Ney count model — is scored on the same words as
 * the model and can be mixed with it target by target.
 */
import { EOS_ID, NO_ID } from "../data/vocab.ts";

/**
 * Every target of some headlines, in order, with where it stands: what a headline model and a count model
 * both score.
 */
export interface HeadlineTargets {
  /** Number of targets. */
  count: number;
  /** Per target: the index of its headline. */
  headline: Int32Array;
  /** Per target: its position in the headline (the headline's length: the `</s>` after its last word). */
  position: Int32Array;
  /** Per target: its id. */
  target: Int32Array;
}

/**
 * The targets of `headlines` for a model of `window` words: with boundaries every word of a headline
 * with words and the `</s>` after it (n + 1 per headline); without, the words at positions >= window. A
 * target whose window or itself touches NO_ID is left out, as makePairs leaves its pair out.
 */
export function headlineTargets(
  headlines: readonly Int32Array[],
  window: number,
  boundaries: boolean,
): HeadlineTargets {
  const found: Array<[number, number, number]> = [];
  headlines.forEach((ids, h) => {
    const first = boundaries ? 0 : window;
    const last = boundaries && ids.length > 0 ? ids.length : ids.length - 1;
    for (let p = first; p <= last; p++) {
      // The window's ids before the headline are `<s>`, never NO_ID.
      if (ids.subarray(Math.max(0, p - window), p + 1).includes(NO_ID)) continue;
      found.push([h, p, p < ids.length ? ids[p] : EOS_ID]);
    }
  });
  return {
    count: found.length,
    headline: Int32Array.from(found, ([h]) => h),
    position: Int32Array.from(found, ([, p]) => p),
    target: Int32Array.from(found, ([, , t]) => t),
  };
}
