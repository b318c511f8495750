/**
 * The assembled CPU model (whole-model finite differences), torch-exact Adam against hand-written
 * arithmetic, and the CPU Backend's contract (training lowers the loss, step gathering, loss order,
 * evaluation chunking, state round trips).
 */
import { ADAM_DEFAULTS, type AdamHyper } from "../src/model/optimizer.ts";
import { adamStep } from "../src/cpu/adam.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import { modelForward, modelLossAndGrads } from "../src/cpu/model.ts";
import type { ModelConfig } from "../src/model/config.ts";
import { initParams } from "../src/model/init.ts";
import { paramLayout, view } from "../src/model/layout.ts";
import { Rng } from "../src/model/rng.ts";
import { assert, assertAllClose, assertEquals, assertThrows } from "./assert.ts";
import { allIndices, centralDifferences, pick } from "./finite_diff.ts";

const TINY: ModelConfig = { vocab: 11, embed: 3, hidden: 4, layers: 2, window: 2 };

function randomPairs(cfg: ModelConfig, count: number, seed: number) {
  const rng = new Rng(seed);
  const inputs = Int32Array.from({ length: count * cfg.window }, () => rng.int(cfg.vocab));
  const targets = Int32Array.from({ length: count }, () => rng.int(cfg.vocab));
  return { inputs, targets };
}

/** Which fc1 outputs pass the ReLU: a finite-difference probe must not flip any of them. */
function reluMask(cfg: ModelConfig, params: Float32Array, inputs: Int32Array, B: number): string {
  return Array.from(modelForward(cfg, params, inputs, B).cache.hidden, (v) => (v > 0 ? "1" : "0")).join("");
}

Deno.test("init: a range draws embed.weight and fc2.weight from U(-R, R) and zeroes fc2.bias; the rest as PyTorch", () => {
  for (
    const cfg of [{ ...TINY, vocab: 301, embed: 7 }, { ...TINY, vocab: 301, embed: 4, head: 0, tie: true }]
  ) {
    const layout = paramLayout(cfg);
    const flat = initParams(cfg, 5, 0.1);
    const extremes = (name: string) => {
      const v = Array.from(view(flat, layout.get(name)));
      return [Math.min(...v), Math.max(...v)];
    };
    for (const name of ["embed.weight", "fc2.weight"]) {
      const [lo, hi] = extremes(name);
      // Over 1,204 or more draws the extremes come within 1% of the bounds, and never past them.
      assert(lo >= -0.1 && lo < -0.099 && hi <= 0.1 && hi > 0.099, `${name}: [${lo}, ${hi}]`);
    }
    assert(view(flat, layout.get("fc2.bias")).every((x) => x === 0), "fc2.bias is zero");
    const bound = 1 / Math.sqrt(cfg.hidden);
    const [lo, hi] = extremes("lstm.weight_hh_l1");
    assert(lo >= -bound && hi <= bound && hi - lo > bound, `the LSTM's weights are PyTorch's U(+-1/sqrt(H))`);
  }
  // Without a range the embedding is PyTorch's N(0, 1): values past 0.1 abound.
  assert(view(initParams(TINY, 5), paramLayout(TINY).get("embed.weight")).some((x) => Math.abs(x) > 1));
});

Deno.test("model: loss gradient of every parameter of a tiny model matches finite differences", () => {
  const B = 5;
  const layout = paramLayout(TINY);
  const params = initParams(TINY, 7);
  const { inputs, targets } = randomPairs(TINY, B, 8);
  const grads = new Float32Array(layout.total).fill(NaN); // NaN: proves backward overwrites everything
  const loss = modelLossAndGrads(TINY, params, inputs, targets, B, grads);
  assert(Number.isFinite(loss), "finite loss");
  for (const t of layout.tensors) {
    const end = t.offset + Math.ceil(t.size / 64) * 64;
    assert(grads.subarray(t.offset + t.size, end).every((g) => g === 0), `padding after ${t.name} is 0`);
  }

  // EPS = 1e-3 on the mean loss (~2.4): float32 rounding of the logits (~1e-7 relative) leaves ~5e-6 of
  // noise in each quotient, truncation O(EPS²) is ~1e-6. Gradients range from ~5e-4 (layer-0 LSTM, the
  // embedding) to ~0.3 (fc2.bias), so atol 2e-5 (< 5% of the smallest tensor's largest gradient) and
  // rtol 1e-3.
  const EPS = 1e-3;
  const mask = reluMask(TINY, params, inputs, B);
  const scratch = new Float32Array(layout.total);
  let probes = 0;
  for (const t of layout.tensors) {
    // Every coordinate: the tiny model has ~500 parameters and each probe is two forward passes.
    const indices = allIndices(t.size).map((i) => t.offset + i);
    const numeric = centralDifferences(params, indices, () => {
      assertEquals(reluMask(TINY, params, inputs, B), mask, `a probe of ${t.name} crossed the ReLU kink`);
      return modelLossAndGrads(TINY, params, inputs, targets, B, scratch);
    }, EPS);
    assertAllClose(pick(grads, indices), numeric, { atol: 2e-5, rtol: 1e-3, what: t.name });
    assert(pick(grads, indices).some((g) => Math.abs(g) > 10 * 2e-5), `${t.name}: gradient well above atol`);
    probes += indices.length;
  }
  assertEquals(probes, layout.count);
});

/**
 * Adam as torch.optim.Adam, spelled out the textbook way for three elements over t = 1, 2, 3:
 *   g' = g + wd·p;  m = β1·m + (1-β1)·g';  v = β2·v + (1-β2)·g'²;
 *   p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps)
 * (torch folds the bias corrections into the step size and sqrt(v) instead; that differs only by rounding).
 */
for (const weightDecay of [0, 0.1]) {
  Deno.test(`adamStep matches hand-computed steps t = 1..3 (weight decay ${weightDecay})`, () => {
    const h: AdamHyper = { ...ADAM_DEFAULTS, weightDecay };
    // Element 2's gradient is 0 for two steps: without decay it must not move (m = 0 means a 0 step).
    const gradsPerStep = [[0.1, -0.2, 0], [0.3, 0.1, 0], [-0.2, 0.05, 0.4]];
    const params = Float32Array.from([0.5, -1.0, 2.0]);
    const m = new Float32Array(3), v = new Float32Array(3);
    const p = [0.5, -1.0, 2.0], mh = [0, 0, 0], vh = [0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      const g = gradsPerStep[t - 1];
      for (let i = 0; i < 3; i++) {
        const gd = g[i] + weightDecay * p[i];
        mh[i] = 0.9 * mh[i] + 0.1 * gd;
        vh[i] = 0.999 * vh[i] + 0.001 * gd * gd;
        const mHat = mh[i] / (1 - 0.9 ** t);
        const vHat = vh[i] / (1 - 0.999 ** t);
        p[i] -= 1e-3 * mHat / (Math.sqrt(vHat) + 1e-8);
      }
      adamStep(params, Float32Array.from(g), m, v, t, h);
      // Steps are ~1e-3; 5e-7 is a few float32 ulps of |p| <= 2, i.e. < 0.05% of a step.
      assertAllClose(params, p, { atol: 5e-7, rtol: 0, what: `params at t=${t}` });
      assertAllClose(m, mh, { atol: 1e-9, rtol: 1e-6, what: `m at t=${t}` });
      assertAllClose(v, vh, { atol: 1e-12, rtol: 1e-6, what: `v at t=${t}` });
      if (weightDecay === 0 && t < 3) assertEquals(params[2], 2, "zero gradient, zero moments: no move");
    }
  });
}

Deno.test("adamStep: t = 1 moves by lr·sign(g) and a zero gradient without decay leaves the parameter", () => {
  const params = Float32Array.from([1, 1, 1]);
  adamStep(
    params,
    Float32Array.from([0.5, -0.003, 0]),
    new Float32Array(3),
    new Float32Array(3),
    1,
    ADAM_DEFAULTS,
  );
  // mHat = g, vHat = g², so the step is lr·g/(|g| + 1e-8) = lr·sign(g) up to 1e-8/|g|.
  assertAllClose(params, [1 - 1e-3, 1 + 1e-3, 1], { atol: 1e-7, rtol: 0, what: "first step" });
});

/** A learnable toy task: the next word is (a + b) mod V. */
function sumTask(cfg: ModelConfig, count: number) {
  const inputs = new Int32Array(count * 2);
  const targets = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const a = n % cfg.vocab, b = (3 * n + 1) % cfg.vocab;
    inputs.set([a, b], 2 * n);
    targets[n] = (a + b) % cfg.vocab;
  }
  return { inputs, targets };
}

Deno.test("cpu backend: training steps lower the loss; losses come back in order and are taken once", async () => {
  const cfg: ModelConfig = { vocab: 8, embed: 4, hidden: 8, layers: 2, window: 2 };
  const count = 32;
  const { inputs, targets } = sumTask(cfg, count);
  const backend = await createCpuBackend(cfg);
  assertEquals(backend.name, "cpu (reference)");
  await backend.setParams(initParams(cfg, 3));
  await backend.setTrainData(inputs, targets, count);
  await backend.setOrder(Int32Array.from(allIndices(count)));
  const hyper = { ...ADAM_DEFAULTS, lr: 1e-2 }; // larger than default so 40 steps visibly learn
  const before = await backend.evalLoss(inputs, targets, count);
  for (let s = 0; s < 40; s++) backend.trainStep(0, count, hyper);
  const losses = await backend.takeLosses();
  assertEquals(losses.length, 40);
  assertEquals(await backend.takeLosses(), []);
  const after = await backend.evalLoss(inputs, targets, count);
  // ln 8 = 2.08 at chance; 40 full-batch Adam steps at lr 1e-2 must cut it by at least a third.
  assert(after < 0.67 * before, `loss ${before} -> ${after}`);
  assertAllClose([losses[0]], [before], { atol: 0, rtol: 1e-6, what: "first step's loss = loss before" });
  backend.destroy();
});

Deno.test("cpu backend: trainStep gathers order[start..start+size) and equals modelLossAndGrads + adamStep", async () => {
  const count = 12;
  const { inputs, targets } = randomPairs(TINY, count, 21);
  const order = new Rng(22).shuffle(Int32Array.from(allIndices(count)));
  const init = initParams(TINY, 23);
  const backend = await createCpuBackend(TINY);
  await backend.setParams(init);
  await backend.setTrainData(inputs, targets, count);
  await backend.setOrder(order);
  const ranges = [[0, 5], [5, 5], [10, 2]];
  for (const [start, size] of ranges) backend.trainStep(start, size, ADAM_DEFAULTS);
  const losses = await backend.takeLosses();

  // The same three steps by hand.
  const layout = paramLayout(TINY);
  const params = init.slice(), grads = new Float32Array(layout.total);
  const m = new Float32Array(layout.total), v = new Float32Array(layout.total);
  const expected: number[] = [];
  ranges.forEach(([start, size], s) => {
    const idx = Array.from(order.subarray(start, start + size));
    const bIn = Int32Array.from(idx.flatMap((i) => [inputs[2 * i], inputs[2 * i + 1]]));
    const bTg = Int32Array.from(idx.map((i) => targets[i]));
    expected.push(modelLossAndGrads(TINY, params, bIn, bTg, size, grads));
    adamStep(params, grads, m, v, s + 1, ADAM_DEFAULTS);
  });
  // Same code on the same numbers: bit-identical.
  assertEquals(losses, expected);
  assertEquals(await backend.getParams(), params);
  const state = await backend.getAdamState();
  assertEquals(state.adamStep, 3);
  assertEquals(state.m, m);
  assertEquals(state.v, v);
  for (const t of layout.tensors) {
    const end = t.offset + Math.ceil(t.size / 64) * 64;
    assert(params.subarray(t.offset + t.size, end).every((x) => x === 0), `padding after ${t.name} stays 0`);
  }
});

Deno.test("cpu backend: evalLoss and logits over several chunks equal one whole-batch forward", async () => {
  const count = 300; // more than one 256-window chunk
  const { inputs, targets } = randomPairs(TINY, count, 31);
  const params = initParams(TINY, 32);
  const backend = await createCpuBackend(TINY);
  await backend.setParams(params);
  const whole = modelLossAndGrads(
    TINY,
    params,
    inputs,
    targets,
    count,
    new Float32Array(paramLayout(TINY).total),
  );
  // Chunk means re-weighted to one mean: only the float64 summation order differs.
  assertAllClose([await backend.evalLoss(inputs, targets, count)], [whole], {
    atol: 0,
    rtol: 1e-12,
    what: "evalLoss",
  });
  // Each logits row depends on its own window only, so chunking changes nothing.
  assertEquals(await backend.logits(inputs, count), modelForward(TINY, params, inputs, count).logits);
});

Deno.test("cpu backend: state round trips and bad arguments fail with a message", async () => {
  const layout = paramLayout(TINY);
  const backend = await createCpuBackend(TINY);
  const params = initParams(TINY, 41);
  await backend.setParams(params);
  assertEquals(await backend.getParams(), params);
  const state = { m: params.map((x) => x / 2), v: params.map((x) => x * x), adamStep: 17 };
  await backend.setAdamState(state);
  assertEquals(await backend.getAdamState(), state);
  assertEquals(backend.memoryBytes(), 4 * 4 * layout.total);

  assertThrows(() => backend.setParams(new Float32Array(3)), /3 floats/);
  const { inputs, targets } = randomPairs(TINY, 4, 42);
  await backend.setTrainData(inputs, targets, 4);
  assertThrows(() => backend.setOrder(Int32Array.from([0, 1, 1, 3])), /permutation/);
  await backend.setOrder(Int32Array.from([3, 2, 1, 0]));
  assertThrows(() => backend.trainStep(2, 3, ADAM_DEFAULTS), /past the order/);
  assertThrows(() => backend.logits(Int32Array.from([0, TINY.vocab]), 1), /word id 11/);
  backend.destroy();
  assertThrows(() => backend.getParams(), /after destroy/);
});

Deno.test("model: with all LSTM weights 0 the logits are fc2(relu(fc1.bias)) + fc2.bias (hand computation)", () => {
  const layout = paramLayout(TINY);
  const params = initParams(TINY, 51);
  for (const t of layout.tensors) if (t.name.startsWith("lstm.")) view(params, t).fill(0);
  const { logits } = modelForward(TINY, params, Int32Array.from([4, 4]), 1);
  // With zero LSTM weights and biases every gate is σ(0) = 0.5 and g = tanh(0) = 0, so c = h = 0.
  const V = TINY.vocab;
  const b1 = view(params, layout.get("fc1.bias")), w2 = view(params, layout.get("fc2.weight"));
  const b2 = view(params, layout.get("fc2.bias"));
  const expected = Array.from({ length: V }, (_, o) => {
    let s = b2[o];
    for (let i = 0; i < V; i++) s += w2[o * V + i] * Math.max(0, b1[i]);
    return s;
  });
  assertAllClose(logits, expected, { atol: 1e-6, rtol: 1e-6, what: "logits" });
});
