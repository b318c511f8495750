/**
 * One contract suite, run against every backend (the CPU reference and WebGPU), as tfjs runs its shared
 * kernel tests on each of its backends: the same bad inputs are refused with the same messages, a fresh
 * backend trains in file order without setOrder, and nothing works after destroy().
 */
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { gpuTest } from "./gpu_harness.ts";
import type { Backend } from "../src/model/backend.ts";
import type { ModelConfig } from "../src/model/config.ts";
import { initParams } from "../src/model/init.ts";
import { paramLayout } from "../src/model/layout.ts";
import { ADAM_DEFAULTS } from "../src/model/optimizer.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import { createGpuBackend } from "../src/gpu/backend.ts";
import { checkedBackend } from "../src/model/checked_backend.ts";
import { ForwardingBackend } from "./forwarding_backend.ts";

const CONFIG: ModelConfig = { vocab: 11, embed: 3, hidden: 5, layers: 2, window: 2 };
const BATCH = 4;
const PAIRS = 6;
const inputs = Int32Array.from({ length: PAIRS * 2 }, (_, i) => (i * 7) % 11);
const targets = Int32Array.from({ length: PAIRS }, (_, i) => (i * 5 + 1) % 11);

/** Awaits `fn` (sync throws and rejections alike) and checks that it failed with a message matching `re`. */
async function fails(what: string, fn: () => unknown, re: RegExp): Promise<void> {
  let error: unknown = null;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error, `${what}: did not fail`);
  assert(re.test(error.message), `${what}: "${error.message}" does not match ${re}`);
}

/** The file-order losses of two steps on a fresh backend (no setOrder: the order starts as file order). */
async function twoSteps(b: Backend): Promise<number[]> {
  await b.setParams(initParams(CONFIG, 3));
  await b.setTrainData(inputs, targets, PAIRS);
  b.trainStep(0, BATCH, ADAM_DEFAULTS);
  b.trainStep(BATCH, PAIRS - BATCH, ADAM_DEFAULTS);
  return await b.takeLosses();
}

async function contract(b: Backend): Promise<void> {
  const total = paramLayout(CONFIG).total;
  await fails("setParams, short", () => b.setParams(new Float32Array(total - 1)), /setParams: \d+ floats/);
  const state = { m: new Float32Array(total), v: new Float32Array(total) };
  await fails("adam step -1", () => b.setAdamState({ ...state, adamStep: -1 }), /adamStep must be/);
  await fails("adam m short", () => b.setAdamState({ ...state, m: new Float32Array(3), adamStep: 0 }), /m:/);
  await fails("order first", () => b.setOrder(Int32Array.of(0)), /setOrder before setTrainData/);
  await fails("step first", () => b.trainStep(0, 1, ADAM_DEFAULTS), /trainStep before setTrainData/);
  await fails("no pairs", () => b.setTrainData(new Int32Array(0), new Int32Array(0), 0), /no pairs/);
  await fails("sizes", () => b.setTrainData(inputs, targets, PAIRS + 1), /ids and \d+ targets for 7 pairs/);
  const bad = inputs.slice();
  bad[3] = CONFIG.vocab;
  await fails("input id", () => b.setTrainData(bad, targets, PAIRS), /word id 11 not in 0\.\.10/);
  await fails(
    "target id",
    () => b.setTrainData(inputs, Int32Array.of(0, 1, 2, 3, 4, -1), PAIRS),
    /word id -1/,
  );

  await b.setTrainData(inputs, targets, PAIRS);
  await fails("order length", () => b.setOrder(Int32Array.of(0, 1)), /2 indices for 6 pairs/);
  await fails("order repeat", () => b.setOrder(Int32Array.of(0, 1, 2, 3, 4, 4)), /not a permutation/);
  await fails("range", () => b.trainStep(4, 3, ADAM_DEFAULTS), /past the order's 6/);
  await fails("size 0", () => b.trainStep(0, 0, ADAM_DEFAULTS), /bad range/);
  await fails("lr 0", () => b.trainStep(0, 1, { ...ADAM_DEFAULTS, lr: 0 }), /invalid Adam hyperparameters/);
  await fails("beta1 1", () => b.trainStep(0, 1, { ...ADAM_DEFAULTS, beta1: 1 }), /invalid Adam/);
  for (const clip of [0, -1, NaN, Infinity]) {
    await fails(`clip ${clip}`, () => b.trainStep(0, 1, { ...ADAM_DEFAULTS, clip }), /invalid Adam/);
  }
  await fails("eval none", () => b.evalLoss(new Int32Array(0), new Int32Array(0), 0), /evalLoss: no pairs/);
  await fails("eval id", () => b.evalLoss(bad, targets, PAIRS), /evalLoss: word id 11/);
  await fails("logits none", () => b.logits(new Int32Array(0), 0), /logits: 0 ids for 0 windows/);
  await fails("logits id", () => b.logits(Int32Array.of(0, 11), 1), /logits: word id 11/);
  assertEquals(await b.takeLosses(), [], "nothing was queued by the refused steps");

  b.destroy();
  b.destroy(); // a second destroy does nothing
  assertEquals(b.memoryBytes(), 0);
  for (
    const [what, call] of [
      ["getParams", () => b.getParams()],
      ["setOrder", () => b.setOrder(Int32Array.of(0))],
      ["trainStep", () => b.trainStep(0, 1, ADAM_DEFAULTS)],
      ["takeLosses", () => b.takeLosses()],
      ["logits", () => b.logits(Int32Array.of(0, 1), 1)],
    ] as const
  ) await fails(`${what} after destroy`, call, /used after destroy\(\)/);
}

Deno.test("backend contract: the CPU reference", async () => {
  await contract(await createCpuBackend(CONFIG));
});

Deno.test("backend contract: a failed setTrainData leaves no pairs, not the previous ones", async () => {
  const inner = new class extends ForwardingBackend {
    fail = false;
    override setTrainData(i: Int32Array, t: Int32Array, count: number) {
      return this.fail
        ? Promise.reject(new Error("planted upload failure"))
        : super.setTrainData(i, t, count);
    }
  }(await createCpuBackend(CONFIG));
  const b = checkedBackend(inner);
  await b.setTrainData(inputs, targets, PAIRS);
  inner.fail = true;
  await fails(
    "failed upload",
    () => b.setTrainData(inputs.subarray(0, 2 * (PAIRS - 1)), targets.subarray(0, PAIRS - 1), PAIRS - 1),
    /planted upload failure/,
  );
  await fails("step", () => b.trainStep(0, 1, ADAM_DEFAULTS), /trainStep before setTrainData/);
  await fails("order", () => b.setOrder(new Int32Array(PAIRS)), /setOrder before setTrainData/);
  b.destroy();
});

gpuTest("backend contract: WebGPU, and its file-order losses equal the CPU reference's", async (gpu) => {
  await contract(await createGpuBackend(gpu, CONFIG, { maxBatch: BATCH }));
  const gpuBackend = await createGpuBackend(gpu, CONFIG, { maxBatch: BATCH });
  const cpuBackend = await createCpuBackend(CONFIG);
  // Its own check: steps no larger than the batch its buffers were built for.
  await gpuBackend.setTrainData(inputs, targets, PAIRS);
  await fails(
    "batch",
    () => gpuBackend.trainStep(0, BATCH + 1, ADAM_DEFAULTS),
    /more than the batch 4 built/,
  );
  // float32 kernels against the float64-summing reference, two steps of a tiny model.
  assertAllClose(await twoSteps(gpuBackend), await twoSteps(cpuBackend), { atol: 0, rtol: 1e-5 });
  gpuBackend.destroy();
  cpuBackend.destroy();
});
