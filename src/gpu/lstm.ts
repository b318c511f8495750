/**
 * One LSTM layer on the GPU (PyTorch semantics, batch-first, gate order i,f,g,o; the CPU reference is
 * src/cpu/lstm.ts). The forward is one fused kernel per step (shaders/lstm_cell.wgsl). The backward runs
 * one fused kernel per step from T-1 down to 0 (shaders/lstm_cell_backward.wgsl: dPre, and the recurrent
 * dh/dc), then the weight and input gradients over all steps at once: three GEMMs over B*T rows and
 * column sums for the biases.
 *
 * The layer always runs its B (largest batch) rows. A short batch's unused rows get dLogits 0 from the
 * loss, so their rows of dh, and hence of dPre, are 0 and they add nothing to any gradient.
 */
import { type BufferSlice, ceilDiv, type Gpu, type Kernel, whole, WIDE_WORKGROUP } from "./device.ts";
import { createColumnSum } from "./linear.ts";
import { createMatmul } from "./matmul.ts";

export interface LstmShape {
  /** Largest batch; every step computes this many rows. */
  B: number;
  /** Steps (window length). */
  T: number;
  /** Input width. */
  In: number;
  /** Hidden width. */
  H: number;
}

export interface LstmBuffers {
  /** Layer input [B,T,In]. */
  x: BufferSlice;
  /** [4H,In]. */
  wih: BufferSlice;
  /** [4H,H]. */
  whh: BufferSlice;
  /** [4H]. */
  bih: BufferSlice;
  /** [4H]. */
  bhh: BufferSlice;
  /** Outputs h_t [B,T,H] (the next layer's input), written by the forward. */
  h: BufferSlice;
  /** Cell states [B,T,H], written by the forward for the backward. */
  c: BufferSlice;
  /** Activated gates [B,T,4H], written by the forward for the backward. */
  gates: BufferSlice;
  /** Incoming gradient w.r.t. h [B,T,H] (from the layer above or the head). */
  dh: BufferSlice;
  /** Gradient w.r.t. x [B,T,In], overwritten. */
  dx: BufferSlice;
  /** Pre-activation gate gradients [B,T,4H] (scratch; layers may share one). */
  dPre: BufferSlice;
  /** Weight and bias gradients, overwritten (not accumulated), shaped like the parameters. */
  dWih: BufferSlice;
  dWhh: BufferSlice;
  dbih: BufferSlice;
  dbhh: BufferSlice;
}

export interface GpuLstmLayer {
  /** T kernels, one per step. */
  forward: Kernel[];
  /** Needs this step's forward (it reads h, c and gates). */
  backward: Kernel[];
}

/**
 * Batch rows per invocation of the forward cell and per workgroup of the backward cell: each weight load
 * feeds this many rows. Measured on lavapipe (B=64, H=64, per step): the forward cell ~1.5 ms at 1 row,
 * ~0.5 ms at 16; the backward cell ~1.3 ms at 1 row, ~0.5 ms at 8; larger blocks gained nothing.
 */
const FORWARD_ROWS = 16;
const BACKWARD_ROWS = 8;

/** Rows per forward invocation and per backward workgroup, and the backward's workgroup width, for H. */
export function lstmBlocking(
  gpu: Gpu,
  H: number,
  label = "lstm",
): { forwardRows: number; backwardRows: number; backwardWorkgroup: number; reason: string } {
  // The backward cell keeps whole rows of dPre (4H floats each) in workgroup memory.
  const rowBytes = 4 * H * 4;
  const workgroupLimit = gpu.device.limits.maxComputeWorkgroupStorageSize;
  if (rowBytes > workgroupLimit) {
    throw new Error(
      `${label}: hidden size ${H} needs ${rowBytes} bytes of workgroup memory for a row of gate gradients, ` +
        `more than this device's ${workgroupLimit}`,
    );
  }
  const backwardRows = Math.min(BACKWARD_ROWS, Math.floor(workgroupLimit / rowBytes));
  // One invocation per hidden unit, up to what the device allows in a workgroup (a browser's compatibility
  // level may allow only 128).
  const backwardWorkgroup = Math.min(H, WIDE_WORKGROUP, gpu.maxWorkgroupWidth);
  const fit = backwardRows < BACKWARD_ROWS
    ? ` (as many rows of ${rowBytes} B as ${workgroupLimit} B of workgroup memory hold)`
    : "";
  return {
    forwardRows: FORWARD_ROWS,
    backwardRows,
    backwardWorkgroup,
    reason: `forward: ${FORWARD_ROWS} batch rows per invocation; backward: ${backwardRows} rows per ` +
      `workgroup${fit} of ${backwardWorkgroup} invocations${
        H > backwardWorkgroup ? ` looping over the ${H} units` : ""
      }`,
  };
}

export async function createLstmLayer(
  gpu: Gpu,
  shape: LstmShape,
  bufs: LstmBuffers,
  label = "lstm",
): Promise<GpuLstmLayer> {
  const { B, T, In, H } = shape;
  const G = 4 * H;
  const { forwardRows, backwardRows, backwardWorkgroup } = lstmBlocking(gpu, H, label);
  const rows = B * T;
  // dh_{t-1} and dc_{t-1} between backward steps, and h shifted one step for dW_hh (see the shader).
  const carry = gpu.buffer(`${label} dh/dc carry`, 2 * B * H * 4);
  const hPrev = whole(gpu.buffer(`${label} h_{t-1}`, rows * H * 4));

  const forward: Kernel[] = [];
  const cellBackward: Kernel[] = [];
  for (let t = 0; t < T; t++) {
    const cell = await gpu.pipeline("lstm_cell", { B, T, IN: In, H, STEP: t, ROWS: forwardRows });
    forward.push(
      gpu.kernel(`${label} cell t=${t}`, cell, [
        bufs.x,
        bufs.wih,
        bufs.whh,
        bufs.bih,
        bufs.bhh,
        bufs.h,
        bufs.c,
        bufs.gates,
      ], [ceilDiv(ceilDiv(B, forwardRows) * H, 64)]),
    );
    const back = await gpu.pipeline("lstm_cell_backward", {
      B,
      T,
      H,
      STEP: t,
      ROWS: backwardRows,
      WG: backwardWorkgroup,
    });
    cellBackward.unshift(
      gpu.kernel(`${label} cell backward t=${t}`, back, [
        bufs.gates,
        bufs.c,
        bufs.h,
        bufs.dh,
        bufs.whh,
        bufs.dPre,
        carry,
        hPrev,
      ], [ceilDiv(B, backwardRows)]),
    );
  }
  const backward = [
    ...cellBackward,
    // Both biases enter every gate the same way: both gradients are dPre's column sums, written by one pass.
    ...await createColumnSum(gpu, bufs.dPre, bufs.dbih, rows, G, `${label} dbih, dbhh`, bufs.dbhh),
    // dW_ih = dPreᵀ·x and dW_hh = dPreᵀ·hPrev: dPre is [rows, 4H], i.e. the transposed A operand.
    ...await createMatmul(gpu, { M: G, K: rows, N: In, transA: true }, {
      a: bufs.dPre,
      b: bufs.x,
      c: bufs.dWih,
    }, `${label} dWih`),
    ...await createMatmul(gpu, { M: G, K: rows, N: H, transA: true }, {
      a: bufs.dPre,
      b: hPrev,
      c: bufs.dWhh,
    }, `${label} dWhh`),
    // dx = dPre·W_ih for all steps at once.
    ...await createMatmul(
      gpu,
      { M: rows, K: G, N: In },
      { a: bufs.dPre, b: bufs.wih, c: bufs.dx },
      `${label} dx`,
    ),
  ];
  return { forward, backward };
}
