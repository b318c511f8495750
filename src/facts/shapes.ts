/**
 * The model shapes the kernels are checked and timed at (doctor's model-sized cases, the GPU tests' "real
 * shapes", the kernel benchmark): the notebook's window model on April 2017 with its batch and the epoch's
 * short last batch, and beside it a headline model (docs/headline-model.md) with a tied direct head, whose
 * batches run a row's positions, the last one fewer.
 */
import type { ModelConfig } from "../model/config.ts";

/** The shapes the "real" cases use: the models', their batch and the epoch's short last batch. */
export interface DoctorShapes {
  /** The window model whose kernels are checked. */
  model: ModelConfig;
  /** The training batch (both models'). */
  batch: number;
  /** Rows in the epoch's last, short batch (< batch). */
  lastBatch: number;
  /** A headline model checked beside it, at the same batches. */
  headline: {
    model: ModelConfig;
    /** The most positions a row holds: the buffers' (GpuBackendOptions.maxSteps) and a full batch's Tb. */
    steps: number;
    /** The short last batch's Tb (< steps). */
    lastSteps: number;
  };
}

/**
 * The notebook's model on April 2017 (V = 2482), batch 64, and that epoch's last batch of 20 pairs; the
 * headline model on the same headlines with boundaries (V = 2484), E = H = 64 tied to a direct head, rows of
 * up to 25 positions (the nine NYT files' longest), a last batch of 9.
 */
export const MODEL_SHAPES: DoctorShapes = {
  model: { vocab: 2482, embed: 16, hidden: 64, layers: 5, window: 2 },
  batch: 64,
  lastBatch: 20,
  headline: {
    model: { kind: "headline", vocab: 2484, embed: 64, hidden: 64, layers: 2, window: 1, head: 0, tie: true },
    steps: 25,
    lastSteps: 9,
  },
};

/**
 * Smaller model-sized shapes for adapters whose shader compiler is slow (wgpu's GL backend on llvmpipe
 * compiles the LSTM backward cell for H = 64 in minutes): the same kernel variants as MODEL_SHAPES (fc2 still
 * staged at 2·64·886² >= 1e8 flops, V still even but not a multiple of 4), H 32 and 2 layers; the headline
 * model at H 32 over rows of up to 12 positions (its fc2 still staged at 2·64·12·32·2484 >= 1e8 flops).
 */
export const SMALL_SHAPES: DoctorShapes = {
  model: { vocab: 886, embed: 16, hidden: 32, layers: 2, window: 2 },
  batch: 64,
  lastBatch: 20,
  headline: {
    model: { kind: "headline", vocab: 2484, embed: 32, hidden: 32, layers: 2, window: 1, head: 0, tie: true },
    steps: 12,
    lastSteps: 5,
  },
};
