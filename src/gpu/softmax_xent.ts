/**
 * Fused softmax cross-entropy on the GPU: per-row loss and dLogits in one kernel (one workgroup per row,
 * shaders/softmax_xent.wgsl), then the step's mean loss written to losses[slot] by a one-invocation kernel
 * (shaders/softmax_xent_mean.wgsl). Targets are read through the epoch's order, like the embedding's ids.
 */
import { type BufferSlice, type Gpu, type Kernel, WIDE_WORKGROUP } from "./device.ts";

export interface SoftmaxXentShape {
  /** Largest batch (rows of logits); rows beyond the step's size get loss 0 and dLogits 0. */
  maxB: number;
  /** Classes per row. */
  V: number;
}

export interface SoftmaxXentBuffers {
  /** StepParams uniform (src/gpu/step_params.ts): rows are order[start .. start+size), loss to losses[slot]. */
  step: GPUBuffer;
  /** [maxB, V]. */
  logits: BufferSlice;
  /** All pairs' target ids, i32 [pairs]. */
  targets: BufferSlice;
  /** The epoch's order of pair indices, i32. */
  order: BufferSlice;
  /** Per-row losses [maxB] (scratch; 0 beyond the step's size). */
  rowLoss: BufferSlice;
  /** Mean loss per step at index slot; the caller sizes it for the slots it uses. */
  losses: BufferSlice;
  /** Output [maxB, V], overwritten; omit for the forward-only (evaluation) variant. */
  dLogits?: BufferSlice;
}

/** Kernels for one step; with no bufs.dLogits, only losses are produced. */
export async function createSoftmaxXent(
  gpu: Gpu,
  shape: SoftmaxXentShape,
  bufs: SoftmaxXentBuffers,
  label = "softmax xent",
): Promise<Kernel[]> {
  const grad = bufs.dLogits !== undefined;
  const wg = gpu.reductionWidth(WIDE_WORKGROUP);
  const rows = await gpu.pipeline("softmax_xent", { V: shape.V, WG: wg, GRAD: grad });
  const mean = await gpu.pipeline("softmax_xent_mean");
  // The forward-only shader never writes dLogits but still declares it, so it gets a placeholder.
  const dLogits = bufs.dLogits ?? gpu.placeholder();
  return [
    gpu.kernel(label, rows, [bufs.step, bufs.logits, bufs.targets, bufs.order, bufs.rowLoss, dLogits], [
      shape.maxB,
    ]),
    gpu.kernel(`${label} mean`, mean, [bufs.step, bufs.rowLoss, bufs.losses], [1]),
  ];
}
