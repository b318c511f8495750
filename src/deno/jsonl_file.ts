/**
 * A run directory's JSON Lines logs on disk (metrics.jsonl, samples.jsonl; their formats: src/io/).
 *
 * Each record is one write(2) of a whole line, so a killed process loses at most the line being written,
 * which then lacks its newline: readers ignore such a torn last line and the writer cuts it off on open.
 * The file is fsynced at most once a second and on close, so an OS crash loses at most about a second.
 * On resume the writer keeps the records written up to the resumed checkpoint (`keepWhile`) and cuts the
 * rest, which the resumed run writes again.
 */
import { type JsonlFormat, parseJsonLines } from "../io/jsonl.ts";
import { readFileOrNull } from "./fs.ts";

const SYNC_INTERVAL_MS = 1000;

/** Every complete record in `path`, in order ([] when there is no file). */
export async function readJsonl<T>(path: string, format: JsonlFormat<T>): Promise<T[]> {
  const bytes = await readFileOrNull(path);
  return bytes ? parseJsonLines(path, bytes, format).map((l) => l.record) : [];
}

export class JsonlWriter<T> {
  readonly path: string;
  #file: Deno.FsFile;
  #format: JsonlFormat<T>;
  #lastSync = performance.now();
  #encoder = new TextEncoder();
  /** The records open() kept. */
  #kept: T[];

  private constructor(path: string, file: Deno.FsFile, format: JsonlFormat<T>, kept: T[]) {
    this.path = path;
    this.#file = file;
    this.#format = format;
    this.#kept = kept;
  }

  /**
   * Opens `path` for appending, creating it if needed. Drops a torn last line, and every record from the
   * first one `keepWhile` refuses on.
   */
  static async open<T>(
    path: string,
    format: JsonlFormat<T>,
    keepWhile: (record: T) => boolean = () => true,
  ): Promise<JsonlWriter<T>> {
    const bytes = await readFileOrNull(path);
    const kept: T[] = [];
    if (bytes) {
      let keep = 0;
      for (const { record, end } of parseJsonLines(path, bytes, format)) {
        if (!keepWhile(record)) break;
        kept.push(record);
        keep = end;
      }
      if (keep < bytes.length) await Deno.truncate(path, keep);
    }
    const file = await Deno.open(path, { append: true, create: true });
    return new JsonlWriter(path, file, format, kept);
  }

  /**
   * The records in the file when open() returned (what it kept), without reading the file again; records
   * appended since are not included. A fresh array each call.
   */
  readAll(): Promise<T[]> {
    return Promise.resolve([...this.#kept]);
  }

  /** Appends one record as one line. */
  async append(record: T): Promise<void> {
    const line = this.#encoder.encode(this.#format.line(record));
    for (let off = 0; off < line.length;) off += await this.#file.write(line.subarray(off));
    if (performance.now() - this.#lastSync >= SYNC_INTERVAL_MS) {
      await this.#file.syncData();
      this.#lastSync = performance.now();
    }
  }

  async close(): Promise<void> {
    await this.#file.syncData();
    this.#file.close();
  }
}
