/**
 * Fused softmax cross-entropy on the GPU: per-row loss and dLogits in one kernel (one workgroup per row,
 * shaders/softmax_xent.wgsl), then the step's mean loss written to losses[slot] by a one-invocation kernel
 * (shaders/softmax_xent_mean.wgsl). Targets are read through the epoch's order, like the embedding's ids. A
 * headline model's logits have a row per packed position (`perPosition`, src/gpu/packing.ts): its
 * padding's targets (-1) count for nothing, and a first one-invocation kernel counts the step's targets
 * (shaders/softmax_xent_count.wgsl).
 */
import { type BufferSlice, cooperativeWidth, type Gpu, type Kernel, WIDE_WORKGROUP } from "./device.ts";
import type { Packing } from "./packing.ts";

export interface SoftmaxXentShape {
  /** Largest batch (rows of logits); rows beyond the step's size get loss 0 and dLogits 0. */
  maxB: number;
  /** Classes per row. */
  V: number;
  /**
   * A headline model's rows: the step's packed positions (`Packing`, given in the buffers), up to maxB x
   * `maxSteps`; the data holds `stride` targets per row.
   */
  perPosition?: { maxSteps: number; stride: number };
}

export interface SoftmaxXentBuffers {
  /** StepParams uniform (src/gpu/step_params.ts): rows are order[start .. start+size), loss to losses[slot]. */
  step: GPUBuffer;
  /** [rows, V]: maxB rows, or maxB * perPosition.maxSteps (packed rows). */
  logits: BufferSlice;
  /** All rows' target ids, i32 [rows of data, perPosition.stride or 1]. */
  targets: BufferSlice;
  /** The epoch's order of pair indices, i32. */
  order: BufferSlice;
  /** Per-row losses [rows] (scratch; 0 for rows without a target). */
  rowLoss: BufferSlice;
  /** Mean loss per step at index slot; the caller sizes it for the slots it uses. */
  losses: BufferSlice;
  /** Output [maxB, V], overwritten; omit for the forward-only (evaluation) variant. */
  dLogits?: BufferSlice;
  /** The step's packing (needed with perPosition): which positions the rows are. */
  packing?: Packing;
}

/**
 * Kernels for one step; with no bufs.dLogits, only losses are produced. `rowWidth` (a power of two) forces
 * the invocations per row (tests run both widths); by default one vector of lanes on a software adapter, where
 * a row of 8 took 0.65x the time of a row of 256 at the recipe's head (330 rows of 2246; docs/performance.md,
 * session 8), else a wide workgroup.
 */
export async function createSoftmaxXent(
  gpu: Gpu,
  shape: SoftmaxXentShape,
  bufs: SoftmaxXentBuffers,
  label = "softmax xent",
  rowWidth = cooperativeWidth(gpu, WIDE_WORKGROUP),
): Promise<Kernel[]> {
  const grad = bufs.dLogits !== undefined;
  const per = shape.perPosition;
  const wg = gpu.reductionWidth(rowWidth);
  const flags = { PER_POSITION: per !== undefined, STRIDE: per?.stride ?? 1 };
  const rows = await gpu.pipeline("softmax_xent", { V: shape.V, WG: wg, GRAD: grad, ...flags });
  const mean = await gpu.pipeline("softmax_xent_mean", { PER_POSITION: per !== undefined });
  // The forward-only shader never writes dLogits but still declares it, so it gets a placeholder. The
  // target count has a buffer of its own even where unused: binding the placeholder (read_write as
  // dLogits) read-only too would be a usage conflict.
  const dLogits = bufs.dLogits ?? gpu.placeholder();
  if (per && !bufs.packing) throw new Error(`${label}: a row per position needs the step's packing`);
  const packed = per ? [bufs.packing!.step, bufs.packing!.positions] : [];
  const count = gpu.buffer(`${label} targets`, 16);
  const counting = per
    ? [
      gpu.kernel(`${label} count`, await gpu.pipeline("softmax_xent_count", { STRIDE: per.stride }), [
        bufs.step,
        bufs.targets,
        bufs.order,
        count,
      ], [1]),
    ]
    : [];
  return [
    ...counting,
    gpu.kernel(
      label,
      rows,
      [bufs.step, bufs.logits, bufs.targets, bufs.order, bufs.rowLoss, dLogits, count, ...packed],
      [
        shape.maxB * (per?.maxSteps ?? 1),
      ],
    ),
    gpu.kernel(`${label} mean`, mean, [bufs.step, bufs.rowLoss, bufs.losses, count, ...packed.slice(0, 1)], [
      1,
    ]),
  ];
}
