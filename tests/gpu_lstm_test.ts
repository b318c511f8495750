/**
 * One LSTM layer on WebGPU (shaders/lstm_cell.wgsl forward, lstm_cell_backward.wgsl and the weight GEMMs
 * backward) against the CPU reference (src/cpu/lstm.ts): every output of the forward (h, c, the activated
 * gates) and every gradient, at odd shapes, the model's shapes with a short batch, a hidden size larger than
 * one workgroup, and saturating inputs. Both sides implement PyTorch's cell; a bug planted alike in both is
 * for the PyTorch parity tests to catch.
 */
import { assert, assertAllClose, randomArray } from "./assert.ts";
import { gpuTest, output, readFloats, upload } from "./gpu_harness.ts";
import type { Gpu } from "../src/gpu/device.ts";
import { createLstmLayer, type LstmShape } from "../src/gpu/lstm.ts";
import { type LstmGrads, lstmLayerBackward, lstmLayerForward } from "../src/cpu/lstm.ts";

interface LstmCase {
  shape: LstmShape;
  /** Inputs, weights and incoming gradients are uniform in +-scale. */
  scale: number;
  /** Rows of dh beyond this are zero, as a short last batch leaves them (x stays nonzero there). */
  used?: number;
  /** Kernels run this many times before the check (outputs must not depend on leftovers). */
  repeats?: number;
}

/**
 * Runs one layer's forward and backward on the GPU and compares h, c, gates, dx, dWih, dWhh, dbih and dbhh
 * with lstmLayerForward/Backward. Returns the GPU seconds of the last forward+backward.
 */
async function checkLstm(
  gpu: Gpu,
  { shape, scale, used = shape.B, repeats = 1 }: LstmCase,
  tol: { atol: number; rtol: number },
): Promise<number> {
  const { B, T, In, H } = shape;
  const G = 4 * H;
  const x = randomArray(B * T * In, 41, -scale, scale);
  const wih = randomArray(G * In, 42, -scale, scale);
  const whh = randomArray(G * H, 43, -scale, scale);
  const bih = randomArray(G, 44, -scale, scale);
  const bhh = randomArray(G, 45, -scale, scale);
  const dh = randomArray(B * T * H, 46, -scale, scale).fill(0, used * T * H);
  // Outputs start as NaN: every element must be written.
  const bufs = {
    x: upload(gpu, x),
    wih: upload(gpu, wih),
    whh: upload(gpu, whh),
    bih: upload(gpu, bih),
    bhh: upload(gpu, bhh),
    h: output(gpu, B * T * H, NaN),
    c: output(gpu, B * T * H, NaN),
    gates: output(gpu, B * T * G, NaN),
    dh: upload(gpu, dh),
    dx: output(gpu, B * T * In, NaN),
    dPre: output(gpu, B * T * G, NaN),
    dWih: output(gpu, G * In, NaN),
    dWhh: output(gpu, G * H, NaN),
    dbih: output(gpu, G, NaN),
    dbhh: output(gpu, G, NaN),
  };
  const layer = await createLstmLayer(gpu, shape, bufs);
  assert(layer.forward.length === T, `one forward kernel per step, got ${layer.forward.length}`);
  let seconds = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await gpu.run([...layer.forward, ...layer.backward]);
    seconds = (performance.now() - t0) / 1000;
  }

  const cache = lstmLayerForward(x, wih, whh, bih, bhh, B, T, In, H);
  const grads: LstmGrads = {
    dx: new Float32Array(B * T * In),
    dWih: new Float32Array(G * In),
    dWhh: new Float32Array(G * H),
    dbih: new Float32Array(G),
    dbhh: new Float32Array(G),
  };
  lstmLayerBackward(x, wih, whh, cache, dh, B, T, In, H, grads);
  const what = `B=${B} T=${T} In=${In} H=${H} scale=${scale}`;
  const read = (s: keyof typeof bufs, n: number) => readFloats(gpu, bufs[s], n);
  assertAllClose(await read("h", B * T * H), cache.h, { ...tol, what: `h ${what}` });
  assertAllClose(await read("c", B * T * H), cache.c, { ...tol, what: `c ${what}` });
  assertAllClose(await read("gates", B * T * G), cache.gates, { ...tol, what: `gates ${what}` });
  assertAllClose(await read("dx", B * T * In), grads.dx!, { ...tol, what: `dx ${what}` });
  assertAllClose(await read("dWih", G * In), grads.dWih, { ...tol, what: `dWih ${what}` });
  assertAllClose(await read("dWhh", G * H), grads.dWhh, { ...tol, what: `dWhh ${what}` });
  assertAllClose(await read("dbih", G), grads.dbih, { ...tol, what: `dbih ${what}` });
  assertAllClose(await read("dbhh", G), grads.dbhh, { ...tol, what: `dbhh ${what}` });
  return seconds;
}

// Sums of up to a few hundred float32 products in another order than the float64 reference.
const F32_SUMS = { atol: 2e-5, rtol: 1e-4 };

gpuTest(
  "lstm layer: odd shape (B=5, T=3, In=7, H=9) forward and backward match the reference",
  async (gpu) => {
    await checkLstm(gpu, { shape: { B: 5, T: 3, In: 7, H: 9 }, scale: 0.5, repeats: 2 }, F32_SUMS);
  },
);

gpuTest("lstm layer: real shapes (B=64, T=2, In=16 then 64, H=64), last batch of 20 rows", async (gpu) => {
  const first = await checkLstm(
    gpu,
    { shape: { B: 64, T: 2, In: 16, H: 64 }, scale: 0.3, repeats: 2 },
    F32_SUMS,
  );
  const deeper = await checkLstm(
    gpu,
    { shape: { B: 64, T: 2, In: 64, H: 64 }, scale: 0.3, used: 20, repeats: 3 },
    F32_SUMS,
  );
  console.log(
    `layer forward+backward incl. submit: In=16 ${(first * 1e3).toFixed(1)} ms, ` +
      `In=64 ${(deeper * 1e3).toFixed(1)} ms`,
  );
});

gpuTest(
  "lstm layer: H=300 (units looped over a 256-wide workgroup), B=19 (partial row blocks)",
  async (gpu) => {
    await checkLstm(gpu, { shape: { B: 19, T: 2, In: 5, H: 300 }, scale: 0.1 }, F32_SUMS);
  },
);

gpuTest("lstm layer: inputs and weights up to +-1e4 saturate without NaN or Inf", async (gpu) => {
  // Pre-activations reach ~1e9: gates saturate to exactly 0/1/+-1 on both sides, so the gradients are
  // products of saturated values; the relative tolerance covers float32 rounding of their huge sums.
  await checkLstm(gpu, { shape: { B: 4, T: 3, In: 6, H: 8 }, scale: 1e4 }, { atol: 1e-2, rtol: 1e-4 });
});
