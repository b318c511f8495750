// C[M,N] = op(A)·op(B) (+ bias) (ReLU) (· mask) for real GPUs: the classic workgroup-memory tiling.
//
// A 16x16 workgroup computes a 64x64 tile of C; each invocation owns 4 rows x 4 columns (columns tx, tx+16,
// tx+32, tx+48). Per step of 16 k-values the workgroup stages a 64x16 slice of op(A) and a 16x64 slice of
// op(B) in workgroup memory, each element read once from global memory with neighbouring invocations on
// neighbouring addresses, and then used by 16 invocations from workgroup memory. On Mesa lavapipe this runs at a
// third of matmul_regblock.wgsl, which is chosen there instead.
//
// Same operand addressing as matmul_regblock.wgsl; the uniform and epilogue come from matmul_common.wgsl:
//   op(A)[i,k] = A[aOff + i*aRow + k*aK]
//   op(B)[k,j] = B[bOff + k*bK + j*bCol]
//   C[i,j] = C[cOff + i*ldc + j]

//#include matmul_common

@group(0) @binding(0) var<uniform> s: Shape;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;

const TILE = 64u; // rows and columns of C per workgroup
const KT = 16u; // k-values staged per step
const THREADS = 256u;

// Staged slices, k-major: As[kk * TILE + i] = op(A)[row0 + i, k0 + kk]
//                         Bs[kk * TILE + j] = op(B)[k0 + kk, col0 + j]
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;

@compute @workgroup_size(16, 16)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) t: u32,
) {
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  let M = rowsM();
  let K = depthK();
  if (row0 >= M) {
    return; // past the rows of this step (rows at run time); uniform for the workgroup, before any barrier
  }
  if (K == 0u && FLAGS == EPI_ACCUMULATE) {
    return; // a block of k values past the step's (K at run time) adds nothing to C
  }
  var acc = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  for (var k0 = 0u; k0 < K; k0 += KT) {
    for (var e = t; e < TILE * KT; e += THREADS) {
      // Walk the operand's contiguous dimension with the invocation index so loads coalesce.
      var i = e / KT;
      var ka = e % KT;
      if (s.aK != 1u) {
        i = e % TILE;
        ka = e / TILE;
      }
      var av = 0.0;
      if (row0 + i < M && k0 + ka < K) {
        av = A[s.aOff + (row0 + i) * s.aRow + (k0 + ka) * s.aK];
      }
      As[ka * TILE + i] = av;
      var j = e % TILE;
      var kb = e / TILE;
      if (s.bCol != 1u) {
        j = e / KT;
        kb = e % KT;
      }
      var bv = 0.0;
      if (col0 + j < s.N && k0 + kb < K) {
        bv = B[s.bOff + (k0 + kb) * s.bK + (col0 + j) * s.bCol];
      }
      Bs[kb * TILE + j] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < KT; kk++) {
      let bRow = kk * TILE + lid.x;
      let b = vec4f(Bs[bRow], Bs[bRow + 16u], Bs[bRow + 32u], Bs[bRow + 48u]);
      for (var r = 0u; r < 4u; r++) {
        acc[r] = fma(vec4f(As[kk * TILE + lid.y * 4u + r]), b, acc[r]);
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    for (var q = 0u; q < 4u; q++) {
      store(row0 + lid.y * 4u + r, col0 + lid.x + q * 16u, acc[r][q]);
    }
  }
}
