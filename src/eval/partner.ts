/**
 * The LSTM and the Kneser-Ney count model as partners (issue 19): the targets a model is scored on with
 * where each stands in its headline, the model's log-probabilities of them in that order, the count model
 * fitted on the model's training headlines, the mixture weight that makes the validation targets most likely,
 * and the mixture's scores. Both predictors see the same targets: the pairs' for a window model
 * (src/eval/targets.ts), every position of every headline for a headline model.
 */
import { EOS_ID, hasBoundaries, NO_ID } from "../data/vocab.ts";
import type { Backend } from "../model/backend.ts";
import { isHeadlineModel } from "../model/config.ts";
import { logSoftmax } from "../sample/sampling.ts";
import { fitKneserNey, type KneserNey, type KneserNeyOptions } from "./kneser_ney.ts";
import { bestMixtureWeight, mixDistribution } from "./mixture.ts";
import { rankOf, scoreModelRows, type Scores, Tally } from "./scores.ts";
import { type HeadlineTargets, headlineTargets } from "./targets.ts";
import type { PairSet } from "../data/types.ts";

/** A count model and the weight of the LSTM in P = w P_lstm + (1 - w) P_count. */
export interface Partner {
  /** The fitted count model. */
  model: KneserNey;
  /** The LSTM's weight w, in [0, 1]. */
  weight: number;
}

/** What a model is scored on: the pairs (window models) and the headlines as ids. */
export interface ScoredTargets {
  pairs: PairSet;
  headlines?: Int32Array[];
}

/**
 * The targets a model of this config is scored on, in the order scoreModel meets them: a window model's
 * pairs' (headlineTargets), a headline model's rows' (makeSequences: every word and the end of a headline
 * with words, a headline cut before a word without an id).
 */
export function modelTargets(
  headlines: readonly Int32Array[],
  config: Backend["config"],
  vocab: readonly string[],
): HeadlineTargets {
  const boundaries = hasBoundaries(vocab);
  if (!isHeadlineModel(config)) return headlineTargets(headlines, config.window, boundaries);
  const found: Array<[number, number, number]> = [];
  headlines.forEach((ids, h) => {
    // As makeSequences: a headline with no words has no row.
    const cut = ids.indexOf(NO_ID);
    const last = ids.length === 0 ? -1 : cut < 0 ? ids.length : cut - 1;
    for (let p = 0; p <= last; p++) found.push([h, p, p < ids.length ? ids[p] : EOS_ID]);
  });
  return {
    count: found.length,
    headline: Int32Array.from(found, ([h]) => h),
    position: Int32Array.from(found, ([, p]) => p),
    target: Int32Array.from(found, ([, , t]) => t),
  };
}

/** The count model fitted on the model's training headlines, as eval and the partner use it. */
export function fitCountModel(
  trainHeadlines: readonly Int32Array[],
  vocab: readonly string[],
  options: KneserNeyOptions = {},
): KneserNey {
  return fitKneserNey(
    { headlines: trainHeadlines, vocab: vocab.length, boundaries: hasBoundaries(vocab) },
    options,
  );
}

/**
 * The model's log-probabilities of every target of `set`, in modelTargets order, chunk by chunk:
 * `use(logProbs, i)` gets target i's row over the vocabulary.
 */
async function eachTargetRow(
  backend: Backend,
  set: ScoredTargets,
  use: (logProbs: Float64Array, i: number) => void,
): Promise<void> {
  let i = 0;
  await scoreModelRows(backend, set, (logits) => use(logSoftmax(logits), i++));
}

/** How a partner was tuned: the weight, and the validation scores of the model, the count model and both. */
export interface PartnerFit {
  partner: Partner;
  scores: { model: Scores; count: Scores; mixture: Scores };
}

/**
 * Fits the count model on `trainHeadlines` and tunes the LSTM's weight on `val` (held-out targets), where
 * the mixture makes the targets most likely.
 */
export async function fitPartner(
  backend: Backend,
  vocab: readonly string[],
  trainHeadlines: readonly Int32Array[],
  val: ScoredTargets & { headlines: Int32Array[] },
  options: KneserNeyOptions = {},
): Promise<PartnerFit> {
  const model = fitCountModel(trainHeadlines, vocab, options);
  const targets = modelTargets(val.headlines, backend.config, vocab);
  const modelProbs = new Float64Array(targets.count);
  const countProbs = new Float64Array(targets.count);
  const modelTally = new Tally();
  const countTally = new Tally();
  const count = countDistribution(model, val.headlines, targets);
  await eachTargetRow(backend, val, (logProbs, i) => {
    const t = targets.target[i];
    const p = count(i);
    modelProbs[i] = Math.exp(logProbs[t]);
    countProbs[i] = p[t];
    modelTally.add(logProbs[t], rankOf(logProbs, t));
    countTally.add(Math.log(p[t]), rankOf(p, t));
  });
  const partner = { model, weight: bestMixtureWeight(modelProbs, countProbs) };
  return {
    partner,
    scores: {
      model: modelTally.scores(),
      count: countTally.scores(),
      mixture: await scorePartner(backend, vocab, val, partner),
    },
  };
}

/** The mixture's Scores on the targets of `set` (its headlines needed: the count model reads them). */
export async function scorePartner(
  backend: Backend,
  vocab: readonly string[],
  set: ScoredTargets & { headlines: Int32Array[] },
  partner: Partner,
): Promise<Scores> {
  const targets = modelTargets(set.headlines, backend.config, vocab);
  const count = countDistribution(partner.model, set.headlines, targets);
  const tally = new Tally();
  let mixed: Float64Array | undefined;
  await eachTargetRow(backend, set, (logProbs, i) => {
    const t = targets.target[i];
    mixed = mixDistribution(logProbs, count(i), partner.weight, mixed);
    tally.add(Math.log(mixed[t]), rankOf(mixed, t));
  });
  if (tally.count !== targets.count) {
    throw new Error(`scorePartner: the model gave ${tally.count} targets, the count model ${targets.count}`);
  }
  return tally.scores();
}

/** Target i's count distribution (one array, reused between calls). */
function countDistribution(model: KneserNey, headlines: readonly Int32Array[], targets: HeadlineTargets) {
  const out = new Float64Array(model.vocab);
  return (i: number) =>
    model.distribution(model.history(headlines[targets.headline[i]], targets.position[i]), out);
}
