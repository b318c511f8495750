/** `deno task predict`: flags -> model -> prompts -> backend -> next words or generated headlines. */
import { join } from "node:path";
import { numberFlag, parseFlags } from "./args.ts";
import { USAGE_EXIT, UserError } from "../errors.ts";
import { osReason, statOrNull } from "../deno/fs.ts";
import { UNK_TOKEN } from "../data/vocab.ts";
import { loadCheckpoint } from "../deno/checkpoint_files.ts";
import { openBackend, parseBackendKind } from "../deno/backends.ts";
import { type EncodedPrompt, encodePrompt } from "../sample/prompt.ts";
import { predictNext } from "../sample/predict.ts";
import type { Candidates } from "../sample/sampling.ts";
import { generateHeadlines, GENERATION_DEFAULTS, samplingFlags } from "../sample/generate.ts";

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

Prompts are cleaned like the training headlines; the model reads their last window words.

next word (default):
  --top-k K            print the K most likely words with their probabilities (default 1)

generation:
  --generate N         extend each prompt by N words, the window sliding over the generated ones
  --count M            M samples per prompt (default 1), all drawn in one batch
  --temperature T      divide logits by T > 0 before sampling; 0 means greedy (default 1)
  --top-k K            sample from the K most likely words only
  --top-p P            sample from the smallest most-likely set with probability >= P, in (0, 1]
  --seed S             seed of the draws (default: random, printed so a run can be repeated)
  --stop-at-unk        end a sample when it draws <unk>
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
  help: { type: "boolean", short: "h" },
} as const;

/** Flags that only mean something while sampling. */
const GENERATION_ONLY = ["count", "temperature", "top-p", "seed", "stop-at-unk"] as const;

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

  const model = await loadCheckpoint(await checkpointDir(v.model));
  const { config, vocab } = model;
  if (topK !== undefined && topK > config.vocab) {
    throw new UserError(
      `--top-k must be at most the vocabulary size ${config.vocab}, got "${v["top-k"]}"`,
      USAGE_EXIT,
    );
  }

  const texts = positionals.length > 0 ? positionals : await readPrompts(v.file);
  if (texts.length === 0) throw new UserError(`no prompts in ${v.file ?? "stdin"}`);
  const prompts = texts.map((text) => encodePrompt(text, vocab, config.window));
  for (const p of prompts) {
    if (p.unknown.length > 0) {
      console.error(`note: not in the vocabulary, read as ${UNK_TOKEN}: ${p.unknown.join(", ")}`);
    }
  }
  const contexts = new Int32Array(prompts.length * config.window);
  prompts.forEach((p, i) => contexts.set(p.context, i * config.window));

  const rows = prompts.length * (generate === undefined ? 1 : count);
  // The backend runs larger requests in chunks of maxBatch rows; a cap keeps its buffers small for V x rows.
  const backend = await openBackend(backendKind, config, { maxBatch: Math.min(rows, MAX_BATCH) });
  try {
    await backend.setParams(model.params);
    if (generate === undefined) {
      const next = await predictNext(backend, contexts, prompts.length, topK ?? 1);
      prompts.forEach((p, i) =>
        printNextWords(p, next[i], vocab, { json: v.json, list: topK !== undefined })
      );
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
    }, seed);
    prompts.forEach((p, i) => {
      if (v.json) console.log(JSON.stringify({ ...describe(p), generated: generated[i], seed }));
      else for (const text of generated[i]) console.log(text);
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
  const prompt = p.words.join(" ");
  if (style.json) console.log(JSON.stringify({ ...describe(p), words, probabilities }));
  else if (!style.list) console.log(`${prompt} -> ${words[0]}`);
  else console.log([prompt, ...words.map((w, j) => `  ${probabilities[j].toFixed(4)}  ${w}`)].join("\n"));
}

/** The prompt fields every JSON line starts with. */
function describe(p: EncodedPrompt) {
  return { prompt: p.words.join(" "), ...(p.unknown.length > 0 ? { unknown: p.unknown } : {}) };
}

/** A run directory holds its latest checkpoint in checkpoint/; anything else is taken as a checkpoint itself. */
async function checkpointDir(dir: string): Promise<string> {
  const inner = join(dir, "checkpoint");
  // Without checkpoint/ inside, DIR is the checkpoint (loadCheckpoint says what is missing if it is not).
  return (await statOrNull(inner))?.isDirectory ? inner : dir;
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
