/**
 * What the WebGPU backend sends to the device, counted by the Gpu wrapper (src/gpu/device.ts's GpuCounts):
 * a training step is one submit of one compute pass with no readback (forward, loss, backward, the gradient
 * norm when clipping, Adam), its losses come back in one readback every log interval, and a predicted word
 * (advance for every sample, or a window model's logits) is one submit carrying its readback. The dispatch
 * counts are those of the known graphs below, term by term, so a kernel, a pass, a submit or a readback
 * added to a step or a word fails here. Also that profiling (src/gpu/profile.ts) times every kernel of a
 * step by its label.
 */
import { assert, assertEquals } from "./assert.ts";
import { gpuTest } from "./gpu_harness.ts";
import { countsSince, type Gpu, type GpuCounts } from "../src/gpu/device.ts";
import { KernelProfile } from "../src/gpu/profile.ts";
import { createGpuBackend } from "../src/gpu/backend.ts";
import { lstmPlan } from "../src/gpu/lstm.ts";
import { LOSS_SLOTS } from "../src/gpu/model.ts";
import { initParams } from "../src/model/init.ts";
import { ADAM_DEFAULTS } from "../src/model/optimizer.ts";
import type { ModelConfig } from "../src/model/config.ts";
import { Rng } from "../src/model/rng.ts";
import { generateIds } from "../src/sample/generate.ts";
import { IGNORE_TARGET } from "../src/data/sequences.ts";

/** The counts of running `fn` on `gpu`. */
async function counted(gpu: Gpu, fn: () => unknown): Promise<GpuCounts> {
  const before = gpu.counts;
  await fn();
  return countsSince(before, gpu.counts);
}

const WINDOW: ModelConfig = { vocab: 11, embed: 5, hidden: 7, layers: 2, window: 3 };
const HEADLINE: ModelConfig = {
  kind: "headline",
  vocab: 11,
  embed: 7,
  hidden: 7,
  layers: 2,
  window: 1,
  head: 0,
  tie: true,
};

gpuTest(
  "a window model's step is one submit of one pass, its losses one readback per interval",
  async (gpu) => {
    // The per-position LSTM cells would make a step's dispatches depend on T: the counts below are the
    // sequence kernels'.
    assertEquals(lstmPlan(gpu, 4, WINDOW.hidden).variant, "sequence");
    const backend = await createGpuBackend(gpu, WINDOW, { maxBatch: 4 });
    try {
      await backend.setParams(initParams(WINDOW, 0));
      const count = 6, T = WINDOW.window;
      await backend.setTrainData(
        Int32Array.from({ length: count * T }, (_, i) => i % 11),
        Int32Array.from({ length: count }, (_, i) => (3 * i) % 11),
        count,
      );
      const L = WINDOW.layers;
      // Forward: the embedding, per layer the input projection GEMM and one recurrent dispatch, fc1 (+ ReLU),
      // fc2; the loss: softmax cross-entropy and its batch mean; backward: fc2 and fc1 (dX, dW, db each), per
      // layer the recurrent dispatch, dW_ih, dx, dW_hh and the bias sums, the embedding's two (each word's span,
      // then the sums); then Adam.
      const dispatches = 1 + 2 * L + 2 + 2 + 3 + 3 + 5 * L + 2 + 1;
      const steps: GpuCounts[] = [];
      for (let s = 0; s < 3; s++) {
        steps.push(
          await counted(gpu, () => backend.trainStep(0, 4, ADAM_DEFAULTS)),
        );
      }
      // Uploads: the step uniform and Adam's step.
      for (const c of steps) assertEquals(c, { dispatches, passes: 1, submits: 1, readbacks: 0, writes: 2 });
      const losses = await counted(gpu, async () => assertEquals((await backend.takeLosses()).length, 3));
      assertEquals(losses, { dispatches: 0, passes: 0, submits: 1, readbacks: 1, writes: 0 });
      // A window model's word: its windows' logits, the forward and the readback in one submit.
      const word = await counted(gpu, () => backend.logits(new Int32Array(3 * T), 3));
      const forward = 1 + 2 * L + 2;
      // Uploads: the windows' ids and the step uniform.
      assertEquals(word, { dispatches: forward, passes: 1, submits: 1, readbacks: 1, writes: 2 });
      // Evaluation: chunks of the largest batch, each a submit, the last carrying the readback of their means.
      const evaluated = await counted(
        gpu,
        () => backend.evalLoss(new Int32Array(10 * T), new Int32Array(10), 10),
      );
      assertEquals(evaluated, {
        dispatches: 3 * (forward + 2),
        passes: 3,
        submits: 3,
        readbacks: 1,
        writes: 9,
      });
      assert(LOSS_SLOTS >= 3);
    } finally {
      backend.destroy();
    }
  },
);

gpuTest(
  "a headline model's step with dropout and clipping is one submit; a generated word one submit for all samples",
  async (gpu) => {
    const T = 4, count = 6;
    const backend = await createGpuBackend(gpu, HEADLINE, { maxBatch: 4, maxSteps: T, dropout: true });
    try {
      await backend.setParams(initParams(HEADLINE, 0));
      const targets = Int32Array.from(
        { length: count * T },
        (_, i) => (i % T === T - 1 ? IGNORE_TARGET : i % 11),
      );
      await backend.setTrainData(Int32Array.from({ length: count * T }, (_, i) => i % 11), targets, count);
      const L = HEADLINE.layers;
      // Forward: the embedding, its dropout, per layer x packed, the projection, the gates unpacked and the
      // recurrent dispatch with a dropout pass between layers, the dropout before fc2 (a direct head), the
      // head's input packed, fc2; the loss: cross-entropy, the count of targets, the mean; backward: fc2's
      // three, its dx unpacked, the dropouts' masks on the gradients (before fc2, between layers, the
      // embedding's), per layer eight (the recurrent dispatch, dPre and h_{t-1} packed, the bias sums, dW_ih,
      // dW_hh, dx and its unpacking), the embedding's two (into the tied fc2.weight); then the gradient norm's
      // two stages and Adam.
      const dispatches = 1 + 1 + 4 * L + (L - 1) + 1 + 1 + 1 + 3 + 3 + 1 + 1 + 8 * L + (L - 1) + 1 + 2 + 2 +
        1;
      const hyper = { ...ADAM_DEFAULTS, clip: 1 };
      const step = await counted(gpu, () => backend.trainStep(0, 4, hyper, { rate: 0.2, seed: 3 }));
      // Uploads: the step uniform, Adam's step, the dropout's settings, the packing (its count, the
      // positions of its rows, the row of each position, the rows by length with their lengths).
      assertEquals(step, { dispatches, passes: 1, submits: 1, readbacks: 0, writes: 7 });
      await backend.takeLosses();

      // Generation: 4 samples, 5 words, each word one advance of all four: one submit with its readback
      // (the embedding, per layer the projection and the recurrent dispatch, the head's input packed, fc2).
      const samples = 4, words = 5;
      const generated = await counted(gpu, async () => {
        const ids = await generateIds(
          backend,
          [Int32Array.of(0)],
          { steps: words, count: samples, temperature: 1 },
          new Rng(7),
        );
        assertEquals(ids.map((s) => s.length), [words, words, words, words]);
      });
      // Uploads per word: h0 and c0 of each layer, the ids, the step uniform, the packing's four.
      assertEquals(generated, {
        dispatches: words * (1 + 2 * L + 2),
        passes: words,
        submits: words,
        readbacks: words,
        writes: words * (2 * L + 6),
      });
    } finally {
      backend.destroy();
    }
  },
);

gpuTest("profiling times every kernel of a step in a pass of its own, by label", async (gpu) => {
  if (!gpu.device.features.has("timestamp-query")) return; // the adapter cannot time passes
  const backend = await createGpuBackend(gpu, WINDOW, { maxBatch: 4 });
  try {
    await backend.setParams(initParams(WINDOW, 0));
    await backend.setTrainData(new Int32Array(4 * WINDOW.window), new Int32Array(4), 4);
    gpu.profile = new KernelProfile(gpu.device);
    const t0 = performance.now();
    const c = await counted(gpu, () => backend.trainStep(0, 4, ADAM_DEFAULTS));
    const times = await gpu.profile.read();
    const wallMs = performance.now() - t0;
    gpu.profile = null;
    // One pass per kernel, still one submit; every dispatch timed under its builder's label.
    assertEquals(c.passes, c.dispatches);
    assertEquals(c.submits, 1);
    assertEquals(times.byLabel.reduce((n, k) => n + k.dispatches, 0), c.dispatches);
    for (const label of ["embedding", "lstm l1 recurrent backward", "fc2 forward", "xent", "adam"]) {
      assert(
        times.byLabel.some((k) => k.label === label),
        `${label} timed: ${JSON.stringify(times.byLabel)}`,
      );
    }
    assert(times.totalMs > 0 && times.byLabel.every((k) => k.ms >= 0), JSON.stringify(times));
    // The kernels ran between the submit and the readback: their times add up to less than that.
    assert(times.totalMs <= wallMs, `kernels ${times.totalMs} ms in a step of ${wallMs} ms`);
    const sum = times.byLabel.reduce((s, k) => s + k.ms, 0);
    assert(Math.abs(sum - times.totalMs) < 1e-9 * Math.max(1, sum), `${sum} vs ${times.totalMs}`);
    // Read, the profile is empty again.
    assertEquals((await new KernelProfile(gpu.device).read()).byLabel, []);
  } finally {
    gpu.profile = null;
    backend.destroy();
  }
});
