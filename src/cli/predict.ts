/** `deno task predict`: flags -> model -> prompts -> backend -> next words or generated headlines. */
import { numberFlag, parseFlags } from "./args.ts";
import { USAGE_EXIT, UserError } from "../errors.ts";
import { osReason } from "../deno/fs.ts";
import { BOS_TOKEN, EOS_TOKEN, UNK_TOKEN } from "../data/vocab.ts";
import { loadModel } from "../deno/checkpoint_files.ts";
import { openBackend } from "../deno/backends.ts";
import { parseBackendKind } from "../model/backend_kind.ts";
import {
  checkTopK,
  type EncodedPrompt,
  encodePrompt,
  packContexts,
  promptText,
  specialIds,
} from "../sample/prompt.ts";
import { predictNext } from "../sample/predict.ts";
import type { Candidates } from "../sample/sampling.ts";
import { generateHeadlines, GENERATION_DEFAULTS, samplingFlags } from "../sample/generate.ts";
import { beamSearch, type Continuation } from "../sample/beam.ts";

/** Most windows one forward pass holds; more prompts or samples run in several passes. */
const MAX_BATCH = 256;

export const PREDICT_HELP = `Predict the next word of a headline, or generate headlines, with a trained model.

usage: deno task predict --model DIR [PROMPT ...] [flags]

  --model DIR          a checkpoint directory (weights + vocabulary + config; a PyTorch export with
                       model.safetensors + vocab.json works too) or a training run directory (its checkpoint/)
  PROMPT ...           prompts; without any, --file or else stdin, one prompt a line (blank lines skipped)
  --file PATH          read prompts from PATH, one a line
  --backend webgpu|cpu (default webgpu; cpu is the slow reference)
  --json               one JSON object per prompt
  --no-unk             never propose or generate ${UNK_TOKEN} (it stands for every rare word, so a model trained
                       with --min-count often ranks it first)

Prompts are cleaned like the training headlines; the model reads their last window words, as it was
trained to (a longer prompt's earlier words do not reach it). A model trained with --boundaries reads a
prompt as the start of a headline: a shorter one is left-padded with ${BOS_TOKEN}, and the empty prompt ""
asks for whole headlines; such a model never proposes ${BOS_TOKEN}, and ${EOS_TOKEN} ends a generated headline.

next word (default):
  --top-k K            print the K most likely words with their probabilities (default 1)

generation:
  --generate N         extend each prompt by N words at most, the window sliding over the generated ones
                       (a boundaries model stops a headline earlier at ${EOS_TOKEN})
  --count M            M samples per prompt (default 1), all drawn in one batch
  --temperature T      divide logits by T > 0 before sampling; 0 means greedy (default 1)
  --top-k K            sample from the K most likely words only
  --top-p P            sample from the smallest most-likely set with probability >= P, in (0, 1]
  --seed S             seed of the draws (default: random, printed so a run can be repeated)
  --stop-at-unk        end a sample when it draws <unk>

beam search (with --generate N, instead of sampling):
  --beam B             the B most probable continuations of N words (or ending at ${EOS_TOKEN}) by total
                       log-probability, with their scores; B beams are kept at each step
  --length-norm        rank by log-probability per word (${EOS_TOKEN} counting as one) instead of the total
  -h, --help           this text`;

const FLAGS = {
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
  help: { type: "boolean", short: "h" },
} as const;

/** Flags that only mean something with --generate. */
const GENERATION_ONLY = [
  "count",
  "temperature",
  "top-p",
  "seed",
  "stop-at-unk",
  "beam",
  "length-norm",
] as const;
/** Flags of sampling that a beam search (deterministic, over every word) has no use for. */
const SAMPLING_ONLY = ["count", "temperature", "top-k", "top-p", "seed", "stop-at-unk"] as const;

export async function predictMain(args: string[]): Promise<number> {
  const { values: v, positionals } = parseFlags(args, FLAGS, true);
  if (v.help) {
    console.log(PREDICT_HELP);
    return 0;
  }
  if (v.model === undefined) throw new UserError("--model DIR is required (see --help)", USAGE_EXIT);
  const backendKind = parseBackendKind(v.backend);
  const generate = v.generate === undefined
    ? undefined
    : numberFlag("generate", v.generate, 0, "positive integer");
  if (generate === undefined) {
    const stray = GENERATION_ONLY.find((name) => v[name] !== undefined);
    if (stray) throw new UserError(`--${stray} only applies with --generate N`, USAGE_EXIT);
  }
  const beam = v.beam === undefined ? undefined : numberFlag("beam", v.beam, 0, "positive integer");
  if (beam !== undefined) {
    const stray = SAMPLING_ONLY.find((name) => v[name] !== undefined);
    if (stray) throw new UserError(`--${stray} is for sampling; --beam searches instead`, USAGE_EXIT);
  } else if (v["length-norm"]) throw new UserError("--length-norm only applies with --beam B", USAGE_EXIT);
  const { temperature, topP } = samplingFlags(v.temperature, v["top-p"]);
  const topK = v["top-k"] === undefined ? undefined : numberFlag("top-k", v["top-k"], 1, "positive integer");
  const count = numberFlag("count", v.count, GENERATION_DEFAULTS.count, "positive integer");
  const seed = numberFlag(
    "seed",
    v.seed,
    crypto.getRandomValues(new Uint32Array(1))[0],
    "32-bit unsigned integer",
  );
  if (positionals.length > 0 && v.file !== undefined) {
    throw new UserError("give prompts as arguments or with --file, not both", USAGE_EXIT);
  }
  if (v["no-unk"] && v["stop-at-unk"]) {
    throw new UserError("--no-unk and --stop-at-unk contradict", USAGE_EXIT);
  }

  const model = await loadModel(v.model);
  const { config, vocab } = model;
  const special = specialIds(vocab);
  if (v["no-unk"] && special.unk < 0) {
    throw new UserError(`--no-unk: the model's vocabulary has no ${UNK_TOKEN}`, USAGE_EXIT);
  }
  const banned = [...special.banned, ...(v["no-unk"] ? [special.unk] : [])];
  checkTopK(topK, config.vocab, banned);

  const texts = positionals.length > 0 ? positionals : await readPrompts(v.file);
  if (texts.length === 0) throw new UserError(`no prompts in ${v.file ?? "stdin"}`);
  const prompts = texts.map((text) => encodePrompt(text, vocab, config.window));
  for (const p of prompts) {
    if (p.unknown.length > 0) {
      console.error(`note: not in the vocabulary, read as ${UNK_TOKEN}: ${p.unknown.join(", ")}`);
    }
  }
  const contexts = packContexts(prompts, config.window);

  const rows = prompts.length * (beam ?? (generate === undefined ? 1 : count));
  // The backend runs larger requests in chunks of maxBatch rows; a cap keeps its buffers small for V x rows.
  const backend = await openBackend(backendKind, config, { maxBatch: Math.min(rows, MAX_BATCH) });
  try {
    await backend.setParams(model.params);
    if (generate === undefined) {
      const next = await predictNext(backend, contexts, prompts.length, topK ?? 1, banned);
      prompts.forEach((p, i) =>
        printNextWords(p, next[i], vocab, { json: v.json, list: topK !== undefined })
      );
      return 0;
    }
    const text = (p: EncodedPrompt, ids: ArrayLike<number>) => promptText(p, ids, vocab);
    if (beam !== undefined) {
      const found = await beamSearch(backend, contexts, prompts.length, {
        width: beam,
        steps: generate,
        boundaries: special.boundaries,
        bannedIds: banned,
        lengthNorm: Boolean(v["length-norm"]),
      });
      prompts.forEach((p, i) => printBeams(p, found[i], (ids) => text(p, ids), Boolean(v.json)));
      return 0;
    }
    if (v.seed === undefined && temperature > 0 && !v.json) {
      console.error(`seed: ${seed} (pass --seed ${seed} to repeat)`);
    }
    const generated = await generateHeadlines(backend, prompts, vocab, {
      steps: generate,
      count,
      temperature,
      topK,
      topP,
      stopAtUnk: v["stop-at-unk"],
      noUnk: v["no-unk"],
    }, seed);
    prompts.forEach((p, i) => {
      if (v.json) console.log(JSON.stringify({ ...describe(p), generated: generated[i], seed }));
      else for (const line of generated[i]) console.log(line);
    });
    return 0;
  } finally {
    backend.destroy();
  }
}

/** One prompt's next words: "prompt -> word", a list with probabilities, or a JSON line. */
function printNextWords(
  p: EncodedPrompt,
  next: Candidates,
  vocab: readonly string[],
  style: { json?: boolean; list: boolean },
): void {
  const words = Array.from(next.ids, (id) => vocab[id]);
  const probabilities = Array.from(next.probs);
  const prompt = shown(p);
  if (style.json) console.log(JSON.stringify({ ...describe(p), words, probabilities }));
  else if (!style.list) console.log(`${prompt} -> ${words[0]}`);
  else console.log([prompt, ...words.map((w, j) => `  ${probabilities[j].toFixed(4)}  ${w}`)].join("\n"));
}

/**
 * One prompt's beam continuations, best first: the prompt, then a line per continuation with its score
 * (total log-probability, or per word with --length-norm) and, when it ended, "</s>" (the one place it is
 * shown: a continuation that ends is not one cut short); or a JSON line with both scores and `ended`.
 */
function printBeams(
  p: EncodedPrompt,
  found: Continuation[],
  text: (ids: number[]) => string,
  json: boolean,
): void {
  if (json) {
    const beams = found.map((c) => ({
      text: text(c.ids),
      log_prob: c.logProb,
      score: c.score,
      ended: c.ended,
    }));
    console.log(JSON.stringify({ ...describe(p), beams }));
  } else {
    console.log(
      [
        shown(p),
        ...found.map((c) => `  ${c.score.toFixed(4)}  ${text(c.ids)}${c.ended ? ` ${EOS_TOKEN}` : ""}`),
      ].join("\n"),
    );
  }
}

/** A prompt as text output shows it: its words, or, for the empty prompt, a note saying so. */
function shown(p: EncodedPrompt): string {
  return p.words.length > 0 ? p.words.join(" ") : "(empty prompt: the start of a headline)";
}

/** The prompt fields every JSON line starts with. */
function describe(p: EncodedPrompt) {
  return { prompt: p.words.join(" "), ...(p.unknown.length > 0 ? { unknown: p.unknown } : {}) };
}

/** Non-blank lines of the --file, or of stdin without one. */
async function readPrompts(file: string | undefined): Promise<string[]> {
  let text: string;
  if (file !== undefined) {
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new UserError(`cannot read --file ${file}: ${osReason(e)}`);
    }
  } else {
    if (Deno.stdin.isTerminal()) console.error("reading prompts from stdin, one a line (end with Ctrl-D)");
    text = await new Response(Deno.stdin.readable).text();
  }
  return text.split(/\r?\n/).filter((line) => line.trim() !== "");
}
