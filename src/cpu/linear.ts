import { matmul } from "./matmul.ts";

/** y[r,o] = sum_i x[r,i]·w[o,i] + b[o], optionally ReLU'd; w is [outF, inF] as in PyTorch. */
export function linearForward(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  y: Float32Array,
  rows: number,
  inF: number,
  outF: number,
  relu: boolean,
): void {
  matmul(x, w, y, rows, inF, outF, { transB: true });
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      const v = y[r * outF + o] + b[o];
      y[r * outF + o] = relu && v < 0 ? 0 : v;
    }
  }
}

/**
 * Gradients of linearForward (before any ReLU; apply reluBackward to dy first):
 * dx = dy·w (skipped when null), dw = dyᵀ·x, db = column sums of dy. All outputs are overwritten.
 */
export function linearBackward(
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
  dx: Float32Array | null,
  dw: Float32Array,
  db: Float32Array,
  rows: number,
  inF: number,
  outF: number,
): void {
  if (dx) matmul(dy, w, dx, rows, outF, inF);
  matmul(dy, x, dw, outF, rows, inF, { transA: true });
  columnSum(dy, rows, outF, db);
}

/** out[c] = sum_r x[r,c] for row-major x [rows, cols], accumulated in float64; out is overwritten. */
export function columnSum(x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * cols + c];
    out[c] = s;
  }
}

/** ReLU backward in place: dy *= (y > 0), where y is the ReLU's output. */
export function reluBackward(y: Float32Array, dy: Float32Array): void {
  for (let i = 0; i < dy.length; i++) if (!(y[i] > 0)) dy[i] = 0;
}
