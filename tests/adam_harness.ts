/**
 * Adam on the GPU against the CPU reference (src/cpu/adam.ts; with AdamHyper.clip, clip_grad_norm_'s
 * arithmetic first, src/cpu/grad_norm.ts) over steps t = 1..5 from the same parameters and zero moments,
 * each step's gradients and hyperparameters given: parameters and both moments compared at the end with
 * src/facts/adam.ts's tolerances, and with clipping each step's norm with the norm's. Shared by
 * tests/gpu_adam_test.ts and tests/gpu_grad_norm_test.ts.
 */
import { assertAllClose, randomArray } from "./assert.ts";
import { destroyAll, output, readFloats, upload } from "./gpu_harness.ts";
import { adamStep } from "../src/cpu/adam.ts";
import { clipGradNorm } from "../src/cpu/grad_norm.ts";
import { adamTolerance, GRAD_NORM_TOLERANCE } from "../src/facts/adam.ts";
import { type AdamKernels, createAdam } from "../src/gpu/adam.ts";
import type { Gpu } from "../src/gpu/device.ts";
import type { AdamHyper } from "../src/model/optimizer.ts";

/** Step t's gradients and hyperparameters. */
export type AdamStepAt = (t: number) => { grads: Float32Array; hyper: AdamHyper };

/**
 * Five steps of `count` parameters (uniform in ±1); `gradScale` is the gradients' size (the moments'
 * absolute tolerance follows it). Returns the GPU's final parameters and the kernels it ran.
 */
export async function checkAdamSteps(
  gpu: Gpu,
  count: number,
  stepAt: AdamStepAt,
  gradScale = 1,
): Promise<{ params: Float32Array; adam: AdamKernels }> {
  const params = randomArray(count, 1);
  const m = new Float32Array(count);
  const v = new Float32Array(count);
  const bufs = {
    params: upload(gpu, params),
    grads: output(gpu, count),
    m: upload(gpu, m),
    v: upload(gpu, v),
  };
  const adam = await createAdam(gpu, bufs, count);
  for (let t = 1; t <= 5; t++) {
    const { grads, hyper } = stepAt(t);
    gpu.write(bufs.grads.buffer, 0, grads);
    adam.setStep(t, hyper);
    await gpu.run(adam.stepKernels(hyper));
    if (hyper.clip !== undefined) {
      const norm = (await readFloats(gpu, adam.norm.norm, 1))[0];
      const want = clipGradNorm(grads, hyper.clip); // scales grads as the GPU does, for the step below
      assertAllClose([norm], [want], { ...GRAD_NORM_TOLERANCE, what: `count ${count} step ${t}: norm` });
    }
    adamStep(params, grads, m, v, t, hyper);
  }
  const what = `count ${count} ${JSON.stringify(stepAt(5).hyper)}`;
  const tol = adamTolerance(gradScale);
  const got = await readFloats(gpu, bufs.params, count);
  assertAllClose(got, params, { ...tol.params, what: `params ${what}` });
  assertAllClose(await readFloats(gpu, bufs.m, count), m, { ...tol.m, what: `m ${what}` });
  assertAllClose(await readFloats(gpu, bufs.v, count), v, { ...tol.v, what: `v ${what}` });
  destroyAll(gpu, Object.values(bufs));
  return { params: got, adam };
}
