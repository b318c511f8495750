/**
 * The embedding's checks against the CPU reference: the gather (embedding.wgsl: the rows of a step's ids
 * through the epoch's order, packed with the step's positions as the row stride, zero past them) and the
 * scatter (embedding_backward.wgsl: dTable overwritten, or added to where a tied output layer's gradient
 * is). Seeded odd shapes run a short step at fewer positions than the data's rows hold; then the models'
 * shapes (src/facts/embedding.ts).
 */
import { embeddingBackward, embeddingForward } from "../cpu/embedding.ts";
import { whole } from "../gpu/device.ts";
import { createEmbedding } from "../gpu/embedding.ts";
import { createStepParams } from "../gpu/step_params.ts";
import { EMBEDDING_TOLERANCE, type EmbeddingModelCase, modelEmbeddingCases } from "../facts/embedding.ts";
import { stepRows } from "../facts/step_rows.ts";
import type { DoctorShapes } from "../facts/shapes.ts";
import { type CaseResult, compare, permutation, randomFloats, randomInts, ShapeRng } from "./compare.ts";
import { type CheckContext, type CheckOutcome, oddCount, type Speed } from "./context.ts";

/** What a check runs: the gather, the scatter that overwrites dTable, or the one that adds to it. */
export type EmbeddingPass = "forward" | "backward" | "accumulate";

interface EmbeddingCase extends Omit<EmbeddingModelCase, "model"> {
  /** Ids are drawn from this many words, so batches repeat words. */
  distinct: number;
  label: string;
  timed: boolean;
}

/**
 * Odd shapes (a full step at the data's positions, a short one at fewer), then the models' cases that run
 * `pass`: the forward every model's, the backward those whose accumulate matches.
 */
function embeddingCases(ctx: CheckContext, shapes: DoctorShapes, pass: EmbeddingPass): EmbeddingCase[] {
  const rng = new ShapeRng(ctx.seedFor("embedding"));
  const odd = oddCount(ctx).map((): EmbeddingCase => {
    const maxB = rng.int(5, 40);
    const short = rng.int(1, maxB - 1);
    const T = rng.int(2, 5);
    return {
      V: rng.int(20, 300),
      E: rng.int(3, 19, (n) => n % 2 === 1),
      T,
      maxB,
      steps: [[0, maxB, T], [maxB, short, rng.int(1, T - 1)]],
      rows: maxB + short,
      accumulate: pass === "accumulate",
      distinct: rng.int(3, 12),
      label: "odd",
      timed: false,
    };
  });
  const model = modelEmbeddingCases(shapes).filter((c) =>
    pass === "forward" || c.accumulate === (pass === "accumulate")
  );
  return [
    ...odd,
    ...model.map((c, i) => ({ ...c, distinct: Math.min(c.V, 50), label: c.model, timed: i === 0 })),
  ];
}

function embeddingData(ctx: CheckContext, c: EmbeddingCase) {
  const seed = ctx.seedFor(`embedding ${JSON.stringify(c)}`);
  const spread = Math.floor(c.V / c.distinct);
  const inputs = Int32Array.from(randomInts(c.rows * c.T, seed, c.distinct), (w) => w * spread);
  return {
    inputs,
    order: permutation(c.rows, seed + 1),
    table: randomFloats(c.V * c.E, seed + 2),
    dx: randomFloats(c.maxB * c.T * c.E, seed + 3),
    /** What dTable holds before an accumulating backward. */
    dTable: randomFloats(c.V * c.E, seed + 4),
  };
}

/** embedding.wgsl (forward), embedding_backward.wgsl (backward, or accumulating) on every case. */
export async function checkEmbedding(
  ctx: CheckContext,
  shapes: DoctorShapes,
  pass: EmbeddingPass,
): Promise<CheckOutcome> {
  const cases: CaseResult[] = [];
  let speed: Speed | undefined;
  for (const c of embeddingCases(ctx, shapes, pass)) {
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
      const emb = await createEmbedding(ctx.gpu, c, bufs, "doctor embedding", c.accumulate);
      for (const [start, size, tb] of c.steps) {
        const ids = stepRows(d.inputs, d.order, c.T, start, size, tb);
        const label = `${c.label === "odd" ? "" : `${c.label}: `}V=${c.V} E=${c.E} T=${c.T} batch ${size} ` +
          `of ${c.maxB}${tb < c.T ? ` at ${tb} positions` : ""}`;
        step.set(start, size, 0, tb);
        if (pass === "forward") {
          const readX = () => s.read(bufs.x, positions * c.E);
          cases.push(...await forwardCase(ctx, c, d.table, ids, emb, readX, label));
        } else {
          // The ids as the forward leaves them: the step's, -1 past them.
          const all = new Int32Array(positions).fill(-1);
          all.set(ids);
          ctx.gpu.write(emb.ids, 0, all);
          const want = c.accumulate ? d.dTable.slice() : new Float32Array(c.V * c.E);
          if (c.accumulate) ctx.gpu.write(bufs.dTable.buffer, 0, d.dTable);
          await ctx.gpu.run(emb.backward);
          embeddingBackward(d.dx.subarray(0, ids.length * c.E), ids, c.E, want, c.accumulate);
          const got = await s.read(bufs.dTable, c.V * c.E);
          const tol = c.accumulate ? EMBEDDING_TOLERANCE.accumulate : EMBEDDING_TOLERANCE.backward;
          cases.push(compare(`dTable ${label}`, got, want, tol));
        }
      }
      if (c.timed) {
        const bytes = pass === "forward"
          ? positions * 4 * 2 + positions * c.E * 4 * 2
          : positions * c.E * 4 + c.V * c.E * 4;
        const kernels = pass === "forward" ? emb.forward : emb.backward;
        speed = await ctx.speed(`${c.maxB}x${c.T} ids, V=${c.V} E=${c.E}`, kernels, { bytes });
      }
    });
  }
  return { cases, speed };
}

/** The forward of one step against the reference: the gathered rows (zero past the step's) and the ids. */
async function forwardCase(
  ctx: CheckContext,
  c: EmbeddingCase,
  table: Float32Array,
  ids: Int32Array,
  emb: Awaited<ReturnType<typeof createEmbedding>>,
  readX: () => Promise<Float32Array>,
  label: string,
): Promise<CaseResult[]> {
  const positions = c.maxB * c.T;
  await ctx.gpu.run(emb.forward);
  const want = new Float32Array(positions * c.E);
  embeddingForward(table, ids, c.E, want);
  const wantIds = new Int32Array(positions).fill(-1);
  wantIds.set(ids);
  const gotIds = (await ctx.gpu.readInt(whole(emb.ids))).subarray(0, positions);
  return [
    compare(`x ${label}`, await readX(), want, EMBEDDING_TOLERANCE.forward),
    compare(`ids ${label}`, gotIds, wantIds, EMBEDDING_TOLERANCE.forward),
  ];
}
