// Softmax cross-entropy, one workgroup per logits row: an online max/sum-of-exp pass reduced as a tree
// (numerically stable log-sum-exp for logits of any size), the row's loss log(sum exp) - logit[target],
// and, when GRAD, dLogits = (softmax - onehot(target)) / N, the gradient of the step's mean loss over its N
// targets. A window model's row b is batch row b (N = size). With PER_POSITION (a headline model) the rows
// are the step's packed rows (src/gpu/packing.ts): row r < packed.steps is position p = positions[r], that is
// position t = p % steps of batch row b = p / steps, its target targets[order[start + b] * STRIDE + t]; a
// target of -1 (the padding after a headline's end) counts for nothing (N from softmax_xent_count.wgsl), and
// rows past the packed ones are not touched (nothing reads them). Rows without a target (b >= size, a short
// last batch, or padding) get loss 0 and dLogits 0, so they add nothing to any gradient.
//#include step_params

const V = {{V}}u;
const WG = {{WG}}u; // a power of two, for the tree reduction
const GRAD = {{GRAD}};
const PER_POSITION = {{PER_POSITION}};
// Targets per data row (PER_POSITION: the data's longest row; else 1).
const STRIDE = {{STRIDE}}u;
// Keeps exp's argument finite when an invocation saw no elements (its max is -FLT_MAX).
const MIN_EXP_ARG = -80.0;

@group(0) @binding(0) var<uniform> step: StepParams;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> order: array<i32>;
@group(0) @binding(4) var<storage, read_write> rowLoss: array<f32>;
// Without GRAD this is a never-written placeholder (a binding referenced in code stays in the layout).
@group(0) @binding(5) var<storage, read_write> dLogits: array<f32>;
// The step's number of targets N (PER_POSITION; a placeholder otherwise).
@group(0) @binding(6) var<storage, read> targetCount: array<u32>;
//#if PER_POSITION
// The step's packing: its `steps` is the packed rows; the position of each.
@group(0) @binding(7) var<uniform> packed: StepParams;
@group(0) @binding(8) var<storage, read> positions: array<i32>;
//#endif

// The row's target, or -1 when it has none.
fn rowTarget(r: u32) -> i32 {
  //#if PER_POSITION
  let p = u32(positions[r]);
  let b = p / step.steps;
  let t = p % step.steps;
  //#else
  let b = r;
  let t = 0u;
  //#endif
  if (b >= step.size) {
    return -1;
  }
  return targets[u32(order[step.start + b]) * STRIDE + t];
}

var<workgroup> partMax: array<f32, WG>;
var<workgroup> partSum: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.x;
  //#if PER_POSITION
  if (b >= packed.steps) {
    return;
  }
  //#endif
  let row = b * V;
  let rowTargetId = rowTarget(b);
  if (rowTargetId < 0) {
    if (GRAD) {
      for (var v = lid; v < V; v += WG) {
        dLogits[row + v] = 0.0;
      }
    }
    if (lid == 0u) {
      rowLoss[b] = 0.0;
    }
    return;
  }
  // Online log-sum-exp: rescale the running sum whenever the running max grows.
  var m = -0x1.fffffep+127f; // -FLT_MAX, exactly (the decimal -3.4028235e38 rounds past it: Tint refuses it)
  var s = 0.0;
  for (var v = lid; v < V; v += WG) {
    let z = logits[row + v];
    if (z > m) {
      s = s * exp(max(m - z, MIN_EXP_ARG)) + 1.0;
      m = z;
    } else {
      s += exp(max(z - m, MIN_EXP_ARG));
    }
  }
  partMax[lid] = m;
  partSum[lid] = s;
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid < half) {
      let m1 = partMax[lid];
      let m2 = partMax[lid + half];
      let mm = max(m1, m2);
      partSum[lid] = partSum[lid] * exp(max(m1 - mm, MIN_EXP_ARG)) +
        partSum[lid + half] * exp(max(m2 - mm, MIN_EXP_ARG));
      partMax[lid] = mm;
    }
  }
  workgroupBarrier();
  let logSum = partMax[0] + log(partSum[0]);
  let targetId = u32(rowTargetId);
  if (lid == 0u) {
    rowLoss[b] = logSum - logits[row + targetId];
  }
  if (GRAD) {
    let invSize = 1.0 / f32(select(step.size, targetCount[0], PER_POSITION));
    for (var v = lid; v < V; v += WG) {
      let p = exp(min(logits[row + v] - logSum, 0.0));
      dLogits[row + v] = (p - select(0.0, 1.0, v == targetId)) * invSize;
    }
  }
}
