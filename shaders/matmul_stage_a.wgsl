// Copies one block of a GEMM's A operand into a 64 KiB staging window that matmul_regblock.wgsl then reads
// as a uniform buffer (its "staged" form; see there for why):
//   stage[k * width + i] = op(A)[i, k]   for i < rows, k < cols of this block, 0 elsewhere in the window,
// with op(A)[i,k] = A[aOff + i*aRow + k*aK] as in the GEMM. Rows past the block are zeros so that the GEMM's
// edge workgroups multiply zeros rather than whatever the previous block left.

struct Params {
  rows: u32, // rows of op(A) in this block
  cols: u32, // k values in this block
  aRow: u32,
  aK: u32,
  aOff: u32,
  width: u32, // the window's row stride: rows rounded up to 16
}

const WINDOW = 16384u; // floats in 64 KiB

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> stage: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.x;
  if (e >= WINDOW) {
    return;
  }
  let k = e / p.width;
  let i = e % p.width;
  var value = 0.0;
  if (i < p.rows && k < p.cols) {
    value = A[p.aOff + i * p.aRow + k * p.aK];
  }
  stage[e] = value;
}
