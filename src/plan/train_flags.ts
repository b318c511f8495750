/**
 * `deno task train`'s flags, declared once: this table is where a training flag is added. From it come
 * train's parseArgs options and --help (src/cli/train.ts), the checks of every value (from the command
 * line, a --config file, the recorded flags of a resumed run, or the web page's fields), the flags a run
 * records for --resume, the model flags a resumed run refuses to change, and the web page's fields (those
 * with a label). What a flag does is its use in the plan (train_plan.ts).
 */
import { HEADLINE_COLUMN } from "../data/csv.ts";
import { DEFAULT_SETTINGS } from "../data/dataset.ts";
import { BOS_TOKEN, EOS_TOKEN, UNK_TOKEN } from "../data/vocab.ts";
import { BEST_DIR, CHECKPOINT_DIR, LOSS_PLOT_FILE, METRICS_FILE, SAMPLES_FILE } from "../io/file_names.ts";
import { BACKEND_KINDS, DEFAULT_BACKEND } from "../model/backend_kind.ts";
import { DEFAULT_MODEL, MODEL_KINDS } from "../model/config.ts";
import { ADAM_DEFAULTS } from "../model/optimizer.ts";
import * as defaults from "../train/defaults.ts";
import { PROMPT_SEPARATOR, SAMPLE_TEMPERATURE, SAMPLE_WORDS, SAMPLES_PER_PROMPT } from "../train/samples.ts";
import type { FlagTable } from "./flags.ts";
import { DEFAULT_LR_FACTOR } from "../train/optim_flags.ts";

/** The run directory when neither --out nor --resume names one. */
export const DEFAULT_OUT = "runs/train";

/** --help's headings, in order. */
export const TRAIN_GROUPS: Readonly<Record<string, string>> = {
  data: "data",
  model: "model",
  training: "training",
  output: "output",
};

/** train's flags (see the module's comment): name -> kind, default, help, label, model, recorded. */
export const TRAIN_FLAGS = {
  // ---- data ----
  data: {
    kind: "text",
    group: "data",
    arg: "PATH",
    help: "CSV or .txt file, directory of *Articles*.csv and .txt files, or a prepared directory",
    defaultText: "data/ if it holds such files, else the built-in corpus",
    recorded: true,
  },
  files: {
    kind: "text",
    group: "data",
    arg: "GLOB",
    help: "with a directory: only files matching GLOB",
    recorded: true,
  },
  column: {
    kind: "text",
    group: "data",
    arg: "NAME",
    help: "the CSV column holding the text, see deno task prepare --help",
    defaultText: `"${HEADLINE_COLUMN}"`,
    label: "CSV column",
    recorded: true,
  },
  boundaries: {
    kind: "boolean",
    group: "data",
    help:
      `frame headlines with ${BOS_TOKEN} and ${EOS_TOKEN}: the model also learns how headlines start and end`,
    label: "headline boundaries: learn how headlines start and end",
    recorded: true,
  },
  "min-count": {
    kind: "positive integer",
    group: "data",
    arg: "N",
    help: `words seen fewer than N times become ${UNK_TOKEN}`,
    default: DEFAULT_SETTINGS.minCount,
    defaultText: `${DEFAULT_SETTINGS.minCount}: keep all`,
    label: "min word count",
    recorded: true,
  },
  "val-fraction": {
    kind: "fraction",
    group: "data",
    arg: "F",
    help: "hold out this fraction of headlines for validation",
    default: DEFAULT_SETTINGS.valFraction,
    label: "validation fraction",
    recorded: true,
  },
  // ---- model ----
  embed: {
    kind: "positive integer",
    group: "model",
    arg: "N",
    help: "word embedding width",
    default: DEFAULT_MODEL.embed,
    label: "embedding width",
    model: "embed",
    recorded: true,
  },
  hidden: {
    kind: "positive integer",
    group: "model",
    arg: "N",
    help: "LSTM hidden width",
    default: DEFAULT_MODEL.hidden,
    label: "LSTM width",
    model: "hidden",
    recorded: true,
  },
  layers: {
    kind: "positive integer",
    group: "model",
    arg: "N",
    help: "stacked LSTM layers",
    default: DEFAULT_MODEL.layers,
    label: "LSTM layers",
    model: "layers",
    recorded: true,
  },
  window: {
    kind: "positive integer",
    group: "model",
    arg: "N",
    help: "words of context the model reads to predict the next",
    default: DEFAULT_MODEL.window,
    label: "window (words)",
    model: "window",
    recorded: true,
  },
  "model-kind": {
    kind: MODEL_KINDS,
    group: "model",
    arg: MODEL_KINDS.join("|"),
    help: "window: the notebook's, predicting from the last --window words; headline: the LSTM reads the " +
      `whole headline from ${BOS_TOKEN} and predicts every next word (implies --boundaries)`,
    default: "window",
    label: "model kind",
    model: "kind",
    recorded: true,
  },
  head: {
    kind: "non-negative integer",
    group: "model",
    arg: "N",
    help: "the head's middle width (fc1's outputs); 0: a direct head, fc2 alone on the LSTM's output",
    defaultText: "the vocabulary size, the notebook's",
    label: "head width",
    model: "head",
    recorded: true,
  },
  tie: {
    kind: "boolean",
    group: "model",
    help: "tie the output layer's weight to the embedding (Press & Wolf): one [V, E] matrix read at both " +
      "ends; fc2 must read E values (--head E, or --head 0 with E = window x hidden)",
    label: "tie the output layer to the embedding",
    model: "tie",
    recorded: true,
  },
  init: {
    kind: "text",
    group: "model",
    arg: "FILE",
    help: "start from these weights (.safetensors, PyTorch state_dict names)",
  },
  // ---- training ----
  epochs: {
    kind: "non-negative integer",
    group: "training",
    arg: "N",
    help: "passes over the training pairs",
    defaultText: `${defaults.DEFAULT_EPOCHS}; ${defaults.BUILTIN_EPOCHS} on the built-in corpus`,
    label: "epochs",
    recorded: true,
  },
  batch: {
    kind: "positive integer",
    group: "training",
    arg: "N",
    help: "pairs per optimizer step",
    default: defaults.DEFAULT_BATCH,
    label: "batch",
    recorded: true,
  },
  lr: {
    kind: "positive number",
    group: "training",
    arg: "LR",
    help: "Adam's learning rate",
    default: ADAM_DEFAULTS.lr,
    label: "learning rate",
    recorded: true,
  },
  seed: {
    kind: "32-bit unsigned integer",
    group: "training",
    arg: "S",
    help: "seeds the initial weights, the shuffle and the validation split",
    default: defaults.DEFAULT_SEED,
    label: "seed",
    recorded: true,
  },
  shuffle: {
    kind: "boolean",
    group: "training",
    help: "shuffle pairs each epoch (default) / keep file order (the notebook's)",
    default: true,
    negatable: true,
    label: "shuffle each epoch",
    recorded: true,
  },
  clip: {
    kind: "positive number",
    group: "training",
    arg: "MAX_NORM",
    help: "clip gradients as torch.nn.utils.clip_grad_norm_: scale them all by min(MAX_NORM / (their " +
      "2-norm + 1e-6), 1) before each step",
    defaultText: "no clipping",
    label: "clip gradient norm",
    recorded: true,
  },
  "lr-step-every": {
    kind: "positive integer",
    group: "training",
    arg: "N",
    help: "step decay (torch StepLR): multiply the learning rate by --lr-step-factor after every N epochs",
    defaultText: "no decay",
    label: "lr step every (epochs)",
    recorded: true,
  },
  "lr-step-factor": {
    kind: "number in (0, 1)",
    group: "training",
    arg: "F",
    help: "the step decay's factor, in (0, 1)",
    defaultText: String(DEFAULT_LR_FACTOR),
    label: "lr step factor",
    recorded: true,
  },
  "lr-plateau": {
    kind: "non-negative integer",
    group: "training",
    arg: "P",
    help:
      "reduce on plateau (torch ReduceLROnPlateau, threshold 1e-4 relative): multiply the learning rate " +
      "by --lr-plateau-factor after more than P epochs without a lower validation loss (needs validation data)",
    defaultText: "no reduction",
    label: "lr plateau patience",
    recorded: true,
  },
  "lr-plateau-factor": {
    kind: "number in (0, 1)",
    group: "training",
    arg: "F",
    help: "the reduction's factor, in (0, 1)",
    defaultText: String(DEFAULT_LR_FACTOR),
    label: "lr plateau factor",
    recorded: true,
  },
  "early-stop": {
    kind: "positive integer",
    group: "training",
    arg: "N",
    help: "end the run after N epochs without a lower validation loss; best/ holds the best model (needs " +
      "validation data)",
    defaultText: "never",
    label: "early stop after (epochs)",
    recorded: true,
  },
  dropout: {
    kind: "fraction",
    group: "training",
    arg: "P",
    help: "drop activations with probability P while training: the embedding output, between LSTM layers, " +
      "before each Linear (PyTorch's places)",
    default: 0,
    label: "dropout",
    recorded: true,
  },
  "init-range": {
    kind: "positive number",
    group: "training",
    arg: "R",
    help:
      "draw the embedding (and an untied output layer's weights) from U(-R, R) and zero the output bias, " +
      "as PyTorch's word-language-model example (0.1 there; a tied head needs it)",
    defaultText: "PyTorch's layer defaults",
    label: "initial weights range",
    recorded: true,
  },
  bucket: {
    kind: "positive integer",
    group: "training",
    arg: "N",
    help: "with --shuffle, sort every N batches' worth of shuffled rows by length before cutting them into " +
      "batches, then shuffle the batches: a headline model's batches then waste little on padding",
    defaultText: "no buckets",
    label: "length buckets (batches)",
    recorded: true,
  },
  "max-steps": {
    kind: "positive integer",
    group: "training",
    arg: "N",
    help: "stop after N optimizer steps in total",
    defaultText: "no limit",
    label: "stop after steps",
  },
  backend: {
    kind: BACKEND_KINDS,
    group: "training",
    arg: BACKEND_KINDS.join("|"),
    help: "cpu is the plain-TypeScript reference, far slower",
    default: DEFAULT_BACKEND,
    recorded: true,
  },
  // ---- output ----
  out: {
    kind: "text",
    group: "output",
    arg: "DIR",
    help: `run directory: ${CHECKPOINT_DIR}/, ${BEST_DIR}/, ${METRICS_FILE}, ${LOSS_PLOT_FILE}`,
    default: DEFAULT_OUT,
  },
  force: {
    kind: "boolean",
    group: "output",
    help: "reuse an --out that holds another run (its files are replaced)",
  },
  resume: {
    kind: "text",
    group: "output",
    arg: "DIR",
    help: "continue the run in DIR exactly where it stopped, with its recorded flags (flags given now win)",
  },
  config: {
    kind: "text",
    group: "output",
    arg: "FILE",
    help: 'take flags from a JSON file, e.g. {"epochs": 5, "boundaries": true} (flags given on the command ' +
      "line win); they are recorded like any other, so --resume does not need the file",
    inConfig: false,
  },
  "save-every": {
    kind: "positive integer",
    group: "output",
    arg: "N",
    help: "checkpoint every N epochs, and always at the end and on Ctrl-C",
    default: defaults.DEFAULT_SAVE_EVERY,
    label: "save every (epochs)",
  },
  "log-every": {
    kind: "positive integer",
    group: "output",
    arg: "N",
    help: `read the loss back every N steps, at most ${defaults.MAX_LOG_EVERY}`,
    default: defaults.DEFAULT_LOG_EVERY,
    max: defaults.MAX_LOG_EVERY,
    label: "log every (steps)",
  },
  "sample-every": {
    kind: "positive integer",
    group: "output",
    arg: "N",
    help:
      `every N epochs, generate ${SAMPLES_PER_PROMPT} headlines per prompt (temperature ${SAMPLE_TEMPERATURE}, ` +
      `at most ${SAMPLE_WORDS} words), print them and append them to ${SAMPLES_FILE}; seeded by --seed and ` +
      "the epoch, so a resumed run writes what an uninterrupted one would",
    defaultText: "never",
    label: "samples every (epochs)",
    recorded: true,
  },
  "sample-prompts": {
    kind: "text",
    group: "output",
    arg: `"P${PROMPT_SEPARATOR}Q"`,
    help: "the prompts of --sample-every",
    defaultText: `"" with --boundaries: whole headlines; else the context of the first training pair`,
    label: `sample prompts (${PROMPT_SEPARATOR} between)`,
    recorded: true,
  },
  quiet: { kind: "boolean", group: "output", help: "no progress output" },
  json: { kind: "boolean", group: "output", help: "print a JSON summary as the last line of stdout" },
  help: { kind: "boolean", group: "output", short: "h", help: "this text", inConfig: false },
} as const satisfies FlagTable;

/**
 * TRAIN_FLAGS as the public API types it (any FlagTable): the table's literal type, which the planner reads
 * each setting's type from, is not one a published package may leave inferred.
 */
export const TRAIN_FLAG_TABLE: FlagTable = TRAIN_FLAGS;
