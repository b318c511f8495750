/**
 * The Backend contract run by the CPU reference ops: slow, but the yardstick the WebGPU backend is
 * compared against, and a fallback where there is no adapter. Arguments are checked by checkedBackend.
 */
import type { Backend } from "../model/backend.ts";
import type { AdamHyper, AdamState } from "../model/optimizer.ts";
import { checkedBackend } from "../model/checked_backend.ts";
import { type ModelConfig, validateConfig } from "../model/config.ts";
import { paramLayout } from "../model/layout.ts";
import { adamStep } from "./adam.ts";
import { clipGradNorm } from "./grad_norm.ts";
import { modelForward, modelLossAndGrads } from "./model.ts";
import { softmaxCrossEntropy } from "./softmax_xent.ts";

/** Windows per forward pass in evalLoss/logits: bounds the [chunk, V] activations kept alive at once. */
const EVAL_CHUNK = 256;

/** Parameters start at 0 (padding included) until setParams; Adam state starts fresh (t = 0). */
export function createCpuBackend(cfg: ModelConfig): Promise<Backend> {
  return Promise.resolve(checkedBackend(new CpuBackend(validateConfig(cfg))));
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

  constructor(cfg: ModelConfig) {
    this.config = cfg;
    this.#total = paramLayout(cfg).total;
    this.#params = new Float32Array(this.#total);
    this.#grads = new Float32Array(this.#total);
    this.#m = new Float32Array(this.#total);
    this.#v = new Float32Array(this.#total);
  }

  setParams(flat: Float32Array): Promise<void> {
    this.#params.set(flat);
    return Promise.resolve();
  }

  getParams(): Promise<Float32Array> {
    return Promise.resolve(this.#params.slice());
  }

  setAdamState(state: AdamState): Promise<void> {
    this.#m.set(state.m);
    this.#v.set(state.v);
    this.#adamStep = state.adamStep;
    return Promise.resolve();
  }

  getAdamState(): Promise<AdamState> {
    return Promise.resolve({ m: this.#m.slice(), v: this.#v.slice(), adamStep: this.#adamStep });
  }

  /** The order starts as file order (identity) until setOrder. */
  setTrainData(inputs: Int32Array, targets: Int32Array, count: number): Promise<void> {
    this.#trainInputs = inputs.slice();
    this.#trainTargets = targets.slice();
    this.#order = Int32Array.from({ length: count }, (_, i) => i);
    return Promise.resolve();
  }

  setOrder(order: Int32Array): Promise<void> {
    this.#order = order.slice();
    return Promise.resolve();
  }

  trainStep(start: number, size: number, hyper: AdamHyper): void {
    const T = this.config.window;
    const inputs = new Int32Array(size * T);
    const targets = new Int32Array(size);
    for (let n = 0; n < size; n++) {
      const pair = this.#order[start + n];
      inputs.set(this.#trainInputs.subarray(pair * T, pair * T + T), n * T);
      targets[n] = this.#trainTargets[pair];
    }
    const loss = modelLossAndGrads(this.config, this.#params, inputs, targets, size, this.#grads);
    if (hyper.clip !== undefined) clipGradNorm(this.#grads, hyper.clip);
    this.#adamStep++;
    adamStep(this.#params, this.#grads, this.#m, this.#v, this.#adamStep, hyper);
    this.#losses.push(loss);
  }

  takeLosses(): Promise<number[]> {
    const losses = this.#losses;
    this.#losses = [];
    return Promise.resolve(losses);
  }

  evalLoss(inputs: Int32Array, targets: Int32Array, count: number): Promise<number> {
    const V = this.config.vocab;
    let total = 0;
    this.#forwardInChunks(inputs, count, (logits, start, n) => {
      // softmaxCrossEntropy returns the chunk's mean; weight it back to a sum.
      total += n * softmaxCrossEntropy(logits, targets.subarray(start, start + n), n, V, null);
    });
    return Promise.resolve(total / count);
  }

  logits(inputs: Int32Array, count: number): Promise<Float32Array> {
    const V = this.config.vocab;
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
    return 4 * (4 * this.#total + this.#trainInputs.length + this.#trainTargets.length + this.#order.length);
  }

  destroy(): void {
    this.#params =
      this.#grads =
      this.#m =
      this.#v =
        new Float32Array(0);
    this.#trainInputs = this.#trainTargets = this.#order = new Int32Array(0);
    this.#losses = [];
  }
}
