/** The model's shape: word embedding -> stacked LSTM over a window -> flatten -> Linear -> ReLU -> Linear. */
export interface ModelConfig {
  /** Vocabulary size V (embedding rows, output classes). */
  vocab: number;
  /** Embedding width E. */
  embed: number;
  /** LSTM hidden width H. */
  hidden: number;
  /** Number of stacked LSTM layers. */
  layers: number;
  /** Words of context per prediction (the LSTM sequence length T). */
  window: number;
}

/** The reference notebook's sizes; `vocab` comes from the data. */
export const DEFAULT_MODEL: Omit<ModelConfig, "vocab"> = { embed: 16, hidden: 64, layers: 5, window: 2 };

/** Throws a one-line Error when a config field is not a positive integer. */
export function validateConfig(cfg: ModelConfig): ModelConfig {
  for (const key of ["vocab", "embed", "hidden", "layers", "window"] as const) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`model config: ${key} must be a positive integer, got ${v}`);
    }
  }
  return cfg;
}
