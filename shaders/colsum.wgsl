// out[j] (+)= sum over i of x[i * cols + j]: the bias gradient db = column sums of dY [rows, cols].
// One invocation per column, so neighbouring invocations read neighbouring addresses; rows are few (the
// batch). With TWIN (the LSTM's two biases have the same gradient) the sums are also written to a second
// buffer, which saves a second pass over x.

struct Params {
  rows: u32,
  cols: u32,
  // 1: add to out (the later row blocks of an x split across bindings); 0: overwrite.
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
//#if TWIN
@group(0) @binding(3) var<storage, read_write> twin: array<f32>;
//#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= p.cols) {
    return;
  }
  var sum = 0.0;
  for (var i = 0u; i < p.rows; i++) {
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
