/**
 * A prepared directory: the dataset written once so training starts without re-reading CSVs.
 *   vocab.json    JSON array of words in id order
 *   pairs.bin     int32 little-endian: train inputs, train targets, val inputs, val targets, back to back
 *   summary.json  counts and settings (its presence is what marks a prepared directory)
 * Written with replaceDirAtomic (src/io/atomic.ts): files fsynced in `.DIR.new`, then swapped in, so readers
 * never see half of it; after a kill mid-swap the previous version survives as `.DIR.old`.
 */
import { dirname, join } from "node:path";
import { UserError } from "../errors.ts";
import type { Dataset, PairSet } from "./dataset.ts";
import { osReason, statOrNull } from "../fs.ts";
import { VOCAB_FILE } from "../io/checkpoint.ts";
import { committedDir, replaceDirAtomic, swapPaths, writeFileDurable } from "../io/atomic.ts";

export const SUMMARY_FILE = "summary.json";
/** The same file name as in a checkpoint directory. */
export { VOCAB_FILE };
export const PAIRS_FILE = "pairs.bin";
/** Names the layout, so a reader can refuse a directory from an incompatible version. */
const PREPARED_FORMAT = "webgpu-lstm prepared dataset 1";

/** A dataset's counts and settings, as summary.json and `prepare --json` report them. */
export interface DatasetSummary {
  source: string;
  files: string[];
  headlines: number;
  vocab: number;
  /** Training pairs. */
  pairs: number;
  val_pairs: number;
  window: number;
  min_count: number;
  val_fraction: number;
  seed: number;
  unk: number;
}

interface SummaryFile extends DatasetSummary {
  format: string;
  pairs_file: { name: string; dtype: "int32le"; layout: string[] };
}

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
  };
}

/**
 * Writes `ds` to `dir` atomically. An existing prepared directory there is replaced; anything else
 * already at `dir` (a file, a non-empty directory of other things) is refused rather than deleted.
 */
export async function writePrepared(dir: string, ds: Dataset): Promise<void> {
  const fail = (why: string): never => {
    throw new UserError(`cannot write ${dir}: ${why}`);
  };
  const parent = dirname(dir);
  try {
    await Deno.mkdir(parent, { recursive: true });
  } catch (e) {
    // mkdir reports "file exists" when the parent is a regular file; say what is actually wrong.
    fail(e instanceof Deno.errors.AlreadyExists ? `${parent} is not a directory` : osReason(e));
  }
  const existing = await statOrNull(dir);
  if (existing && !existing.isDirectory) fail("it exists and is not a directory");
  if (existing && !(await statOrNull(join(dir, SUMMARY_FILE))) && !(await isEmptyDir(dir))) {
    fail("it exists and is not a prepared directory, so it is not replaced");
  }
  // A lone `.DIR.old` is a prepared directory whose replacement was killed mid-swap; replaceDirAtomic
  // recovers and replaces it. Anything else by that name would be deleted by it, so refuse instead.
  const { fresh, previous } = swapPaths(dir);
  if (!existing) {
    const prev = await statOrNull(previous);
    if (prev && !(prev.isDirectory && (await statOrNull(join(previous, SUMMARY_FILE))))) {
      fail(`${previous} exists and is not a prepared directory, so it is not replaced`);
    }
  }
  const leftover = await statOrNull(fresh);
  if (leftover && !leftover.isDirectory) fail(`${fresh} exists and is not a directory`);
  const summary: SummaryFile = {
    format: PREPARED_FORMAT,
    ...summarizeDataset(ds),
    pairs_file: { name: PAIRS_FILE, dtype: "int32le", layout: PAIRS_LAYOUT },
  };
  try {
    await replaceDirAtomic(dir, async (tmp) => {
      await writeFileDurable(join(tmp, VOCAB_FILE), JSON.stringify(ds.vocab) + "\n");
      await writeFileDurable(join(tmp, PAIRS_FILE), encodePairs(ds));
      // summary.json last: its presence is what marks a prepared directory.
      await writeFileDurable(join(tmp, SUMMARY_FILE), JSON.stringify(summary, null, 2) + "\n");
    });
  } catch (e) {
    fail(osReason(e));
  }
}

const PAIRS_LAYOUT = ["train_inputs", "train_targets", "val_inputs", "val_targets"];

function encodePairs(ds: Dataset): Uint8Array {
  const parts = [ds.train.inputs, ds.train.targets, ds.val.inputs, ds.val.targets];
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
 * Reads a directory written by writePrepared (or, after a write was killed mid-swap, the previous complete
 * one beside it), checking that its parts agree with each other.
 */
export async function readPrepared(wanted: string): Promise<Dataset> {
  const dir = (await committedDir(wanted)) ?? wanted;
  if (dir !== wanted) {
    console.warn(
      `warning: ${wanted} is missing after an interrupted write; reading the previous version ${dir}`,
    );
  }
  const bad = (why: string): never => {
    throw new UserError(`${dir} is not a usable prepared directory: ${why}`);
  };
  const summary = await readJson(dir, SUMMARY_FILE, bad) as Partial<SummaryFile>;
  if (summary?.format !== PREPARED_FORMAT) bad(`${SUMMARY_FILE} has format ${summary?.format}`);
  const s = summary as SummaryFile;
  const counts = [s.headlines, s.vocab, s.pairs, s.val_pairs, s.window, s.min_count, s.seed, s.unk];
  if (!counts.every(Number.isInteger) || typeof s.val_fraction !== "number" || !Array.isArray(s.files)) {
    bad(`${SUMMARY_FILE} is missing counts`);
  }
  const vocab = await readJson(dir, VOCAB_FILE, bad);
  if (!Array.isArray(vocab) || vocab.length !== s.vocab || !vocab.every((w) => typeof w === "string")) {
    bad(`${VOCAB_FILE} is not an array of ${s.vocab} words`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(dir, PAIRS_FILE));
  } catch (e) {
    return bad(`${PAIRS_FILE}: ${osReason(e)}`);
  }
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
  return {
    source: s.source,
    files: s.files,
    vocab: vocab as string[],
    window: s.window,
    headlines: s.headlines,
    unk: s.unk,
    train,
    val,
    minCount: s.min_count,
    valFraction: s.val_fraction,
    seed: s.seed,
  };
}

async function readJson(dir: string, name: string, bad: (why: string) => never): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, name)));
  } catch (e) {
    return bad(`${name}: ${e instanceof SyntaxError ? "not valid JSON" : osReason(e)}`);
  }
}

async function isEmptyDir(dir: string): Promise<boolean> {
  for await (const _ of Deno.readDir(dir)) return false;
  return true;
}
