// Embedding gather for one step: x[b,t,:] = table[inputs[order[start + b] * T + t], :] for b < size and
// t < step.steps, packed with the step's positions as the row stride (position t of row b at b * steps + t).
// Rows b >= size (a short last batch) get x = 0 and id -1, so everything downstream of them is finite
// and their gradients are zero; so do the positions past the step's (up to POSITIONS), which the backward
// walks. The resolved ids are kept for embedding_backward.wgsl, which then needs neither the order nor the
// data buffers.
//#include step_params

// Ids per row of the data (a window model's window, a headline model's longest row): the inputs' stride.
const T = {{T}}u;
const E = {{E}}u;
// maxB * T: positions the kernels are built for.
const POSITIONS = {{POSITIONS}}u;
// Invocations per position: min(E, 64).
const SPAN = {{SPAN}}u;

@group(0) @binding(0) var<uniform> step: StepParams;
@group(0) @binding(1) var<storage, read> inputs: array<i32>;
@group(0) @binding(2) var<storage, read> order: array<i32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
@group(0) @binding(5) var<storage, read_write> ids: array<i32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  // SPAN invocations per position, each gathering elements e = s, s + SPAN, ...: the position's id is looked
  // up once for several elements (on lavapipe every invocation's load is its own). The s = 0 one also records
  // the position's id.
  let n = gid.x;
  if (n >= POSITIONS * SPAN) {
    return;
  }
  let p = n / SPAN;
  let s = n % SPAN;
  let b = p / step.steps;
  let t = p % step.steps;
  // Past the step's positions b >= maxB >= size: those are zeroed with the short batch's rows.
  if (b >= step.size) {
    for (var e = s; e < E; e += SPAN) {
      x[p * E + e] = 0.0;
    }
    if (s == 0u) {
      ids[p] = -1;
    }
    return;
  }
  let id = inputs[u32(order[step.start + b]) * T + t];
  for (var e = s; e < E; e += SPAN) {
    x[p * E + e] = table[u32(id) * E + e];
  }
  if (s == 0u) {
    ids[p] = id;
  }
}
