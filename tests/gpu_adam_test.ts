/**
 * Adam on WebGPU against the CPU reference (src/cpu/adam.ts, exactly torch.optim.Adam) over steps t = 1..5
 * with fresh gradients each step: vec4 and scalar paths, weight decay, chunked (split-binding) runs, zero
 * gradients (from zero moments, and after moments have built up) and gradients as small as eps, where eps
 * decides the step. Tolerance: src/facts/adam.ts's (float32 against float64 rounded to float32 per step).
 */
import { assert, assertAllClose, assertEquals, assertRejects, randomArray } from "./assert.ts";
import { destroyAll, gpuTest, output, readFloats } from "./gpu_harness.ts";
import { ADAM_DEFAULTS, type AdamHyper } from "../src/model/optimizer.ts";
import { adamStep } from "../src/cpu/adam.ts";
import type { Gpu } from "../src/gpu/device.ts";
import { createAdam } from "../src/gpu/adam.ts";
import { adamTolerance } from "../src/facts/adam.ts";
import { checkAdamSteps } from "./adam_harness.ts";

/** Random gradients in +-scale, new ones each step t. */
const randomGrads = (scale: number) => (count: number, t: number) =>
  randomArray(count, 100 + t, -scale, scale);

/** Five Adam steps with `hyper` and gradients from `gradsAt` (tests/adam_harness.ts). */
async function checkAdam(
  gpu: Gpu,
  count: number,
  hyper: AdamHyper,
  gradsAt: (count: number, t: number) => Float32Array = randomGrads(1),
  gradScale = 1,
): Promise<{ params: Float32Array; dispatches: number }> {
  const { params, adam } = await checkAdamSteps(
    gpu,
    count,
    (t) => ({ grads: gradsAt(count, t), hyper }),
    gradScale,
  );
  return { params, dispatches: adam.kernels.length };
}

gpuTest("adam: five steps equal torch.optim.Adam (vec4 and scalar counts)", async (gpu) => {
  await checkAdam(gpu, 4096, ADAM_DEFAULTS); // vec4
  await checkAdam(gpu, 1001, ADAM_DEFAULTS); // scalar: not a multiple of 4
  await checkAdam(gpu, 3, ADAM_DEFAULTS);
});

gpuTest("adam: weight decay, another learning rate and large gradients", async (gpu) => {
  await checkAdam(gpu, 2048, { ...ADAM_DEFAULTS, lr: 0.01, weightDecay: 0.1 });
  await checkAdam(gpu, 517, { ...ADAM_DEFAULTS, beta1: 0.8, beta2: 0.99, weightDecay: 1e-3 });
  await checkAdam(gpu, 1024, ADAM_DEFAULTS, randomGrads(1e4), 1e4); // g² = 1e8 stays finite in float32
});

gpuTest(
  "adam: zero gradients leave fresh parameters exactly in place, and decay built-up moments",
  async (gpu) => {
    // From zero moments a zero gradient gives m = v = 0 and a step of 0 / (0 + eps) = 0: the parameters stay
    // bit for bit (without eps it would be 0/0 = NaN).
    for (const count of [1024, 1001]) {
      const start = randomArray(count, 1);
      const { params } = await checkAdam(gpu, count, ADAM_DEFAULTS, (n) => new Float32Array(n));
      assertEquals(Array.from(params), Array.from(start), `count ${count}: zero gradients moved parameters`);
    }
    // Gradients that stop after two steps: m and v decay by beta1 and beta2 each step and the parameters
    // keep moving on the remembered m (with weight decay, whose term is then the whole gradient).
    const stopping = (n: number, t: number) => t <= 2 ? randomArray(n, 100 + t) : new Float32Array(n);
    await checkAdam(gpu, 2048, ADAM_DEFAULTS, stopping);
    await checkAdam(gpu, 517, { ...ADAM_DEFAULTS, weightDecay: 0.1 }, stopping);
  },
);

gpuTest("adam: gradients as small as eps, where eps decides the step size", async (gpu) => {
  // |g| ~ 1e-8 = eps: sqrt(v_hat) ~ |g|, so each step is about lr * g / (|g| + eps), half of what it
  // would be without eps: dropping eps changes every parameter by ~5e-4 a step, 500x the tolerance.
  for (const count of [4096, 1001]) {
    await checkAdam(gpu, count, ADAM_DEFAULTS, randomGrads(1e-8), 1e-8);
  }
  // A larger eps (as some runs use) against gradients of 1e-3.
  await checkAdam(gpu, 2048, { ...ADAM_DEFAULTS, eps: 1e-3 }, randomGrads(1e-3), 1e-3);
});

gpuTest("adam: buffers larger than one binding run in chunks", async (gpu) => {
  // 64 KiB bindings hold 16384 floats: 40000 parameters take three dispatches.
  assertEquals((await checkAdam(gpu, 40000, ADAM_DEFAULTS)).dispatches, 3);
  assertEquals((await checkAdam(gpu, 40001, { ...ADAM_DEFAULTS, weightDecay: 0.01 })).dispatches, 3);
}, { maxStorageBindingBytes: 64 * 1024 });

gpuTest("adam: a grid larger than 65535 workgroups per dimension is folded into 2D", async (gpu) => {
  // 65536 * 256 + 5 scalars need 65537 workgroups; with g = 1 and zero moments every parameter, the last
  // ones included, must move from 0 to the reference's first step.
  const count = 65536 * 256 + 5;
  const bufs = {
    params: output(gpu, count),
    grads: output(gpu, count, 1),
    m: output(gpu, count),
    v: output(gpu, count),
  };
  const adam = await createAdam(gpu, bufs, count);
  const [x, y] = adam.kernels[0].workgroups;
  assert(x <= 65535 && y === 2, `grid ${x}x${y}`);
  adam.setStep(1, ADAM_DEFAULTS);
  await gpu.run(adam.kernels);
  const want = new Float32Array(1);
  adamStep(want, Float32Array.of(1), new Float32Array(1), new Float32Array(1), 1, ADAM_DEFAULTS);
  const got = await readFloats(gpu, bufs.params, count);
  assertAllClose(got, new Float32Array(count).fill(want[0]), { ...adamTolerance().params, what: "params" });
  destroyAll(gpu, Object.values(bufs));
});

gpuTest("adam: bad step numbers and short buffers are refused", async (gpu) => {
  const s = output(gpu, 16);
  const adam = await createAdam(gpu, { params: s, grads: s, m: s, v: s }, 16);
  let threw = false;
  try {
    adam.setStep(0, ADAM_DEFAULTS);
  } catch {
    threw = true;
  }
  assert(threw, "setStep(0) must throw");
  await assertRejects(
    () => createAdam(gpu, { params: s, grads: s, m: s, v: s }, 17),
    /needs 68/,
  );
  destroyAll(gpu, [s]);
});
