/**
 * An interpolated Kneser-Ney count model over a model's word ids: the 1990s baseline the LSTM is measured
 * against in `deno task eval`, and its partner in a mixture (src/eval/mixture.ts). Modified Kneser-Ney by
 * default (Chen & Goodman 1998: three discounts per order, for counts 1, 2 and 3+, estimated from that
 * order's counts of counts), or one fixed discount for every count and order (the plain interpolated
 * Kneser-Ney of issue 19's table).
 *
 * For an order-N model and a context c of up to N-1 words, with c' the context less its first word:
 *
 *   P_k(w | c) = max(a(c w) - D_k(a(c w)), 0) / a(c .) + gamma(c) P_{k-1}(w | c'),   P_0(w) = 1 / V
 *   gamma(c)   = (D_k1 N1(c .) + D_k2 N2(c .) + D_k3 N3+(c .)) / a(c .)
 *
 * where a is the raw count c(c w) at the highest order and the continuation count N1+(. c w) (how many
 * distinct words come before c w) below it, a(c .) their sum and Nr(c .) how many words have a = r. A
 * context never seen (a(c .) = 0) passes all its mass to the shorter one, so every distribution sums to 1
 * over the vocabulary and gives every word some probability.
 *
 * Headlines are counted as the model reads them: with boundaries each is framed by N-1 `<s>` and a final
 * `</s>` (as src/data/pairs.ts frames them for a window of N-1), so the first words are predicted from
 * `<s>` contexts; without, n-grams stay inside a headline and its first words have shorter contexts. A
 * NO_ID (a word with no id) cuts the headline: no n-gram spans it, and a context stops after it. Below the
 * highest order, an n-gram that starts at a headline's start or just after a NO_ID has no word before it;
 * that cut counts as one distinct predecessor, so an n-gram seen only there is not dropped from its order.
 */
import { BOS_ID, EOS_ID, NO_ID } from "../data/vocab.ts";
import { UserError } from "../errors.ts";

/** The order of the count model eval fits: contexts of 4 words (issue 19's best Kneser-Ney row). */
export const DEFAULT_KN_ORDER = 5;

/**
 * The discounts of counts 1, 2 and 3+ of an order whose counts of counts cannot give modified discounts
 * (a count of counts of 1, 2 or 3 is 0, or a discount falls outside (0, r]): KenLM's `lmplz
 * --discount_fallback` defaults. Small corpora and high orders hit this; the nine NYT files do not.
 */
export const FALLBACK_DISCOUNTS: readonly [number, number, number] = [0.5, 1, 1.5];

/** A context and the counts of the words seen after it; children are the contexts one word longer. */
export interface CountNode {
  /** Words seen after the context, ascending. */
  words: Int32Array;
  /** Their counts (>= 1): raw at the highest order, continuation counts below. */
  counts: Int32Array;
  /** The contexts that extend this one by a word at its front, keyed by that word. */
  children: Map<number, CountNode>;
}

/** What a fitted model is made of, and all that is stored of it (src/io/kneser_ney.ts). */
export interface KneserNeyCounts {
  /** N: contexts of up to N-1 words. */
  order: number;
  /** V: the model's vocabulary size; the distributions are over ids 0..V-1. */
  vocab: number;
  /** Headlines were framed by `<s>` (BOS_ID) and `</s>` (EOS_ID). */
  boundaries: boolean;
  /** The discounts of counts 1, 2 and 3+ at order k (1..N): discounts[3 (k - 1) + r - 1]. */
  discounts: Float64Array;
  /** The empty context (unigrams); a node at depth d holds the counts of order d + 1. */
  root: CountNode;
}

/** How a Kneser-Ney model is fitted. */
export interface KneserNeyOptions {
  /** N >= 1 (default DEFAULT_KN_ORDER). */
  order?: number;
  /** One discount for every count and order, 0 < D <= 1 (plain Kneser-Ney); absent: modified. */
  discount?: number;
}

/** Training headlines as the model's word ids. */
export interface KneserNeyCorpus {
  /** One Int32Array of ids per headline (`<unk>` is a word like any other; NO_ID cuts). */
  headlines: readonly Int32Array[];
  /** The model's vocabulary size. */
  vocab: number;
  /** The model frames headlines with `<s>` (BOS_ID) and `</s>` (EOS_ID). */
  boundaries: boolean;
}

/** Stands for "no word before" (a headline's start, or a NO_ID) when continuation counts are collected. */
const CUT = -2;

/** Counts the n-grams of `corpus` and estimates the discounts: a model to score with. */
export function fitKneserNey(corpus: KneserNeyCorpus, options: KneserNeyOptions = {}): KneserNey {
  const order = options.order ?? DEFAULT_KN_ORDER;
  const { vocab: V, boundaries } = corpus;
  if (!Number.isInteger(order) || order < 1) {
    throw new UserError(`Kneser-Ney order must be >= 1, got ${order}`);
  }
  checkVocab(V, boundaries);
  const fixed = options.discount;
  if (fixed !== undefined && !(fixed > 0 && fixed <= 1)) {
    throw new UserError(`a fixed Kneser-Ney discount must be in (0, 1], got ${fixed}`);
  }
  const byOrder = countNgrams(corpus, order);
  if (byOrder[0].size === 0) throw new UserError("Kneser-Ney: the training headlines have no word to count");
  const discounts = new Float64Array(3 * order);
  for (let k = 1; k <= order; k++) {
    const d = fixed !== undefined ? [fixed, fixed, fixed] : modifiedDiscounts(countsOfCounts(byOrder[k - 1]));
    discounts.set(d, 3 * (k - 1));
  }
  return new KneserNey({ order, vocab: V, boundaries, discounts, root: buildTrie(byOrder) });
}

function checkVocab(V: number, boundaries: boolean): void {
  if (!Number.isInteger(V) || V < (boundaries ? 3 : 1)) {
    throw new UserError(`Kneser-Ney: a vocabulary of ${V} words is too small`);
  }
}

/**
 * For each order k (index k - 1): the count of each k-gram (ids joined by spaces) that ends at a target,
 * raw at the highest order and continuation counts below.
 */
function countNgrams(corpus: KneserNeyCorpus, order: number): Map<string, number>[] {
  const byOrder = Array.from({ length: order }, () => new Map<string, number>());
  /** The (k+1)-grams already seen, CUT-led ones included: each adds one to its k-gram's continuation count. */
  const seen = Array.from({ length: order }, () => new Set<string>());
  const pad = order - 1;
  corpus.headlines.forEach((headline, h) => {
    for (let i = 0; i < headline.length; i++) {
      const id = headline[i];
      if (!(Number.isInteger(id) && id >= 0 && id < corpus.vocab) && id !== NO_ID) {
        throw new UserError(
          `Kneser-Ney: headline ${h} holds id ${id}, outside the vocabulary of ${corpus.vocab}`,
        );
      }
    }
    if (corpus.boundaries && headline.length === 0) return; // nothing to frame, as makePairs
    const ids = corpus.boundaries ? frame(headline, pad) : headline;
    let runStart = 0; // the first id after the last NO_ID
    for (let j = 0; j < ids.length; j++) {
      if (ids[j] === NO_ID) {
        runStart = j + 1;
        continue;
      }
      if (corpus.boundaries && j < pad) continue; // the framing `<s>` are never targets
      for (let k = 1; k <= Math.min(order, j - runStart + 1); k++) {
        const gram = ids.subarray(j - k + 1, j + 1).join(" ");
        const counts = byOrder[k - 1];
        const raw = k === order;
        if (raw) counts.set(gram, (counts.get(gram) ?? 0) + 1);
        else {
          const extended = `${j - k >= runStart ? ids[j - k] : CUT} ${gram}`;
          if (seen[k - 1].has(extended)) continue;
          seen[k - 1].add(extended);
          counts.set(gram, (counts.get(gram) ?? 0) + 1);
        }
      }
    }
  });
  return byOrder;
}

/** A headline framed as the model reads it with boundaries: `pad` BOS_IDs, its ids, EOS_ID. */
function frame(headline: Int32Array, pad: number): Int32Array {
  const out = new Int32Array(pad + headline.length + 1).fill(BOS_ID);
  out.set(headline, pad);
  out[out.length - 1] = EOS_ID;
  return out;
}

/** n1..n4 of one order: how many of its n-grams have count 1, 2, 3 and 4. */
function countsOfCounts(counts: Map<string, number>): [number, number, number, number] {
  const n: [number, number, number, number] = [0, 0, 0, 0];
  for (const c of counts.values()) if (c <= 4) n[c - 1]++;
  return n;
}

/**
 * Chen & Goodman's estimates from an order's counts of counts: Y = n1 / (n1 + 2 n2), D1 = 1 - 2Y n2/n1,
 * D2 = 2 - 3Y n3/n2, D3+ = 3 - 4Y n4/n3; FALLBACK_DISCOUNTS when a divisor is 0 or a discount leaves
 * (0, r] (above r a count would go negative; at 0 a context could leave nothing to shorter ones, and a
 * word unseen there would get probability 0).
 */
export function modifiedDiscounts(n: readonly number[]): [number, number, number] {
  const [n1, n2, n3, n4] = n;
  if (n1 === 0 || n2 === 0 || n3 === 0) return [...FALLBACK_DISCOUNTS];
  const y = n1 / (n1 + 2 * n2);
  const d: [number, number, number] = [1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3];
  return d.every((x, r) => x > 0 && x <= r + 1) ? d : [...FALLBACK_DISCOUNTS];
}

/** The counts by order as a trie of contexts, read from the word before the target backwards. */
function buildTrie(byOrder: Map<string, number>[]): CountNode {
  const pending = new Map<CountNode, Array<[number, number]>>();
  const root: CountNode = { words: new Int32Array(0), counts: new Int32Array(0), children: new Map() };
  for (const counts of byOrder) {
    for (const [gram, c] of counts) {
      const ids = gram.split(" ").map(Number);
      let node = root;
      for (let i = ids.length - 2; i >= 0; i--) {
        let child = node.children.get(ids[i]);
        if (child === undefined) {
          child = { words: new Int32Array(0), counts: new Int32Array(0), children: new Map() };
          node.children.set(ids[i], child);
        }
        node = child;
      }
      let list = pending.get(node);
      if (list === undefined) pending.set(node, list = []);
      list.push([ids[ids.length - 1], c]);
    }
  }
  for (const [node, list] of pending) {
    list.sort((a, b) => a[0] - b[0]);
    node.words = Int32Array.from(list, ([w]) => w);
    node.counts = Int32Array.from(list, ([, c]) => c);
  }
  return root;
}

/** A context's part of every distribution: its discounted probabilities and what it leaves to shorter ones. */
interface ContextNode {
  words: Int32Array;
  /** max(a(c w) - D, 0) / a(c .) of each word in `words`. */
  kept: Float64Array;
  /** gamma(c): the mass left to the shorter context. */
  gamma: number;
  children: Map<number, ContextNode>;
}

/** A fitted (or decoded) model: distributions over the next word after a history of ids. */
export class KneserNey {
  /** N: the longest n-gram counted (the context is N - 1 words). */
  readonly order: number;
  /** The vocabulary size it predicts over. */
  readonly vocab: number;
  /** Whether it frames headlines with "<s>" and "</s>". */
  readonly boundaries: boolean;
  /** What it was made from (for encoding). */
  readonly counts: KneserNeyCounts;
  readonly #root: ContextNode;

  /** A model from its counts and discounts (fitKneserNey or decodeKneserNey make them). */
  constructor(counts: KneserNeyCounts) {
    checkVocab(counts.vocab, counts.boundaries);
    this.order = counts.order;
    this.vocab = counts.vocab;
    this.boundaries = counts.boundaries;
    this.counts = counts;
    this.#root = contextNode(counts.root, 0, counts.discounts);
  }

  /** The discounts of counts 1, 2 and 3+ at order k (1..N). */
  discountsOf(k: number): [number, number, number] {
    const d = this.counts.discounts;
    return [d[3 * (k - 1)], d[3 * (k - 1) + 1], d[3 * (k - 1) + 2]];
  }

  /**
   * The context of the word at `position` of a headline (position = its length: the `</s>` after it,
   * with boundaries) as the model was counted: the N-1 ids before it, framed by `<s>` with boundaries,
   * shorter at the start without, and cut after a NO_ID.
   */
  history(headline: Int32Array, position: number): Int32Array {
    if (!(Number.isInteger(position) && position >= 0 && position <= headline.length)) {
      throw new UserError(
        `Kneser-Ney: position ${position} is outside a headline of ${headline.length} words`,
      );
    }
    const pad = this.boundaries ? this.order - 1 : 0;
    const out: number[] = [];
    for (let i = position - 1; i >= position - (this.order - 1) && i >= -pad; i--) {
      const id = i >= 0 ? headline[i] : BOS_ID;
      if (id === NO_ID) break;
      out.push(id);
    }
    return Int32Array.from(out.reverse());
  }

  /**
   * P(w | history) for every id w, into `out` (a new array when absent). The last N-1 ids of `history`
   * are the context (fewer after a NO_ID in it); O(V + the words stored for its contexts).
   */
  distribution(history: ArrayLike<number>, out: Float64Array = new Float64Array(this.vocab)): Float64Array {
    const path = this.#contexts(history);
    out.fill(0);
    // Longest context first: each shorter one's terms are scaled by the gammas of the longer ones.
    let scale = 1;
    for (let d = path.length - 1; d >= 0; d--) {
      const { words, kept, gamma } = path[d];
      for (let i = 0; i < words.length; i++) out[words[i]] += scale * kept[i];
      scale *= gamma;
    }
    const uniform = scale / this.vocab;
    for (let w = 0; w < this.vocab; w++) out[w] += uniform;
    return out;
  }

  /** log P(w | history), natural log. */
  logProb(history: ArrayLike<number>, w: number): number {
    if (!(Number.isInteger(w) && w >= 0 && w < this.vocab)) {
      throw new UserError(`Kneser-Ney: word id ${w} is outside the vocabulary of ${this.vocab}`);
    }
    let p = 1 / this.vocab;
    for (const { words, kept, gamma } of this.#contexts(history)) {
      const i = indexOf(words, w);
      p = (i >= 0 ? kept[i] : 0) + gamma * p;
    }
    return Math.log(p);
  }

  /** The seen contexts that are suffixes of `history`, shortest (the empty one) first. */
  #contexts(history: ArrayLike<number>): ContextNode[] {
    const path = [this.#root];
    let node = this.#root;
    for (let i = history.length - 1; i >= history.length - (this.order - 1) && i >= 0; i--) {
      const id = history[i];
      if (id === NO_ID) break;
      if (!(Number.isInteger(id) && id >= 0 && id < this.vocab)) {
        throw new UserError(`Kneser-Ney: history id ${id} is outside the vocabulary of ${this.vocab}`);
      }
      const next = node.children.get(id);
      if (next === undefined) break; // an unseen context: its mass all goes to the shorter one
      path.push(node = next);
    }
    return path;
  }
}

/** The probabilities of a context at depth d (order d + 1) and, recursively, of its longer contexts. */
function contextNode(node: CountNode, depth: number, discounts: Float64Array): ContextNode {
  // A context is stored only where a word was seen after it; an empty one would make gamma 0 / 0.
  if (node.words.length === 0) throw new UserError(`Kneser-Ney: a context at depth ${depth} has no words`);
  let total = 0;
  let left = 0;
  const kept = new Float64Array(node.words.length);
  for (let i = 0; i < node.counts.length; i++) total += node.counts[i];
  for (let i = 0; i < node.counts.length; i++) {
    const c = node.counts[i];
    const d = discounts[3 * depth + Math.min(c, 3) - 1];
    kept[i] = Math.max(c - d, 0) / total;
    left += d;
  }
  const children = new Map<number, ContextNode>();
  for (const [id, child] of node.children) children.set(id, contextNode(child, depth + 1, discounts));
  return { words: node.words, kept, gamma: left / total, children };
}

/** Index of `w` in the ascending `words`, or -1. */
function indexOf(words: Int32Array, w: number): number {
  let lo = 0;
  let hi = words.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid] < w) lo = mid + 1;
    else if (words[mid] > w) hi = mid - 1;
    else return mid;
  }
  return -1;
}
