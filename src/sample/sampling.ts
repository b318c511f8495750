/**
 * Turning one row of logits into a next word: stable softmax with temperature, top-k and nucleus (top-p)
 * filtering, greedy choice and a seeded draw. Pure functions over plain arrays, so they are tested against
 * hand-computed distributions and shared by every backend.
 */
import type { Rng } from "../model/rng.ts";
import type { ContextRows } from "./contexts.ts";

/**
 * softmax(logits / temperature) in float64. The max is subtracted first so exp never overflows, whatever
 * the logits' scale; temperature must be > 0 (0, greedy, has no distribution: use `greedy`).
 */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  if (!(temperature > 0)) throw new Error(`softmax: temperature must be > 0, got ${temperature}`);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp((logits[i] - max) / temperature);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/**
 * Sets the logits of `ids` to -Infinity in each of the `rows` rows of a [rows, V] block, in place, so that
 * no softmax gives them probability and no choice can pick them.
 */
export function banIds(logits: Float32Array, V: number, ids: readonly number[]): Float32Array {
  for (let row = 0; row < logits.length; row += V) for (const id of ids) logits[row + id] = -Infinity;
  return logits;
}

/**
 * Bans `endId` in each row that has read nothing but the start of a headline: ending there would make a
 * headline with no words, which training never shows (it frames only headlines that have one), and which
 * would otherwise win a beam search by being short.
 */
export function banEndAtStart(logits: Float32Array, rows: ContextRows, endId: number): Float32Array {
  const V = logits.length / rows.count;
  for (let r = 0; r < rows.count; r++) if (rows.atStart(r)) logits[r * V + endId] = -Infinity;
  return logits;
}

/** log(softmax(logits)) in float64, by the same max-shift as softmax (no exp overflows, -Infinity stays). */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const logSum = Math.log(sum);
  return Float64Array.from({ length: logits.length }, (_, i) => logits[i] - max - logSum);
}

/** Index of the largest value; ties go to the lowest index, so a choice never depends on sort stability. */
export function greedy(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Indices of the k largest values, largest first; equal values in increasing index order. */
export function topK(values: ArrayLike<number>, k: number): Int32Array {
  if (!Number.isInteger(k) || k < 1 || k > values.length) {
    throw new Error(`topK: k must be an integer in [1, ${values.length}], got ${k}`);
  }
  const ids = Int32Array.from({ length: values.length }, (_, i) => i);
  ids.sort((a, b) => values[b] - values[a] || a - b);
  return ids.slice(0, k);
}

/** How a next word is drawn from the model's logits. */
export interface SamplingOptions {
  /** Divides the logits before softmax; 0 means greedy (no draw). */
  temperature: number;
  /** Keep only the k most likely words (undefined: all). */
  topK?: number;
  /** Keep the smallest most-likely-first set whose probability reaches p, in (0, 1] (undefined: 1). */
  topP?: number;
}

/** A distribution restricted to some words: ids most likely first, their probabilities summing to 1. */
export interface Candidates {
  /** Word ids, most likely first. */
  ids: Int32Array;
  /** Their probabilities. */
  probs: Float64Array;
}

/**
 * What a sampled word is drawn from: softmax at the temperature, cut to the top k, renormalised, cut to the
 * nucleus of mass p (the order Hugging Face's top-k then top-p warpers use), renormalised again.
 * Temperature 0 gives the single greedy word with probability 1.
 */
export function samplingCandidates(logits: ArrayLike<number>, opts: SamplingOptions): Candidates {
  if (opts.temperature === 0) return { ids: Int32Array.of(greedy(logits)), probs: Float64Array.of(1) };
  const probs = softmax(logits, opts.temperature);
  let ids = topK(probs, opts.topK ?? probs.length);
  let kept = renormalised(probs, ids);
  const p = opts.topP ?? 1;
  if (!(p > 0 && p <= 1)) throw new Error(`top-p must be in (0, 1], got ${p}`);
  if (p < 1) {
    // A word is kept while the mass before it is below p, so the most likely word always survives.
    let n = 0;
    for (let before = 0; n < ids.length && before < p; n++) before += kept[n];
    ids = ids.slice(0, n);
    kept = renormalised(kept, Int32Array.from({ length: n }, (_, i) => i));
  }
  return { ids, probs: kept };
}

/** values[ids[i]] / their sum, in ids order. */
function renormalised(values: Float64Array, ids: Int32Array): Float64Array {
  const out = Float64Array.from(ids, (id) => values[id]);
  let sum = 0;
  for (const v of out) sum += v;
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/**
 * Draws index i with probability weights[i] / sum(weights), consuming exactly one rng.next(), so a seed
 * fixes the whole sequence of draws.
 */
export function drawIndex(weights: ArrayLike<number>, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i];
  if (!(total > 0)) throw new Error("drawIndex: weights must have a positive sum");
  const target = rng.next() * total;
  let cumulative = 0;
  let lastPositive = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] <= 0) continue;
    cumulative += weights[i];
    lastPositive = i;
    if (target < cumulative) return i;
  }
  // Rounding can leave the running sum a hair under the total; the draw then belongs to the last word.
  return lastPositive;
}

/** One next word for one row of logits; greedy (temperature 0) consumes no randomness. */
export function sampleNext(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
  if (opts.temperature === 0) return greedy(logits);
  // Without a cut there is nothing to sort: draw straight from the softmax, in id order.
  if (opts.topK === undefined && (opts.topP ?? 1) === 1) {
    return drawIndex(softmax(logits, opts.temperature), rng);
  }
  const c = samplingCandidates(logits, opts);
  return c.ids[drawIndex(c.probs, rng)];
}
