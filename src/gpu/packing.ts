/**
 * A headline batch is padded to its longest row (Tb positions a row), and on news headlines only about half
 * of its B x Tb positions hold a word with a target; the rest would only be computed to be thrown away. So
 * the step packs the positions with a target into consecutive rows (shaders/rows_pack.wgsl) wherever work
 * is a row at a time: the head (its GEMMs and softmax) and the LSTM's GEMMs (the input projection, the
 * weight gradients, dx) run over the packed rows alone, and what they produce for positions is unpacked
 * back, zero where there is no target. The LSTM's sequence kernels, which carry a row's state from position
 * to position, skip the positions past a row's length (they take the rows by length, longest first, to deal
 * out to their workgroups); what they would have written there is left stale, and nothing reads it. Each row
 * is computed as it was, so only sums over rows (a weight gradient) change order; a padded position's gate
 * input is then 0 rather than its pad word's, which nothing at a position with a target reads (the padding
 * follows a row's end), and no gradient reaches it.
 *
 * The packing is decided on the host each step, from the rows' lengths (targets come first in a row, then
 * padding), and written with the step: the position of each packed row, the packed row of each position,
 * and a second StepParams uniform whose `steps` is the number of packed rows, from which the packed GEMMs
 * and column sums take their run-time rows (as one row of that many positions: perStep 1).
 */
import { type BufferSlice, ceilDiv, type Gpu, type Kernel, WIDE_WORKGROUP } from "./device.ts";
import { STEP_PARAMS } from "./step_params.ts";

/** Which positions of a step are packed, and where each lands. */
export interface PackedPositions {
  /** The packed rows: the positions with a target. */
  rows: number;
  /** The position (b x steps + t) of each packed row, in position order. */
  positions: Int32Array;
  /** The packed row of each of the maxB x steps positions, or -1 (no target). */
  rowOf: Int32Array;
  /**
   * [2 x maxB]: the rows by length, longest first (ties in row order), which the recurrent kernels deal out;
   * then each row's positions with a target (0 for rows past `size`).
   */
  byLength: Int32Array;
}

/**
 * The packing of a step whose rows b < size each hold their first lengths[b] positions with a target, of
 * `steps` positions a row, for buffers of maxB rows.
 */
export function packPositions(
  lengths: ArrayLike<number>,
  size: number,
  steps: number,
  maxB: number,
): PackedPositions {
  const rowOf = new Int32Array(maxB * steps).fill(-1);
  const positions: number[] = [];
  const byLength = new Int32Array(2 * maxB);
  const cut = byLength.subarray(maxB);
  for (let b = 0; b < size; b++) {
    cut[b] = Math.min(lengths[b], steps);
    for (let t = 0; t < cut[b]; t++) {
      rowOf[b * steps + t] = positions.length;
      positions.push(b * steps + t);
    }
  }
  byLength.set(Int32Array.from({ length: maxB }, (_, b) => b).sort((a, b) => cut[b] - cut[a] || a - b));
  return { rows: positions.length, positions: Int32Array.from(positions), rowOf, byLength };
}

/** A step's packing on the GPU: written each step, read by the packed kernels. */
export interface Packing {
  /** The rows of a step (the largest batch) and the most positions a row holds, which it is built for. */
  readonly maxB: number;
  readonly maxSteps: number;
  /** A StepParams uniform whose `steps` is the step's packed rows (its other fields unused). */
  step: GPUBuffer;
  /** i32 [maxB x maxSteps]: the position of each packed row. */
  positions: GPUBuffer;
  /** i32 [maxB x maxSteps]: the packed row of each position, or -1. */
  rowOf: GPUBuffer;
  /** i32 [2 x maxB]: the rows by length, longest first, then each row's positions with a target. */
  byLength: GPUBuffer;
  /** Queues the packing of the next submit's step (packPositions' arguments); returns its packed rows. */
  set(lengths: ArrayLike<number>, size: number, steps: number): number;
  /** The packed rows last written. */
  readonly rows: number;
}

export function createPacking(gpu: Gpu, maxB: number, maxSteps: number, label = "packing"): Packing {
  const most = maxB * maxSteps;
  const step = gpu.uniform(`${label} count`, STEP_PARAMS.pack({ start: 0, size: 0, slot: 0, steps: 0 }));
  const positions = gpu.buffer(`${label} positions`, most * 4);
  const rowOf = gpu.buffer(`${label} row of`, most * 4);
  const byLength = gpu.buffer(`${label} rows by length`, 2 * maxB * 4);
  let written = 0;
  return {
    maxB,
    maxSteps,
    step,
    positions,
    rowOf,
    byLength,
    get rows(): number {
      return written;
    },
    set(lengths: ArrayLike<number>, size: number, steps: number): number {
      if (size > maxB || steps > maxSteps) {
        throw new Error(`${label}: ${size} rows of ${steps} positions; built for ${maxB} of ${maxSteps}`);
      }
      const packed = packPositions(lengths, size, steps, maxB);
      gpu.write(step, 0, STEP_PARAMS.pack({ start: 0, size: 0, slot: 0, steps: packed.rows }));
      if (packed.rows > 0) gpu.write(positions, 0, packed.positions);
      gpu.write(rowOf, 0, packed.rowOf);
      gpu.write(byLength, 0, packed.byLength);
      written = packed.rows;
      return packed.rows;
    },
  };
}

/**
 * One pass of rows of `width` floats between positions and packed rows: with `pack`, x [positions, width] ->
 * y [packed rows, width]; without, x [packed rows] -> y [positions] (zero at positions without a target).
 * Both hold the packing's maxB x maxSteps rows; `step` is the batch's StepParams uniform.
 */
export async function createRowsPack(
  gpu: Gpu,
  width: number,
  bufs: { step: GPUBuffer; packing: Packing; x: BufferSlice; y: BufferSlice },
  pack: boolean,
  label = pack ? "pack rows" : "unpack rows",
): Promise<Kernel> {
  const { maxB, maxSteps } = bufs.packing;
  const n = maxB * maxSteps * width;
  for (const [name, s] of [["x", bufs.x], ["y", bufs.y]] as const) {
    if (s.size < n * 4) throw new Error(`${label}: ${name} holds ${s.size} bytes, needs ${n * 4}`);
  }
  const lanes = width % 4 === 0 ? 4 : 1;
  const wg = gpu.reductionWidth(WIDE_WORKGROUP);
  const pipeline = await gpu.pipeline("rows_pack", {
    T: lanes === 4 ? "vec4f" : "f32",
    W: width / lanes,
    ROWS: maxB,
    PACK: pack,
    WG: wg,
  });
  const groups = ceilDiv(n / lanes, wg);
  const x = Math.min(groups, gpu.device.limits.maxComputeWorkgroupsPerDimension);
  const index = pack ? bufs.packing.positions : bufs.packing.rowOf;
  return gpu.kernel(label, pipeline, [bufs.step, bufs.packing.step, index, bufs.x, bufs.y], [
    x,
    ceilDiv(groups, x),
  ]);
}
