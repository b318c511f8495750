// The per-step batch (src/gpu/step_params.ts): this step uses pairs order[start .. start+size), writes its mean
// loss to losses[slot], and its rows hold `steps` positions each (the row stride of packed [B * steps, W]
// activations). Included by every shader that reads ids, targets or the step's positions.
struct StepParams { start: u32, size: u32, slot: u32, steps: u32 }
