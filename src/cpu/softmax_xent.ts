/**
 * Mean softmax cross-entropy over the rows of V logits that have a target, with the max subtracted before
 * exp so large logits stay finite. A target below 0 (IGNORE_TARGET: a headline batch's padding) makes its
 * row count for nothing, as PyTorch's CrossEntropyLoss(ignore_index=-1). When dLogits is given it receives
 * (softmax - onehot(target)) / N for the N rows with targets, 0 for the others: the gradient of the mean.
 * A batch without any target has loss 0.
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  targets: Int32Array,
  B: number,
  V: number,
  dLogits: Float32Array | null,
): number {
  let N = 0;
  for (let b = 0; b < B; b++) if (targets[b] >= 0) N++;
  let total = 0;
  for (let b = 0; b < B; b++) {
    const row = b * V;
    if (targets[b] < 0) {
      dLogits?.fill(0, row, row + V);
      continue;
    }
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[row + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[row + v] - max);
    const logSum = max + Math.log(sum);
    total += logSum - logits[row + targets[b]];
    if (dLogits) {
      for (let v = 0; v < V; v++) dLogits[row + v] = Math.exp(logits[row + v] - logSum) / N;
      dLogits[row + targets[b]] -= 1 / N;
    }
  }
  return N === 0 ? 0 : total / N;
}
