/// <reference lib="dom" />
/**
 * The Train section's fields: `deno task train`'s data, model and training flags, one field each, labelled
 * with the flag, defaulting to the same constants, checked with the same rules and words (the core's
 * numberFlag); and reading them into a plan: the dataset (the built-in corpus or a picked CSV, through the
 * core's headlineColumn and buildDataset), the model, its initial weights (seeded, or --init's file) and the
 * loop's options.
 */
import {
  ADAM_DEFAULTS,
  buildDataset,
  BUILTIN_SOURCE,
  builtinHeadlines,
  checkSettings,
  type Dataset,
  decodeModelFile,
  DEFAULT_MODEL,
  DEFAULT_SETTINGS,
  headlineColumn,
  initParams,
  type ModelConfig,
  type NumberCheck,
  numberFlag,
  TRAIN_DEFAULTS,
  type TrainOptions,
  UserError,
} from "../core.ts";
import type { BackendKind } from "./backends.ts";
import { byId, el, fieldText } from "./dom.ts";

interface FieldSpec {
  flag: string;
  label: string;
  check: NumberCheck;
  /** The default, shown in the field; undefined: none (max-steps) or one that depends (epochs). */
  value?: number;
  placeholder?: string;
}

const FIELDS: FieldSpec[] = [
  { flag: "embed", label: "embedding width", check: "positive integer", value: DEFAULT_MODEL.embed },
  { flag: "hidden", label: "LSTM width", check: "positive integer", value: DEFAULT_MODEL.hidden },
  { flag: "layers", label: "LSTM layers", check: "positive integer", value: DEFAULT_MODEL.layers },
  { flag: "window", label: "window (words)", check: "positive integer", value: DEFAULT_SETTINGS.window },
  {
    flag: "epochs",
    label: "epochs",
    check: "non-negative integer",
    placeholder: `${TRAIN_DEFAULTS.BUILTIN_EPOCHS} built-in, else ${TRAIN_DEFAULTS.DEFAULT_EPOCHS}`,
  },
  { flag: "batch", label: "batch", check: "positive integer", value: TRAIN_DEFAULTS.DEFAULT_BATCH },
  { flag: "lr", label: "learning rate", check: "positive number", value: ADAM_DEFAULTS.lr },
  { flag: "seed", label: "seed", check: "32-bit unsigned integer", value: TRAIN_DEFAULTS.DEFAULT_SEED },
  { flag: "max-steps", label: "stop after steps", check: "positive integer", placeholder: "no limit" },
  { flag: "min-count", label: "min word count", check: "positive integer", value: DEFAULT_SETTINGS.minCount },
  {
    flag: "val-fraction",
    label: "validation fraction",
    check: "fraction",
    value: DEFAULT_SETTINGS.valFraction,
  },
  {
    flag: "save-every",
    label: "save every (epochs)",
    check: "positive integer",
    value: TRAIN_DEFAULTS.DEFAULT_SAVE_EVERY,
  },
  {
    flag: "log-every",
    label: "log every (steps)",
    check: "positive integer",
    value: TRAIN_DEFAULTS.DEFAULT_LOG_EVERY,
  },
];

/** Fills #train-fields: one labelled field per flag, and the --shuffle box. */
export function buildTrainFields(): void {
  byId("train-fields").replaceChildren(
    ...FIELDS.map((f) =>
      el(
        "label",
        {},
        f.label,
        el("small", {}, `--${f.flag}`),
        el("input", {
          id: `train-${f.flag}`,
          type: "text",
          inputmode: "decimal",
          value: f.value,
          placeholder: f.placeholder ?? String(f.value),
        }),
      )
    ),
    el(
      "label",
      { class: "check span2" },
      el("input", { id: "train-shuffle", type: "checkbox", checked: true }),
      "shuffle each epoch",
      el("small", {}, "--shuffle"),
    ),
    el(
      "label",
      { class: "check span2" },
      el("input", { id: "train-boundaries", type: "checkbox" }),
      "headline boundaries: learn how headlines start and end",
      el("small", {}, "--boundaries"),
    ),
  );
  const data = byId<HTMLSelectElement>("train-data");
  data.addEventListener("change", () => byId("train-csv-label").hidden = data.value !== "csv");
}

/** What a run needs, read from the fields. */
export interface TrainPlan {
  data: Dataset;
  config: ModelConfig;
  params: Float32Array;
  options: TrainOptions;
}

/**
 * Reads and checks every field, then the data and the initial weights; the first problem is a one-line
 * UserError, before anything runs.
 */
export async function readTrainPlan(backend: BackendKind): Promise<TrainPlan> {
  const text = (flag: string) => fieldText(byId<HTMLInputElement>(`train-${flag}`));
  const number = (flag: string, fallback = 0) => {
    const spec = FIELDS.find((f) => f.flag === flag)!;
    return numberFlag(flag, text(flag), spec.value ?? fallback, spec.check);
  };
  // Every field first, as the CLI checks every flag before it reads any data.
  const fields = Object.fromEntries(
    FIELDS.filter((f) => text(f.flag) !== undefined).map((f) => [f.flag, number(f.flag)]),
  );
  const settings = {
    window: number("window"),
    minCount: number("min-count"),
    valFraction: number("val-fraction"),
    seed: number("seed"),
    boundaries: byId<HTMLInputElement>("train-boundaries").checked,
  };
  checkSettings(settings);
  const logEvery = number("log-every");
  if (logEvery > TRAIN_DEFAULTS.MAX_LOG_EVERY) {
    throw new UserError(`--log-every must be at most ${TRAIN_DEFAULTS.MAX_LOG_EVERY}, got ${logEvery}`);
  }
  const csv = byId<HTMLSelectElement>("train-data").value === "csv"
    ? byId<HTMLInputElement>("train-csv").files?.[0] ?? null
    : null;
  if (byId<HTMLSelectElement>("train-data").value === "csv" && !csv) {
    throw new UserError("--data: pick a CSV file (with a headline column), or choose the built-in corpus");
  }
  const data = csv
    ? buildDataset({
      source: csv.name,
      files: [csv.name],
      headlines: headlineColumn(new Uint8Array(await csv.arrayBuffer()), csv.name),
    }, settings)
    : buildDataset({ source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() }, settings);
  const defaultEpochs = csv ? TRAIN_DEFAULTS.DEFAULT_EPOCHS : TRAIN_DEFAULTS.BUILTIN_EPOCHS;
  const epochs = number("epochs", defaultEpochs);
  if (epochs === 0) throw new UserError("--epochs 0 trains nothing: give at least 1");
  const config: ModelConfig = {
    vocab: data.vocab.length,
    embed: number("embed"),
    hidden: number("hidden"),
    layers: number("layers"),
    window: data.window,
  };
  const init = byId<HTMLInputElement>("train-init").files?.[0];
  const params = init
    ? decodeModelFile(init.name, new Uint8Array(await init.arrayBuffer()), config).params
    : initParams(config, settings.seed);
  const maxSteps = fields["max-steps"];
  const options: TrainOptions = {
    epochs,
    batch: number("batch"),
    lr: number("lr"),
    seed: settings.seed,
    shuffle: byId<HTMLInputElement>("train-shuffle").checked,
    maxSteps,
    saveEvery: number("save-every"),
    logEvery,
    // What the CLI records in config.json (train.*), so `deno task train --resume` can take the run on.
    flags: {
      data: csv?.name,
      "min-count": data.minCount,
      "val-fraction": data.valFraction,
      window: data.window,
      boundaries: data.boundaries,
      embed: config.embed,
      hidden: config.hidden,
      layers: config.layers,
      epochs,
      batch: number("batch"),
      lr: number("lr"),
      seed: settings.seed,
      shuffle: byId<HTMLInputElement>("train-shuffle").checked,
      backend,
    },
  };
  return { data, config, params, options };
}
