/**
 * Rows of contexts that grow one word at a time, with every row's next-word logits: what prediction, sampling
 * and beam search walk. A window model's row is its last `window` ids, recomputed through backend.logits
 * at every word; a headline model's row is the LSTM state after everything it has read (from "<s>"),
 * carried through backend.advance, so each new word costs one step whatever the row's length.
 */
import { type Backend, stateSize } from "../model/backend.ts";
import { isHeadlineModel } from "../model/config.ts";
import { BOS_ID } from "../data/vocab.ts";
import type { Partner } from "../eval/partner.ts";
import { mixDistribution } from "../eval/mixture.ts";
import { logSoftmax } from "./sampling.ts";

/**
 * The rows of prompts being continued, whatever the model's kind: a window model recomputes its window, a
 * headline model carries its LSTM state.
 */
export interface ContextRows {
  /** Rows held. */
  readonly count: number;
  /** The next word's logits of every row, [count, V]. */
  logits(): Promise<Float32Array>;
  /** Whether row r has read nothing but "<s>" (no word of a headline yet: "</s>" cannot come next). */
  atStart(r: number): boolean;
  /**
   * Goes on with row keep[i] extended by ids[i] as row i, for every i: a row may be kept several times (beams)
   * or not at all (a sample that ended).
   */
  extend(keep: readonly number[], ids: readonly number[]): Promise<void>;
}

/** The count model to mix in (src/eval/partner.ts) and what it reads: each row's words so far. */
export interface RowsPartner {
  /** The count model and its weight. */
  partner: Partner;
  /** Per row, its words' ids (EncodedPrompt.ids), unframed: the count model frames them itself. */
  histories: readonly Int32Array[];
}

/**
 * The rows for these contexts: a window model's `window` ids each; a headline model's prefix each, "<s>"
 * first (src/sample/prompt.ts encodes both). With `partner`, each row's next-word distribution is the
 * mixture w P_model + (1 - w) P_count, as logits (its logarithm).
 */
export async function contextRows(
  backend: Backend,
  contexts: readonly Int32Array[],
  partner?: RowsPartner,
): Promise<ContextRows> {
  const rows = isHeadlineModel(backend.config)
    ? await HeadlineRows.open(backend, contexts)
    : new WindowRows(backend, contexts);
  return partner ? new PartnerRows(rows, partner) : rows;
}

class WindowRows implements ContextRows {
  readonly #backend: Backend;
  #windows: Int32Array[];

  constructor(backend: Backend, contexts: readonly Int32Array[]) {
    const T = backend.config.window;
    for (const c of contexts) {
      if (c.length !== T) throw new Error(`contextRows: a context of ${c.length} ids for a window of ${T}`);
    }
    this.#backend = backend;
    this.#windows = contexts.map((c) => c.slice());
  }

  get count(): number {
    return this.#windows.length;
  }

  logits(): Promise<Float32Array> {
    const T = this.#backend.config.window;
    const inputs = new Int32Array(this.count * T);
    this.#windows.forEach((w, i) => inputs.set(w, i * T));
    return this.#backend.logits(inputs, this.count);
  }

  atStart(r: number): boolean {
    return this.#windows[r].every((id) => id === BOS_ID);
  }

  extend(keep: readonly number[], ids: readonly number[]): Promise<void> {
    this.#windows = keep.map((r, i) => {
      const w = this.#windows[r].slice().copyWithin(0, 1);
      w[w.length - 1] = ids[i];
      return w;
    });
    return Promise.resolve();
  }
}

class HeadlineRows implements ContextRows {
  readonly #backend: Backend;
  /** Per row, its carried state (stateSize floats) and the logits it last produced. */
  #states: Float32Array[];
  #logits: Float32Array[];
  /** Per row, whether it has read only "<s>". */
  #atStart: boolean[];

  private constructor(backend: Backend, states: Float32Array[], logits: Float32Array[], atStart: boolean[]) {
    this.#backend = backend;
    this.#states = states;
    this.#logits = logits;
    this.#atStart = atStart;
  }

  /** Reads every prefix, one position at a time for all rows that still have one. */
  static async open(backend: Backend, contexts: readonly Int32Array[]): Promise<HeadlineRows> {
    const S = stateSize(backend.config);
    const V = backend.config.vocab;
    for (const c of contexts) {
      if (c.length < 1 || c[0] !== BOS_ID) throw new Error("contextRows: a headline context starts with <s>");
    }
    const states: Float32Array[] = contexts.map(() => new Float32Array(S));
    const logits: Float32Array[] = contexts.map(() => new Float32Array(V));
    const longest = contexts.reduce((m, c) => Math.max(m, c.length), 0);
    for (let t = 0; t < longest; t++) {
      const rows = contexts.flatMap((c, r) => (t < c.length ? [r] : []));
      const out = await advanceRows(
        backend,
        rows.map((r) => states[r]),
        rows.map((r) => contexts[r][t]),
        t > 0,
      );
      rows.forEach((r, i) => {
        states[r] = out.states[i];
        logits[r] = out.logits[i];
      });
    }
    return new HeadlineRows(backend, states, logits, contexts.map((c) => c.length === 1));
  }

  get count(): number {
    return this.#states.length;
  }

  logits(): Promise<Float32Array> {
    const V = this.#backend.config.vocab;
    const out = new Float32Array(this.count * V);
    this.#logits.forEach((l, i) => out.set(l, i * V));
    return Promise.resolve(out);
  }

  atStart(r: number): boolean {
    return this.#atStart[r];
  }

  async extend(keep: readonly number[], ids: readonly number[]): Promise<void> {
    const out = await advanceRows(this.#backend, keep.map((r) => this.#states[r]), ids, true);
    this.#states = out.states;
    this.#logits = out.logits;
    this.#atStart = keep.map(() => false);
  }
}

/** One backend.advance over rows (none: nothing to do), split back into rows. */
async function advanceRows(
  backend: Backend,
  states: readonly Float32Array[],
  ids: readonly number[],
  carried: boolean,
): Promise<{ states: Float32Array[]; logits: Float32Array[] }> {
  const n = ids.length;
  if (n === 0) return { states: [], logits: [] };
  const S = stateSize(backend.config);
  const V = backend.config.vocab;
  let packed: Float32Array | null = null;
  if (carried) {
    packed = new Float32Array(n * S);
    states.forEach((s, i) => packed!.set(s, i * S));
  }
  const out = await backend.advance(packed, Int32Array.from(ids), n);
  return {
    states: Array.from({ length: n }, (_, i) => out.state.slice(i * S, (i + 1) * S)),
    logits: Array.from({ length: n }, (_, i) => out.logits.slice(i * V, (i + 1) * V)),
  };
}

/** Rows whose logits are the log of the model's distribution mixed with the count model's. */
class PartnerRows implements ContextRows {
  readonly #inner: ContextRows;
  readonly #partner: Partner;
  #histories: Int32Array[];

  constructor(inner: ContextRows, { partner, histories }: RowsPartner) {
    if (histories.length !== inner.count) {
      throw new Error(`contextRows: ${histories.length} histories for ${inner.count} rows`);
    }
    this.#inner = inner;
    this.#partner = partner;
    this.#histories = histories.map((h) => h.slice());
  }

  get count(): number {
    return this.#inner.count;
  }

  async logits(): Promise<Float32Array> {
    const logits = await this.#inner.logits();
    const { model, weight } = this.#partner;
    const V = model.vocab;
    const count = new Float64Array(V);
    let mixed: Float64Array | undefined;
    for (let r = 0; r < this.count; r++) {
      const row = logits.subarray(r * V, (r + 1) * V);
      const h = this.#histories[r];
      model.distribution(model.history(h, h.length), count);
      mixed = mixDistribution(logSoftmax(row), count, weight, mixed);
      for (let v = 0; v < V; v++) row[v] = Math.log(mixed[v]);
    }
    return logits;
  }

  atStart(r: number): boolean {
    return this.#inner.atStart(r);
  }

  async extend(keep: readonly number[], ids: readonly number[]): Promise<void> {
    await this.#inner.extend(keep, ids);
    this.#histories = keep.map((r, i) => Int32Array.of(...this.#histories[r], ids[i]));
  }
}
