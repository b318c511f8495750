// Training dropout on a batch's packed [rows * steps, WIDTH] activation (or [rows, WIDTH] without PER_STEP) (docs/headline-model.md): each
// element is kept, times the float32 keep scale, or zeroed, as the counter hash decides from the run's seed,
// the optimizer step, this site and the element's index, exactly as src/model/dropout.ts does on the CPU.
// The same pass is the mask's backward (a gradient times the same mask). IN_PLACE: x is the output too
// (the embedding output and the gradients), else the masked copy goes to y (an activation its producer's
// backward still needs unmasked). Elements past the step's positions are left alone. PACKED: the rows are a
// headline batch's packed rows (src/gpu/packing.ts): the bound StepParams is the packing's (its `steps` the
// packed rows, ROWS 1), and each row's mask is that of its position, positions[row], as if unpacked.

//#include step_params

struct Dropout {
  seed: u32,
  step: u32, // the optimizer step being taken (1-based)
  threshold: u32, // floor(rate * 2^32): hash values below it are dropped
  scale: f32, // float32(1 / (1 - rate))
}

const ROWS = {{ROWS}}u; // rows the kernels compute (the largest batch)
const WIDTH = {{WIDTH}}u;
const SITE = {{SITE}}u;
// Whether each of ROWS rows holds step.steps positions of WIDTH (a batch's packed activation) or just WIDTH
// (a window model's head, one row per window).
const PER_STEP = {{PER_STEP}};
const WORKGROUP = {{WG}}u; // 256 where the device allows it
const PACKED = {{PACKED}};

@group(0) @binding(0) var<uniform> step: StepParams;
@group(0) @binding(1) var<uniform> d: Dropout;
//#if IN_PLACE
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
//#else
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
//#endif
//#if PACKED
@group(0) @binding(4) var<storage, read> positions: array<i32>;
//#endif

// Chris Wellons' lowbias32 (u32 arithmetic wraps, as the host's Math.imul).
fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

// The grid may be 2D (at most 65535 workgroups per dimension); element i is counted row by row.
@compute @workgroup_size(WORKGROUP)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
) {
  let i = (wg.y * groups.x + wg.x) * WORKGROUP + lid.x;
  if (i >= ROWS * select(1u, step.steps, PER_STEP) * WIDTH) {
    return;
  }
  let key = lowbias32(d.seed ^ lowbias32(d.step ^ lowbias32(SITE)));
  //#if PACKED
  let at = u32(positions[i / WIDTH]) * WIDTH + i % WIDTH;
  //#else
  let at = i;
  //#endif
  let kept = lowbias32(key ^ lowbias32(at)) >= d.threshold;
  // A multiplication by 0, as the CPU reference's, so a dropped negative value is -0 there too.
  let value = x[i] * select(0.0, d.scale, kept);
  //#if IN_PLACE
  x[i] = value;
  //#else
  y[i] = value;
  //#endif
}
