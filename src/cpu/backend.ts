/**
 * The Backend contract run by the CPU reference ops: slow, but the yardstick the WebGPU backend is
 * compared against, and a fallback where there is no adapter. Arguments are checked by checkedBackend.
 */
import { type Backend, stateSize } from "../model/backend.ts";
import type { AdamHyper, AdamState } from "../model/optimizer.ts";
import { checkedBackend } from "../model/checked_backend.ts";
import { isHeadlineModel, type ModelConfig, validateConfig } from "../model/config.ts";
import type { DropoutSettings } from "../model/dropout.ts";
import { paramLayout } from "../model/layout.ts";
import { rowLengths, trimRows } from "../data/sequences.ts";
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
  /** Positions per training row: the window, or the longest headline's. */
  #trainSteps = 0;
  /** Each training row's positions with a target (headline models; the window for window models). */
  #trainLengths: Int32Array = new Int32Array(0);
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
    this.#trainSteps = inputs.length / count;
    this.#trainLengths = isHeadlineModel(this.config)
      ? rowLengths(targets, count)
      : new Int32Array(count).fill(this.config.window);
    this.#order = Int32Array.from({ length: count }, (_, i) => i);
    return Promise.resolve();
  }

  setOrder(order: Int32Array): Promise<void> {
    this.#order = order.slice();
    return Promise.resolve();
  }

  /** A headline batch runs as many positions as its longest row; a window batch its window. */
  trainStep(start: number, size: number, hyper: AdamHyper, dropout?: DropoutSettings): void {
    const S = this.#trainSteps;
    const rows = Array.from({ length: size }, (_, n) => this.#order[start + n]);
    const T = Math.max(...rows.map((r) => this.#trainLengths[r]));
    const perRow = isHeadlineModel(this.config) ? S : 1;
    const inputs = new Int32Array(size * S);
    const targets = new Int32Array(size * perRow);
    rows.forEach((r, n) => {
      inputs.set(this.#trainInputs.subarray(r * S, (r + 1) * S), n * S);
      targets.set(this.#trainTargets.subarray(r * perRow, (r + 1) * perRow), n * perRow);
    });
    const batch = perRow === 1 ? { inputs, targets } : trimRows(inputs, targets, size, S, T);
    const loss = modelLossAndGrads(
      this.config,
      this.#params,
      batch.inputs,
      batch.targets,
      size,
      this.#grads,
      {
        steps: T,
        dropout: dropout && { settings: dropout, step: this.#adamStep + 1 },
      },
    );
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
    const perRow = isHeadlineModel(this.config) ? inputs.length / count : 1;
    let total = 0;
    let scored = 0;
    this.#forwardInChunks(inputs, count, (logits, start, n) => {
      const chunk = targets.subarray(start * perRow, (start + n) * perRow);
      const valid = chunk.reduce((sum, t) => sum + (t >= 0 ? 1 : 0), 0);
      // softmaxCrossEntropy returns the chunk's mean; weight it back to a sum.
      total += valid * softmaxCrossEntropy(logits, chunk, n * perRow, V, null);
      scored += valid;
    });
    return Promise.resolve(total / scored);
  }

  logits(inputs: Int32Array, count: number): Promise<Float32Array> {
    const V = this.config.vocab;
    const perRow = isHeadlineModel(this.config) ? inputs.length / count : 1;
    const out = new Float32Array(count * perRow * V);
    this.#forwardInChunks(inputs, count, (logits, start) => out.set(logits, start * perRow * V));
    return Promise.resolve(out);
  }

  advance(
    state: Float32Array | null,
    ids: Int32Array,
    count: number,
  ): Promise<{ logits: Float32Array; state: Float32Array }> {
    const { layers: L, hidden: H } = this.config;
    const S = stateSize(this.config);
    // Per layer, the rows' h and c side by side as the LSTM reads them ([count, H] each).
    const initial = state === null ? undefined : Array.from({ length: L }, (_, k) => {
      const h = new Float32Array(count * H);
      const c = new Float32Array(count * H);
      for (let r = 0; r < count; r++) {
        const at = r * S + k * 2 * H;
        h.set(state.subarray(at, at + H), r * H);
        c.set(state.subarray(at + H, at + 2 * H), r * H);
      }
      return { h, c };
    });
    const { logits, cache } = modelForward(this.config, this.#params, ids, count, { steps: 1, initial });
    const next = new Float32Array(count * S);
    cache.lstm.forEach((layer, k) => {
      for (let r = 0; r < count; r++) {
        next.set(layer.h.subarray(r * H, (r + 1) * H), r * S + k * 2 * H);
        next.set(layer.c.subarray(r * H, (r + 1) * H), r * S + k * 2 * H + H);
      }
    });
    return Promise.resolve({ logits, state: next });
  }

  /** The forward pass over `count` rows, EVAL_CHUNK at a time; `use` gets each chunk's logits. */
  #forwardInChunks(
    inputs: Int32Array,
    count: number,
    use: (logits: Float32Array, start: number, n: number) => void,
  ): void {
    const T = inputs.length / count;
    for (let start = 0; start < count; start += EVAL_CHUNK) {
      const n = Math.min(EVAL_CHUNK, count - start);
      const { logits } = modelForward(
        this.config,
        this.#params,
        inputs.subarray(start * T, (start + n) * T),
        n,
        { steps: T },
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
