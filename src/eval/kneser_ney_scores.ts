/**
 * The Kneser-Ney count model scored as the model is (src/eval/scores.ts): the same Scores over the same
 * targets of held-out headlines (src/eval/targets.ts), each from its full distribution over the vocabulary,
 * ranked as the model is ranked. Its context is the count model's own (up to N-1 words, `<s>`-framed with
 * boundaries), whatever the model's window.
 */
import type { KneserNey } from "./kneser_ney.ts";
import { rankOf, type Scores, Tally } from "./scores.ts";
import type { HeadlineTargets } from "./targets.ts";

/** The count model's distribution for each target in turn (a new array each). */
export function* targetDistributions(
  model: KneserNey,
  headlines: readonly Int32Array[],
  targets: HeadlineTargets,
): Generator<Float64Array> {
  for (let i = 0; i < targets.count; i++) {
    yield model.distribution(model.history(headlines[targets.headline[i]], targets.position[i]));
  }
}

/** The count model's Scores on `targets` of `headlines` (count >= 1). */
export function scoreKneserNey(
  model: KneserNey,
  headlines: readonly Int32Array[],
  targets: HeadlineTargets,
): Scores {
  const tally = new Tally();
  let i = 0;
  for (const p of targetDistributions(model, headlines, targets)) {
    const t = targets.target[i++];
    tally.add(Math.log(p[t]), rankOf(p, t));
  }
  return tally.scores();
}
