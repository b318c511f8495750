// The step's mean loss: sums the row losses of softmax_xent.wgsl in row order (deterministic, no atomics)
// and writes the mean over the step's targets to losses[slot], so many steps' losses stay on the GPU until
// one readback. A window model's rows are its `size` batch rows; with PER_POSITION they are the step's packed
// rows (src/gpu/packing.ts; rows without a target hold 0) and N comes from softmax_xent_count.wgsl.
//#include step_params

const PER_POSITION = {{PER_POSITION}};

@group(0) @binding(0) var<uniform> step: StepParams;
@group(0) @binding(1) var<storage, read> rowLoss: array<f32>;
@group(0) @binding(2) var<storage, read_write> losses: array<f32>;
// The step's number of targets (PER_POSITION; a placeholder otherwise).
@group(0) @binding(3) var<storage, read> targetCount: array<u32>;
//#if PER_POSITION
@group(0) @binding(4) var<uniform> packed: StepParams; // its `steps`: the packed rows
//#endif

@compute @workgroup_size(1)
fn main() {
  //#if PER_POSITION
  let rows = packed.steps;
  //#else
  let rows = step.size;
  //#endif
  var total = 0.0;
  for (var r = 0u; r < rows; r++) {
    total += rowLoss[r];
  }
  let n = select(step.size, targetCount[0], PER_POSITION);
  losses[step.slot] = total / f32(max(n, 1u));
}
