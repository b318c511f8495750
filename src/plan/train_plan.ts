/**
 * A training run's plan, the same for `deno task train` and the web page: from flag values (the command
 * line and a --config file, or the page's fields), the resumed checkpoint if any, and the loaded data, to
 * the model config, the training loop's options and the flags the run records, with every check and its
 * one-line message. Pure: the CLI and the page read what it names (files, the picked CSV) and run it.
 *
 * A resumed run takes its recorded flags; flags given now override them (e.g. more --epochs), except those
 * that would change the model or the interrupted epoch, which are refused.
 */
import { USAGE_EXIT, UserError } from "../errors.ts";
import { BUILTIN_SOURCE } from "../data/builtin.ts";
import type { DataOptions, Dataset } from "../data/types.ts";
import type { Checkpoint } from "../io/checkpoint.ts";
import type { BackendKind } from "../model/backend_kind.ts";
import { type ModelConfig, validateConfig } from "../model/config.ts";
import type { TrainOptions } from "../train/loop.ts";
import { BUILTIN_EPOCHS, DEFAULT_EPOCHS } from "../train/defaults.ts";
import {
  defaultSamplePrompts,
  encodeSamplePrompts,
  PROMPT_SEPARATOR,
  type SampleSettings,
} from "../train/samples.ts";
import {
  type FlagSpec,
  flagValue,
  type FlagValues,
  parseFlagValues,
  recordedSettings,
  recordedValues,
  type Settings,
} from "./flags.ts";
import { TRAIN_FLAGS } from "./train_flags.ts";
import { checkResumedLr, optimOptions, requireValidation } from "../train/optim_flags.ts";

/** train's flags parsed: each setting with the type its kind gives. */
type TrainSettings = Settings<typeof TRAIN_FLAGS>;

/** Where a run's weights come from: a fresh seeded init, --init FILE, or the resumed checkpoint. */
export type InitFrom = { kind: "seed"; range?: number } | { kind: "file"; path: string } | { kind: "resume" };

/**
 * What a training run does, decided from its flags, a resumed checkpoint and the data: the CLI's and the
 * page's.
 */
export interface TrainPlan {
  /** The model (a resumed run's, with the flags that may change). */
  config: ModelConfig;
  /** The training loop's options; their `flags` are what the checkpoint records for --resume. */
  options: TrainOptions;
  /** Where it runs. */
  backend: BackendKind;
  /** The run directory (the CLI's): --resume DIR, else --out. */
  out: string;
  /** Where the first weights come from. */
  init: InitFrom;
}

/** How a run's data is named in what it records. */
export interface DataNaming {
  /** Makes a --data path absolute, so that --resume finds the data from any working directory (the CLI). */
  resolve?: (path: string) => string;
  /**
   * The name of a file picked in a web page: not a path, so it is recorded as `picked` and --resume asks
   * for its path (`--data PATH`).
   */
  picked?: string;
}

/**
 * The flags a resumed run recorded. Two older forms of train.data are not paths: the description ("built-in
 * corpus") that checkpoints from before train.source recorded (the data is then located as when no --data
 * is given; the vocabulary check still applies), and the bare name of a file the web page picked (the CLI
 * records an absolute path, never equal to the source, which is a file's name or a description).
 */
export function recordedFlags(resume: Checkpoint | undefined): Record<string, unknown> {
  const recorded: Record<string, unknown> = { ...resume?.train };
  if (recorded.source === undefined) delete recorded.data;
  else if (
    recorded.data !== undefined && recorded.data === recorded.source && recorded.picked === undefined
  ) {
    recorded.picked = recorded.data;
    delete recorded.data;
  }
  return recorded;
}

/** The values a run is planned from: those given now over those a resumed run recorded. */
function planValues(given: FlagValues, recorded: Record<string, unknown>): FlagValues {
  return { ...recordedValues(TRAIN_FLAGS, recorded), ...given };
}

/**
 * Checks what needs no data, before anything is read or written (a bad value must not cost an --out its
 * old run): every value given, and the flags that contradict.
 */
export function checkTrainFlags(given: FlagValues, resolve: (path: string) => string = (p) => p): void {
  parseFlagValues(TRAIN_FLAGS, given);
  if (given.resume === undefined) {
    optimOptions((name) => given[name] === undefined ? undefined : String(given[name]));
  }
  if (given.bucket !== undefined && given.shuffle === false) {
    throw new UserError("--bucket sorts shuffled rows: it contradicts --no-shuffle", USAGE_EXIT);
  }
  if (given.init !== undefined && given["init-range"] !== undefined) {
    throw new UserError("--init-range draws fresh weights: it contradicts --init", USAGE_EXIT);
  }
  if (given.resume !== undefined && given.init !== undefined) {
    throw new UserError("--resume and --init contradict", USAGE_EXIT);
  }
  if (
    given.resume !== undefined && given.out !== undefined &&
    resolve(String(given.out)) !== resolve(String(given.resume))
  ) {
    throw new UserError(
      "--resume DIR continues in DIR: leave --out out or give the same directory",
      USAGE_EXIT,
    );
  }
}

/**
 * What data to load. Data flags not given stay undefined: a prepared directory then supplies its own
 * settings. A run trained on a file picked in the web page needs the file's path given now.
 */
export function planData(given: FlagValues, recorded: Record<string, unknown>): DataOptions {
  const values = planValues(given, recorded);
  if (values.data === undefined && recorded.picked !== undefined) {
    throw new UserError(
      `${given.resume ?? "the run"} was trained on ${recorded.picked}, a file picked in the web page: ` +
        "give its path with --data PATH",
      USAGE_EXIT,
    );
  }
  const s = parseFlagValues(TRAIN_FLAGS, values);
  const ifGiven = <T>(name: string, value: T) => values[name] === undefined ? undefined : value;
  return {
    data: s.data,
    files: s.files,
    column: s.column,
    // An on/off flag can only be given on, so a prepared directory prepared with it is not contradicted.
    // A headline model needs headline boundaries.
    boundaries: s.boundaries || s["model-kind"] === "headline" ? true : undefined,
    window: ifGiven("window", s.window),
    minCount: ifGiven("min-count", s["min-count"]),
    valFraction: ifGiven("val-fraction", s["val-fraction"]),
    seed: given.seed === undefined ? undefined : s.seed,
    resumedSeed: given.seed === undefined ? ifGiven("seed", s.seed) : undefined,
  };
}

/** The flags that set the model, with the ModelConfig field each sets. */
const MODEL_FLAGS = Object.entries(TRAIN_FLAGS as Record<string, FlagSpec>).filter(([, spec]) => spec.model);

/** The run, from the values given now, the resumed checkpoint (if any) and the loaded data. */
export function planTraining(
  given: FlagValues,
  resume: Checkpoint | undefined,
  data: Dataset,
  naming: DataNaming = {},
): TrainPlan {
  const recorded = recordedFlags(resume);
  const values = planValues(given, recorded);
  const s = parseFlagValues(TRAIN_FLAGS, values);
  const optim = optimOptions((name) => values[name] === undefined ? undefined : String(values[name]));
  requireValidation(optim, data.val.count > 0);
  // The notebook's 200 epochs; the small built-in corpus is learnt in far fewer (about half a minute).
  const epochs = s.epochs ?? (data.source === BUILTIN_SOURCE ? BUILTIN_EPOCHS : DEFAULT_EPOCHS);
  if (epochs === 0) throw new UserError("--epochs 0 trains nothing: give at least 1", USAGE_EXIT);
  // A model flag without a default and not given leaves its config field absent (the config's own default).
  const fresh: Record<string, unknown> = { vocab: data.vocab.length };
  for (const [name, spec] of MODEL_FLAGS) {
    const value = s[name as keyof TrainSettings];
    if (value !== undefined) fresh[spec.model!] = value;
  }
  // A window model's config has no kind, an untied one no tie (every checkpoint from before them reads so); a
  // headline model reads one word per step.
  if (fresh.kind === "window") delete fresh.kind;
  if (fresh.tie === false) delete fresh.tie;
  let config = { ...fresh, window: fresh.kind === "headline" ? 1 : data.window } as unknown as ModelConfig;
  try {
    validateConfig(config);
  } catch (e) {
    throw new UserError((e as Error).message.replace(/^model config: /, "the model: "), USAGE_EXIT);
  }
  let init: InitFrom = s.init !== undefined
    ? { kind: "file", path: s.init }
    : { kind: "seed", ...(s["init-range"] !== undefined ? { range: s["init-range"] } : {}) };
  if (resume) {
    checkResumable(given, resume, data, recorded, s.batch);
    checkResumedLr(optim, given.lr === undefined ? undefined : String(given.lr), recorded.lr);
    config = resume.config;
    init = { kind: "resume" };
  }
  const samples = planSamples(s["sample-every"], s["sample-prompts"], data, config);

  // What the run records: the settings as run (the data's own where a prepared directory supplied them).
  const settings: Record<string, unknown> = {
    ...s,
    data: s.data === undefined ? undefined : (naming.resolve ?? ((p) => p))(s.data),
    boundaries: data.boundaries,
    "min-count": data.minCount,
    "val-fraction": data.valFraction,
    epochs,
  };
  for (const [name, spec] of MODEL_FLAGS) settings[name] = config[spec.model!] ?? spec.default;
  // --window is the data's too (its pairs): a headline model (window 1) records the data's.
  settings.window = data.window;
  const flags = recordedSettings(TRAIN_FLAGS, settings);
  if (s.data === undefined && naming.picked !== undefined) flags.picked = naming.picked;

  return {
    config,
    backend: s.backend,
    out: s.resume ?? s.out,
    init,
    options: {
      epochs,
      batch: s.batch,
      lr: s.lr,
      seed: s.seed,
      shuffle: s.shuffle,
      maxSteps: s["max-steps"],
      saveEvery: s["save-every"],
      logEvery: s["log-every"],
      samples,
      ...(s.bucket !== undefined ? { bucket: s.bucket } : {}),
      ...optim,
      ...(s.dropout > 0 ? { dropout: s.dropout } : {}),
      flags,
    },
  };
}

/** Refuses a resume on other data, with another model, or with another batch size mid-epoch. */
function checkResumable(
  given: FlagValues,
  resume: Checkpoint,
  data: Dataset,
  recorded: Record<string, unknown>,
  batch: number,
): void {
  if (resume.vocab.join("\n") !== data.vocab.join("\n")) {
    throw new UserError(
      `${given.resume} was trained on another corpus (its vocabulary differs from ${data.source})`,
    );
  }
  // The model is the checkpoint's: a model flag given now that differs from it cannot be honoured.
  for (const [name, spec] of MODEL_FLAGS) {
    if (given[name] === undefined) continue;
    const had = (resume.config as unknown as Record<string, unknown>)[spec.model!] ?? spec.default;
    if (flagValue(name, spec, given[name]) !== had) {
      throw new UserError(
        `--${name} ${given[name]} differs from the checkpoint's ${had}: a resumed run keeps its model`,
      );
    }
  }
  // Mid-epoch, the position in the epoch counts batches of the old size.
  const oldBatch = Number(recorded.batch);
  if ((resume.progress?.batchInEpoch ?? 0) > 0 && given.batch !== undefined && batch !== oldBatch) {
    throw new UserError(
      `--batch ${batch} differs from the interrupted epoch's ${oldBatch}: resume with --batch ${oldBatch} ` +
        "(a new batch size can start with the next run)",
    );
  }
}

/**
 * The samples to draw while training: --sample-every N, with --sample-prompts (separated by "|") or the
 * defaults for the data; each prompt is checked against the vocabulary now, before anything is written.
 */
export function planSamples(
  every: number | undefined,
  prompts: string | undefined,
  data: Dataset,
  config: Pick<ModelConfig, "window" | "kind">,
): SampleSettings | undefined {
  if (every === undefined) {
    if (prompts !== undefined) {
      throw new UserError("--sample-prompts only applies with --sample-every N", USAGE_EXIT);
    }
    return undefined;
  }
  const texts = prompts === undefined ? defaultSamplePrompts(data) : prompts.split(PROMPT_SEPARATOR);
  try {
    return { every, prompts: encodeSamplePrompts(texts, data.vocab, config) };
  } catch (e) {
    if (e instanceof UserError && e.exitCode !== USAGE_EXIT) {
      throw new UserError(["--sample-prompts: ", ...e.parts]);
    }
    throw e;
  }
}
