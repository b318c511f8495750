/**
 * A few training steps of the whole model on WebGPU and on the CPU reference, from the same weights on the
 * same seeded data (two full batches and a short last one), through the Backend contract that `deno task
 * train` uses: the per-step losses and the weights after the last step are compared.
 */
import { ADAM_DEFAULTS } from "../cpu/adam.ts";
import { createCpuBackend } from "../cpu/backend.ts";
import { createGpuBackend } from "../gpu/backend.ts";
import type { Gpu } from "../gpu/device.ts";
import type { Backend } from "../model/backend.ts";
import { initParams } from "../model/init.ts";
import { paramLayout } from "../model/layout.ts";
import { Rng } from "../model/rng.ts";
import { type CaseResult, compare, randomInts, type Tolerance } from "./compare.ts";
import type { DoctorShapes } from "./kernels.ts";

/**
 * Losses: float32 sums in another order through the whole model (measured up to 7e-7). Weights: Adam moves
 * each by about lr (1e-3) a step whatever the gradient's size, so a gradient element that float32 rounding
 * changes by a few per cent (a sum that nearly cancels) moves its weight differently by up to a few per cent
 * of lr: measured up to 7.7e-6 after 3 steps on lavapipe, GL and SwiftShader.
 */
export const TRAINING_TOLERANCES = {
  losses: { atol: 1e-5, rtol: 1e-5 },
  weights: { atol: 3e-5, rtol: 1e-5 },
} as const satisfies Record<string, Tolerance>;

export interface TrainingResult {
  /** Pairs per step, in order (the last one short). */
  steps: number[];
  gpuLosses: number[];
  cpuLosses: number[];
  losses: CaseResult;
  weights: CaseResult;
  /** The parameter tensor holding the weights' worst element. */
  worstTensor: string;
  pass: boolean;
  gpuSeconds: number;
  cpuSeconds: number;
}

export async function checkTraining(gpu: Gpu, shapes: DoctorShapes, seed: number): Promise<TrainingResult> {
  const cfg = shapes.model;
  const B = shapes.batch;
  const steps = [B, B, shapes.lastBatch];
  const pairs = steps.reduce((a, b) => a + b, 0);
  const inputs = randomInts(pairs * cfg.window, seed, cfg.vocab);
  const targets = randomInts(pairs, seed + 1, cfg.vocab);
  const order = new Rng(seed).shuffle(Int32Array.from({ length: pairs }, (_, i) => i));
  const init = initParams(cfg, seed);
  const hyper = ADAM_DEFAULTS;

  const run = async (backend: Backend) => {
    const t0 = performance.now();
    try {
      await backend.setParams(init);
      await backend.setTrainData(inputs, targets, pairs);
      await backend.setOrder(order);
      let start = 0;
      for (const size of steps) {
        backend.trainStep(start, size, hyper);
        start += size;
      }
      const losses = await backend.takeLosses();
      return { losses, params: await backend.getParams(), seconds: (performance.now() - t0) / 1000 };
    } finally {
      backend.destroy();
    }
  };
  const onGpu = await run(await createGpuBackend(gpu, cfg, { maxBatch: B }));
  const onCpu = await run(await createCpuBackend(cfg));
  const losses = compare(
    `losses of ${steps.length} steps`,
    onGpu.losses,
    onCpu.losses,
    TRAINING_TOLERANCES.losses,
  );
  const weights = compare(
    `weights after ${steps.length} steps`,
    onGpu.params,
    onCpu.params,
    TRAINING_TOLERANCES.weights,
  );
  const at = weights.worst.index;
  const worstTensor = paramLayout(cfg).tensors.find((t) => at >= t.offset && at < t.offset + t.size)?.name ??
    "(padding)";
  return {
    steps,
    gpuLosses: onGpu.losses,
    cpuLosses: onCpu.losses,
    losses,
    weights,
    worstTensor,
    pass: losses.pass && weights.pass,
    gpuSeconds: onGpu.seconds,
    cpuSeconds: onCpu.seconds,
  };
}
