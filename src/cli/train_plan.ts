/**
 * `deno task train`'s decisions, as pure functions of the flags and what was read (no I/O): which data to
 * load, and then the model, the training settings and what to record. A resumed run takes its recorded
 * flags; flags given now override them (e.g. more --epochs), except those that would change the model or
 * the interrupted epoch, which are refused. src/cli/train.ts does the reading and the running.
 */
import { USAGE_EXIT, UserError } from "../errors.ts";
import { BUILTIN_SOURCE } from "../data/builtin.ts";
import type { Dataset } from "../data/types.ts";
import type { DataOptions } from "../deno/data_files.ts";
import type { Checkpoint } from "../io/checkpoint.ts";
import { DEFAULT_MODEL, type ModelConfig } from "../model/config.ts";
import { ADAM_DEFAULTS } from "../model/optimizer.ts";
import { type BackendKind, parseBackendKind } from "../deno/backends.ts";
import { type NumberCheck, numberFlag } from "./args.ts";
import {
  BUILTIN_EPOCHS,
  DEFAULT_BATCH,
  DEFAULT_EPOCHS,
  DEFAULT_LOG_EVERY,
  DEFAULT_SAVE_EVERY,
  DEFAULT_SEED,
  MAX_LOG_EVERY,
} from "../train/defaults.ts";

// The training defaults live in the core, where the web page's fields read them too.
export {
  BUILTIN_EPOCHS,
  DEFAULT_BATCH,
  DEFAULT_EPOCHS,
  DEFAULT_LOG_EVERY,
  DEFAULT_SAVE_EVERY,
  DEFAULT_SEED,
  MAX_LOG_EVERY,
};

export const DEFAULT_OUT = "runs/train";

/** The flags as given (strings and booleans), see TRAIN_FLAGS in train.ts. */
export type TrainFlags = Partial<Record<string, string | boolean>>;

/** A flag's value: given now, else recorded by the resumed run, else undefined. */
function lookup(flags: TrainFlags, recorded: Record<string, unknown>) {
  return (name: string): string | undefined => {
    const now = flags[name];
    if (now !== undefined) return String(now);
    return recorded[name] === undefined ? undefined : String(recorded[name]);
  };
}

/** Checks what needs no files: contradictions and the output flags (before anything is written). */
export function checkTrainFlags(flags: TrainFlags, resolve: (path: string) => string): void {
  if (flags.shuffle && flags["no-shuffle"]) {
    throw new UserError("--shuffle and --no-shuffle contradict", USAGE_EXIT);
  }
  if (flags.resume && flags.init) throw new UserError("--resume and --init contradict", USAGE_EXIT);
  if (flags.resume && flags.out && resolve(String(flags.out)) !== resolve(String(flags.resume))) {
    throw new UserError(
      "--resume DIR continues in DIR: leave --out out or give the same directory",
      USAGE_EXIT,
    );
  }
  numberFlag("save-every", str(flags["save-every"]), DEFAULT_SAVE_EVERY, "positive integer");
  const logEvery = numberFlag("log-every", str(flags["log-every"]), DEFAULT_LOG_EVERY, "positive integer");
  if (logEvery > MAX_LOG_EVERY) {
    throw new UserError(`--log-every must be at most ${MAX_LOG_EVERY}, got ${logEvery}`, USAGE_EXIT);
  }
}

const str = (v: string | boolean | undefined) => (v === undefined ? undefined : String(v));

/**
 * The flags a resumed run recorded. Checkpoints from before train.source recorded the description
 * ("built-in corpus") as train.data: not a path, so the data is located as when no --data is given (the
 * vocabulary check still applies).
 */
export function recordedFlags(resume: Checkpoint | undefined): Record<string, unknown> {
  const recorded = { ...resume?.train };
  if (recorded.source === undefined) delete recorded.data;
  return recorded;
}

/**
 * What data to load. Data flags not given stay undefined: a prepared directory then supplies its own
 * settings.
 */
export function planData(flags: TrainFlags, recorded: Record<string, unknown>): DataOptions {
  const get = lookup(flags, recorded);
  const given = (name: string, check: NumberCheck) =>
    get(name) === undefined ? undefined : numberFlag(name, get(name), 0, check);
  return {
    data: get("data"),
    files: get("files"),
    window: given("window", "positive integer"),
    minCount: given("min-count", "positive integer"),
    valFraction: given("val-fraction", "fraction"),
    seed: given("seed", "32-bit unsigned integer"),
  };
}

export interface TrainPlan {
  config: ModelConfig;
  backend: BackendKind;
  out: string;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  shuffle: boolean;
  maxSteps?: number;
  saveEvery: number;
  logEvery: number;
  /** Where the weights come from: a fresh seeded init, --init FILE, or the resumed checkpoint. */
  init: { kind: "seed" } | { kind: "file"; path: string } | { kind: "resume" };
  /** What the checkpoint's config.json records, so --resume can reload and continue. */
  flags: Record<string, unknown>;
}

/**
 * The run, from the flags, the resumed checkpoint (if any) and the loaded data. `resolve` makes the data
 * path absolute, so that --resume finds the data from any working directory.
 */
export function planTraining(
  flags: TrainFlags,
  resume: Checkpoint | undefined,
  data: Dataset,
  resolve: (path: string) => string,
): TrainPlan {
  const recorded = recordedFlags(resume);
  const get = lookup(flags, recorded);
  let config: ModelConfig = {
    vocab: data.vocab.length,
    embed: numberFlag("embed", get("embed"), DEFAULT_MODEL.embed, "positive integer"),
    hidden: numberFlag("hidden", get("hidden"), DEFAULT_MODEL.hidden, "positive integer"),
    layers: numberFlag("layers", get("layers"), DEFAULT_MODEL.layers, "positive integer"),
    window: data.window,
  };
  // The notebook's 200 epochs; the small built-in corpus is learnt in far fewer (about half a minute).
  const defaultEpochs = data.source === BUILTIN_SOURCE ? BUILTIN_EPOCHS : DEFAULT_EPOCHS;
  const epochs = numberFlag("epochs", get("epochs"), defaultEpochs, "non-negative integer");
  if (epochs === 0) throw new UserError("--epochs 0 trains nothing: give at least 1", USAGE_EXIT);
  const batch = numberFlag("batch", get("batch"), DEFAULT_BATCH, "positive integer");
  const lr = numberFlag("lr", get("lr"), ADAM_DEFAULTS.lr, "positive number");
  const seed = numberFlag("seed", get("seed"), DEFAULT_SEED, "32-bit unsigned integer");
  const maxSteps = get("max-steps") === undefined
    ? undefined
    : numberFlag("max-steps", get("max-steps"), 0, "positive integer");
  const shuffle = flags["no-shuffle"]
    ? false
    : flags.shuffle
    ? true
    : recorded.shuffle === undefined
    ? true
    : Boolean(recorded.shuffle);
  const backend = parseBackendKind(get("backend"));

  let init: TrainPlan["init"] = { kind: "seed" };
  if (resume) {
    if (resume.vocab.join("\n") !== data.vocab.join("\n")) {
      throw new UserError(
        `${flags.resume} was trained on another corpus (its vocabulary differs from ${data.source})`,
      );
    }
    // The model is the checkpoint's: a model flag given now that differs from it cannot be honoured.
    for (const key of ["embed", "hidden", "layers", "window"] as const) {
      const now = flags[key];
      const had = resume.config[key];
      if (now !== undefined && Number(now) !== had) {
        throw new UserError(
          `--${key} ${now} differs from the checkpoint's ${had}: a resumed run keeps its model`,
        );
      }
    }
    // Mid-epoch, the position in the epoch counts batches of the old size.
    const oldBatch = Number(recorded.batch);
    if ((resume.progress?.batchInEpoch ?? 0) > 0 && flags.batch !== undefined && batch !== oldBatch) {
      throw new UserError(
        `--batch ${batch} differs from the interrupted epoch's ${oldBatch}: resume with --batch ${oldBatch} ` +
          "(a new batch size can start with the next run)",
      );
    }
    config = resume.config;
    init = { kind: "resume" };
  } else if (flags.init !== undefined) {
    init = { kind: "file", path: String(flags.init) };
  }

  return {
    config,
    backend,
    out: str(flags.resume) ?? str(flags.out) ?? DEFAULT_OUT,
    epochs,
    batch,
    lr,
    seed,
    shuffle,
    maxSteps,
    saveEvery: numberFlag("save-every", str(flags["save-every"]), DEFAULT_SAVE_EVERY, "positive integer"),
    logEvery: numberFlag("log-every", str(flags["log-every"]), DEFAULT_LOG_EVERY, "positive integer"),
    init,
    flags: {
      data: get("data") === undefined ? undefined : resolve(get("data")!),
      files: get("files"),
      "min-count": data.minCount,
      "val-fraction": data.valFraction,
      window: data.window,
      embed: config.embed,
      hidden: config.hidden,
      layers: config.layers,
      epochs,
      batch,
      lr,
      seed,
      shuffle,
      backend,
    },
  };
}
