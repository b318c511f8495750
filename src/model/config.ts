/**
 * The model's shape. Two kinds share one parameter layout (docs/headline-model.md):
 * - "window" (the notebook's): word embedding -> stacked LSTM over a window of words -> flatten -> fc1 ->
 *   ReLU -> fc2: one prediction per window;
 * - "headline": the LSTM runs from "<s>" over a whole headline and the head (fc1 -> ReLU -> fc2) is applied
 *   at every position: one prediction per word read. It reads one word per step, so its `window` is 1.
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
  /** fc1's output width, the head's middle width M; absent: V, the notebook's. */
  head?: number;
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

/** The head's middle width: `head`, or V when absent. */
export function headWidth(cfg: ModelConfig): number {
  return cfg.head ?? cfg.vocab;
}

/**
 * Throws a one-line Error when a size is not a positive integer, the kind is unknown, or a headline model
 * has a window other than 1.
 */
export function validateConfig(cfg: ModelConfig): ModelConfig {
  for (const key of ["vocab", "embed", "hidden", "layers", "window", "head"] as const) {
    const v = cfg[key];
    if (key === "head" && v === undefined) continue;
    if (!Number.isInteger(v) || v! < 1) {
      throw new Error(`model config: ${key} must be a positive integer, got ${v}`);
    }
  }
  if (cfg.kind !== undefined && !MODEL_KINDS.includes(cfg.kind)) {
    throw new Error(`model config: kind must be one of ${MODEL_KINDS.join(", ")}, got ${cfg.kind}`);
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
  const head = cfg.head === undefined ? "" : `, head ${cfg.head}`;
  return `${reads}, vocabulary ${cfg.vocab}, embed ${cfg.embed}, hidden ${cfg.hidden}, ` +
    `${cfg.layers} layer${cfg.layers === 1 ? "" : "s"}${head}`;
}
