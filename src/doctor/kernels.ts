/**
 * The checks of every kernel but the GEMM against the CPU reference: the LSTM layer forward and backward (in
 * the variant asked for), the embedding gather and scatter, softmax cross-entropy (with and without dLogits),
 * column sums (with and without a twin output), Adam, and the gradient norm with clipping. Each runs seeded
 * random odd shapes, then the model's own shapes
 * (the batch and a short last batch). A backward check starts from the reference's forward results, so a
 * faulty forward kernel fails only its own check.
 */
import { ADAM_DEFAULTS, type AdamHyper } from "../model/optimizer.ts";
import { adamStep } from "../cpu/adam.ts";
import { clipGradNorm, gradNorm } from "../cpu/grad_norm.ts";
import { createGradNorm } from "../gpu/grad_norm.ts";
import { embeddingBackward, embeddingForward } from "../cpu/embedding.ts";
import { columnSum } from "../cpu/linear.ts";
import { type LstmGrads, lstmLayerBackward, lstmLayerForward } from "../cpu/lstm.ts";
import { softmaxCrossEntropy } from "../cpu/softmax_xent.ts";
import { createAdam, flatChunkFloats } from "../gpu/adam.ts";
import { whole } from "../gpu/device.ts";
import { createEmbedding } from "../gpu/embedding.ts";
import { createColumnSum } from "../gpu/linear.ts";
import { createLstmLayer, type LstmShape, type LstmVariant } from "../gpu/lstm.ts";
import { createSoftmaxXent } from "../gpu/softmax_xent.ts";
import { createStepParams } from "../gpu/step_params.ts";
import { paramLayout } from "../model/layout.ts";
import type { ModelConfig } from "../model/config.ts";
import { type CaseResult, compare, randomFloats, randomInts, ShapeRng, type Tolerance } from "./compare.ts";
import type { CheckContext, CheckOutcome, Scratch, Speed } from "./context.ts";

/** The shapes the "real" cases use: the model's, its batch and the epoch's short last batch. */
export interface DoctorShapes {
  /** The model whose kernels are checked. */
  model: ModelConfig;
  /** The training batch. */
  batch: number;
  /** Rows in the epoch's last, short batch (< batch). */
  lastBatch: number;
}

/**
 * Each kernel's tolerance, stated once: what the checks use and the report prints. Set about 10x above the
 * largest error measured on lavapipe, GL (llvmpipe) and SwiftShader (the share of its tolerance each check
 * used is in every report), except where the tests' own rule is kept (GEMM, column sums, Adam).
 */
export const TOLERANCES = {
  /** h, c, gates: sums of In + H float32 products and transcendental functions (measured 4.2e-7). */
  lstmForward: { atol: 2e-6, rtol: 1e-5 },
  /** dx, dW, db: sums over B*T rows and 4H gates (measured 5.4e-7). */
  lstmBackward: { atol: 2e-6, rtol: 1e-5 },
  /** A gather: exact. */
  embeddingForward: { atol: 0, rtol: 0 },
  /** Sums of the repeated words' rows (measured exact: the same order as the reference). */
  embeddingBackward: { atol: 1e-6, rtol: 1e-6 },
  /** Mean losses near 8 (measured 7.9e-7). */
  xentLoss: { atol: 1e-6, rtol: 1e-6 },
  xentDLogits: { atol: 1e-7, rtol: 1e-4 },
  /** Per summed row, like the GEMM. */
  columnSum: (rows: number): Tolerance => ({ atol: 4e-7 * Math.max(rows, 25), rtol: 1e-5 }),
  adamParams: { atol: 1e-6, rtol: 1e-6 },
  adamM: { atol: 1e-7, rtol: 1e-5 },
  adamV: { atol: 1e-9, rtol: 1e-5 },
  /** A float32 sum of squares against float64: no cancellation (measured 7.8e-8 on lavapipe). */
  gradNorm: { atol: 0, rtol: 1e-6 },
} as const;

/** 2e-5, not 0.00002. */
export const num = (x: number) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential() : String(x));
const tolText = (t: Tolerance) => `atol ${num(t.atol)}, rtol ${num(t.rtol)}`;

/** The tolerance column of each check, in words. */
export const TOLERANCE_TEXT = {
  lstmForward: tolText(TOLERANCES.lstmForward),
  lstmBackward: tolText(TOLERANCES.lstmBackward),
  embeddingForward: "exact",
  embeddingBackward: tolText(TOLERANCES.embeddingBackward),
  xent: `loss ${tolText(TOLERANCES.xentLoss)}; dLogits ${tolText(TOLERANCES.xentDLogits)}`,
  xentLoss: `loss ${tolText(TOLERANCES.xentLoss)}`,
  columnSum: "atol 4e-7·rows, rtol 1e-5",
  adam: `params ${tolText(TOLERANCES.adamParams)}; m ${tolText(TOLERANCES.adamM)}; v ${
    tolText(TOLERANCES.adamV)
  }`,
  gradNorm: `norm ${tolText(TOLERANCES.gradNorm)}`,
};

/** A seeded permutation of 0..n-1: an epoch's order. */
function permutation(n: number, seed: number): Int32Array {
  const keys = randomFloats(n, seed, 0, 1);
  return Int32Array.from([...Array(n).keys()].sort((a, b) => keys[a] - keys[b]));
}

/** Odd shapes per check of a kernel whose shapes are compiled in. */
const oddCount = (ctx: CheckContext) => (ctx.fewShapes ? [0] : [0, 1]);

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
}

/**
 * The same for the forward and the backward check: createLstmLayer compiles both anyway. Odd shapes run at
 * a Tb below the T the kernels were built for, one of them from an initial state.
 */
function lstmCases(ctx: CheckContext, shapes: DoctorShapes): LstmCase[] {
  const rng = new ShapeRng(ctx.seedFor("lstm"));
  // The shapes are compiled in: few (with a small H, which compiles faster) when compiling is slow.
  const odd = oddCount(ctx).map((i): LstmCase => {
    const B = rng.int(3, 40, (n) => n % 8 !== 0);
    const shape = ctx.fewShapes
      ? { B, T: 3, In: rng.int(3, 13), H: rng.int(5, 20) }
      : { B, T: rng.int(3, 4), In: rng.int(3, 21), H: rng.int(5, 40) };
    return { shape, Tb: shape.T - 1, init: i === 0, scale: 0.5, used: rng.int(1, B), label: "odd" };
  });
  const { embed: E, hidden: H, window: T } = shapes.model;
  const B = shapes.batch;
  return [
    ...odd,
    { shape: { B, T, In: E, H }, Tb: T, init: false, scale: 0.3, used: B, label: "model l0" },
    {
      shape: { B, T, In: H, H },
      Tb: T,
      init: false,
      scale: 0.3,
      used: shapes.lastBatch,
      label: "model l1+, short batch",
    },
  ];
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

const lstmLabel = (c: LstmCase, backward: boolean) =>
  `B=${c.shape.B} T=${c.shape.T}${
    c.Tb < c.shape.T ? ` run at ${c.Tb}` : ""
  } In=${c.shape.In} H=${c.shape.H}` +
  (c.init ? " from h0, c0" : "") + (backward && c.used < c.shape.B ? `, dh 0 beyond row ${c.used}` : "");

/** The input projection and lstm_seq.wgsl, or lstm_cell.wgsl per position: h, c and the activated gates. */
export function checkLstmForward(
  ctx: CheckContext,
  shapes: DoctorShapes,
  variant: LstmVariant,
): Promise<CheckOutcome> {
  return checkLstmCases(ctx, shapes, variant, false, async (c, _x, want, s, bufs, label) => {
    const { B, H } = c.shape;
    const rows = B * c.Tb;
    const tol = TOLERANCES.lstmForward;
    return [
      compare(`h ${label}`, await s.read(bufs.h, rows * H), want.h, tol),
      compare(`c ${label}`, await s.read(bufs.c, rows * H), want.c, tol),
      compare(`gates ${label}`, await s.read(bufs.gates, rows * 4 * H), want.gates, tol),
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
  variant: LstmVariant,
): Promise<CheckOutcome> {
  return checkLstmCases(ctx, shapes, variant, true, async (c, x, cache, s, bufs, label) => {
    const { B, In, H } = c.shape;
    const G = 4 * H;
    const rows = B * c.Tb;
    const want: LstmGrads = {
      dx: new Float32Array(rows * In),
      dWih: new Float32Array(G * In),
      dWhh: new Float32Array(G * H),
      dbih: new Float32Array(G),
      dbhh: new Float32Array(G),
    };
    lstmLayerBackward(x.x, x.wih, x.whh, cache, x.dh, B, c.Tb, In, H, want, x.init);
    const tol = TOLERANCES.lstmBackward;
    return [
      compare(`dx ${label}`, await s.read(bufs.dx, rows * In), want.dx!, tol),
      compare(`dWih ${label}`, await s.read(bufs.dWih, G * In), want.dWih, tol),
      compare(`dWhh ${label}`, await s.read(bufs.dWhh, G * H), want.dWhh, tol),
      compare(`dbih ${label}`, await s.read(bufs.dbih, G), want.dbih, tol),
      compare(`dbhh ${label}`, await s.read(bufs.dbhh, G), want.dbhh, tol),
    ];
  });
}

/**
 * Runs one LSTM layer pass (forward, or backward from the reference's forward) on every case and lets
 * `compareCase` read it back against the reference; times the pass on the last (the model's) case.
 */
async function checkLstmCases(
  ctx: CheckContext,
  shapes: DoctorShapes,
  variant: LstmVariant,
  backward: boolean,
  compareCase: (
    c: LstmCase,
    x: ReturnType<typeof lstmInputs>,
    forward: ReturnType<typeof lstmLayerForward>,
    s: Scratch,
    bufs: ReturnType<typeof lstmBuffers>,
    label: string,
  ) => Promise<CaseResult[]>,
): Promise<CheckOutcome> {
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  const all = lstmCases(ctx, shapes);
  for (const c of all) {
    const { B, In, H } = c.shape;
    const x = lstmInputs(ctx, c);
    const forward = lstmLayerForward(x.x, x.wih, x.whh, x.bih, x.bhh, B, c.Tb, In, H, x.init);
    await ctx.scratch(async (s) => {
      const bufs = lstmBuffers(s, c, x, backward ? forward : undefined);
      const step = createStepParams(ctx.gpu, "doctor step", c.Tb);
      const layer = await createLstmLayer(
        ctx.gpu,
        c.shape,
        { ...bufs, step: step.buffer },
        "doctor lstm",
        variant,
      );
      const pass = backward ? layer.backward : layer.forward;
      await ctx.gpu.run(pass);
      cases.push(...await compareCase(c, x, forward, s, bufs, lstmLabel(c, backward)));
      if (c === all.at(-1)) {
        // Forward: the two gate GEMMs; backward: their input and weight gradients, twice the work.
        const flops = 2 * B * c.Tb * 4 * H * (In + H) * (backward ? 2 : 1);
        speed = await ctx.speed(lstmLabel(c, false), pass, { flops });
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

// ---- embedding ----

interface EmbeddingCase {
  V: number;
  E: number;
  T: number;
  maxB: number;
  /** Steps (start, size) over `pairs` windows. */
  steps: Array<[number, number]>;
  pairs: number;
  /** Ids are drawn from this many words, so batches repeat words. */
  distinct: number;
}

function embeddingCases(ctx: CheckContext, shapes: DoctorShapes): EmbeddingCase[] {
  const rng = new ShapeRng(ctx.seedFor("embedding"));
  const odd = oddCount(ctx).map((): EmbeddingCase => {
    const maxB = rng.int(5, 40);
    const short = rng.int(1, maxB - 1);
    return {
      V: rng.int(20, 300),
      E: rng.int(3, 19, (n) => n % 2 === 1),
      T: rng.int(2, 3),
      maxB,
      steps: [[0, maxB], [maxB, short]],
      pairs: maxB + short,
      distinct: rng.int(3, 12),
    };
  });
  const { vocab: V, embed: E, window: T } = shapes.model;
  const B = shapes.batch;
  return [...odd, {
    V,
    E,
    T,
    maxB: B,
    steps: [[0, B], [B, shapes.lastBatch]],
    pairs: B + shapes.lastBatch,
    distinct: Math.min(V, 50),
  }];
}

function embeddingData(ctx: CheckContext, c: EmbeddingCase) {
  const seed = ctx.seedFor(`embedding ${JSON.stringify(c)}`);
  const spread = Math.floor(c.V / c.distinct);
  const inputs = Int32Array.from(randomInts(c.pairs * c.T, seed, c.distinct), (w) => w * spread);
  const order = permutation(c.pairs, seed + 1);
  return {
    inputs,
    order,
    table: randomFloats(c.V * c.E, seed + 2),
    dx: randomFloats(c.maxB * c.T * c.E, seed + 3),
  };
}

/** The ids a step resolves: inputs through the order, -1 beyond the step's size. */
function stepIds(
  c: EmbeddingCase,
  d: ReturnType<typeof embeddingData>,
  start: number,
  size: number,
): Int32Array {
  const ids = new Int32Array(c.maxB * c.T).fill(-1);
  for (let b = 0; b < size; b++) {
    for (let t = 0; t < c.T; t++) ids[b * c.T + t] = d.inputs[d.order[start + b] * c.T + t];
  }
  return ids;
}

/** embedding.wgsl: the rows gathered through the epoch's order (zero beyond the step's size), and the ids. */
export async function checkEmbeddingForward(ctx: CheckContext, shapes: DoctorShapes): Promise<CheckOutcome> {
  return await embeddingCheck(ctx, shapes, false);
}

/** embedding_backward.wgsl: dTable from the step's ids (written as the forward would leave them). */
export async function checkEmbeddingBackward(ctx: CheckContext, shapes: DoctorShapes): Promise<CheckOutcome> {
  return await embeddingCheck(ctx, shapes, true);
}

async function embeddingCheck(
  ctx: CheckContext,
  shapes: DoctorShapes,
  backward: boolean,
): Promise<CheckOutcome> {
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  // The same shapes for both checks: createEmbedding compiles both kernels anyway.
  const all = embeddingCases(ctx, shapes);
  for (const c of all) {
    const d = embeddingData(ctx, c);
    const positions = c.maxB * c.T;
    await ctx.scratch(async (s) => {
      const step = createStepParams(ctx.gpu, "doctor step", c.T);
      const bufs = {
        step: step.buffer,
        inputs: s.alloc("inputs", d.inputs),
        order: s.alloc("order", d.order),
        table: s.alloc("table", d.table),
        x: s.alloc("x", new Float32Array(positions * c.E).fill(NaN)),
        dx: s.alloc("dx", d.dx),
        dTable: s.alloc("dTable", new Float32Array(c.V * c.E).fill(NaN)),
      };
      const emb = await createEmbedding(ctx.gpu, c, bufs, "doctor embedding");
      for (const [start, size] of c.steps) {
        const ids = stepIds(c, d, start, size);
        const label = `V=${c.V} E=${c.E} T=${c.T} batch ${size} of ${c.maxB}`;
        step.set(start, size);
        if (backward) {
          ctx.gpu.write(emb.ids, 0, ids);
          await ctx.gpu.run(emb.backward);
          const want = new Float32Array(c.V * c.E);
          embeddingBackward(d.dx.subarray(0, size * c.T * c.E), ids.subarray(0, size * c.T), c.E, want);
          cases.push(
            compare(
              `dTable ${label}`,
              await s.read(bufs.dTable, c.V * c.E),
              want,
              TOLERANCES.embeddingBackward,
            ),
          );
        } else {
          await ctx.gpu.run(emb.forward);
          const want = new Float32Array(positions * c.E);
          embeddingForward(d.table, ids.subarray(0, size * c.T), c.E, want);
          cases.push(
            compare(`x ${label}`, await s.read(bufs.x, positions * c.E), want, TOLERANCES.embeddingForward),
          );
          const gotIds = await ctx.gpu.readInt(whole(emb.ids));
          cases.push(
            compare(`ids ${label}`, gotIds.subarray(0, positions), ids, TOLERANCES.embeddingForward),
          );
        }
      }
      if (c === all.at(-1)) {
        const bytes = backward
          ? positions * c.E * 4 + c.V * c.E * 4
          : positions * 4 * 2 + positions * c.E * 4 * 2;
        speed = await ctx.speed(
          `${c.maxB}x${c.T} ids, V=${c.V} E=${c.E}`,
          backward ? emb.backward : emb.forward,
          {
            bytes,
          },
        );
      }
    });
  }
  return { cases, speed };
}

// ---- softmax cross-entropy ----

/** softmax_xent.wgsl + softmax_xent_mean.wgsl: every step's mean loss in its slot, and dLogits with `grad`. */
export async function checkSoftmaxXent(
  ctx: CheckContext,
  shapes: DoctorShapes,
  grad: boolean,
): Promise<CheckOutcome> {
  const rng = new ShapeRng(ctx.seedFor(`xent ${grad}`));
  const odd = oddCount(ctx).map(() => {
    const maxB = rng.int(3, 20);
    return { maxB, V: rng.int(20, 600, (n) => n % 2 === 1), scale: 3, short: rng.int(1, maxB - 1) };
  });
  const all = [...odd, { maxB: shapes.batch, V: shapes.model.vocab, scale: 5, short: shapes.lastBatch }];
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  for (const c of all) {
    const { maxB, V } = c;
    const steps: Array<[number, number]> = [[0, maxB], [maxB, c.short]];
    const pairs = maxB + c.short;
    const seed = ctx.seedFor(`xent ${JSON.stringify(c)}`);
    const targets = randomInts(pairs, seed, V);
    const order = permutation(pairs, seed + 9);
    await ctx.scratch(async (s) => {
      const step = createStepParams(ctx.gpu, "doctor step");
      const logitsBuf = s.alloc("logits", maxB * V);
      const bufs = {
        step: step.buffer,
        logits: logitsBuf,
        targets: s.alloc("targets", targets),
        order: s.alloc("order", order),
        rowLoss: s.alloc("row loss", maxB),
        losses: s.alloc("losses", new Float32Array(steps.length).fill(NaN)),
        dLogits: grad ? s.alloc("dLogits", maxB * V) : undefined,
      };
      const kernels = await createSoftmaxXent(ctx.gpu, { maxB, V }, bufs, "doctor xent");
      const wantLosses: number[] = [];
      for (const [k, [start, size]] of steps.entries()) {
        const logits = randomFloats(maxB * V, seed + 1 + k, -c.scale, c.scale);
        ctx.gpu.write(logitsBuf.buffer, 0, logits);
        // A stale gradient: rows beyond the step's size must be overwritten with 0.
        if (bufs.dLogits) ctx.gpu.write(bufs.dLogits.buffer, 0, new Float32Array(maxB * V).fill(123));
        step.set(start, size, k);
        await ctx.gpu.run(kernels);
        const stepTargets = Int32Array.from({ length: size }, (_, b) => targets[order[start + b]]);
        const dWant = new Float32Array(maxB * V);
        wantLosses.push(softmaxCrossEntropy(logits, stepTargets, size, V, grad ? dWant : null));
        if (bufs.dLogits) {
          cases.push(
            compare(
              `dLogits ${maxB}x${V} batch ${size}`,
              await s.read(bufs.dLogits, maxB * V),
              dWant,
              TOLERANCES.xentDLogits,
            ),
          );
        }
      }
      cases.push(
        compare(
          `losses ${maxB}x${V}`,
          await s.read(bufs.losses, steps.length),
          wantLosses,
          TOLERANCES.xentLoss,
        ),
      );
      if (c === all.at(-1)) {
        speed = await ctx.speed(`${maxB}x${V}`, kernels, { bytes: (grad ? 2 : 1) * maxB * V * 4 });
      }
    });
  }
  return { cases, speed };
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
  // Linear layers sum dY [batch, V] (fc1, fc2 db); the LSTM sums dPre [batch*T, 4H] into both biases.
  const real = twin ? { rows: shapes.batch * T, cols: 4 * H } : { rows: shapes.batch, cols: V };
  const all = [...odd, real];
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  for (const c of all) {
    const x = randomFloats(c.rows * c.cols, ctx.seedFor(`colsum ${JSON.stringify(c)}`));
    const want = new Float32Array(c.cols);
    columnSum(x, c.rows, c.cols, want);
    await ctx.scratch(async (s) => {
      const out = s.alloc("sums", new Float32Array(c.cols).fill(NaN));
      const second = twin ? s.alloc("twin", new Float32Array(c.cols).fill(NaN)) : undefined;
      const kernels = await createColumnSum(
        ctx.gpu,
        s.alloc("x", x),
        out,
        c.rows,
        c.cols,
        "doctor colsum",
        second,
      );
      await ctx.gpu.run(kernels);
      const tol = TOLERANCES.columnSum(c.rows);
      cases.push(compare(`sums ${c.rows}x${c.cols}`, await s.read(out, c.cols), want, tol));
      if (second) cases.push(compare(`twin ${c.rows}x${c.cols}`, await s.read(second, c.cols), want, tol));
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
      cases.push(compare(`params ${label}`, await s.read(bufs.params, count), params, TOLERANCES.adamParams));
      cases.push(compare(`m ${label}`, await s.read(bufs.m, count), m, TOLERANCES.adamM));
      cases.push(compare(`v ${label}`, await s.read(bufs.v, count), v, TOLERANCES.adamV));
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
        compare(`norm ${label}`, await s.read(norm.norm, 1), [gradNorm(grads)], TOLERANCES.gradNorm),
      );
      if (c === all.at(-1)) speed = await ctx.speed(`${c.count} grads`, norm.kernels, { bytes: c.count * 4 });
    });
  }
  return { cases, speed };
}
