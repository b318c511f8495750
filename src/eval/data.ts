/**
 * What a model is scored on, made the model's way (its vocabulary, window and headline boundaries): the
 * pairs a window model reads (and the baselines count), and the headlines as ids a headline model reads;
 * from raw headlines, or from a prepared dataset made for it. Words it does not know are counted, never
 * dropped silently.
 */
import { cleanCorpus } from "../data/dataset.ts";
import { headlinePairs } from "../data/pairs.ts";
import type { Corpus, Coverage, Dataset, PairSet } from "../data/types.ts";
import { hasBoundaries, unkId } from "../data/vocab.ts";
import { setting, UserError, words } from "../errors.ts";
import { isHeadlineModel, type ModelConfig } from "../model/config.ts";

/** Pairs to score a model on, made its way, and what they are. */
export interface ScoredSet {
  /** What the pairs are, for people ("ArticlesMay2017.csv", "runs/prepared (validation split)"). */
  source: string;
  /** The pairs, with the model's vocabulary. */
  pairs: PairSet;
  /** The pairs' window (a headline model's may differ from its own: any prepared directory serves it). */
  window: number;
  /** The headlines as word ids (-1: no id), in order; absent for a directory prepared before they were kept. */
  headlines?: Int32Array[];
  /** How the words met the model's vocabulary (undefined: not recorded, for an older prepared directory). */
  coverage?: Coverage;
  /** Unknown words and their counts, first appearance first (known for raw headlines only). */
  unknown?: Map<string, number>;
}

/** The pairs of raw headlines (all of them: no split), made with the model's vocabulary and window. */
export function corpusPairs(corpus: Corpus, vocab: readonly string[], window: number): ScoredSet {
  const made = headlinePairs(cleanCorpus(corpus), vocab, unkId(vocab), window, hasBoundaries(vocab));
  return {
    source: corpus.source,
    pairs: made.pairs,
    window,
    headlines: made.ids,
    coverage: made.coverage,
    unknown: made.unknown,
  };
}

/**
 * One split of a prepared dataset, which must have been made with the model's vocabulary and window: its
 * ids mean nothing to another model (and the words behind them are gone). `where` names it in errors.
 */
export function preparedPairs(
  ds: Dataset,
  where: string,
  split: "train" | "val",
  vocab: readonly string[],
  config: Pick<ModelConfig, "window" | "kind">,
): ScoredSet {
  if (ds.vocab.length !== vocab.length || ds.vocab.some((w, i) => w !== vocab[i])) {
    throw new UserError(
      `${where} was prepared with another vocabulary than the model's (${ds.vocab.length} words, the model ` +
        `${vocab.length}): give its CSV or .txt files instead, which are read with the model's vocabulary`,
    );
  }
  // A headline model reads the headlines, which every window's directory keeps alike.
  if (isHeadlineModel(config as ModelConfig)) {
    if (!ds.headlineIds) {
      throw new UserError(
        `${where} was prepared before headline models existed (it keeps no headlines): prepare it again`,
      );
    }
  } else if (ds.window !== config.window) {
    throw new UserError(
      words`${where} was prepared with ${
        setting("window", undefined, String(ds.window))
      }, the model reads ${config.window}`,
    );
  }
  if (split === "val") {
    if (ds.val.count === 0) {
      throw new UserError(
        words`${where} has no validation pairs (prepared with ${
          setting("val-fraction", `validation fraction ${ds.valFraction}`, String(ds.valFraction))
        }): prepare it with a ${setting("val-fraction", "validation fraction")}, or give other data`,
      );
    }
    return {
      source: `${where} (validation split)`,
      pairs: ds.val,
      window: ds.window,
      headlines: ds.headlineIds?.val,
      coverage: ds.valCoverage,
    };
  }
  return {
    source: `${where} (training split)`,
    pairs: ds.train,
    window: ds.window,
    headlines: ds.headlineIds?.train,
  };
}
