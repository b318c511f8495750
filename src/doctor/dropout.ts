/**
 * Dropout's check against the CPU reference's masks (shaders/dropout.wgsl, src/facts/dropout.ts): each pass
 * in place and into another buffer, equal bit for bit to the reference's product, and nothing written past
 * the step's positions. Per position (a batch's packed activations: PER_STEP, the step's Tb bounding the
 * elements) or per row (a window model's fc2 input); seeded odd shapes, then the models' places.
 */
import { createDropout, createDropoutParams } from "../gpu/dropout.ts";
import { createStepParams } from "../gpu/step_params.ts";
import {
  DROPOUT_TOLERANCE,
  type DropoutModelCase,
  dropoutReference,
  modelDropoutCases,
} from "../facts/dropout.ts";
import type { DoctorShapes } from "../facts/shapes.ts";
import { type CaseResult, compare, randomFloats, ShapeRng } from "./compare.ts";
import { type CheckContext, type CheckOutcome, oddCount, type Speed } from "./context.ts";

/** What a copy holds past the step's elements: a pass must leave it. */
const UNWRITTEN = 7777;

/** Odd shapes and the models' passes of one kind: per position, or per row. */
function dropoutCases(ctx: CheckContext, shapes: DoctorShapes, perPosition: boolean): DropoutModelCase[] {
  const rng = new ShapeRng(ctx.seedFor(`dropout ${perPosition}`));
  const odd = oddCount(ctx).map((): DropoutModelCase => {
    const maxSteps = perPosition ? rng.int(2, 9) : 0;
    return {
      rows: rng.int(3, 40),
      maxSteps,
      width: rng.int(3, 70, (n) => n % 2 === 1),
      site: rng.int(0, 6),
      steps: perPosition ? [maxSteps, rng.int(1, maxSteps - 1)] : [1],
      model: "window",
      label: "odd",
    };
  });
  return [...odd, ...modelDropoutCases(shapes).filter((c) => (c.maxSteps > 0) === perPosition)];
}

/** dropout.wgsl at rate 0.3 on every case and each of its steps' positions, in place and copied. */
export async function checkDropout(
  ctx: CheckContext,
  shapes: DoctorShapes,
  perPosition: boolean,
): Promise<CheckOutcome> {
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  const all = dropoutCases(ctx, shapes, perPosition);
  for (const c of all) {
    const n = c.rows * Math.max(1, c.maxSteps) * c.width;
    const seed = ctx.seedFor(`dropout ${JSON.stringify(c)}`);
    const x = randomFloats(n, seed);
    const settings = { rate: 0.3, seed: seed >>> 0 };
    await ctx.scratch(async (s) => {
      const step = createStepParams(ctx.gpu, "doctor step", Math.max(1, c.maxSteps));
      const params = createDropoutParams(ctx.gpu, "doctor dropout");
      const inPlace = s.alloc("x in place", x);
      const src = s.alloc("x", x);
      const dst = s.alloc("y", n);
      const bufs = { step: step.buffer, params: params.buffer };
      const kernels = [
        await createDropout(ctx.gpu, c, { ...bufs, x: inPlace }, "doctor dropout"),
        await createDropout(ctx.gpu, c, { ...bufs, x: src, y: dst }, "doctor dropout copy"),
      ];
      for (const [k, tb] of c.steps.entries()) {
        const optStep = 1 + k * 7919;
        ctx.gpu.write(inPlace.buffer, 0, x);
        ctx.gpu.write(dst.buffer, 0, new Float32Array(n).fill(UNWRITTEN));
        step.set(0, c.rows, 0, tb);
        params.set(settings, optStep);
        await ctx.gpu.run(kernels);
        const used = c.rows * (c.maxSteps > 0 ? tb : 1) * c.width;
        const want = dropoutReference(x, settings, optStep, c.site, used);
        const label =
          `${c.label}: ${c.rows} rows${c.maxSteps > 0 ? ` x ${tb} of ${c.maxSteps} positions` : ""} ` +
          `x ${c.width}, site ${c.site}, step ${optStep}`;
        cases.push(compare(`in place ${label}`, await s.read(inPlace, n), want, DROPOUT_TOLERANCE));
        const copied = want.map((v, i) => (i < used ? v : UNWRITTEN));
        cases.push(compare(`copied ${label}`, await s.read(dst, n), copied, DROPOUT_TOLERANCE));
      }
      if (c === all.at(-1)) {
        speed = await ctx.speed(`${n} elements`, kernels.slice(0, 1), { bytes: 2 * n * 4 });
      }
    });
  }
  return { cases, speed };
}
