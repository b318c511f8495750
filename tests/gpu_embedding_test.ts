/**
 * The embedding on WebGPU (shaders/embedding.wgsl gather, embedding_backward.wgsl scatter-add without
 * atomics) against the CPU reference (src/cpu/embedding.ts): rows gathered through the epoch's order, rows
 * past a short batch zero with id -1, a step's positions fewer than the data's rows (its own stride), and the
 * backward summing every repeated word's rows, within one chunk of ids and across chunks, overwriting dTable
 * or adding to it (a tied output layer's gradient); then the models' shapes (src/facts/embedding.ts, whose
 * tolerances these are).
 */
import { assertAllClose, assertEquals, randomArray } from "./assert.ts";
import { gpuTest, output, readFloats, readInts, upload } from "./gpu_harness.ts";
import { type Gpu, whole } from "../src/gpu/device.ts";
import { createEmbedding } from "../src/gpu/embedding.ts";
import { createStepParams } from "../src/gpu/step_params.ts";
import { embeddingBackward, embeddingForward } from "../src/cpu/embedding.ts";
import { EMBEDDING_TOLERANCE, modelEmbeddingCases } from "../src/facts/embedding.ts";
import { stepRows } from "../src/facts/step_rows.ts";
import { MODEL_SHAPES } from "../src/facts/shapes.ts";

/** Seeded ids in [0, V) drawn from only `distinct` words, so batches repeat words. */
function randomIds(n: number, V: number, distinct: number, seed: number): Int32Array {
  const r = randomArray(n, seed, 0, 1);
  return Int32Array.from(r, (u) => Math.floor(u * distinct) * Math.floor(V / distinct));
}

/** A seeded permutation of 0..n-1. */
function permutation(n: number, seed: number): Int32Array {
  const r = randomArray(n, seed, 0, 1);
  return Int32Array.from([...Array(n).keys()].sort((a, b) => r[a] - r[b]));
}

/**
 * Runs forward and backward for steps (start, size, positions) over `rows` rows of data and compares with
 * the CPU reference on the same gathered ids; with `accumulate` dTable starts with values the backward adds
 * to.
 */
async function checkEmbedding(
  gpu: Gpu,
  shape: { V: number; E: number; T: number; maxB: number },
  rows: number,
  steps: Array<[number, number, number?]>,
  distinct: number,
  accumulate = false,
  wordWidth?: number,
): Promise<void> {
  const { V, E, T, maxB } = shape;
  const inputs = randomIds(rows * T, V, distinct, 11);
  const order = permutation(rows, 12);
  const table = randomArray(V * E, 13);
  const dxHost = randomArray(maxB * T * E, 14); // nonzero beyond size too: those rows must be ignored
  const dTableBefore = randomArray(V * E, 15); // what an accumulating backward adds to
  const step = createStepParams(gpu, "test step", T);
  const bufs = {
    step: step.buffer,
    inputs: upload(gpu, inputs),
    order: upload(gpu, order),
    table: upload(gpu, table),
    x: output(gpu, maxB * T * E),
    dx: upload(gpu, dxHost),
    dTable: output(gpu, V * E, NaN), // overwritten: every row, rows of absent words with 0
  };
  const emb = await createEmbedding(gpu, shape, bufs, "embedding", accumulate, wordWidth);
  for (const [start, size, tb = T] of steps) {
    // A batch of tb <= T positions per row (a headline batch shorter than the data's longest row) is
    // packed with tb as the row stride.
    step.set(start, size, 0, tb);
    if (accumulate) gpu.write(bufs.dTable.buffer, 0, dTableBefore);
    await gpu.run([...emb.forward, ...emb.backward]);
    const ids = stepRows(inputs, order, T, start, size, tb);
    const xExpected = new Float32Array(maxB * T * E);
    embeddingForward(table, ids, E, xExpected);
    const what = `V=${V} E=${E} T=${T} start=${start} size=${size} positions ${tb}`;
    const x = await readFloats(gpu, bufs.x, maxB * T * E);
    assertAllClose(x, xExpected, { ...EMBEDDING_TOLERANCE.forward, what: `x ${what}` });
    const gpuIds = await readInts(gpu, whole(emb.ids), maxB * T);
    assertEquals(Array.from(gpuIds), [...ids, ...new Array(maxB * T - size * tb).fill(-1)]);
    const dTableExpected = accumulate ? dTableBefore.slice() : new Float32Array(V * E);
    embeddingBackward(dxHost.subarray(0, size * tb * E), ids, E, dTableExpected, accumulate);
    const dTable = await readFloats(gpu, bufs.dTable, V * E);
    const tol = accumulate ? EMBEDDING_TOLERANCE.accumulate : EMBEDDING_TOLERANCE.backward;
    assertAllClose(dTable, dTableExpected, { ...tol, what: `dTable ${what}` });
    // Every word's span is reset for the next step (else still right, but walked ever wider).
    assertEquals(Array.from(await readInts(gpu, whole(emb.spans.first), V)), new Array(V).fill(-1), "first");
    assertEquals(Array.from(await readInts(gpu, whole(emb.spans.last), V)), new Array(V).fill(0), "last");
  }
}

gpuTest("embedding: odd shape, repeated words, full and short batches", async (gpu) => {
  // 4 distinct words over 15 positions: every word repeats within a batch.
  await checkEmbedding(gpu, { V: 37, E: 7, T: 3, maxB: 5 }, 11, [[0, 5], [5, 5], [10, 1], [3, 2]], 4);
});

gpuTest(
  "embedding: a step's positions fewer than the data's rows hold, packed with its own stride",
  async (gpu) => {
    await checkEmbedding(
      gpu,
      { V: 23, E: 5, T: 7, maxB: 4 },
      9,
      [[0, 4, 3], [4, 3, 7], [6, 3, 1], [1, 4, 5]],
      6,
    );
  },
);

gpuTest(
  "embedding: a batch of 4500 positions, each word's far apart; rows longer than the backward sums at once",
  async (gpu) => {
    await checkEmbedding(gpu, { V: 50, E: 3, T: 3, maxB: 1500 }, 1600, [[0, 1500], [100, 1499]], 19);
    // E = 2050: the backward sums a word's row in two chunks of elements (2048, then 2), walking it twice.
    await checkEmbedding(gpu, { V: 9, E: 2050, T: 2, maxB: 3 }, 5, [[0, 3], [2, 3]], 3);
  },
);

gpuTest(
  "embedding: 64 invocations a word (a hardware adapter's width) sum alike, overwriting and accumulating",
  async (gpu) => {
    await checkEmbedding(gpu, { V: 37, E: 70, T: 3, maxB: 5 }, 11, [[0, 5], [5, 5], [10, 1]], 4, false, 64);
    await checkEmbedding(gpu, { V: 31, E: 5, T: 6, maxB: 7 }, 12, [[0, 7, 6], [7, 5, 3]], 5, true, 64);
  },
);

gpuTest(
  "embedding: accumulating into dTable (a tied output layer's gradient), strided steps",
  async (gpu) => {
    await checkEmbedding(gpu, { V: 31, E: 5, T: 6, maxB: 7 }, 12, [[0, 7, 6], [7, 5, 3], [2, 7, 1]], 5, true);
  },
);

gpuTest(
  "embedding: the models' shapes (V=2482, T=2; the tied headline model's V=2484, T=25), their last batches",
  async (gpu) => {
    for (const c of modelEmbeddingCases(MODEL_SHAPES)) {
      await checkEmbedding(gpu, c, c.rows, c.steps, Math.min(c.V, 50), c.accumulate);
    }
  },
);
