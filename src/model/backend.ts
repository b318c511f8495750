import type { ModelConfig } from "./config.ts";
import type { AdamHyper, AdamState } from "./optimizer.ts";

/**
 * What the training loop and predict need from a place that runs the model: the CPU reference or WebGPU.
 * The model (op order, shapes) is the same on both; they differ only in how each op runs. Training data is
 * handed over once; each step names a range of the current epoch's order, so a step moves no data.
 */
export interface Backend {
  /** "cpu (reference)" or "webgpu (<adapter description>)". */
  readonly name: string;
  readonly config: ModelConfig;

  setParams(flat: Float32Array): Promise<void>;
  getParams(): Promise<Float32Array>;
  setAdamState(state: AdamState): Promise<void>;
  getAdamState(): Promise<AdamState>;

  /** Hands over the training pairs (inputs: count*window ids, targets: count ids). */
  setTrainData(inputs: Int32Array, targets: Int32Array, count: number): Promise<void>;
  /** The epoch's order of pair indices (a permutation of 0..count-1, or identity for file order). */
  setOrder(order: Int32Array): Promise<void>;
  /**
   * Queues one optimizer step on pairs order[start .. start+size): forward, mean cross-entropy, backward,
   * Adam. Nothing is read back; the loss is kept for takeLosses.
   */
  trainStep(start: number, size: number, hyper: AdamHyper): void;
  /** Losses of the steps queued since the last call, in order (the only readback of training). */
  takeLosses(): Promise<number[]>;

  /** Mean cross-entropy over pairs without changing anything (validation). */
  evalLoss(inputs: Int32Array, targets: Int32Array, count: number): Promise<number>;
  /** Logits [count, V] for count windows of ids (prediction). */
  logits(inputs: Int32Array, count: number): Promise<Float32Array>;

  /** Bytes of device (or host, for cpu) memory this backend holds for tensors. */
  memoryBytes(): number;
  destroy(): void;
}
