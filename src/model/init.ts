import type { ModelConfig } from "./config.ts";
import { paramLayout, view } from "./layout.ts";
import { Rng } from "./rng.ts";

/** Fresh parameters with PyTorch's default initialisation, drawn in layout order from a seeded Rng. */
export function initParams(cfg: ModelConfig, seed: number): Float32Array {
  const layout = paramLayout(cfg);
  const flat = new Float32Array(layout.total);
  const rng = new Rng(seed);
  for (const t of layout.tensors) {
    const out = view(flat, t);
    const init = t.init;
    if (init.kind === "normal") { for (let i = 0; i < out.length; i++) out[i] = rng.normal(); }
    else for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-init.bound, init.bound);
  }
  return flat;
}
