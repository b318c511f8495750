// The per-step batch range (src/gpu/step_params.ts): this step uses pairs order[start .. start+size) and
// writes its mean loss to losses[slot]. Included by every shader that reads ids or targets.
struct StepParams { start: u32, size: u32, slot: u32, _pad: u32 }
