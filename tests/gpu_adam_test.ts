/**
 * Adam on WebGPU against the CPU reference (src/cpu/adam.ts, exactly torch.optim.Adam) over steps t = 1..5
 * with fresh gradients each step: vec4 and scalar paths, weight decay, and chunked (split-binding) runs.
 * Tolerance: the GPU computes in float32, the reference in float64 rounded to float32 per step; each step
 * moves a parameter by about lr = 1e-3, so after 5 steps we allow atol 1e-6 on parameters (a few float32 ulps
 * of values near 1) and rtol 1e-5 on the moments.
 */
import { assert, assertAllClose, assertRejects, randomArray } from "./assert.ts";
import { gpuTest } from "./gpu_harness.ts";
import { ADAM_DEFAULTS, type AdamHyper } from "../src/model/optimizer.ts";
import { adamStep } from "../src/cpu/adam.ts";
import { type Gpu, whole } from "../src/gpu/device.ts";
import { createAdam } from "../src/gpu/adam.ts";

async function checkAdam(gpu: Gpu, count: number, hyper: AdamHyper, gradScale = 1): Promise<number> {
  const params = randomArray(count, 1);
  const m = new Float32Array(count);
  const v = new Float32Array(count);
  const buf = (data: Float32Array) => whole(gpu.buffer("adam test", data.byteLength, data));
  const bufs = { params: buf(params), grads: buf(new Float32Array(count)), m: buf(m), v: buf(v) };
  const adam = await createAdam(gpu, bufs, count);
  for (let t = 1; t <= 5; t++) {
    const grads = randomArray(count, 100 + t, -gradScale, gradScale);
    gpu.write(bufs.grads.buffer, 0, grads);
    adam.setStep(t, hyper);
    await gpu.run(adam.kernels);
    adamStep(params, grads, m, v, t, hyper);
  }
  const read = async (s: { buffer: GPUBuffer }) => (await gpu.read(whole(s.buffer))).subarray(0, count);
  const what = `count ${count} ${JSON.stringify(hyper)}`;
  assertAllClose(await read(bufs.params), params, { atol: 1e-6, rtol: 1e-6, what: `params ${what}` });
  assertAllClose(await read(bufs.m), m, { atol: 1e-7 * gradScale, rtol: 1e-5, what: `m ${what}` });
  assertAllClose(await read(bufs.v), v, { atol: 1e-9 * gradScale ** 2, rtol: 1e-5, what: `v ${what}` });
  for (const s of Object.values(bufs)) gpu.destroy(s.buffer);
  return adam.kernels.length;
}

gpuTest("adam: five steps equal torch.optim.Adam (vec4 and scalar counts)", async (gpu) => {
  await checkAdam(gpu, 4096, ADAM_DEFAULTS); // vec4
  await checkAdam(gpu, 1001, ADAM_DEFAULTS); // scalar: not a multiple of 4
  await checkAdam(gpu, 3, ADAM_DEFAULTS);
});

gpuTest("adam: weight decay, another learning rate and large gradients", async (gpu) => {
  await checkAdam(gpu, 2048, { ...ADAM_DEFAULTS, lr: 0.01, weightDecay: 0.1 });
  await checkAdam(gpu, 517, { ...ADAM_DEFAULTS, beta1: 0.8, beta2: 0.99, weightDecay: 1e-3 });
  await checkAdam(gpu, 1024, ADAM_DEFAULTS, 1e4); // g² = 1e8 stays finite in float32
});

gpuTest("adam: buffers larger than one binding run in chunks", async (gpu) => {
  // 64 KiB bindings hold 16384 floats: 40000 parameters take three dispatches.
  assert(await checkAdam(gpu, 40000, ADAM_DEFAULTS) === 3);
  assert(await checkAdam(gpu, 40001, { ...ADAM_DEFAULTS, weightDecay: 0.01 }) === 3);
}, { maxStorageBindingBytes: 64 * 1024 });

gpuTest("adam: a grid larger than 65535 workgroups per dimension is folded into 2D", async (gpu) => {
  // 65536 * 256 + 5 scalars need 65537 workgroups; with g = 1 and zero moments every parameter, the last
  // ones included, must move from 0 to the reference's first step.
  const count = 65536 * 256 + 5;
  const ones = new Float32Array(count).fill(1);
  const zeros = () => whole(gpu.buffer("adam 2d", count * 4));
  const bufs = {
    params: zeros(),
    grads: whole(gpu.buffer("adam 2d grads", count * 4, ones)),
    m: zeros(),
    v: zeros(),
  };
  const adam = await createAdam(gpu, bufs, count);
  const [x, y] = adam.kernels[0].workgroups;
  assert(x <= 65535 && y === 2, `grid ${x}x${y}`);
  adam.setStep(1, ADAM_DEFAULTS);
  await gpu.run(adam.kernels);
  const want = new Float32Array(1);
  adamStep(want, ones.subarray(0, 1), new Float32Array(1), new Float32Array(1), 1, ADAM_DEFAULTS);
  const got = (await gpu.read(bufs.params)).subarray(0, count);
  assertAllClose(got, new Float32Array(count).fill(want[0]), { atol: 1e-9, rtol: 1e-6, what: "params" });
  for (const s of Object.values(bufs)) gpu.destroy(s.buffer);
});

gpuTest("adam: bad step numbers and short buffers are refused", async (gpu) => {
  const s = whole(gpu.buffer("adam small", 64));
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
  gpu.destroy(s.buffer);
});
