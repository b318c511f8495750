// C[M,N] = op(A)·op(B) (+ bias) (ReLU) (· mask) for software adapters such as Mesa lavapipe, which runs 8
// invocations as one CPU vector. Why it looks like this (measurements and what was tried: docs/performance.md):
// on lavapipe every storage-buffer load costs a loop over the lanes, while a multiply-add is cheap, so the
// kernel is built around how many multiply-adds each loaded value feeds. Each lane (a workgroup is one vector
// of 8 lanes) owns 16 rows x 8 columns of C in 32 vec4 accumulators, unrolled by hand; per k it loads 16
// values of A and 8 of B and does 128 multiply-adds.
//
// Operands are addressed through strides, so transposed operands need no other code:
//   op(A)[i,k] = A[aOff + i*aRow + k*aK]
//   op(B)[k,j] = B[bOff + k*bK + j*bCol]
//   C[i,j] = C[cOff + i*ldc + j]
//
// Variants, chosen by src/gpu/matmul.ts and compiled in (//#if blocks):
// - A_STAGED: A is read from a 64 KiB uniform window that matmul_stage_a.wgsl filled with one block of
//   op(A), laid out [k][row] (row stride aK, a multiple of 16); lavapipe gathers uniform buffers without the
//   per-element bounds branches of storage loads. Otherwise A is read from storage.
// - B_SCALAR / B_VEC2 / B_VEC4: B read as scalars at any stride, or, when op(B) = B and its rows and offset
//   are multiples of 2 (4) floats, as vec2 (vec4): a vector load shares one lane's addressing among its
//   components.
// - C_VEC4: C and mask read and written as vec4 (N, and so ldc and cOff, a multiple of 4, each accumulator
//   holding 4 consecutive columns): one store per accumulator instead of four scatters.
//
// Columns are interleaved across the 8 lanes so that neighbouring lanes read neighbouring addresses: lane l
// owns columns l, l+8, ..., l+56 (scalar B), the pairs at 2l, 2l+16, 2l+32, 2l+48 (vec2) or the vec4s at 4l
// and 4l+32 (vec4 B or C). A workgroup whose 16 x 64 block lies wholly inside C (a uniform branch) stores
// without per-element bounds checks; the epilogue steps are compile-time constants (FLAGS in matmul_common).

//#include matmul_common

@group(0) @binding(0) var<uniform> s: Shape;
//#if A_STAGED
@group(0) @binding(1) var<uniform> A: array<vec4f, 4096>;
//#else
@group(0) @binding(1) var<storage, read> A: array<f32>;
//#endif
//#if B_SCALAR
@group(0) @binding(2) var<storage, read> B: array<f32>;
//#endif
//#if B_VEC2
@group(0) @binding(2) var<storage, read> B: array<vec2f>;
//#endif
//#if B_VEC4
@group(0) @binding(2) var<storage, read> B: array<vec4f>;
//#endif
//#if C_VEC4
@group(0) @binding(3) var<storage, read_write> C: array<vec4f>;
//#else
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
//#endif
@group(0) @binding(4) var<storage, read> bias: array<f32>;
//#if C_VEC4
@group(0) @binding(5) var<storage, read> mask: array<vec4f>;
//#else
@group(0) @binding(5) var<storage, read> mask: array<f32>;
//#endif

const LANES = 8u; // the workgroup size: one AVX2 vector of invocations
const ROWS = 16u; // rows of C per workgroup, shared by its lanes
// Accumulator c{row}_{v} component q holds column colBase + v * VS + COL[q], where a lane's first column is
// wg.x * 64 + lane * LANE_STEP: COL is (0, 8, 16, 24) with scalar B and C, (0, 1, 16, 17) with vec2 B and
// (0, 1, 2, 3) with vec4 B or C, and LANE_STEP 1, 2 and 4.
const COL = array<u32, 4>({{COLUMNS}});
const LANE_STEP = {{LANE_STEP}}u;
const VS = 4u * LANES;

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wg.y * ROWS;
  let M = rowsM();
  let K = depthK();
  if (row0 >= M) {
    return; // past the rows of this step (rows at run time)
  }
  let colBase = wg.x * (LANES * 8u) + lid.x * LANE_STEP;
  // Rows and columns past the edge read the last valid one (no divergent branch inside the loop); the
  // epilogue does not store them.
  //#if !A_STAGED
  let a0 = s.aOff + min(row0, M - 1u) * s.aRow;
  let a1 = s.aOff + min(row0 + 1u, M - 1u) * s.aRow;
  let a2 = s.aOff + min(row0 + 2u, M - 1u) * s.aRow;
  let a3 = s.aOff + min(row0 + 3u, M - 1u) * s.aRow;
  let a4 = s.aOff + min(row0 + 4u, M - 1u) * s.aRow;
  let a5 = s.aOff + min(row0 + 5u, M - 1u) * s.aRow;
  let a6 = s.aOff + min(row0 + 6u, M - 1u) * s.aRow;
  let a7 = s.aOff + min(row0 + 7u, M - 1u) * s.aRow;
  let a8 = s.aOff + min(row0 + 8u, M - 1u) * s.aRow;
  let a9 = s.aOff + min(row0 + 9u, M - 1u) * s.aRow;
  let a10 = s.aOff + min(row0 + 10u, M - 1u) * s.aRow;
  let a11 = s.aOff + min(row0 + 11u, M - 1u) * s.aRow;
  let a12 = s.aOff + min(row0 + 12u, M - 1u) * s.aRow;
  let a13 = s.aOff + min(row0 + 13u, M - 1u) * s.aRow;
  let a14 = s.aOff + min(row0 + 14u, M - 1u) * s.aRow;
  let a15 = s.aOff + min(row0 + 15u, M - 1u) * s.aRow;
  //#endif
  //#if B_SCALAR
  let b0 = s.bOff + min(colBase, s.N - 1u) * s.bCol;
  let b1 = s.bOff + min(colBase + COL[1], s.N - 1u) * s.bCol;
  let b2 = s.bOff + min(colBase + COL[2], s.N - 1u) * s.bCol;
  let b3 = s.bOff + min(colBase + COL[3], s.N - 1u) * s.bCol;
  let b4 = s.bOff + min(colBase + VS, s.N - 1u) * s.bCol;
  let b5 = s.bOff + min(colBase + VS + COL[1], s.N - 1u) * s.bCol;
  let b6 = s.bOff + min(colBase + VS + COL[2], s.N - 1u) * s.bCol;
  let b7 = s.bOff + min(colBase + VS + COL[3], s.N - 1u) * s.bCol;
  //#endif
  //#if B_VEC2
  let b0 = s.bOff + min(colBase, s.N - 2u);
  let b1 = s.bOff + min(colBase + COL[2], s.N - 2u);
  let b2 = s.bOff + min(colBase + VS, s.N - 2u);
  let b3 = s.bOff + min(colBase + VS + COL[2], s.N - 2u);
  //#endif
  //#if B_VEC4
  let b0 = s.bOff + min(colBase, s.N - 4u);
  let b1 = s.bOff + min(colBase + VS, s.N - 4u);
  //#endif
  var c0_0 = vec4f(0.0);
  var c0_1 = vec4f(0.0);
  var c1_0 = vec4f(0.0);
  var c1_1 = vec4f(0.0);
  var c2_0 = vec4f(0.0);
  var c2_1 = vec4f(0.0);
  var c3_0 = vec4f(0.0);
  var c3_1 = vec4f(0.0);
  var c4_0 = vec4f(0.0);
  var c4_1 = vec4f(0.0);
  var c5_0 = vec4f(0.0);
  var c5_1 = vec4f(0.0);
  var c6_0 = vec4f(0.0);
  var c6_1 = vec4f(0.0);
  var c7_0 = vec4f(0.0);
  var c7_1 = vec4f(0.0);
  var c8_0 = vec4f(0.0);
  var c8_1 = vec4f(0.0);
  var c9_0 = vec4f(0.0);
  var c9_1 = vec4f(0.0);
  var c10_0 = vec4f(0.0);
  var c10_1 = vec4f(0.0);
  var c11_0 = vec4f(0.0);
  var c11_1 = vec4f(0.0);
  var c12_0 = vec4f(0.0);
  var c12_1 = vec4f(0.0);
  var c13_0 = vec4f(0.0);
  var c13_1 = vec4f(0.0);
  var c14_0 = vec4f(0.0);
  var c14_1 = vec4f(0.0);
  var c15_0 = vec4f(0.0);
  var c15_1 = vec4f(0.0);
  for (var k = 0u; k < K; k++) {
    //#if A_STAGED
    let ka = (k * s.aK + row0) / 4u; // the window holds 16 consecutive rows of k as 4 vec4s
    let xs0 = A[ka + 0u];
    let xs1 = A[ka + 1u];
    let xs2 = A[ka + 2u];
    let xs3 = A[ka + 3u];
    //#else
    let ka = k * s.aK;
    //#endif
    let kb = k * s.bK;
    //#if B_SCALAR
    let bl = vec4f(B[b0 + kb], B[b1 + kb], B[b2 + kb], B[b3 + kb]);
    let bh = vec4f(B[b4 + kb], B[b5 + kb], B[b6 + kb], B[b7 + kb]);
    //#endif
    //#if B_VEC2
    let bl = vec4f(B[(b0 + kb) / 2u], B[(b1 + kb) / 2u]);
    let bh = vec4f(B[(b2 + kb) / 2u], B[(b3 + kb) / 2u]);
    //#endif
    //#if B_VEC4
    let bl = B[(b0 + kb) / 4u];
    let bh = B[(b1 + kb) / 4u];
    //#endif
    //#if A_STAGED
    let x0 = vec4f(xs0.x);
    //#else
    let x0 = vec4f(A[a0 + ka]);
    //#endif
    c0_0 = fma(x0, bl, c0_0);
    c0_1 = fma(x0, bh, c0_1);
    //#if A_STAGED
    let x1 = vec4f(xs0.y);
    //#else
    let x1 = vec4f(A[a1 + ka]);
    //#endif
    c1_0 = fma(x1, bl, c1_0);
    c1_1 = fma(x1, bh, c1_1);
    //#if A_STAGED
    let x2 = vec4f(xs0.z);
    //#else
    let x2 = vec4f(A[a2 + ka]);
    //#endif
    c2_0 = fma(x2, bl, c2_0);
    c2_1 = fma(x2, bh, c2_1);
    //#if A_STAGED
    let x3 = vec4f(xs0.w);
    //#else
    let x3 = vec4f(A[a3 + ka]);
    //#endif
    c3_0 = fma(x3, bl, c3_0);
    c3_1 = fma(x3, bh, c3_1);
    //#if A_STAGED
    let x4 = vec4f(xs1.x);
    //#else
    let x4 = vec4f(A[a4 + ka]);
    //#endif
    c4_0 = fma(x4, bl, c4_0);
    c4_1 = fma(x4, bh, c4_1);
    //#if A_STAGED
    let x5 = vec4f(xs1.y);
    //#else
    let x5 = vec4f(A[a5 + ka]);
    //#endif
    c5_0 = fma(x5, bl, c5_0);
    c5_1 = fma(x5, bh, c5_1);
    //#if A_STAGED
    let x6 = vec4f(xs1.z);
    //#else
    let x6 = vec4f(A[a6 + ka]);
    //#endif
    c6_0 = fma(x6, bl, c6_0);
    c6_1 = fma(x6, bh, c6_1);
    //#if A_STAGED
    let x7 = vec4f(xs1.w);
    //#else
    let x7 = vec4f(A[a7 + ka]);
    //#endif
    c7_0 = fma(x7, bl, c7_0);
    c7_1 = fma(x7, bh, c7_1);
    //#if A_STAGED
    let x8 = vec4f(xs2.x);
    //#else
    let x8 = vec4f(A[a8 + ka]);
    //#endif
    c8_0 = fma(x8, bl, c8_0);
    c8_1 = fma(x8, bh, c8_1);
    //#if A_STAGED
    let x9 = vec4f(xs2.y);
    //#else
    let x9 = vec4f(A[a9 + ka]);
    //#endif
    c9_0 = fma(x9, bl, c9_0);
    c9_1 = fma(x9, bh, c9_1);
    //#if A_STAGED
    let x10 = vec4f(xs2.z);
    //#else
    let x10 = vec4f(A[a10 + ka]);
    //#endif
    c10_0 = fma(x10, bl, c10_0);
    c10_1 = fma(x10, bh, c10_1);
    //#if A_STAGED
    let x11 = vec4f(xs2.w);
    //#else
    let x11 = vec4f(A[a11 + ka]);
    //#endif
    c11_0 = fma(x11, bl, c11_0);
    c11_1 = fma(x11, bh, c11_1);
    //#if A_STAGED
    let x12 = vec4f(xs3.x);
    //#else
    let x12 = vec4f(A[a12 + ka]);
    //#endif
    c12_0 = fma(x12, bl, c12_0);
    c12_1 = fma(x12, bh, c12_1);
    //#if A_STAGED
    let x13 = vec4f(xs3.y);
    //#else
    let x13 = vec4f(A[a13 + ka]);
    //#endif
    c13_0 = fma(x13, bl, c13_0);
    c13_1 = fma(x13, bh, c13_1);
    //#if A_STAGED
    let x14 = vec4f(xs3.z);
    //#else
    let x14 = vec4f(A[a14 + ka]);
    //#endif
    c14_0 = fma(x14, bl, c14_0);
    c14_1 = fma(x14, bh, c14_1);
    //#if A_STAGED
    let x15 = vec4f(xs3.w);
    //#else
    let x15 = vec4f(A[a15 + ka]);
    //#endif
    c15_0 = fma(x15, bl, c15_0);
    c15_1 = fma(x15, bh, c15_1);
  }
  // Blocks wholly inside C; blocks on its edge go element by element through store().
  let acc = array<vec4f, 32>(
    c0_0, c0_1, c1_0, c1_1, c2_0, c2_1, c3_0, c3_1,
    c4_0, c4_1, c5_0, c5_1, c6_0, c6_1, c7_0, c7_1,
    c8_0, c8_1, c9_0, c9_1, c10_0, c10_1, c11_0, c11_1,
    c12_0, c12_1, c13_0, c13_1, c14_0, c14_1, c15_0, c15_1,
  );
  // Both loops run over a bound the compiler cannot know (all ROWS rows in a whole block), which keeps them
  // rolled up: unrolled, they made each pipeline's compile take seconds on lavapipe (docs/performance.md).
  let rows = min(ROWS, M - row0);
  if (row0 + ROWS <= M && wg.x * (LANES * 8u) + LANES * 8u <= s.N) {
    for (var r = 0u; r < rows; r++) {
      put(s.cOff + (row0 + r) * s.ldc + colBase, colBase, acc[2u * r], acc[2u * r + 1u]);
    }
    return;
  }
  for (var v = 0u; v < 2u * rows; v++) {
    for (var q = 0u; q < 4u; q++) {
      store(row0 + v / 2u, colBase + (v % 2u) * VS + COL[q], acc[v][q]);
    }
  }
}

// Row `at` of a block inside C: accumulators lo and hi hold columns j + v * VS + COL[q] (v = 0, 1).
fn put(at: u32, j: u32, lo: vec4f, hi: vec4f) {
  //#if C_VEC4
  put4(at, j, lo);
  put4(at + VS, j + VS, hi);
  //#else
  storeAt(at, j, lo.x);
  storeAt(at + COL[1], j + COL[1], lo.y);
  storeAt(at + COL[2], j + COL[2], lo.z);
  storeAt(at + COL[3], j + COL[3], lo.w);
  storeAt(at + VS, j + VS, hi.x);
  storeAt(at + VS + COL[1], j + VS + COL[1], hi.y);
  storeAt(at + VS + COL[2], j + VS + COL[2], hi.z);
  storeAt(at + VS + COL[3], j + VS + COL[3], hi.w);
  //#endif
}

//#if C_VEC4
// Columns j .. j+3 of C at `at`, a multiple of 4, through the epilogue (vec4 C only).
fn put4(at: u32, j: u32, sum: vec4f) {
  var value = sum;
  if ((FLAGS & EPI_ACCUMULATE) != 0u) {
    value += C[at / 4u];
  }
  if ((FLAGS & EPI_BIAS) != 0u) {
    value += vec4f(bias[j], bias[j + 1u], bias[j + 2u], bias[j + 3u]);
  }
  if ((FLAGS & EPI_RELU) != 0u) {
    value = max(value, vec4f(0.0));
  }
  if ((FLAGS & EPI_MASK) != 0u) {
    value = select(vec4f(0.0), value, mask[at / 4u] > vec4f(0.0));
  }
  C[at / 4u] = value;
}
//#endif
