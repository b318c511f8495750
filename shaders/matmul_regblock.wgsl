// C[M,N] = op(A)·op(B) (+ bias) (ReLU) (· mask) for software adapters such as Mesa lavapipe.
//
// Why this design (measured on Mesa 25 lavapipe, see shared/notes/webgpu-on-this-machine.md): lavapipe runs
// 8 invocations as one AVX2 vector. A load whose address is the same in every lane becomes one scalar load;
// a per-lane load becomes a gather. Here the 8 rows of a workgroup depend only on workgroup_id, so A is read
// with uniform loads and only B is gathered: 8 gathers feed 64 FMAs. The body is unrolled by hand into 16 vec4
// accumulators (8 rows x 8 columns): the same loop written over local arrays ran half as fast. Workgroup-memory
// tiling is slower on lavapipe (about 3 GFLOP/s); matmul_tiled.wgsl is the variant for real GPUs.
//
// Operands are addressed through strides, so transposed operands need no other code:
//   op(A)[i,k] = A[aOff + i*aRow + k*aK]    op(B)[k,j] = B[bOff + k*bK + j*bCol]    C[i,j] = C[cOff + i*ldc + j]
// B is read either as scalars at any stride (lines starting {{IF_SCALAR}}) or, when op(B) = B and its rows and
// offset are multiples of 4 floats, as vec4 (lines starting {{IF_VEC4}}; about 10-20% faster). The variant not
// chosen has its lines turned into comments by the slot.
//
// Columns are interleaved across the 8 lanes (lane l owns columns l, l+8, ..., l+56, or in vec4 mode the vec4s
// at 4l and 4l+32) so that neighbouring lanes read neighbouring addresses.

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

@group(0) @binding(0) var<uniform> s: Shape;
@group(0) @binding(1) var<storage, read> A: array<f32>;
{{IF_SCALAR}}@group(0) @binding(2) var<storage, read> B: array<f32>;
{{IF_VEC4}}@group(0) @binding(2) var<storage, read> B: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;

const LANES = 8u; // the workgroup size: one AVX2 vector of invocations
// Column of accumulator component q of vec4 v: colBase + v * VS + q * QS; a lane's first column is
// wg.x * 64 + lane * LANE_STEP.
const QS = {{QS}}u;
const LANE_STEP = {{LANE_STEP}}u;
const VS = 4u * LANES;

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wg.y * 8u;
  let colBase = wg.x * (LANES * 8u) + lid.x * LANE_STEP;
  // Rows and columns past the edge read the last valid one (no divergent branch inside the loop); the
  // epilogue does not store them.
  let a0 = s.aOff + min(row0, s.M - 1u) * s.aRow;
  let a1 = s.aOff + min(row0 + 1u, s.M - 1u) * s.aRow;
  let a2 = s.aOff + min(row0 + 2u, s.M - 1u) * s.aRow;
  let a3 = s.aOff + min(row0 + 3u, s.M - 1u) * s.aRow;
  let a4 = s.aOff + min(row0 + 4u, s.M - 1u) * s.aRow;
  let a5 = s.aOff + min(row0 + 5u, s.M - 1u) * s.aRow;
  let a6 = s.aOff + min(row0 + 6u, s.M - 1u) * s.aRow;
  let a7 = s.aOff + min(row0 + 7u, s.M - 1u) * s.aRow;
{{IF_SCALAR}}  let b0 = s.bOff + min(colBase, s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b1 = s.bOff + min(colBase + QS, s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b2 = s.bOff + min(colBase + 2u * QS, s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b3 = s.bOff + min(colBase + 3u * QS, s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b4 = s.bOff + min(colBase + VS, s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b5 = s.bOff + min(colBase + VS + QS, s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b6 = s.bOff + min(colBase + VS + 2u * QS, s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b7 = s.bOff + min(colBase + VS + 3u * QS, s.N - 1u) * s.bCol;
{{IF_VEC4}}  let b0 = s.bOff + min(colBase, s.N - 4u);
{{IF_VEC4}}  let b1 = s.bOff + min(colBase + VS, s.N - 4u);
  var c00 = vec4f(0.0);
  var c01 = vec4f(0.0);
  var c10 = vec4f(0.0);
  var c11 = vec4f(0.0);
  var c20 = vec4f(0.0);
  var c21 = vec4f(0.0);
  var c30 = vec4f(0.0);
  var c31 = vec4f(0.0);
  var c40 = vec4f(0.0);
  var c41 = vec4f(0.0);
  var c50 = vec4f(0.0);
  var c51 = vec4f(0.0);
  var c60 = vec4f(0.0);
  var c61 = vec4f(0.0);
  var c70 = vec4f(0.0);
  var c71 = vec4f(0.0);
  for (var k = 0u; k < s.K; k++) {
    let ka = k * s.aK;
    let kb = k * s.bK;
{{IF_SCALAR}}    let bl = vec4f(B[b0 + kb], B[b1 + kb], B[b2 + kb], B[b3 + kb]);
{{IF_SCALAR}}    let bh = vec4f(B[b4 + kb], B[b5 + kb], B[b6 + kb], B[b7 + kb]);
{{IF_VEC4}}    let bl = B[(b0 + kb) / 4u];
{{IF_VEC4}}    let bh = B[(b1 + kb) / 4u];
    let x0 = vec4f(A[a0 + ka]);
    c00 = fma(x0, bl, c00);
    c01 = fma(x0, bh, c01);
    let x1 = vec4f(A[a1 + ka]);
    c10 = fma(x1, bl, c10);
    c11 = fma(x1, bh, c11);
    let x2 = vec4f(A[a2 + ka]);
    c20 = fma(x2, bl, c20);
    c21 = fma(x2, bh, c21);
    let x3 = vec4f(A[a3 + ka]);
    c30 = fma(x3, bl, c30);
    c31 = fma(x3, bh, c31);
    let x4 = vec4f(A[a4 + ka]);
    c40 = fma(x4, bl, c40);
    c41 = fma(x4, bh, c41);
    let x5 = vec4f(A[a5 + ka]);
    c50 = fma(x5, bl, c50);
    c51 = fma(x5, bh, c51);
    let x6 = vec4f(A[a6 + ka]);
    c60 = fma(x6, bl, c60);
    c61 = fma(x6, bh, c61);
    let x7 = vec4f(A[a7 + ka]);
    c70 = fma(x7, bl, c70);
    c71 = fma(x7, bh, c71);
  }
  let acc = array<vec4f, 16>(c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71);
  for (var v = 0u; v < 16u; v++) {
    for (var q = 0u; q < 4u; q++) {
      store(row0 + v / 2u, colBase + (v % 2u) * VS + q * QS, acc[v][q]);
    }
  }
}

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
