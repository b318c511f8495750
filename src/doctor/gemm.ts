/**
 * The GEMM's kernel variants (src/gpu/matmul.ts: regblock or staged, each with scalar/vec2/vec4 reads of B
 * and scalar/vec4 C; tiled), which of them the runtime picks for the model's GEMMs on this adapter, and the
 * check of one variant against the float64-summing CPU reference: seeded random odd shapes that cross the
 * tile edges, then the model's own GEMMs.
 */
import { gemmReference } from "../cpu/matmul.ts";
import { type ModelGemm, runtimeRowsReference, sumTolerance } from "../facts/gemm.ts";
import {
  chooseBlockRows,
  chooseMatmulVariant,
  createMatmul,
  MATMUL_EPILOGUES,
  type MatmulLayout,
  matmulLayout,
  type MatmulSpec,
  type MatmulVariant,
} from "../gpu/matmul.ts";
import type { Gpu } from "../gpu/device.ts";
import { createStepParams } from "../gpu/step_params.ts";
import type { ModelConfig } from "../model/config.ts";
import { compare, notMultipleOf, randomFloats, ShapeRng } from "./compare.ts";
import type { CheckContext, CheckOutcome, Speed } from "./context.ts";

/** One compiled form of the GEMM: the algorithm and how it reads B and writes C. */
export interface GemmVariant {
  variant: MatmulVariant;
  b: MatmulLayout["b"];
  c: MatmulLayout["c"];
}

/** Every GEMM variant the runtime can build (vec2 or vec4 B implies N even, so vec2 B has scalar C...). */
export const GEMM_VARIANTS: readonly GemmVariant[] = [
  ...(["regblock", "staged"] as const).flatMap((variant) => [
    { variant, b: "scalar" as const, c: "scalar" as const },
    { variant, b: "scalar" as const, c: "vec4" as const },
    { variant, b: "vec2" as const, c: "scalar" as const },
    { variant, b: "vec4" as const, c: "vec4" as const },
  ]),
  { variant: "tiled", b: "scalar", c: "scalar" },
];

export function gemmVariantName(v: GemmVariant): string {
  return v.variant === "tiled" ? "tiled" : `${v.variant}, B ${v.b}, C ${v.c}`;
}

export function sameGemmVariant(a: GemmVariant, b: GemmVariant): boolean {
  return a.variant === b.variant && a.b === b.b && a.c === b.c;
}

/** The variant the runtime builds for `spec` on this adapter, and why. */
export function runtimeGemmVariant(gpu: Gpu, spec: MatmulSpec): GemmVariant & { reason: string } {
  const choice = chooseMatmulVariant(gpu, spec);
  const layout = matmulLayout(spec, choice.variant);
  const rows = chooseBlockRows(spec, choice.variant);
  return {
    variant: choice.variant,
    b: layout.b,
    c: layout.c,
    reason: choice.variant === "tiled" ? choice.reason : `${choice.reason}; ${layout.reason}; ${rows.reason}`,
  };
}

/** The variant `variant` becomes at this spec's shape. */
export function matmulLayoutOf(spec: MatmulSpec, variant: MatmulVariant): GemmVariant {
  const { b, c } = matmulLayout(spec, variant);
  return { variant, b, c };
}

/** What one variant's check runs. */
export interface GemmPlan {
  variant: GemmVariant;
  /** Odd shapes: the model's epilogues and transposes for this variant (or all of them), shapes drawn. */
  templates: Array<Partial<MatmulSpec>>;
  /** Odd shapes drawn per template. */
  shapesPerTemplate: number;
  /** Model-sized cases: the model's GEMMs this variant serves (or could serve), or one of the model's size. */
  real: ModelGemm[];
}

/**
 * The plan for `variant`: with `model` (the GEMMs the runtime gives this variant), their epilogues and
 * transposes on odd shapes, then those GEMMs; otherwise every epilogue and transpose on odd shapes, then the
 * model's GEMMs whose layout fits this variant when forced onto it, or else one model-sized GEMM.
 */
export function gemmPlan(
  variant: GemmVariant,
  model: ModelGemm[],
  forced: ModelGemm[],
  cfg: ModelConfig,
  batch: number,
): GemmPlan {
  const strip = (s: MatmulSpec): Partial<MatmulSpec> => ({
    transA: s.transA ?? false,
    transB: s.transB ?? false,
    bias: s.bias ?? false,
    relu: s.relu ?? false,
    reluMask: s.reluMask ?? false,
    accumulate: s.accumulate ?? false,
    // Which dimension is decided at run time (perStep is drawn with the shape).
    ...(s.runtimeRows ? { runtimeRows: { dim: s.runtimeRows.dim, perStep: 0 } } : {}),
  });
  if (model.length) {
    const templates = [...new Map(model.map((g) => [JSON.stringify(strip(g.spec)), strip(g.spec)])).values()];
    return { variant, templates, shapesPerTemplate: 2, real: model };
  }
  // transB is fixed by the layout: vec2/vec4 B read op(B) = B; scalar B with vec4 C only happens transposed.
  const transBs = variant.variant === "tiled" || (variant.b === "scalar" && variant.c === "scalar")
    ? [false, true]
    : [variant.b === "scalar"];
  const templates = MATMUL_EPILOGUES.flatMap((e) =>
    [false, true].flatMap((transA) => transBs.map((transB) => ({ ...e, transA, transB })))
  );
  let real = forced;
  if (!real.length) {
    const transB = variant.b === "scalar";
    const N = closestN(cfg.vocab, variant);
    real = [{
      op: `model-sized (no model GEMM has this layout)`,
      spec: { M: batch, K: cfg.vocab, N, transB },
    }];
  }
  return { variant, templates, shapesPerTemplate: 1, real };
}

/** The N closest to `n` (at least 4) that gives `v`'s layout. */
function closestN(n: number, v: GemmVariant): number {
  const fits = (x: number) =>
    v.b === "vec4" || v.c === "vec4" ? x % 4 === 0 : v.b === "vec2" ? x % 4 === 2 : x % 2 === 1;
  for (let d = 0;; d++) {
    if (n - d >= 4 && fits(n - d)) return n - d;
    if (fits(n + d)) return n + d;
  }
}

/** An odd shape for `template` under `v`: M, K not multiples of 16, N within 8 of a 64-column edge. */
function oddShape(rng: ShapeRng, v: GemmVariant, template: Partial<MatmulSpec>, bigK: boolean): MatmulSpec {
  const M = rng.int(17, 150, notMultipleOf(16));
  // Staged A comes in windows of up to 256 k: a K above that splits it (and M above 64 then splits too).
  const K = bigK ? rng.int(257, 420, notMultipleOf(16)) : rng.int(5, 140, notMultipleOf(16));
  const residues = v.variant === "tiled"
    ? [-7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7]
    : v.b === "vec4" || v.c === "vec4"
    ? [-4, 4]
    : v.b === "vec2"
    ? [-6, -2, 2, 6]
    : [-7, -5, -3, -1, 1, 3, 5, 7];
  const N = 64 * rng.int(1, 3) + rng.pick(residues);
  if (template.runtimeRows) {
    // B * T rows (M or K) with B odd, run at fewer positions too (gemmCase).
    const perStep = rng.int(3, 21, (n) => n % 2 === 1);
    const rows = perStep * rng.int(3, 7);
    const runtimeRows = { dim: template.runtimeRows.dim, perStep };
    return {
      ...template,
      M: runtimeRows.dim === "M" ? rows : M,
      K: runtimeRows.dim === "K" ? rows : K,
      N,
      runtimeRows,
    };
  }
  return { ...template, M, K, N };
}

export function describeSpec(s: MatmulSpec): string {
  const trans = `${s.transA ? "T" : "N"}${s.transB ? "T" : "N"}`;
  const epi = [s.bias && "bias", s.relu && "relu", s.reluMask && "reluMask", s.accumulate && "accumulate"]
    .filter(Boolean);
  const runtime = s.runtimeRows ? `, ${s.runtimeRows.dim}=${s.runtimeRows.perStep}·Tb` : "";
  return `${s.M}x${s.K}x${s.N} ${trans}${epi.length ? " " + epi.join("+") : ""}${runtime}`;
}

/** Runs the plan: every odd shape, then every model-sized GEMM (the largest of them timed). */
export async function checkGemm(ctx: CheckContext, plan: GemmPlan): Promise<CheckOutcome> {
  const v = plan.variant;
  const rng = new ShapeRng(ctx.seedFor(`gemm ${gemmVariantName(v)}`));
  const specs: MatmulSpec[] = [];
  for (const t of plan.templates) {
    for (let i = 0; i < plan.shapesPerTemplate; i++) {
      specs.push(oddShape(rng, v, t, v.variant === "staged" && i === 0));
    }
  }
  const real = plan.real.map((g) => g.spec);
  const flops = (s: MatmulSpec) => 2 * s.M * s.K * s.N;
  const timed = real.reduce((a, b) => (flops(b) > flops(a) ? b : a), real[0]);
  const cases = [];
  let speed: Speed | undefined;
  for (const spec of [...specs, ...real]) {
    const layout = matmulLayout(spec, v.variant);
    if (layout.b !== v.b || layout.c !== v.c) {
      throw new Error(`doctor: ${describeSpec(spec)} does not take the ${gemmVariantName(v)} variant`);
    }
    const outcome = await gemmCase(ctx, { ...spec, variant: v.variant }, spec === timed);
    cases.push(...outcome.results);
    speed ??= outcome.speed;
  }
  return { cases, speed };
}

/**
 * One GEMM on the GPU against the reference: C starts random (accumulate adds to it, the rest overwrite).
 * With rows at run time the one kernel set runs at all B·T rows, then at fewer positions (about half), whose
 * reference is the smaller GEMM; rows of C past them must keep what C held.
 */
async function gemmCase(ctx: CheckContext, spec: MatmulSpec, time: boolean) {
  const { M, K, N } = spec;
  const { variant: _, ...math } = spec;
  const key = `gemm ${JSON.stringify(math)}`;
  const seed = ctx.seedFor(key);
  const inputs = () => ({
    a: randomFloats(M * K, seed),
    b: randomFloats(K * N, seed + 1),
    c0: randomFloats(M * N, seed + 2),
    bias: randomFloats(N, seed + 3),
    mask: randomFloats(M * N, seed + 4),
  });
  const x = inputs();
  const want = ctx.reference(key, () => gemmReference(spec, x.a, x.b, x.c0, x.bias, x.mask));
  return await ctx.scratch(async (s) => {
    const c = s.alloc("C", x.c0);
    const runtime = spec.runtimeRows;
    const step = runtime ? createStepParams(ctx.gpu, "doctor step") : undefined;
    const kernels = await createMatmul(ctx.gpu, spec, {
      a: s.alloc("A", x.a),
      b: s.alloc("B", x.b),
      c,
      bias: s.alloc("bias", x.bias),
      mask: s.alloc("mask", x.mask),
      step: step?.buffer,
    }, `doctor matmul`);
    const full = runtime ? (runtime.dim === "M" ? M : K) / runtime.perStep : 0;
    step?.set(0, 0, 0, full);
    await ctx.gpu.run(kernels);
    const result = compare(`C ${describeSpec(spec)}`, await s.read(c, M * N), want, sumTolerance(K));
    const results = [result];
    if (runtime && step) {
      const Tb = Math.ceil(full / 2);
      step.set(0, 0, 0, Tb);
      ctx.gpu.write(c.buffer, 0, x.c0);
      await ctx.gpu.run(kernels);
      const rows = runtime.perStep * Tb;
      const sub = runtimeRowsReference(spec, rows, x);
      const got = await s.read(c, M * N);
      const tol = sumTolerance(runtime.dim === "K" ? rows : K);
      results.push(compare(`C ${describeSpec(spec)} run at Tb = ${Tb}`, got, sub, tol));
    }
    const speed = time ? await ctx.speed(describeSpec(spec), kernels, { flops: 2 * M * K * N }) : undefined;
    return { results, speed };
  });
}
