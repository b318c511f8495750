/**
 * The checks of the LSTM layer (forward and backward, in the variant asked for), the column sums (with and
 * without a twin output), Adam and the gradient norm against the CPU reference; src/doctor/embedding.ts,
 * softmax_xent.ts and dropout.ts check the others, src/doctor/gemm.ts the GEMM. Each runs seeded random odd
 * shapes, then the models' own shapes (src/facts/), with the tolerances declared there. A backward check
 * starts from the reference's forward results, so a faulty forward kernel fails only its own check.
 */
import { ADAM_DEFAULTS, type AdamHyper } from "../model/optimizer.ts";
import { adamStep } from "../cpu/adam.ts";
import { clipGradNorm, gradNorm } from "../cpu/grad_norm.ts";
import { createGradNorm } from "../gpu/grad_norm.ts";
import { columnSum } from "../cpu/linear.ts";
import { createAdam, flatChunkFloats } from "../gpu/adam.ts";
import { createColumnSum } from "../gpu/linear.ts";
import {
  createLstmLayer,
  lstmPlan,
  type LstmShape,
  type LstmVariant,
  storageSequencePlan,
  WIDE_QUADS,
} from "../gpu/lstm.ts";
import { createStepParams } from "../gpu/step_params.ts";
import { paramLayout } from "../model/layout.ts";
import { adamTolerance, GRAD_NORM_TOLERANCE } from "../facts/adam.ts";
import { sumTolerance } from "../facts/gemm.ts";
import { LSTM_TOLERANCE, lstmReference, modelLstmCases } from "../facts/lstm.ts";
import type { DoctorShapes } from "../facts/shapes.ts";
import { type CaseResult, compare, randomFloats, ShapeRng } from "./compare.ts";
import { type CheckContext, type CheckOutcome, oddCount, type Scratch, type Speed } from "./context.ts";

// ---- LSTM ----

interface LstmCase {
  /** B rows and the most positions T the buffers hold. */
  shape: LstmShape;
  /** The batch's positions (<= T): the step uniform's `steps`. */
  Tb: number;
  /** Start from a seeded initial state instead of zeros. */
  init: boolean;
  scale: number;
  /** Rows of dh beyond this are zero, as a short last batch leaves them. */
  used: number;
  label: string;
  /** The case timed: the window model's layers above the first. */
  timed: boolean;
}

/**
 * The LSTM forms doctor checks: the variants as lstmPlan builds them on this device, and (doctor --all) the
 * sequence kernels with the state in storage, as wide layers on a software adapter run them.
 */
export const STORAGE_FORM = "sequence, state in storage";
export type LstmForm = LstmVariant | typeof STORAGE_FORM;

/** The narrowest layer lstmPlan treats as wide. */
const WIDE_H = 4 * WIDE_QUADS - 3;

/**
 * The same for the forward and the backward check: createLstmLayer compiles both anyway. Odd shapes run at
 * a Tb below the T the kernels were built for, one of them from an initial state; one more is wide enough for
 * the blocking lstmPlan gives wide layers, unless compiling is slow and this adapter has no such blocking
 * (the page's check runs it on a software adapter); then the models' layers.
 */
function lstmCases(ctx: CheckContext, shapes: DoctorShapes): LstmCase[] {
  const rng = new ShapeRng(ctx.seedFor("lstm"));
  // The shapes are compiled in: few (with a small H, which compiles faster) when compiling is slow.
  const odd = oddCount(ctx).map((i): LstmCase => {
    const B = rng.int(3, 40, (n) => n % 8 !== 0);
    const shape = ctx.fewShapes
      ? { B, T: 3, In: rng.int(3, 13), H: rng.int(5, 20) }
      : { B, T: rng.int(3, 4), In: rng.int(3, 21), H: rng.int(5, 40) };
    const used = rng.int(1, B);
    return { shape, Tb: shape.T - 1, init: i === 0, scale: 0.5, used, label: "odd", timed: false };
  });
  const wideHere = lstmPlan(ctx.gpu, 32, WIDE_H).sequenceState === "storage";
  if (!ctx.fewShapes || wideHere) {
    const B = rng.int(3, 40, (n) => n % 8 !== 0);
    const shape = { B, T: 3, In: rng.int(3, 13), H: rng.int(WIDE_H, WIDE_H + 40) };
    odd.push({ shape, Tb: 2, init: false, scale: 0.5, used: rng.int(1, B), label: "odd", timed: false });
  }
  const model = modelLstmCases(shapes);
  const timed = model.filter((c) => c.model === "window").at(-1);
  return [...odd, ...model.map((c) => ({ ...c, timed: c === timed }))];
}

function lstmInputs(ctx: CheckContext, c: LstmCase) {
  const { B, In, H } = c.shape;
  const G = 4 * H;
  const rows = B * c.Tb;
  const seed = ctx.seedFor(`lstm ${JSON.stringify(c)}`);
  const r = (n: number, k: number, scale = c.scale) => randomFloats(n, seed + k, -scale, scale);
  return {
    x: r(rows * In, 0),
    wih: r(G * In, 1),
    whh: r(G * H, 2),
    bih: r(G, 3),
    bhh: r(G, 4),
    dh: r(rows * H, 5).fill(0, c.used * c.Tb * H),
    init: c.init ? { h: r(B * H, 6, 0.9), c: r(B * H, 7, 2) } : undefined,
  };
}

/** A case in words (`which`: with the case's place in the model, as a compared case is named). */
const lstmLabel = (c: LstmCase, backward: boolean, which = true) =>
  `${which && c.label !== "odd" ? `${c.label}: ` : ""}B=${c.shape.B} T=${c.shape.T}${
    c.Tb < c.shape.T ? ` run at ${c.Tb}` : ""
  } In=${c.shape.In} H=${c.shape.H}` +
  (c.init ? " from h0, c0" : "") + (backward && c.used < c.shape.B ? `, dh 0 beyond row ${c.used}` : "");

/** The input projection and lstm_seq.wgsl, or lstm_cell.wgsl per position: h, c and the activated gates. */
export function checkLstmForward(
  ctx: CheckContext,
  shapes: DoctorShapes,
  form: LstmForm,
): Promise<CheckOutcome> {
  return checkLstmCases(ctx, shapes, form, false, async (c, want, s, bufs, label) => {
    const { B, H } = c.shape;
    const rows = B * c.Tb;
    const tol = LSTM_TOLERANCE.forward;
    return [
      compare(`h ${label}`, await s.read(bufs.h, rows * H), want.forward.h, tol),
      compare(`c ${label}`, await s.read(bufs.c, rows * H), want.forward.c, tol),
      compare(`gates ${label}`, await s.read(bufs.gates, rows * 4 * H), want.forward.gates, tol),
    ];
  });
}

/**
 * lstm_seq_backward.wgsl, or lstm_cell_backward.wgsl per position, and the layer's weight and input gradients
 * (GEMMs and the bias column sums), from the reference's h, c and gates.
 */
export function checkLstmBackward(
  ctx: CheckContext,
  shapes: DoctorShapes,
  form: LstmForm,
): Promise<CheckOutcome> {
  return checkLstmCases(ctx, shapes, form, true, async (c, want, s, bufs, label) => {
    const { B, In, H } = c.shape;
    const G = 4 * H;
    const rows = B * c.Tb;
    const tol = LSTM_TOLERANCE.backward(rows);
    const g = want.grads;
    return [
      compare(`dx ${label}`, await s.read(bufs.dx, rows * In), g.dx!, tol),
      compare(`dWih ${label}`, await s.read(bufs.dWih, G * In), g.dWih, tol),
      compare(`dWhh ${label}`, await s.read(bufs.dWhh, G * H), g.dWhh, tol),
      compare(`dbih ${label}`, await s.read(bufs.dbih, G), g.dbih, tol),
      compare(`dbhh ${label}`, await s.read(bufs.dbhh, G), g.dbhh, tol),
    ];
  });
}

/**
 * Runs one LSTM layer pass (forward, or backward from the reference's forward) on every case and lets
 * `compareCase` read it back against the reference; times the pass on the window model's case.
 */
async function checkLstmCases(
  ctx: CheckContext,
  shapes: DoctorShapes,
  form: LstmForm,
  backward: boolean,
  compareCase: (
    c: LstmCase,
    want: ReturnType<typeof lstmReference>,
    s: Scratch,
    bufs: ReturnType<typeof lstmBuffers>,
    label: string,
  ) => Promise<CaseResult[]>,
): Promise<CheckOutcome> {
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  for (const c of lstmCases(ctx, shapes)) {
    const { B, In, H } = c.shape;
    const x = lstmInputs(ctx, c);
    const want = lstmReference(x, B, c.Tb, In, H);
    await ctx.scratch(async (s) => {
      const bufs = lstmBuffers(s, c, x, backward ? want.forward : undefined);
      const step = createStepParams(ctx.gpu, "doctor step", c.Tb);
      const layer = await createLstmLayer(
        ctx.gpu,
        c.shape,
        { ...bufs, step: step.buffer },
        "doctor lstm",
        form === STORAGE_FORM ? storageSequencePlan(B, H, "checked by doctor --all") : form,
      );
      const pass = backward ? layer.backward : layer.forward;
      await ctx.gpu.run(pass);
      cases.push(...await compareCase(c, want, s, bufs, lstmLabel(c, backward)));
      if (c.timed) {
        // Forward: the two gate GEMMs; backward: their input and weight gradients, twice the work.
        const flops = 2 * B * c.Tb * 4 * H * (In + H) * (backward ? 2 : 1);
        speed = await ctx.speed(lstmLabel(c, false, false), pass, { flops });
      }
    });
  }
  return { cases, speed };
}

/**
 * The layer's buffers, sized for T positions and holding the case's B * Tb rows (the forward's outputs from
 * the reference when checking the backward); outputs start as NaN, so every element must be written.
 */
function lstmBuffers(
  s: Scratch,
  c: LstmCase,
  x: ReturnType<typeof lstmInputs>,
  forward?: { h: Float32Array; c: Float32Array; gates: Float32Array },
) {
  const { B, T, In, H } = c.shape;
  const G = 4 * H;
  const sized = (width: number, data?: Float32Array, fill = 0) => {
    const out = new Float32Array(B * T * width).fill(fill);
    if (data) out.set(data);
    return out;
  };
  return {
    x: s.alloc("x", sized(In, x.x)),
    wih: s.alloc("wih", x.wih),
    whh: s.alloc("whh", x.whh),
    bih: s.alloc("bih", x.bih),
    bhh: s.alloc("bhh", x.bhh),
    h: s.alloc("h", sized(H, forward?.h)),
    c: s.alloc("c", sized(H, forward?.c)),
    gates: s.alloc("gates", sized(G, forward?.gates)),
    dh: s.alloc("dh", sized(H, x.dh)),
    dx: s.alloc("dx", sized(In, undefined, NaN)),
    dPre: s.alloc("dPre", B * T * G),
    dWih: s.alloc("dWih", new Float32Array(G * In).fill(NaN)),
    dWhh: s.alloc("dWhh", new Float32Array(G * H).fill(NaN)),
    dbih: s.alloc("dbih", new Float32Array(G).fill(NaN)),
    dbhh: s.alloc("dbhh", new Float32Array(G).fill(NaN)),
    h0: x.init ? s.alloc("h0", x.init.h) : undefined,
    c0: x.init ? s.alloc("c0", x.init.c) : undefined,
  };
}

// ---- column sums ----

/** colsum.wgsl: the column sums of a [rows, cols] matrix, also into a twin output with `twin`. */
export async function checkColumnSum(
  ctx: CheckContext,
  shapes: DoctorShapes,
  twin: boolean,
): Promise<CheckOutcome> {
  const rng = new ShapeRng(ctx.seedFor(`colsum ${twin}`));
  const odd = [0, 1].map(() => ({
    rows: rng.int(3, 200),
    cols: 64 * rng.int(1, 4) + rng.pick([-7, -3, 3, 7]),
  }));
  const { vocab: V, hidden: H, window: T } = shapes.model;
  const B = shapes.batch;
  const { model: hm, steps, lastSteps } = shapes.headline;
  // Linear layers sum dY [batch, V] (fc1, fc2 db); the LSTM sums dPre [batch*T, 4H] into both biases. A
  // headline model's sums run over B x Tb rows, Tb from the step uniform (here a short batch's).
  const real = twin ? { rows: B * T, cols: 4 * H } : { rows: B, cols: V };
  const headline = {
    rows: B * steps,
    cols: twin ? 4 * hm.hidden : hm.vocab,
    runtime: { perStep: B, Tb: lastSteps },
  };
  const all: Array<{ rows: number; cols: number; runtime?: { perStep: number; Tb: number } }> = [
    ...odd,
    real,
    headline,
  ];
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  for (const c of all) {
    const x = randomFloats(c.rows * c.cols, ctx.seedFor(`colsum ${JSON.stringify(c)}`));
    const rows = c.runtime ? c.runtime.perStep * c.runtime.Tb : c.rows;
    const want = new Float32Array(c.cols);
    columnSum(x, rows, c.cols, want);
    await ctx.scratch(async (s) => {
      const out = s.alloc("sums", new Float32Array(c.cols).fill(NaN));
      const second = twin ? s.alloc("twin", new Float32Array(c.cols).fill(NaN)) : undefined;
      const step = c.runtime && createStepParams(ctx.gpu, "doctor step", c.runtime.Tb);
      const runtime = c.runtime && step && { perStep: c.runtime.perStep, step: step.buffer };
      const kernels = await createColumnSum(
        ctx.gpu,
        s.alloc("x", x),
        out,
        c.rows,
        c.cols,
        "doctor colsum",
        second,
        runtime,
      );
      await ctx.gpu.run(kernels);
      const tol = sumTolerance(rows);
      const label = `${c.rows}x${c.cols}${c.runtime ? ` run at ${rows} rows` : ""}`;
      cases.push(compare(`sums ${label}`, await s.read(out, c.cols), want, tol));
      if (second) cases.push(compare(`twin ${label}`, await s.read(second, c.cols), want, tol));
      if (c === real) {
        speed = await ctx.speed(`${c.rows}x${c.cols}`, kernels, {
          bytes: (c.rows + (twin ? 2 : 1)) * c.cols * 4,
        });
      }
    });
  }
  return { cases, speed };
}

// ---- Adam ----

/**
 * adam.wgsl over three steps with fresh gradients: parameters and both moments. `width` 4 needs a count that
 * is a multiple of 4 (the model's flat buffer is one); the model-sized case is the model's parameter count.
 * The odd case clips (AdamHyper.clip) by the reference's norm, written where grad_norm_final.wgsl leaves its
 * own, so that a fault in the reduction fails the grad norm row only: the limit is a third of the norm in
 * steps 1 and 2 (every gradient scaled) and twice it in step 3 (none).
 */
export async function checkAdam(
  ctx: CheckContext,
  shapes: DoctorShapes,
  width: 1 | 4,
): Promise<CheckOutcome> {
  const rng = new ShapeRng(ctx.seedFor(`adam ${width}`));
  const odd = rng.int(1000, 30000, (n) => (width === 4 ? n % 4 === 0 : n % 4 !== 0));
  const total = paramLayout(shapes.model).total; // a multiple of 64
  const all: Array<{ count: number; hyper: AdamHyper; label: string }> = [
    {
      count: odd,
      hyper: { ...ADAM_DEFAULTS, lr: 1e-2, weightDecay: 0.01, clip: 1 },
      label: "weight decay 0.01, clipped",
    },
    // The scalar form never sees the model's count: one short of it stands in.
    {
      count: width === 4 ? total : total - 1,
      hyper: ADAM_DEFAULTS,
      label: width === 4 ? "model" : "model-sized",
    },
  ];
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  for (const c of all) {
    const { count, hyper } = c;
    const seed = ctx.seedFor(`adam ${JSON.stringify(c)}`);
    const params = randomFloats(count, seed);
    const m = new Float32Array(count);
    const v = new Float32Array(count);
    await ctx.scratch(async (s) => {
      const bufs = {
        params: s.alloc("params", params),
        grads: s.alloc("grads", count),
        m: s.alloc("m", count),
        v: s.alloc("v", count),
      };
      const adam = await createAdam(ctx.gpu, bufs, count, "doctor adam");
      for (let t = 1; t <= 3; t++) {
        const grads = randomFloats(count, seed + t);
        ctx.gpu.write(bufs.grads.buffer, 0, grads);
        let stepHyper = hyper;
        if (hyper.clip !== undefined) {
          const norm = gradNorm(grads);
          const clip = (t < 3 ? 1 / 3 : 2) * norm;
          stepHyper = { ...hyper, clip };
          ctx.gpu.write(adam.norm.norm.buffer, 0, Float32Array.of(norm));
          clipGradNorm(grads, clip);
        }
        adam.setStep(t, stepHyper);
        await ctx.gpu.run(adam.kernels);
        adamStep(params, grads, m, v, t, stepHyper);
      }
      const label = `${count} params, ${c.label}, 3 steps`;
      const tol = adamTolerance();
      cases.push(compare(`params ${label}`, await s.read(bufs.params, count), params, tol.params));
      cases.push(compare(`m ${label}`, await s.read(bufs.m, count), m, tol.m));
      cases.push(compare(`v ${label}`, await s.read(bufs.v, count), v, tol.v));
      if (c === all.at(-1)) {
        speed = await ctx.speed(`${count} params`, adam.kernels, { bytes: count * 4 * 7 });
      }
    });
  }
  return { cases, speed };
}

// ---- gradient norm ----

/**
 * grad_norm.wgsl + grad_norm_final.wgsl in the chunks Adam uses on this device: the 2-norm of all the
 * gradients against the float64 reference's, on a count that is no multiple of a workgroup's share and on
 * the model's. `width` as checkAdam's. (Adam's clipping by the norm is checkAdam's.)
 */
export async function checkGradNorm(
  ctx: CheckContext,
  shapes: DoctorShapes,
  width: 1 | 4,
): Promise<CheckOutcome> {
  const rng = new ShapeRng(ctx.seedFor(`grad norm ${width}`));
  const odd = rng.int(1000, 300000, (n) => (width === 4 ? n % 4 === 0 && n % 1024 !== 0 : n % 4 !== 0));
  const total = paramLayout(shapes.model).total;
  const all = [
    { count: odd, label: "odd" },
    { count: width === 4 ? total : total - 1, label: width === 4 ? "model" : "model-sized" },
  ];
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  for (const c of all) {
    const grads = randomFloats(c.count, ctx.seedFor(`grad norm ${JSON.stringify(c)}`));
    await ctx.scratch(async (s) => {
      const norm = await createGradNorm(
        ctx.gpu,
        s.alloc("grads", grads),
        c.count,
        width,
        flatChunkFloats(ctx.gpu),
        "doctor grad norm",
      );
      await ctx.gpu.run(norm.kernels);
      const label = `${c.count} grads (${c.label}), ${norm.partials} partial sums`;
      cases.push(
        compare(`norm ${label}`, await s.read(norm.norm, 1), [gradNorm(grads)], GRAD_NORM_TOLERANCE),
      );
      if (c === all.at(-1)) speed = await ctx.speed(`${c.count} grads`, norm.kernels, { bytes: c.count * 4 });
    });
  }
  return { cases, speed };
}
