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
import type { TrainOptions } from "../train/loop.ts";
import { checkResumedLr, optimFlagValues, optimOptions, requireValidation } from "../train/optim_flags.ts";
import { type NumberCheck, numberFlag } from "./args.ts";
import {
  defaultSamplePrompts,
  encodeSamplePrompts,
  PROMPT_SEPARATOR,
  type SampleSettings,
} from "../train/samples.ts";
import {
  BUILTIN_EPOCHS,
  DEFAULT_BATCH,
  DEFAULT_EPOCHS,
  DEFAULT_LOG_EVERY,
  DEFAULT_SAVE_EVERY,
  DEFAULT_SEED,
  MAX_LOG_EVERY,
} from "../train/defaults.ts";

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
  // A resumed run's schedule flags are recorded ones: planTraining checks them with those.
  if (!flags.resume) optimOptions((name) => str(flags[name]));
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
    column: get("column"),
    // A boolean flag: given now, or recorded true by the resumed run; left undefined otherwise, so a
    // prepared directory supplies its own.
    boundaries: get("boundaries") === "true" ? true : undefined,
    window: given("window", "positive integer"),
    minCount: given("min-count", "positive integer"),
    valFraction: given("val-fraction", "fraction"),
    seed: given("seed", "32-bit unsigned integer"),
  };
}

/** The training loop's options (their `flags`: what config.json records for --resume), and the rest of the run. */
export interface TrainPlan extends TrainOptions {
  config: ModelConfig;
  backend: BackendKind;
  out: string;
  /** Where the weights come from: a fresh seeded init, --init FILE, or the resumed checkpoint. */
  init: { kind: "seed" } | { kind: "file"; path: string } | { kind: "resume" };
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
  const optim = optimOptions(get);
  requireValidation(optim, data.val.count > 0);
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
  const samples = planSamples(get("sample-every"), get("sample-prompts"), data);

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
    checkResumedLr(optim, str(flags.lr), recorded.lr);
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
    ...optim,
    seed,
    shuffle,
    maxSteps,
    samples,
    saveEvery: numberFlag("save-every", str(flags["save-every"]), DEFAULT_SAVE_EVERY, "positive integer"),
    logEvery: numberFlag("log-every", str(flags["log-every"]), DEFAULT_LOG_EVERY, "positive integer"),
    init,
    flags: {
      data: get("data") === undefined ? undefined : resolve(get("data")!),
      files: get("files"),
      column: get("column"),
      boundaries: data.boundaries,
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
      "sample-every": samples?.every,
      "sample-prompts": get("sample-prompts"),
      ...optimFlagValues(optim),
    },
  };
}

/**
 * The samples to draw while training: --sample-every N, with --sample-prompts (separated by "|") or the
 * defaults for the data; each prompt is checked against the vocabulary now, before anything is written.
 */
export function planSamples(
  every: string | undefined,
  prompts: string | undefined,
  data: Dataset,
): SampleSettings | undefined {
  if (every === undefined) {
    if (prompts !== undefined) {
      throw new UserError("--sample-prompts only applies with --sample-every N", USAGE_EXIT);
    }
    return undefined;
  }
  const texts = prompts === undefined ? defaultSamplePrompts(data) : prompts.split(PROMPT_SEPARATOR);
  try {
    return {
      every: numberFlag("sample-every", every, 0, "positive integer"),
      prompts: encodeSamplePrompts(texts, data.vocab, data.window),
    };
  } catch (e) {
    if (e instanceof UserError && e.exitCode !== USAGE_EXIT) {
      throw new UserError(`--sample-prompts: ${e.message}`);
    }
    throw e;
  }
}
