import type { ModelConfig } from "./config.ts";
import { paramLayout, type TensorSpec, view } from "./layout.ts";
import { Rng } from "./rng.ts";

/**
 * Fresh parameters drawn in layout order from a seeded Rng: PyTorch's default initialisation, or with `range`
 * PyTorch's word-language-model example's: embed.weight and fc2.weight from U(-range, range), fc2.bias zero
 * (a tied output layer multiplies by the embedding, whose N(0, 1) default makes logits far too large).
 */
export function initParams(cfg: ModelConfig, seed: number, range?: number): Float32Array {
  const layout = paramLayout(cfg);
  const flat = new Float32Array(layout.total);
  const rng = new Rng(seed);
  const ranged: Record<string, TensorSpec["init"] | "zero"> = range === undefined ? {} : {
    "embed.weight": { kind: "uniform", bound: range },
    "fc2.weight": { kind: "uniform", bound: range },
    "fc2.bias": "zero",
  };
  for (const t of layout.tensors) {
    const out = view(flat, t);
    const init = ranged[t.name] ?? t.init;
    if (init === "zero") out.fill(0);
    else if (init.kind === "normal") { for (let i = 0; i < out.length; i++) out[i] = rng.normal(); }
    else for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-init.bound, init.bound);
  }
  return flat;
}
