import { assert, assertAllClose, randomArray } from "./assert.ts";
import { gpuTest } from "./gpu_harness.ts";
import { type Gpu, whole } from "../src/gpu/device.ts";
import { createSoftmaxXent } from "../src/gpu/softmax_xent.ts";
import { createStepParams } from "../src/gpu/step_params.ts";
import { softmaxCrossEntropy } from "../src/cpu/softmax_xent.ts";

interface Tolerances {
  loss: { atol: number; rtol: number };
  dLogits: { atol: number; rtol: number };
}

/**
 * Runs the steps (start, size), step k writing its loss to slot k, reads the losses once at the end and
 * compares every step's loss and dLogits (rows beyond size must be exactly 0) with the CPU reference.
 */
async function checkSoftmaxXent(
  gpu: Gpu,
  maxB: number,
  V: number,
  logitScale: number,
  steps: Array<[number, number]>,
  tol: Tolerances,
): Promise<void> {
  const pairs = Math.max(...steps.map(([s, n]) => s + n));
  const targets = Int32Array.from(randomArray(pairs, 21, 0, V), Math.floor);
  const order = Int32Array.from({ length: pairs }, (_, i) => (i * 7 + 3) % pairs);
  const step = createStepParams(gpu);
  const logitsBuf = gpu.buffer("logits", maxB * V * 4);
  const bufs = {
    step: step.buffer,
    logits: whole(logitsBuf),
    targets: whole(gpu.buffer("targets", targets.byteLength, targets)),
    order: whole(gpu.buffer("order", order.byteLength, order)),
    rowLoss: whole(gpu.buffer("rowLoss", maxB * 4)),
    losses: whole(gpu.buffer("losses", steps.length * 4)),
    dLogits: whole(gpu.buffer("dLogits", maxB * V * 4)),
  };
  const kernels = await createSoftmaxXent(gpu, { maxB, V }, bufs);
  const expectedLosses: number[] = [];
  for (const [k, [start, size]] of steps.entries()) {
    const logits = randomArray(maxB * V, 100 + k, -logitScale, logitScale);
    gpu.write(logitsBuf, 0, logits);
    // Stale gradient from "the previous step": rows beyond size must be overwritten with 0.
    gpu.write(bufs.dLogits.buffer, 0, new Float32Array(maxB * V).fill(123));
    step.set(start, size, k);
    await gpu.run(kernels);
    const stepTargets = Int32Array.from({ length: size }, (_, b) => targets[order[start + b]]);
    const dExpected = new Float32Array(maxB * V);
    expectedLosses.push(softmaxCrossEntropy(logits, stepTargets, size, V, dExpected));
    const dLogits = (await gpu.read(bufs.dLogits)).subarray(0, maxB * V);
    assertAllClose(dLogits, dExpected, { ...tol.dLogits, what: `dLogits step ${k} (size ${size})` });
    for (let i = size * V; i < maxB * V; i++) {
      assert(dLogits[i] === 0, `dLogits[${i}] beyond size is ${dLogits[i]}`);
    }
  }
  const losses = (await gpu.read(bufs.losses)).subarray(0, steps.length);
  assertAllClose(losses, expectedLosses, { ...tol.loss, what: "losses by slot" });
}

const ORDINARY: Tolerances = { loss: { atol: 1e-5, rtol: 1e-5 }, dLogits: { atol: 1e-7, rtol: 1e-4 } };

gpuTest("softmax xent: odd shape (V=37, maxB=5), short batch, losses in two slots", async (gpu) => {
  await checkSoftmaxXent(gpu, 5, 37, 3, [[0, 5], [5, 3]], ORDINARY);
});

gpuTest("softmax xent: real shape (V=2482, maxB=64), then a last batch of 20", async (gpu) => {
  await checkSoftmaxXent(gpu, 64, 2482, 5, [[0, 64], [64, 20]], ORDINARY);
});

gpuTest("softmax xent: logits up to +-1e4 stay finite and match the reference", async (gpu) => {
  // log-sum-exp near 1e4 carries float32 rounding of ~1e-3 absolute, so probabilities are ~1e-3 relative.
  await checkSoftmaxXent(gpu, 6, 300, 1e4, [[0, 6], [2, 4]], {
    loss: { atol: 1e-2, rtol: 1e-5 },
    dLogits: { atol: 1e-5, rtol: 1e-2 },
  });
});

gpuTest("softmax xent: forward-only variant (no dLogits buffer) writes only its slot", async (gpu) => {
  const maxB = 7, V = 129;
  const logits = randomArray(maxB * V, 31, -4, 4);
  const targets = Int32Array.from(randomArray(maxB, 32, 0, V), Math.floor);
  const order = Int32Array.from({ length: maxB }, (_, i) => i);
  const step = createStepParams(gpu);
  const bufs = {
    step: step.buffer,
    logits: whole(gpu.buffer("logits", logits.byteLength, logits)),
    targets: whole(gpu.buffer("targets", targets.byteLength, targets)),
    order: whole(gpu.buffer("order", order.byteLength, order)),
    rowLoss: whole(gpu.buffer("rowLoss", maxB * 4)),
    losses: whole(gpu.buffer("losses", 3 * 4)),
  };
  const kernels = await createSoftmaxXent(gpu, { maxB, V }, bufs);
  step.set(0, 6, 2);
  await gpu.run(kernels);
  const expected = softmaxCrossEntropy(logits, targets.subarray(0, 6), 6, V, null);
  const losses = await gpu.read(bufs.losses);
  assertAllClose(losses.subarray(0, 3), [0, 0, expected], { atol: 1e-5, rtol: 1e-5, what: "losses" });
});
