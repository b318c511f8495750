/**
 * An epoch's order of rows: file order, shuffled, or shuffled and bucketed by length. A headline batch is
 * as long as its longest row, so batches of rows of like lengths waste little on padding: with `bucket`,
 * every `bucket` batches' worth of shuffled rows are sorted by length (stably) before they are cut into
 * batches, and the full batches are then shuffled among themselves (the short last one stays last, as the
 * training loop's ranges expect). All from the epoch's generator, so a resumed epoch is ordered alike.
 */
import type { Rng } from "../model/rng.ts";

export interface OrderOptions {
  shuffle: boolean;
  /** Batches per bucket (absent: no bucketing). */
  bucket?: number;
  batch: number;
}

/** The order of `count` rows whose lengths (positions with a target) are `lengths`. */
export function epochOrder(count: number, lengths: Int32Array, opts: OrderOptions, rng: Rng): Int32Array {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  if (!opts.shuffle) return order;
  rng.shuffle(order);
  if (opts.bucket === undefined) return order;
  const span = opts.bucket * opts.batch;
  for (let at = 0; at < count; at += span) {
    const part = Array.from(order.subarray(at, Math.min(count, at + span)));
    part.sort((a, b) => lengths[a] - lengths[b]);
    order.set(part, at);
  }
  const full = Math.floor(count / opts.batch);
  const batches = rng.shuffle(Int32Array.from({ length: full }, (_, i) => i));
  const out = new Int32Array(count);
  batches.forEach((b, i) => out.set(order.subarray(b * opts.batch, (b + 1) * opts.batch), i * opts.batch));
  out.set(order.subarray(full * opts.batch), full * opts.batch);
  return out;
}
