/**
 * A few training steps of the whole model on WebGPU and on the CPU reference, from the same weights on the
 * same seeded data (two full batches and a short last one), through the Backend contract that `deno task
 * train` uses: the per-step losses and the weights after the last step are compared.
 */
import { ADAM_DEFAULTS } from "../model/optimizer.ts";
import { createCpuBackend } from "../cpu/backend.ts";
import { createGpuBackend } from "../gpu/backend.ts";
import type { Gpu } from "../gpu/device.ts";
import type { Backend } from "../model/backend.ts";
import { initParams } from "../model/init.ts";
import { paramLayout } from "../model/layout.ts";
import { Rng } from "../model/rng.ts";
import { type CaseResult, compare, randomInts, type Tolerance } from "./compare.ts";
import type { DoctorShapes } from "../facts/shapes.ts";

/**
 * Losses: float32 sums in another order through the whole model: measured up to 1.3e-6 (of ~7.8) over seeds
 * 1-6 on lavapipe, GL and SwiftShader. Weights: compared per tensor as the L2 norm of (WebGPU - CPU) over
 * the L2 norm of the CPU's update (after - before), measured up to 2.9e-5; a per-element bound would not do,
 * because Adam moves each weight by about lr whatever its gradient's size, so a gradient that nearly cancels
 * (a few per cent of float32 rounding) moves its weight differently by a few per cent of lr (up to 3.7e-5
 * measured on one of 6.7 M weights). A 0.1% error in one LSTM gate gives 6e-3 to 4e-2.
 */
export const TRAINING_TOLERANCES = {
  losses: { atol: 1e-6, rtol: 1e-6 } satisfies Tolerance,
  /** Largest ||WebGPU - CPU|| / ||CPU - initial|| of any parameter tensor. */
  weights: 1e-3,
} as const;

/** The weights after the steps, tensor by tensor. */
export interface WeightsComparison {
  /** ||WebGPU - CPU|| / ||CPU - initial|| per parameter tensor. */
  tensors: Array<{ name: string; relDiff: number }>;
  /** The tensor with the largest relDiff. */
  worst: { name: string; relDiff: number };
  /** Largest |WebGPU - CPU| of any weight, and its tensor (for information: no tolerance). */
  maxAbs: number;
  /** The tensor of maxAbs. */
  maxAbsTensor: string;
  /** The largest relDiff that passes. */
  tolerance: number;
  /** Whether every tensor's relDiff is within the tolerance. */
  pass: boolean;
}

/** The training comparison's figures: the steps, both backends' losses and the weights after them. */
export interface TrainingResult {
  /** Pairs per step, in order (the last one short). */
  steps: number[];
  /** WebGPU's loss at each step. */
  gpuLosses: number[];
  /** The CPU reference's loss at each step. */
  cpuLosses: number[];
  /** The two sequences of losses compared. */
  losses: CaseResult;
  /** The weights after the steps compared. */
  weights: WeightsComparison;
  /** Whether both comparisons passed. */
  pass: boolean;
  /** Seconds of the WebGPU steps. */
  gpuSeconds: number;
  /** Seconds of the CPU reference's steps. */
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
  const weights = compareWeights(cfg, init, onGpu.params, onCpu.params);
  return {
    steps,
    gpuLosses: onGpu.losses,
    cpuLosses: onCpu.losses,
    losses,
    weights,
    pass: losses.pass && weights.pass,
    gpuSeconds: onGpu.seconds,
    cpuSeconds: onCpu.seconds,
  };
}

function compareWeights(
  cfg: DoctorShapes["model"],
  init: Float32Array,
  gpu: Float32Array,
  cpu: Float32Array,
): WeightsComparison {
  const tensors: WeightsComparison["tensors"] = [];
  let maxAbs = 0, maxAbsTensor = "-";
  for (const t of paramLayout(cfg).tensors) {
    let diff = 0, update = 0;
    for (let i = t.offset; i < t.offset + t.size; i++) {
      const d = gpu[i] - cpu[i];
      const u = cpu[i] - init[i];
      diff += d * d;
      update += u * u;
      // NaN must fail: comparisons with NaN are false, so count it explicitly.
      if (!(Math.abs(d) <= maxAbs)) {
        maxAbs = Number.isNaN(d) ? Infinity : Math.abs(d);
        maxAbsTensor = t.name;
      }
    }
    const relDiff = diff === 0 ? 0 : update === 0 ? Infinity : Math.sqrt(diff / update);
    tensors.push({ name: t.name, relDiff: Number.isNaN(relDiff) ? Infinity : relDiff });
  }
  const worst = tensors.reduce((a, b) => (b.relDiff > a.relDiff ? b : a));
  const tolerance = TRAINING_TOLERANCES.weights;
  return { tensors, worst, maxAbs, maxAbsTensor, tolerance, pass: worst.relDiff <= tolerance };
}
