/**
 * PyTorch's nn.Linear on WebGPU, forward and backward, built from the GEMM (src/gpu/matmul.ts) and a
 * column-sum kernel. Weights are [outF, inF] as in PyTorch; activations are [rows, features], row-major.
 */
import { type BufferSlice, ceilDiv, type Gpu, type Kernel, subSlice } from "./device.ts";
import { createMatmul, rowBlock, rowsThatFit } from "./matmul.ts";
import { uniformStruct } from "./uniform_struct.ts";

/** The struct of shaders/colsum.wgsl: one row block's rows, and how its sums land. */
export const COLSUM_PARAMS = uniformStruct("Params", "colsum", {
  rows: "u32",
  cols: "u32",
  accumulate: "u32",
  perStep: "u32",
  rowStart: "u32",
});

export interface LinearShape {
  /** Rows of x; with `runtime`, the most (each step uses perStep x the step uniform's `steps` of them). */
  rows: number;
  inF: number;
  outF: number;
  /** Rows decided at run time (a headline batch's B x Tb positions): src/gpu/matmul.ts's runtimeRows. */
  runtime?: RuntimeColumnRows;
}

/** y = x·wᵀ + b, then ReLU when `relu`. */
export function createLinearForward(
  gpu: Gpu,
  shape: LinearShape & { relu: boolean },
  bufs: { x: BufferSlice; w: BufferSlice; b: BufferSlice; y: BufferSlice },
  label = "linear",
): Promise<Kernel[]> {
  const { rows, inF, outF, relu, runtime } = shape;
  return createMatmul(
    gpu,
    {
      M: rows,
      K: inF,
      N: outF,
      transB: true,
      bias: true,
      relu,
      ...(runtime ? { runtimeRows: { dim: "M" as const, perStep: runtime.perStep } } : {}),
    },
    { a: bufs.x, b: bufs.w, c: bufs.y, bias: bufs.b, step: runtime?.step },
    `${label} forward`,
  );
}

/**
 * Gradients of createLinearForward before any ReLU of its own (fold that into dy first): dx = dy·w,
 * dw = dyᵀ·x, db = column sums of dy, all overwritten. dx is skipped when not given (the first layer).
 * With `reluMask`, dx = (dy·w) · (mask > 0): the backward of a ReLU that produced x, fused into the GEMM;
 * the mask defaults to x itself, which is that ReLU's output.
 */
export async function createLinearBackward(
  gpu: Gpu,
  shape: LinearShape & { reluMask?: boolean },
  bufs: {
    x: BufferSlice;
    w: BufferSlice;
    dy: BufferSlice;
    dx?: BufferSlice;
    dw: BufferSlice;
    db: BufferSlice;
    mask?: BufferSlice;
  },
  label = "linear",
): Promise<Kernel[]> {
  const { rows, inF, outF, reluMask = false, runtime } = shape;
  if (reluMask && !bufs.dx) throw new Error(`${label}: reluMask applies to dx, which was not given`);
  const along = (dim: "M" | "K") => runtime ? { runtimeRows: { dim, perStep: runtime.perStep } } : {};
  const kernels: Kernel[] = [];
  if (bufs.dx) {
    kernels.push(
      ...await createMatmul(
        gpu,
        { M: rows, K: outF, N: inF, reluMask, ...along("M") },
        {
          a: bufs.dy,
          b: bufs.w,
          c: bufs.dx,
          mask: reluMask ? bufs.mask ?? bufs.x : undefined,
          step: runtime?.step,
        },
        `${label} dx`,
      ),
    );
  }
  kernels.push(
    ...await createMatmul(
      gpu,
      { M: outF, K: rows, N: inF, transA: true, ...along("K") },
      { a: bufs.dy, b: bufs.x, c: bufs.dw, step: runtime?.step },
      `${label} dw`,
    ),
  );
  kernels.push(
    ...await createColumnSum(gpu, bufs.dy, bufs.db, rows, outF, `${label} db`, undefined, runtime),
  );
  return kernels;
}

/** Rows of a column sum decided at run time: perStep x the StepParams uniform's `steps` (at most `rows`). */
export interface RuntimeColumnRows {
  perStep: number;
  /** The StepParams uniform (src/gpu/step_params.ts). */
  step: GPUBuffer;
}

/**
 * out[j] = sum over i of x[i, j] for a row-major [rows, cols] x, also written to `twin` when given; one
 * dispatch per binding-sized row block. With `runtime`, `rows` is the most and each run sums the step's
 * perStep x steps rows.
 */
export async function createColumnSum(
  gpu: Gpu,
  x: BufferSlice,
  out: BufferSlice,
  rows: number,
  cols: number,
  label = "colsum",
  twin?: BufferSlice,
  runtime?: RuntimeColumnRows,
): Promise<Kernel[]> {
  if (x.size < rows * cols * 4 || out.size < cols * 4 || (twin && twin.size < cols * 4)) {
    throw new Error(
      `${label}: buffers hold ${x.size}, ${out.size}${twin ? ` and ${twin.size}` : ""} bytes, need ` +
        `${rows * cols * 4} and ${cols * 4}`,
    );
  }
  const pipeline = await gpu.pipeline("colsum", { TWIN: twin !== undefined });
  const block = rowsThatFit(gpu, label, "x", rows, cols);
  const kernels: Kernel[] = [];
  for (let r0 = 0; r0 < rows; r0 += block) {
    const n = Math.min(block, rows - r0);
    const params = gpu.uniform(
      `${label} rows ${r0}`,
      COLSUM_PARAMS.pack({
        rows: n,
        cols,
        accumulate: r0 === 0 ? 0 : 1,
        perStep: runtime?.perStep ?? 0,
        rowStart: r0,
      }),
    );
    kernels.push(
      gpu.kernel(label, pipeline, [
        params,
        rowBlock(x, r0, n, cols),
        subSlice(out, 0, cols),
        twin ? subSlice(twin, 0, cols) : null,
        runtime?.step ?? params, // a fixed sum binds its params here, unread
      ], [ceilDiv(cols, 64)]),
    );
  }
  return kernels;
}
