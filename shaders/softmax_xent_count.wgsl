// The number of targets of a headline batch (rows order[start .. start+size), each `steps` positions of
// which those with a target >= 0 count): the N softmax_xent.wgsl divides by. One invocation, in order.
//#include step_params

// Targets per data row (the data's longest row).
const STRIDE = {{STRIDE}}u;

@group(0) @binding(0) var<uniform> step: StepParams;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> order: array<i32>;
@group(0) @binding(3) var<storage, read_write> targetCount: array<u32>;

@compute @workgroup_size(1)
fn main() {
  var n = 0u;
  for (var b = 0u; b < step.size; b++) {
    let row = u32(order[step.start + b]) * STRIDE;
    for (var t = 0u; t < step.steps; t++) {
      if (targets[row + t] >= 0) {
        n++;
      }
    }
  }
  targetCount[0] = n;
}
