/**
 * What `deno task bench` prints: the training-throughput table or the per-kernel table, and the same
 * numbers as one JSON object (snake_case keys, like the other commands' --json) for scripts and tests.
 */
import { adapterJson, type AdapterSummary } from "../gpu/device.ts";
import type { BenchRow } from "../bench/kernels.ts";
import { table } from "./table.ts";
import {
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
    };
  };
  return {
    mode: "train",
    data: {
      source: report.source,
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

export function formatTrainReport(report: TrainBenchReport): string {
  const lines = [
    `data: ${report.source}: vocab ${report.vocab}, ${report.pairs} pairs, ` +
    `${report.params.toLocaleString("en-US")} parameters, batch ${report.batch} ` +
    `(${report.stepsPerEpoch} steps per epoch)`,
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
        "pairs/s",
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
      "(pairs/s; epoch times are steps per epoch x ms/step, without evaluation or checkpoints)",
    "peak RSS: our process sampled after every step (on a software adapter it holds the GPU buffers too); " +
      "pytorch: its ru_maxrss",
    ...notes,
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
