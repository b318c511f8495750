/**
 * The names of the files and directories the project writes and reads, in one place: a checkpoint
 * directory, a prepared data directory and a training run directory. Checkpoints and prepared
 * directories share vocab.json.
 */

/** Checkpoint: the weights under PyTorch's state_dict names. */
export const MODEL_FILE = "model.safetensors";
/** Checkpoint and prepared directory: the words in id order (a JSON array). */
export const VOCAB_FILE = "vocab.json";
/** Checkpoint: model config, vocabulary hash, training flags and progress (for people and resuming). */
export const CONFIG_FILE = "config.json";
/** Checkpoint: Adam's moments and the position in training. */
export const OPTIMIZER_FILE = "optimizer.safetensors";
/** Checkpoint, when it has a partner (deno task partner): the Kneser-Ney count model's bytes. */
export const COUNT_MODEL_FILE = "kneser_ney.bin";

/** Prepared directory: counts and settings (its presence marks a prepared directory). */
export const SUMMARY_FILE = "summary.json";
/** Prepared directory: the pairs' word ids, int32 little-endian. */
export const PAIRS_FILE = "pairs.bin";
/** Prepared directory: the headlines as word ids (what a headline model reads), int32 little-endian. */
export const HEADLINES_FILE = "headlines.bin";

/** Run directory: the latest checkpoint (what --resume and predict read). */
export const CHECKPOINT_DIR = "checkpoint";
/** Run directory: the checkpoint with the lowest validation loss. */
export const BEST_DIR = "best";
/** Run directory: one record per step and per epoch. */
export const METRICS_FILE = "metrics.jsonl";
/** Run directory: headlines generated at epoch ends (train --sample-every). */
export const SAMPLES_FILE = "samples.jsonl";
/** Run directory: the loss plot. */
export const LOSS_PLOT_FILE = "loss.svg";
