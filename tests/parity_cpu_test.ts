/**
 * Parity of the CPU reference Backend with PyTorch: a run of bench/make_parity_fixture.py replayed step by
 * step (tests/parity_harness.ts): PyTorch's initial weights, the same pairs in file order, the same batches
 * and Adam; every step's loss and the final weights compared with tolerances near what is measured (their
 * measurements: TOLERANCE in parity_harness.ts).
 *
 * 1. tests/fixtures/parity/tiny, in the repository, so it runs on every clean clone: V = 142, embedding 6,
 *    3 LSTM layers of 12 over a 3-word window, batch 16, 390 steps (30 epochs). A 0.1% error in any gate
 *    of the reference LSTM fails it (the mutation table in tests/parity_harness.ts).
 *    tests/fixtures/parity/tiny-boundaries: the same corpus with headline boundaries (--boundaries: <s>
 *    and </s>, 390 pairs), 375 steps; the generator rebuilt its pairs in Python before training.
 *    tests/fixtures/parity/tiny-clip: the tiny run with torch.nn.utils.clip_grad_norm_(params, 1.0) before
 *    each step (306 of the 390 steps clipped): the replay passes AdamHyper.clip.
 * 2. The notebook's model on April 2017 (../shared/data/parity/apr2017-seed0): the first 10 steps' losses;
 *    PARITY_FULL=1 runs all 63 (about 3 minutes) and compares the final weights. Skips visibly when the
 *    shared data is absent.
 */
import { createCpuBackend } from "../src/cpu/backend.ts";
import type { Backend } from "../src/model/backend.ts";
import type { ModelConfig } from "../src/model/config.ts";
import { assertEquals } from "./assert.ts";
import * as parity from "./parity_harness.ts";

const FULL = Deno.env.get("PARITY_FULL") === "1";
const april = parity.haveApril("April 2017 parity tests");
if (april && !FULL) {
  console.warn("parity: April 2017 full 63-step run and final-weight comparison ignored (set PARITY_FULL=1)");
}

/** Runs `fn` on a fresh CPU backend for the fixture's model and destroys it afterwards. */
async function withCpu<T>(cfg: ModelConfig, fn: (b: Backend) => Promise<T>): Promise<T> {
  const backend = await createCpuBackend(cfg);
  try {
    return await fn(backend);
  } finally {
    backend.destroy();
  }
}

Deno.test("parity, tiny fixture: the CPU reference's 390 losses and final weights equal PyTorch's", async () => {
  const fx = await parity.readFixture(parity.TINY_DIR);
  const pairs = await parity.fixturePairs(fx, parity.TINY_CORPUS);
  const run = await withCpu(fx.settings.model, (b) => parity.replay(b, fx, pairs));
  console.log(`parity tiny: ${fx.settings.steps} CPU steps in ${run.seconds.toFixed(1)} s`);
  await parity.checkReplay("parity tiny (cpu)", fx, run, parity.TOLERANCE.tiny.cpu);
});

Deno.test("parity, tiny fixture with boundaries: the CPU reference's 375 losses and final weights equal PyTorch's", async () => {
  const fx = await parity.readFixture(parity.TINY_BOUNDARIES_DIR);
  const pairs = await parity.fixturePairs(fx, parity.TINY_CORPUS);
  assertEquals([fx.vocab[0], fx.vocab[1], pairs.count], ["<s>", "</s>", 390]);
  const run = await withCpu(fx.settings.model, (b) => parity.replay(b, fx, pairs));
  console.log(`parity tiny boundaries: ${fx.settings.steps} CPU steps in ${run.seconds.toFixed(1)} s`);
  await parity.checkReplay("parity tiny boundaries (cpu)", fx, run, parity.TOLERANCE.tinyBoundaries.cpu);
});

Deno.test("parity, tiny headline fixture with dropout: the CPU reference's 300 losses and final weights equal PyTorch's", async () => {
  const fx = await parity.readFixture(parity.TINY_HEADLINE_DIR);
  const rows = await parity.fixturePairs(fx, parity.TINY_CORPUS);
  assertEquals([fx.settings.model.kind, fx.settings.dropout?.rate, rows.count], ["headline", 0.2, 47]);
  const run = await withCpu(fx.settings.model, (b) => parity.replay(b, fx, rows));
  console.log(`parity tiny headline: ${fx.settings.steps} CPU steps in ${run.seconds.toFixed(1)} s`);
  await parity.checkReplay("parity tiny headline (cpu)", fx, run, parity.TOLERANCE.tinyHeadline.cpu);
});

Deno.test("parity, tiny headline fixture with a tied direct head: the CPU reference's 300 losses and final weights equal PyTorch's", async () => {
  const fx = await parity.readFixture(parity.TINY_HEADLINE_TIED_DIR);
  const rows = await parity.fixturePairs(fx, parity.TINY_CORPUS);
  assertEquals([fx.settings.model.tie, fx.settings.model.head, rows.count], [true, 0, 47]);
  const run = await withCpu(fx.settings.model, (b) => parity.replay(b, fx, rows));
  await parity.checkReplay("parity tiny headline tied (cpu)", fx, run, parity.TOLERANCE.tinyHeadlineTied.cpu);
});

Deno.test("parity, tiny fixture with clip_grad_norm_: the CPU reference's 390 losses and final weights equal PyTorch's", async () => {
  const fx = await parity.readFixture(parity.TINY_CLIP_DIR);
  assertEquals(fx.settings.optimizer.clip_grad_norm, 1);
  const pairs = await parity.fixturePairs(fx, parity.TINY_CORPUS);
  const run = await withCpu(fx.settings.model, (b) => parity.replay(b, fx, pairs));
  console.log(`parity tiny clip: ${fx.settings.steps} CPU steps in ${run.seconds.toFixed(1)} s`);
  await parity.checkReplay("parity tiny clip (cpu)", fx, run, parity.TOLERANCE.tinyClip.cpu);
});

async function aprilRun(steps: number) {
  const fx = await parity.readFixture(parity.APRIL_DIR, parity.APRIL_SETTINGS);
  const pairs = await parity.fixturePairs(fx, parity.APRIL_CSV);
  const run = await withCpu(fx.settings.model, (b) => parity.replay(b, fx, pairs, steps));
  console.log(`parity April: ${steps} CPU steps in ${run.seconds.toFixed(1)} s`);
  return { fx, run };
}

Deno.test({
  name: "parity, April 2017: the CPU reference's first 10 losses equal PyTorch's",
  ignore: !april,
  fn: async () => {
    const { fx, run } = await aprilRun(10);
    await parity.checkApril("parity April (cpu)", fx, run, parity.TOLERANCE.april.cpuLossRtol10);
  },
});

Deno.test({
  name: "parity, April 2017 (PARITY_FULL=1): the CPU reference's 63 losses and final weights equal PyTorch's",
  ignore: !april || !FULL,
  fn: async () => {
    const { fx, run } = await aprilRun(63);
    await parity.checkApril(
      "parity April (cpu)",
      fx,
      run,
      parity.TOLERANCE.april.cpuLossRtol63,
      parity.TOLERANCE.april.cpuWeights,
    );
  },
});
