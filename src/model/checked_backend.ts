/**
 * The Backend contract, enforced once for every backend: each backend's factory wraps its implementation
 * in `checkedBackend`, which validates every argument (sizes, word ids, ranges, the order being a
 * permutation, Adam's hyperparameters and clipping norm) and refuses any use after destroy(), then
 * forwards. So the CPU reference and WebGPU fail alike on bad input, and an implementation only checks what
 * is its own (such as the largest batch its buffers were built for).
 */
import type { Backend } from "./backend.ts";
import type { ModelConfig } from "./config.ts";
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

  trainStep(start: number, size: number, hyper: AdamHyper): void {
    this.#live();
    if (this.#pairs < 0) throw new Error("trainStep before setTrainData");
    if (!(Number.isInteger(start) && Number.isInteger(size) && start >= 0 && size >= 1)) {
      throw new Error(`trainStep: bad range start ${start} size ${size}`);
    }
    if (start + size > this.#pairs) {
      throw new Error(`trainStep: pairs ${start}..${start + size} past the order's ${this.#pairs}`);
    }
    checkHyper(hyper);
    this.#inner.trainStep(start, size, hyper);
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
    const T = this.config.window;
    if (!Number.isInteger(count) || count < 1 || inputs.length !== count * T) {
      throw new Error(`logits: ${inputs.length} ids for ${count} windows of ${T}`);
    }
    this.#checkIds("logits", inputs);
    return this.#inner.logits(inputs, count);
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

  /** At least one pair, the sizes agree, and every id is a word of the vocabulary. */
  #checkPairs(what: string, inputs: Int32Array, targets: Int32Array, count: number): void {
    const T = this.config.window;
    if (!Number.isInteger(count) || count < 1) throw new Error(`${what}: no pairs (count ${count})`);
    if (inputs.length !== count * T || targets.length !== count) {
      throw new Error(`${what}: ${inputs.length} ids and ${targets.length} targets for ${count} pairs`);
    }
    this.#checkIds(what, inputs);
    this.#checkIds(what, targets);
  }

  /** An id outside the vocabulary would read past the embedding or score a missing class. */
  #checkIds(what: string, ids: Int32Array): void {
    const V = this.config.vocab;
    for (const id of ids) {
      if (!(id >= 0 && id < V)) throw new Error(`${what}: word id ${id} not in 0..${V - 1}`);
    }
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
