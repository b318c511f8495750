// The gradient norm of torch.nn.utils.clip_grad_norm_, stage 2 of 2 (src/gpu/grad_norm.ts): one workgroup
// adds up the partial sums of squares grad_norm.wgsl wrote and stores their square root, the 2-norm of all
// gradients together, in norm[0], where adam.wgsl reads it to scale each gradient (no readback).

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> norm: array<f32>;

const WG = {{WG}}u; // a power of two of at least SPAN (src/gpu/grad_norm.ts)
const SPAN = 16u;

var<workgroup> sums: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = arrayLength(&partials);
  var sum = 0.0;
  for (var i = lid; i < n; i += WG) {
    sum += partials[i];
  }
  sums[lid] = sum;
  // Two levels of SPAN-wide serial sums, as in grad_norm.wgsl (two barriers instead of a tree's eight).
  workgroupBarrier();
  if (lid < WG / SPAN) {
    var row = 0.0;
    for (var j = 0u; j < SPAN; j++) {
      row += sums[lid * SPAN + j];
    }
    sums[lid * SPAN] = row;
  }
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0.0;
    for (var r = 0u; r < WG / SPAN; r++) {
      total += sums[r * SPAN];
    }
    norm[0] = sqrt(total);
  }
}
