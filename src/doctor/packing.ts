/**
 * The packing of a headline batch's positions with a target (shaders/rows_pack.wgsl, src/gpu/packing.ts)
 * against a copy by the same indices, bit for bit: packed rows past the step's count and positions past its
 * rows left as they were, positions without a target 0. Seeded odd shapes (rows of f32 and of vec4), then the
 * headline model's widths (a layer's input, its H and its gates' 4H) at its batch and rows' positions.
 */
import { createPacking, createRowsPack, packPositions } from "../gpu/packing.ts";
import { createStepParams } from "../gpu/step_params.ts";
import type { DoctorShapes } from "../facts/shapes.ts";
import { EXACT } from "../facts/tolerance.ts";
import { type CaseResult, compare, randomFloats, randomInts, ShapeRng } from "./compare.ts";
import { type CheckContext, type CheckOutcome, oddCount, type Speed } from "./context.ts";

/** What an output holds where a pass must not write. */
const UNWRITTEN = 7777;

interface PackCase {
  maxB: number;
  maxSteps: number;
  width: number;
  /** Each step's rows and positions (Tb). */
  steps: Array<[number, number]>;
  label: string;
}

function packCases(ctx: CheckContext, shapes: DoctorShapes): PackCase[] {
  const rng = new ShapeRng(ctx.seedFor("rows pack"));
  const odd = oddCount(ctx).flatMap((): PackCase[] => {
    const maxB = rng.int(3, 40);
    const maxSteps = rng.int(2, 9);
    const steps: PackCase["steps"] = [[maxB, maxSteps], [rng.int(1, maxB), rng.int(1, maxSteps - 1)]];
    return [
      { maxB, maxSteps, width: rng.int(3, 70, (n) => n % 2 === 1), steps, label: "odd" },
      { maxB, maxSteps, width: 4 * rng.int(1, 20), steps, label: "odd" },
    ];
  });
  const { batch, lastBatch, headline } = shapes;
  const { embed: E, hidden: H } = headline.model;
  const steps: PackCase["steps"] = [[batch, headline.steps], [lastBatch, headline.lastSteps]];
  const model = [...new Set([E, H, 4 * H])].map((width): PackCase => ({
    maxB: batch,
    maxSteps: headline.steps,
    width,
    steps,
    label: "headline model",
  }));
  return [...odd, ...model];
}

/** rows_pack.wgsl both ways on every case and each of its steps, rows of random lengths (0 included). */
export async function checkRowsPack(ctx: CheckContext, shapes: DoctorShapes): Promise<CheckOutcome> {
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  const all = packCases(ctx, shapes);
  for (const c of all) {
    const { maxB, maxSteps, width } = c;
    const n = maxB * maxSteps * width;
    const seed = ctx.seedFor(`rows pack ${JSON.stringify(c)}`);
    await ctx.scratch(async (s) => {
      const step = createStepParams(ctx.gpu, "doctor step", maxSteps);
      const packing = createPacking(ctx.gpu, maxB, maxSteps, "doctor packing");
      const x = s.alloc("positions", n);
      const packed = s.alloc("packed", n);
      const back = s.alloc("unpacked", n);
      const kernels = [
        await createRowsPack(
          ctx.gpu,
          width,
          { step: step.buffer, packing, x, y: packed },
          true,
          "doctor pack",
        ),
        await createRowsPack(ctx.gpu, width, { step: step.buffer, packing, x: packed, y: back }, false),
      ];
      for (const [k, [size, tb]] of c.steps.entries()) {
        const data = randomFloats(n, seed + k);
        const lengths = randomInts(size, seed + 10 + k, tb + 1);
        ctx.gpu.write(x.buffer, 0, data);
        for (const out of [packed, back]) ctx.gpu.write(out.buffer, 0, new Float32Array(n).fill(UNWRITTEN));
        step.set(0, size, 0, tb);
        packing.set(lengths, size, tb);
        await ctx.gpu.run(kernels);
        const want = packPositions(lengths, size, tb, maxB);
        const packedWant = new Float32Array(n).fill(UNWRITTEN);
        want.positions.forEach((p, r) =>
          packedWant.set(data.subarray(p * width, (p + 1) * width), r * width)
        );
        const backWant = new Float32Array(n).fill(UNWRITTEN);
        for (let p = 0; p < maxB * tb; p++) {
          const row = want.rowOf[p] >= 0
            ? data.subarray(p * width, (p + 1) * width)
            : new Float32Array(width);
          backWant.set(row, p * width);
        }
        const label = `${c.label}: ${size} of ${maxB} rows x ${tb} of ${maxSteps} positions x ${width}, ` +
          `${want.rows} packed`;
        cases.push(compare(`packed ${label}`, await s.read(packed, n), packedWant, EXACT));
        cases.push(compare(`unpacked ${label}`, await s.read(back, n), backWant, EXACT));
      }
      if (c === all.at(-1)) speed = await ctx.speed(`${n} elements`, kernels, { bytes: 4 * n * 4 });
    });
  }
  return { cases, speed };
}
