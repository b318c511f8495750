/**
 * The Backend contract run by the CPU reference ops: slow, but the yardstick the WebGPU backend is
 * compared against, and a fallback where there is no adapter.
 */
import type { AdamState, Backend } from "../model/backend.ts";
import { type ModelConfig, validateConfig } from "../model/config.ts";
import { paramLayout } from "../model/layout.ts";
import { type AdamHyper, adamStep } from "./adam.ts";
import { modelForward, modelLossAndGrads } from "./model.ts";
import { softmaxCrossEntropy } from "./softmax_xent.ts";

/** Windows per forward pass in evalLoss/logits: bounds the [chunk, V] activations kept alive at once. */
const EVAL_CHUNK = 256;

/** Parameters start at 0 (padding included) until setParams; Adam state starts fresh (t = 0). */
export function createCpuBackend(cfg: ModelConfig): Promise<Backend> {
  return Promise.resolve(new CpuBackend(validateConfig(cfg)));
}

class CpuBackend implements Backend {
  readonly name = "cpu (reference)";
  readonly config: ModelConfig;
  readonly #total: number;
  #params: Float32Array;
  #grads: Float32Array;
  #m: Float32Array;
  #v: Float32Array;
  #adamStep = 0;
  #trainInputs = new Int32Array(0);
  #trainTargets = new Int32Array(0);
  #order = new Int32Array(0);
  #losses: number[] = [];
  #destroyed = false;

  constructor(cfg: ModelConfig) {
    this.config = cfg;
    this.#total = paramLayout(cfg).total;
    this.#params = new Float32Array(this.#total);
    this.#grads = new Float32Array(this.#total);
    this.#m = new Float32Array(this.#total);
    this.#v = new Float32Array(this.#total);
  }

  setParams(flat: Float32Array): Promise<void> {
    this.#live();
    this.#checkFlat("setParams", flat);
    this.#params.set(flat);
    return Promise.resolve();
  }

  getParams(): Promise<Float32Array> {
    this.#live();
    return Promise.resolve(this.#params.slice());
  }

  setAdamState(state: AdamState): Promise<void> {
    this.#live();
    this.#checkFlat("setAdamState m", state.m);
    this.#checkFlat("setAdamState v", state.v);
    if (!Number.isInteger(state.adamStep) || state.adamStep < 0) {
      throw new Error(`setAdamState: adamStep must be a non-negative integer, got ${state.adamStep}`);
    }
    this.#m.set(state.m);
    this.#v.set(state.v);
    this.#adamStep = state.adamStep;
    return Promise.resolve();
  }

  getAdamState(): Promise<AdamState> {
    this.#live();
    return Promise.resolve({ m: this.#m.slice(), v: this.#v.slice(), adamStep: this.#adamStep });
  }

  setTrainData(inputs: Int32Array, targets: Int32Array, count: number): Promise<void> {
    this.#live();
    this.#checkPairs("setTrainData", inputs, targets, count);
    this.#trainInputs = inputs.slice();
    this.#trainTargets = targets.slice();
    this.#order = new Int32Array(0);
    return Promise.resolve();
  }

  setOrder(order: Int32Array): Promise<void> {
    this.#live();
    const count = this.#trainTargets.length;
    if (order.length !== count) throw new Error(`setOrder: ${order.length} indices for ${count} pairs`);
    const seen = new Uint8Array(count);
    for (const i of order) {
      if (!(i >= 0 && i < count) || seen[i]) {
        throw new Error(`setOrder: not a permutation of 0..${count - 1}`);
      }
      seen[i] = 1;
    }
    this.#order = order.slice();
    return Promise.resolve();
  }

  trainStep(start: number, size: number, hyper: AdamHyper): void {
    this.#live();
    const T = this.config.window;
    if (!(Number.isInteger(start) && Number.isInteger(size) && start >= 0 && size >= 1)) {
      throw new Error(`trainStep: bad range start ${start} size ${size}`);
    }
    if (start + size > this.#order.length) {
      throw new Error(`trainStep: pairs ${start}..${start + size} past the order's ${this.#order.length}`);
    }
    const inputs = new Int32Array(size * T);
    const targets = new Int32Array(size);
    for (let n = 0; n < size; n++) {
      const pair = this.#order[start + n];
      inputs.set(this.#trainInputs.subarray(pair * T, pair * T + T), n * T);
      targets[n] = this.#trainTargets[pair];
    }
    const loss = modelLossAndGrads(this.config, this.#params, inputs, targets, size, this.#grads);
    this.#adamStep++;
    adamStep(this.#params, this.#grads, this.#m, this.#v, this.#adamStep, hyper);
    this.#losses.push(loss);
  }

  takeLosses(): Promise<number[]> {
    this.#live();
    const losses = this.#losses;
    this.#losses = [];
    return Promise.resolve(losses);
  }

  evalLoss(inputs: Int32Array, targets: Int32Array, count: number): Promise<number> {
    this.#live();
    this.#checkPairs("evalLoss", inputs, targets, count);
    if (count === 0) throw new Error("evalLoss: no pairs");
    const V = this.config.vocab;
    let total = 0;
    this.#forwardInChunks(inputs, count, (logits, start, n) => {
      // softmaxCrossEntropy returns the chunk's mean; weight it back to a sum.
      total += n * softmaxCrossEntropy(logits, targets.subarray(start, start + n), n, V, null);
    });
    return Promise.resolve(total / count);
  }

  logits(inputs: Int32Array, count: number): Promise<Float32Array> {
    this.#live();
    const { vocab: V, window: T } = this.config;
    if (inputs.length !== count * T) throw new Error(`logits: ${inputs.length} ids for ${count} windows`);
    this.#checkIds("logits", inputs);
    const out = new Float32Array(count * V);
    this.#forwardInChunks(inputs, count, (logits, start) => out.set(logits, start * V));
    return Promise.resolve(out);
  }

  /** The forward pass over `count` windows, EVAL_CHUNK at a time; `use` gets each chunk's logits. */
  #forwardInChunks(
    inputs: Int32Array,
    count: number,
    use: (logits: Float32Array, start: number, n: number) => void,
  ): void {
    const T = this.config.window;
    for (let start = 0; start < count; start += EVAL_CHUNK) {
      const n = Math.min(EVAL_CHUNK, count - start);
      const { logits } = modelForward(
        this.config,
        this.#params,
        inputs.subarray(start * T, (start + n) * T),
        n,
      );
      use(logits, start, n);
    }
  }

  /** Host bytes of parameters, gradients, both Adam moments and the training data. */
  memoryBytes(): number {
    if (this.#destroyed) return 0;
    return 4 * (4 * this.#total + this.#trainInputs.length + this.#trainTargets.length + this.#order.length);
  }

  destroy(): void {
    this.#destroyed = true;
    this.#params =
      this.#grads =
      this.#m =
      this.#v =
        new Float32Array(0);
    this.#trainInputs = this.#trainTargets = this.#order = new Int32Array(0);
    this.#losses = [];
  }

  #live(): void {
    if (this.#destroyed) throw new Error(`${this.name}: used after destroy()`);
  }

  #checkFlat(what: string, flat: Float32Array): void {
    if (flat.length !== this.#total) {
      throw new Error(`${what}: ${flat.length} floats, the layout has ${this.#total}`);
    }
  }

  #checkPairs(what: string, inputs: Int32Array, targets: Int32Array, count: number): void {
    const T = this.config.window;
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
