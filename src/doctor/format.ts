/**
 * The doctor's report as text (in pieces, so a CLI can print each kernel's row as it finishes) and as one
 * JSON object (snake_case keys, like the other commands' --json). Pure functions: no printing.
 */
import { adapterJson } from "../gpu/device.ts";
import type { CaseResult } from "./compare.ts";
import type { DoctorHeader, DoctorReport, KernelRow, TrainingRow } from "./doctor.ts";
import { num } from "../facts/tolerance.ts";
import { headWidth, type ModelConfig } from "../model/config.ts";

const e = (x: number, digits = 1) => (Number.isFinite(x) ? x.toExponential(digits) : String(x));
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

/** Adapter, features, limits, the variants chosen for the model and what will be checked. */
export function formatHeader(h: DoctorHeader): string {
  const a = h.adapter;
  const m = h.shapes.model;
  const hm = h.shapes.headline.model;
  const lines = [
    `adapter   ${a.description}`,
    `          vendor ${vendor(a.vendor)}, architecture ${a.architecture || "-"}, backend ${a.backend}, ` +
    (a.isFallbackAdapter ? "fallback (software) adapter" : "not a fallback adapter"),
    ...h.features.map((f, i) =>
      `${i === 0 ? "features " : "         "} ${pad(f.name, 16)} ${f.present ? "yes" : "no "}  ${f.use}`
    ),
    ...h.limits.map((l, i) =>
      `${i === 0 ? "limits   " : "         "} ${pad(l.name, 34)} ${
        lpad(String(l.value), 10)
      }  needs ${l.need}`
    ),
    "",
    `kernel variants the runtime chooses for the model (V ${m.vocab}, E ${m.embed}, H ${m.hidden}, ` +
    `${m.layers} layers, window ${m.window}, batch ${h.shapes.batch}) and the headline model (V ${hm.vocab}, ` +
    `E ${hm.embed}, H ${hm.hidden}, ${hm.layers} layers, ${headDescription(hm)}, rows of up to ` +
    `${h.shapes.headline.steps} positions):`,
    ...h.choices.flatMap((c) => [`  ${pad(c.op, 28)} ${pad(c.shape, 26)} ${c.kernel}`, `      ${c.reason}`]),
    "",
  ];
  if (h.reduced) lines.push(`SMALLER SHAPES: ${h.reduced}`, "");
  lines.push(
    `checks against the CPU reference: seeded odd shapes (seed ${h.seed}), then the model's shapes (batch ` +
      `${h.shapes.batch} and a last batch of ${h.shapes.lastBatch}, the headline model's at ` +
      `${h.shapes.headline.steps} and ${h.shapes.headline.lastSteps} positions); ` +
      (h.all ? "every variant (--all)" : "the variants chosen above (--all: every variant)"),
    "",
    KERNEL_TABLE_HEADER,
  );
  return lines.join("\n");
}

/** A model's head in words: "a direct head tied to the embedding", "a head of 886". */
function headDescription(cfg: ModelConfig): string {
  const direct = headWidth(cfg) === 0;
  return `${direct ? "a direct head" : `a head of ${headWidth(cfg)}`}${
    cfg.tie ? " tied to the embedding" : ""
  }`;
}

/** A numeric vendor id (Mesa's is 65541) also in hex, as PCI ids are written. */
function vendor(v: string): string {
  return /^\d+$/.test(v) ? `${v} (0x${Number(v).toString(16)})` : v || "-";
}

const KERNEL_TABLE_HEADER = [
  pad("result", 7) + pad("kernel", 46),
  lpad("cases", 5),
  lpad("max abs", 10),
  lpad("max rel", 10),
  lpad("s", 7),
  "   worst case: share of its tolerance (atol / rtol)",
].join("");

/** One kernel's row; a failed one gets a second line with the worst element or the error. */
export function formatKernelRow(r: KernelRow): string {
  const name = `${r.kernel}${r.variant ? ` ${r.variant}` : ""}${r.used ? "" : " (--all)"}`;
  const w = r.worst;
  const used = w
    ? `${lpad(percent(w.ratio), 7)} of (${num(w.tolerance.atol)} / ${num(w.tolerance.rtol)})`
    : "";
  const cells = [
    pad(r.pass ? "PASS" : "FAIL", 7) + pad(name, 46),
    lpad(String(r.cases.length), 5),
    lpad(r.cases.length ? e(r.maxAbs) : "-", 10),
    lpad(r.cases.length ? e(r.maxRel) : "-", 10),
    lpad(r.seconds.toFixed(1), 7),
  ];
  const line = `${cells.join("")}   ${used}`;
  const more: string[] = [];
  if (r.error) more.push(`       error: ${r.error}`);
  if (w && !w.pass) more.push(`       worst: ${worstElement(w)}`);
  return [line, ...more].join("\n");
}

function percent(ratio: number): string {
  if (!Number.isFinite(ratio)) return "NaN/Inf";
  return ratio >= 10 ? `${ratio.toFixed(0)}x` : `${(ratio * 100).toFixed(ratio < 0.01 ? 2 : 1)}%`;
}

function worstElement(c: CaseResult): string {
  return `${c.what}: [${c.worst.index}] = ${c.worst.got}, reference ${c.worst.want} ` +
    `(${percent(c.ratio)} of atol ${num(c.tolerance.atol)} + rtol ${num(c.tolerance.rtol)}·|reference|)`;
}

/** A training comparison (`name`: "training", "headline training"). */
export function formatTraining(t: TrainingRow | null, name = "training"): string {
  if (!t) return `${name}: not run`;
  const status = t.pass ? "PASS" : "FAIL";
  if (!t.result) return `${name}: ${status}: ${t.error}`;
  const r = t.result;
  const losses = (xs: number[]) => xs.map((x) => x.toFixed(6)).join(" ");
  const errors = (c: CaseResult, where = "") => {
    const tol = `atol ${num(c.tolerance.atol)}, rtol ${num(c.tolerance.rtol)}`;
    return `max abs ${e(c.maxAbs)}${where}, max rel ${e(c.maxRel)}: ${percent(c.ratio)} of ${tol}   ` +
      (c.pass ? "PASS" : "FAIL");
  };
  const seconds = `WebGPU ${r.gpuSeconds.toFixed(1)} s with building the model, CPU reference ` +
    `${r.cpuSeconds.toFixed(1)} s`;
  const w = r.weights;
  const positions = r.positions ? ` rows at ${r.positions.join(", ")} positions` : " pairs";
  return [
    `${name}: ${r.steps.length} steps (${r.steps.join(", ")}${positions}) from the same weights and data, ` +
    `WebGPU vs the CPU reference: ${status}`,
    `  losses   WebGPU ${losses(r.gpuLosses)}`,
    `           CPU    ${losses(r.cpuLosses)}`,
    `           ${errors(r.losses)}`,
    `  weights  |WebGPU - CPU| / |CPU update| per tensor: worst ${e(w.worst.relDiff)} (${w.worst.name}): ` +
    `${percent(w.worst.relDiff / w.tolerance)} of ${num(w.tolerance)}   ${w.pass ? "PASS" : "FAIL"}`,
    `           largest single difference ${e(w.maxAbs)} (${w.maxAbsTensor})`,
    ...(r.advance ?? []).map((c, i) => `${i === 0 ? "  advance" : "         "}  ${c.what}: ${errors(c)}`),
    `  (${seconds})`,
  ].join("\n");
}

/** Each kernel's quick speed at its model-sized case. */
export function formatSpeed(report: DoctorReport): string {
  if (!report.timing) return "speed: not measured";
  const rows = report.kernels.filter((k) => k.speed);
  const nameOf = (k: KernelRow) => `${k.kernel}${k.variant ? ` ${k.variant}` : ""}`;
  const width = Math.max(46, ...rows.map((k) => nameOf(k).length + 2));
  return [
    `speed at the model's shapes (GPU time by ${report.timing}; one quick measurement each):`,
    `  ${pad("kernel", width)}${pad("shape", 34)}${lpad("ms", 9)}${lpad("GFLOP/s", 9)}${lpad("GB/s", 7)}`,
    ...rows.map((k) => {
      const s = k.speed!;
      return `  ${pad(nameOf(k), width)}${pad(s.shape, 34)}${lpad(s.ms.toFixed(s.ms < 1 ? 3 : 1), 9)}` +
        `${lpad(s.gflops ? s.gflops.toFixed(1) : "", 9)}${lpad(s.gbps ? s.gbps.toFixed(2) : "", 7)}`;
    }),
  ].join("\n");
}

/** How each tolerance is set, and the verdict. */
export function formatSummary(report: DoctorReport): string {
  const failed = report.kernels.filter((k) => !k.pass);
  const training = report.training;
  const headline = report.headlineTraining;
  const verdict = report.pass
    ? `PASS: all ${report.kernels.length} kernel checks${
      training ? " and the training comparisons" : ""
    } agree with the CPU reference`
    : `FAIL: ${
      [
        ...failed.map((k) => `${k.kernel}${k.variant ? ` ${k.variant}` : ""}`),
        ...(training && !training.pass ? ["training"] : []),
        ...(headline && !headline.pass ? ["headline training"] : []),
      ].join("; ")
    }`;
  return [
    "tolerances (|WebGPU - reference| <= atol + rtol·|reference| for every element):",
    ...kernelTolerances(report.kernels).map(([kernel, tolerance]) => `  ${kernel}: ${tolerance}`),
    ...(training ? [`  training: ${training.tolerance}`] : []),
    ...(headline ? [`  headline training: ${headline.tolerance}`] : []),
    "",
    `${verdict} (${report.seconds.toFixed(1)} s${report.reduced ? ", smaller shapes" : ""})`,
  ].join("\n");
}

/**
 * Each kernel's tolerances as its rows state them (src/facts/): a kernel whose variants share one is listed
 * once, others with each variant's.
 */
function kernelTolerances(rows: KernelRow[]): Array<[string, string]> {
  const byKernel = new Map<string, Map<string, string[]>>();
  for (const r of rows) {
    const variants = byKernel.get(r.kernel) ?? new Map<string, string[]>();
    byKernel.set(r.kernel, variants.set(r.tolerance, [...variants.get(r.tolerance) ?? [], r.variant]));
  }
  return [...byKernel].flatMap(([kernel, tolerances]) =>
    tolerances.size === 1
      ? [[kernel, [...tolerances.keys()][0]] as [string, string]]
      : [...tolerances].map(([t, variants]) =>
        [[kernel, variants.filter(Boolean).join(", ")].filter(Boolean).join(" "), t] as [string, string]
      )
  );
}

/** What follows the kernel rows: the training comparisons, the speeds and the summary. */
export function formatTail(report: DoctorReport): string {
  return [
    "",
    formatTraining(report.training),
    formatTraining(report.headlineTraining, "headline training"),
    "",
    formatSpeed(report),
    "",
    formatSummary(report),
  ].join("\n");
}

/** The whole report as text, as the CLI prints it piece by piece. */
export function formatReport(report: DoctorReport): string {
  return [formatHeader(report), ...report.kernels.map(formatKernelRow), formatTail(report)].join("\n");
}

function caseJson(c: CaseResult) {
  return {
    what: c.what,
    count: c.count,
    max_abs: c.maxAbs,
    max_rel: c.maxRel,
    tolerance_used: c.ratio,
    atol: c.tolerance.atol,
    rtol: c.tolerance.rtol,
    pass: c.pass,
    worst: { index: c.worst.index, got: c.worst.got, reference: c.worst.want },
  };
}

/** The report as one JSON-ready object (Infinity and NaN become null in JSON.stringify). */
export function doctorReportJson(r: DoctorReport): Record<string, unknown> {
  const a = r.adapter;
  const h = r.shapes.headline;
  return {
    pass: r.pass,
    seconds: r.seconds,
    adapter: { ...adapterJson(a), features: a.features },
    features: r.features,
    limits: Object.fromEntries(r.limits.map((l) => [l.name, { value: l.value, need: l.need }])),
    shapes: {
      vocab: r.shapes.model.vocab,
      embed: r.shapes.model.embed,
      hidden: r.shapes.model.hidden,
      layers: r.shapes.model.layers,
      window: r.shapes.model.window,
      batch: r.shapes.batch,
      last_batch: r.shapes.lastBatch,
      headline: {
        vocab: h.model.vocab,
        embed: h.model.embed,
        hidden: h.model.hidden,
        layers: h.model.layers,
        head: headWidth(h.model),
        tie: h.model.tie === true,
        steps: h.steps,
        last_steps: h.lastSteps,
      },
      reduced: r.reduced ?? null,
    },
    seed: r.seed,
    all: r.all,
    timing: r.timing,
    choices: r.choices,
    kernels: r.kernels.map((k) => ({
      kernel: k.kernel,
      variant: k.variant,
      used: k.used,
      used_by: k.usedBy,
      pass: k.pass,
      error: k.error ?? null,
      max_abs: k.maxAbs,
      max_rel: k.maxRel,
      tolerance: k.tolerance,
      worst: k.worst ? caseJson(k.worst) : null,
      cases: k.cases.map(caseJson),
      speed: k.speed
        ? { shape: k.speed.shape, ms: k.speed.ms, gflops: k.speed.gflops ?? null, gbps: k.speed.gbps ?? null }
        : null,
      seconds: k.seconds,
    })),
    training: trainingJson(r.training),
    headline_training: trainingJson(r.headlineTraining),
  };
}

/** A training comparison as JSON (null when not run). */
function trainingJson(t: TrainingRow | null): Record<string, unknown> | null {
  if (!t) return null;
  return {
    pass: t.pass,
    error: t.error ?? null,
    tolerance: t.tolerance,
    seconds: t.seconds,
    steps: t.result?.steps ?? null,
    positions: t.result?.positions ?? null,
    webgpu_losses: t.result?.gpuLosses ?? null,
    cpu_losses: t.result?.cpuLosses ?? null,
    losses: t.result ? caseJson(t.result.losses) : null,
    weights: t.result
      ? {
        pass: t.result.weights.pass,
        tolerance: t.result.weights.tolerance,
        worst_tensor: t.result.weights.worst.name,
        worst_rel_diff: t.result.weights.worst.relDiff,
        max_abs: t.result.weights.maxAbs,
        max_abs_tensor: t.result.weights.maxAbsTensor,
        tensors: Object.fromEntries(t.result.weights.tensors.map((x) => [x.name, x.relDiff])),
      }
      : null,
    advance: t.result?.advance?.map(caseJson) ?? null,
  };
}
