/**
 * The headline model, the head's width and dropout in the CPU reference: whole-model finite differences
 * (padding ignored, dropout masks fixed by the step), the masks against an independent Python hash, the
 * rows headlines make, the CPU backend's batches as long as their longest row, and a carried state
 * (Backend.advance) equal to reading the whole prefix.
 */
import { createCpuBackend } from "../src/cpu/backend.ts";
import { modelForward, modelLossAndGrads } from "../src/cpu/model.ts";
import { makePairs } from "../src/data/pairs.ts";
import { IGNORE_TARGET, makeSequences, rowLengths } from "../src/data/sequences.ts";
import { NO_ID } from "../src/data/vocab.ts";
import { type ModelConfig, validateConfig } from "../src/model/config.ts";
import { dropoutKey, dropoutMask, keepScale, lowbias32 } from "../src/model/dropout.ts";
import { initParams } from "../src/model/init.ts";
import { paramLayout } from "../src/model/layout.ts";
import { ADAM_DEFAULTS } from "../src/model/optimizer.ts";
import { Rng } from "../src/model/rng.ts";
import { assert, assertAllClose, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { allIndices, centralDifferences, pick } from "./finite_diff.ts";

const HEADLINE: ModelConfig = {
  kind: "headline",
  vocab: 9,
  embed: 3,
  hidden: 5,
  layers: 2,
  window: 1,
  head: 4,
};
const WINDOWED: ModelConfig = { vocab: 8, embed: 3, hidden: 4, layers: 2, window: 3, head: 5 };

/** `count` rows of random lengths 1..steps: inputs <s>-first, targets -1 after each row's end. */
function randomRows(cfg: ModelConfig, count: number, steps: number, seed: number) {
  const rng = new Rng(seed);
  const inputs = new Int32Array(count * steps);
  const targets = new Int32Array(count * steps).fill(IGNORE_TARGET);
  for (let r = 0; r < count; r++) {
    const length = r === 0 ? steps : 1 + rng.int(steps);
    for (let t = 0; t < steps; t++) inputs[r * steps + t] = t === 0 ? 0 : rng.int(cfg.vocab);
    for (let t = 0; t < length; t++) targets[r * steps + t] = rng.int(cfg.vocab);
  }
  return { inputs, targets };
}

/** Which fc1 outputs pass the ReLU (and which positions' are dropped): a probe must not flip any. */
function reluPattern(cfg: ModelConfig, params: Float32Array, inputs: Int32Array, B: number, steps: number) {
  if (cfg.head === 0) return ""; // a direct head has no ReLU
  const { cache } = modelForward(cfg, params, inputs, B, { steps });
  return Array.from(cache.hidden, (v) => (v > 0 ? "1" : "0")).join("");
}

/**
 * Every parameter's gradient against central differences. EPS 1e-3 on a mean loss of ~2.2: float32
 * rounding of the logits leaves ~5e-6 of noise per quotient; atol 2e-5 and rtol 1e-3, as the window model's
 * check (tests/cpu_model_test.ts), and each tensor must have gradients well above atol.
 */
function checkGradients(
  cfg: ModelConfig,
  B: number,
  steps: number,
  inputs: Int32Array,
  targets: Int32Array,
  dropout?: { rate: number; seed: number },
) {
  const layout = paramLayout(cfg);
  const params = initParams(cfg, 3);
  const opts = { steps, dropout: dropout && { settings: dropout, step: 5 } };
  const grads = new Float32Array(layout.total).fill(NaN);
  const loss = modelLossAndGrads(cfg, params, inputs, targets, B, grads, opts);
  assert(Number.isFinite(loss), "finite loss");
  const pattern = reluPattern(cfg, params, inputs, B, steps);
  const scratch = new Float32Array(layout.total);
  for (const t of layout.tensors) {
    const indices = allIndices(t.size).map((i) => t.offset + i);
    const numeric = centralDifferences(params, indices, () => {
      assertEquals(
        reluPattern(cfg, params, inputs, B, steps),
        pattern,
        `a probe of ${t.name} crossed a ReLU kink`,
      );
      return modelLossAndGrads(cfg, params, inputs, targets, B, scratch, opts);
    }, 1e-3);
    assertAllClose(pick(grads, indices), numeric, { atol: 2e-5, rtol: 1e-3, what: t.name });
    assert(pick(grads, indices).some((g) => Math.abs(g) > 10 * 2e-5), `${t.name}: gradient well above atol`);
  }
}

Deno.test("headline model: every parameter's gradient matches finite differences; padding counts for nothing", () => {
  const B = 3;
  const steps = 5;
  const { inputs, targets } = randomRows(HEADLINE, B, steps, 1);
  checkGradients(HEADLINE, B, steps, inputs, targets);
});

Deno.test("dropout: gradients match finite differences with the step's masks, headline and window models", () => {
  const { inputs, targets } = randomRows(HEADLINE, 3, 4, 2);
  checkGradients(HEADLINE, 3, 4, inputs, targets, { rate: 0.3, seed: 9 });
  // Seed 5: enough fc1 units survive the ReLU and the masks for every tensor to get a gradient.
  const rng = new Rng(5);
  const B = 4;
  const windows = Int32Array.from({ length: B * WINDOWED.window }, () => rng.int(WINDOWED.vocab));
  const next = Int32Array.from({ length: B }, () => rng.int(WINDOWED.vocab));
  checkGradients(WINDOWED, B, WINDOWED.window, windows, next, { rate: 0.25, seed: 2 });
});

Deno.test("a direct head (no fc1): every gradient matches finite differences, headline and window models", () => {
  const direct = { ...HEADLINE, head: 0 };
  const { inputs, targets } = randomRows(direct, 3, 4, 1);
  checkGradients(direct, 3, 4, inputs, targets, { rate: 0.2, seed: 3 });
  assertEquals(paramLayout(direct).tensors.map((t) => t.name).filter((n) => n.startsWith("fc")), [
    "fc2.weight",
    "fc2.bias",
  ]);
  assertEquals(paramLayout(direct).get("fc2.weight").shape, [direct.vocab, direct.hidden]);
  const windowed = { ...WINDOWED, head: 0 };
  const rng = new Rng(5);
  const windows = Int32Array.from({ length: 4 * windowed.window }, () => rng.int(windowed.vocab));
  const next = Int32Array.from({ length: 4 }, () => rng.int(windowed.vocab));
  checkGradients(windowed, 4, windowed.window, windows, next);
  assertEquals(paramLayout(windowed).get("fc2.weight").shape, [
    windowed.vocab,
    windowed.window * windowed.hidden,
  ]);
});

Deno.test("a tied output layer: fc2.weight is embed.weight; gradients of both ends match finite differences", () => {
  // Headline model, direct head: fc2 reads H values, so E = H.
  const tied: ModelConfig = {
    kind: "headline",
    vocab: 9,
    embed: 5,
    hidden: 5,
    layers: 2,
    window: 1,
    head: 0,
    tie: true,
  };
  const layout = paramLayout(tied);
  assertEquals(layout.get("fc2.weight"), layout.get("embed.weight"));
  assertEquals(layout.tensors.some((t) => t.name === "fc2.weight"), false);
  const { inputs, targets } = randomRows(tied, 3, 4, 2);
  checkGradients(tied, 3, 4, inputs, targets, { rate: 0.2, seed: 5 });
  // Window model with a middle layer: fc2 reads M = E values.
  const windowed: ModelConfig = { ...WINDOWED, embed: 5, head: 5, tie: true };
  const rng = new Rng(5);
  const windows = Int32Array.from({ length: 4 * windowed.window }, () => rng.int(windowed.vocab));
  const next = Int32Array.from({ length: 4 }, () => rng.int(windowed.vocab));
  checkGradients(windowed, 4, windowed.window, windows, next);
  assertThrows(
    () => validateConfig({ ...windowed, head: 6 }),
    /a tied output layer reads 6 values, not the embedding's 5/,
  );
});

Deno.test("headline model: a padded position's ignored target changes neither the loss nor any gradient", () => {
  const layout = paramLayout(HEADLINE);
  const params = initParams(HEADLINE, 5);
  const { inputs, targets } = randomRows(HEADLINE, 2, 4, 1);
  const lengths = rowLengths(targets, 2);
  assert(lengths[1] < 4, "the second row is padded");
  const a = new Float32Array(layout.total);
  const b = new Float32Array(layout.total);
  const lossA = modelLossAndGrads(HEADLINE, params, inputs, targets, 2, a, { steps: 4 });
  // Other ids in the padding change nothing: no target after a row's end reads them.
  const other = inputs.slice();
  for (let t = lengths[1]; t < 4; t++) other[4 + t] = (other[4 + t] + 3) % HEADLINE.vocab;
  const lossB = modelLossAndGrads(HEADLINE, params, other, targets, 2, b, { steps: 4 });
  assertEquals(lossB, lossA);
  assertEquals(b, a);
});

Deno.test("dropout masks: the hash as Python computes it, the keep rate, and the scale", () => {
  // /usr/bin/python3: lb(x) = x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b; x ^= x>>16 (mod 2^32);
  // key(seed, step, site) = lb(seed ^ lb(step ^ lb(site))); kept(i) = lb(key ^ lb(i)) >= int(rate * 2**32).
  assertEquals([0, 1, 2, 123456789, 0xffffffff].map(lowbias32), [
    0,
    1753845952,
    3507691905,
    2834422664,
    1734902346,
  ]);
  assertEquals([dropoutKey(0, 1, 0), dropoutKey(7, 3, 2), dropoutKey(4294967295, 100000, 5)], [
    1492470133,
    910696633,
    3228890128,
  ]);
  const mask = dropoutMask({ rate: 0.3, seed: 7 }, 3, 2, 40);
  assertEquals(
    Array.from(mask, (m) => (m > 0 ? "1" : "0")).join(""),
    "1110101101111011110101101001101111110010",
  );
  assert(mask.every((m) => m === 0 || m === keepScale(0.3)));
  assertEquals(keepScale(0.3), Math.fround(1 / 0.7));
  const big = dropoutMask({ rate: 0.3, seed: 1 }, 1, 0, 100_000);
  const kept = big.filter((m) => m > 0).length / big.length;
  assert(Math.abs(kept - 0.7) < 0.005, `kept ${kept} of the elements at rate 0.3`);
  // Another step or site draws another mask.
  const other = dropoutMask({ rate: 0.3, seed: 1 }, 2, 0, 1000);
  const site = dropoutMask({ rate: 0.3, seed: 1 }, 1, 1, 1000);
  assert(other.some((m, i) => m !== big[i]) && site.some((m, i) => m !== big[i]), "masks repeat");
});

Deno.test("makeSequences: <s> and the words in, the words and </s> out; the targets of boundaries pairs", () => {
  const headlines = [Int32Array.of(5, 6, 7), Int32Array.of(), Int32Array.of(8), Int32Array.of(3, 4)];
  const { set, skipped } = makeSequences(headlines);
  assertEquals(skipped, 0);
  assertEquals(set.count, 3);
  assertEquals(set.steps, 4);
  assertEquals(Array.from(set.inputs), [0, 5, 6, 7, 0, 8, 0, 0, 0, 3, 4, 0]);
  assertEquals(Array.from(set.targets), [5, 6, 7, 1, 8, 1, -1, -1, 3, 4, 1, -1]);
  // The targets row by row are the boundaries pairs' targets, whatever their window.
  const pairs = makePairs(headlines, 2, true).pairs;
  assertEquals(Array.from(set.targets).filter((t) => t >= 0), Array.from(pairs.targets));
  assertEquals(Array.from(rowLengths(set.targets, set.count)), [4, 2, 3]);
});

Deno.test("makeSequences: a word without an id cuts its headline before it, the lost targets counted", () => {
  const { set, skipped } = makeSequences([Int32Array.of(5, 6, NO_ID, 7), Int32Array.of(NO_ID, 4)]);
  // Row 1 predicts 5 and 6 and stops; the cut word, 7 and </s> are lost (3), and all 3 of the second.
  assertEquals(skipped, 6);
  assertEquals(set.count, 1);
  assertEquals(Array.from(set.inputs), [0, 5]);
  assertEquals(Array.from(set.targets), [5, 6]);
});

Deno.test("cpu backend (headline): a step's loss is the mean over its targets, its batch as long as its longest row", async () => {
  const backend = await createCpuBackend(HEADLINE);
  const params = initParams(HEADLINE, 8);
  await backend.setParams(params);
  const steps = 6;
  const { inputs, targets } = randomRows(HEADLINE, 5, steps, 5);
  await backend.setTrainData(inputs, targets, 5);
  const order = Int32Array.of(3, 1, 4, 0, 2);
  await backend.setOrder(order);
  // Rows 3 and 1: cut to their longer one's length, the loss is their targets' mean.
  backend.trainStep(0, 2, ADAM_DEFAULTS);
  const [loss] = await backend.takeLosses();
  const lengths = rowLengths(targets, 5);
  const T = Math.max(lengths[3], lengths[1]);
  assert(T < steps, "the batch is shorter than the data's longest row");
  const rowOf = (a: Int32Array, r: number) => Array.from(a.subarray(r * steps, r * steps + T));
  const want = modelLossAndGrads(
    HEADLINE,
    params,
    Int32Array.from([...rowOf(inputs, 3), ...rowOf(inputs, 1)]),
    Int32Array.from([...rowOf(targets, 3), ...rowOf(targets, 1)]),
    2,
    new Float32Array(paramLayout(HEADLINE).total),
    { steps: T },
  );
  assertEquals(loss, want);
  // Validation: the mean over every target of every row, whatever the chunks.
  const all = await backend.evalLoss(inputs, targets, 5);
  let sum = 0;
  let n = 0;
  for (let r = 0; r < 5; r++) {
    const row = { inputs: inputs.slice(r * steps, r * steps + lengths[r]) };
    const tg = targets.slice(r * steps, r * steps + lengths[r]);
    const one = modelLossAndGrads(
      HEADLINE,
      await backend.getParams(),
      row.inputs,
      tg,
      1,
      new Float32Array(paramLayout(HEADLINE).total),
      { steps: lengths[r] },
    );
    sum += one * lengths[r];
    n += lengths[r];
  }
  assertAllClose([all], [sum / n], { atol: 1e-6, rtol: 1e-6 });
  backend.destroy();
});

Deno.test("cpu backend (headline): advance, one position at a time from a carried state, equals the whole prefix", async () => {
  const backend = await createCpuBackend(HEADLINE);
  await backend.setParams(initParams(HEADLINE, 6));
  const rows = [[0, 4, 2, 7, 1], [0, 3, 3, 8, 5]];
  const steps = 5;
  const V = HEADLINE.vocab;
  const whole = await backend.logits(Int32Array.from(rows.flat()), 2);
  let state: Float32Array | null = null;
  for (let t = 0; t < steps; t++) {
    const out: { logits: Float32Array; state: Float32Array } = await backend.advance(
      state,
      Int32Array.from(rows.map((r) => r[t])),
      2,
    );
    state = out.state;
    for (let r = 0; r < 2; r++) {
      const at = (r * steps + t) * V;
      assertAllClose(out.logits.subarray(r * V, (r + 1) * V), whole.subarray(at, at + V), {
        atol: 1e-6,
        rtol: 1e-5,
        what: `row ${r} position ${t}`,
      });
    }
  }
  backend.destroy();
});

Deno.test("backend contract (headline): rows of positions, targets up to a row's end and -1 after", async () => {
  const backend = await createCpuBackend(HEADLINE);
  const ok = { inputs: Int32Array.of(0, 4, 2, 0, 3, 0), targets: Int32Array.of(4, 2, 1, 3, 1, -1) };
  await backend.setTrainData(ok.inputs, ok.targets, 2);
  const bad = (inputs: number[], targets: number[], count: number) =>
    backend.setTrainData(Int32Array.from(inputs), Int32Array.from(targets), count);
  await assertRejects(() => bad([0, 4, 2], [4, 2], 1), /3 ids and 2 targets for 1 rows/);
  await assertRejects(() => bad([0, 4, 2, 0], [4, 2, 1, 1], 3), /no whole number of positions/);
  await assertRejects(() => bad([0, 4, 2], [-1, -1, -1], 1), /row 0 has no target/);
  await assertRejects(() => bad([0, 4, 2], [4, -1, 2], 1), /after the row's end, not -1/);
  await assertRejects(() => bad([0, 4, 2], [4, 9, 1], 1), /target 9 \(not in 0\.\.8\)/);
  await assertRejects(() => bad([0, 9, 2], [4, 2, 1], 1), /word id 9/);
  assertThrows(() => backend.advance(new Float32Array(3), Int32Array.of(1), 1), /a state of 3 floats/);
  const windowed = await createCpuBackend(WINDOWED);
  assertThrows(() => windowed.advance(null, Int32Array.of(1), 1), /a window model carries no state/);
  assertThrows(() => backend.trainStep(0, 1, ADAM_DEFAULTS, { rate: 1, seed: 0 }), /invalid dropout/);
  backend.destroy();
  windowed.destroy();
});
