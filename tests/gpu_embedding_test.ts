/**
 * The embedding on WebGPU (shaders/embedding.wgsl gather, embedding_backward.wgsl scatter-add without
 * atomics) against the CPU reference (src/cpu/embedding.ts): rows gathered through the epoch's order, rows
 * past a short batch zero with id -1, and the backward summing every repeated word's rows, within one chunk
 * of ids and across chunks.
 */
import { assertAllClose, assertEquals, randomArray } from "./assert.ts";
import { gpuTest, output, readFloats, readInts, upload } from "./gpu_harness.ts";
import { type Gpu, whole } from "../src/gpu/device.ts";
import { createEmbedding } from "../src/gpu/embedding.ts";
import { createStepParams } from "../src/gpu/step_params.ts";
import { embeddingBackward, embeddingForward } from "../src/cpu/embedding.ts";

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
 * Runs forward and backward for steps (start, size) over `pairs` windows and compares with the CPU
 * reference on the same gathered ids. The gather and the sums are exact float copies/adds in the same
 * order as the reference, so the tolerance is float32 rounding only.
 */
async function checkEmbedding(
  gpu: Gpu,
  shape: { V: number; E: number; T: number; maxB: number },
  pairs: number,
  steps: Array<[number, number, number?]>,
  distinct: number,
): Promise<void> {
  const { V, E, T, maxB } = shape;
  const inputs = randomIds(pairs * T, V, distinct, 11);
  const order = permutation(pairs, 12);
  const table = randomArray(V * E, 13);
  const dxHost = randomArray(maxB * T * E, 14); // nonzero beyond size too: those rows must be ignored
  const step = createStepParams(gpu, "test step", T);
  const bufs = {
    step: step.buffer,
    inputs: upload(gpu, inputs),
    order: upload(gpu, order),
    table: upload(gpu, table),
    x: output(gpu, maxB * T * E),
    dx: upload(gpu, dxHost),
    dTable: output(gpu, V * E, NaN), // every row is overwritten, rows of absent words with 0
  };
  const emb = await createEmbedding(gpu, shape, bufs);
  for (const [start, size, tb = T] of steps) {
    // A batch of tb <= T positions per row (a headline batch shorter than the data's longest row) is
    // packed with tb as the row stride.
    step.set(start, size, 0, tb);
    await gpu.run([...emb.forward, ...emb.backward]);
    const ids = new Int32Array(size * tb);
    for (let b = 0; b < size; b++) {
      for (let t = 0; t < tb; t++) ids[b * tb + t] = inputs[order[start + b] * T + t];
    }
    const xExpected = new Float32Array(maxB * T * E);
    embeddingForward(table, ids, E, xExpected);
    const what = `V=${V} E=${E} T=${T} start=${start} size=${size} positions ${tb}`;
    const x = await readFloats(gpu, bufs.x, maxB * T * E);
    assertAllClose(x, xExpected, { atol: 0, rtol: 0, what: `x ${what}` });
    const gpuIds = await readInts(gpu, whole(emb.ids), maxB * T);
    assertEquals(Array.from(gpuIds), [...ids, ...new Array(maxB * T - size * tb).fill(-1)]);
    const dTableExpected = new Float32Array(V * E);
    embeddingBackward(dxHost.subarray(0, size * tb * E), ids, E, dTableExpected);
    const dTable = await readFloats(gpu, bufs.dTable, V * E);
    assertAllClose(dTable, dTableExpected, { atol: 1e-6, rtol: 1e-6, what: `dTable ${what}` });
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
  "embedding: a batch with more ids than the backward holds in workgroup memory at once",
  async (gpu) => {
    // 1500 x 3 = 4500 positions: the backward's ids pass through workgroup memory in chunks of 2048 (three
    // chunks, the last one short), and words repeat across chunks.
    await checkEmbedding(gpu, { V: 50, E: 3, T: 3, maxB: 1500 }, 1600, [[0, 1500], [100, 1499]], 19);
  },
);

gpuTest(
  "embedding: real shape (V=2482, E=16, T=2, maxB=64), full batch and a last batch of 20",
  async (gpu) => {
    await checkEmbedding(gpu, { V: 2482, E: 16, T: 2, maxB: 64 }, 148, [[0, 64], [64, 64], [128, 20]], 50);
  },
);
