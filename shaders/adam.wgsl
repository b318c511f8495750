// One step of torch.optim.Adam over a flat range of parameters (one chunk of at most one binding):
//   g = grad * clipScale + weightDecay * p;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g²
//   p -= stepSize * m / (sqrt(v) / bc2Sqrt + eps)
// where stepSize = lr / (1 - beta1^t) and bc2Sqrt = sqrt(1 - beta2^t).
// The bias corrections depend only on t and are computed on the host (in float64) each step.
// clipScale is torch.nn.utils.clip_grad_norm_'s min(maxNorm / (norm + 1e-6), 1), from the norm of all the
// gradients that grad_norm*.wgsl left in gradNorm[0] just before; maxNorm 0 means no clipping (gradNorm is
// then not read, and every gradient is used as it is).
// T is vec4f when the count allows (measured on Mesa 25 lavapipe: 27-33 ms over 6.68 M parameters, against
// 50 ms as f32); the math is written once for both.

alias T = {{T}};

struct Step {
  stepSize: f32,
  bc2Sqrt: f32,
  beta1: f32,
  oneMinusBeta1: f32,
  beta2: f32,
  oneMinusBeta2: f32,
  eps: f32,
  weightDecay: f32,
  maxNorm: f32,
}

@group(0) @binding(0) var<uniform> h: Step;
@group(0) @binding(1) var<storage, read_write> params: array<T>;
@group(0) @binding(2) var<storage, read> grads: array<T>;
@group(0) @binding(3) var<storage, read_write> m: array<T>;
@group(0) @binding(4) var<storage, read_write> v: array<T>;
@group(0) @binding(5) var<storage, read> gradNorm: array<f32>;

const WORKGROUP = {{WG}}u; // 256 where the device allows it (src/gpu/adam.ts)

// The grid may be 2D (at most 65535 workgroups per dimension); element i is counted row by row.
@compute @workgroup_size(WORKGROUP)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
) {
  let i = (wg.y * groups.x + wg.x) * WORKGROUP + lid.x;
  if (i >= arrayLength(&params)) {
    return;
  }
  let p = params[i];
  var g = grads[i];
  if (h.maxNorm > 0.0) {
    g *= min(h.maxNorm / (gradNorm[0] + 1e-6), 1.0);
  }
  if (h.weightDecay != 0.0) {
    g += h.weightDecay * p;
  }
  let m1 = h.beta1 * m[i] + h.oneMinusBeta1 * g;
  let v1 = h.beta2 * v[i] + h.oneMinusBeta2 * g * g;
  m[i] = m1;
  v[i] = v1;
  params[i] = p - h.stepSize * m1 / (sqrt(v1) / h.bc2Sqrt + h.eps);
}
