/**
 * `deno task doctor`'s core, the same code a web page's "check this GPU" runs: given a Gpu it reports the
 * adapter, the limits and features that matter, the kernel variants the runtime chooses on it (and why) for
 * the window model and a headline model (DoctorShapes, src/facts/shapes.ts), then checks each of those
 * variants (with `all`, every variant it can compile) against the CPU reference on seeded odd shapes and on
 * the models' shapes, trains a few steps of each model on WebGPU and on the CPU from the same weights, and
 * times each kernel. Pure: no printing, no Deno, no files; src/doctor/format.ts turns the report into text
 * and JSON.
 *
 * A check that throws (a shader that does not compile on this adapter, say) is that row's FAIL, with the
 * error's first line, and the others still run. A lost device ends the run with DeviceLostError.
 */
import { kernelTiming } from "../bench/kernels.ts";
import { DeviceLostError, errorLine } from "../errors.ts";
import { adamWidth } from "../gpu/adam.ts";
import { type AdapterSummary, type Gpu, WIDE_WORKGROUP } from "../gpu/device.ts";
import { lstmPlan } from "../gpu/lstm.ts";
import { paramLayout } from "../model/layout.ts";
import { outputInputs } from "../model/config.ts";
import { DROPOUT_TOLERANCE } from "../facts/dropout.ts";
import { EMBEDDING_TOLERANCE } from "../facts/embedding.ts";
import { adamTolerance, GRAD_NORM_TOLERANCE } from "../facts/adam.ts";
import { type ModelGemm, modelGemms, sumToleranceText } from "../facts/gemm.ts";
import { LSTM_BACKWARD_TEXT, LSTM_TOLERANCE } from "../facts/lstm.ts";
import { type DoctorShapes, MODEL_SHAPES } from "../facts/shapes.ts";
import { XENT_TOLERANCE } from "../facts/softmax_xent.ts";
import { EXACT, num, toleranceText } from "../facts/tolerance.ts";
import type { CaseResult } from "./compare.ts";
import { CheckContext, type CheckOutcome, type Speed } from "./context.ts";
import { checkDropout } from "./dropout.ts";
import { checkEmbedding } from "./embedding.ts";
import {
  checkGemm,
  describeSpec,
  GEMM_VARIANTS,
  gemmPlan,
  gemmVariantName,
  matmulLayoutOf,
  runtimeGemmVariant,
  sameGemmVariant,
} from "./gemm.ts";
import {
  checkAdam,
  checkColumnSum,
  checkGradNorm,
  checkLstmBackward,
  checkLstmForward,
  type LstmForm,
  STORAGE_FORM,
} from "./kernels.ts";
import { checkRowsPack } from "./packing.ts";
import { checkSoftmaxXent } from "./softmax_xent.ts";
import {
  advanceTolerances,
  checkHeadlineTraining,
  checkTraining,
  TRAINING_TOLERANCES,
  type TrainingResult,
} from "./training.ts";

export { type DoctorShapes, MODEL_SHAPES, SMALL_SHAPES } from "../facts/shapes.ts";

/** How the report names the LSTM variants (src/gpu/lstm.ts). */
export const LSTM_VARIANT_NAMES: Record<LstmForm, string> = {
  sequence: "sequence",
  steps: "per position",
  [STORAGE_FORM]: STORAGE_FORM,
};

/** What runDoctor checks and how, and where it reports as it goes. */
export interface DoctorOptions {
  /** The model-sized cases' shapes (default MODEL_SHAPES). */
  shapes?: DoctorShapes;
  /**
   * Why `shapes` are smaller than the model's, when they are; reported with the results. Kernels whose
   * shapes are compiled in then also get one small odd shape each instead of two.
   */
  reduced?: string;
  /** Also check every variant the runtime would not choose for this model on this adapter. */
  all?: boolean;
  /** Seeds the odd shapes and every input (default 1). */
  seed?: number;
  /** Train a few steps on WebGPU and on the CPU reference and compare (default true). */
  training?: boolean;
  /** Time each kernel (default true). */
  timing?: boolean;
  /** Called once before any GPU work, with what the report will open with. */
  onStart?: (header: DoctorHeader) => void;
  /** Called as each check starts; may be async (the run waits). */
  onCheck?: (name: string, index: number, total: number) => void | Promise<void>;
  /** Called with each kernel row as it is finished. */
  onRow?: (row: KernelRow) => void;
}

/** A model operation, the kernel variant the runtime builds for it on this adapter, and why. */
export interface Choice {
  /** The model operation ("fc2 forward"). */
  op: string;
  /** Its shape, in words. */
  shape: string;
  /** The kernel and variant built for it. */
  kernel: string;
  /** Why that variant, in words. */
  reason: string;
}

/** A device limit the kernels depend on, its value on this device, and what they need of it. */
export interface Limit {
  /** The limit's WebGPU name. */
  name: string;
  /** Its value on this device. */
  value: number;
  /** What the kernels need of it, in words. */
  need: string;
}

/** One kernel variant's check against the CPU reference: every case, the worst, and a speed figure. */
export interface KernelRow {
  /** The kernel's name. */
  kernel: string;
  /** "" for kernels with a single form. */
  variant: string;
  /** Whether the runtime uses this variant for the model on this adapter (false: only checked with --all). */
  used: boolean;
  /** The model operations that run it. */
  usedBy: string[];
  /** How its tolerance is set, in words. */
  tolerance: string;
  /** Whether every case passed (and the check finished). */
  pass: boolean;
  /** Why the check could not finish (a compile error's first line...); its cases are then incomplete. */
  error?: string;
  /** Every case (shape and output) compared. */
  cases: CaseResult[];
  /** Over all cases. */
  maxAbs: number;
  /** Over all cases. */
  maxRel: number;
  /** The case that used the most of its tolerance. */
  worst?: CaseResult;
  /** How fast it ran at the model's shape (absent without timing). */
  speed?: Speed;
  /** Seconds the check took. */
  seconds: number;
}

/** The training comparison: steps on WebGPU and on the CPU reference from the same weights. */
export interface TrainingRow {
  /** Whether losses and weights agreed within the tolerance. */
  pass: boolean;
  /** Why it could not finish. */
  error?: string;
  /** The losses and weights compared (absent when it could not finish). */
  result?: TrainingResult;
  /** How its tolerance is set, in words. */
  tolerance: string;
  /** Seconds it took. */
  seconds: number;
}

/** What is known before any check runs. */
export interface DoctorHeader {
  /** The adapter checked. */
  adapter: AdapterSummary;
  /** The device limits that matter, with what the kernels need. */
  limits: Limit[];
  /** Adapter features that matter to the kernels (or may), whether present, and what for. */
  features: Array<{ name: string; present: boolean; use: string }>;
  /** The model-sized cases' shapes. */
  shapes: DoctorShapes;
  /** Why the shapes are smaller than the model's, when they are. */
  reduced?: string;
  /** The seed of the odd shapes and the inputs. */
  seed: number;
  /** Whether every variant is checked, not only those the runtime chooses. */
  all: boolean;
  /** How kernels are timed (null: not timed). */
  timing: "timestamp-query" | "wall clock" | null;
  /** The variant the runtime builds for each model operation, and why. */
  choices: Choice[];
  /** The checks to run, by name, in order (the training comparison last, when run). */
  checks: string[];
}

/** What runDoctor found: the header, every kernel row, the training comparison and the verdict. */
export interface DoctorReport extends DoctorHeader {
  /** Whether every check passed. */
  pass: boolean;
  /** The kernel checks, in the order run. */
  kernels: KernelRow[];
  /** null when not run. */
  training: TrainingRow | null;
  /** The headline model's training comparison (with dropout, clipping and advance); null when not run. */
  headlineTraining: TrainingRow | null;
  /** Seconds the whole run took. */
  seconds: number;
}

interface PlannedCheck {
  kernel: string;
  variant: string;
  used: boolean;
  usedBy: string[];
  tolerance: string;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}

/** The adapter, limits, features and the variant choices for the model: no GPU work. */
export function describeAdapter(
  gpu: Gpu,
  shapes: DoctorShapes = MODEL_SHAPES,
): Pick<DoctorHeader, "limits" | "features" | "choices"> {
  const lim = gpu.device.limits;
  const cfg = shapes.model;
  const software = runtimeGemmVariant(gpu, { M: 1, K: 1, N: 1 }).variant !== "tiled";
  const flatBytes = paramLayout(cfg).total * 4;
  const limits: Limit[] = [
    {
      name: "maxBufferSize",
      value: lim.maxBufferSize,
      need: `${mib(flatBytes)} (each of 4 flat parameter buffers)`,
    },
    {
      name: "maxStorageBufferBindingSize",
      value: lim.maxStorageBufferBindingSize,
      need: "any: larger operands are split into blocks of rows",
    },
    {
      name: "maxStorageBuffersPerShaderStage",
      value: lim.maxStorageBuffersPerShaderStage,
      need: "8 (the per-position LSTM cell; 10 from an initial state)",
    },
    {
      name: "maxUniformBufferBindingSize",
      value: lim.maxUniformBufferBindingSize,
      need: software ? "65536 (staged A windows)" : "16 (shape uniforms)",
    },
    {
      name: "maxComputeWorkgroupStorageSize",
      value: lim.maxComputeWorkgroupStorageSize,
      need: `${Math.max(8192, 128 * Math.ceil(cfg.hidden / 4))} (ids chunk, GEMM tiles; the LSTM sequence ` +
        `kernels: two copies of a row of gate gradients, else the per-position ones need one)`,
    },
    {
      name: "maxComputeInvocationsPerWorkgroup",
      value: lim.maxComputeInvocationsPerWorkgroup,
      need: String(WIDE_WORKGROUP),
    },
    { name: "maxComputeWorkgroupsPerDimension", value: lim.maxComputeWorkgroupsPerDimension, need: "any" },
    {
      name: "minStorageBufferOffsetAlignment",
      value: lim.minStorageBufferOffsetAlignment,
      need: "at most 256 (tensors start 256-byte aligned)",
    },
  ];
  const has = new Set(gpu.adapter.features);
  const features = [
    { name: "timestamp-query", present: has.has("timestamp-query"), use: "kernel timing (else wall clock)" },
    { name: "shader-f16", present: has.has("shader-f16"), use: "not used (all kernels are f32)" },
    { name: "subgroups", present: has.has("subgroups"), use: "not used" },
  ];
  const choices: Choice[] = doctorGemms(gpu, shapes).map((g) => {
    const v = runtimeGemmVariant(gpu, g.spec);
    return {
      op: g.op,
      shape: describeSpec(g.spec),
      kernel: `matmul ${gemmVariantName(v)}`,
      reason: v.reason,
    };
  });
  const B = shapes.batch;
  const lstm = (op: string, T: number, H: number, rows = B): Choice => {
    const plan = lstmPlan(gpu, rows, H);
    return {
      op,
      shape: `B=${rows} T=${T} H=${H}`,
      kernel: `lstm ${LSTM_VARIANT_NAMES[plan.variant]}`,
      reason: plan.reason,
    };
  };
  const params = paramLayout(cfg).total;
  const h = shapes.headline;
  choices.push(
    lstm("lstm layers", cfg.window, cfg.hidden),
    lstm("headline lstm layers", h.steps, h.model.hidden),
    // configs/headline.json's layer (hidden 512, batch 32): the blocking for wide layers.
    lstm("headline recipe's lstm layer", h.steps, 512, 32),
    {
      op: "adam",
      shape: `${params} params`,
      kernel: `adam ${adamWidth(params).width === 4 ? "vec4" : "scalar"}`,
      reason: adamWidth(params).reason,
    },
    {
      op: "softmax cross-entropy, adam",
      shape: "workgroups",
      kernel: `${gpu.reductionWidth(WIDE_WORKGROUP)} invocations per workgroup`,
      reason: `${WIDE_WORKGROUP} wanted; the device allows ${gpu.maxWorkgroupWidth}`,
    },
  );
  return { limits, features, choices };
}

/** Every GEMM of both models on this adapter: the window model's, then the headline model's (named so). */
export function doctorGemms(gpu: Gpu, shapes: DoctorShapes): ModelGemm[] {
  const { model, batch } = shapes;
  const h = shapes.headline;
  return [
    ...modelGemms(model, batch, lstmPlan(gpu, batch, model.hidden).variant),
    ...modelGemms(h.model, batch, lstmPlan(gpu, batch, h.model.hidden).variant, h.steps)
      .map((g) => ({ op: `headline ${g.op}`, spec: g.spec })),
  ];
}

/** Runs every check; see the file's comment. */
export async function runDoctor(gpu: Gpu, options: DoctorOptions = {}): Promise<DoctorReport> {
  const t0 = performance.now();
  const shapes = options.shapes ?? MODEL_SHAPES;
  const seed = options.seed ?? 1;
  const all = options.all ?? false;
  const timing = options.timing ?? true;
  const ctx = new CheckContext(gpu, seed, timing, options.reduced !== undefined);
  const { limits, features, choices } = describeAdapter(gpu, shapes);
  const plan = planChecks(gpu, shapes, all);
  const withTraining = options.training ?? true;
  const names = plan.map((c) => (c.variant ? `${c.kernel} ${c.variant}` : c.kernel));
  const header: DoctorHeader = {
    adapter: gpu.adapter,
    limits,
    features,
    shapes,
    reduced: options.reduced,
    seed,
    all,
    timing: timing ? kernelTiming(gpu) : null,
    choices,
    checks: withTraining ? [...names, "training", "headline training"] : names,
  };
  options.onStart?.(header);
  const total = header.checks.length;

  const kernels: KernelRow[] = [];
  for (const [i, check] of plan.entries()) {
    const name = names[i];
    await options.onCheck?.(name, i, total);
    const start = performance.now();
    const errorBefore = gpu.error;
    let outcome: CheckOutcome = { cases: [] };
    let error: string | undefined;
    try {
      outcome = await check.run(ctx);
    } catch (e) {
      error = errorLine(e);
    }
    await throwIfLost(gpu, name, error !== undefined);
    if (!errorBefore && gpu.error) error ??= `GPU error: ${gpu.error}`;
    const row = kernelRow(check, outcome, error, (performance.now() - start) / 1000);
    kernels.push(row);
    options.onRow?.(row);
  }

  let training: TrainingRow | null = null;
  let headlineTraining: TrainingRow | null = null;
  if (withTraining) {
    const t = TRAINING_TOLERANCES;
    const tolerance = `losses atol ${num(t.losses.atol)}, rtol ${num(t.losses.rtol)}; weights: per tensor ` +
      `|WebGPU - CPU| / |CPU update| <= ${num(t.weights)}`;
    const advance = advanceTolerances(outputInputs(shapes.headline.model));
    const headlineTolerance = `losses ${toleranceText(t.headlineLosses)}; weights as training's; advance: ` +
      `logits ${toleranceText(advance.logits)}, states ${toleranceText(advance.state)}`;
    await options.onCheck?.("training", plan.length, total);
    training = await trainingRow(gpu, "training", tolerance, () => checkTraining(gpu, shapes, seed));
    await options.onCheck?.("headline training", plan.length + 1, total);
    headlineTraining = await trainingRow(
      gpu,
      "headline training",
      headlineTolerance,
      () => checkHeadlineTraining(gpu, shapes, seed),
    );
  }
  return {
    ...header,
    pass: kernels.every((k) => k.pass) && (training?.pass ?? true) && (headlineTraining?.pass ?? true),
    kernels,
    training,
    headlineTraining,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** One training comparison as a row: its result, or the error that stopped it (a lost device ends the run). */
async function trainingRow(
  gpu: Gpu,
  name: string,
  tolerance: string,
  check: () => Promise<TrainingResult>,
): Promise<TrainingRow> {
  const start = performance.now();
  try {
    const result = await check();
    return { pass: result.pass, result, tolerance, seconds: (performance.now() - start) / 1000 };
  } catch (e) {
    const error = errorLine(e);
    await throwIfLost(gpu, name, true);
    return { pass: false, error, tolerance, seconds: (performance.now() - start) / 1000 };
  }
}

/** The checks to run: the variants the runtime uses for the model on this adapter, and with `all` the rest. */
export function planChecks(gpu: Gpu, shapes: DoctorShapes, all: boolean): PlannedCheck[] {
  return [...gemmChecks(gpu, shapes, all), ...lstmChecks(gpu, shapes, all), ...otherChecks(shapes, all)];
}

/** Each GEMM variant the models' GEMMs use (with `all`, every variant, on the shapes that give it). */
function gemmChecks(gpu: Gpu, shapes: DoctorShapes, all: boolean): PlannedCheck[] {
  const gemms = doctorGemms(gpu, shapes);
  const checks: PlannedCheck[] = [];
  for (const v of GEMM_VARIANTS) {
    const model = gemms.filter((g) => sameGemmVariant(runtimeGemmVariant(gpu, g.spec), v));
    if (!model.length && !all) continue;
    // Under --all, the models' GEMMs whose shape gives this variant's layout run on it too.
    const forced: ModelGemm[] = model.length
      ? []
      : gemms.filter((g) => sameGemmVariant(matmulLayoutOf(g.spec, v.variant), v));
    const plan = gemmPlan(v, model, forced, shapes.model, shapes.batch);
    checks.push({
      kernel: "matmul",
      variant: gemmVariantName(v),
      used: model.length > 0,
      usedBy: model.map((g) => g.op),
      tolerance: sumToleranceText("K"),
      run: (ctx) => checkGemm(ctx, plan),
    });
  }
  return checks;
}

/** The LSTM variants the models use (with `all`, the other too where this device can run it). */
function lstmChecks(gpu: Gpu, shapes: DoctorShapes, all: boolean): PlannedCheck[] {
  const B = shapes.batch;
  const layers = [
    { name: `lstm l0-${shapes.model.layers - 1}`, plan: lstmPlan(gpu, B, shapes.model.hidden).variant },
    {
      name: `headline lstm l0-${shapes.headline.model.layers - 1}`,
      plan: lstmPlan(gpu, B, shapes.headline.model.hidden).variant,
    },
  ];
  const variantChecks = (variant: LstmForm): PlannedCheck[] => {
    const users = layers.filter((l) => l.plan === variant).map((l) => l.name);
    const name = LSTM_VARIANT_NAMES[variant];
    return [
      {
        kernel: "lstm forward",
        variant: name,
        used: users.length > 0,
        usedBy: users.map((u) => `${u} forward (and advance)`),
        tolerance: toleranceText(LSTM_TOLERANCE.forward),
        run: (ctx) => checkLstmForward(ctx, shapes, variant),
      },
      {
        kernel: "lstm backward",
        variant: `${name}, GEMMs, colsum twin`,
        used: users.length > 0,
        usedBy: users.map((u) => `${u} backward`),
        tolerance: LSTM_BACKWARD_TEXT,
        run: (ctx) => checkLstmBackward(ctx, shapes, variant),
      },
    ];
  };
  // --all adds the variant not in use where this device can run it (the sequence one needs more), and the
  // sequence kernels with the state in storage, which the models' layers here are too narrow to use (wide
  // layers on a software adapter do; a hardware adapter's first run of gpu-check.sh checks them there).
  const canSequence = layers.every((l) => l.plan === "sequence");
  const lstmVariants = (["sequence", "steps", STORAGE_FORM] as const).filter((v) =>
    layers.some((l) => l.plan === v) || (all && canSequence)
  );
  return lstmVariants.flatMap(variantChecks);
}

/** The embedding, dropout, the loss, the column sums, Adam and the gradient norm. */
function otherChecks(shapes: DoctorShapes, all: boolean): PlannedCheck[] {
  const lstm = `lstm l0-${shapes.model.layers - 1}`;
  const tied = shapes.headline.model.tie === true;
  const xent = `loss ${toleranceText(XENT_TOLERANCE.loss)}; dLogits ${toleranceText(XENT_TOLERANCE.dLogits)}`;
  const xentLoss = `loss ${toleranceText(XENT_TOLERANCE.loss)}`;
  const check = (
    kernel: string,
    variant: string,
    usedBy: string[],
    tolerance: string,
    run: PlannedCheck["run"],
  ): PlannedCheck => ({ kernel, variant, used: true, usedBy, tolerance, run });
  return [
    check(
      "embedding forward",
      "",
      ["embedding gather (training, evaluation, advance)"],
      toleranceText(EMBEDDING_TOLERANCE.forward),
      (ctx) => checkEmbedding(ctx, shapes, "forward"),
    ),
    check(
      "embedding backward",
      "",
      tied ? ["embedding dTable"] : ["embedding dTable", "headline embedding dTable"],
      toleranceText(EMBEDDING_TOLERANCE.backward),
      (ctx) => checkEmbedding(ctx, shapes, "backward"),
    ),
    ...(tied
      ? [check(
        "embedding backward",
        "accumulate",
        ["headline embedding dTable added to the tied fc2's"],
        toleranceText(EMBEDDING_TOLERANCE.accumulate),
        (ctx) => checkEmbedding(ctx, shapes, "accumulate"),
      )]
      : []),
    check(
      "dropout",
      "per position",
      ["--dropout: the embedding output, between LSTM layers, the head's input"],
      toleranceText(DROPOUT_TOLERANCE),
      (ctx) => checkDropout(ctx, shapes, true),
    ),
    check(
      "dropout",
      "per row",
      ["--dropout: fc2's input (window model)"],
      toleranceText(DROPOUT_TOLERANCE),
      (ctx) => checkDropout(ctx, shapes, false),
    ),
    check(
      "rows pack",
      "pack + unpack",
      ["headline: the head's and the LSTM GEMMs' rows, the positions with a target"],
      toleranceText(EXACT),
      (ctx) => checkRowsPack(ctx, shapes),
    ),
    check(
      "softmax xent",
      "loss + dLogits",
      ["training loss"],
      xent,
      (ctx) => checkSoftmaxXent(ctx, shapes, true),
    ),
    check(
      "softmax xent",
      "loss only",
      ["evaluation loss"],
      xentLoss,
      (ctx) => checkSoftmaxXent(ctx, shapes, false),
    ),
    check(
      "softmax xent",
      "per position, loss + dLogits",
      ["headline training loss"],
      xent,
      (ctx) => checkSoftmaxXent(ctx, shapes, true, true),
    ),
    check(
      "softmax xent",
      "per position, loss only",
      ["headline evaluation loss"],
      xentLoss,
      (ctx) => checkSoftmaxXent(ctx, shapes, false, true),
    ),
    check(
      "colsum",
      "",
      ["fc1 db", "fc2 db", "headline fc2 db"],
      sumToleranceText("rows"),
      (ctx) => checkColumnSum(ctx, shapes, false),
    ),
    check(
      "colsum",
      "twin",
      [`${lstm} dbih, dbhh`, "headline lstm dbih, dbhh"],
      sumToleranceText("rows"),
      (ctx) => checkColumnSum(ctx, shapes, true),
    ),
    ...optimizerChecks(shapes, all),
  ];
}

/** Adam and the gradient norm, in the width the models' parameter counts give (with `all`, both). */
function optimizerChecks(shapes: DoctorShapes, all: boolean): PlannedCheck[] {
  const counts = [paramLayout(shapes.model).total, paramLayout(shapes.headline.model).total];
  const adam = adamTolerance();
  const adamText = `params ${toleranceText(adam.params)}; m ${toleranceText(adam.m)}; v ${
    toleranceText(adam.v)
  }`;
  return ([4, 1] as const).flatMap((w) => {
    const users = counts.filter((n) => adamWidth(n).width === w);
    if (!users.length && !all) return [];
    const variant = w === 4 ? "vec4" : "scalar";
    return [
      {
        kernel: "adam",
        variant,
        used: users.length > 0,
        usedBy: users.map((n) => `all ${n} parameters`),
        tolerance: adamText,
        run: (ctx: CheckContext) => checkAdam(ctx, shapes, w),
      },
      {
        kernel: "grad norm",
        variant,
        used: users.length > 0,
        usedBy: users.length ? ["gradient clipping (--clip)"] : [],
        tolerance: `norm ${toleranceText(GRAD_NORM_TOLERANCE)}`,
        run: (ctx: CheckContext) => checkGradNorm(ctx, shapes, w),
      },
    ];
  });
}

function kernelRow(
  check: PlannedCheck,
  outcome: CheckOutcome,
  error: string | undefined,
  seconds: number,
): KernelRow {
  const cases = outcome.cases;
  let worst: CaseResult | undefined;
  for (const c of cases) if (!worst || c.ratio > worst.ratio) worst = c;
  return {
    kernel: check.kernel,
    variant: check.variant,
    used: check.used,
    usedBy: check.usedBy,
    tolerance: check.tolerance,
    pass: error === undefined && cases.length > 0 && cases.every((c) => c.pass),
    error: error ?? (cases.length ? undefined : "no case ran"),
    cases,
    maxAbs: Math.max(0, ...cases.map((c) => c.maxAbs)),
    maxRel: Math.max(0, ...cases.map((c) => c.maxRel)),
    worst,
    speed: outcome.speed,
    seconds,
  };
}

/** Throws DeviceLostError when the device is lost (waiting a moment after a failure: loss settles late). */
async function throwIfLost(gpu: Gpu, during: string, failed: boolean): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const info = gpu.lost ?? await Promise.race([
    gpu.device.lost,
    new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), failed ? 500 : 0)),
  ]);
  clearTimeout(timer);
  if (info) {
    throw new DeviceLostError(info.reason, info.message, `the ${during} check`);
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
