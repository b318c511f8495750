/**
 * How well a predictor knows the next word of (window -> next word) pairs: mean cross-entropy in nats, its
 * perplexity, and top-1 / top-5 accuracy; for the model through any Backend, and for add-k smoothed unigram
 * and bigram baselines counted on training pairs, so a person can see whether the LSTM learnt more than
 * word counts. Every predictor ranks the vocabulary the same way (higher first, ties by lower id, as
 * predict's top-k), and the model is scored on its full softmax, as training's validation loss is.
 */
import type { PairSet } from "../data/types.ts";
import type { Backend } from "../model/backend.ts";
import { logSoftmax } from "../sample/sampling.ts";
import { isHeadlineModel, type ModelConfig } from "../model/config.ts";
import { headlineSteps, IGNORE_TARGET, makeSequences } from "../data/sequences.ts";

/**
 * The baselines' add-k smoothing by default. Near the best k for the bigram on held-out NYT headlines
 * (measured on 10% validation splits of April 2017 and of all nine files, with and without boundaries:
 * 0.003-0.03 best, add-1 1.8 to 3 times the perplexity), so the bigram is a strong baseline, not a straw man.
 */
export const DEFAULT_ADD_K = 0.01;

/** The accuracies reported: the target is the most likely word, or among the 5 most likely. */
export const TOP_K = [1, 5] as const;

/** A predictor's scores on some pairs. */
export interface Scores {
  /** Pairs scored. */
  pairs: number;
  /** Mean cross-entropy (negative log-likelihood of the target), nats per pair. */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** Share of pairs whose target is the predictor's first choice. */
  top1: number;
  /** Share of pairs whose target is among its five first choices. */
  top5: number;
}

/** Sums of per-pair results, turned into Scores at the end. */
export class Tally {
  #pairs = 0;
  #nll = 0;
  #hits = TOP_K.map(() => 0);

  /** One pair: the log-probability of its target, and the target's rank (0: first choice). */
  add(logProb: number, rank: number): void {
    this.#pairs++;
    this.#nll -= logProb;
    TOP_K.forEach((k, i) => {
      if (rank < k) this.#hits[i]++;
    });
  }

  /** Pairs added so far. */
  get count(): number {
    return this.#pairs;
  }

  /** The scores of the pairs added. */
  scores(): Scores {
    const n = this.#pairs;
    const loss = this.#nll / n;
    return { pairs: n, loss, perplexity: Math.exp(loss), top1: this.#hits[0] / n, top5: this.#hits[1] / n };
  }
}

/** Windows per logits call: bounds the block of logits held at once. */
const CHUNK = 256;

/**
 * Rows per logits call when scoring `headlines` with a model of this config: CHUNK windows' worth (a
 * headline model's row is as long as the longest headline). The backend's maxBatch: a GPU backend computes
 * all its maxBatch rows whatever a call asks, so a larger one would spend its time on rows nobody reads.
 */
export function scoringRows(config: ModelConfig, headlines: readonly Int32Array[] | undefined): number {
  return isHeadlineModel(config) ? Math.max(1, Math.floor(CHUNK / headlineSteps(headlines))) : CHUNK;
}

/**
 * The model's scores on a scored set (at least one target), from its logits (float64 log-softmax on the
 * host): a window model's on the pairs, a headline model's on every target of every headline.
 */
export async function scoreModel(
  backend: Backend,
  set: { pairs: PairSet; headlines?: Int32Array[] },
): Promise<Scores> {
  const tally = new Tally();
  await scoreModelRows(backend, set, (row, t) => tally.add(logSoftmax(row)[t], rankOf(row, t)));
  return tally.scores();
}

/**
 * The model's logits for each target of a scored set, in order (src/eval/partner.ts modelTargets): a
 * window model's pairs, a headline model's rows position by position. `use` gets the row over the
 * vocabulary (valid until it returns) and the target.
 */
export async function scoreModelRows(
  backend: Backend,
  set: { pairs: PairSet; headlines?: Int32Array[] },
  use: (logits: Float32Array, target: number) => void,
): Promise<void> {
  const V = backend.config.vocab;
  if (!isHeadlineModel(backend.config)) {
    const T = backend.config.window;
    const { pairs } = set;
    for (let first = 0; first < pairs.count; first += CHUNK) {
      const n = Math.min(CHUNK, pairs.count - first);
      const logits = await backend.logits(pairs.inputs.subarray(first * T, (first + n) * T), n);
      for (let i = 0; i < n; i++) use(logits.subarray(i * V, (i + 1) * V), pairs.targets[first + i]);
    }
    return;
  }
  if (!set.headlines) throw new Error("scoreModel: a headline model is scored on headlines");
  const rows = makeSequences(set.headlines).set;
  const S = rows.steps;
  const chunk = scoringRows(backend.config, set.headlines);
  for (let first = 0; first < rows.count; first += chunk) {
    const n = Math.min(chunk, rows.count - first);
    const logits = await backend.logits(rows.inputs.subarray(first * S, (first + n) * S), n);
    for (let i = 0; i < n * S; i++) {
      const t = rows.targets[first * S + i];
      if (t !== IGNORE_TARGET) use(logits.subarray(i * V, (i + 1) * V), t);
    }
  }
}

/** The target's rank in a row of scores (0: first choice): higher first, ties by lower id, as predict's top-k. */
export function rankOf(row: ArrayLike<number>, target: number): number {
  let rank = 0;
  for (let v = 0; v < row.length; v++) {
    if (row[v] > row[target] || (row[v] === row[target] && v < target)) rank++;
  }
  return rank;
}

/** Word and (last context word, next word) counts of training pairs: what the baselines know. */
export interface NgramCounts {
  /** Vocabulary size. */
  vocab: number;
  /** Words of context of the pairs counted. */
  window: number;
  /** Training pairs counted. */
  pairs: number;
  /** How often each id is a target. */
  unigram: Float64Array;
  /** For each last context word: how often each next word follows it, and in all. */
  bigram: Map<number, { next: Map<number, number>; total: number }>;
}

/** Counts the targets, and the (last context word, target) pairs, of `train` over a vocabulary of V. */
export function countNgrams(train: PairSet, V: number, window: number): NgramCounts {
  const unigram = new Float64Array(V);
  const bigram: NgramCounts["bigram"] = new Map();
  for (let i = 0; i < train.count; i++) {
    const prev = train.inputs[i * window + window - 1];
    const t = train.targets[i];
    unigram[t]++;
    let row = bigram.get(prev);
    if (row === undefined) bigram.set(prev, row = { next: new Map(), total: 0 });
    row.next.set(t, (row.next.get(t) ?? 0) + 1);
    row.total++;
  }
  return { vocab: V, window, pairs: train.count, unigram, bigram };
}

/** The unigram baseline: P(w) = (count(w) + k) / (pairs + k V), the same for every context. */
export function scoreUnigram(counts: NgramCounts, pairs: PairSet, k: number): Scores {
  const { vocab: V, unigram } = counts;
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => unigram[b] - unigram[a] || a - b);
  const rankOf = new Int32Array(V);
  order.forEach((id, rank) => rankOf[id] = rank);
  const norm = Math.log(counts.pairs + k * V);
  const tally = new Tally();
  for (let i = 0; i < pairs.count; i++) {
    const t = pairs.targets[i];
    tally.add(Math.log(unigram[t] + k) - norm, rankOf[t]);
  }
  return tally.scores();
}

/**
 * The bigram baseline: P(w | p) = (count(p, w) + k) / (count(p) + k V), p the last word of the context
 * (uniform after a p training never had as last word); the scored pairs' window T may differ from the
 * counted ones'.
 */
export function scoreBigram(counts: NgramCounts, pairs: PairSet, k: number, T = counts.window): Scores {
  const { vocab: V } = counts;
  const tally = new Tally();
  for (let i = 0; i < pairs.count; i++) {
    const t = pairs.targets[i];
    const row = counts.bigram.get(pairs.inputs[i * T + T - 1]);
    const c = row?.next.get(t) ?? 0;
    // Words counted more often rank first; among equal counts, lower ids. Words never seen after p all
    // have count 0: of those, the ones below t are every id below t less the seen ones.
    let rank = 0;
    let seenBelow = 0;
    for (const [w, n] of row?.next ?? []) {
      if (n > c || (n === c && w < t)) rank++;
      if (w < t) seenBelow++;
    }
    if (c === 0) rank += t - seenBelow;
    tally.add(Math.log(c + k) - Math.log((row?.total ?? 0) + k * V), rank);
  }
  return tally.scores();
}
