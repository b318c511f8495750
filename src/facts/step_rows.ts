/**
 * What a step reads of the data (the StepParams uniform's meaning, src/gpu/step_params.ts): rows
 * order[start .. start+size) of a [rows, stride] array of ids or targets, the first `positions` of each,
 * packed with `positions` as the row stride. The reference of the embedding's ids and of the loss's targets.
 */
import { rowLengths } from "../data/sequences.ts";

/** Rows order[start .. start+size) of `data` ([rows, stride]), the first `positions` of each. */
export function stepRows(
  data: Int32Array,
  order: Int32Array,
  stride: number,
  start: number,
  size: number,
  positions = stride,
): Int32Array {
  const out = new Int32Array(size * positions);
  for (let b = 0; b < size; b++) {
    for (let t = 0; t < positions; t++) out[b * positions + t] = data[order[start + b] * stride + t];
  }
  return out;
}

/**
 * A headline step's packed rows (src/gpu/packing.ts) from its targets as stepRows gives them ([size,
 * positions], -1 after each row's end): each row's length, and the targets of the positions with one, in
 * order: what the head and the loss compute, row by row.
 */
export function packedTargets(
  scored: Int32Array,
  size: number,
): { lengths: Int32Array; targets: Int32Array } {
  const lengths = rowLengths(scored, size);
  const positions = scored.length / size;
  const targets: number[] = [];
  for (let b = 0; b < size; b++) {
    for (let t = 0; t < lengths[b]; t++) targets.push(scored[b * positions + t]);
  }
  return { lengths, targets: Int32Array.from(targets) };
}
