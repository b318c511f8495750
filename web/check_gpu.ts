/**
 * "Check this GPU": `deno task doctor`'s checks (src/doctor/, the same code), run on this page's adapter:
 * every kernel variant the models use here against the CPU reference, forward and backward, and a few
 * training steps of each model kind on both. On doctor's small model shapes (the variants the full model gets, sizes that keep
 * the page's compile-on-first-use short); no timing, which is the CLI's business.
 */
import { type DoctorReport, type Gpu, runDoctor, SMALL_SHAPES } from "../core.ts";

/** One row of the page's table: a kernel (or the training comparison) and how far it was from the CPU. */
export interface CheckRow {
  kernel: string;
  /** Largest |gpu - cpu| over its cases. */
  maxAbs: number;
  /** Largest relative difference over its cases. */
  maxRel: number;
  /** The tolerance, in words (doctor's). */
  tolerance: string;
  pass: boolean;
  /** Why the check could not run (a compile error's first line...). */
  error?: string;
}

export async function checkThisGpu(gpu: Gpu, onCheck?: (name: string) => void): Promise<CheckRow[]> {
  const report = await runDoctor(gpu, {
    shapes: SMALL_SHAPES,
    reduced: "the page's check: smaller model shapes with the same kernel variants",
    timing: false,
    onCheck: (name) => onCheck?.(name),
  });
  return rows(report);
}

function rows(report: DoctorReport): CheckRow[] {
  const out: CheckRow[] = report.kernels.map((k) => ({
    kernel: k.variant ? `${k.kernel} (${k.variant})` : k.kernel,
    maxAbs: k.maxAbs,
    maxRel: k.maxRel,
    tolerance: k.tolerance,
    pass: k.pass,
    error: k.error,
  }));
  const trainings = [
    ["3 training steps: losses (weights checked too)", report.training],
    [
      "headline model, 3 steps with dropout: losses (weights and advance checked too)",
      report.headlineTraining,
    ],
  ] as const;
  for (const [kernel, t] of trainings) {
    if (!t) continue;
    out.push({
      kernel,
      maxAbs: t.result?.losses.maxAbs ?? NaN,
      maxRel: t.result?.losses.maxRel ?? NaN,
      tolerance: t.tolerance,
      pass: t.pass,
      error: t.error,
    });
  }
  return out;
}
