/**
 * C[M,N] (+)= op(A)·op(B), the reference for every GEMM. op(A) is [M,K] (A stored [K,M] when transA);
 * op(B) is [K,N] (B stored [N,K] when transB). Sums in float64 so the reference is the more exact side
 * when GPU results are compared with it.
 */
export function matmul(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  M: number,
  K: number,
  N: number,
  opts: { transA?: boolean; transB?: boolean; accumulate?: boolean } = {},
): void {
  const { transA = false, transB = false, accumulate = false } = opts;
  if (transB && !transA) {
    // x·Wᵀ (every Linear forward): rows of A and B are both contiguous, so take dot products directly.
    for (let i = 0; i < M; i++) {
      const ai = i * K;
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let sum = 0;
        for (let k = 0; k < K; k++) sum += a[ai + k] * b[bj + k];
        c[i * N + j] = accumulate ? c[i * N + j] + sum : sum;
      }
    }
    return;
  }
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const aik = transA ? a[k * M + i] : a[i * K + k];
      if (aik === 0) continue;
      if (transB) {
        for (let j = 0; j < N; j++) row[j] += aik * b[j * K + k];
      } else {
        const base = k * N;
        for (let j = 0; j < N; j++) row[j] += aik * b[base + j];
      }
    }
    const out = i * N;
    if (accumulate) { for (let j = 0; j < N; j++) c[out + j] += row[j]; }
    else for (let j = 0; j < N; j++) c[out + j] = row[j];
  }
}

/** What the GPU GEMM computes besides op(A)·op(B) (src/gpu/matmul.ts's MatmulSpec, field for field). */
export interface GemmSpec {
  M: number;
  K: number;
  N: number;
  transA?: boolean;
  transB?: boolean;
  /** Add to C's old values instead of replacing them. */
  accumulate?: boolean;
  bias?: boolean;
  relu?: boolean;
  /** Zero where the mask is not > 0 (ReLU backward). */
  reluMask?: boolean;
}

/**
 * The GPU GEMM's whole result, for checking it: op(A)·op(B) (+ the old C when accumulating, c0), then the
 * epilogue the spec asks for: + bias[j], ReLU, times (mask > 0). Returns a new array; c0 is not changed.
 */
export function gemmReference(
  spec: GemmSpec,
  a: Float32Array,
  b: Float32Array,
  c0: Float32Array,
  bias: Float32Array,
  mask: Float32Array,
): Float32Array {
  const { M, K, N } = spec;
  const c = c0.slice();
  matmul(a, b, c, M, K, N, spec);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let v = c[i * N + j];
      if (spec.bias) v += bias[j];
      if (spec.relu) v = Math.max(v, 0);
      if (spec.reluMask && !(mask[i * N + j] > 0)) v = 0;
      c[i * N + j] = v;
    }
  }
  return c;
}
