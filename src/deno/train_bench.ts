/**
 * Training throughput, measured in one run on the same data and the same batches: the WebGPU backend, the
 * CPU reference and PyTorch (bench/torch_reference.py, given the dataset as a prepared directory). Each
 * is timed over windows of steps after a warm-up, and the median window is reported, with peak memory
 * and the time an epoch (and the notebook's 200-epoch run) would take at that speed. For WebGPU also what a
 * step sends to the GPU and its kernel time (src/bench/step_account.ts); for each, the wall time per word
 * of generation.
 *
 * Every window trains on the first batches of the data in file order, which is what torch_reference.py
 * does with --max-steps, so the three see the same inputs: pairs for a window model, headline rows (each
 * batch as long as its longest) for a headline model.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend } from "../model/backend.ts";
import type { Dataset } from "../data/types.ts";
import { longestRow, type ModelRows, modelRows } from "../data/rows.ts";
import { BOS_ID } from "../data/vocab.ts";
import { accountStep, type StepAccount, type WordLatency, wordLatency } from "../bench/step_account.ts";
import { writePrepared } from "./data_files.ts";
import { ADAM_DEFAULTS, type AdamHyper } from "../model/optimizer.ts";
import type { DropoutSettings } from "../model/dropout.ts";
import { createCpuBackend } from "../cpu/backend.ts";
import { type AdapterSummary, type Gpu, NoAdapterError } from "../gpu/device.ts";
import { NO_ADAPTER_HINT, openGpu } from "./backends.ts";
import { asFlag, errorLine, spell } from "../errors.ts";
import { createGpuBackend } from "../gpu/backend.ts";
import { DEFAULT_MODEL, type ModelConfig, type ModelKind } from "../model/config.ts";
import { initParams } from "../model/init.ts";
import { paramLayout } from "../model/layout.ts";
import { median } from "../bench/stats.ts";
import { DEFAULT_EPOCHS, DEFAULT_LOG_EVERY } from "../train/defaults.ts";

/** The reference notebook trains this many epochs (train's default); the report projects a run of that length. */
export const NOTEBOOK_EPOCHS = DEFAULT_EPOCHS;

/** Losses are read back every this many steps: `deno task train`'s default --log-every. */
export const LOSS_EVERY = DEFAULT_LOG_EVERY;

/** Steps whose kernels are timed one by one after the timed windows (their median is reported). */
const PROFILED_STEPS = 3;

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

/** The model the bench trains: its kind and sizes (vocabulary and window come from the data). */
export interface BenchModel {
  kind: ModelKind;
  embed: number;
  hidden: number;
  layers: number;
  /** fc1's width; absent: V (the notebook's); 0: a direct head. */
  head?: number;
  /** fc2.weight is embed.weight. */
  tie?: boolean;
  /** Training's dropout rate (0: none). */
  dropout: number;
  /** clip_grad_norm_'s max norm (absent: no clipping). */
  clip?: number;
}

/** The notebook's window model, as the bench trains it unless told otherwise. */
export const NOTEBOOK_BENCH_MODEL: BenchModel = { kind: "window", ...DEFAULT_MODEL, dropout: 0 };

export interface TrainBenchOptions {
  batch: number;
  model: BenchModel;
  /** Generation's latency: words drawn for each of `samples` samples after the timed windows (0: none). */
  words: number;
  samples: number;
  /** PyTorch's threads (default: this machine's cores, as many as lavapipe uses). */
  torchThreads?: number;
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
  /** WebGPU: what a step sends to the GPU and its kernel time. */
  account?: StepAccount;
  /** Generation's wall time per word (and, on WebGPU, its counts). */
  latency?: WordLatency;
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
  /** The model trained: kind and sizes (window: the data's; head V for the notebook's). */
  config: ModelConfig;
  dropout: number;
  clip?: number;
  /** What a row is: a window model's pairs, a headline model's headlines. */
  unit: "pairs" | "headlines";
  vocab: number;
  /** Training rows (pairs or headlines). */
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

/** The model config the bench trains on `data`. */
export function benchConfig(data: Dataset, m: BenchModel): ModelConfig {
  const headline = m.kind === "headline";
  return {
    ...(headline ? { kind: "headline" as const } : {}),
    vocab: data.vocab.length,
    embed: m.embed,
    hidden: m.hidden,
    layers: m.layers,
    window: headline ? 1 : data.window,
    ...(m.head !== undefined ? { head: m.head } : {}),
    ...(m.tie ? { tie: true } : {}),
  };
}

/** How each backend trains: the rows, Adam's settings with the clip, the dropout, and the latency's ask. */
interface RunSettings {
  rows: ModelRows;
  hyper: AdamHyper;
  dropout?: DropoutSettings;
  /** Generation's latency: context to continue, words, samples (words 0: not measured). */
  words: number;
  samples: number;
  context: Int32Array;
}

export async function benchTraining(data: Dataset, opts: TrainBenchOptions): Promise<TrainBenchReport> {
  const m = opts.model;
  const cfg = benchConfig(data, m);
  const rows = modelRows(data, m.kind, "train");
  const batch = Math.min(opts.batch, rows.count);
  const run: RunSettings = {
    rows,
    hyper: m.clip === undefined ? ADAM_DEFAULTS : { ...ADAM_DEFAULTS, clip: m.clip },
    ...(m.dropout > 0 ? { dropout: { rate: m.dropout, seed: 0 } } : {}),
    words: opts.words,
    samples: Math.min(opts.samples, batch),
    // A headline model starts from "<s>"; a window model continues the first training window.
    context: m.kind === "headline" ? Int32Array.of(BOS_ID) : data.train.inputs.slice(0, data.window),
  };
  const report: TrainBenchReport = {
    source: data.source,
    config: cfg,
    dropout: m.dropout,
    ...(m.clip !== undefined ? { clip: m.clip } : {}),
    unit: m.kind === "headline" ? "headlines" : "pairs",
    vocab: cfg.vocab,
    pairs: rows.count,
    params: paramLayout(cfg).count,
    batch,
    stepsPerEpoch: Math.ceil(rows.count / batch),
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
        const backend = await createGpuBackend(gpu, cfg, {
          maxBatch: batch,
          maxSteps: longestRow(data, m.kind),
          dropout: m.dropout > 0,
        });
        return { status: "ok", result: await timeBackend(backend, run, batch, plan, opts.say, gpu) };
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
      return { status: "ok", result: await timeBackend(backend, run, batch, plan, opts.say) };
    });
  }
  if (opts.torch) {
    const plan = opts.torch;
    report.pytorch = await attempt(
      "pytorch",
      opts.say,
      () =>
        benchTorch(
          data,
          {
            model: m,
            cfg,
            batch,
            words: opts.words,
            samples: run.samples,
            threads: opts.torchThreads ?? navigator.hardwareConcurrency,
          },
          plan,
          opts.say,
        ),
    );
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
 * back every LOSS_EVERY steps and at the end of each window, as the training loop does. A window's time
 * runs from its first step to its last loss on the host, so queued GPU work is inside it. Then, on WebGPU
 * (`gpu`), one step's counts and kernel time (accountStep), and for every backend generation's latency.
 */
async function timeBackend(
  backend: Backend,
  run: RunSettings,
  batch: number,
  plan: WindowPlan,
  say: (line: string) => void,
  gpu?: Gpu,
): Promise<Throughput> {
  const name = backend.name.split(" ")[0];
  const P = run.rows.count;
  const fullBatches = Math.max(1, Math.floor(P / batch));
  let peakRss = Deno.memoryUsage().rss;
  try {
    await backend.setParams(initParams(backend.config, 0));
    await backend.setTrainData(run.rows.inputs, run.rows.targets, P);
    await backend.setOrder(Int32Array.from({ length: P }, (_, i) => i));
    let lastLoss = NaN;
    let taken = 0;
    const step = () => backend.trainStep((taken++ % fullBatches) * batch, batch, run.hyper, run.dropout);
    const takeLosses = async () => {
      const losses = await backend.takeLosses();
      lastLoss = losses[losses.length - 1];
      if (!losses.every(Number.isFinite)) throw new Error(`${name}: a training loss was ${lastLoss}`);
    };
    const steps = async (count: number) => {
      for (let i = 0; i < count; i++) {
        step();
        if ((i + 1) % LOSS_EVERY === 0 || i === count - 1) await takeLosses();
        peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
      }
    };
    say(`${name}: ${plan.warmup} warm-up step(s)`);
    await steps(plan.warmup);
    const windowSeconds: number[] = [];
    for (let r = 0; r < plan.repeats; r++) {
      const t0 = performance.now();
      await steps(plan.steps);
      windowSeconds.push((performance.now() - t0) / 1000);
      say(
        `${name}: window ${r + 1}/${plan.repeats}: ${plan.steps} steps in ${windowSeconds[r].toFixed(2)} s`,
      );
    }
    const seconds = median(windowSeconds);
    const result: Throughput = {
      pairsPerS: (plan.steps * batch) / seconds,
      stepMs: (seconds * 1000) / plan.steps,
      windowSeconds,
      steps: plan.steps,
      repeats: plan.repeats,
      lastLoss,
      peakRssBytes: peakRss,
      tensorBytes: backend.memoryBytes(),
    };
    if (gpu) {
      say(`${name}: one step counted, ${PROFILED_STEPS} with every kernel timed`);
      result.account = await accountStep(gpu, step, takeLosses, PROFILED_STEPS);
    }
    if (run.words > 0) {
      say(`${name}: generating ${run.words} words for ${run.samples} samples`);
      result.latency = await wordLatency(backend, run.context, run.words, run.samples, gpu);
    }
    return result;
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
 * with --max-steps), on `what.threads` threads.
 */
async function benchTorch(
  data: Dataset,
  what: {
    model: BenchModel;
    cfg: ModelConfig;
    batch: number;
    words: number;
    samples: number;
    threads: number;
  },
  plan: WindowPlan,
  say: (line: string) => void,
): Promise<Outcome> {
  const torch = await findTorch();
  if (!torch) return { status: "unavailable", reason: `no ${PYTHONS.join(" or ")} imports torch` };
  const { model: m, cfg } = what;
  const tmp = await Deno.makeTempDir({ prefix: "webgpu-lstm-bench-" });
  try {
    const prepared = join(tmp, "prepared");
    await writePrepared(prepared, data);
    const threads = what.threads;
    say(`pytorch: ${torch.python}, torch ${torch.version}, ${threads} threads: 1 + ${plan.repeats} windows`);
    const flag = (name: string, value: number | undefined) =>
      value === undefined ? [] : [`--${name}`, String(value)];
    const out = await new Deno.Command(torch.python, {
      args: [
        TORCH_SCRIPT,
        prepared,
        "--model-kind",
        m.kind,
        ...flag("epochs", plan.repeats),
        ...flag("max-steps", plan.steps),
        ...flag("batch", what.batch),
        ...flag("embed", cfg.embed),
        ...flag("hidden", cfg.hidden),
        ...flag("layers", cfg.layers),
        ...flag("head", cfg.head),
        ...(cfg.tie ? ["--tie"] : []),
        ...flag("dropout", m.dropout),
        ...flag("clip", m.clip),
        ...flag("words", what.words),
        ...flag("samples", what.samples),
        ...flag("threads", threads),
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
        ...(r.ms_per_word === undefined ? {} : {
          latency: { msPerWord: r.ms_per_word, words: what.words, samples: what.samples },
        }),
        detail: `torch ${r.torch} on ${r.device}, ${r.threads} threads, BLAS ${r.blas ?? "unknown"}` +
          (REFERENCE_BLAS.test(r.blas ?? "") ? ` (${REFERENCE_BLAS_NOTE})` : ""),
      },
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
