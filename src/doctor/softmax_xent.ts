/**
 * Softmax cross-entropy's checks against the CPU reference: softmax_xent.wgsl and softmax_xent_mean.wgsl,
 * every step's mean loss in its slot and dLogits, with and without the gradient; per row (a window model's
 * pairs: stale values past the step overwritten with 0) or per position (a headline model: a row of logits
 * per packed position with a target, src/gpu/packing.ts, the rows past them left alone, padding counting for
 * nothing and softmax_xent_count.wgsl counting the targets). Seeded odd shapes, then the models' shapes
 * (src/facts/softmax_xent.ts).
 */
import { softmaxCrossEntropy } from "../cpu/softmax_xent.ts";
import { createSoftmaxXent } from "../gpu/softmax_xent.ts";
import { createStepParams } from "../gpu/step_params.ts";
import { createPacking } from "../gpu/packing.ts";
import type { DoctorShapes } from "../facts/shapes.ts";
import { modelXentCases, XENT_TOLERANCE, type XentModelCase } from "../facts/softmax_xent.ts";
import { packedTargets, stepRows } from "../facts/step_rows.ts";
import { type CaseResult, compare, permutation, randomFloats, randomInts, ShapeRng } from "./compare.ts";
import { type CheckContext, type CheckOutcome, oddCount, type Speed } from "./context.ts";

type XentCase = Omit<XentModelCase, "model"> & { timed: boolean };

/** Odd shapes, then the model's case: per row, or per position with `perPosition`. */
function xentCases(ctx: CheckContext, shapes: DoctorShapes, grad: boolean, perPosition: boolean): XentCase[] {
  const rng = new ShapeRng(ctx.seedFor(`xent ${grad}${perPosition ? " per position" : ""}`));
  const odd = oddCount(ctx).map((): XentCase => {
    const maxB = rng.int(3, 20);
    const V = rng.int(20, 600, (n) => n % 2 === 1);
    const short = rng.int(1, maxB - 1);
    if (!perPosition) return { maxB, V, steps: [[0, maxB, 1], [maxB, short, 1]], scale: 3, timed: false };
    // The data's rows (stride) may be shorter than the buffers' positions; a step runs at most stride.
    const maxSteps = rng.int(2, 7);
    const stride = rng.int(2, maxSteps);
    const steps: XentCase["steps"] = [[0, maxB, stride], [maxB, short, rng.int(1, stride)]];
    return { maxB, V, perPosition: { maxSteps, stride }, steps, scale: 3, timed: false };
  });
  const model = modelXentCases(shapes).find((c) => (c.perPosition !== undefined) === perPosition)!;
  return [...odd, { ...model, timed: true }];
}

/**
 * Targets of `rows` rows of data: per row one in [0, V); per position a row of 1..stride targets (the first
 * row the longest), then IGNORE_TARGET (-1).
 */
function xentTargets(c: XentCase, rows: number, seed: number): Int32Array {
  if (!c.perPosition) return randomInts(rows, seed, c.V);
  const { stride } = c.perPosition;
  const ids = randomInts(rows * stride, seed, c.V);
  const lengths = randomInts(rows, seed + 1, stride);
  return ids.map((id, i) => {
    const row = Math.floor(i / stride);
    return i % stride < (row === 0 ? stride : 1 + lengths[row]) ? id : -1;
  });
}

/** The kernels of one step: every step's mean loss in its slot, and dLogits with `grad`. */
export async function checkSoftmaxXent(
  ctx: CheckContext,
  shapes: DoctorShapes,
  grad: boolean,
  perPosition = false,
): Promise<CheckOutcome> {
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  for (const c of xentCases(ctx, shapes, grad, perPosition)) {
    const { maxB, V } = c;
    const stride = c.perPosition?.stride ?? 1;
    const logitRows = maxB * (c.perPosition?.maxSteps ?? 1);
    const rows = c.steps.reduce((n, [, size]) => n + size, 0);
    const seed = ctx.seedFor(`xent ${JSON.stringify(c)}`);
    const targets = xentTargets(c, rows, seed);
    const order = permutation(rows, seed + 9);
    const shape = `${maxB}x${V}${c.perPosition ? ` x ${c.perPosition.maxSteps} positions` : ""}`;
    await ctx.scratch(async (s) => {
      const step = createStepParams(ctx.gpu, "doctor step");
      const packing = c.perPosition ? createPacking(ctx.gpu, maxB, c.perPosition.maxSteps) : undefined;
      const logitsBuf = s.alloc("logits", logitRows * V);
      const bufs = {
        step: step.buffer,
        logits: logitsBuf,
        targets: s.alloc("targets", targets),
        order: s.alloc("order", order),
        rowLoss: s.alloc("row loss", logitRows),
        losses: s.alloc("losses", new Float32Array(c.steps.length).fill(NaN)),
        dLogits: grad ? s.alloc("dLogits", logitRows * V) : undefined,
        packing,
      };
      const kernels = await createSoftmaxXent(ctx.gpu, c, bufs, "doctor xent");
      const wantLosses: number[] = [];
      for (const [k, [start, size, tb]] of c.steps.entries()) {
        const logits = randomFloats(logitRows * V, seed + 1 + k, -c.scale, c.scale);
        ctx.gpu.write(logitsBuf.buffer, 0, logits);
        // A stale gradient: rows beyond the step's must be overwritten with 0 (per row), or left (packed).
        const stale = 123;
        if (bufs.dLogits) ctx.gpu.write(bufs.dLogits.buffer, 0, new Float32Array(logitRows * V).fill(stale));
        step.set(start, size, k, tb);
        const stepTargets = stepRows(targets, order, stride, start, size, c.perPosition ? tb : 1);
        const packed = packing ? packedTargets(stepTargets, size) : null;
        if (packed) packing!.set(packed.lengths, size, tb);
        await ctx.gpu.run(kernels);
        const scored = packed?.targets ?? stepTargets;
        const dWant = new Float32Array(logitRows * V).fill(packed ? stale : 0);
        wantLosses.push(softmaxCrossEntropy(logits, scored, scored.length, V, grad ? dWant : null));
        if (bufs.dLogits) {
          const label = `dLogits ${shape} batch ${size}${c.perPosition ? ` at ${tb} positions` : ""}`;
          const got = await s.read(bufs.dLogits, logitRows * V);
          cases.push(compare(label, got, dWant, XENT_TOLERANCE.dLogits));
        }
      }
      const got = await s.read(bufs.losses, c.steps.length);
      cases.push(compare(`losses ${shape}`, got, wantLosses, XENT_TOLERANCE.loss));
      if (c.timed) {
        speed = await ctx.speed(shape, kernels, { bytes: (grad ? 2 : 1) * logitRows * V * 4 });
      }
    });
  }
  return { cases, speed };
}
