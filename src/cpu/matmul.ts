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
