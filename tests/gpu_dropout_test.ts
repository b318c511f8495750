/**
 * Dropout on WebGPU (shaders/dropout.wgsl) against the CPU reference's masks (src/model/dropout.ts): the
 * same elements kept, times the same float32 scale (the products are float32 multiplications on both
 * sides, so exactly equal), in place and into another buffer, for odd widths, a step's positions fewer than
 * the buffers hold (the elements past them untouched), several sites and steps, rate 0 (everything kept at
 * scale 1), and a pass per row (one row per window, whatever the step's positions).
 */
import { assert, assertEquals, randomArray } from "./assert.ts";
import { gpuTest, output, readFloats, upload } from "./gpu_harness.ts";
import { createDropout, createDropoutParams, type DropoutShape } from "../src/gpu/dropout.ts";
import type { Gpu } from "../src/gpu/device.ts";
import { createStepParams } from "../src/gpu/step_params.ts";
import { dropoutMask } from "../src/model/dropout.ts";
import { dropoutReference } from "../src/facts/dropout.ts";

/**
 * Runs one pass in place and one copying, over buffers of `n` elements, at each case, and compares with the
 * reference: the first `used` elements of each case masked, nothing written past them.
 */
async function checkDropout(
  gpu: Gpu,
  shape: DropoutShape,
  n: number,
  cases: Array<{ rate: number; seed: number; optStep: number; steps: number; used: number }>,
): Promise<void> {
  const step = createStepParams(gpu, "test step", Math.max(1, shape.maxSteps));
  const params = createDropoutParams(gpu);
  for (const { rate, seed, optStep, steps, used } of cases) {
    const x = randomArray(n, optStep + shape.site);
    const inPlace = upload(gpu, x);
    const src = upload(gpu, x);
    const dst = output(gpu, n, NaN);
    const kernels = [
      await createDropout(gpu, shape, { step: step.buffer, params: params.buffer, x: inPlace }),
      await createDropout(gpu, shape, { step: step.buffer, params: params.buffer, x: src, y: dst }),
    ];
    step.set(0, shape.rows, 0, steps);
    params.set({ rate, seed }, optStep);
    await gpu.run(kernels);
    const expected = dropoutReference(x, { rate, seed }, optStep, shape.site, used);
    const what = `rate ${rate} seed ${seed} step ${optStep} site ${shape.site} steps ${steps}`;
    assertEquals(await readFloats(gpu, inPlace, n), expected, `in place, ${what}`);
    const copied = await readFloats(gpu, dst, n);
    assertEquals(copied.subarray(0, used), expected.subarray(0, used), `copied, ${what}`);
    // Past the step's elements nothing is written.
    assert(copied.subarray(used).every(Number.isNaN), `past the positions, ${what}`);
    if (rate > 0) {
      assert(dropoutMask({ rate, seed }, optStep, shape.site, used).includes(0), `some dropped, ${what}`);
    }
  }
}

gpuTest(
  "dropout: the CPU reference's masks and scale, in place and copied, for a step's positions",
  async (gpu) => {
    const rows = 7, maxSteps = 5, width = 13;
    const n = rows * maxSteps * width;
    for (
      const { rate, seed, optStep, site, steps } of [
        { rate: 0.3, seed: 9, optStep: 1, site: 0, steps: 5 },
        { rate: 0.5, seed: 4294967295, optStep: 123457, site: 3, steps: 2 },
        { rate: 0.1, seed: 0, optStep: 7, site: 6, steps: 1 },
        { rate: 0, seed: 5, optStep: 2, site: 1, steps: 4 },
      ]
    ) {
      const used = rows * steps * width;
      await checkDropout(gpu, { rows, maxSteps, width, site }, n, [{ rate, seed, optStep, steps, used }]);
    }
  },
);

gpuTest("dropout per row (a window model's fc2 input): the step's positions do not widen it", async (gpu) => {
  // Buffers larger than the rows hold: a pass that took the step's 3 positions would mask past them.
  const rows = 9, width = 21;
  await checkDropout(gpu, { rows, maxSteps: 0, width, site: 4 }, rows * 3 * width, [
    { rate: 0.3, seed: 2, optStep: 5, steps: 3, used: rows * width },
    { rate: 0.6, seed: 8, optStep: 6, steps: 1, used: rows * width },
  ]);
});
