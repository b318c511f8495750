/**
 * The model and the Kneser-Ney count model as partners: P = w P_model + (1 - w) P_count, word by word,
 * scored as any predictor is (src/eval/scores.ts), and the weight w that makes held-out targets most likely.
 *
 * The weight is found by bisection on the derivative of the log-likelihood. L(w) = sum_i log(w a_i +
 * (1 - w) b_i) (a_i, b_i: the target's probability under each) is concave in w, so its derivative
 * L'(w) = sum_i (a_i - b_i) / (w a_i + (1 - w) b_i) decreases: the maximum is at 0 if L'(0) <= 0, at 1 if
 * L'(1) >= 0, and otherwise at the one root of L', which bisection brackets and halves to 1e-12 in 40
 * passes over the targets, however the two models overlap. EM (w <- the mean posterior of the first
 * component) also climbs L monotonically, but its steps shrink as the components agree and at an optimum on
 * the boundary, so when to stop it is a guess; golden-section search would ignore the derivative that is
 * this cheap to compute.
 */
import { UserError } from "../errors.ts";
import { rankOf, type Scores, Tally } from "./scores.ts";

/** One target and both predictors' views of it. */
export interface MixtureRow {
  /** The model's log-probabilities over the vocabulary (the log-softmax of its logits). */
  modelLogProbs: ArrayLike<number>;
  /** The count model's probabilities over the vocabulary. */
  countProbs: ArrayLike<number>;
  /** The target's id. */
  target: number;
}

/** How finely the best weight is located. */
const WEIGHT_TOLERANCE = 1e-12;

/** w P_model + (1 - w) P_count over the vocabulary, into `out` (a new array when absent). */
export function mixDistribution(
  modelLogProbs: ArrayLike<number>,
  countProbs: ArrayLike<number>,
  weight: number,
  out: Float64Array = new Float64Array(countProbs.length),
): Float64Array {
  checkWeight(weight);
  if (modelLogProbs.length !== countProbs.length) {
    throw new UserError(
      `mixture: the model gives ${modelLogProbs.length} words, the count model ${countProbs.length}`,
    );
  }
  for (let v = 0; v < out.length; v++) {
    out[v] = weight * Math.exp(modelLogProbs[v]) + (1 - weight) * countProbs[v];
  }
  return out;
}

/** The mixture's Scores on `rows` (at least one); weight 1 is the model alone, 0 the count model alone. */
export function mixtureScores(rows: Iterable<MixtureRow>, weight: number): Scores {
  checkWeight(weight);
  const tally = new Tally();
  let mixed: Float64Array | undefined;
  for (const { modelLogProbs, countProbs, target } of rows) {
    mixed = mixDistribution(modelLogProbs, countProbs, weight, mixed);
    // The target's log-probability from the logs, so that weights 0 and 1 give each model's own exactly.
    const a = Math.log(weight) + modelLogProbs[target];
    const b = Math.log(1 - weight) + Math.log(countProbs[target]);
    const top = Math.max(a, b);
    tally.add(
      top === -Infinity ? top : top + Math.log(Math.exp(a - top) + Math.exp(b - top)),
      rankOf(mixed, target),
    );
  }
  return tally.scores();
}

/**
 * The weight w in [0, 1] of the model that maximises sum_i log(w modelProbs[i] + (1 - w) countProbs[i]),
 * given each held-out target's probability under the model and under the count model.
 */
export function bestMixtureWeight(modelProbs: ArrayLike<number>, countProbs: ArrayLike<number>): number {
  const n = modelProbs.length;
  if (n === 0 || countProbs.length !== n) {
    throw new UserError(`mixture weight: ${n} model probabilities and ${countProbs.length} count ones`);
  }
  for (let i = 0; i < n; i++) {
    const a = modelProbs[i];
    const b = countProbs[i];
    if (!(a >= 0 && a <= 1 && b >= 0 && b <= 1 && a + b > 0)) {
      throw new UserError(
        `mixture weight: target ${i} has probabilities ${a} and ${b}, which no weight can mix`,
      );
    }
  }
  const slope = (w: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += (modelProbs[i] - countProbs[i]) / (w * modelProbs[i] + (1 - w) * countProbs[i]);
    }
    return s;
  };
  if (slope(0) <= 0) return 0;
  if (slope(1) >= 0) return 1;
  let lo = 0;
  let hi = 1;
  while (hi - lo > WEIGHT_TOLERANCE) {
    const mid = (lo + hi) / 2;
    if (slope(mid) > 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function checkWeight(weight: number): void {
  if (!(weight >= 0 && weight <= 1)) throw new UserError(`a mixture weight must be in [0, 1], got ${weight}`);
}
