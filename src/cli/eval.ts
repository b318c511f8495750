/**
 * `deno task eval`: how good a trained model is on any data, beside add-k unigram and bigram baselines
 * counted on its training data: flags -> model -> pairs (made the model's way) -> scores -> a table or JSON.
 */
import { numberFlag, parseFlags } from "./args.ts";
import { USAGE_EXIT, UserError } from "../errors.ts";
import { HEADLINE_COLUMN } from "../data/csv.ts";
import { hasBoundaries, UNK_TOKEN } from "../data/vocab.ts";
import type { Checkpoint } from "../io/checkpoint.ts";
import type { Dataset } from "../data/types.ts";
import { loadModel } from "../deno/checkpoint_files.ts";
import { locateData, readCorpus, readPrepared } from "../deno/data_files.ts";
import { openBackend } from "../deno/backends.ts";
import { parseBackendKind } from "../model/backend_kind.ts";
import { corpusPairs, preparedPairs, type ScoredSet } from "../eval/data.ts";
import {
  countNgrams,
  DEFAULT_ADD_K,
  scoreBigram,
  scoreModel,
  type Scores,
  scoreUnigram,
} from "../eval/scores.ts";

/** Unknown words named in the report, most frequent first. */
const SHOWN_UNKNOWN = 8;

export const EVAL_HELP =
  `Score a trained model on data: mean loss, perplexity, top-1 and top-5 accuracy, beside
unigram and bigram baselines counted on the model's training data.

usage: deno task eval --model DIR --data PATH [flags]

  --model DIR          a checkpoint directory or a training run directory (its checkpoint/)
  --data PATH          what to score: a prepared directory (its validation split), a CSV or .txt file,
                       or a directory of them (all its headlines, cleaned as in training)
  --files GLOB         with a --data directory: only files matching GLOB
  --column NAME        the CSV column holding the text (default "${HEADLINE_COLUMN}"; also for --train-data)
  --train-data PATH    the model's training data, for the baselines: a prepared directory (its training
                       split) or CSV/.txt files (all of them); default: the training split of a prepared
                       --data; without either, no baselines
  --k K                add-k smoothing of the baselines, K > 0 (default ${DEFAULT_ADD_K})
  --backend webgpu|cpu (default webgpu; cpu is the slow reference)
  --json               one JSON object on stdout
  -h, --help           this text

Pairs are made the model's way: its window, its vocabulary, and headline boundaries when it was trained
with them. Words the model does not know are counted and reported: read as ${UNK_TOKEN} when the model has
it, otherwise the pairs touching them are left out (and counted). Loss is the mean cross-entropy in nats
of the model's full softmax, as training's validation loss; perplexity is exp(loss). The unigram baseline
is P(w) = (count(w) + k) / (pairs + k V) over training targets, the bigram one
P(w | p) = (count(p, w) + k) / (count(p) + k V) with p the last word of the window.`;

const FLAGS = {
  model: { type: "string" },
  data: { type: "string" },
  files: { type: "string" },
  column: { type: "string" },
  "train-data": { type: "string" },
  k: { type: "string" },
  backend: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export async function evalMain(args: string[]): Promise<number> {
  const { values: v } = parseFlags(args, FLAGS);
  if (v.help) {
    console.log(EVAL_HELP);
    return 0;
  }
  if (v.model === undefined) throw new UserError("--model DIR is required (see --help)", USAGE_EXIT);
  if (v.data === undefined) throw new UserError("--data PATH is required (see --help)", USAGE_EXIT);
  const backendKind = parseBackendKind(v.backend);
  const k = numberFlag("k", v.k, DEFAULT_ADD_K, "positive number");

  const model = await loadModel(v.model);
  const scored = await readScored(v.data, { files: v.files, column: v.column }, model, "val");
  if (scored.pairs.count === 0) throw new UserError(`${scored.source}: ${noPairs(scored, model)}`);
  const train = v["train-data"] !== undefined
    ? await readScored(v["train-data"], { column: v.column }, model, "train")
    : scored.prepared
    ? preparedPairs(scored.prepared, v.data, "train", model.vocab, model.config.window)
    : undefined;
  if (train && train.pairs.count === 0) {
    throw new UserError(`--train-data ${train.source}: ${noPairs(train, model)}`);
  }

  const backend = await openBackend(backendKind, model.config, { maxBatch: 256 });
  let modelScores: Scores;
  try {
    await backend.setParams(model.params);
    modelScores = await scoreModel(backend, scored.pairs);
  } finally {
    backend.destroy();
  }
  const counts = train && countNgrams(train.pairs, model.config.vocab, model.config.window);
  const baselines = counts && {
    k,
    source: train!.source,
    pairs: counts.pairs,
    unigram: scoreUnigram(counts, scored.pairs, k),
    bigram: scoreBigram(counts, scored.pairs, k),
  };
  const report = {
    model: v.model,
    data: scored.source,
    words: coverageOf(scored),
    scores: modelScores,
    baselines,
  };
  if (v.json) console.log(JSON.stringify(report));
  else printReport(report, model);
  return 0;
}

type Report = {
  model: string;
  data: string;
  words: ReturnType<typeof coverageOf>;
  scores: Scores;
  baselines?: { k: number; source: string; pairs: number; unigram: Scores; bigram: Scores };
};

/** Pairs of `path` for `model`: a prepared directory's split, or all headlines of CSV/.txt files. */
async function readScored(
  path: string,
  source: { files?: string; column?: string },
  model: Checkpoint,
  split: "train" | "val",
): Promise<ScoredSet & { prepared?: Dataset }> {
  const input = await locateData({ data: path, ...source });
  const { vocab, config: { window } } = model;
  if (input.kind === "prepared") {
    const prepared = await readPrepared(input.dir);
    return { ...preparedPairs(prepared, input.dir, split, vocab, window), prepared };
  }
  return corpusPairs(await readCorpus(input), vocab, window);
}

/** Why a set has no pair the model can score. */
function noPairs(set: ScoredSet, model: Checkpoint): string {
  const c = set.coverage;
  const why = c && c.skippedPairs > 0
    ? `${c.skippedPairs} pairs touch words the model does not know (it has no ${UNK_TOKEN})`
    : `no headline has ${hasBoundaries(model.vocab) ? "a word" : `more than ${model.config.window} words`}`;
  return `no pair the model can score: ${why}`;
}

/** The words' coverage as reported (JSON field names), with the most frequent unknown words when known. */
function coverageOf(set: ScoredSet) {
  const c = set.coverage;
  if (!c) return undefined;
  const frequent = set.unknown &&
    [...set.unknown].sort((a, b) => b[1] - a[1]).slice(0, SHOWN_UNKNOWN).map(([w]) => w);
  return {
    tokens: c.tokens,
    unknown_tokens: c.unknownTokens,
    unknown_words: c.unknownWords,
    skipped_pairs: c.skippedPairs,
    ...(frequent ? { most_frequent_unknown: frequent } : {}),
  };
}

function printReport(r: Report, model: Checkpoint): void {
  const { config, vocab } = model;
  const boundaries = hasBoundaries(vocab) ? ", headline boundaries" : "";
  console.log(`model: ${r.model} (vocab ${config.vocab}, window ${config.window}${boundaries})`);
  console.log(`data: ${r.data}: ${r.scores.pairs} pairs scored`);
  const w = r.words;
  if (!w) console.log("words: unknown words not recorded (a directory prepared before they were counted)");
  else if (w.unknown_tokens === 0) console.log(`words: ${w.tokens}, all known to the model`);
  else {
    const share = (100 * w.unknown_tokens / w.tokens).toFixed(1);
    const unk = vocab.includes(UNK_TOKEN)
      ? `read as ${UNK_TOKEN}`
      : `${w.skipped_pairs} pairs touching them left out`;
    const named = w.most_frequent_unknown ? `; most frequent: ${w.most_frequent_unknown.join(", ")}` : "";
    console.log(
      `words: ${w.tokens}, ${w.unknown_tokens} unknown to the model (${share}%, ${w.unknown_words} distinct), ` +
        `${unk}${named}`,
    );
  }
  const rows: Array<[string, Scores]> = [["model", r.scores]];
  if (r.baselines) {
    rows.push([`unigram, k ${r.baselines.k}`, r.baselines.unigram], [
      `bigram, k ${r.baselines.k}`,
      r.baselines.bigram,
    ]);
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`${"".padEnd(width)}    loss  perplexity   top-1   top-5`);
  for (const [name, s] of rows) {
    console.log(
      `${name.padEnd(width)}  ${s.loss.toFixed(4).padStart(6)}  ${s.perplexity.toFixed(2).padStart(10)}  ` +
        `${pct(s.top1).padStart(6)}  ${pct(s.top5).padStart(6)}`,
    );
  }
  if (r.baselines) {
    console.log(`baselines: add-k counts of ${r.baselines.pairs} training pairs of ${r.baselines.source}`);
  } else console.log("baselines: none (give --train-data, or a prepared --data, to count them)");
}
