import { headWidth, type ModelConfig, outputInputs } from "./config.ts";

/**
 * Where each parameter tensor lives in the one flat Float32Array (and GPU buffer) that holds them all.
 * Names and shapes are PyTorch's state_dict ones, so checkpoints move between the two unchanged.
 * One flat buffer lets Adam be a single kernel over everything (every gradient is overwritten each step, so
 * none needs zeroing).
 */
export interface TensorSpec {
  /** The parameter's PyTorch name ("lstm.weight_ih_l0"). */
  name: string;
  /** Its PyTorch shape. */
  shape: number[];
  /** Offset in floats from the start of the flat buffer; a multiple of ALIGN_FLOATS. */
  offset: number;
  /** Number of floats (product of shape). */
  size: number;
  /** Initial distribution, as PyTorch's defaults: N(0,1) or U(-bound, bound). */
  init: { kind: "normal" } | { kind: "uniform"; bound: number };
}

/** Where every parameter lies in one flat buffer. */
export interface ParamLayout {
  /** Every tensor with storage of its own, in flat order. */
  tensors: TensorSpec[];
  /** Names that read another tensor's storage (a tied fc2.weight -> embed.weight). */
  aliases: ReadonlyMap<string, string>;
  /** Total floats including alignment padding. */
  total: number;
  /** Number of real parameters (no padding): 6,676,808 for the notebook model on April 2017. */
  count: number;
  /** The parameter of that name (an unknown name throws). */
  get(name: string): TensorSpec;
}

/** Tensor starts are aligned to 256 bytes, WebGPU's storage-binding offset alignment. */
export const ALIGN_FLOATS = 64;

/** Input width of LSTM layer k. */
export function lstmInputSize(cfg: ModelConfig, k: number): number {
  return k === 0 ? cfg.embed : cfg.hidden;
}

/** The flat layout of a model's parameters. */
export function paramLayout(cfg: ModelConfig): ParamLayout {
  const { vocab: V, embed: E, hidden: H, layers: L, window: T } = cfg;
  const specs: Array<Omit<TensorSpec, "offset" | "size">> = [];
  specs.push({ name: "embed.weight", shape: [V, E], init: { kind: "normal" } });
  const lstmBound = 1 / Math.sqrt(H);
  for (let k = 0; k < L; k++) {
    const u = { kind: "uniform" as const, bound: lstmBound };
    specs.push({ name: `lstm.weight_ih_l${k}`, shape: [4 * H, lstmInputSize(cfg, k)], init: u });
    specs.push({ name: `lstm.weight_hh_l${k}`, shape: [4 * H, H], init: u });
    specs.push({ name: `lstm.bias_ih_l${k}`, shape: [4 * H], init: u });
    specs.push({ name: `lstm.bias_hh_l${k}`, shape: [4 * H], init: u });
  }
  // The head: fc1 reads the flattened window (one position's h for a headline model, whose window is 1);
  // a direct head has no fc1, and fc2 reads it instead.
  const M = headWidth(cfg);
  if (M > 0) {
    const fc1 = { kind: "uniform" as const, bound: 1 / Math.sqrt(T * H) };
    specs.push({ name: "fc1.weight", shape: [M, T * H], init: fc1 });
    specs.push({ name: "fc1.bias", shape: [M], init: fc1 });
  }
  const fc2In = outputInputs(cfg);
  const fc2 = { kind: "uniform" as const, bound: 1 / Math.sqrt(fc2In) };
  // Tied, fc2.weight is the embedding matrix ([V, E], E = fc2In): no storage of its own.
  if (!cfg.tie) specs.push({ name: "fc2.weight", shape: [V, fc2In], init: fc2 });
  specs.push({ name: "fc2.bias", shape: [V], init: fc2 });
  const aliases = new Map(cfg.tie ? [["fc2.weight", "embed.weight"]] : []);

  let offset = 0;
  let count = 0;
  const tensors: TensorSpec[] = [];
  for (const s of specs) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    tensors.push({ ...s, offset, size });
    count += size;
    offset += Math.ceil(size / ALIGN_FLOATS) * ALIGN_FLOATS;
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return {
    tensors,
    aliases,
    total: offset,
    count,
    get(name: string): TensorSpec {
      const t = byName.get(aliases.get(name) ?? name);
      if (!t) throw new Error(`no parameter named ${name}`);
      return t;
    },
  };
}

/** A view of one tensor inside the flat parameter (or gradient, or Adam moment) array. */
export function view(flat: Float32Array, t: TensorSpec): Float32Array {
  return flat.subarray(t.offset, t.offset + t.size);
}
