// What the two GEMM kernels (matmul_regblock.wgsl, matmul_tiled.wgsl) share: the shape uniform, the
// epilogue bits and the epilogue itself. Included by `//#include matmul_common`; the including shader
// declares s, C, bias and mask.

struct Shape {
  M: u32, N: u32, K: u32,
  aRow: u32, aK: u32, aOff: u32,
  bK: u32, bCol: u32, bOff: u32,
  ldc: u32, cOff: u32,
  // EPI_* bits: the epilogue steps this dispatch applies.
  flags: u32,
}

const EPI_ACCUMULATE = 1u; // add the old C (also how the K blocks of a split GEMM add up)
const EPI_BIAS = 2u; // add bias[j]
const EPI_RELU = 4u; // max(0, .)
const EPI_MASK = 8u; // times (mask[i,j] > 0): ReLU backward fused into the GEMM; mask is laid out as C

// Writes one element of C through the epilogue; elements outside C are dropped.
fn store(i: u32, j: u32, sum: f32) {
  if (i >= s.M || j >= s.N) {
    return;
  }
  let at = s.cOff + i * s.ldc + j;
  var value = sum;
  if ((s.flags & EPI_ACCUMULATE) != 0u) {
    value += C[at];
  }
  if ((s.flags & EPI_BIAS) != 0u) {
    value += bias[j];
  }
  if ((s.flags & EPI_RELU) != 0u) {
    value = max(value, 0.0);
  }
  if ((s.flags & EPI_MASK) != 0u && !(mask[at] > 0.0)) {
    value = 0.0;
  }
  C[at] = value;
}
