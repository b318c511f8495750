/**
 * The headline model, dropout and the direct and tied heads on WebGPU against the CPU reference, through the
 * Backend contract, on odd shapes: headline rows of random lengths in shuffled batches (each as long as its
 * longest row, a short last batch), dropout at every place, clipping; the validation loss over rows of every
 * length; the logits at every position; advance from carried states equal to the whole prefix; an fc1 head
 * with dropout (the head and the LSTM's GEMMs run over the packed positions with a target,
 * src/gpu/packing.ts, in every case); and a window model with dropout and a middle layer. Tolerances: float32 sums in other orders than the CPU's float64
 * ones, carried through Adam (which moves each weight by about lr whatever its gradient's scale).
 */
import { assert, assertAllClose, assertThrows } from "./assert.ts";
import { gpuTest } from "./gpu_harness.ts";
import { createGpuBackend } from "../src/gpu/backend.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import { IGNORE_TARGET } from "../src/data/sequences.ts";
import { initParams } from "../src/model/init.ts";
import { ADAM_DEFAULTS } from "../src/model/optimizer.ts";
import type { Backend } from "../src/model/backend.ts";
import type { ModelConfig } from "../src/model/config.ts";
import { Rng } from "../src/model/rng.ts";

/** `count` headline rows of 1..steps positions (the first the longest): <s> first, -1 after each end. */
function headlineRows(V: number, count: number, steps: number, seed: number) {
  const rng = new Rng(seed);
  const inputs = new Int32Array(count * steps);
  const targets = new Int32Array(count * steps).fill(IGNORE_TARGET);
  for (let r = 0; r < count; r++) {
    const length = r === 0 ? steps : 1 + rng.int(steps);
    for (let t = 0; t < steps; t++) inputs[r * steps + t] = t === 0 ? 0 : 2 + rng.int(V - 2);
    for (let t = 0; t < length; t++) targets[r * steps + t] = 1 + rng.int(V - 1);
  }
  return { inputs, targets };
}

/** The same training on a backend: shuffled order, batches of `batch` (the last short), dropout, clip. */
async function train(
  backend: Backend,
  cfg: ModelConfig,
  rows: { inputs: Int32Array; targets: Int32Array },
  count: number,
  batch: number,
  steps: number,
): Promise<number[]> {
  await backend.setParams(initParams(cfg, 6));
  await backend.setTrainData(rows.inputs, rows.targets, count);
  await backend.setOrder(new Rng(2).shuffle(Int32Array.from({ length: count }, (_, i) => i)));
  for (let s = 0; s < steps; s++) {
    const start = (s * batch) % count;
    backend.trainStep(start, Math.min(batch, count - start), { ...ADAM_DEFAULTS, lr: 1e-2, clip: 1 }, {
      rate: 0.3,
      seed: 11,
    });
  }
  return await backend.takeLosses();
}

/**
 * The same training (train above) on both backends, its losses and weights compared (losses relative to
 * `lossRtol`, weights within 5e-7), then the validation loss over `val` (relative to 2e-7).
 */
async function assertSameTraining(
  cpu: Backend,
  web: Backend,
  cfg: ModelConfig,
  data: { rows: ReturnType<typeof headlineRows>; count: number; batch: number; steps: number },
  lossRtol: number,
  val: { rows: ReturnType<typeof headlineRows>; count: number },
): Promise<void> {
  const { rows, count, batch, steps } = data;
  const cpuLosses = await train(cpu, cfg, rows, count, batch, steps);
  const webLosses = await train(web, cfg, rows, count, batch, steps);
  assertAllClose(webLosses, cpuLosses, { atol: 0, rtol: lossRtol, what: "losses" });
  assertAllClose(await web.getParams(), await cpu.getParams(), { atol: 5e-7, rtol: 0, what: "weights" });
  const [cpuVal, webVal] = [
    await cpu.evalLoss(val.rows.inputs, val.rows.targets, val.count),
    await web.evalLoss(val.rows.inputs, val.rows.targets, val.count),
  ];
  assertAllClose([webVal], [cpuVal], { atol: 0, rtol: 2e-7, what: "validation loss" });
}

const HEADLINE: ModelConfig = {
  kind: "headline",
  vocab: 37,
  embed: 7,
  hidden: 7,
  layers: 2,
  window: 1,
  head: 0,
  tie: true,
};

gpuTest(
  "headline model, tied direct head, dropout, clip: WebGPU trains, evaluates and advances as the CPU reference",
  async (gpu) => {
    const count = 13, steps = 9, batch = 5;
    const rows = headlineRows(HEADLINE.vocab, count, steps, 4);
    const cpu = await createCpuBackend(HEADLINE);
    const web = await createGpuBackend(gpu, HEADLINE, { maxBatch: batch, maxSteps: steps, dropout: true });
    try {
      // 8 steps: every batch of the epoch (5, 5, 3 rows) and into the next, each as long as its longest row;
      // then the validation loss over rows of other lengths, in chunks of the batch. Measured: 1.5e-7 relative
      // on the losses, 1.8e-7 on a weight, 3.6e-8 on the validation loss.
      const val = headlineRows(HEADLINE.vocab, 11, 7, 9);
      await assertSameTraining(cpu, web, HEADLINE, { rows, count, batch, steps: 8 }, 5e-7, {
        rows: val,
        count: 11,
      });

      // Logits at every position; then advance, one position at a time, gives the same rows.
      const cpuLogits = await cpu.logits(val.inputs, 11);
      const webLogits = await web.logits(val.inputs, 11);
      assertAllClose(webLogits, cpuLogits, { atol: 1e-6, rtol: 0, what: "logits" }); // measured 3.9e-7
      const V = HEADLINE.vocab;
      let state: Float32Array | null = null;
      for (let t = 0; t < 7; t++) {
        const ids = Int32Array.from({ length: 11 }, (_, r) => val.inputs[r * 7 + t]);
        const out: { logits: Float32Array; state: Float32Array } = await web.advance(state, ids, 11);
        state = out.state;
        for (let r = 0; r < 11; r++) {
          const at = (r * 7 + t) * V;
          assertAllClose(out.logits.subarray(r * V, (r + 1) * V), cpuLogits.subarray(at, at + V), {
            atol: 1e-6,
            rtol: 0,
            what: `advance row ${r} position ${t}`,
          });
        }
      }
      // Rows longer than the buffers hold are refused, not read past.
      const long = headlineRows(HEADLINE.vocab, 2, steps + 1, 1);
      await assertRejectsLine(() => web.evalLoss(long.inputs, long.targets, 2), /buffers hold 9/);
    } finally {
      cpu.destroy();
      web.destroy();
    }
  },
);

gpuTest(
  "headline model, fc1 head with dropout before fc2: WebGPU trains and evaluates as the CPU reference (the " +
    "head's dropout masks the packed rows as their positions)",
  async (gpu) => {
    const cfg: ModelConfig = {
      kind: "headline",
      vocab: 31,
      embed: 6,
      hidden: 5,
      layers: 1,
      window: 1,
      head: 11,
    };
    const count = 11, steps = 5, batch = 4;
    const rows = headlineRows(cfg.vocab, count, steps, 8);
    const cpu = await createCpuBackend(cfg);
    const web = await createGpuBackend(gpu, cfg, {
      maxBatch: batch,
      maxSteps: steps,
      dropout: true,
    });
    try {
      // Measured: 7.3e-8 relative on the losses, 1.2e-7 on a weight, 2.7e-8 on the validation loss.
      const val = headlineRows(cfg.vocab, 7, 5, 12);
      await assertSameTraining(cpu, web, cfg, { rows, count, batch, steps: 5 }, 3e-7, {
        rows: val,
        count: 7,
      });
    } finally {
      cpu.destroy();
      web.destroy();
    }
  },
);

gpuTest(
  "window model with a middle layer and dropout: WebGPU trains as the CPU reference; advance is refused",
  async (gpu) => {
    const cfg: ModelConfig = { vocab: 41, embed: 5, hidden: 6, layers: 3, window: 3, head: 9 };
    const count = 23, batch = 8;
    const rng = new Rng(3);
    const rows = {
      inputs: Int32Array.from({ length: count * 3 }, () => rng.int(41)),
      targets: Int32Array.from({ length: count }, () => rng.int(41)),
    };
    const cpu = await createCpuBackend(cfg);
    const web = await createGpuBackend(gpu, cfg, { maxBatch: batch, dropout: true });
    try {
      const cpuLosses = await train(cpu, cfg, rows, count, batch, 6);
      const webLosses = await train(web, cfg, rows, count, batch, 6);
      // Measured: 1.1e-7 relative on the losses, 1.5e-7 on a weight.
      assertAllClose(webLosses, cpuLosses, { atol: 0, rtol: 5e-7, what: "losses" });
      assertAllClose(await web.getParams(), await cpu.getParams(), { atol: 5e-7, rtol: 0, what: "weights" });
      // Without dropout built in, a step that drops is refused.
      const plain = await createGpuBackend(gpu, cfg, { maxBatch: batch });
      await plain.setTrainData(rows.inputs, rows.targets, count);
      assertThrows(() => plain.trainStep(0, 8, ADAM_DEFAULTS, { rate: 0.1, seed: 0 }), /built without it/);
      plain.destroy();
      assertThrows(() => web.advance(null, Int32Array.of(1), 1), /a window model carries no state/);
    } finally {
      cpu.destroy();
      web.destroy();
    }
  },
);

/** A rejection whose message matches. */
async function assertRejectsLine(f: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await f();
  } catch (e) {
    assert(pattern.test((e as Error).message), (e as Error).message);
    return;
  }
  throw new Error(`expected a rejection matching ${pattern}`);
}
