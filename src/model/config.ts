/**
 * The model's shape. Two kinds share one parameter layout (docs/headline-model.md):
 * - "window" (the notebook's): word embedding -> stacked LSTM over a window of words -> flatten -> fc1 ->
 *   ReLU -> fc2: one prediction per window;
 * - "headline": the LSTM runs from "<s>" over a whole headline and the head (fc1 -> ReLU -> fc2) is applied
 *   at every position: one prediction per word read. It reads one word per step, so its `window` is 1.
 * Either kind's head may be direct (`head` 0): fc2 alone reads the LSTM's output, no fc1 and no ReLU. With
 * `tie`, fc2's weight is the embedding matrix (Press & Wolf 2017): one [V, E] tensor read at both ends.
 */
export type ModelKind = "window" | "headline";

/** Every model kind, in the order help texts list them. */
export const MODEL_KINDS: readonly ModelKind[] = ["window", "headline"];

/** A model's sizes and kind: everything the parameter layout and the kernels depend on. */
export interface ModelConfig {
  /** Absent: "window" (every checkpoint from before headline models). */
  kind?: ModelKind;
  /** Vocabulary size V (embedding rows, output classes). */
  vocab: number;
  /** Embedding width E. */
  embed: number;
  /** LSTM hidden width H. */
  hidden: number;
  /** Number of stacked LSTM layers. */
  layers: number;
  /** Words of context per prediction (the LSTM sequence length T); 1 for a headline model. */
  window: number;
  /** fc1's output width, the head's middle width M; absent: V, the notebook's; 0: no fc1 (a direct head). */
  head?: number;
  /** fc2.weight is embed.weight (its input width must be E); absent: two tensors. */
  tie?: boolean;
}

/** The reference notebook's sizes; `vocab` comes from the data. */
export const DEFAULT_MODEL: Omit<ModelConfig, "vocab"> = { embed: 16, hidden: 64, layers: 5, window: 2 };

/** The model's kind, "window" when the config does not say. */
export function modelKind(cfg: ModelConfig): ModelKind {
  return cfg.kind ?? "window";
}

/** Whether the model reads whole headlines (one prediction per position) rather than windows. */
export function isHeadlineModel(cfg: ModelConfig): boolean {
  return modelKind(cfg) === "headline";
}

/** The head's middle width: `head`, or V when absent; 0 for a direct head (fc2 reads the LSTM's output). */
export function headWidth(cfg: ModelConfig): number {
  return cfg.head ?? cfg.vocab;
}

/** fc2's input width: the head's middle width, or a direct head's window * H. */
export function outputInputs(cfg: ModelConfig): number {
  return headWidth(cfg) > 0 ? headWidth(cfg) : cfg.window * cfg.hidden;
}

/** Whether the head has no middle layer (fc2 alone, on the LSTM's output). */
export function isDirectHead(cfg: ModelConfig): boolean {
  return cfg.head === 0;
}

/**
 * Throws a one-line Error when a size is not a positive integer, the kind is unknown, or a headline model
 * has a window other than 1.
 */
export function validateConfig(cfg: ModelConfig): ModelConfig {
  for (const key of ["vocab", "embed", "hidden", "layers", "window"] as const) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`model config: ${key} must be a positive integer, got ${v}`);
    }
  }
  if (cfg.head !== undefined && !(Number.isInteger(cfg.head) && cfg.head >= 0)) {
    throw new Error(`model config: head must be a non-negative integer (0: direct), got ${cfg.head}`);
  }
  if (cfg.kind !== undefined && !MODEL_KINDS.includes(cfg.kind)) {
    throw new Error(`model config: kind must be one of ${MODEL_KINDS.join(", ")}, got ${cfg.kind}`);
  }
  if (cfg.tie && outputInputs(cfg) !== cfg.embed) {
    throw new Error(
      `model config: a tied output layer reads ${outputInputs(cfg)} values, not the embedding's ${cfg.embed}`,
    );
  }
  if (isHeadlineModel(cfg) && cfg.window !== 1) {
    throw new Error(`model config: a headline model reads one word per step (window 1), got ${cfg.window}`);
  }
  return cfg;
}

/**
 * The model in words, as the page and the CLIs show it: "headline model" or "window N", the sizes, and the
 * head's width when it is not the vocabulary's.
 */
export function describeConfig(cfg: ModelConfig): string {
  const reads = isHeadlineModel(cfg) ? "headline model" : `window ${cfg.window}`;
  const head = (cfg.head === undefined ? "" : cfg.head === 0 ? ", direct head" : `, head ${cfg.head}`) +
    (cfg.tie ? ", tied to the embedding" : "");
  return `${reads}, vocabulary ${cfg.vocab}, embed ${cfg.embed}, hidden ${cfg.hidden}, ` +
    `${cfg.layers} layer${cfg.layers === 1 ? "" : "s"}${head}`;
}
