/** The shapes data flows in, shared by every data module (a leaf: it imports nothing). */

export interface PairSet {
  /** count * window word ids, row-major: pair p's inputs are inputs[p*window .. p*window+window-1]. */
  inputs: Int32Array;
  targets: Int32Array;
  count: number;
}

/** How a dataset is cut from its headlines. */
export interface DatasetSettings {
  window: number;
  minCount: number;
  valFraction: number;
  seed: number;
}

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
  train: PairSet;
  /** count 0 when there is no split. */
  val: PairSet;
}

/** Raw headlines (fields as read, "Unknown" included) and where they came from. */
export interface Corpus {
  source: string;
  files: string[];
  headlines: string[];
}
