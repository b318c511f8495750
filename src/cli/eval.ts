/**
 * `deno task eval`: how good a trained model is on any data, beside add-k unigram and bigram baselines
 * counted on its training data: flags -> model -> pairs (made the model's way) -> scores -> a table or JSON.
 */
import { headlineSteps } from "../data/sequences.ts";
import { numberFlag, parseFlags } from "./args.ts";
import { USAGE_EXIT, UserError } from "../errors.ts";
import { HEADLINE_COLUMN } from "../data/csv.ts";
import { hasBoundaries, UNK_TOKEN } from "../data/vocab.ts";
import type { Checkpoint } from "../io/checkpoint.ts";
import { describeConfig } from "../model/config.ts";
import type { Dataset } from "../data/types.ts";
import { loadModel } from "../deno/checkpoint_files.ts";
import { locateData, readCorpus, readPrepared } from "../deno/data_files.ts";
import { openBackend } from "../deno/backends.ts";
import { parseBackendKind } from "../model/backend_kind.ts";
import { corpusPairs, preparedPairs, type ScoredSet } from "../eval/data.ts";
import { DEFAULT_KN_ORDER } from "../eval/kneser_ney.ts";
import { scoreKneserNey } from "../eval/kneser_ney_scores.ts";
import { fitCountModel, modelTargets, scorePartner } from "../eval/partner.ts";
import {
  countNgrams,
  DEFAULT_ADD_K,
  scoreBigram,
  scoreModel,
  type Scores,
  scoreUnigram,
  scoringRows,
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
  --kn-order N         the Kneser-Ney baseline's order: contexts of N-1 words (default ${DEFAULT_KN_ORDER}; 0: no such row)
  --kn-discount D      one discount D in (0, 1] for every count and order (default: modified Kneser-Ney,
                       three discounts per order from the counts of counts)
  --partner            also score the model mixed with the Kneser-Ney partner stored with it (deno task partner)
  --backend webgpu|cpu (default webgpu; cpu is the slow reference)
  --json               one JSON object on stdout
  -h, --help           this text

Pairs are made the model's way: its window, its vocabulary, and headline boundaries when it was trained
with them. Words the model does not know are counted and reported: read as ${UNK_TOKEN} when the model has
it, otherwise the pairs touching them are left out (and counted). Loss is the mean cross-entropy in nats
of the model's full softmax, as training's validation loss; perplexity is exp(loss). The unigram baseline
is P(w) = (count(w) + k) / (pairs + k V) over training targets, the bigram one
P(w | p) = (count(p, w) + k) / (count(p) + k V) with p the last word of the window; the Kneser-Ney one is
interpolated Kneser-Ney over the training headlines (framed with <s> and </s> as the model's), each target
read with up to N-1 words before it, scored on the model's targets.`;

const FLAGS = {
  model: { type: "string" },
  data: { type: "string" },
  files: { type: "string" },
  column: { type: "string" },
  "train-data": { type: "string" },
  k: { type: "string" },
  "kn-order": { type: "string" },
  "kn-discount": { type: "string" },
  partner: { type: "boolean" },
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
  const knOrder = numberFlag("kn-order", v["kn-order"], DEFAULT_KN_ORDER, "non-negative integer");
  const knDiscount = v["kn-discount"] === undefined
    ? undefined
    : numberFlag("kn-discount", v["kn-discount"], 0, "positive number");
  if (knDiscount !== undefined && knDiscount > 1) {
    throw new UserError(`--kn-discount must be in (0, 1], got ${knDiscount}`, USAGE_EXIT);
  }

  const model = await loadModel(v.model);
  if (v.partner && !model.partner) {
    throw new UserError(`--partner: ${v.model} has no partner (deno task partner tunes one)`, USAGE_EXIT);
  }
  const scored = await readScored(v.data, { files: v.files, column: v.column }, model, "val");
  if (scored.pairs.count === 0) throw new UserError(`${scored.source}: ${noPairs(scored, model)}`);
  const train = v["train-data"] !== undefined
    ? await readScored(v["train-data"], { column: v.column }, model, "train")
    : scored.prepared
    ? preparedPairs(scored.prepared, v.data, "train", model.vocab, model.config)
    : undefined;
  if (train && train.pairs.count === 0) {
    throw new UserError(`--train-data ${train.source}: ${noPairs(train, model)}`);
  }

  const headlines = scored.headlines;
  if (v.partner && !headlines) {
    throw new UserError(`--partner: ${scored.source} keeps no headlines (prepared before they were kept)`);
  }
  const backend = await openBackend(backendKind, model.config, {
    maxBatch: scoringRows(model.config, scored.headlines),
    maxSteps: headlineSteps(scored.headlines),
  });
  let modelScores: Scores;
  let partner: Report["partner"];
  try {
    await backend.setParams(model.params);
    modelScores = await scoreModel(backend, scored);
    if (v.partner) {
      const { weight, model: count } = model.partner!;
      const scores = await scorePartner(
        backend,
        model.vocab,
        { ...scored, headlines: headlines! },
        model.partner!,
      );
      partner = { weight, order: count.order, scores };
    }
  } finally {
    backend.destroy();
  }
  const knRow = knOrder > 0 && train?.headlines && headlines
    ? {
      order: knOrder,
      discount: knDiscount ?? "modified" as const,
      scores: scoreKneserNey(
        fitCountModel(train.headlines, model.vocab, { order: knOrder, discount: knDiscount }),
        headlines,
        modelTargets(headlines, model.config, model.vocab),
      ),
    }
    : undefined;
  const counts = train && countNgrams(train.pairs, model.config.vocab, train.window);
  const baselines = counts && {
    k,
    source: train!.source,
    pairs: counts.pairs,
    unigram: scoreUnigram(counts, scored.pairs, k),
    bigram: scoreBigram(counts, scored.pairs, k, scored.window),
    ...(knRow ? { kneser_ney: knRow } : {}),
  };
  const report: Report = {
    model: v.model,
    data: scored.source,
    words: coverageOf(scored),
    scores: modelScores,
    ...(partner ? { partner } : {}),
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
  /** The model mixed with its stored partner (--partner). */
  partner?: { weight: number; order: number; scores: Scores };
  baselines?: {
    k: number;
    source: string;
    pairs: number;
    unigram: Scores;
    bigram: Scores;
    kneser_ney?: { order: number; discount: number | "modified"; scores: Scores };
  };
};

/** Pairs of `path` for `model`: a prepared directory's split, or all headlines of CSV/.txt files. */
async function readScored(
  path: string,
  source: { files?: string; column?: string },
  model: Checkpoint,
  split: "train" | "val",
): Promise<ScoredSet & { prepared?: Dataset }> {
  const input = await locateData({ data: path, ...source });
  const { vocab, config } = model;
  if (input.kind === "prepared") {
    const prepared = await readPrepared(input.dir);
    return { ...preparedPairs(prepared, input.dir, split, vocab, config), prepared };
  }
  return corpusPairs(await readCorpus(input), vocab, config.window);
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
  console.log(`model: ${r.model} (${describeConfig(config)}${boundaries})`);
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
  if (r.partner) {
    rows.push([
      `model + Kneser-Ney ${r.partner.order}-gram (weight ${r.partner.weight.toFixed(3)})`,
      r.partner.scores,
    ]);
  }
  const kn = r.baselines?.kneser_ney;
  if (kn) {
    const discount = kn.discount === "modified" ? "modified" : `D ${kn.discount}`;
    rows.push([`Kneser-Ney ${kn.order}-gram, ${discount}`, kn.scores]);
  }
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
    console.log(
      `baselines: counts of ${r.baselines.pairs} training pairs of ${r.baselines.source}` +
        (kn ? "" : " (no Kneser-Ney row: the training data keeps no headlines, or --kn-order 0)"),
    );
  } else console.log("baselines: none (give --train-data, or a prepared --data, to count them)");
}
