/**
 * The dataset the model trains on: vocabulary plus (window words -> next word) pairs, split into training
 * and validation by whole headlines, built from raw headlines (CSV files and prepared directories are read
 * by the platform: src/deno/data_files.ts).
 */
import { setting, UserError, words } from "../errors.ts";
import { DEFAULT_MODEL } from "../model/config.ts";
import { cleanHeadline, isRealHeadline } from "./clean.ts";
import { HEADLINE_COLUMN } from "./csv.ts";
import { headlinePairs } from "./pairs.ts";
import { chooseValidation } from "./split.ts";
import type { Corpus, Dataset, DatasetSettings } from "./types.ts";
import { BOUNDARIES, buildVocab } from "./vocab.ts";

export const DEFAULT_MIN_COUNT = 1;
export const DEFAULT_VAL_FRACTION = 0;
export const DEFAULT_SEED = 0;

/** The settings a dataset is cut with when none are given: the notebook's. */
export const DEFAULT_SETTINGS: Required<DatasetSettings> = {
  window: DEFAULT_MODEL.window,
  minCount: DEFAULT_MIN_COUNT,
  valFraction: DEFAULT_VAL_FRACTION,
  seed: DEFAULT_SEED,
  boundaries: false,
};

/** Headlines as the model reads them: the "Unknown" placeholder dropped, each one cleaned into words. */
export function cleanCorpus(corpus: Corpus): string[][] {
  return corpus.headlines.filter(isRealHeadline).map(cleanHeadline);
}

/**
 * Cleans, splits, builds the vocabulary from the training headlines only, and makes the pairs.
 * Validation words training never saw become "<unk>" when the vocabulary has it (minCount > 1);
 * otherwise the validation pairs touching them are dropped, since there is no id to give them (counted in
 * valCoverage either way).
 */
export function buildDataset(corpus: Corpus, settings: DatasetSettings): Dataset {
  const { window, minCount, valFraction, seed } = settings;
  const boundaries = settings.boundaries ?? false;
  const cleaned = cleanCorpus(corpus);
  const isVal = chooseValidation(cleaned.length, valFraction, seed);
  const trainWords = cleaned.filter((_, i) => !isVal[i]);
  const valWords = cleaned.filter((_, i) => isVal[i]);
  const { vocab, unk } = buildVocab(trainWords, minCount, boundaries);
  const trained = headlinePairs(trainWords, vocab, unk, window, boundaries);
  const train = trained.pairs;
  const val = headlinePairs(valWords, vocab, unk, window, boundaries);
  if (train.count === 0) {
    throw new UserError(
      `${corpus.source}: no training pairs: none of its ${trainWords.length} training headlines ` +
        (boundaries ? "has a word" : `has more than ${window} words`),
    );
  }
  return {
    source: corpus.source,
    files: corpus.files,
    column: corpus.column ?? HEADLINE_COLUMN,
    vocab,
    window,
    headlines: cleaned.length,
    unk,
    boundaries,
    train,
    val: val.pairs,
    valCoverage: val.coverage,
    headlineIds: { train: trained.ids, val: val.ids },
    minCount,
    valFraction,
    seed,
  };
}

/** Refuses settings out of range, naming the flag that sets each (one check for every command). */
export function checkSettings(opts: Partial<DatasetSettings>): void {
  const check = (name: string, value: number | undefined, ok: (v: number) => boolean, what: string) => {
    if (value !== undefined && !(Number.isFinite(value) && ok(value))) {
      throw new UserError(`--${name} must be ${what}, got ${value}`);
    }
  };
  check("window", opts.window, (v) => Number.isInteger(v) && v >= 1, "a positive integer");
  check("min-count", opts.minCount, (v) => Number.isInteger(v) && v >= 1, "a positive integer");
  check("val-fraction", opts.valFraction, (v) => v >= 0 && v < 1, "a fraction in [0, 1)");
  // The Rng takes a 32-bit seed; larger ones would silently alias.
  check("seed", opts.seed, (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32, "an integer in [0, 2^32)");
}

/** The dataset settings among `opts` (undefined where not given), checked. */
export function givenSettings(opts: Partial<DatasetSettings>): Partial<DatasetSettings> {
  const settings: Partial<DatasetSettings> = {
    window: opts.window,
    minCount: opts.minCount,
    valFraction: opts.valFraction,
    seed: opts.seed,
    boundaries: opts.boundaries,
  };
  checkSettings(settings);
  return settings;
}

/** Given settings, the notebook's (DEFAULT_SETTINGS) where not given. */
export function completeSettings(given: Partial<DatasetSettings>): DatasetSettings {
  const full = { ...DEFAULT_SETTINGS };
  for (const [key, value] of Object.entries(givenSettings(given)) as Array<[keyof DatasetSettings, never]>) {
    if (value !== undefined) full[key] = value;
  }
  return full;
}

/**
 * The settings raw headlines are split with: those given, a resumed run's seed where none is given
 * (DataOptions.resumedSeed), the notebook's elsewhere.
 */
export function splitSettings(opts: Partial<DatasetSettings> & { resumedSeed?: number }): DatasetSettings {
  const given = givenSettings(opts);
  return completeSettings({ ...given, seed: given.seed ?? opts.resumedSeed });
}

/** The prepared dataset, unless a setting given explicitly disagrees with how it was prepared. */
export function matchPrepared(ds: Dataset, dir: string, opts: Partial<DatasetSettings>): Dataset {
  const wanted: [string, string, number | undefined, number][] = [
    ["window", "window", opts.window, ds.window],
    ["min-count", "minimum count", opts.minCount, ds.minCount],
    ["val-fraction", "validation fraction", opts.valFraction, ds.valFraction],
    // The seed only chose the validation headlines; without a split it changed nothing.
    ["seed", "seed", ds.valFraction > 0 ? opts.seed : undefined, ds.seed],
  ];
  for (const [name, inWords, asked, prepared] of wanted) {
    if (asked !== undefined && asked !== prepared) {
      const was = setting(name, `${inWords} ${prepared}`, String(prepared));
      throw new UserError(
        words`${dir} was prepared with ${was}, not ${asked}: prepare it again or leave ${
          setting(name, `the ${inWords}`)
        } out`,
      );
    }
  }
  // A setting can only be given, not given as false: what it can contradict is a directory prepared without it.
  if (opts.boundaries && !ds.boundaries) {
    throw new UserError(words`${dir} was prepared without ${BOUNDARIES}: prepare it again with them`);
  }
  return ds;
}
