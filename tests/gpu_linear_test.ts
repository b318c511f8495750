/**
 * nn.Linear forward and backward on WebGPU against the CPU reference (src/cpu/linear.ts), at odd shapes and
 * the model's fc1/fc2 shapes, with and without the fused ReLU backward, and with bindings split.
 * Tolerance: src/facts/gemm.ts's sumTolerance of the summed length (float32 against float64 sums).
 */
import { assertAllClose, assertRejects, randomArray } from "./assert.ts";
import { gpuTest, output, readFloats as read, upload } from "./gpu_harness.ts";
import { linearBackward, linearForward, reluBackward } from "../src/cpu/linear.ts";
import type { Gpu } from "../src/gpu/device.ts";
import { createStepParams } from "../src/gpu/step_params.ts";
import { createColumnSum, createLinearBackward, createLinearForward } from "../src/gpu/linear.ts";
import { headGemms, sumTolerance as tol } from "../src/facts/gemm.ts";
import { MODEL_SHAPES } from "../src/facts/shapes.ts";

async function checkForward(gpu: Gpu, rows: number, inF: number, outF: number, relu: boolean) {
  const x = randomArray(rows * inF, 1);
  const w = randomArray(outF * inF, 2);
  const b = randomArray(outF, 3);
  const want = new Float32Array(rows * outF);
  linearForward(x, w, b, want, rows, inF, outF, relu);
  const y = output(gpu, rows * outF, NaN); // every element must be written
  await gpu.run(
    await createLinearForward(gpu, { rows, inF, outF, relu }, {
      x: upload(gpu, x),
      w: upload(gpu, w),
      b: upload(gpu, b),
      y,
    }),
  );
  assertAllClose(await read(gpu, y, rows * outF), want, { ...tol(inF), what: `y ${rows}x${inF}->${outF}` });
}

/**
 * Backward of a linear layer whose input x is a ReLU's output (as fc2's is fc1's): with reluMask the GPU
 * fuses that ReLU's backward into dx, which the reference applies with reluBackward.
 */
async function checkBackward(
  gpu: Gpu,
  rows: number,
  inF: number,
  outF: number,
  reluMask: boolean,
  withDx = true,
) {
  const x = randomArray(rows * inF, 4).map((v) => Math.max(v, 0)); // a ReLU output: about half zeros
  const w = randomArray(outF * inF, 5);
  const dy = randomArray(rows * outF, 6);
  const dx = new Float32Array(rows * inF);
  const dw = new Float32Array(outF * inF);
  const db = new Float32Array(outF);
  linearBackward(x, w, dy, withDx ? dx : null, dw, db, rows, inF, outF);
  if (reluMask) reluBackward(x, dx);
  const stale = (n: number) => output(gpu, n, NaN); // outputs are overwritten
  const bufs = {
    x: upload(gpu, x),
    w: upload(gpu, w),
    dy: upload(gpu, dy),
    dx: withDx ? stale(rows * inF) : undefined,
    dw: stale(outF * inF),
    db: stale(outF),
  };
  await gpu.run(await createLinearBackward(gpu, { rows, inF, outF, reluMask }, bufs));
  const what = `${rows}x${inF}->${outF}${reluMask ? " reluMask" : ""}`;
  if (bufs.dx) assertAllClose(await read(gpu, bufs.dx, rows * inF), dx, { ...tol(outF), what: `dx ${what}` });
  assertAllClose(await read(gpu, bufs.dw, outF * inF), dw, { ...tol(rows), what: `dw ${what}` });
  assertAllClose(await read(gpu, bufs.db, outF), db, { ...tol(rows), what: `db ${what}` });
}

gpuTest("linear forward equals the reference (odd shapes, with and without ReLU)", async (gpu) => {
  for (const [rows, inF, outF] of [[5, 7, 37], [3, 1, 9], [64, 12, 10], [2, 130, 3]]) {
    await checkForward(gpu, rows, inF, outF, false);
    await checkForward(gpu, rows, inF, outF, true);
  }
});

gpuTest("linear backward equals the reference (odd shapes, fused ReLU backward, no dx)", async (gpu) => {
  for (const [rows, inF, outF] of [[5, 7, 37], [3, 1, 9], [64, 12, 10], [2, 130, 3]]) {
    await checkBackward(gpu, rows, inF, outF, false);
    await checkBackward(gpu, rows, inF, outF, true);
  }
  await checkBackward(gpu, 6, 11, 5, false, false);
});

gpuTest("linear at the model's shapes: fc1 (128 -> 2482, ReLU) and fc2 (2482 -> 2482)", async (gpu) => {
  const { fc1Forward, fc2Forward } = headGemms(
    MODEL_SHAPES.model,
    MODEL_SHAPES.batch,
    MODEL_SHAPES.model.window,
  );
  // A layer's forward GEMM is [rows, inF] x [outF, inF]ᵀ.
  const layer = (g: { M: number; K: number; N: number }) => [g.M, g.K, g.N] as const;
  await checkForward(gpu, ...layer(fc1Forward!), true);
  await checkForward(gpu, ...layer(fc2Forward), false);
  await checkBackward(gpu, ...layer(fc2Forward), true);
});

gpuTest("linear with weights split across bindings", async (gpu) => {
  // 64 KiB bindings hold 16384 floats. w and dw [300, 60] split by rows; in the last case dy [130, 200]
  // splits for dx, dw (along K) and db.
  await checkForward(gpu, 40, 60, 300, true);
  await checkBackward(gpu, 40, 60, 300, true);
  await checkBackward(gpu, 130, 20, 200, false);
}, { maxStorageBindingBytes: 64 * 1024 });

gpuTest("column sum over several row blocks equals the reference", async (gpu) => {
  const rows = 200, cols = 100; // 64 KiB bindings hold 163 rows: three blocks of 64 rows and one of 8
  const x = randomArray(rows * cols, 9);
  const want = new Float32Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) want[j] += x[i * cols + j];
  const out = output(gpu, cols, NaN);
  await gpu.run(await createColumnSum(gpu, upload(gpu, x), out, rows, cols));
  assertAllClose(await read(gpu, out, cols), want, { ...tol(rows), what: "column sums" });
  // With a twin both outputs get the sums (each row block accumulates into both).
  const first = output(gpu, cols, NaN);
  const twin = output(gpu, cols, NaN);
  await gpu.run(await createColumnSum(gpu, upload(gpu, x), first, rows, cols, "colsum", twin));
  assertAllClose(await read(gpu, first, cols), want, { ...tol(rows), what: "column sums beside a twin" });
  assertAllClose(await read(gpu, twin, cols), want, { ...tol(rows), what: "twin column sums" });
  await assertRejects(() => createColumnSum(gpu, out, out, rows, cols), /need/);
  const shortTwin = output(gpu, cols - 8);
  await assertRejects(
    () => createColumnSum(gpu, upload(gpu, x), out, rows, cols, "colsum", shortTwin),
    /need/,
  );
}, { maxStorageBindingBytes: 64 * 1024 });

gpuTest("column sum with rows at run time: one kernel set for every Tb, across row blocks", async (gpu) => {
  // perStep 7 rows a position, up to 29 positions (203 rows, 64 KiB bindings: blocks of 128 and 75 rows); run
  // at 29, 3, 20 and 19 positions (203, 21, 140 and 133 rows), with and without a twin.
  const perStep = 7, maxSteps = 29, cols = 100, rows = perStep * maxSteps;
  const x = randomArray(rows * cols, 10);
  const step = createStepParams(gpu, "test step");
  for (const withTwin of [false, true]) {
    const out = output(gpu, cols, NaN);
    const twin = withTwin ? output(gpu, cols, NaN) : undefined;
    const kernels = await createColumnSum(gpu, upload(gpu, x), out, rows, cols, "colsum", twin, {
      perStep,
      step: step.buffer,
    });
    for (const steps of [29, 3, 20, 19]) {
      const used = perStep * steps;
      const want = new Float32Array(cols);
      for (let i = 0; i < used; i++) for (let j = 0; j < cols; j++) want[j] += x[i * cols + j];
      step.set(0, 0, 0, steps);
      await gpu.run(kernels);
      const what = `column sums of ${used} rows${withTwin ? " beside a twin" : ""}`;
      assertAllClose(await read(gpu, out, cols), want, { ...tol(used), what });
      if (twin) assertAllClose(await read(gpu, twin, cols), want, { ...tol(used), what: `twin ${what}` });
    }
  }
}, { maxStorageBindingBytes: 64 * 1024 });

gpuTest("reluMask without dx is refused", async (gpu) => {
  const s = output(gpu, 16);
  await assertRejects(
    () =>
      createLinearBackward(gpu, { rows: 1, inF: 1, outF: 1, reluMask: true }, {
        x: s,
        w: s,
        dy: s,
        dw: s,
        db: s,
      }),
    /reluMask applies to dx/,
  );
});
