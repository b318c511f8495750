// out[j] (+)= sum over i of x[i * cols + j]: the bias gradient db = column sums of dY [rows, cols].
// One invocation per column, so neighbouring invocations read neighbouring addresses; rows are few (the
// batch). With TWIN (the LSTM's two biases have the same gradient) the sums are also written to a second
// buffer, which saves a second pass over x. With perStep > 0 the rows are a sequence batch's B * Tb, Tb read
// from the StepParams uniform (as the GEMM's, shaders/matmul_common.wgsl): this block's share of them. (A
// fixed column sum binds its own params as the step uniform, unread.)

struct Params {
  rows: u32, // this block's rows (the most, when perStep > 0)
  cols: u32,
  // 1: add to out (the later row blocks of an x split across bindings); 0: overwrite.
  accumulate: u32,
  perStep: u32, // rows per position of the step, or 0: rows fixed
  rowStart: u32, // this block's first row (perStep > 0)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
//#if TWIN
@group(0) @binding(3) var<storage, read_write> twin: array<f32>;
//#endif
//#include step_params
@group(0) @binding(4) var<uniform> step: StepParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= p.cols) {
    return;
  }
  var rows = p.rows;
  if (p.perStep != 0u) {
    let total = p.perStep * step.steps;
    rows = min(p.rows, total - min(total, p.rowStart));
  }
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
