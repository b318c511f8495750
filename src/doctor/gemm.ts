/**
 * The GEMM's kernel variants (src/gpu/matmul.ts: regblock or staged, each with scalar/vec2/vec4 reads of B
 * and scalar/vec4 C; tiled), which of them the runtime picks for the model's GEMMs on this adapter, and the
 * check of one variant against the float64-summing CPU reference: seeded random odd shapes that cross the
 * tile edges, then the model's own GEMMs.
 */
import { gemmReference } from "../cpu/matmul.ts";
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
import type { LstmVariant } from "../gpu/lstm.ts";
import { createStepParams } from "../gpu/step_params.ts";
import type { ModelConfig } from "../model/config.ts";
import { lstmInputSize } from "../model/layout.ts";
import { compare, notMultipleOf, randomFloats, ShapeRng, type Tolerance } from "./compare.ts";
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

/** A GEMM of the model, named by what it computes. */
export interface ModelGemm {
  op: string;
  spec: MatmulSpec;
}

/**
 * Every GEMM a training step (and an evaluation) of the model runs, with the specs src/gpu/backend.ts
 * (through src/gpu/linear.ts and src/gpu/lstm.ts) passes to createMatmul, the LSTM layers' in the variant
 * `lstm` (the sequence kernels add the input projection); tests/doctor_test.ts checks that the backend
 * compiles exactly the variants these give.
 */
export function modelGemms(cfg: ModelConfig, batch: number, lstm: LstmVariant): ModelGemm[] {
  const { vocab: V, hidden: H, layers: L, window: T } = cfg;
  const B = batch, rows = B * T, G = 4 * H, flat = T * H;
  // The LSTM's GEMMs run over the batch's B * Tb positions, Tb read per step.
  const runtime = (dim: "M" | "K") => ({ runtimeRows: { dim, perStep: B } });
  const gemms: ModelGemm[] = [
    { op: "fc1 forward x·Wᵀ + b, ReLU", spec: { M: B, K: flat, N: V, transB: true, bias: true, relu: true } },
    { op: "fc2 forward x·Wᵀ + b", spec: { M: B, K: V, N: V, transB: true, bias: true } },
    { op: "fc2 dX = dY·W, ReLU backward", spec: { M: B, K: V, N: V, reluMask: true } },
    { op: "fc2 dW = dYᵀ·X", spec: { M: V, K: B, N: V, transA: true } },
    { op: "fc1 dX = dY·W", spec: { M: B, K: V, N: flat } },
    { op: "fc1 dW = dYᵀ·X", spec: { M: V, K: B, N: flat, transA: true } },
  ];
  // Layers with the same input width run the same GEMMs.
  const byInput = new Map<number, number[]>();
  for (let k = 0; k < L; k++) {
    byInput.set(lstmInputSize(cfg, k), [...byInput.get(lstmInputSize(cfg, k)) ?? [], k]);
  }
  for (const [In, layers] of byInput) {
    const which = layers.length === 1 ? `lstm l${layers[0]}` : `lstm l${layers[0]}-${layers.at(-1)}`;
    if (lstm === "sequence") {
      gemms.push({
        op: `${which} x·Wihᵀ + b_ih`,
        spec: { M: rows, K: In, N: G, transB: true, bias: true, ...runtime("M") },
      });
    }
    gemms.push({
      op: `${which} dWih = dPreᵀ·x`,
      spec: { M: G, K: rows, N: In, transA: true, ...runtime("K") },
    });
    gemms.push({ op: `${which} dx = dPre·Wih`, spec: { M: rows, K: G, N: In, ...runtime("M") } });
  }
  gemms.push({ op: "lstm dWhh = dPreᵀ·hPrev", spec: { M: G, K: rows, N: H, transA: true, ...runtime("K") } });
  return gemms;
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

/** 4e-7 per summed product (inputs in [-1, 1)), as tests/gpu_matmul_test.ts: float32 sums vs float64. */
export function gemmTolerance(K: number): Tolerance {
  return { atol: 4e-7 * Math.max(K, 25), rtol: 1e-5 };
}
export const GEMM_TOLERANCE_TEXT = "atol 4e-7·K, rtol 1e-5";

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
    const result = compare(`C ${describeSpec(spec)}`, await s.read(c, M * N), want, gemmTolerance(K));
    const results = [result];
    if (runtime && step) {
      const Tb = Math.ceil(full / 2);
      step.set(0, 0, 0, Tb);
      ctx.gpu.write(c.buffer, 0, x.c0);
      await ctx.gpu.run(kernels);
      const sub = runtimeRowsReference(spec, runtime.perStep * Tb, x);
      const got = await s.read(c, M * N);
      results.push(compare(`C ${describeSpec(spec)} run at Tb = ${Tb}`, got, sub, gemmTolerance(K)));
    }
    const speed = time ? await ctx.speed(describeSpec(spec), kernels, { flops: 2 * M * K * N }) : undefined;
    return { results, speed };
  });
}

/**
 * The whole C a GEMM with rows at run time leaves when the step has `rows` of them: along M, the first `rows`
 * rows of the full GEMM's reference and C's old values after them; along K, the GEMM over the first `rows`
 * values of k.
 */
function runtimeRowsReference(
  spec: MatmulSpec,
  rows: number,
  x: { a: Float32Array; b: Float32Array; c0: Float32Array; bias: Float32Array; mask: Float32Array },
): Float32Array {
  const { M, K, N, transA = false, transB = false } = spec;
  // op(A) [M, K] and op(B) [K, N] as row-major copies, cut to the step's rows.
  const opA = new Float32Array(M * K), opB = new Float32Array(K * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      opA[i * K + k] = transA ? x.a[k * M + i] : x.a[i * K + k];
    }
  }
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < N; j++) {
      opB[k * N + j] = transB ? x.b[j * K + k] : x.b[k * N + j];
    }
  }
  const plain = { ...spec, transA: false, transB: false };
  if (spec.runtimeRows!.dim === "M") {
    const out = x.c0.slice();
    out.set(gemmReference({ ...plain, M: rows }, opA.subarray(0, rows * K), opB, x.c0, x.bias, x.mask));
    return out;
  }
  const cutA = new Float32Array(M * rows);
  for (let i = 0; i < M; i++) cutA.set(opA.subarray(i * K, i * K + rows), i * rows);
  return gemmReference({ ...plain, K: rows }, cutA, opB.subarray(0, rows * N), x.c0, x.bias, x.mask);
}
