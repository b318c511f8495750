/**
 * A prepared directory's files, encoded and decoded (the directory itself, written atomically: see
 * src/deno/data_files.ts): the dataset written once so training starts without re-reading CSVs.
 *   vocab.json    JSON array of words in id order
 *   pairs.bin     int32 little-endian: train inputs, train targets, val inputs, val targets, back to back
 *   headlines.bin int32 little-endian: the word count of each training headline, then of each validation
 *                 headline, then all their word ids in order (-1: a validation word without an id); what a
 *                 headline model reads. Directories prepared before it existed lack it (window models only).
 *   summary.json  counts and settings (its presence is what marks a prepared directory)
 */
import { errorLine, UserError } from "../errors.ts";
import { HEADLINES_FILE, PAIRS_FILE, SUMMARY_FILE, VOCAB_FILE } from "../io/file_names.ts";
import { HEADLINE_COLUMN } from "./csv.ts";
import type { Coverage, Dataset, PairSet } from "./types.ts";
import { hasBoundaries } from "./vocab.ts";

/** Names the layout, so a reader can refuse a directory from an incompatible version. */
const PREPARED_FORMAT = "webgpu-lstm prepared dataset 1";

/** A dataset's counts and settings, as summary.json and `prepare --json` report them. */
export interface DatasetSummary {
  /** What the headlines came from ("ArticlesApril2017.csv", "built-in corpus"). */
  source: string;
  /** The files read, by name. */
  files: string[];
  /** Headlines kept (the "Unknown" placeholder dropped). */
  headlines: number;
  /** Vocabulary size. */
  vocab: number;
  /** Training pairs. */
  pairs: number;
  /** Validation pairs. */
  val_pairs: number;
  /** Words of context per pair. */
  window: number;
  /** Words seen fewer times became <unk>. */
  min_count: number;
  /** The share of headlines held out for validation. */
  val_fraction: number;
  /** The seed that chose the validation headlines. */
  seed: number;
  /** The id of <unk>, or -1 without one. */
  unk: number;
  /** Headlines framed by "<s>" and "</s>" (absent in directories prepared before boundaries existed: false). */
  boundaries: boolean;
  /** The CSV column read (absent in older directories: "headline"). */
  column: string;
  /** How the validation headlines met the vocabulary (absent in older directories). */
  val_coverage?: { tokens: number; unknown_tokens: number; unknown_words: number; skipped_pairs: number };
}

interface SummaryFile extends DatasetSummary {
  format: string;
  pairs_file: { name: string; dtype: "int32le"; layout: string[] };
  /** Absent in directories prepared before headline models. */
  headlines_file?: { name: string; dtype: "int32le"; layout: string[]; train: number; val: number };
}

/** A dataset's counts and settings, as summary.json records them. */
export function summarizeDataset(ds: Dataset): DatasetSummary {
  return {
    source: ds.source,
    files: ds.files,
    headlines: ds.headlines,
    vocab: ds.vocab.length,
    pairs: ds.train.count,
    val_pairs: ds.val.count,
    window: ds.window,
    min_count: ds.minCount,
    val_fraction: ds.valFraction,
    seed: ds.seed,
    unk: ds.unk,
    boundaries: ds.boundaries,
    column: ds.column,
    ...(ds.valCoverage
      ? {
        val_coverage: {
          tokens: ds.valCoverage.tokens,
          unknown_tokens: ds.valCoverage.unknownTokens,
          unknown_words: ds.valCoverage.unknownWords,
          skipped_pairs: ds.valCoverage.skippedPairs,
        },
      }
      : {}),
  };
}

const PAIRS_LAYOUT = ["train_inputs", "train_targets", "val_inputs", "val_targets"];

/** The files of a prepared directory for `ds`, in the order to write them (summary.json last: it marks one). */
export function encodePrepared(ds: Dataset): Array<[string, Uint8Array]> {
  const summary: SummaryFile = {
    format: PREPARED_FORMAT,
    ...summarizeDataset(ds),
    pairs_file: { name: PAIRS_FILE, dtype: "int32le", layout: PAIRS_LAYOUT },
    ...(ds.headlineIds
      ? {
        headlines_file: {
          name: HEADLINES_FILE,
          dtype: "int32le" as const,
          layout: HEADLINES_LAYOUT,
          train: ds.headlineIds.train.length,
          val: ds.headlineIds.val.length,
        },
      }
      : {}),
  };
  const text = (t: string) => new TextEncoder().encode(t);
  return [
    [VOCAB_FILE, text(JSON.stringify(ds.vocab) + "\n")],
    [PAIRS_FILE, encodeInts([ds.train.inputs, ds.train.targets, ds.val.inputs, ds.val.targets])],
    ...(ds.headlineIds ? [[HEADLINES_FILE, encodeHeadlines(ds.headlineIds)] as [string, Uint8Array]] : []),
    [SUMMARY_FILE, text(JSON.stringify(summary, null, 2) + "\n")],
  ];
}

const HEADLINES_LAYOUT = ["train_lengths", "val_lengths", "train_ids", "val_ids"];

function encodeHeadlines(h: { train: Int32Array[]; val: Int32Array[] }): Uint8Array {
  const all = [...h.train, ...h.val];
  return encodeInts([Int32Array.from(all, (ids) => ids.length), ...all]);
}

/** Int32 arrays back to back, little-endian. */
function encodeInts(parts: Int32Array[]): Uint8Array {
  const bytes = new Uint8Array(4 * parts.reduce((n, p) => n + p.length, 0));
  const view = new DataView(bytes.buffer);
  let offset = 0;
  for (const part of parts) {
    for (const id of part) {
      view.setInt32(offset, id, true);
      offset += 4;
    }
  }
  return bytes;
}

/**
 * Decodes a prepared directory's files, checking that its parts agree with each other; `dir` names the
 * directory in errors. `readFile` gives a file's bytes, or throws an Error saying why it cannot.
 */
export async function decodePrepared(
  dir: string,
  readFile: (name: string) => Promise<Uint8Array>,
): Promise<Dataset> {
  const bad = (why: string): never => {
    throw new UserError(`${dir} is not a usable prepared directory: ${why}`);
  };
  const read = async (name: string): Promise<Uint8Array> => {
    try {
      return await readFile(name);
    } catch (e) {
      return bad(`${name}: ${errorLine(e)}`);
    }
  };
  const readJson = async (name: string): Promise<unknown> => {
    const bytes = await read(name);
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return bad(`${name}: not valid JSON`);
    }
  };
  const summary = await readJson(SUMMARY_FILE) as Partial<SummaryFile>;
  if (summary?.format !== PREPARED_FORMAT) bad(`${SUMMARY_FILE} has format ${summary?.format}`);
  const s = summary as SummaryFile;
  const counts = [s.headlines, s.vocab, s.pairs, s.val_pairs, s.window, s.min_count, s.seed, s.unk];
  if (!counts.every(Number.isInteger) || typeof s.val_fraction !== "number" || !Array.isArray(s.files)) {
    bad(`${SUMMARY_FILE} is missing counts`);
  }
  const boundaries = s.boundaries ?? false;
  if (typeof boundaries !== "boolean") bad(`${SUMMARY_FILE}: boundaries is not true or false`);
  const column = s.column ?? HEADLINE_COLUMN;
  if (typeof column !== "string") bad(`${SUMMARY_FILE}: column is not a string`);
  const vocab = await readJson(VOCAB_FILE);
  if (!Array.isArray(vocab) || vocab.length !== s.vocab || !vocab.every((w) => typeof w === "string")) {
    bad(`${VOCAB_FILE} is not an array of ${s.vocab} words`);
  }
  if (hasBoundaries(vocab as string[]) !== boundaries) {
    bad(
      `${SUMMARY_FILE} says boundaries ${boundaries}, but ${VOCAB_FILE} ${
        boundaries ? "lacks" : "has"
      } <s> and </s>`,
    );
  }
  const c = s.val_coverage;
  const valCoverage: Coverage | undefined = c === undefined ? undefined : {
    tokens: c.tokens,
    unknownTokens: c.unknown_tokens,
    unknownWords: c.unknown_words,
    skippedPairs: c.skipped_pairs,
  };
  if (valCoverage && !Object.values(valCoverage).every(Number.isInteger)) {
    bad(`${SUMMARY_FILE}: val_coverage is missing counts`);
  }
  const bytes = await read(PAIRS_FILE);
  const ids = (s.pairs + s.val_pairs) * (s.window + 1);
  if (bytes.length !== 4 * ids) bad(`${PAIRS_FILE} has ${bytes.length} bytes, expected ${4 * ids}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  const take = (n: number): Int32Array => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++, offset += 4) {
      const id = view.getInt32(offset, true);
      if (id < 0 || id >= s.vocab) bad(`${PAIRS_FILE} holds id ${id}, outside the vocabulary`);
      out[i] = id;
    }
    return out;
  };
  const pairSet = (count: number): PairSet => ({
    inputs: take(count * s.window),
    targets: take(count),
    count,
  });
  const train = pairSet(s.pairs);
  const val = pairSet(s.val_pairs);
  const headlineIds = s.headlines_file === undefined
    ? undefined
    : decodeHeadlines(await read(HEADLINES_FILE), s.headlines_file, s.vocab, bad);
  return {
    source: s.source,
    files: s.files,
    vocab: vocab as string[],
    window: s.window,
    headlines: s.headlines,
    unk: s.unk,
    boundaries,
    column,
    train,
    val,
    ...(valCoverage ? { valCoverage } : {}),
    ...(headlineIds ? { headlineIds } : {}),
    minCount: s.min_count,
    valFraction: s.val_fraction,
    seed: s.seed,
  };
}

/** headlines.bin's headlines, checked against the counts summary.json gives and the vocabulary. */
function decodeHeadlines(
  bytes: Uint8Array,
  file: NonNullable<SummaryFile["headlines_file"]>,
  V: number,
  bad: (why: string) => never,
): { train: Int32Array[]; val: Int32Array[] } {
  if (!Number.isInteger(file.train) || !Number.isInteger(file.val) || file.train < 0 || file.val < 0) {
    bad(`${SUMMARY_FILE}: headlines_file is missing counts`);
  }
  const ints = new Int32Array(bytes.length >> 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < ints.length; i++) ints[i] = view.getInt32(4 * i, true);
  const n = file.train + file.val;
  const lengths = ints.subarray(0, Math.min(n, ints.length));
  const words = lengths.reduce((sum, l) => sum + l, 0);
  if (bytes.length % 4 !== 0 || ints.length < n || lengths.some((l) => l < 0) || ints.length !== n + words) {
    bad(`${HEADLINES_FILE} does not hold ${n} headlines`);
  }
  const out: Int32Array[] = [];
  let at = n;
  for (const length of lengths) {
    const ids = ints.slice(at, at + length);
    // -1: a validation word the vocabulary has no id for (there is no <unk>).
    if (ids.some((id) => id < -1 || id >= V)) bad(`${HEADLINES_FILE} holds an id outside the vocabulary`);
    out.push(ids);
    at += length;
  }
  return { train: out.slice(0, file.train), val: out.slice(file.train) };
}
