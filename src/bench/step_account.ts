/**
 * Where a training step's time goes and what a predicted word costs, for `deno task bench`: the work one step
 * and one word send to the GPU (dispatches, passes, submits, readbacks, uploads: counted by the Gpu wrapper
 * itself, src/gpu/device.ts), the GPU time of a step's kernels (each timed in its own pass by timestamp
 * queries, src/gpu/profile.ts), and the wall time per generated word of a batch of samples (one backend call
 * per word for all of them: src/sample/generate.ts). A step's wall time minus its kernel time is its fixed
 * cost: submits, waits, readbacks, the driver's passes and the host's encoding.
 */
import { countsSince, type Gpu, type GpuCounts } from "../gpu/device.ts";
import { KernelProfile, type KernelTimes } from "../gpu/profile.ts";
import type { Backend } from "../model/backend.ts";
import { Rng } from "../model/rng.ts";
import { generateIds } from "../sample/generate.ts";
import { median } from "./stats.ts";

/** What one training step and one loss readback send to the GPU, and the step's kernel time. */
export interface StepAccount {
  /** One trainStep (its uploads, its submit). */
  perStep: GpuCounts;
  /** One takeLosses (the loss ring's readback, every log interval). */
  lossReadback: GpuCounts;
  /** GPU milliseconds of one step's kernels (the median of the profiled steps); null without timestamps. */
  kernelMs: number | null;
  /** Per kernel label, one step's share (the profiled steps' mean), largest first. */
  kernels: KernelTimes["byLabel"];
}

/**
 * Counts one `step()` and one `takeLosses()` on `gpu`, then (where the device has timestamp queries) runs
 * `profiled` more steps with every kernel timed. The steps train: run it after the timed windows.
 */
export async function accountStep(
  gpu: Gpu,
  step: () => void,
  takeLosses: () => Promise<unknown>,
  profiled = 3,
): Promise<StepAccount> {
  const c0 = gpu.counts;
  step();
  const c1 = gpu.counts;
  await takeLosses();
  const c2 = gpu.counts;
  const account: StepAccount = {
    perStep: countsSince(c0, c1),
    lossReadback: countsSince(c1, c2),
    kernelMs: null,
    kernels: [],
  };
  if (!gpu.device.features.has("timestamp-query") || profiled < 1) return account;
  const totals: number[] = [];
  const byLabel = new Map<string, { ms: number; dispatches: number }>();
  gpu.profile = new KernelProfile(gpu.device);
  try {
    for (let i = 0; i < profiled; i++) {
      step();
      const times = await gpu.profile.read();
      totals.push(times.totalMs);
      for (const k of times.byLabel) {
        const e = byLabel.get(k.label) ?? { ms: 0, dispatches: 0 };
        byLabel.set(k.label, {
          ms: e.ms + k.ms / profiled,
          dispatches: e.dispatches + k.dispatches / profiled,
        });
      }
    }
    await takeLosses();
  } finally {
    gpu.profile = null;
  }
  account.kernelMs = median(totals);
  account.kernels = [...byLabel].map(([label, e]) => ({ label, ...e })).sort((a, b) => b.ms - a.ms);
  return account;
}

/** Generation's speed: wall milliseconds per word of `samples` samples drawn together. */
export interface WordLatency {
  msPerWord: number;
  words: number;
  samples: number;
  /** What one word sent to the GPU (the words' mean); absent on the CPU reference. */
  perWord?: GpuCounts;
}

/**
 * Draws `words` words for each of `samples` samples of `context` (temperature 1, no word special), after a
 * warm-up of 2 words: one backend call per word for every sample (a window model's logits of its windows,
 * a headline model's advance from the carried states), whose wall time and, with `gpu`, counts are taken.
 */
export async function wordLatency(
  backend: Backend,
  context: Int32Array,
  words: number,
  samples: number,
  gpu?: Gpu,
): Promise<WordLatency> {
  const draw = (steps: number, seed: number) =>
    generateIds(backend, [context], { steps, count: samples, temperature: 1 }, new Rng(seed));
  await draw(2, 1);
  const before = gpu?.counts;
  const t0 = performance.now();
  await draw(words, 0);
  const ms = performance.now() - t0;
  const latency: WordLatency = { msPerWord: ms / words, words, samples };
  if (gpu && before) {
    const c = countsSince(before, gpu.counts);
    latency.perWord = {
      dispatches: c.dispatches / words,
      passes: c.passes / words,
      submits: c.submits / words,
      readbacks: c.readbacks / words,
      writes: c.writes / words,
    };
  }
  return latency;
}
