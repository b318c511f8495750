/**
 * What `deno task bench` prints: the training-throughput table or the per-kernel table, and the same
 * numbers as one JSON object (snake_case keys, like the other commands' --json) for scripts and tests.
 */
import { adapterJson, type AdapterSummary, type GpuCounts } from "../gpu/device.ts";
import type { StepAccount, WordLatency } from "../bench/step_account.ts";
import type { BenchRow } from "../bench/kernels.ts";
import { table } from "./table.ts";
import {
  LOSS_EVERY,
  NOTEBOOK_EPOCHS,
  type Outcome,
  type Throughput,
  type TrainBenchReport,
} from "../deno/train_bench.ts";

const BACKENDS = ["webgpu", "cpu", "pytorch"] as const;

/** WebGPU's pairs/s over another backend's, when both were measured. */
function ratio(report: TrainBenchReport, other: "cpu" | "pytorch"): number | null {
  const a = report.webgpu;
  const b = report[other];
  return a.status === "ok" && b.status === "ok" ? a.result.pairsPerS / b.result.pairsPerS : null;
}

function epochSeconds(report: TrainBenchReport, r: Throughput): number {
  return (report.stepsPerEpoch * r.stepMs) / 1000;
}

export function trainReportJson(report: TrainBenchReport): Record<string, unknown> {
  const backend = (o: Outcome) => {
    if (o.status !== "ok") return { status: o.status, reason: o.reason };
    const r = o.result;
    return {
      status: "ok",
      pairs_per_s: r.pairsPerS,
      step_ms: r.stepMs,
      window_seconds: r.windowSeconds,
      steps: r.steps,
      repeats: r.repeats,
      last_loss: r.lastLoss,
      peak_rss_bytes: r.peakRssBytes ?? null,
      tensor_bytes: r.tensorBytes ?? null,
      epoch_seconds: epochSeconds(report, r),
      run_seconds: NOTEBOOK_EPOCHS * epochSeconds(report, r),
      detail: r.detail ?? null,
      step: r.account ? accountJson(r.account, r.stepMs) : null,
      generation: r.latency ? latencyJson(r.latency) : null,
    };
  };
  return {
    mode: "train",
    model: {
      ...report.config,
      kind: report.config.kind ?? "window",
      dropout: report.dropout,
      clip: report.clip ?? null,
    },
    data: {
      source: report.source,
      unit: report.unit,
      vocab: report.vocab,
      pairs: report.pairs,
      params: report.params,
      batch: report.batch,
      steps_per_epoch: report.stepsPerEpoch,
    },
    adapter: report.adapter ? adapterJson(report.adapter) : null,
    run_epochs: NOTEBOOK_EPOCHS,
    backends: Object.fromEntries(BACKENDS.map((b) => [b, backend(report[b])])),
    ratios: {
      webgpu_over_pytorch: ratio(report, "pytorch"),
      webgpu_over_cpu: ratio(report, "cpu"),
    },
  };
}

function countsJson(c: GpuCounts) {
  return {
    dispatches: c.dispatches,
    passes: c.passes,
    submits: c.submits,
    readbacks: c.readbacks,
    writes: c.writes,
  };
}

function accountJson(a: StepAccount, stepMs: number) {
  return {
    per_step: countsJson(a.perStep),
    loss_readback: countsJson(a.lossReadback),
    kernel_ms: a.kernelMs,
    fixed_ms: a.kernelMs === null ? null : stepMs - a.kernelMs,
    kernels: a.kernels.map((k) => ({ label: k.label, ms: k.ms, dispatches: k.dispatches })),
  };
}

function latencyJson(l: WordLatency) {
  return {
    ms_per_word: l.msPerWord,
    words: l.words,
    samples: l.samples,
    per_word: l.perWord ? countsJson(l.perWord) : null,
  };
}

/** The model in a few words: kind, sizes, head, tie, dropout and clip. */
function modelLine(report: TrainBenchReport): string {
  const c = report.config;
  const head = c.head === undefined ? `fc1 ${c.vocab} (V)` : c.head === 0 ? "direct head" : `fc1 ${c.head}`;
  return [
    `${c.kind ?? "window"} model`,
    ...(c.kind === "headline" ? [] : [`window ${c.window}`]),
    `embed ${c.embed}`,
    `hidden ${c.hidden} x ${c.layers}`,
    head + (c.tie ? ", tied to the embedding" : ""),
    ...(report.dropout > 0 ? [`dropout ${report.dropout}`] : []),
    ...(report.clip !== undefined ? [`clip ${report.clip}`] : []),
  ].join(", ");
}

/** A count per step or word: whole numbers as they are, means to 2 decimals. */
function n(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

function countsLine(c: GpuCounts): string {
  return `${n(c.dispatches)} dispatches, ${n(c.passes)} passes, ${n(c.submits)} submits, ` +
    `${n(c.readbacks)} readbacks, ${n(c.writes)} uploads`;
}

/** What a WebGPU step sends and where its time goes, and each backend's generation speed. */
function costLines(report: TrainBenchReport): string[] {
  const lines: string[] = [];
  const gpu = report.webgpu;
  if (gpu.status === "ok" && gpu.result.account) {
    const a = gpu.result.account;
    const step = gpu.result.stepMs;
    lines.push(
      "",
      `webgpu step: ${countsLine(a.perStep)}; the loss readback (every ${LOSS_EVERY} steps): ` +
        `${countsLine(a.lossReadback)}`,
    );
    if (a.kernelMs === null) {
      lines.push("webgpu step time: no timestamp-query on this adapter, so no kernel time to take from it");
    } else {
      const fixed = step - a.kernelMs;
      lines.push(
        `webgpu step time: ${step.toFixed(1)} ms = kernels ${
          a.kernelMs.toFixed(1)
        } ms (GPU timestamps, each ` +
          `kernel in its own pass) + fixed cost ${fixed.toFixed(1)} ms (${
            (100 * fixed / step).toFixed(0)
          }%: ` +
          "submits, readbacks, passes, the host)",
        "  largest kernels per step: " +
          a.kernels.slice(0, 6).map((k) => `${k.label} ${k.ms.toFixed(1)} ms`).join(", "),
      );
    }
  }
  const words: string[] = [];
  for (const b of BACKENDS) {
    const o = report[b];
    if (o.status !== "ok" || !o.result.latency) continue;
    const l = o.result.latency;
    words.push(`${b} ${l.msPerWord.toFixed(2)} ms` + (l.perWord ? ` (${countsLine(l.perWord)})` : ""));
  }
  if (words.length) {
    const l = [report.webgpu, report.cpu, report.pytorch].find((o) => o.status === "ok" && o.result.latency);
    const what = l?.status === "ok"
      ? `${l.result.latency!.samples} samples, ${l.result.latency!.words} words`
      : "";
    lines.push("", `generation, per word (${what}): ${words.join("; ")}`);
  }
  return lines;
}

export function formatTrainReport(report: TrainBenchReport): string {
  const lines = [
    `data: ${report.source}: vocab ${report.vocab}, ${report.pairs} ${report.unit}, ` +
    `${report.params.toLocaleString("en-US")} parameters, batch ${report.batch} ` +
    `(${report.stepsPerEpoch} steps per epoch)`,
    `model: ${modelLine(report)}`,
    `adapter: ${report.adapter ? adapterLine(report.adapter) : "none opened"}`,
    "",
  ];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const b of BACKENDS) {
    const o = report[b];
    if (o.status !== "ok") {
      rows.push([b, `${o.status}: ${o.reason}`]);
      continue;
    }
    const r = o.result;
    const epoch = epochSeconds(report, r);
    rows.push([
      b,
      r.pairsPerS.toFixed(0),
      r.stepMs.toFixed(1),
      `${r.repeats} x ${r.steps} steps`,
      r.peakRssBytes === undefined ? "-" : mib(r.peakRssBytes),
      r.tensorBytes === undefined ? "-" : `${mib(r.tensorBytes)} ${b === "webgpu" ? "GPU" : "host"}`,
      duration(epoch),
      duration(NOTEBOOK_EPOCHS * epoch),
    ]);
    if (r.detail) notes.push(`${b}: ${r.detail}`);
  }
  lines.push(
    ...table(
      [
        "backend",
        `${report.unit}/s`,
        "ms/step",
        "timed (median)",
        "peak RSS",
        "tensors",
        "epoch",
        `${NOTEBOOK_EPOCHS} epochs`,
      ],
      rows,
      "lrrlrrrr",
    ),
  );
  const fmt = (x: number | null) => (x === null ? "n/a" : `${x.toFixed(2)}x`);
  lines.push(
    "",
    `webgpu/pytorch: ${fmt(ratio(report, "pytorch"))}   webgpu/cpu: ${fmt(ratio(report, "cpu"))}   ` +
      `(${report.unit}/s; epoch times are steps per epoch x ms/step, without evaluation or checkpoints)`,
    "peak RSS: our process sampled after every step (on a software adapter it holds the GPU buffers too); " +
      "pytorch: its ru_maxrss",
    ...notes,
    ...costLines(report),
  );
  return lines.join("\n");
}

export interface KernelReport {
  adapter: AdapterSummary;
  timing: string;
  vocab: number;
  batch: number;
  rows: BenchRow[];
}

export function kernelReportJson(k: KernelReport): Record<string, unknown> {
  return {
    mode: "kernels",
    adapter: adapterJson(k.adapter),
    timing: k.timing,
    vocab: k.vocab,
    batch: k.batch,
    kernels: k.rows.map((r) => ({
      kernel: r.kernel,
      shape: r.shape,
      gpu_ms: r.ms,
      gflops: r.gflops ?? null,
      gbps: r.gbps ?? null,
      cpu_ms: r.cpuMs ?? null,
    })),
  };
}

export function formatKernelReport(k: KernelReport): string {
  const rows = k.rows.map((r) => [
    r.kernel,
    r.shape,
    r.ms.toFixed(3),
    r.gflops === undefined ? "" : r.gflops.toFixed(2),
    r.gbps === undefined ? "" : r.gbps.toFixed(2),
    r.cpuMs === undefined ? "" : r.cpuMs.toFixed(3),
    r.cpuMs === undefined ? "" : `${(r.cpuMs / r.ms).toFixed(1)}x`,
  ]);
  return [
    `kernels at V=${k.vocab}, batch ${k.batch} on ${adapterLine(k.adapter)}; GPU time by ${k.timing}, ` +
    "median per dispatch set; CPU = the TypeScript reference doing the same work",
    "",
    ...table(["kernel", "shape", "GPU ms", "GFLOP/s", "GB/s", "CPU ms", "CPU/GPU"], rows, "llrrrrr"),
  ].join("\n");
}

function adapterLine(a: AdapterSummary): string {
  return `${a.description}${a.isFallbackAdapter ? " (software adapter)" : ""}, backend ${a.backend}`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
