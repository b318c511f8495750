/**
 * Softmax cross-entropy on WebGPU (shaders/softmax_xent.wgsl and its mean) against the CPU reference
 * (src/cpu/softmax_xent.ts, float64): every step's loss in its slot, dLogits = (softmax - onehot) / size,
 * rows beyond a short batch's size exactly 0; a headline batch's rows its packed positions with a target
 * (src/gpu/packing.ts), the rows past them untouched. Its numerical stability is pinned by several cases that each
 * fail when the kernel does not subtract the row's maximum before exp: logits far above exp's float32 range
 * (e^88.7 overflows), far below it (e^-104 underflows to 0), mixed magnitudes in one row, rows whose maximum is
 * not the target, and a short batch of such rows.
 *
 * Tolerances: src/facts/softmax_xent.ts (ordinary logits, and one ulp of the logits' magnitude L beyond), which
 * doctor states too.
 */
import { assert, assertAllClose, assertEquals, randomArray } from "./assert.ts";
import { gpuTest, output, readFloats, upload } from "./gpu_harness.ts";
import {
  cooperativeWidth,
  type Gpu,
  SOFTWARE_LANES,
  softwareAdapterName,
  WIDE_WORKGROUP,
} from "../src/gpu/device.ts";
import { createSoftmaxXent, type SoftmaxXentShape } from "../src/gpu/softmax_xent.ts";
import { createStepParams } from "../src/gpu/step_params.ts";
import { softmaxCrossEntropy } from "../src/cpu/softmax_xent.ts";
import { MODEL_SHAPES } from "../src/facts/shapes.ts";
import { modelXentCases, XENT_TOLERANCE } from "../src/facts/softmax_xent.ts";
import { packedTargets, stepRows } from "../src/facts/step_rows.ts";
import { createPacking } from "../src/gpu/packing.ts";
import type { Tolerance } from "../src/facts/tolerance.ts";

interface Tolerances {
  loss: Tolerance;
  dLogits: Tolerance;
}

/** The logits of step k, [rows, V]; `targets` are the step's targets (a row's each, then the rows past them). */
type MakeLogits = (k: number, targets: Int32Array, rows: number, V: number) => Float32Array;

/** Uniform logits in [center - spread, center + spread). */
const uniform = (center: number, spread: number): MakeLogits => (k, _t, rows, V) =>
  randomArray(rows * V, 100 + k, center - spread, center + spread);

/**
 * Runs the steps (start, size, positions), step k writing its loss to slot k, reads the losses once at the
 * end and compares every step's loss and dLogits with the CPU reference on the targets the step scores. Per
 * row, rows past the step's must be exactly 0; per position, the rows are the step's packed positions with a
 * target, and the rows past them must be left as they were (nothing reads them).
 */
async function runSteps(
  gpu: Gpu,
  shape: SoftmaxXentShape,
  data: { targets: Int32Array; order: Int32Array },
  steps: ReadonlyArray<readonly [number, number, number]>,
  makeLogits: MakeLogits,
  tol: Tolerances,
  rowWidth?: number,
): Promise<void> {
  const { maxB, V, perPosition } = shape;
  const rows = maxB * (perPosition?.maxSteps ?? 1);
  const step = createStepParams(gpu, "test step", perPosition?.maxSteps ?? 1);
  const packing = perPosition ? createPacking(gpu, maxB, perPosition.maxSteps) : undefined;
  const bufs = {
    step: step.buffer,
    logits: output(gpu, rows * V),
    targets: upload(gpu, data.targets),
    order: upload(gpu, data.order),
    rowLoss: output(gpu, rows),
    losses: output(gpu, steps.length),
    dLogits: output(gpu, rows * V),
    packing,
  };
  const kernels = await createSoftmaxXent(gpu, shape, bufs, undefined, rowWidth);
  const expectedLosses: number[] = [];
  for (const [k, [start, size, tb]] of steps.entries()) {
    const stepTargets = stepRows(data.targets, data.order, perPosition?.stride ?? 1, start, size, tb);
    const packed = perPosition ? packedTargets(stepTargets, size) : null;
    const scored = packed?.targets ?? stepTargets;
    const logits = makeLogits(k, scored, rows, V);
    gpu.write(bufs.logits.buffer, 0, logits);
    // Stale gradient from "the previous step": rows beyond the step's must be overwritten with 0 (per row).
    gpu.write(bufs.dLogits.buffer, 0, new Float32Array(rows * V).fill(123));
    // Stale row losses too: the mean must sum the step's rows alone.
    gpu.write(bufs.rowLoss.buffer, 0, new Float32Array(rows).fill(123));
    step.set(start, size, k, tb);
    if (packed) assertEquals(packing!.set(packed.lengths, size, tb), scored.length);
    await gpu.run(kernels);
    const dExpected = new Float32Array(rows * V);
    expectedLosses.push(softmaxCrossEntropy(logits, scored, scored.length, V, dExpected));
    const dLogits = await readFloats(gpu, bufs.dLogits, rows * V);
    const what = `dLogits step ${k} (size ${size}, ${tb} positions)`;
    const past = scored.length * V;
    assertAllClose(dLogits.subarray(0, past), dExpected.subarray(0, past), { ...tol.dLogits, what });
    const untouched = packed ? 123 : 0;
    for (let i = past; i < rows * V; i++) {
      assert(dLogits[i] === untouched, `dLogits[${i}] beyond the step is ${dLogits[i]}`);
    }
  }
  const losses = await readFloats(gpu, bufs.losses, steps.length);
  assertAllClose(losses, expectedLosses, { ...tol.loss, what: "losses by slot" });
}

/** A window model's rows (one target each) through steps (start, size) over shuffled pairs. */
async function checkSoftmaxXent(
  gpu: Gpu,
  maxB: number,
  V: number,
  makeLogits: MakeLogits,
  steps: Array<[number, number]>,
  tol: Tolerances,
  rowWidth?: number,
): Promise<void> {
  const pairs = Math.max(...steps.map(([s, n]) => s + n));
  const targets = Int32Array.from(randomArray(pairs, 21, 0, V), Math.floor);
  const order = Int32Array.from({ length: pairs }, (_, i) => (i * 7 + 3) % pairs);
  const perPair = steps.map(([start, size]) => [start, size, 1] as const);
  await runSteps(gpu, { maxB, V }, { targets, order }, perPair, makeLogits, tol, rowWidth);
}

const ORDINARY: Tolerances = XENT_TOLERANCE;
const atMagnitude = XENT_TOLERANCE.atMagnitude;

/** Logits in -3..3 beside one each of 500, -700 and 90 a row (different columns per row). */
const mixedMagnitudes: MakeLogits = (k, _t, maxB, V) => {
  const logits = randomArray(maxB * V, 100 + k, -3, 3);
  for (let b = 0; b < maxB; b++) {
    // Different columns per row, so that some rows' targets fall on them and most do not.
    logits[b * V + (b * 5) % V] = 500;
    logits[b * V + (b * 5 + 1) % V] = -700;
    logits[b * V + (b * 5 + 2) % V] = 90;
  }
  return logits;
};

gpuTest("softmax xent: odd shape (V=37, maxB=5), short batch, losses in two slots", async (gpu) => {
  await checkSoftmaxXent(gpu, 5, 37, uniform(0, 3), [[0, 5], [5, 3]], ORDINARY);
});

gpuTest(
  "softmax xent: rows of 8 invocations on a software adapter; rows of 256 (a hardware adapter's) match too",
  async (gpu) => {
    const software = softwareAdapterName(gpu) !== null;
    assertEquals(
      cooperativeWidth(gpu, WIDE_WORKGROUP),
      gpu.reductionWidth(software ? SOFTWARE_LANES : WIDE_WORKGROUP),
    );
    // The other width than this adapter's own, on an odd shape and on a row of mixed magnitudes.
    const other = software ? WIDE_WORKGROUP : SOFTWARE_LANES;
    await checkSoftmaxXent(gpu, 5, 37, uniform(0, 3), [[0, 5], [5, 3]], ORDINARY, other);
    await checkSoftmaxXent(gpu, 3, 300, mixedMagnitudes, [[0, 3]], atMagnitude(700), other);
  },
);

gpuTest("softmax xent: the window model's shape (V=2482, maxB=64), then a last batch of 20", async (gpu) => {
  const c = modelXentCases(MODEL_SHAPES).find((c) => c.model === "window")!;
  const steps = c.steps.map(([start, size]): [number, number] => [start, size]);
  await checkSoftmaxXent(gpu, c.maxB, c.V, uniform(0, c.scale), steps, ORDINARY);
});

gpuTest("softmax xent stability: large positive logits (90..110, past exp's float32 range)", async (gpu) => {
  await checkSoftmaxXent(gpu, 6, 300, uniform(100, 10), [[0, 6], [2, 4]], atMagnitude(110));
});

gpuTest("softmax xent stability: large negative logits (-1010..-990, exp underflows to 0)", async (gpu) => {
  await checkSoftmaxXent(gpu, 6, 300, uniform(-1000, 10), [[0, 6], [2, 4]], atMagnitude(1010));
});

gpuTest(
  "softmax xent stability: mixed magnitudes in one row (-3..3 beside 500, -700 and 90)",
  async (gpu) => {
    await checkSoftmaxXent(gpu, 7, 64, mixedMagnitudes, [[0, 7], [3, 7]], atMagnitude(700));
  },
);

gpuTest("softmax xent stability: rows whose maximum (100) is not the target (55..65)", async (gpu) => {
  const notTarget: MakeLogits = (k, targets, maxB, V) => {
    const logits = randomArray(maxB * V, 100 + k, 55, 65);
    for (let b = 0; b < maxB; b++) {
      // The largest logit sits next to the target (rows past the batch: anywhere), far above the rest.
      const t = b < targets.length ? targets[b] : 0;
      logits[b * V + (t + 1 + b) % V] = 100;
    }
    return logits;
  };
  await checkSoftmaxXent(gpu, 9, 130, notTarget, [[0, 9], [4, 9]], atMagnitude(100));
});

gpuTest("softmax xent stability: a short batch (3 and 5 of 8 rows) of logits near 200", async (gpu) => {
  // Rows past the size hold logits near 200 too: they must give exactly 0, never Inf or NaN.
  await checkSoftmaxXent(gpu, 8, 257, uniform(200, 20), [[0, 3], [3, 5]], atMagnitude(220));
});

gpuTest("softmax xent: logits up to +-1e4 stay finite and match the reference", async (gpu) => {
  // log-sum-exp near 1e4 carries float32 rounding of ~1e-3 absolute, so probabilities are ~1e-3 relative.
  await checkSoftmaxXent(gpu, 6, 300, uniform(0, 1e4), [[0, 6], [2, 4]], XENT_TOLERANCE.extreme);
});

gpuTest("softmax xent: forward-only variant (no dLogits buffer) writes only its slot", async (gpu) => {
  const maxB = 7, V = 129;
  const logits = randomArray(maxB * V, 31, -4, 4);
  const targets = Int32Array.from(randomArray(maxB, 32, 0, V), Math.floor);
  const order = Int32Array.from({ length: maxB }, (_, i) => i);
  const step = createStepParams(gpu);
  const bufs = {
    step: step.buffer,
    logits: upload(gpu, logits),
    targets: upload(gpu, targets),
    order: upload(gpu, order),
    rowLoss: output(gpu, maxB),
    losses: output(gpu, 3),
  };
  const kernels = await createSoftmaxXent(gpu, { maxB, V }, bufs);
  step.set(0, 6, 2);
  await gpu.run(kernels);
  const expected = softmaxCrossEntropy(logits, targets.subarray(0, 6), 6, V, null);
  assertAllClose(await readFloats(gpu, bufs.losses, 3), [0, 0, expected], {
    ...ORDINARY.loss,
    what: "losses",
  });
});

/**
 * Headline batches: a row of logits per position, the step's positions (fewer than the data's rows hold)
 * as the stride, padding targets (-1) counting for nothing, the mean over the step's targets; against the
 * CPU reference on the same rows (its -1 targets ignored alike). Row r of the data has 1 + (r * 5) % stride
 * targets, then -1.
 */
async function checkPerPosition(
  gpu: Gpu,
  shape: { maxB: number; maxSteps: number; stride: number; V: number },
  order: Int32Array,
  steps: ReadonlyArray<readonly [number, number, number]>,
  scale: number,
): Promise<void> {
  const { maxB, maxSteps, stride, V } = shape;
  const targets = new Int32Array(order.length * stride).fill(-1);
  for (let r = 0; r < order.length; r++) {
    const length = 1 + (r * 5) % stride;
    for (let t = 0; t < length; t++) targets[r * stride + t] = (r * 11 + t * 7) % V;
  }
  for (const [k, [start, size, tb]] of steps.entries()) {
    const scored = stepRows(targets, order, stride, start, size, tb);
    if (tb > 1) assert(scored.some((t) => t < 0), `step ${k} has padding`);
  }
  const xent = { maxB, V, perPosition: { maxSteps, stride } };
  await runSteps(gpu, xent, { targets, order }, steps, uniform(0, scale), ORDINARY);
}

gpuTest(
  "softmax xent per position: padding ignored, the mean over the step's targets, short steps",
  async (gpu) => {
    const steps = [[0, 4, 6], [4, 3, 4], [1, 2, 2], [2, 4, 1]] as const;
    await checkPerPosition(
      gpu,
      { maxB: 4, maxSteps: 6, stride: 6, V: 29 },
      Int32Array.of(3, 6, 0, 5, 1, 4, 2),
      steps,
      4,
    );
    // The data's rows shorter than the buffers' positions (training data of a model built for longer rows).
    await checkPerPosition(gpu, { maxB: 3, maxSteps: 7, stride: 5, V: 23 }, Int32Array.of(2, 0, 4, 1, 3), [
      [0, 3, 5],
      [3, 2, 3],
    ], 4);
  },
);

gpuTest(
  "softmax xent per position: the headline model's shape (V=2484, 64 rows of 25, 20 of 9)",
  async (gpu) => {
    const c = modelXentCases(MODEL_SHAPES).find((c) => c.model === "headline")!;
    const rows = Math.max(...c.steps.map(([start, size]) => start + size));
    const order = Int32Array.from({ length: rows }, (_, i) => (i * 37 + 5) % rows);
    await checkPerPosition(gpu, { maxB: c.maxB, V: c.V, ...c.perPosition! }, order, c.steps, c.scale);
  },
);
