/**
 * Where the headlines come from: one CSV file, the `*Articles*.csv` files of a directory, a directory
 * written by prepare, or (no path given and no CSV under ./data) the built-in corpus.
 */
import { basename, join } from "node:path";
import { UserError } from "../errors.ts";
import { osReason, statOrNull } from "../fs.ts";
import { matchesGlob } from "./glob.ts";
import { SUMMARY_FILE } from "./prepared.ts";
import { committedDir } from "../io/atomic.ts";

/** Files of a data directory that are read, like the Kaggle dataset's `ArticlesJan2017.csv`. */
export const ARTICLES_GLOB = "*Articles*.csv";

/** Looked in, relative to the working directory, when no data path is given. */
export const DEFAULT_DATA_DIR = "data";

type DataInput =
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
