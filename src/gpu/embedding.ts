/**
 * Word embedding on the GPU: the forward gathers the step's rows straight from the uploaded data through
 * the epoch's order (no host-side batch assembly), the backward overwrites the whole dTable without
 * float atomics (see shaders/embedding_backward.wgsl).
 */
import { type BufferSlice, ceilDiv, type Gpu, type Kernel } from "./device.ts";

/** Batch ids the backward holds in workgroup memory at once. */
const IDS_CHUNK = 2048;

export interface EmbeddingShape {
  /** Vocabulary size (table rows). */
  V: number;
  /** Embedding width. */
  E: number;
  /** Words per window (positions per batch row). */
  T: number;
  /** Largest batch; every step runs maxB rows and zeroes the ones beyond the step's size. */
  maxB: number;
}

export interface EmbeddingBuffers {
  /** StepParams uniform (src/gpu/step_params.ts): the batch is order[start .. start+size). */
  step: GPUBuffer;
  /** All windows' ids, i32 [pairs, T]. */
  inputs: BufferSlice;
  /** The epoch's order of pair indices, i32. */
  order: BufferSlice;
  /** [V, E]. */
  table: BufferSlice;
  /** Output [maxB, T, E]; rows beyond the step's size are written as 0. */
  x: BufferSlice;
  /** Gradient reaching x, [maxB, T, E]. */
  dx: BufferSlice;
  /** Output [V, E], overwritten (rows not in the batch are 0). */
  dTable: BufferSlice;
}

export interface GpuEmbedding {
  forward: Kernel[];
  /** Needs the same step's forward to have run (it reads the ids the forward resolved). */
  backward: Kernel[];
  /** The step's resolved ids, i32 [maxB, T] (-1 beyond the step's size). */
  ids: GPUBuffer;
}

/**
 * The gather and its backward; with `accumulate`, the backward adds to dTable (a tied output layer's weight
 * gradient is there) instead of overwriting it.
 */
export async function createEmbedding(
  gpu: Gpu,
  shape: EmbeddingShape,
  bufs: EmbeddingBuffers,
  label = "embedding",
  accumulate = false,
): Promise<GpuEmbedding> {
  const { V, E, T, maxB } = shape;
  const positions = maxB * T;
  const ids = gpu.buffer(`${label} ids`, positions * 4);
  // The backward walks the ids CHUNK at a time through workgroup memory (8 KiB: half the WebGPU minimum).
  const slots = { T, E, V, POSITIONS: positions, CHUNK: Math.min(positions, IDS_CHUNK) };
  const forwardPipeline = await gpu.pipeline("embedding", slots);
  const backwardPipeline = await gpu.pipeline("embedding_backward", { ...slots, ACCUMULATE: accumulate });
  return {
    ids,
    forward: [
      gpu.kernel(label, forwardPipeline, [bufs.step, bufs.inputs, bufs.order, bufs.table, bufs.x, ids], [
        ceilDiv(positions * E, 64),
      ]),
    ],
    backward: [
      gpu.kernel(`${label} backward`, backwardPipeline, [ids, bufs.dx, bufs.dTable], [ceilDiv(V, 64)]),
    ],
  };
}
