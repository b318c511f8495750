// Copies blocks of a GEMM's A operand into 64 KiB staging windows that matmul_regblock.wgsl then reads as
// uniform buffers (its "staged" form; see there for why):
//   stage[k * width + i] = op(A)[i, k]   for i < rows, k < cols of this block, 0 elsewhere in the window's
// first WINDOW / width k values (all the GEMM reads), with op(A)[i,k] = A[aOff + i*aRow + k*aK] as in the
// GEMM. Rows past the block are zeros so that the GEMM's edge workgroups multiply zeros rather than whatever
// the previous block left.
//
// ALL_WINDOWS: every block of the GEMM in one dispatch, block w (workgroup row w) into window w of one buffer
// of windows, its Params from a storage array (A bound whole): one dispatch per GEMM instead of one per block.
// Otherwise one block into one window (A bound as the block's rows), staged just before that block's GEMMs.
//
// A GEMM with rows at run time (matmul_common.wgsl) stages only what the step's rows reach: a block of run-time
// rows (M) past them not at all and its rows past them as zeros, a block along a run-time K only the k values
// the GEMM then reads (it stops there). With the padding of headline batches skipped (src/gpu/packing.ts)
// most of the blocks built for the longest batch lie past a step's rows.
//#include step_params

struct Params {
  rows: u32, // rows of op(A) in this block
  cols: u32, // k values in this block
  aRow: u32,
  aK: u32,
  aOff: u32,
  width: u32, // the window's row stride: rows rounded up to the GEMM's rows per workgroup
  runDim: u32, // 0: rows and cols fixed; 1: rows at run time; 2: cols (the GEMM's K) at run time
  perStep: u32, // the GEMM's rows per position of the step (runDim > 0)
  runStart: u32, // this block's first row (or k) along the run-time dimension (runDim > 0)
}

const WINDOW = 16384u; // floats in 64 KiB

//#if ALL_WINDOWS
@group(0) @binding(0) var<storage, read> windows: array<Params>;
//#else
@group(0) @binding(0) var<uniform> params: Params;
//#endif
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> stage: array<f32>;
@group(0) @binding(3) var<uniform> step: StepParams; // the GEMM's (unread without rows at run time)

// Workgroups take the window's k values in turn, their 64 invocations its rows: a few workgroups, each
// looping, cost lavapipe less than a workgroup per 64 elements (0.09 against 0.14 ms of CPU a window;
// docs/performance.md, session 3), and no element needs a division by the run-time width (on lavapipe 8
// scalar divisions per vector of invocations).
@compute @workgroup_size(64)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wg: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  //#if ALL_WINDOWS
  let p = windows[wg.y];
  let base = wg.y * WINDOW;
  //#else
  let p = params;
  let base = 0u;
  //#endif
  // This step's share of the run-time dimension, as the GEMM's runtimeExtent.
  let total = p.perStep * step.steps;
  let extent = total - min(total, p.runStart);
  let rows = select(p.rows, min(p.rows, extent), p.runDim == 1u);
  let cols = select(p.cols, min(p.cols, extent), p.runDim == 2u);
  if (rows == 0u) {
    return; // the GEMM computes no rows of this block
  }
  // The GEMM reads k < cols <= WINDOW / width (only k < cols at run time), rows i < width.
  let depth = select(WINDOW / p.width, cols, p.runDim == 2u);
  for (var k = wg.x; k < depth; k += groups.x) {
    for (var i = lane; i < p.width; i += 64u) {
      var value = 0.0;
      if (i < rows && k < cols) {
        value = A[p.aOff + i * p.aRow + k * p.aK];
      }
      stage[base + k * p.width + i] = value;
    }
  }
}
