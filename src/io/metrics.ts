/**
 * metrics.jsonl: one JSON object per line, appended as training goes.
 *
 *   per step:  {"epoch":E,"step":S,"loss":L}                 (E counts from 1: the epoch the step is in)
 *   per epoch: {"epoch":E,"train_loss":..,"val_loss":..,"val_ppl":..,"pairs_per_s":..,"seconds":..}
 *              (val_* only with a validation split)
 *
 * Each record is one write(2) of a whole line, so a killed process loses at most the line being written,
 * which then lacks its newline: readers ignore such a torn last line and the writer cuts it off on open.
 * The file is fsynced at most once a second and on close, so an OS crash loses at most about a second.
 * Non-finite numbers are written as null (JSON has no NaN) and read back as NaN.
 *
 * On resume the writer keeps the records up to the checkpoint's step: it cuts the file at the first step
 * record past that step. The epoch record that follows the checkpoint's step record is kept, because the
 * trainer writes an epoch's record before it saves the checkpoint that ends the epoch.
 */
import { UserError } from "../errors.ts";

export interface MetricRecord {
  epoch: number;
  step?: number;
  loss?: number;
  train_loss?: number;
  val_loss?: number;
  val_ppl?: number;
  pairs_per_s?: number;
  seconds?: number;
}

const NUMBER_FIELDS = [
  "step",
  "loss",
  "train_loss",
  "val_loss",
  "val_ppl",
  "pairs_per_s",
  "seconds",
] as const;
const SYNC_INTERVAL_MS = 1000;

/** A step record (as opposed to an epoch summary). */
export function isStepRecord(r: MetricRecord): r is MetricRecord & { step: number; loss: number } {
  return r.step !== undefined;
}

interface Line {
  record: MetricRecord;
  /** Byte offset just past this line's newline. */
  end: number;
}

function parseLines(file: string, bytes: Uint8Array): Line[] {
  const lines: Line[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let start = 0;
  for (let lineNo = 1;; lineNo++) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl < 0) break; // no newline: a torn last line (or none), never a record
    const text = (() => {
      try {
        return decoder.decode(bytes.subarray(start, nl));
      } catch {
        throw new UserError(`${file}: line ${lineNo} is not UTF-8`);
      }
    })();
    start = nl + 1;
    if (text.trim() === "") continue;
    lines.push({ record: parseRecord(file, lineNo, text), end: start });
  }
  return lines;
}

function parseRecord(file: string, lineNo: number, text: string): MetricRecord {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new UserError(`${file}: line ${lineNo} is not JSON`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new UserError(`${file}: line ${lineNo} is not a JSON object`);
  }
  const r = o as Record<string, unknown>;
  if (!Number.isInteger(r.epoch)) throw new UserError(`${file}: line ${lineNo} has no integer "epoch"`);
  for (const k of NUMBER_FIELDS) {
    if (r[k] === null) r[k] = NaN;
    else if (r[k] !== undefined && typeof r[k] !== "number") {
      throw new UserError(`${file}: line ${lineNo}: "${k}" is not a number`);
    }
  }
  if (r.step !== undefined && (!Number.isInteger(r.step) || r.loss === undefined)) {
    throw new UserError(`${file}: line ${lineNo}: a step record needs an integer "step" and a "loss"`);
  }
  return r as unknown as MetricRecord;
}

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
  return bytes ? parseLines(path, bytes).map((l) => l.record) : [];
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
      for (const { record, end } of parseLines(path, bytes)) {
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
    const line = this.#encoder.encode(JSON.stringify(record) + "\n");
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
