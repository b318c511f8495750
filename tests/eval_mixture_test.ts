/**
 * The model and the count model as partners (src/eval/mixture.ts): the mixture's scores against each alone
 * and against a direct computation, and the best weight against a grid search, the likelihood's derivative
 * and EM's fixed point.
 */
import { assert, assertAllClose, assertEquals, assertThrows } from "./assert.ts";
import { UserError } from "../src/errors.ts";
import { fitKneserNey } from "../src/eval/kneser_ney.ts";
import { scoreKneserNey, targetDistributions } from "../src/eval/kneser_ney_scores.ts";
import { bestMixtureWeight, mixDistribution, type MixtureRow, mixtureScores } from "../src/eval/mixture.ts";
import { rankOf, Tally } from "../src/eval/scores.ts";
import { headlineTargets } from "../src/eval/targets.ts";
import { Rng } from "../src/model/rng.ts";
import { logSoftmax } from "../src/sample/sampling.ts";

const V = 11;

/** A count model, held-out headlines and their targets, and made-up "model" log-probabilities per target. */
function fixture() {
  const rng = new Rng(42);
  const headlines = (n: number) =>
    Array.from({ length: n }, () => Int32Array.from({ length: 1 + rng.int(6) }, () => 2 + rng.int(V - 2)));
  const train = headlines(60);
  const held = headlines(20);
  const kn = fitKneserNey({ headlines: train, vocab: V, boundaries: true }, { order: 3 });
  const targets = headlineTargets(held, 2, true);
  const countRows = [...targetDistributions(kn, held, targets)];
  // A "model" that knows half the targets well and guesses at the rest: a partner the count model helps.
  const modelRows = countRows.map((_, i) => {
    const logits = Array.from({ length: V }, () => rng.normal());
    if (rng.next() < 0.5) logits[targets.target[i]] += 4;
    return logSoftmax(logits);
  });
  const rows: MixtureRow[] = countRows.map((countProbs, i) => ({
    modelLogProbs: modelRows[i],
    countProbs,
    target: targets.target[i],
  }));
  return { kn, held, targets, rows };
}

Deno.test("mixtureScores: weight 0 is the count model's scores, 1 the model's, 0.3 the mixture computed directly", () => {
  const { kn, held, targets, rows } = fixture();
  assertEquals(mixtureScores(rows, 0), scoreKneserNey(kn, held, targets));

  const model = new Tally();
  for (const r of rows) model.add(r.modelLogProbs[r.target], rankOf(r.modelLogProbs, r.target));
  assertEquals(mixtureScores(rows, 1), model.scores());

  let nll = 0;
  let top1 = 0;
  let top5 = 0;
  for (const r of rows) {
    const p = Array.from({ length: V }, (_, v) => 0.3 * Math.exp(r.modelLogProbs[v]) + 0.7 * r.countProbs[v]);
    const order = p.map((_, v) => v).sort((a, b) => p[b] - p[a] || a - b);
    nll -= Math.log(p[r.target]);
    if (order.indexOf(r.target) < 1) top1++;
    if (order.indexOf(r.target) < 5) top5++;
  }
  const s = mixtureScores(rows, 0.3);
  assertEquals([s.pairs, s.top1, s.top5], [rows.length, top1 / rows.length, top5 / rows.length]);
  assertAllClose([s.loss], [nll / rows.length], { atol: 1e-12, rtol: 0 });
  // The fixture is one where the mixture ranks differently from either model alone.
  assert(s.top1 !== mixtureScores(rows, 0).top1 || s.top5 !== mixtureScores(rows, 0).top5);
});

Deno.test("mixDistribution sums to 1 when both inputs do", () => {
  const { rows } = fixture();
  for (const w of [0, 0.25, 0.9, 1]) {
    const p = mixDistribution(rows[0].modelLogProbs, rows[0].countProbs, w);
    assertAllClose([p.reduce((a, b) => a + b, 0)], [1], { atol: 1e-12, rtol: 0, what: `weight ${w}` });
  }
});

/** sum_i log(w a_i + (1 - w) b_i). */
const likelihood = (a: number[], b: number[], w: number) =>
  a.reduce((s, ai, i) => s + Math.log(w * ai + (1 - w) * b[i]), 0);

Deno.test("bestMixtureWeight: the grid's best, a zero derivative and EM's fixed point, on a count model and a made-up partner", () => {
  const { rows } = fixture();
  const a = rows.map((r) => Math.exp(r.modelLogProbs[r.target]));
  const b = rows.map((r) => r.countProbs[r.target]);
  const w = bestMixtureWeight(a, b);
  assert(w > 0 && w < 1, `an interior optimum for this fixture, got ${w}`);
  let gridBest = 0;
  for (let i = 0; i <= 10000; i++) {
    if (likelihood(a, b, i / 1e4) > likelihood(a, b, gridBest)) gridBest = i / 1e4;
  }
  assert(Math.abs(w - gridBest) <= 1e-4, `bisection ${w}, grid ${gridBest}`);
  assert(likelihood(a, b, w) >= likelihood(a, b, gridBest) - 1e-12);
  const slope = a.reduce((s, ai, i) => s + (ai - b[i]) / (w * ai + (1 - w) * b[i]), 0);
  assert(Math.abs(slope) < 1e-8, `L'(w) = ${slope}`);
  const em = a.reduce((s, ai, i) => s + w * ai / (w * ai + (1 - w) * b[i]), 0) / a.length;
  assertAllClose([em], [w], { atol: 1e-10, rtol: 0, what: "one EM step from the optimum" });
  // The weight's scores beat every other weight's loss.
  const best = mixtureScores(rows, w).loss;
  for (const other of [0, 0.1, 0.5, 0.9, 1]) {
    assert(best <= mixtureScores(rows, other).loss + 1e-15, `${other}`);
  }
});

Deno.test("bestMixtureWeight: an optimum on the boundary, a zero probability on one side", () => {
  assertEquals(bestMixtureWeight([0.5, 0.4, 0.3], [0.1, 0.4, 0.2]), 1, "the model never worse");
  assertEquals(bestMixtureWeight([0.1, 0.2], [0.5, 0.2]), 0, "the count model never worse");
  // The model gives one target nothing: the weight stays below 1, found as the root of the derivative.
  const w = bestMixtureWeight([0.9, 0.9, 0], [0.1, 0.1, 0.5]);
  // L'(w) = 2 (0.8) / (0.8 w + 0.1) - 0.5 / (0.5 (1 - w)) = 0 -> 1.6 (1 - w) = 0.8 w + 0.1 -> w = 1.5 / 2.4.
  assertAllClose([w], [1.5 / 2.4], { atol: 1e-11, rtol: 0 });
});

Deno.test("mixture: bad input is a one-line UserError", () => {
  const refused = (what: string, f: () => unknown) =>
    assertThrows(f, (e: Error) => e instanceof UserError && !e.message.includes("\n"), what);
  refused("a target neither gives any probability", () => bestMixtureWeight([0.5, 0], [0.5, 0]));
  refused("lengths differ", () => bestMixtureWeight([0.5], [0.5, 0.5]));
  refused("no targets", () => bestMixtureWeight([], []));
  refused("a probability above 1", () => bestMixtureWeight([1.5], [0.5]));
  refused("a weight above 1", () => mixDistribution([0, 0], [0.5, 0.5], 1.5));
  refused("vocabularies differ", () => mixDistribution([0, 0, 0], [0.5, 0.5], 0.5));
});
