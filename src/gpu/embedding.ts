/**
 * Word embedding on the GPU: the forward gathers the step's rows straight from the uploaded data through
 * the epoch's order (no host-side batch assembly), the backward overwrites the whole dTable without
 * float atomics: each word's first and last position in the batch (shaders/embedding_spans.wgsl), then one
 * workgroup per word sums its positions' rows in order (shaders/embedding_backward.wgsl).
 */
import { type BufferSlice, ceilDiv, cooperativeWidth, type Gpu, type Kernel } from "./device.ts";

/** A word's row elements the backward sums in workgroup memory at once (8 KiB: half the WebGPU minimum). */
const ROW_CHUNK = 2048;
/** Most invocations the forward gives one position (a wide row is gathered several elements each). */
const GATHER_SPAN = 64;
/** The backward's invocations a word (one vector of lanes on a software adapter). */
const WORD_WORKGROUP = 64;
/** embedding_spans.wgsl's "no position" (u32 max), what `first` holds for a word absent from the batch. */
const NO_POSITION = 0xffffffff;

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
  /**
   * Needs the same step's forward to have run (it reads the ids the forward resolved); its two kernels run
   * together and in order (the second resets what the first finds).
   */
  backward: Kernel[];
  /** The step's resolved ids, i32 [maxB, T] (-1 beyond the step's size). */
  ids: GPUBuffer;
  /**
   * u32 [V] each: every word's first and last position in the step, which the backward walks and then resets
   * (first NO_POSITION, last 0: so they read between steps). Not resetting them would still give the right sums (the
   * walk checks each position's id) but ever wider walks.
   */
  spans: { first: GPUBuffer; last: GPUBuffer };
}

/**
 * The gather and its backward; with `accumulate`, the backward adds to dTable (a tied output layer's weight
 * gradient is there) instead of overwriting it. `wordWidth` forces the backward's invocations a word (tests run
 * a hardware adapter's on a software one); by default cooperativeWidth decides.
 */
export async function createEmbedding(
  gpu: Gpu,
  shape: EmbeddingShape,
  bufs: EmbeddingBuffers,
  label = "embedding",
  accumulate = false,
  wordWidth = cooperativeWidth(gpu, WORD_WORKGROUP),
): Promise<GpuEmbedding> {
  const { V, E, T, maxB } = shape;
  const positions = maxB * T;
  const ids = gpu.buffer(`${label} ids`, positions * 4);
  // Each word's first and last position in the step, reset by the backward after use (first NO_POSITION, last 0).
  const first = gpu.buffer(`${label} first`, V * 4, new Uint32Array(V).fill(NO_POSITION));
  const last = gpu.buffer(`${label} last`, V * 4);
  const slots = { T, E, V, POSITIONS: positions };
  // The gather's invocations per position (each loops over E / span of the row's elements).
  const span = Math.min(E, GATHER_SPAN);
  const forwardPipeline = await gpu.pipeline("embedding", { ...slots, SPAN: span });
  const spansPipeline = await gpu.pipeline("embedding_spans", slots);
  const backwardPipeline = await gpu.pipeline("embedding_backward", {
    ...slots,
    WG: gpu.reductionWidth(wordWidth),
    ECHUNK: Math.min(E, ROW_CHUNK),
    ACCUMULATE: accumulate,
  });
  const x = Math.min(V, gpu.device.limits.maxComputeWorkgroupsPerDimension);
  return {
    ids,
    spans: { first, last },
    forward: [
      gpu.kernel(label, forwardPipeline, [bufs.step, bufs.inputs, bufs.order, bufs.table, bufs.x, ids], [
        ceilDiv(positions * span, 64),
      ]),
    ],
    backward: [
      gpu.kernel(`${label} spans`, spansPipeline, [ids, first, last], [ceilDiv(positions, 64)]),
      gpu.kernel(`${label} backward`, backwardPipeline, [ids, bufs.dx, bufs.dTable, first, last], [
        x,
        ceilDiv(V, x),
      ]),
    ],
  };
}
