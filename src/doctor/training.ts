/**
 * A few training steps of the whole model on WebGPU and on the CPU reference, from the same weights on the
 * same seeded data (two full batches and a short last one), through the Backend contract that `deno task
 * train` uses: the per-step losses and the weights after the last step are compared. The headline model's
 * steps drop (dropout 0.3 at every place) and clip, its batches run as many positions as their longest rows
 * (the last one fewer), and after them two `advance` steps (the second from the first's carried state) are
 * compared too: logits and states.
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
import { sumTolerance } from "../facts/gemm.ts";
import { LSTM_TOLERANCE } from "../facts/lstm.ts";
import { type ModelConfig, outputInputs } from "../model/config.ts";
import type { AdamHyper } from "../model/optimizer.ts";
import type { DropoutSettings } from "../model/dropout.ts";

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
  /**
   * The headline model's: every logit reads the tied embedding, which Adam's first step moves by about lr
   * wherever its gradient is, so the later steps' losses carry the weights' difference (5.4e-6 relative)
   * further than the window model's: measured 6.3e-7 relative on lavapipe (56% of the window's tolerance).
   */
  headlineLosses: { atol: 1e-6, rtol: 1e-5 } satisfies Tolerance,
  /** Largest ||WebGPU - CPU|| / ||CPU - initial|| of any parameter tensor. */
  weights: 1e-3,
} as const;

/**
 * advance's logits: the head's GEMM over `inputs` values of an LSTM output that carries the forward's float32
 * error (the sum rule of src/facts/gemm.ts); its states: the LSTM forward's.
 */
export function advanceTolerances(inputs: number): { logits: Tolerance; state: Tolerance } {
  return { logits: sumTolerance(inputs), state: LSTM_TOLERANCE.forward };
}

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
  /** A headline model's positions per step (its batch's longest row). */
  positions?: number[];
  /** A headline model's two advance steps after training: logits, then the carried states. */
  advance?: CaseResult[];
  /** Whether both comparisons passed. */
  pass: boolean;
  /** Seconds of the WebGPU steps. */
  gpuSeconds: number;
  /** Seconds of the CPU reference's steps. */
  cpuSeconds: number;
}

/** What one backend does in the comparison: the steps' losses, the weights, advance's logits and states. */
interface Run {
  losses: number[];
  params: Float32Array;
  advance: Float32Array[];
  seconds: number;
}

/** The data, weights and steps both backends run. */
interface TrainingPlan {
  inputs: Int32Array;
  targets: Int32Array;
  count: number;
  order: Int32Array;
  init: Float32Array;
  /** Rows per step, each starting where the last ended. */
  steps: number[];
  hyper: AdamHyper;
  dropout?: DropoutSettings;
  /** Ids of the two advance steps after training (headline models). */
  advance?: [Int32Array, Int32Array];
}

async function run(backend: Backend, plan: TrainingPlan): Promise<Run> {
  const t0 = performance.now();
  try {
    await backend.setParams(plan.init);
    await backend.setTrainData(plan.inputs, plan.targets, plan.count);
    await backend.setOrder(plan.order);
    let start = 0;
    for (const size of plan.steps) {
      backend.trainStep(start, size, plan.hyper, plan.dropout);
      start += size;
    }
    const losses = await backend.takeLosses();
    const params = await backend.getParams();
    const advance: Float32Array[] = [];
    if (plan.advance) {
      const [first, second] = plan.advance;
      const one = await backend.advance!(null, first, first.length);
      const two = await backend.advance!(one.state, second, second.length);
      advance.push(one.logits, two.logits, two.state);
    }
    return { losses, params, advance, seconds: (performance.now() - t0) / 1000 };
  } finally {
    backend.destroy();
  }
}

/** The window model: 3 steps of shuffled pairs, Adam's defaults. */
export async function checkTraining(gpu: Gpu, shapes: DoctorShapes, seed: number): Promise<TrainingResult> {
  const cfg = shapes.model;
  const B = shapes.batch;
  const steps = [B, B, shapes.lastBatch];
  const pairs = steps.reduce((a, b) => a + b, 0);
  const plan: TrainingPlan = {
    inputs: randomInts(pairs * cfg.window, seed, cfg.vocab),
    targets: randomInts(pairs, seed + 1, cfg.vocab),
    count: pairs,
    order: new Rng(seed).shuffle(Int32Array.from({ length: pairs }, (_, i) => i)),
    init: initParams(cfg, seed),
    steps,
    hyper: ADAM_DEFAULTS,
  };
  const onGpu = await run(await createGpuBackend(gpu, cfg, { maxBatch: B }), plan);
  const onCpu = await run(await createCpuBackend(cfg), plan);
  return trainingResult(cfg, plan, onGpu, onCpu, TRAINING_TOLERANCES.losses);
}

/**
 * The headline model: 3 steps of rows whose first is as long as the buffers hold (the last batch's as its
 * short Tb), the others shorter; dropout 0.3, clip 1; then advance from no state and from the carried one.
 */
export async function checkHeadlineTraining(
  gpu: Gpu,
  shapes: DoctorShapes,
  seed: number,
): Promise<TrainingResult> {
  const { model: cfg, steps: T, lastSteps } = shapes.headline;
  const B = shapes.batch;
  const steps = [B, B, shapes.lastBatch];
  const count = steps.reduce((a, b) => a + b, 0);
  const rng = new Rng(seed);
  const inputs = new Int32Array(count * T);
  const targets = new Int32Array(count * T).fill(-1);
  const positions: number[] = [];
  let row = 0;
  for (const [k, size] of steps.entries()) {
    const longest = k < steps.length - 1 ? T : lastSteps;
    positions.push(longest);
    for (let b = 0; b < size; b++, row++) {
      const length = b === 0 ? longest : 1 + rng.int(longest);
      // <s> (id 0) first, as a headline row starts; padding past a row's end is <s> too.
      for (let t = 1; t < length; t++) inputs[row * T + t] = 2 + rng.int(cfg.vocab - 2);
      for (let t = 0; t < length; t++) targets[row * T + t] = 1 + rng.int(cfg.vocab - 1);
    }
  }
  const rows = Math.min(shapes.lastBatch, count);
  const plan: TrainingPlan = {
    inputs,
    targets,
    count,
    order: Int32Array.from({ length: count }, (_, i) => i),
    init: initParams(cfg, seed),
    steps,
    hyper: { ...ADAM_DEFAULTS, clip: 1 },
    dropout: { rate: 0.3, seed },
    advance: [new Int32Array(rows), Int32Array.from({ length: rows }, (_, r) => inputs[r * T + 1])],
  };
  const options = { maxBatch: B, maxSteps: T, dropout: true };
  const onGpu = await run(await createGpuBackend(gpu, cfg, options), plan);
  const onCpu = await run(await createCpuBackend(cfg), plan);
  const result = trainingResult(cfg, plan, onGpu, onCpu, TRAINING_TOLERANCES.headlineLosses);
  const tol = advanceTolerances(outputInputs(cfg));
  const advance = [
    compare(`advance logits of ${rows} rows from no state`, onGpu.advance[0], onCpu.advance[0], tol.logits),
    compare(`advance logits from the carried state`, onGpu.advance[1], onCpu.advance[1], tol.logits),
    compare(`advance's carried state after 2 steps`, onGpu.advance[2], onCpu.advance[2], tol.state),
  ];
  return { ...result, positions, advance, pass: result.pass && advance.every((c) => c.pass) };
}

/** Both runs compared: the losses of every step, the weights tensor by tensor. */
function trainingResult(
  cfg: ModelConfig,
  plan: TrainingPlan,
  onGpu: Run,
  onCpu: Run,
  tolerance: Tolerance,
): TrainingResult {
  const losses = compare(`losses of ${plan.steps.length} steps`, onGpu.losses, onCpu.losses, tolerance);
  const weights = compareWeights(cfg, plan.init, onGpu.params, onCpu.params);
  return {
    steps: plan.steps,
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
  cfg: ModelConfig,
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
