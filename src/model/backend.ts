import type { ModelConfig } from "./config.ts";
import type { DropoutSettings } from "./dropout.ts";
import type { AdamHyper, AdamState } from "./optimizer.ts";

/**
 * What the training loop and predict need from a place that runs the model: the CPU reference or WebGPU.
 * The model (op order, shapes) is the same on both; they differ only in how each op runs. Training data is
 * handed over once; each step names a range of the current epoch's order, so a step moves no data.
 *
 * What a row of data is follows the model's kind (docs/headline-model.md):
 * - a window model's row is `window` ids with one target (the word after them);
 * - a headline model's row is a headline of `steps` positions (steps = inputs.length / count, the same for
 *   every row of one call), `<s>` and its words, with a target at every position: the next word, `</s>`
 *   after the last one, and -1 (IGNORE_TARGET) for the padding after a shorter row's end. Every row has at
 *   least one target, and a row's targets end at its first -1.
 * A loss is always the mean over the targets given (PyTorch's CrossEntropyLoss(ignore_index=-1)).
 */
export interface Backend {
  /** "cpu (reference)" or "webgpu (<adapter description>)". */
  readonly name: string;
  /** The model it runs. */
  readonly config: ModelConfig;

  /** Sets every parameter from a flat buffer in paramLayout order. */
  setParams(flat: Float32Array): Promise<void>;
  /** The parameters, flat in paramLayout order (a readback on the GPU). */
  getParams(): Promise<Float32Array>;
  /** Sets Adam's moments and step count (a resumed run's). */
  setAdamState(state: AdamState): Promise<void>;
  /** Adam's moments and step count. */
  getAdamState(): Promise<AdamState>;

  /** Hands over the training rows (see above for what inputs and targets hold per kind). */
  setTrainData(inputs: Int32Array, targets: Int32Array, count: number): Promise<void>;
  /** The epoch's order of row indices (a permutation of 0..count-1, or identity for file order). */
  setOrder(order: Int32Array): Promise<void>;
  /**
   * Queues one optimizer step on rows order[start .. start+size): forward (dropping activations when
   * `dropout` is given with a rate above 0, masks keyed by Adam's step count), mean cross-entropy,
   * backward, Adam. A headline batch runs as many positions as its longest row. Nothing is read back; the
   * loss is kept for takeLosses.
   */
  trainStep(start: number, size: number, hyper: AdamHyper, dropout?: DropoutSettings): void;
  /** Losses of the steps queued since the last call, in order (the only readback of training). */
  takeLosses(): Promise<number[]>;

  /** Mean cross-entropy over the rows' targets without changing anything (validation). */
  evalLoss(inputs: Int32Array, targets: Int32Array, count: number): Promise<number>;
  /**
   * Logits for count rows of ids (prediction, scoring): a window model's [count, V], one row per window; a
   * headline model's [count, steps, V], one row per position (a padded position's row is meaningless).
   */
  logits(inputs: Int32Array, count: number): Promise<Float32Array>;
  /**
   * Headline models only (a window model refuses): one position for each of `count` rows, from each row's
   * carried LSTM state (null: the zero state a headline starts from) and the id it reads now. Returns the
   * logits [count, V] and the state after it, [count, layers, 2, H] (per row, per layer: h then c), for the
   * next call.
   */
  advance(
    state: Float32Array | null,
    ids: Int32Array,
    count: number,
  ): Promise<{ logits: Float32Array; state: Float32Array }>;

  /** Bytes of device (or host, for cpu) memory this backend holds for tensors. */
  memoryBytes(): number;
  /** Frees what it holds (GPU buffers); it cannot be used after. */
  destroy(): void;
}

/** Floats of one row's carried state in Backend.advance: h and c of every layer. */
export function stateSize(cfg: ModelConfig): number {
  return cfg.layers * 2 * cfg.hidden;
}
