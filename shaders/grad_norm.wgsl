// The gradient norm of torch.nn.utils.clip_grad_norm_, stage 1 of 2 (src/gpu/grad_norm.ts): each workgroup
// sums the squares of its strided share of one chunk of the flat gradients (at most one binding) and writes
// the sum to partials[base + workgroup]; grad_norm_final.wgsl adds every chunk's partials up. No atomics:
// every sum runs in a fixed order, so the norm is the same on every run (and a resumed run is exact).
// T is vec4f when the count allows, as in adam.wgsl.

alias T = {{T}};

struct Chunk {
  // Where this chunk's partial sums start in `partials`.
  base: u32,
}

@group(0) @binding(0) var<uniform> chunk: Chunk;
@group(0) @binding(1) var<storage, read> grads: array<T>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

const WG = {{WG}}u; // a power of two of at least SPAN (src/gpu/grad_norm.ts)
const SPAN = 16u;

var<workgroup> sums: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let n = arrayLength(&grads);
  var sum = 0.0;
  for (var i = wid.x * WG + lid; i < n; i += groups.x * WG) {
    let g = grads[i];
    //#if VEC4
    sum += dot(g, g);
    //#else
    sum += g * g;
    //#endif
  }
  sums[lid] = sum;
  // Two levels of SPAN-wide serial sums rather than a tree: each barrier costs a software adapter (lavapipe)
  // a pass over the whole workgroup, and a tree's eight made this kernel 2-3x slower there (measured over
  // 6.7 M gradients: 25-32 ms against 11-14 ms, where reading them alone takes 10-14 ms).
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
    partials[chunk.base + wid.x] = total;
  }
}
