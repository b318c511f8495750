/**
 * Datasets from files: where the headlines come from (one CSV or .txt file, the data files of a directory,
 * a directory written by prepare, or, with no path given and no data file under ./data, the built-in
 * corpus), reading them into the core's buildDataset, and prepared directories written atomically and read
 * back.
 */
import { basename, dirname, join } from "node:path";
import { UserError } from "../errors.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../data/builtin.ts";
import { HEADLINE_COLUMN, headlineColumn } from "../data/csv.ts";
import { textLines } from "../data/text.ts";
import { buildDataset, givenSettings, matchPrepared, splitSettings } from "../data/dataset.ts";
import { matchesGlob } from "../data/glob.ts";
import { decodePrepared, encodePrepared } from "../data/prepared.ts";
import type { Corpus, DataOptions, Dataset, SourceOptions } from "../data/types.ts";

export type { DataOptions, SourceOptions };
import { SUMMARY_FILE } from "../io/file_names.ts";
import { committedDir, replaceDirAtomic, swapPaths, writeFileDurable } from "./atomic.ts";
import { osReason, statOrNull } from "./fs.ts";

/** The dataset `opts` names (see DataOptions). */
export async function loadDataset(opts: DataOptions): Promise<Dataset> {
  const settings = givenSettings(opts);
  const input = await locateData(opts);
  if (input.kind === "prepared") return matchPrepared(await readPrepared(input.dir), input.dir, settings);
  return buildDataset(await readCorpus(input), splitSettings(opts));
}

/** The raw headlines of located files (or of the built-in corpus), in order. */
export async function readCorpus(input: Exclude<DataInput, { kind: "prepared" }>): Promise<Corpus> {
  if (input.kind === "builtin") return { source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() };
  const headlines: string[] = [];
  // One file at a time: order decides vocabulary ids, and reading is fast next to parsing anyway.
  // Not push(...rows): spreading a file's rows as arguments overflows the stack past ~150k headlines.
  for (const path of input.paths) {
    for (const headline of await readHeadlines(path, input.column)) headlines.push(headline);
  }
  return {
    source: input.source,
    files: input.paths.map((p) => basename(p)),
    headlines,
    column: input.column,
  };
}

/**
 * Every raw headline of the file at `path`, in file order: the non-blank lines of a `.txt` file, else the
 * fields of CSV column `column` (see headlineColumn).
 */
export async function readHeadlines(path: string, column = HEADLINE_COLUMN): Promise<string[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${osReason(e)}`);
  }
  return isTextFile(path) ? textLines(bytes, basename(path)) : headlineColumn(bytes, basename(path), column);
}

/** Files of a data directory that are read, like the Kaggle dataset's `ArticlesJan2017.csv`. */
export const ARTICLES_GLOB = "*Articles*.csv";
/** With --column the CSVs are not the Kaggle ones: every CSV of a directory is read. */
export const CSV_GLOB = "*.csv";
/** Plain-text files (one headline or sentence a line): read from a directory beside its CSVs. */
export const TEXT_GLOB = "*.txt";

const isTextFile = (path: string) => matchesGlob(basename(path), TEXT_GLOB);

/** Looked in, relative to the working directory, when no data path is given. */
export const DEFAULT_DATA_DIR = "data";

/**
 * Where locateData found the data: data files (and the CSV column to read), a prepared directory, or none
 * (the built-in corpus).
 */
export type DataInput =
  | { kind: "files"; paths: string[]; source: string; column: string }
  | { kind: "prepared"; dir: string }
  | { kind: "builtin" };

/**
 * Resolves the data path. A directory's data files are its `*Articles*.csv` (with `column`, every `*.csv`)
 * and `*.txt` files, sorted by name; `files` (a glob on file names, e.g. "*2017*") narrows them and is an
 * error anywhere else, as is a `column` where no CSV is read, so neither is ever silently ignored.
 */
export async function locateData(opts: SourceOptions): Promise<DataInput> {
  const { data, files, column } = opts;
  const notPrepared = (dir: string) => {
    for (const [flag, value] of [["files", files], ["column", column]]) {
      if (value !== undefined) {
        throw new UserError(`--${flag} does not apply to ${dir}: it is a prepared directory`);
      }
    }
  };
  const found = (paths: string[], source: string): DataInput => {
    if (column !== undefined && paths.every(isTextFile)) {
      throw new UserError(`--column applies to CSV files, and ${data} holds only .txt files`);
    }
    return { kind: "files", paths, source, column: column ?? HEADLINE_COLUMN };
  };
  if (data === undefined) {
    const dirHasData = (await statOrNull(DEFAULT_DATA_DIR))?.isDirectory &&
      (await listData(DEFAULT_DATA_DIR, opts)).length > 0;
    if (dirHasData) return locateData({ ...opts, data: DEFAULT_DATA_DIR });
    for (const [flag, value] of [["files", files], ["column", column]]) {
      if (value !== undefined) {
        throw new UserError(`--${flag} needs data, and ${DEFAULT_DATA_DIR}/ holds no ${dataGlobs(opts)}`);
      }
    }
    return { kind: "builtin" };
  }
  const info = await statOrNull(data);
  if (info === null) {
    // A prepare killed mid-swap leaves the previous complete version beside the missing directory (readPrepared
    // reads it and says so); anything else missing is an error.
    const previous = await committedDir(data);
    if (previous !== null && await statOrNull(join(previous, SUMMARY_FILE))) {
      notPrepared(data);
      return { kind: "prepared", dir: data };
    }
    throw new UserError(`data path ${data} does not exist`);
  }
  if (info.isFile) {
    if (files !== undefined) throw new UserError(`--files applies to a directory, but ${data} is a file`);
    return found([data], basename(data));
  }
  if (await statOrNull(join(data, SUMMARY_FILE))) {
    notPrepared(data);
    return { kind: "prepared", dir: data };
  }
  const names = await listData(data, opts);
  if (names.length === 0) {
    const wanted = files === undefined ? dataGlobs(opts) : `${dataGlobs(opts)} and --files ${files}`;
    throw new UserError(`no file in ${data} matches ${wanted}`);
  }
  const source = `${names.length} file${names.length === 1 ? "" : "s"} in ${data}`;
  return found(names.map((n) => join(data, n)), source);
}

/** The globs a directory's data files match, as messages name them. */
function dataGlobs(opts: SourceOptions): string {
  return `${opts.column === undefined ? ARTICLES_GLOB : CSV_GLOB} or ${TEXT_GLOB}`;
}

/** Names of the data files in `dir` (see locateData), sorted. */
async function listData(dir: string, opts: SourceOptions): Promise<string[]> {
  const csvGlob = opts.column === undefined ? ARTICLES_GLOB : CSV_GLOB;
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const wanted = (matchesGlob(entry.name, csvGlob) || matchesGlob(entry.name, TEXT_GLOB)) &&
        (opts.files === undefined || matchesGlob(entry.name, opts.files));
      // Symlinked files count: a data/ folder may link to files kept elsewhere.
      if ((entry.isFile || entry.isSymlink) && wanted) names.push(entry.name);
    }
  } catch (e) {
    throw new UserError(`cannot list ${dir}: ${osReason(e)}`);
  }
  // Code-point order, not locale order, so every machine reads the files in the same sequence.
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
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
  const files = encodePrepared(ds);
  try {
    await replaceDirAtomic(dir, async (tmp) => {
      for (const [name, bytes] of files) await writeFileDurable(join(tmp, name), bytes);
    });
  } catch (e) {
    fail(osReason(e));
  }
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
  return await decodePrepared(dir, async (name) => {
    try {
      return await Deno.readFile(join(dir, name));
    } catch (e) {
      throw new Error(osReason(e));
    }
  });
}

async function isEmptyDir(dir: string): Promise<boolean> {
  for await (const _ of Deno.readDir(dir)) return false;
  return true;
}
