/**
 * Gradient-norm clipping on WebGPU (src/gpu/grad_norm.ts, the clipping in shaders/adam.wgsl) against the CPU
 * reference (src/cpu/grad_norm.ts, torch.nn.utils.clip_grad_norm_'s arithmetic): the two-stage float32
 * reduction against the float64 norm, over counts that are not multiples of the workgroup or of 4 (scalar
 * and vec4 reads), over several partials per chunk, and over several chunks (split bindings); then Adam
 * steps with clipping active (the norm above the limit) and inactive (below it) against clipGradNorm +
 * adamStep, and an inactive clip leaving every bit as no clip does.
 *
 * Tolerance of the norm: src/facts/adam.ts's GRAD_NORM_TOLERANCE (every term is a square, so float32 sums carry
 * no cancellation; the first test prints the worst relative error); Adam's steps through tests/adam_harness.ts.
 */
import { assert, assertEquals, randomArray } from "./assert.ts";
import { destroyAll, gpuTest, readFloats, upload } from "./gpu_harness.ts";
import { ADAM_DEFAULTS, type AdamHyper } from "../src/model/optimizer.ts";
import { gradNorm } from "../src/cpu/grad_norm.ts";
import type { Gpu } from "../src/gpu/device.ts";
import { createGradNorm, PARTIALS_PER_CHUNK } from "../src/gpu/grad_norm.ts";
import { GRAD_NORM_TOLERANCE } from "../src/facts/adam.ts";
import { checkAdamSteps } from "./adam_harness.ts";

/** Gradients whose magnitudes span six decades (as a model's do: embeddings tiny, the head large). */
function spreadGrads(count: number, seed: number): Float32Array {
  const signs = randomArray(count, seed);
  const decades = randomArray(count, seed + 1, -4, 2);
  return signs.map((s, i) => s * 10 ** decades[i]);
}

/** The GPU's norm of `grads` (width as Adam would choose it, chunks of `chunkFloats`) and the reference's. */
async function norms(gpu: Gpu, grads: Float32Array, chunkFloats: number) {
  const buf = upload(gpu, grads);
  const width = grads.length % 4 === 0 ? 4 : 1;
  const k = await createGradNorm(gpu, buf, grads.length, width, chunkFloats);
  await gpu.run(k.kernels);
  const got = (await readFloats(gpu, k.norm, 1))[0];
  destroyAll(gpu, [buf, k.norm]);
  return { got, want: gradNorm(grads), partials: k.partials, chunks: k.kernels.length - 1 };
}

gpuTest(
  "grad norm: the float32 two-stage reduction equals the float64 norm (odd counts, vec4, chunks)",
  async (gpu) => {
    const whole = Math.floor(gpu.maxBinding / 4 / 64) * 64;
    let worst = 0;
    for (
      const [count, chunk, partials, chunks] of [
        [3, whole, 1, 1], // fewer elements than invocations
        [1001, whole, 4, 1], // scalar: not a multiple of 4 or of the workgroup
        [4100, whole, 5, 1], // vec4: 1025 vec4s, one past four workgroups
        [300_001, whole, PARTIALS_PER_CHUNK, 1], // each invocation sums several elements
        [40_001, 16_384, 64 + 64 + 29, 3], // 64 KiB chunks: three, the last short
        [40_000, 16_384, 16 + 16 + 8, 3], // the same as vec4
      ] as const
    ) {
      for (const grads of [randomArray(count, count), spreadGrads(count, count + 7)]) {
        const r = await norms(gpu, grads, chunk);
        assertEquals([r.partials, r.chunks], [partials, chunks], `count ${count}: partials and chunks`);
        const rel = Math.abs(r.got - r.want) / r.want;
        worst = Math.max(worst, rel);
        assert(
          rel <= GRAD_NORM_TOLERANCE.rtol,
          `count ${count}: norm ${r.got} vs float64 ${r.want} (rel ${rel})`,
        );
      }
    }
    console.log(
      `grad norm: worst relative error ${worst.toExponential(2)} (rtol ${GRAD_NORM_TOLERANCE.rtol})`,
    );
  },
);

gpuTest("grad norm: zero gradients give a norm of exactly 0", async (gpu) => {
  const r = await norms(gpu, new Float32Array(1001), 1 << 20);
  assertEquals(r.got, 0);
});

/** Step t's gradients: uniform in ±t (their norm grows from step to step). */
const growingGrads = (count: number, t: number) => randomArray(count, 100 + t, -t, t);

/**
 * Five Adam steps with hyper.clip (tests/adam_harness.ts: each step's norm, then parameters and moments);
 * `clipAt(norm)` sets each step's limit from its gradients' norm.
 */
async function checkClippedAdam(
  gpu: Gpu,
  count: number,
  clipAt: (norm: number) => number,
  base: AdamHyper = ADAM_DEFAULTS,
): Promise<Float32Array> {
  const stepAt = (t: number) => {
    const grads = growingGrads(count, t);
    return { grads, hyper: { ...base, clip: clipAt(gradNorm(grads)) } };
  };
  return (await checkAdamSteps(gpu, count, stepAt)).params;
}

gpuTest(
  "adam with clip: the gradients scaled as clip_grad_norm_ scales them (active: norm above the limit)",
  async (gpu) => {
    // The limit a third of the norm: every gradient is scaled by about 1/3 before Adam sees it.
    for (const count of [1001, 4096, 3]) await checkClippedAdam(gpu, count, (norm) => norm / 3);
    await checkClippedAdam(gpu, 517, (norm) => norm / 10, { ...ADAM_DEFAULTS, weightDecay: 0.1, lr: 1e-2 });
  },
);

gpuTest("adam with clip: chunked buffers clip by the norm of all chunks together", async (gpu) => {
  await checkClippedAdam(gpu, 40_001, (norm) => norm / 2);
  await checkClippedAdam(gpu, 40_000, (norm) => norm / 2);
}, { maxStorageBindingBytes: 64 * 1024 });

gpuTest("adam with clip: a limit above the norm changes nothing, bit for bit", async (gpu) => {
  for (const count of [1001, 4096]) {
    // Twice the norm: the reference leaves the gradients as they are; so must the GPU.
    const clipped = await checkClippedAdam(gpu, count, (norm) => 2 * norm);
    const plain = await checkClippedAdam(gpu, count, () => 1e30);
    const stepAt = (t: number) => ({ grads: growingGrads(count, t), hyper: ADAM_DEFAULTS });
    const { params: unclipped, adam } = await checkAdamSteps(gpu, count, stepAt);
    assertEquals(adam.stepKernels(ADAM_DEFAULTS), adam.kernels, "no clip: no reduction is submitted");
    for (const [name, got] of [["twice the norm", clipped], ["1e30", plain]] as const) {
      const i = got.findIndex((x, j) => !Object.is(x, unclipped[j]));
      assertEquals(
        i,
        -1,
        `count ${count}, clip ${name}: params[${i}] ${got[i]} != ${unclipped[i]} unclipped`,
      );
    }
  }
});
