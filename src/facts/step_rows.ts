/**
 * What a step reads of the data (the StepParams uniform's meaning, src/gpu/step_params.ts): rows
 * order[start .. start+size) of a [rows, stride] array of ids or targets, the first `positions` of each,
 * packed with `positions` as the row stride. The reference of the embedding's ids and of the loss's targets.
 */
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
