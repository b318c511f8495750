// out[j] (+)= sum over i of x[i * cols + j]: the bias gradient db = column sums of dY [rows, cols].
// One invocation per column, so neighbouring invocations read neighbouring addresses; rows are few (the
// batch). With TWIN (the LSTM's two biases have the same gradient) the sums are also written to a second
// buffer, which saves a second pass over x. With RUNTIME_ROWS the rows are a sequence batch's B * Tb, Tb read
// from the StepParams uniform (as the GEMM's, shaders/matmul_common.wgsl): this block's share of them.

struct Params {
  rows: u32, // this block's rows (the most, with RUNTIME_ROWS)
  cols: u32,
  // 1: add to out (the later row blocks of an x split across bindings); 0: overwrite.
  accumulate: u32,
  perStep: u32, // RUNTIME_ROWS: rows per position of the step
  rowStart: u32, // RUNTIME_ROWS: this block's first row
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
//#if TWIN
@group(0) @binding(3) var<storage, read_write> twin: array<f32>;
//#endif
//#if RUNTIME_ROWS
//#include step_params
@group(0) @binding(4) var<uniform> step: StepParams;
//#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= p.cols) {
    return;
  }
  //#if RUNTIME_ROWS
  let total = p.perStep * step.steps;
  let rows = min(p.rows, total - min(total, p.rowStart));
  //#else
  let rows = p.rows;
  //#endif
  var sum = 0.0;
  for (var i = 0u; i < rows; i++) {
    sum += x[i * p.cols + j];
  }
  if (p.accumulate != 0u) {
    sum += out[j];
  }
  out[j] = sum;
  //#if TWIN
  twin[j] = sum;
  //#endif
}
