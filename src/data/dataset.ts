/**
 * The dataset the model trains on: vocabulary plus (window words -> next word) pairs, split into training
 * and validation by whole headlines. Built from CSV files or the built-in corpus, or read back from a
 * directory written by writePrepared.
 */
import { basename } from "node:path";
import { UserError } from "../errors.ts";
import { DEFAULT_MODEL } from "../model/config.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "./builtin.ts";
import { cleanHeadline, isRealHeadline } from "./clean.ts";
import { readHeadlineColumn } from "./csv.ts";
import { makePairs } from "./pairs.ts";
import { readPrepared } from "./prepared.ts";
import { locateData } from "./sources.ts";
import { chooseValidation } from "./split.ts";
import { buildVocab, wordIds } from "./vocab.ts";

export { writePrepared } from "./prepared.ts";

export interface PairSet {
  /** count * window word ids, row-major: pair p's inputs are inputs[p*window .. p*window+window-1]. */
  inputs: Int32Array;
  targets: Int32Array;
  count: number;
}

export interface Dataset {
  /** Human description: "ArticlesApril2017.csv", "3 files in DIR", "built-in corpus". */
  source: string;
  /** File names read ([] for the built-in corpus). */
  files: string[];
  /** Words in id order. */
  vocab: string[];
  window: number;
  /** Kept headlines (all but the "Unknown" placeholder), training and validation together. */
  headlines: number;
  /** Id of "<unk>", or -1 when the vocabulary has none. */
  unk: number;
  train: PairSet;
  /** count 0 when there is no split. */
  val: PairSet;
  minCount: number;
  valFraction: number;
  seed: number;
}

/**
 * What to load. `data`: a CSV file, a directory of `*Articles*.csv` files, or a prepared directory;
 * absent: ./data when it holds `*Articles*.csv` files, else the built-in corpus. `files` narrows a
 * directory's files by a glob on names. The numbers default to the notebook's (window 2, minCount 1,
 * no validation, seed 0). For a prepared directory an option left undefined takes the directory's
 * value, and a given one that differs from it is an error, never silently ignored.
 */
export interface DataOptions {
  data?: string;
  files?: string;
  window?: number;
  minCount?: number;
  valFraction?: number;
  seed?: number;
}

export const DEFAULT_MIN_COUNT = 1;
export const DEFAULT_VAL_FRACTION = 0;
export const DEFAULT_SEED = 0;

/** Raw headlines (fields as read, "Unknown" included) and where they came from. */
interface Corpus {
  source: string;
  files: string[];
  headlines: string[];
}

export interface DatasetSettings {
  window: number;
  minCount: number;
  valFraction: number;
  seed: number;
}

export async function loadDataset(opts: DataOptions): Promise<Dataset> {
  checkOptions(opts);
  const input = await locateData(opts.data, opts.files);
  if (input.kind === "prepared") return matchPrepared(await readPrepared(input.dir), input.dir, opts);
  const settings = {
    window: opts.window ?? DEFAULT_MODEL.window,
    minCount: opts.minCount ?? DEFAULT_MIN_COUNT,
    valFraction: opts.valFraction ?? DEFAULT_VAL_FRACTION,
    seed: opts.seed ?? DEFAULT_SEED,
  };
  if (input.kind === "builtin") {
    return buildDataset({ source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() }, settings);
  }
  const headlines: string[] = [];
  // One file at a time: order decides vocabulary ids, and reading is fast next to parsing anyway.
  // Not push(...rows): spreading a file's rows as arguments overflows the stack past ~150k headlines.
  for (const path of input.paths) {
    for (const headline of await readHeadlineColumn(path)) headlines.push(headline);
  }
  return buildDataset(
    { source: input.source, files: input.paths.map((p) => basename(p)), headlines },
    settings,
  );
}

/**
 * Cleans, splits, builds the vocabulary from the training headlines only, and makes the pairs.
 * Validation words training never saw become "<unk>" when the vocabulary has it (minCount > 1);
 * otherwise the validation pairs touching them are dropped, since there is no id to give them.
 */
export function buildDataset(corpus: Corpus, settings: DatasetSettings): Dataset {
  const { window, minCount, valFraction, seed } = settings;
  const cleaned = corpus.headlines.filter(isRealHeadline).map(cleanHeadline);
  const isVal = chooseValidation(cleaned.length, valFraction, seed);
  const trainWords = cleaned.filter((_, i) => !isVal[i]);
  const valWords = cleaned.filter((_, i) => isVal[i]);
  const { vocab, unk } = buildVocab(trainWords, minCount);
  const train = makePairs(trainWords.map((w) => wordIds(w, vocab, unk)), window).pairs;
  const val = makePairs(valWords.map((w) => wordIds(w, vocab, unk)), window).pairs;
  if (train.count === 0) {
    throw new UserError(
      `${corpus.source}: no training pairs: none of its ${trainWords.length} training headlines ` +
        `has more than ${window} words`,
    );
  }
  return {
    source: corpus.source,
    files: corpus.files,
    vocab,
    window,
    headlines: cleaned.length,
    unk,
    train,
    val,
    minCount,
    valFraction,
    seed,
  };
}

function checkOptions(opts: DataOptions): void {
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

/** The prepared dataset, unless an option given explicitly disagrees with how it was prepared. */
function matchPrepared(ds: Dataset, dir: string, opts: DataOptions): Dataset {
  const wanted: [string, number | undefined, number][] = [
    ["window", opts.window, ds.window],
    ["min-count", opts.minCount, ds.minCount],
    ["val-fraction", opts.valFraction, ds.valFraction],
    // The seed only chose the validation headlines; without a split it changed nothing.
    ["seed", ds.valFraction > 0 ? opts.seed : undefined, ds.seed],
  ];
  for (const [flag, asked, prepared] of wanted) {
    if (asked !== undefined && asked !== prepared) {
      throw new UserError(
        `${dir} was prepared with --${flag} ${prepared}, not ${asked}: prepare it again or leave --${flag} out`,
      );
    }
  }
  return ds;
}
