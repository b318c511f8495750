/**
 * `deno task predict`: flags -> plan (src/plan/predict_plan.ts, pure) -> model -> prompts -> backend ->
 * next words, generated headlines or beam search.
 */
import { parseFlags } from "./args.ts";
import { USAGE_EXIT, UserError } from "../errors.ts";
import { osReason } from "../deno/fs.ts";
import { BOS_TOKEN, EOS_TOKEN, UNK_TOKEN } from "../data/vocab.ts";
import { loadModel } from "../deno/checkpoint_files.ts";
import { openBackend } from "../deno/backends.ts";
import { type EncodedPrompt, encodePrompt, promptText, specialIds } from "../sample/prompt.ts";
import { modelKind } from "../model/config.ts";
import { predictNext } from "../sample/predict.ts";
import type { Candidates } from "../sample/sampling.ts";
import { generateHeadlines } from "../sample/generate.ts";
import { beamSearch, type Continuation } from "../sample/beam.ts";
import { bannedIds, planPredict, PREDICT_OPTIONS } from "../plan/predict_plan.ts";

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

export async function predictMain(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, PREDICT_OPTIONS, true);
  if (values.help) {
    console.log(PREDICT_HELP);
    return 0;
  }
  const plan = planPredict(values, positionals);
  const model = await loadModel(plan.model);
  const { config, vocab } = model;
  const banned = bannedIds(plan, vocab, config);
  if (plan.partner && !model.partner) {
    throw new UserError(`--partner: ${plan.model} has no partner (deno task partner tunes one)`, USAGE_EXIT);
  }
  const partner = plan.partner ? model.partner : undefined;

  const texts = plan.prompts.length > 0 ? plan.prompts : await readPrompts(plan.file);
  if (texts.length === 0) throw new UserError(`no prompts in ${plan.file ?? "stdin"}`);
  const prompts = texts.map((text) => encodePrompt(text, vocab, config.window, modelKind(config)));
  for (const p of prompts) {
    if (p.unknown.length > 0) {
      console.error(`note: not in the vocabulary, read as ${UNK_TOKEN}: ${p.unknown.join(", ")}`);
    }
  }
  const contexts = prompts.map((p) => p.context);

  const task = plan.task;
  const rows = prompts.length * (task.kind === "beam" ? task.width : task.kind === "sample" ? task.count : 1);
  // The backend runs larger requests in chunks of maxBatch rows; a cap keeps its buffers small for V x rows.
  // A headline model reads prompts and generates one position at a time (Backend.advance).
  const backend = await openBackend(plan.backend, config, {
    maxBatch: Math.min(rows, MAX_BATCH),
    maxSteps: 1,
  });
  try {
    await backend.setParams(model.params);
    // The count model reads each prompt's words whole, whatever the model's window.
    const rowsPartner = partner && { partner, histories: prompts.map((p) => p.ids) };
    if (task.kind === "next") {
      const next = await predictNext(backend, contexts, task.topK, banned, rowsPartner);
      prompts.forEach((p, i) => printNextWords(p, next[i], vocab, { json: plan.json, list: task.list }));
      return 0;
    }
    const text = (p: EncodedPrompt, ids: ArrayLike<number>) => promptText(p, ids, vocab);
    if (task.kind === "beam") {
      const found = await beamSearch(backend, contexts, {
        width: task.width,
        steps: task.steps,
        boundaries: specialIds(vocab).boundaries,
        bannedIds: banned,
        lengthNorm: task.lengthNorm,
      }, rowsPartner);
      prompts.forEach((p, i) => printBeams(p, found[i], (ids) => text(p, ids), plan.json));
      return 0;
    }
    const seed = task.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
    if (task.seed === undefined && task.temperature > 0 && !plan.json) {
      console.error(`seed: ${seed} (pass --seed ${seed} to repeat)`);
    }
    const generated = await generateHeadlines(
      backend,
      prompts,
      vocab,
      {
        steps: task.steps,
        count: task.count,
        temperature: task.temperature,
        topK: task.topK,
        topP: task.topP,
        stopAtUnk: task.stopAtUnk,
        noUnk: plan.noUnk,
      },
      seed,
      partner,
    );
    prompts.forEach((p, i) => {
      if (plan.json) console.log(JSON.stringify({ ...describe(p), generated: generated[i], seed }));
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
