/**
 * Datasets from files: where the headlines come from (one CSV file, the `*Articles*.csv` files of a
 * directory, a directory written by prepare, or, with no path given and no CSV under ./data, the built-in
 * corpus), reading them into the core's buildDataset, and prepared directories written atomically and read
 * back.
 */
import { basename, dirname, join } from "node:path";
import { UserError } from "../errors.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../data/builtin.ts";
import { headlineColumn } from "../data/csv.ts";
import { buildDataset, checkSettings, DEFAULT_SETTINGS, matchPrepared } from "../data/dataset.ts";
import { matchesGlob } from "../data/glob.ts";
import { decodePrepared, encodePrepared } from "../data/prepared.ts";
import type { Dataset, DatasetSettings } from "../data/types.ts";
import { SUMMARY_FILE } from "../io/file_names.ts";
import { committedDir, replaceDirAtomic, swapPaths, writeFileDurable } from "./atomic.ts";
import { osReason, statOrNull } from "./fs.ts";

/**
 * What to load. `data`: a CSV file, a directory of `*Articles*.csv` files, or a prepared directory;
 * absent: ./data when it holds `*Articles*.csv` files, else the built-in corpus. `files` narrows a
 * directory's files by a glob on names. Settings left undefined take the notebook's (window 2, minCount 1,
 * no validation, seed 0), or, for a prepared directory, the directory's; a given one that differs from a
 * prepared directory's is an error, never silently ignored.
 */
export interface DataOptions extends Partial<DatasetSettings> {
  data?: string;
  files?: string;
}

export async function loadDataset(opts: DataOptions): Promise<Dataset> {
  const settings: Partial<DatasetSettings> = {
    window: opts.window,
    minCount: opts.minCount,
    valFraction: opts.valFraction,
    seed: opts.seed,
  };
  checkSettings(settings);
  const input = await locateData(opts.data, opts.files);
  if (input.kind === "prepared") return matchPrepared(await readPrepared(input.dir), input.dir, settings);
  const full = { ...DEFAULT_SETTINGS };
  for (const [key, value] of Object.entries(settings) as Array<[keyof DatasetSettings, number]>) {
    if (value !== undefined) full[key] = value;
  }
  if (input.kind === "builtin") {
    return buildDataset({ source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() }, full);
  }
  const headlines: string[] = [];
  // One file at a time: order decides vocabulary ids, and reading is fast next to parsing anyway.
  // Not push(...rows): spreading a file's rows as arguments overflows the stack past ~150k headlines.
  for (const path of input.paths) {
    for (const headline of await readHeadlineColumn(path)) headlines.push(headline);
  }
  return buildDataset({ source: input.source, files: input.paths.map((p) => basename(p)), headlines }, full);
}

/** Every raw `headline` field of the CSV file at `path`, in file order (see headlineColumn). */
export async function readHeadlineColumn(path: string): Promise<string[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${osReason(e)}`);
  }
  return headlineColumn(bytes, basename(path));
}

/** Files of a data directory that are read, like the Kaggle dataset's `ArticlesJan2017.csv`. */
export const ARTICLES_GLOB = "*Articles*.csv";

/** Looked in, relative to the working directory, when no data path is given. */
export const DEFAULT_DATA_DIR = "data";

export type DataInput =
  | { kind: "csv"; paths: string[]; source: string }
  | { kind: "prepared"; dir: string }
  | { kind: "builtin" };

/**
 * Resolves the data path. `files` (a glob on file names, e.g. "*2017*") narrows a directory's
 * `*Articles*.csv` files and is an error anywhere else, so it is never silently ignored.
 */
export async function locateData(data: string | undefined, files: string | undefined): Promise<DataInput> {
  if (data === undefined) {
    const dirHasCsv = (await statOrNull(DEFAULT_DATA_DIR))?.isDirectory &&
      (await listCsv(DEFAULT_DATA_DIR, undefined)).length > 0;
    if (dirHasCsv) return locateData(DEFAULT_DATA_DIR, files);
    if (files !== undefined) {
      throw new UserError(
        `--files needs a data directory, and ${DEFAULT_DATA_DIR}/ holds no ${ARTICLES_GLOB}`,
      );
    }
    return { kind: "builtin" };
  }
  const info = await statOrNull(data);
  if (info === null) {
    // A prepare killed mid-swap leaves the previous complete version beside the missing directory (readPrepared
    // reads it and says so); anything else missing is an error.
    const previous = await committedDir(data);
    if (previous !== null && await statOrNull(join(previous, SUMMARY_FILE))) {
      if (files !== undefined) {
        throw new UserError(`--files does not apply to ${data}: it is a prepared directory`);
      }
      return { kind: "prepared", dir: data };
    }
    throw new UserError(`data path ${data} does not exist`);
  }
  if (info.isFile) {
    if (files !== undefined) throw new UserError(`--files applies to a directory, but ${data} is a file`);
    return { kind: "csv", paths: [data], source: basename(data) };
  }
  if (await statOrNull(join(data, SUMMARY_FILE))) {
    if (files !== undefined) {
      throw new UserError(`--files does not apply to ${data}: it is a prepared directory`);
    }
    return { kind: "prepared", dir: data };
  }
  const names = await listCsv(data, files);
  if (names.length === 0) {
    const wanted = files === undefined ? ARTICLES_GLOB : `${ARTICLES_GLOB} and --files ${files}`;
    throw new UserError(`no file in ${data} matches ${wanted}`);
  }
  const source = `${names.length} file${names.length === 1 ? "" : "s"} in ${data}`;
  return { kind: "csv", paths: names.map((n) => join(data, n)), source };
}

/** Names of the files in `dir` matching ARTICLES_GLOB (and `files` when given), sorted. */
async function listCsv(dir: string, files: string | undefined): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const wanted = matchesGlob(entry.name, ARTICLES_GLOB) &&
        (files === undefined || matchesGlob(entry.name, files));
      // Symlinked CSVs count: a data/ folder may link to files kept elsewhere.
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
