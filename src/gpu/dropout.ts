/**
 * Training dropout on WebGPU (shaders/dropout.wgsl): one pass multiplies a batch activation by its site's
 * mask, computed from the same counter hash as the CPU reference (src/model/dropout.ts), so the two agree
 * bit for bit; the same pass on the gradient is the mask's backward. The step's seed, optimizer step and
 * rate live in one uniform every dropout pass of the model shares, written once per step.
 */
import { type DropoutSettings, dropThreshold, keepScale } from "../model/dropout.ts";
import { type BufferSlice, ceilDiv, type Gpu, type Kernel, WIDE_WORKGROUP } from "./device.ts";
import type { Packing } from "./packing.ts";
import { uniformStruct } from "./uniform_struct.ts";

/** The struct of shaders/dropout.wgsl. */
export const DROPOUT_PARAMS = uniformStruct("Dropout", "dropout", {
  seed: "u32",
  step: "u32",
  threshold: "u32",
  scale: "f32",
});

/** The uniform of a step's dropout (seed, step, threshold, scale), shared by every dropout pass. */
export interface DropoutParams {
  buffer: GPUBuffer;
  /** Queues the masks of optimizer step `step` (1-based) at these settings for the next submit. */
  set(settings: DropoutSettings, step: number): void;
}

export function createDropoutParams(gpu: Gpu, label = "dropout"): DropoutParams {
  const buffer = gpu.uniform(label, new Uint8Array(DROPOUT_PARAMS.bytes));
  return {
    buffer,
    set(settings: DropoutSettings, step: number): void {
      gpu.write(
        buffer,
        0,
        DROPOUT_PARAMS.pack({
          seed: settings.seed >>> 0,
          step: step >>> 0,
          threshold: dropThreshold(settings.rate),
          scale: keepScale(settings.rate),
        }),
      );
    },
  };
}

export interface DropoutShape {
  /** Rows the kernels compute (the largest batch). */
  rows: number;
  /**
   * The longest positions per row a step may have (the buffers' size); the step uniform gives each step's.
   * 0: a row is one position whatever the step's (a window model's head, a row per window).
   */
  maxSteps: number;
  /** Floats per position. */
  width: number;
  /** The site (src/model/dropout.ts dropoutSite). */
  site: number;
}

/**
 * One dropout pass: `x` times the mask into `y`, or in place without `y`. `step` is the StepParams uniform
 * (its `steps` bounds the elements), `params` the shared DropoutParams. With `packing`, x and y are a
 * headline batch's packed rows (up to rows x maxSteps of them, src/gpu/packing.ts), each masked as its
 * position.
 */
export async function createDropout(
  gpu: Gpu,
  shape: DropoutShape,
  bufs: { step: GPUBuffer; params: GPUBuffer; x: BufferSlice; y?: BufferSlice; packing?: Packing },
  label = "dropout",
): Promise<Kernel> {
  const { rows, maxSteps, width, site } = shape;
  const n = rows * Math.max(1, maxSteps) * width;
  const packed = bufs.packing !== undefined;
  for (const [name, s] of [["x", bufs.x], ["y", bufs.y]] as const) {
    if (s && s.size < n * 4) throw new Error(`${label}: ${name} holds ${s.size} bytes, needs ${n * 4}`);
  }
  const wg = gpu.reductionWidth(WIDE_WORKGROUP);
  const pipeline = await gpu.pipeline("dropout", {
    // Packed, the bound step is the packing's, whose `steps` counts every packed row.
    ROWS: packed ? 1 : rows,
    WIDTH: width,
    SITE: site,
    WG: wg,
    IN_PLACE: bufs.y === undefined,
    PER_STEP: maxSteps > 0 || packed,
    PACKED: packed,
  });
  const groups = ceilDiv(n, wg);
  const x = Math.min(groups, gpu.device.limits.maxComputeWorkgroupsPerDimension);
  const step = bufs.packing?.step ?? bufs.step;
  const positions = bufs.packing ? [bufs.packing.positions] : [];
  return gpu.kernel(label, pipeline, [step, bufs.params, bufs.x, bufs.y ?? null, ...positions], [
    x,
    ceilDiv(groups, x),
  ]);
}
