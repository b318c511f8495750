/**
 * Mean softmax cross-entropy over B rows of V logits, with the max subtracted before exp so large logits
 * stay finite. When dLogits is given it receives (softmax - onehot(target)) / B, the gradient of the mean.
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  targets: Int32Array,
  B: number,
  V: number,
  dLogits: Float32Array | null,
): number {
  let total = 0;
  for (let b = 0; b < B; b++) {
    const row = b * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[row + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[row + v] - max);
    const logSum = max + Math.log(sum);
    total += logSum - logits[row + targets[b]];
    if (dLogits) {
      for (let v = 0; v < V; v++) dLogits[row + v] = Math.exp(logits[row + v] - logSum) / B;
      dLogits[row + targets[b]] -= 1 / B;
    }
  }
  return total / B;
}
