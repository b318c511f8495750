// What the two GEMM kernels (matmul_regblock.wgsl, matmul_tiled.wgsl) share: the shape uniform, the
// epilogue bits and the epilogue itself. Included by `//#include matmul_common`; the including shader
// declares s, C, bias and mask.
//
// The dispatch's epilogue bits are compiled in (FLAGS, one pipeline per combination), so the steps a
// dispatch does not apply cost nothing: no per-element branches on a uniform. C and mask are f32 arrays,
// or vec4 arrays with C_VEC4 (matmul_regblock.wgsl, when its whole-vec4 stores apply).

struct Shape {
  M: u32, N: u32, K: u32,
  aRow: u32, aK: u32, aOff: u32,
  bK: u32, bCol: u32, bOff: u32,
  ldc: u32, cOff: u32,
}

const EPI_ACCUMULATE = 1u; // add the old C (also how the K blocks of a split GEMM add up)
const EPI_BIAS = 2u; // add bias[j]
const EPI_RELU = 4u; // max(0, .)
const EPI_MASK = 8u; // times (mask[i,j] > 0): ReLU backward fused into the GEMM; mask is laid out as C
const FLAGS = {{FLAGS}}u; // the EPI_* bits of this dispatch

// Writes one element of C through the epilogue; elements outside C are dropped.
fn store(i: u32, j: u32, sum: f32) {
  if (i >= s.M || j >= s.N) {
    return;
  }
  storeAt(s.cOff + i * s.ldc + j, j, sum);
}

// The epilogue of C element `at` (column j), no bounds check.
fn storeAt(at: u32, j: u32, sum: f32) {
  var value = sum;
  if ((FLAGS & EPI_ACCUMULATE) != 0u) {
    //#if C_VEC4
    value += C[at / 4u][at % 4u];
    //#else
    value += C[at];
    //#endif
  }
  if ((FLAGS & EPI_BIAS) != 0u) {
    value += bias[j];
  }
  if ((FLAGS & EPI_RELU) != 0u) {
    value = max(value, 0.0);
  }
  if ((FLAGS & EPI_MASK) != 0u) {
    //#if C_VEC4
    let keep = mask[at / 4u][at % 4u] > 0.0;
    //#else
    let keep = mask[at] > 0.0;
    //#endif
    if (!keep) {
      value = 0.0;
    }
  }
  //#if C_VEC4
  C[at / 4u][at % 4u] = value;
  //#else
  C[at] = value;
  //#endif
}
