// The step's mean loss: sums the row losses of softmax_xent.wgsl in row order (deterministic, no atomics)
// and writes the mean to losses[slot], so many steps' losses stay on the GPU until one readback.
//#include step_params

@group(0) @binding(0) var<uniform> step: StepParams;
@group(0) @binding(1) var<storage, read> rowLoss: array<f32>;
@group(0) @binding(2) var<storage, read_write> losses: array<f32>;

@compute @workgroup_size(1)
fn main() {
  var total = 0.0;
  for (var b = 0u; b < step.size; b++) {
    total += rowLoss[b];
  }
  losses[step.slot] = total / f32(max(step.size, 1u));
}
