/**
 * The records of metrics.jsonl and their line format (the file itself: src/deno/metrics_file.ts; a web page
 * charts the same records): one JSON object per line, appended as training goes.
 *
 *   per step:  {"epoch":E,"step":S,"loss":L}                 (E counts from 1: the epoch the step is in)
 *   per epoch: {"epoch":E,"train_loss":..,"val_loss":..,"val_ppl":..,"pairs_per_s":..,"seconds":..}
 *              (val_* only with a validation split)
 *
 * A line without its newline is a torn last line (a killed writer's): never a record.
 * Non-finite numbers are written as null (JSON has no NaN) and read back as NaN.
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

/** A step record (as opposed to an epoch summary). */
export function isStepRecord(r: MetricRecord): r is MetricRecord & { step: number; loss: number } {
  return r.step !== undefined;
}

export interface MetricLine {
  record: MetricRecord;
  /** Byte offset just past this line's newline. */
  end: number;
}

/** The complete records of a metrics file's bytes, in order; `file` names it in errors. */
export function parseMetricLines(file: string, bytes: Uint8Array): MetricLine[] {
  const lines: MetricLine[] = [];
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

/** One record as its line (with the newline). */
export function metricLine(record: MetricRecord): string {
  return JSON.stringify(record) + "\n";
}
