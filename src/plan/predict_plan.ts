/**
 * A prediction's plan, from `deno task predict`'s flags (or the web page's generation fields): what to
 * compute (next words, sampled headlines or a beam search) and with which settings, every check and its
 * one-line message made before a model is read; then, with the model's vocabulary, the words it may never
 * propose. Pure: src/cli/predict.ts reads the model and the prompts and prints the results.
 */
import { USAGE_EXIT, UserError } from "../errors.ts";
import { numberFlag } from "../flag_values.ts";
import { type BackendKind, parseBackendKind } from "../model/backend_kind.ts";
import type { ModelConfig } from "../model/config.ts";
import { GENERATION_DEFAULTS, samplingFlags } from "../sample/generate.ts";
import { checkTopK, specialIds } from "../sample/prompt.ts";
import { UNK_TOKEN } from "../data/vocab.ts";
import type { FlagValues } from "./flags.ts";

/** predict's parseArgs options (the flags are described in src/cli/predict.ts's help). */
export const PREDICT_OPTIONS = {
  model: { type: "string" },
  file: { type: "string" },
  backend: { type: "string" },
  json: { type: "boolean" },
  "top-k": { type: "string" },
  generate: { type: "string" },
  count: { type: "string" },
  temperature: { type: "string" },
  "top-p": { type: "string" },
  seed: { type: "string" },
  "stop-at-unk": { type: "boolean" },
  "no-unk": { type: "boolean" },
  beam: { type: "string" },
  "length-norm": { type: "boolean" },
  partner: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Flags that only mean something with --generate. */
const GENERATION_ONLY = ["count", "temperature", "top-p", "seed", "stop-at-unk", "beam", "length-norm"];
/** Flags of sampling that a beam search (deterministic, over every word) has no use for. */
const SAMPLING_ONLY = ["count", "temperature", "top-k", "top-p", "seed", "stop-at-unk"];

/** The most likely next words of each prompt: one (printed as "prompt -> word"), or a list of K. */
export interface NextWordsTask {
  /** Which task this is. */
  kind: "next";
  /** How many words to find (1 unless --top-k). */
  topK: number;
  /** --top-k was given: the words are listed with their probabilities. */
  list: boolean;
}

/** Headlines sampled from each prompt (predict --generate N; the page's Generate section). */
export interface SamplingTask {
  /** Which task this is. */
  kind: "sample";
  /** Words added at most. */
  steps: number;
  /** Samples per prompt. */
  count: number;
  /** Divides the logits before softmax; 0: greedy. */
  temperature: number;
  /** Nucleus sampling's probability mass, in (0, 1]. */
  topP: number;
  /** Draw from the k most likely words only (undefined: all). */
  topK?: number;
  /** The draws' seed; undefined: none given, the caller draws one (and says which). */
  seed?: number;
  /** End a sample when it draws <unk>. */
  stopAtUnk: boolean;
}

/** The most probable continuations of each prompt (predict --beam B --generate N). */
export interface BeamTask {
  /** Which task this is. */
  kind: "beam";
  /** Beams kept, and continuations returned, per prompt. */
  width: number;
  /** Words added at most. */
  steps: number;
  /** Rank by log-probability per word rather than the total. */
  lengthNorm: boolean;
}

/**
 * What a `deno task predict` does, decided from its flags: the model, the backend, the prompts and the task.
 */
export interface PredictPlan {
  /** The model's directory (--model). */
  model: string;
  /** Where the model runs. */
  backend: BackendKind;
  /** One JSON line per prompt instead of text. */
  json: boolean;
  /** Never propose or generate <unk>. */
  noUnk: boolean;
  /** Mix the model with its stored Kneser-Ney partner (deno task partner). */
  partner: boolean;
  /** The prompts given as arguments; none: --file's lines, else stdin's. */
  prompts: string[];
  /** The file of prompts, one a line (--file). */
  file?: string;
  /** Next words, sampled headlines, or beam search. */
  task: NextWordsTask | SamplingTask | BeamTask;
}

const text = (v: FlagValues, name: string) => v[name] === undefined ? undefined : String(v[name]);

/** The plan of a `deno task predict` from its flag values and prompts (positional arguments). */
export function planPredict(v: FlagValues, prompts: string[]): PredictPlan {
  const model = text(v, "model");
  if (model === undefined) throw new UserError("--model DIR is required (see --help)", USAGE_EXIT);
  const backend = parseBackendKind(text(v, "backend"));
  const generate = v.generate === undefined
    ? undefined
    : numberFlag("generate", text(v, "generate"), 0, "positive integer");
  if (generate === undefined) {
    const stray = GENERATION_ONLY.find((name) => v[name] !== undefined);
    if (stray) throw new UserError(`--${stray} only applies with --generate N`, USAGE_EXIT);
  }
  const beam = v.beam === undefined ? undefined : numberFlag("beam", text(v, "beam"), 0, "positive integer");
  if (beam !== undefined) {
    const stray = SAMPLING_ONLY.find((name) => v[name] !== undefined);
    if (stray) throw new UserError(`--${stray} is for sampling; --beam searches instead`, USAGE_EXIT);
  } else if (v["length-norm"]) throw new UserError("--length-norm only applies with --beam B", USAGE_EXIT);
  const task: PredictPlan["task"] = generate === undefined
    ? { kind: "next", topK: topKFlag(v) ?? 1, list: v["top-k"] !== undefined }
    : beam === undefined
    ? planSampling(v)
    : { kind: "beam", width: beam, steps: generate, lengthNorm: v["length-norm"] === true };
  const file = text(v, "file");
  if (prompts.length > 0 && file !== undefined) {
    throw new UserError("give prompts as arguments or with --file, not both", USAGE_EXIT);
  }
  if (v["no-unk"] && v["stop-at-unk"]) {
    throw new UserError("--no-unk and --stop-at-unk contradict", USAGE_EXIT);
  }
  return {
    model,
    backend,
    json: v.json === true,
    noUnk: v["no-unk"] === true,
    partner: v.partner === true,
    prompts,
    file,
    task,
  };
}

/** Sampling settings from --generate, --count, --temperature, --top-p, --top-k, --seed and --stop-at-unk. */
export function planSampling(v: FlagValues): SamplingTask {
  const steps = numberFlag("generate", text(v, "generate"), 0, "positive integer");
  const { temperature, topP } = samplingFlags(text(v, "temperature"), text(v, "top-p"));
  const topK = topKFlag(v);
  const count = numberFlag("count", text(v, "count"), GENERATION_DEFAULTS.count, "positive integer");
  const seed = v.seed === undefined
    ? undefined
    : numberFlag("seed", text(v, "seed"), 0, "32-bit unsigned integer");
  return {
    kind: "sample",
    steps,
    count,
    temperature,
    topP,
    topK,
    seed,
    stopAtUnk: v["stop-at-unk"] === true,
  };
}

function topKFlag(v: FlagValues): number | undefined {
  return v["top-k"] === undefined ? undefined : numberFlag("top-k", text(v, "top-k"), 1, "positive integer");
}

/**
 * With the model: the ids it may never propose or draw (its special tokens, and <unk> with --no-unk),
 * refusing --no-unk for a vocabulary without <unk> and a --top-k larger than what is left.
 */
export function bannedIds(plan: PredictPlan, vocab: readonly string[], config: ModelConfig): number[] {
  const special = specialIds(vocab);
  if (plan.noUnk && special.unk < 0) {
    throw new UserError(`--no-unk: the model's vocabulary has no ${UNK_TOKEN}`, USAGE_EXIT);
  }
  const banned = [...special.banned, ...(plan.noUnk ? [special.unk] : [])];
  checkTopK("topK" in plan.task ? plan.task.topK : undefined, config.vocab, banned);
  return banned;
}
