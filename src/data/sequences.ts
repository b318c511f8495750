/**
 * Headlines as a headline model reads them (docs/headline-model.md): a headline of n words is one row of
 * n + 1 positions, inputs `<s> w1 .. wn` and targets `w1 .. wn </s>`, the very targets a boundaries window
 * model's pairs have. Rows are padded to the longest: inputs with `<s>`, targets with IGNORE_TARGET.
 */
import type { SequenceSet } from "./types.ts";
import { BOS_ID, EOS_ID, NO_ID } from "./vocab.ts";

/** A target that counts for nothing: the padding after a row's end. */
export const IGNORE_TARGET: number = -1;

/**
 * The rows of headlines given as ids. A headline with no words gives none. A word with no id (NO_ID: not in
 * the vocabulary, which has no `<unk>`) cuts its headline before it: the row predicts the words before it
 * and stops, and the targets from the cut word on (the end included) are counted in `skipped`, as the pairs
 * touching such a word are skipped.
 */
export function makeSequences(headlines: readonly Int32Array[]): { set: SequenceSet; skipped: number } {
  const rows: Array<{ inputs: Int32Array; targets: Int32Array }> = [];
  let skipped = 0;
  for (const ids of headlines) {
    const cut = ids.indexOf(NO_ID);
    if (cut < 0) {
      if (ids.length === 0) continue;
      const inputs = new Int32Array(ids.length + 1);
      inputs[0] = BOS_ID;
      inputs.set(ids, 1);
      const targets = new Int32Array(ids.length + 1);
      targets.set(ids);
      targets[ids.length] = EOS_ID;
      rows.push({ inputs, targets });
      continue;
    }
    skipped += ids.length - cut + 1;
    if (cut === 0) continue;
    const inputs = new Int32Array(cut);
    inputs[0] = BOS_ID;
    inputs.set(ids.subarray(0, cut - 1), 1);
    rows.push({ inputs, targets: ids.slice(0, cut) });
  }
  return { set: packRows(rows), skipped };
}

/** Rows of different lengths side by side, padded to the longest. */
function packRows(rows: ReadonlyArray<{ inputs: Int32Array; targets: Int32Array }>): SequenceSet {
  const steps = rows.reduce((m, r) => Math.max(m, r.inputs.length), 0);
  const count = rows.length;
  const inputs = new Int32Array(count * steps).fill(BOS_ID);
  const targets = new Int32Array(count * steps).fill(IGNORE_TARGET);
  rows.forEach((r, i) => {
    inputs.set(r.inputs, i * steps);
    targets.set(r.targets, i * steps);
  });
  return { inputs, targets, count, steps };
}

/** Each row's length: its positions before the first IGNORE_TARGET (all `steps` when there is none). */
export function rowLengths(targets: Int32Array, count: number): Int32Array {
  const steps = targets.length / count;
  const lengths = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    const end = targets.subarray(r * steps, (r + 1) * steps).indexOf(IGNORE_TARGET);
    lengths[r] = end < 0 ? steps : end;
  }
  return lengths;
}

/** `count` rows of `steps` positions cut to their first `T` (T <= steps): a batch as long as its longest row. */
export function trimRows(
  inputs: Int32Array,
  targets: Int32Array,
  count: number,
  steps: number,
  T: number,
): { inputs: Int32Array; targets: Int32Array } {
  if (T === steps) return { inputs, targets };
  const cut = (a: Int32Array) => {
    const out = new Int32Array(count * T);
    for (let r = 0; r < count; r++) out.set(a.subarray(r * steps, r * steps + T), r * T);
    return out;
  };
  return { inputs: cut(inputs), targets: cut(targets) };
}

/** The most positions a headline model's row of these headlines has (their longest plus its end), at least 1. */
export function headlineSteps(headlines: readonly Int32Array[] | undefined): number {
  return (headlines ?? []).reduce((m, ids) => Math.max(m, ids.length + 1), 1);
}
