/** out[n, :] = table[ids[n], :] for each of the ids (a gather of rows of width `dim`). */
export function embeddingForward(table: Float32Array, ids: Int32Array, dim: number, out: Float32Array): void {
  for (let n = 0; n < ids.length; n++) {
    out.set(table.subarray(ids[n] * dim, ids[n] * dim + dim), n * dim);
  }
}

/**
 * dTable = scatter-add of dOut rows into the rows their ids name (overwritten: rows no id names are 0; with
 * `accumulate`, added to what dTable holds: a tied output layer's gradient). A word repeated in a batch gets
 * the sum of its rows' gradients.
 */
export function embeddingBackward(
  dOut: Float32Array,
  ids: Int32Array,
  dim: number,
  dTable: Float32Array,
  accumulate = false,
): void {
  if (!accumulate) dTable.fill(0);
  for (let n = 0; n < ids.length; n++) {
    const row = ids[n] * dim;
    for (let e = 0; e < dim; e++) dTable[row + e] += dOut[n * dim + e];
  }
}
