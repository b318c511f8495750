// C[M,N] = op(A)·op(B) (+ bias) (ReLU) (· mask) for software adapters such as Mesa lavapipe, which runs 8
// invocations as one CPU vector. Why it looks like this (measurements and what was tried: docs/performance.md):
// on lavapipe every storage-buffer load costs a loop over the lanes, while a multiply-add is cheap, so the
// kernel is built around how many multiply-adds each loaded value feeds. Each lane (a workgroup is one vector
// of 8 lanes) owns ROWS rows x 8 columns of C in 2 x ROWS vec4 accumulators, one variable each (written out
// by //#for: QUADS = ROWS / 4); per k it loads ROWS values of A and 8 of B and does 8 x ROWS multiply-adds.
// ROWS is 16, or 32 for the large staged GEMMs, where halving B's loads per multiply-add pays
// (src/gpu/matmul.ts chooses; docs/performance.md has the measurements).
//
// Operands are addressed through strides, so transposed operands need no other code:
//   op(A)[i,k] = A[aOff + i*aRow + k*aK]
//   op(B)[k,j] = B[bOff + k*bK + j*bCol]
//   C[i,j] = C[cOff + i*ldc + j]
//
// Variants, chosen by src/gpu/matmul.ts and compiled in (//#if blocks):
// - A_STAGED: A is read from a 64 KiB uniform window that matmul_stage_a.wgsl filled with one block of
//   op(A), laid out [k][row] (row stride aK, a multiple of ROWS); lavapipe gathers uniform buffers without the
//   per-element bounds branches of storage loads. Otherwise A is read from storage.
// - B_SCALAR / B_VEC2 / B_VEC4: B read as scalars at any stride, or, when op(B) = B and its rows and offset
//   are multiples of 2 (4) floats, as vec2 (vec4): a vector load shares one lane's addressing among its
//   components.
// - C_VEC4: C and mask read and written as vec4 (N, and so ldc and cOff, a multiple of 4, each accumulator
//   holding 4 consecutive columns): one store per accumulator instead of four scatters.
//
// Columns are interleaved across the 8 lanes so that neighbouring lanes read neighbouring addresses: lane l
// owns columns l, l+8, ..., l+56 (scalar B), the pairs at 2l, 2l+16, 2l+32, 2l+48 (vec2) or the vec4s at 4l
// and 4l+32 (vec4 B or C). A workgroup whose ROWS x 64 block lies wholly inside C (a uniform branch) stores
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
const ROWS = {{ROWS}}u; // rows of C per workgroup, shared by its lanes (16 or 32: src/gpu/matmul.ts)
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
  if (K == 0u && FLAGS == EPI_ACCUMULATE) {
    return; // a block of k values past the step's (K at run time) adds nothing to C
  }
  let colBase = wg.x * (LANES * 8u) + lid.x * LANE_STEP;
  // Rows and columns past the edge read the last valid one (no divergent branch inside the loop); the
  // epilogue does not store them.
  //#if !A_STAGED
//#for q in QUADS
//#for r in 4
  let a{{q}}_{{r}} = s.aOff + min(row0 + {{q}}u * 4u + {{r}}u, M - 1u) * s.aRow;
//#endfor
//#endfor
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
//#for q in QUADS
//#for r in 4
  var c{{q}}_{{r}}_0 = vec4f(0.0);
  var c{{q}}_{{r}}_1 = vec4f(0.0);
//#endfor
//#endfor
  for (var k = 0u; k < K; k++) {
    //#if A_STAGED
    let ka = (k * s.aK + row0) / 4u; // the window holds ROWS consecutive rows of k as ROWS / 4 vec4s
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
//#for q in QUADS
    //#if A_STAGED
    let xs{{q}} = A[ka + {{q}}u];
    //#endif
//#for r in 4
    //#if A_STAGED
    let x{{q}}_{{r}} = vec4f(xs{{q}}[{{r}}]);
    //#else
    let x{{q}}_{{r}} = vec4f(A[a{{q}}_{{r}} + ka]);
    //#endif
    c{{q}}_{{r}}_0 = fma(x{{q}}_{{r}}, bl, c{{q}}_{{r}}_0);
    c{{q}}_{{r}}_1 = fma(x{{q}}_{{r}}, bh, c{{q}}_{{r}}_1);
//#endfor
//#endfor
  }
  // Blocks wholly inside C; blocks on its edge go element by element through store().
  let acc = array<vec4f, 2u * ROWS>(
//#for q in QUADS
//#for r in 4
    c{{q}}_{{r}}_0, c{{q}}_{{r}}_1,
//#endfor
//#endfor
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
