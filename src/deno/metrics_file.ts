/**
 * metrics.jsonl on disk (records and format: src/io/metrics.ts).
 *
 * Each record is one write(2) of a whole line, so a killed process loses at most the line being written,
 * which then lacks its newline: readers ignore such a torn last line and the writer cuts it off on open.
 * The file is fsynced at most once a second and on close, so an OS crash loses at most about a second.
 *
 * On resume the writer keeps the records up to the checkpoint's step: it cuts the file at the first step
 * record past that step. The epoch record that follows the checkpoint's step record is kept, because the
 * trainer writes an epoch's record before it saves the checkpoint that ends the epoch.
 */
import { UserError } from "../errors.ts";
import { metricLine, type MetricRecord, parseMetricLines } from "../io/metrics.ts";

const SYNC_INTERVAL_MS = 1000;

async function readBytes(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new UserError(`${path}: cannot read: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** Every complete record in `path`, in order ([] when there is no file). */
export async function readMetrics(path: string): Promise<MetricRecord[]> {
  const bytes = await readBytes(path);
  return bytes ? parseMetricLines(path, bytes).map((l) => l.record) : [];
}

export class MetricsWriter {
  readonly path: string;
  #file: Deno.FsFile;
  #lastSync = performance.now();
  #encoder = new TextEncoder();
  /** The records open() kept. */
  #kept: MetricRecord[];

  private constructor(path: string, file: Deno.FsFile, kept: MetricRecord[]) {
    this.path = path;
    this.#file = file;
    this.#kept = kept;
  }

  /**
   * Opens `path` for appending, creating it if needed. Drops a torn last line, and with `keepThroughStep`
   * every record from the first step record past that step on (see the top comment).
   */
  static async open(path: string, opts: { keepThroughStep?: number } = {}): Promise<MetricsWriter> {
    const bytes = await readBytes(path);
    const kept: MetricRecord[] = [];
    if (bytes) {
      let keep = 0;
      for (const { record, end } of parseMetricLines(path, bytes)) {
        const past = opts.keepThroughStep !== undefined && record.step !== undefined &&
          record.step > opts.keepThroughStep;
        if (past) break;
        kept.push(record);
        keep = end;
      }
      if (keep < bytes.length) await Deno.truncate(path, keep);
    }
    const file = await Deno.open(path, { append: true, create: true });
    return new MetricsWriter(path, file, kept);
  }

  /**
   * The records in the file when open() returned (what it kept), without reading the file again; records
   * appended since are not included. A fresh array each call.
   */
  readAll(): Promise<MetricRecord[]> {
    return Promise.resolve([...this.#kept]);
  }

  /** Appends one record as one line. */
  async append(record: MetricRecord): Promise<void> {
    const line = this.#encoder.encode(metricLine(record));
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
