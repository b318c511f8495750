/**
 * Dropout on WebGPU (shaders/dropout.wgsl) against the CPU reference's masks (src/model/dropout.ts): the
 * same elements kept, times the same float32 scale (the products are float32 multiplications on both
 * sides, so exactly equal), in place and into another buffer, for odd widths, a step's positions fewer than
 * the buffers hold (the elements past them untouched), several sites and steps, and rate 0 (everything
 * kept at scale 1).
 */
import { assert, assertEquals, randomArray } from "./assert.ts";
import { gpuTest, output, readFloats, upload } from "./gpu_harness.ts";
import { createDropout, createDropoutParams } from "../src/gpu/dropout.ts";
import { createStepParams } from "../src/gpu/step_params.ts";
import { dropoutMask } from "../src/model/dropout.ts";

gpuTest(
  "dropout: the CPU reference's masks and scale, in place and copied, for a step's positions",
  async (gpu) => {
    const rows = 7, maxSteps = 5, width = 13;
    const n = rows * maxSteps * width;
    const step = createStepParams(gpu, "test step", maxSteps);
    const params = createDropoutParams(gpu);
    for (
      const { rate, seed, optStep, site, steps } of [
        { rate: 0.3, seed: 9, optStep: 1, site: 0, steps: 5 },
        { rate: 0.5, seed: 4294967295, optStep: 123457, site: 3, steps: 2 },
        { rate: 0.1, seed: 0, optStep: 7, site: 6, steps: 1 },
        { rate: 0, seed: 5, optStep: 2, site: 1, steps: 4 },
      ]
    ) {
      const x = randomArray(n, optStep + site);
      const inPlace = upload(gpu, x);
      const src = upload(gpu, x);
      const dst = output(gpu, n, NaN);
      const shape = { rows, maxSteps, width, site };
      const kernels = [
        await createDropout(gpu, shape, { step: step.buffer, params: params.buffer, x: inPlace }),
        await createDropout(gpu, shape, { step: step.buffer, params: params.buffer, x: src, y: dst }),
      ];
      step.set(0, rows, 0, steps);
      params.set({ rate, seed }, optStep);
      await gpu.run(kernels);
      const used = rows * steps * width;
      const mask = dropoutMask({ rate, seed }, optStep, site, used);
      const expected = Float32Array.from(x, (v, i) => (i < used ? v * mask[i] : v));
      const what = `rate ${rate} seed ${seed} step ${optStep} site ${site} steps ${steps}`;
      assertEquals(await readFloats(gpu, inPlace, n), expected, `in place, ${what}`);
      const copied = await readFloats(gpu, dst, n);
      assertEquals(copied.subarray(0, used), expected.subarray(0, used), `copied, ${what}`);
      // Past the step's positions nothing is written.
      assert(copied.subarray(used).every(Number.isNaN), `past the positions, ${what}`);
      if (rate > 0) assert(mask.some((m) => m === 0), `some elements dropped, ${what}`);
    }
  },
);
