/**
 * The records of metrics.jsonl and their line format (the file itself: src/deno/metrics_file.ts; a web page
 * charts the same records): one JSON object per line, appended as training goes (src/io/jsonl.ts).
 *
 *   per step:  {"epoch":E,"step":S,"loss":L}                 (E counts from 1: the epoch the step is in)
 *   per epoch: {"epoch":E,"train_loss":..,"lr":..,"val_loss":..,"val_ppl":..,"pairs_per_s":..,"seconds":..}
 *              (lr: the learning rate the epoch trained at; val_* only with a validation split)
 *
 * Non-finite numbers are written as null (JSON has no NaN) and read back as NaN.
 */
import { UserError } from "../errors.ts";
import type { JsonlFormat } from "./jsonl.ts";

/**
 * One line of metrics.jsonl: a step's record ({epoch, step, loss}) or an epoch's ({epoch, train_loss, ...}).
 */
export interface MetricRecord {
  /** The epoch, counted from 1. */
  epoch: number;
  /** A step's record: the optimizer step, counted from 1 over the whole run. */
  step?: number;
  /** A step's record: the step's mean loss. */
  loss?: number;
  /** An epoch's record: the mean training loss of its steps. */
  train_loss?: number;
  /** An epoch's record: the learning rate its steps took. */
  lr?: number;
  /** An epoch's record: the validation loss after it (with a validation split). */
  val_loss?: number;
  /** An epoch's record: exp(val_loss). */
  val_ppl?: number;
  /** An epoch's record: training pairs per second. */
  pairs_per_s?: number;
  /** An epoch's record: its seconds. */
  seconds?: number;
}

const NUMBER_FIELDS = [
  "step",
  "loss",
  "train_loss",
  "lr",
  "val_loss",
  "val_ppl",
  "pairs_per_s",
  "seconds",
] as const;

/** A step record (as opposed to an epoch summary). */
export function isStepRecord(r: MetricRecord): r is MetricRecord & { step: number; loss: number } {
  return r.step !== undefined;
}

/** metrics.jsonl's records: each line checked for an integer epoch and numbers (null read as NaN). */
export const METRICS_FORMAT: JsonlFormat<MetricRecord> = {
  parse(r, where) {
    if (!Number.isInteger(r.epoch)) throw new UserError(`${where} has no integer "epoch"`);
    for (const k of NUMBER_FIELDS) {
      if (r[k] === null) r[k] = NaN;
      else if (r[k] !== undefined && typeof r[k] !== "number") {
        throw new UserError(`${where}: "${k}" is not a number`);
      }
    }
    if (r.step !== undefined && (!Number.isInteger(r.step) || r.loss === undefined)) {
      throw new UserError(`${where}: a step record needs an integer "step" and a "loss"`);
    }
    return r as unknown as MetricRecord;
  },
  line: metricLine,
};

/** One record as its line (with the newline). */
export function metricLine(record: MetricRecord): string {
  return JSON.stringify(record) + "\n";
}
