/**
 * Training throughput, measured in one run on the same data and the same batches: the WebGPU backend, the
 * CPU reference and PyTorch (bench/torch_reference.py, given the dataset as a prepared directory). Each
 * is timed over windows of steps after a warm-up, and the median window is reported, with peak memory
 * and the time an epoch (and the notebook's 200-epoch run) would take at that speed.
 *
 * Every window trains on the first batches of the data in file order, which is what torch_reference.py
 * does with --max-steps, so the three see the same inputs.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend } from "../model/backend.ts";
import type { Dataset } from "../data/types.ts";
import { writePrepared } from "./data_files.ts";
import { ADAM_DEFAULTS } from "../model/optimizer.ts";
import { createCpuBackend } from "../cpu/backend.ts";
import { type AdapterSummary, type Gpu, NoAdapterError } from "../gpu/device.ts";
import { NO_ADAPTER_HINT, openGpu } from "./backends.ts";
import { asFlag, errorLine, spell } from "../errors.ts";
import { createGpuBackend } from "../gpu/backend.ts";
import { DEFAULT_MODEL, type ModelConfig } from "../model/config.ts";
import { initParams } from "../model/init.ts";
import { paramLayout } from "../model/layout.ts";
import { median } from "../bench/stats.ts";
import { DEFAULT_EPOCHS, DEFAULT_LOG_EVERY } from "../train/defaults.ts";

/** The reference notebook trains this many epochs (train's default); the report projects a run of that length. */
export const NOTEBOOK_EPOCHS = DEFAULT_EPOCHS;

/** Losses are read back every this many steps: `deno task train`'s default --log-every. */
const LOG_EVERY = DEFAULT_LOG_EVERY;

const TORCH_SCRIPT = fileURLToPath(new URL("../../bench/torch_reference.py", import.meta.url));

/**
 * Debian's netlib reference BLAS (package libblas3), which Debian's torch calls when no optimised BLAS is
 * installed. Measured on the project's machine: 64x2482x2482 at 5.4 GFLOP/s with it, 52 with OpenBLAS,
 * and torch_reference.py on April 2017 at 88 vs 260 pairs/s. Without an optimised BLAS the ratio to PyTorch says little.
 */
const REFERENCE_BLAS = /\/blas\/libblas\.so/;
const REFERENCE_BLAS_NOTE = "the unoptimised netlib reference BLAS: OpenBLAS " +
  "(apt-get install libopenblas0-pthread) made PyTorch ~3x faster on this model";

/** Interpreters tried for PyTorch, in order: the first that imports torch runs the reference. */
const PYTHONS = ["python3", "/usr/bin/python3"];

export interface WindowPlan {
  /** Steps per timed window. */
  steps: number;
  /** Timed windows; the median is reported. */
  repeats: number;
  /** Untimed steps first (the first also builds the GPU pipelines). */
  warmup: number;
}

export interface TrainBenchOptions {
  batch: number;
  webgpu: WindowPlan | null;
  cpu: WindowPlan | null;
  torch: WindowPlan | null;
  /** Progress lines (stderr). */
  say(line: string): void;
}

/** One backend's measurement. */
export interface Throughput {
  pairsPerS: number;
  stepMs: number;
  /** Seconds of each timed window, in the order run. */
  windowSeconds: number[];
  steps: number;
  repeats: number;
  /** Loss of the last timed step (a sanity check that it trained). */
  lastLoss: number;
  /** Peak resident memory of the process that trained (ours: sampled after every step). */
  peakRssBytes?: number;
  /** Bytes the backend holds for tensors: GPU buffers for webgpu, arrays for cpu. */
  tensorBytes?: number;
  /** What ran it, when it is not obvious (PyTorch's version, device and threads). */
  detail?: string;
}

/** A backend that was measured, not asked for, not there, or failed. */
export type Outcome =
  | { status: "ok"; result: Throughput }
  | { status: "skipped"; reason: string }
  | { status: "unavailable"; reason: string }
  | { status: "failed"; reason: string };

export interface TrainBenchReport {
  source: string;
  vocab: number;
  pairs: number;
  params: number;
  batch: number;
  /** Steps in one epoch at this batch: what the projections multiply. */
  stepsPerEpoch: number;
  adapter: AdapterSummary | null;
  webgpu: Outcome;
  cpu: Outcome;
  pytorch: Outcome;
}

export async function benchTraining(data: Dataset, opts: TrainBenchOptions): Promise<TrainBenchReport> {
  const batch = Math.min(opts.batch, data.train.count);
  const cfg: ModelConfig = { ...DEFAULT_MODEL, vocab: data.vocab.length, window: data.window };
  const report: TrainBenchReport = {
    source: data.source,
    vocab: cfg.vocab,
    pairs: data.train.count,
    params: paramLayout(cfg).count,
    batch,
    stepsPerEpoch: Math.ceil(data.train.count / batch),
    adapter: null,
    webgpu: { status: "skipped", reason: "not asked for" },
    cpu: { status: "skipped", reason: "--no-cpu" },
    pytorch: { status: "skipped", reason: "--no-torch" },
  };

  if (opts.webgpu) {
    const plan = opts.webgpu;
    report.webgpu = await attempt("webgpu", opts.say, async () => {
      let gpu: Gpu;
      try {
        gpu = await openGpu();
      } catch (e) {
        if (e instanceof NoAdapterError) {
          return { status: "unavailable", reason: spell(NO_ADAPTER_HINT, asFlag) };
        }
        throw e;
      }
      report.adapter = gpu.adapter;
      try {
        const backend = await createGpuBackend(gpu, cfg, { maxBatch: batch });
        return { status: "ok", result: await timeBackend(backend, data, batch, plan, opts.say) };
      } finally {
        // Frees what the software adapter holds in our memory before the CPU reference's peak is taken.
        gpu.device.destroy();
      }
    });
  }
  if (opts.cpu) {
    const plan = opts.cpu;
    report.cpu = await attempt("cpu", opts.say, async () => {
      const backend = await createCpuBackend(cfg);
      return { status: "ok", result: await timeBackend(backend, data, batch, plan, opts.say) };
    });
  }
  if (opts.torch) {
    const plan = opts.torch;
    report.pytorch = await attempt("pytorch", opts.say, () => benchTorch(data, cfg, batch, plan, opts.say));
  }
  return report;
}

/** Runs one backend's measurement; an error becomes its "failed" outcome, so the others still run. */
async function attempt(
  name: string,
  say: (line: string) => void,
  fn: () => Promise<Outcome>,
): Promise<Outcome> {
  try {
    return await fn();
  } catch (e) {
    const reason = errorLine(e);
    say(`${name}: failed: ${reason}`);
    return { status: "failed", reason };
  }
}

/**
 * Trains `plan.warmup` untimed steps, then `plan.repeats` windows of `plan.steps` steps, reading the losses
 * back every LOG_EVERY steps and at the end of each window, as the training loop does. A window's time
 * runs from its first step to its last loss on the host, so queued GPU work is inside it.
 */
async function timeBackend(
  backend: Backend,
  data: Dataset,
  batch: number,
  plan: WindowPlan,
  say: (line: string) => void,
): Promise<Throughput> {
  const name = backend.name.split(" ")[0];
  const P = data.train.count;
  const fullBatches = Math.max(1, Math.floor(P / batch));
  let peakRss = Deno.memoryUsage().rss;
  try {
    await backend.setParams(initParams(backend.config, 0));
    await backend.setTrainData(data.train.inputs, data.train.targets, P);
    await backend.setOrder(Int32Array.from({ length: P }, (_, i) => i));
    let lastLoss = NaN;
    const run = async (steps: number) => {
      for (let i = 0; i < steps; i++) {
        backend.trainStep((i % fullBatches) * batch, batch, ADAM_DEFAULTS);
        if ((i + 1) % LOG_EVERY === 0 || i === steps - 1) {
          const losses = await backend.takeLosses();
          lastLoss = losses[losses.length - 1];
          if (!losses.every(Number.isFinite)) throw new Error(`${name}: a training loss was ${lastLoss}`);
        }
        peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
      }
    };
    say(`${name}: ${plan.warmup} warm-up step(s)`);
    await run(plan.warmup);
    const windowSeconds: number[] = [];
    for (let r = 0; r < plan.repeats; r++) {
      const t0 = performance.now();
      await run(plan.steps);
      windowSeconds.push((performance.now() - t0) / 1000);
      say(
        `${name}: window ${r + 1}/${plan.repeats}: ${plan.steps} steps in ${windowSeconds[r].toFixed(2)} s`,
      );
    }
    const seconds = median(windowSeconds);
    return {
      pairsPerS: (plan.steps * batch) / seconds,
      stepMs: (seconds * 1000) / plan.steps,
      windowSeconds,
      steps: plan.steps,
      repeats: plan.repeats,
      lastLoss,
      peakRssBytes: peakRss,
      tensorBytes: backend.memoryBytes(),
    };
  } finally {
    backend.destroy();
  }
}

/** The first interpreter that imports torch, with torch's version; null when none does. */
async function findTorch(): Promise<{ python: string; version: string } | null> {
  for (const python of PYTHONS) {
    try {
      const out = await new Deno.Command(python, {
        args: ["-c", "import torch; print(torch.__version__)"],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (out.code === 0) return { python, version: new TextDecoder().decode(out.stdout).trim() };
    } catch {
      // Not installed: try the next one.
    }
  }
  return null;
}

/**
 * bench/torch_reference.py on the same pairs: the dataset written as a prepared directory in a temp dir,
 * the same model sizes and batch, one warm-up window of `steps` then `repeats` timed ones (its --epochs
 * with --max-steps), on as many threads as this machine has cores (what lavapipe uses too).
 */
async function benchTorch(
  data: Dataset,
  cfg: ModelConfig,
  batch: number,
  plan: WindowPlan,
  say: (line: string) => void,
): Promise<Outcome> {
  const torch = await findTorch();
  if (!torch) return { status: "unavailable", reason: `no ${PYTHONS.join(" or ")} imports torch` };
  const tmp = await Deno.makeTempDir({ prefix: "webgpu-lstm-bench-" });
  try {
    const prepared = join(tmp, "prepared");
    await writePrepared(prepared, data);
    const threads = navigator.hardwareConcurrency;
    say(`pytorch: ${torch.python}, torch ${torch.version}, ${threads} threads: 1 + ${plan.repeats} windows`);
    const out = await new Deno.Command(torch.python, {
      args: [
        TORCH_SCRIPT,
        prepared,
        "--epochs",
        String(plan.repeats),
        "--max-steps",
        String(plan.steps),
        "--batch",
        String(batch),
        "--embed",
        String(cfg.embed),
        "--hidden",
        String(cfg.hidden),
        "--layers",
        String(cfg.layers),
        "--threads",
        String(threads),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    if (out.code !== 0) {
      const lines = text.decode(out.stderr).trim().split("\n");
      throw new Error(`torch_reference.py exited ${out.code}: ${lines[lines.length - 1]}`);
    }
    const r = JSON.parse(text.decode(out.stdout).trim().split("\n").pop()!);
    const windowSeconds: number[] = r.epoch_seconds;
    const seconds = median(windowSeconds);
    return {
      status: "ok",
      result: {
        pairsPerS: r.pairs_per_s,
        stepMs: (seconds * 1000) / r.steps,
        windowSeconds,
        steps: r.steps,
        repeats: windowSeconds.length,
        lastLoss: r.last_loss,
        peakRssBytes: r.max_rss_bytes,
        detail: `torch ${r.torch} on ${r.device}, ${r.threads} threads, BLAS ${r.blas ?? "unknown"}` +
          (REFERENCE_BLAS.test(r.blas ?? "") ? ` (${REFERENCE_BLAS_NOTE})` : ""),
      },
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
