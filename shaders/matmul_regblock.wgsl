// C[M,N] = op(A)·op(B) (+ bias) (ReLU) (· mask) for software adapters such as Mesa lavapipe.
//
// Why this design (measured on Mesa 25.0.7 lavapipe; see shared/notes/webgpu-on-this-machine.md): lavapipe
// runs 8 invocations as one AVX2 vector, and its compiler (gallivm) turns every storage-buffer load into a
// loop over the 8 lanes with a bounds-check branch per element (read with GALLIVM_DEBUG=asm): about 16
// instructions per lane for an f32, about 9 per component for a vec4 (the per-lane part is shared). That
// holds even where every lane reads the same address: the broadcast path needs an address that NIR can
// prove constant, and nothing derived from workgroup_id or a loop counter is. An 8-lane multiply-add is 2
// instructions (no fused FMA is emitted). So loads, not arithmetic, set the speed, and what counts is how
// many multiply-adds each loaded value feeds: each lane loads 16 values of A (its 16 rows) and 8 of B (two
// vec4) per k and does 128 multiply-adds with them, in 32 vec4 accumulators unrolled by hand (the same loop
// over local arrays ran at half the speed). Tried and slower: 8 x 8 blocks (15-25%; fewer multiply-adds per
// load, and B re-read by twice as many row blocks), 24 and 32 rows (up to 1.5x the time: accumulators
// spill, and gallivm blends every loop-carried value with the lane mask on each iteration). Tried and not
// faster within this machine's 2x run-to-run noise: A read as vec2/vec4 along k with k unrolled to match,
// k unrolled by 2 or 4, and both operands as rgba32float textures (each texel fetch is a call, which spills
// every live vector register). Much slower: straight-line code over a K chunk with constant A addresses
// (4 GFLOP/s, 20 s to compile: the loads stayed per lane) and workgroup-memory tiling (about 3 GFLOP/s);
// matmul_tiled.wgsl is the variant for real GPUs.
//
// A staged through a uniform buffer (lines starting {{IF_A_STAGED}}; {{IF_A_STORAGE}} lines read A from storage
// instead): matmul_stage_a.wgsl first copies one block of op(A) into a 64 KiB window laid out [k][row] (row
// stride aK, a multiple of 16), and this kernel reads it as a uniform buffer. gallivm loads a uniform buffer
// at per-lane addresses with a branch-free gather (extract, load, insert) rather than storage's per-element
// bounds-check branches: the k loop shrinks from ~3,900 to ~1,800 instructions. Time falls less: measured
// interleaved at the fc2 shapes (staging dispatches included), 0.64x-0.88x the storage form's on a busy
// machine, 0.86x-1.02x on a quiet one. B is far too large for 64 KiB windows, so it stays in storage.
//
// Operands are addressed through strides, so transposed operands need no other code:
//   op(A)[i,k] = A[aOff + i*aRow + k*aK]
//   op(B)[k,j] = B[bOff + k*bK + j*bCol]
//   C[i,j] = C[cOff + i*ldc + j]
// B is read as scalars at any stride (lines starting {{IF_SCALAR}}) or, when op(B) = B and its rows and
// offset are multiples of 4 (2) floats, as vec4 (vec2) (lines starting {{IF_VEC4}}, {{IF_VEC2}}): every
// vector load shares one lane's addressing and bounds work among its components, so vec4 reads of B made the
// GEMM 10-20% faster, and vec2 reads (an even N such as V = 2482) 5-10%. The slots of the variants
// not chosen turn their lines into comments.
//
// Columns are interleaved across the 8 lanes so that neighbouring lanes read neighbouring addresses: lane l
// owns columns l, l+8, ..., l+56 (scalar B), the pairs at 2l, 2l+16, 2l+32, 2l+48 (vec2) or the vec4s at 4l
// and 4l+32 (vec4 B or C).
//
// The epilogue: a workgroup whose 16 x 64 block lies wholly inside C (a uniform branch) stores without
// per-element bounds checks, and the epilogue steps are compile-time constants (FLAGS in matmul_common).
// With C and mask read as vec4 ({{IF_C_VEC4}}: N, and so ldc and cOff, a multiple of 4, and each accumulator
// holding 4 consecutive columns) each accumulator is one vec4 store. Per-element stores are
// scatters on lavapipe; at K = 64 (the fc2 dW GEMM) they cost as much as the FMAs, and these two steps
// made that GEMM 20-25% faster, the vec4 stores the NN dX GEMM about 20% (N a multiple of 4).

//#include matmul_common

@group(0) @binding(0) var<uniform> s: Shape;
{{IF_A_STORAGE}}@group(0) @binding(1) var<storage, read> A: array<f32>;
{{IF_A_STAGED}}@group(0) @binding(1) var<uniform> A: array<vec4f, 4096>;
{{IF_SCALAR}}@group(0) @binding(2) var<storage, read> B: array<f32>;
{{IF_VEC2}}@group(0) @binding(2) var<storage, read> B: array<vec2f>;
{{IF_VEC4}}@group(0) @binding(2) var<storage, read> B: array<vec4f>;
{{IF_C_SCALAR}}@group(0) @binding(3) var<storage, read_write> C: array<f32>;
{{IF_C_VEC4}}@group(0) @binding(3) var<storage, read_write> C: array<vec4f>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
{{IF_C_SCALAR}}@group(0) @binding(5) var<storage, read> mask: array<f32>;
{{IF_C_VEC4}}@group(0) @binding(5) var<storage, read> mask: array<vec4f>;

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
  let colBase = wg.x * (LANES * 8u) + lid.x * LANE_STEP;
  // Rows and columns past the edge read the last valid one (no divergent branch inside the loop); the
  // epilogue does not store them.
{{IF_A_STORAGE}}  let a0 = s.aOff + min(row0, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a1 = s.aOff + min(row0 + 1u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a2 = s.aOff + min(row0 + 2u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a3 = s.aOff + min(row0 + 3u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a4 = s.aOff + min(row0 + 4u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a5 = s.aOff + min(row0 + 5u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a6 = s.aOff + min(row0 + 6u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a7 = s.aOff + min(row0 + 7u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a8 = s.aOff + min(row0 + 8u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a9 = s.aOff + min(row0 + 9u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a10 = s.aOff + min(row0 + 10u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a11 = s.aOff + min(row0 + 11u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a12 = s.aOff + min(row0 + 12u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a13 = s.aOff + min(row0 + 13u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a14 = s.aOff + min(row0 + 14u, s.M - 1u) * s.aRow;
{{IF_A_STORAGE}}  let a15 = s.aOff + min(row0 + 15u, s.M - 1u) * s.aRow;
{{IF_SCALAR}}  let b0 = s.bOff + min(colBase, s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b1 = s.bOff + min(colBase + COL[1], s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b2 = s.bOff + min(colBase + COL[2], s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b3 = s.bOff + min(colBase + COL[3], s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b4 = s.bOff + min(colBase + VS, s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b5 = s.bOff + min(colBase + VS + COL[1], s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b6 = s.bOff + min(colBase + VS + COL[2], s.N - 1u) * s.bCol;
{{IF_SCALAR}}  let b7 = s.bOff + min(colBase + VS + COL[3], s.N - 1u) * s.bCol;
{{IF_VEC2}}  let b0 = s.bOff + min(colBase, s.N - 2u);
{{IF_VEC2}}  let b1 = s.bOff + min(colBase + COL[2], s.N - 2u);
{{IF_VEC2}}  let b2 = s.bOff + min(colBase + VS, s.N - 2u);
{{IF_VEC2}}  let b3 = s.bOff + min(colBase + VS + COL[2], s.N - 2u);
{{IF_VEC4}}  let b0 = s.bOff + min(colBase, s.N - 4u);
{{IF_VEC4}}  let b1 = s.bOff + min(colBase + VS, s.N - 4u);
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
  for (var k = 0u; k < s.K; k++) {
{{IF_A_STORAGE}}    let ka = k * s.aK;
{{IF_A_STAGED}}    let ka = (k * s.aK + row0) / 4u; // the window holds 16 consecutive rows of k as 4 vec4s
{{IF_A_STAGED}}    let xs0 = A[ka + 0u];
{{IF_A_STAGED}}    let xs1 = A[ka + 1u];
{{IF_A_STAGED}}    let xs2 = A[ka + 2u];
{{IF_A_STAGED}}    let xs3 = A[ka + 3u];
    let kb = k * s.bK;
{{IF_SCALAR}}    let bl = vec4f(B[b0 + kb], B[b1 + kb], B[b2 + kb], B[b3 + kb]);
{{IF_SCALAR}}    let bh = vec4f(B[b4 + kb], B[b5 + kb], B[b6 + kb], B[b7 + kb]);
{{IF_VEC2}}    let bl = vec4f(B[(b0 + kb) / 2u], B[(b1 + kb) / 2u]);
{{IF_VEC2}}    let bh = vec4f(B[(b2 + kb) / 2u], B[(b3 + kb) / 2u]);
{{IF_VEC4}}    let bl = B[(b0 + kb) / 4u];
{{IF_VEC4}}    let bh = B[(b1 + kb) / 4u];
{{IF_A_STORAGE}}    let x0 = vec4f(A[a0 + ka]);
{{IF_A_STAGED}}    let x0 = vec4f(xs0.x);
    c0_0 = fma(x0, bl, c0_0);
    c0_1 = fma(x0, bh, c0_1);
{{IF_A_STORAGE}}    let x1 = vec4f(A[a1 + ka]);
{{IF_A_STAGED}}    let x1 = vec4f(xs0.y);
    c1_0 = fma(x1, bl, c1_0);
    c1_1 = fma(x1, bh, c1_1);
{{IF_A_STORAGE}}    let x2 = vec4f(A[a2 + ka]);
{{IF_A_STAGED}}    let x2 = vec4f(xs0.z);
    c2_0 = fma(x2, bl, c2_0);
    c2_1 = fma(x2, bh, c2_1);
{{IF_A_STORAGE}}    let x3 = vec4f(A[a3 + ka]);
{{IF_A_STAGED}}    let x3 = vec4f(xs0.w);
    c3_0 = fma(x3, bl, c3_0);
    c3_1 = fma(x3, bh, c3_1);
{{IF_A_STORAGE}}    let x4 = vec4f(A[a4 + ka]);
{{IF_A_STAGED}}    let x4 = vec4f(xs1.x);
    c4_0 = fma(x4, bl, c4_0);
    c4_1 = fma(x4, bh, c4_1);
{{IF_A_STORAGE}}    let x5 = vec4f(A[a5 + ka]);
{{IF_A_STAGED}}    let x5 = vec4f(xs1.y);
    c5_0 = fma(x5, bl, c5_0);
    c5_1 = fma(x5, bh, c5_1);
{{IF_A_STORAGE}}    let x6 = vec4f(A[a6 + ka]);
{{IF_A_STAGED}}    let x6 = vec4f(xs1.z);
    c6_0 = fma(x6, bl, c6_0);
    c6_1 = fma(x6, bh, c6_1);
{{IF_A_STORAGE}}    let x7 = vec4f(A[a7 + ka]);
{{IF_A_STAGED}}    let x7 = vec4f(xs1.w);
    c7_0 = fma(x7, bl, c7_0);
    c7_1 = fma(x7, bh, c7_1);
{{IF_A_STORAGE}}    let x8 = vec4f(A[a8 + ka]);
{{IF_A_STAGED}}    let x8 = vec4f(xs2.x);
    c8_0 = fma(x8, bl, c8_0);
    c8_1 = fma(x8, bh, c8_1);
{{IF_A_STORAGE}}    let x9 = vec4f(A[a9 + ka]);
{{IF_A_STAGED}}    let x9 = vec4f(xs2.y);
    c9_0 = fma(x9, bl, c9_0);
    c9_1 = fma(x9, bh, c9_1);
{{IF_A_STORAGE}}    let x10 = vec4f(A[a10 + ka]);
{{IF_A_STAGED}}    let x10 = vec4f(xs2.z);
    c10_0 = fma(x10, bl, c10_0);
    c10_1 = fma(x10, bh, c10_1);
{{IF_A_STORAGE}}    let x11 = vec4f(A[a11 + ka]);
{{IF_A_STAGED}}    let x11 = vec4f(xs2.w);
    c11_0 = fma(x11, bl, c11_0);
    c11_1 = fma(x11, bh, c11_1);
{{IF_A_STORAGE}}    let x12 = vec4f(A[a12 + ka]);
{{IF_A_STAGED}}    let x12 = vec4f(xs3.x);
    c12_0 = fma(x12, bl, c12_0);
    c12_1 = fma(x12, bh, c12_1);
{{IF_A_STORAGE}}    let x13 = vec4f(A[a13 + ka]);
{{IF_A_STAGED}}    let x13 = vec4f(xs3.y);
    c13_0 = fma(x13, bl, c13_0);
    c13_1 = fma(x13, bh, c13_1);
{{IF_A_STORAGE}}    let x14 = vec4f(A[a14 + ka]);
{{IF_A_STAGED}}    let x14 = vec4f(xs3.z);
    c14_0 = fma(x14, bl, c14_0);
    c14_1 = fma(x14, bh, c14_1);
{{IF_A_STORAGE}}    let x15 = vec4f(A[a15 + ka]);
{{IF_A_STAGED}}    let x15 = vec4f(xs3.w);
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
  // rolled up: unrolled, their per-lane stores made up most of a pipeline's compile time on lavapipe (4-8 s
  // each, against 0.3-0.7 s now: minutes for a cold shader cache), for 5-10% less time in the epilogue-heavy
  // K = 64 dW GEMM.
  let rows = min(ROWS, s.M - row0);
  if (row0 + ROWS <= s.M && wg.x * (LANES * 8u) + LANES * 8u <= s.N) {
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
{{IF_C_SCALAR}}  storeAt(at, j, lo.x);
{{IF_C_SCALAR}}  storeAt(at + COL[1], j + COL[1], lo.y);
{{IF_C_SCALAR}}  storeAt(at + COL[2], j + COL[2], lo.z);
{{IF_C_SCALAR}}  storeAt(at + COL[3], j + COL[3], lo.w);
{{IF_C_SCALAR}}  storeAt(at + VS, j + VS, hi.x);
{{IF_C_SCALAR}}  storeAt(at + VS + COL[1], j + VS + COL[1], hi.y);
{{IF_C_SCALAR}}  storeAt(at + VS + COL[2], j + VS + COL[2], hi.z);
{{IF_C_SCALAR}}  storeAt(at + VS + COL[3], j + VS + COL[3], hi.w);
{{IF_C_VEC4}}  put4(at, j, lo);
{{IF_C_VEC4}}  put4(at + VS, j + VS, hi);
}

// Columns j .. j+3 of C at `at`, a multiple of 4, through the epilogue (vec4 C only).
fn put4(at: u32, j: u32, sum: vec4f) {
{{IF_C_VEC4}}  var value = sum;
{{IF_C_VEC4}}  if ((FLAGS & EPI_ACCUMULATE) != 0u) {
{{IF_C_VEC4}}    value += C[at / 4u];
{{IF_C_VEC4}}  }
{{IF_C_VEC4}}  if ((FLAGS & EPI_BIAS) != 0u) {
{{IF_C_VEC4}}    value += vec4f(bias[j], bias[j + 1u], bias[j + 2u], bias[j + 3u]);
{{IF_C_VEC4}}  }
{{IF_C_VEC4}}  if ((FLAGS & EPI_RELU) != 0u) {
{{IF_C_VEC4}}    value = max(value, vec4f(0.0));
{{IF_C_VEC4}}  }
{{IF_C_VEC4}}  if ((FLAGS & EPI_MASK) != 0u) {
{{IF_C_VEC4}}    value = select(vec4f(0.0), value, mask[at / 4u] > vec4f(0.0));
{{IF_C_VEC4}}  }
{{IF_C_VEC4}}  C[at / 4u] = value;
}
