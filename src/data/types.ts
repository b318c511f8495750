/** The shapes data flows in, shared by every data module (a leaf: it imports nothing). */

export interface PairSet {
  /** count * window word ids, row-major: pair p's inputs are inputs[p*window .. p*window+window-1]. */
  inputs: Int32Array;
  /** The word after each pair's window, one id per pair. */
  targets: Int32Array;
  /** Number of pairs. */
  count: number;
}

/**
 * Headline rows of a headline model (src/data/sequences.ts): count rows of `steps` positions, inputs `<s>`
 * and the words, targets the next words and `</s>`, padded after each row's end (inputs `<s>`, targets -1).
 */
export interface SequenceSet {
  /** count * steps ids, row-major: "<s>" and a headline's words, then "<s>" padding. */
  inputs: Int32Array;
  /**
   * count * steps ids: the next word at each position, "</s>" after the last, -1 (IGNORE_TARGET) in the
   * padding.
   */
  targets: Int32Array;
  /** Number of rows (headlines). */
  count: number;
  /** Positions per row: the longest row's. */
  steps: number;
}

/** How a dataset is cut from its headlines. */
export interface DatasetSettings {
  /** Words of context per pair (the notebook's 2). */
  window: number;
  /** Words seen fewer times in training become <unk> (1: keep every word). */
  minCount: number;
  /** The share of headlines held out for validation, in [0, 1). */
  valFraction: number;
  /** Chooses the validation headlines. */
  seed: number;
  /** Frame each headline with start tokens and an end token (src/data/pairs.ts); absent: false, the notebook's. */
  boundaries?: boolean;
}

/** How the words of some headlines met a vocabulary. */
export interface Coverage {
  /** Word tokens (boundary tokens not counted). */
  tokens: number;
  /** Tokens whose word is not in the vocabulary (read as <unk> where there is one). */
  unknownTokens: number;
  /** Distinct such words. */
  unknownWords: number;
  /** Pairs left out because they touch such a word and there is no <unk> to read it as. */
  skippedPairs: number;
}

/**
 * Headlines made ready for a model: the vocabulary, the training and validation pairs (and headlines as ids),
 * and the settings they were made with.
 */
export interface Dataset extends DatasetSettings {
  /** Human description: "ArticlesApril2017.csv", "3 files in DIR", "built-in corpus". */
  source: string;
  /** File names read ([] for the built-in corpus). */
  files: string[];
  /** Words in id order. */
  vocab: string[];
  /** Kept headlines (all but the "Unknown" placeholder), training and validation together. */
  headlines: number;
  /** Id of "<unk>", or -1 when the vocabulary has none. */
  unk: number;
  /** Whether headlines are framed by "<s>" and "</s>" (the vocabulary then starts with them). */
  boundaries: boolean;
  /** The CSV column the text was read from (".txt" files have none). */
  column: string;
  /** The training pairs. */
  train: PairSet;
  /** count 0 when there is no split. */
  val: PairSet;
  /** How the validation headlines met the training vocabulary (absent in directories prepared before it was recorded). */
  valCoverage?: Coverage;
  /**
   * The training and validation headlines as word ids, in order (a validation word with no id is -1):
   * what a headline model's rows are made from. Absent in directories prepared before they were kept.
   */
  headlineIds?: { train: Int32Array[]; val: Int32Array[] };
}

/** Raw headlines (fields or lines as read, "Unknown" included) and where they came from. */
export interface Corpus {
  /** Where the headlines came from, for people ("ArticlesApril2017.csv", "built-in corpus"). */
  source: string;
  /** The files read, by name ([] for text given directly). */
  files: string[];
  /** The headlines as read: fields or lines, "Unknown" placeholders included (cleaning drops them). */
  headlines: string[];
  /** The CSV column they were read from (absent: "headline"). */
  column?: string;
}

/** Where the text is: which files, and the CSV column (undefined: "headline"). */
export interface SourceOptions {
  /** A CSV or .txt file, a directory of them, or a prepared directory (absent: ./data or the built-in corpus). */
  data?: string;
  /** Narrows a directory's files by a glob on names. */
  files?: string;
  /** The CSV column holding the text (a --column given for data with no CSV is an error). */
  column?: string;
}

/**
 * What to load (src/deno/data_files.ts loadDataset; a web page builds it from a picked file). Settings left
 * undefined take the notebook's (window 2, minCount 1, no validation, seed 0, no boundaries), or, for a
 * prepared directory, the directory's; a given one that differs from a prepared directory's is an error,
 * never silently ignored.
 */
export interface DataOptions extends Partial<DatasetSettings>, SourceOptions {
  /**
   * The seed of a resumed run, when none is given now: raw headlines are split with it, as the run's were,
   * while a prepared directory keeps its own split (the run's seed, which also drew its weights and order,
   * need not be the one the directory was prepared with).
   */
  resumedSeed?: number;
}
