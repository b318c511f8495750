/**
 * The Backend contract, enforced once for every backend: each backend's factory wraps its implementation
 * in `checkedBackend`, which validates every argument (sizes, word ids, ranges, the order being a
 * permutation, Adam's hyperparameters and clipping norm) and refuses any use after destroy(), then
 * forwards. So the CPU reference and WebGPU fail alike on bad input, and an implementation only checks what
 * is its own (such as the largest batch its buffers were built for).
 */
import { type Backend, stateSize } from "./backend.ts";
import { isHeadlineModel, type ModelConfig } from "./config.ts";
import type { DropoutSettings } from "./dropout.ts";
import { paramLayout } from "./layout.ts";
import type { AdamHyper, AdamState } from "./optimizer.ts";

export function checkedBackend(inner: Backend): Backend {
  return new CheckedBackend(inner);
}

class CheckedBackend implements Backend {
  readonly #inner: Backend;
  readonly #total: number;
  /** Training pairs handed over (-1: none yet). */
  #pairs = -1;
  #destroyed = false;

  constructor(inner: Backend) {
    this.#inner = inner;
    this.#total = paramLayout(inner.config).total;
  }

  get name(): string {
    return this.#inner.name;
  }

  get config(): ModelConfig {
    return this.#inner.config;
  }

  setParams(flat: Float32Array): Promise<void> {
    this.#live();
    this.#checkFlat("setParams", flat);
    return this.#inner.setParams(flat);
  }

  getParams(): Promise<Float32Array> {
    this.#live();
    return this.#inner.getParams();
  }

  setAdamState(state: AdamState): Promise<void> {
    this.#live();
    this.#checkFlat("setAdamState m", state.m);
    this.#checkFlat("setAdamState v", state.v);
    if (!Number.isSafeInteger(state.adamStep) || state.adamStep < 0) {
      throw new Error(`setAdamState: adamStep must be a non-negative integer, got ${state.adamStep}`);
    }
    return this.#inner.setAdamState(state);
  }

  getAdamState(): Promise<AdamState> {
    this.#live();
    return this.#inner.getAdamState();
  }

  async setTrainData(inputs: Int32Array, targets: Int32Array, count: number): Promise<void> {
    this.#live();
    this.#checkPairs("setTrainData", inputs, targets, count);
    this.#pairs = -1; // until the new pairs are in: a failed upload leaves no pairs, not the old count
    await this.#inner.setTrainData(inputs, targets, count);
    this.#pairs = count;
  }

  setOrder(order: Int32Array): Promise<void> {
    this.#live();
    const count = this.#pairs;
    if (count < 0) throw new Error("setOrder before setTrainData");
    if (order.length !== count) throw new Error(`setOrder: ${order.length} indices for ${count} pairs`);
    const seen = new Uint8Array(count);
    for (const i of order) {
      if (!(i >= 0 && i < count) || seen[i]) {
        throw new Error(`setOrder: not a permutation of 0..${count - 1}`);
      }
      seen[i] = 1;
    }
    return this.#inner.setOrder(order);
  }

  trainStep(start: number, size: number, hyper: AdamHyper, dropout?: DropoutSettings): void {
    this.#live();
    if (this.#pairs < 0) throw new Error("trainStep before setTrainData");
    if (!(Number.isInteger(start) && Number.isInteger(size) && start >= 0 && size >= 1)) {
      throw new Error(`trainStep: bad range start ${start} size ${size}`);
    }
    if (start + size > this.#pairs) {
      throw new Error(`trainStep: pairs ${start}..${start + size} past the order's ${this.#pairs}`);
    }
    checkHyper(hyper);
    if (dropout) checkDropout(dropout);
    this.#inner.trainStep(start, size, hyper, dropout);
  }

  takeLosses(): Promise<number[]> {
    this.#live();
    return this.#inner.takeLosses();
  }

  evalLoss(inputs: Int32Array, targets: Int32Array, count: number): Promise<number> {
    this.#live();
    this.#checkPairs("evalLoss", inputs, targets, count);
    return this.#inner.evalLoss(inputs, targets, count);
  }

  logits(inputs: Int32Array, count: number): Promise<Float32Array> {
    this.#live();
    this.#rowSteps("logits", inputs, count);
    this.#checkIds("logits", inputs);
    return this.#inner.logits(inputs, count);
  }

  advance(
    state: Float32Array | null,
    ids: Int32Array,
    count: number,
  ): Promise<{ logits: Float32Array; state: Float32Array }> {
    this.#live();
    if (!isHeadlineModel(this.config)) throw new Error("advance: a window model carries no state");
    if (!Number.isInteger(count) || count < 1 || ids.length !== count) {
      throw new Error(`advance: ${ids.length} ids for ${count} rows`);
    }
    const floats = count * stateSize(this.config);
    if (state !== null && state.length !== floats) {
      throw new Error(`advance: a state of ${state.length} floats for ${count} rows of ${floats / count}`);
    }
    this.#checkIds("advance", ids);
    return this.#inner.advance(state, ids, count);
  }

  memoryBytes(): number {
    return this.#destroyed ? 0 : this.#inner.memoryBytes();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#inner.destroy();
  }

  #live(): void {
    if (this.#destroyed) throw new Error(`${this.name}: used after destroy()`);
  }

  #checkFlat(what: string, flat: Float32Array): void {
    if (flat.length !== this.#total) {
      throw new Error(`${what}: ${flat.length} floats, the layout has ${this.#total}`);
    }
  }

  /**
   * Positions per row of `count` rows: a window model's window; a headline model's inputs.length / count
   * (at least 1).
   */
  #rowSteps(what: string, inputs: Int32Array, count: number): number {
    const T = this.config.window;
    if (!isHeadlineModel(this.config)) {
      if (!Number.isInteger(count) || count < 1 || inputs.length !== count * T) {
        throw new Error(`${what}: ${inputs.length} ids for ${count} windows of ${T}`);
      }
      return T;
    }
    if (!Number.isInteger(count) || count < 1) throw new Error(`${what}: no rows (count ${count})`);
    const steps = inputs.length / count;
    if (!Number.isInteger(steps) || steps < 1) {
      throw new Error(`${what}: ${inputs.length} ids is no whole number of positions for ${count} rows`);
    }
    return steps;
  }

  /**
   * At least one row, the sizes agree, every id is a word of the vocabulary; a headline row's targets are
   * words up to its end and -1 after it, and it has at least one.
   */
  #checkPairs(what: string, inputs: Int32Array, targets: Int32Array, count: number): void {
    if (!isHeadlineModel(this.config)) {
      const T = this.config.window;
      if (!Number.isInteger(count) || count < 1) throw new Error(`${what}: no pairs (count ${count})`);
      if (inputs.length !== count * T || targets.length !== count) {
        throw new Error(`${what}: ${inputs.length} ids and ${targets.length} targets for ${count} pairs`);
      }
      this.#checkIds(what, inputs);
      this.#checkIds(what, targets);
      return;
    }
    const steps = this.#rowSteps(what, inputs, count);
    if (targets.length !== count * steps) {
      throw new Error(`${what}: ${inputs.length} ids and ${targets.length} targets for ${count} rows`);
    }
    this.#checkIds(what, inputs);
    const V = this.config.vocab;
    for (let r = 0; r < count; r++) {
      const row = targets.subarray(r * steps, (r + 1) * steps);
      const end = row.indexOf(-1);
      const length = end < 0 ? steps : end;
      if (length === 0) throw new Error(`${what}: row ${r} has no target`);
      for (let t = 0; t < steps; t++) {
        const id = row[t];
        const ok = t < length ? id >= 0 && id < V : id === -1;
        if (!ok) {
          throw new Error(
            `${what}: row ${r} position ${t}: target ${id} (${
              t < length ? `not in 0..${V - 1}` : "after the row's end, not -1"
            })`,
          );
        }
      }
    }
  }

  /** An id outside the vocabulary would read past the embedding or score a missing class. */
  #checkIds(what: string, ids: Int32Array): void {
    const V = this.config.vocab;
    for (const id of ids) {
      if (!(id >= 0 && id < V)) throw new Error(`${what}: word id ${id} not in 0..${V - 1}`);
    }
  }
}

/** A rate in [0, 1) (1 would drop everything) and a u32 seed. */
function checkDropout(d: DropoutSettings): void {
  if (!(d.rate >= 0 && d.rate < 1) || !(Number.isInteger(d.seed) && d.seed >= 0 && d.seed < 2 ** 32)) {
    throw new Error(`trainStep: invalid dropout ${JSON.stringify(d)}`);
  }
}

/**
 * torch.optim.Adam's own argument checks, and a clipping norm that is a positive finite number (torch takes
 * any, but a norm of 0 or less would zero or flip every gradient).
 */
function checkHyper(h: AdamHyper): void {
  const ok = Number.isFinite(h.lr) && h.lr > 0 && h.beta1 >= 0 && h.beta1 < 1 && h.beta2 >= 0 &&
    h.beta2 < 1 && Number.isFinite(h.eps) && h.eps >= 0 && Number.isFinite(h.weightDecay) &&
    h.weightDecay >= 0 && (h.clip === undefined || (Number.isFinite(h.clip) && h.clip > 0));
  if (!ok) throw new Error(`trainStep: invalid Adam hyperparameters ${JSON.stringify(h)}`);
}
