/**
 * "Check this GPU": runs kernels on this page's adapter and compares them with the CPU reference.
 *
 * STUB, TO BE REPLACED: `deno task doctor` (another branch) puts the project's kernel checks in a
 * platform-neutral core module (src/doctor/...). When it is merged, the body of checkThisGpu becomes a call
 * to that module (keeping this signature, or mapping its rows onto CheckRow), and everything below the
 * signature goes. Until then it runs a minimal check of its own: two GEMMs (the small and, on software
 * adapters, the staged large form), the whole model's forward pass, and one training step.
 */
import {
  ADAM_DEFAULTS,
  type Backend,
  createCpuBackend,
  createGpuBackend,
  type Gpu,
  initParams,
  type ModelConfig,
  Rng,
} from "../core.ts";
import { whole } from "../src/gpu/device.ts";
import { createMatmul, defaultMatmulVariant } from "../src/gpu/matmul.ts";
import { matmul } from "../src/cpu/matmul.ts";

/** One kernel's comparison with the CPU reference. */
export interface CheckRow {
  kernel: string;
  /** Largest |gpu - cpu|. */
  maxAbs: number;
  /** Largest |gpu - cpu| / max(|cpu|, 1e-3) (relative where values are not near zero). */
  maxRel: number;
  /** The largest maxAbs that passes (the check's relative bound times the results' scale). */
  tolerance: number;
  /** maxAbs <= tolerance (a NaN fails). */
  pass: boolean;
}

export async function checkThisGpu(gpu: Gpu): Promise<CheckRow[]> {
  // --- stub body: replace with the doctor module's checks (see the module doc) ---
  const rows: CheckRow[] = [];
  rows.push(await checkGemm(gpu, 64, 128, 96));
  rows.push(await checkGemm(gpu, 64, 1024, 1600)); // >= 1e8 flops: staged A on software adapters
  const config: ModelConfig = { vocab: 97, embed: 8, hidden: 16, layers: 2, window: 2 };
  const gpuBackend = await createGpuBackend(gpu, config, { maxBatch: 16 });
  const cpuBackend = await createCpuBackend(config);
  try {
    rows.push(...await checkModel(gpuBackend, cpuBackend, config));
  } finally {
    gpuBackend.destroy();
    cpuBackend.destroy();
  }
  return rows;
}

/** `bound`: the largest error allowed relative to the results' scale (their largest magnitude, at least 1). */
function compare(kernel: string, got: ArrayLike<number>, want: ArrayLike<number>, bound: number): CheckRow {
  let maxAbs = got.length === want.length ? 0 : NaN;
  let maxRel = 0;
  let scale = 1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    maxAbs = Math.max(maxAbs, d); // a NaN anywhere stays NaN, and fails the row
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(want[i]), 1e-3));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return { kernel, maxAbs, maxRel, tolerance: bound * scale, pass: maxAbs <= bound * scale };
}

function random(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

async function checkGemm(gpu: Gpu, M: number, K: number, N: number): Promise<CheckRow> {
  const rng = new Rng(M * 31 + K * 7 + N);
  const a = random(M * K, rng);
  const b = random(K * N, rng);
  const variant = defaultMatmulVariant(gpu, { M, K, N });
  const bufs = {
    a: whole(gpu.buffer("check A", a.byteLength, a)),
    b: whole(gpu.buffer("check B", b.byteLength, b)),
    c: whole(gpu.buffer("check C", M * N * 4)),
  };
  const { result: kernels, buffers } = await gpu.collect(() => createMatmul(gpu, { M, K, N }, bufs, "check"));
  try {
    await gpu.run(kernels);
    const got = await gpu.read(bufs.c);
    const want = new Float32Array(M * N);
    matmul(a, b, want, M, K, N);
    // float32 sums in another order than the float64 reference: errors grow with K (tests/gpu_matmul_test.ts).
    return compare(`GEMM ${M}x${K}x${N} (${variant})`, got.subarray(0, M * N), want, 4e-7 * K + 1e-5);
  } finally {
    for (const buf of [...buffers, bufs.a.buffer, bufs.b.buffer, bufs.c.buffer]) gpu.destroy(buf);
  }
}

async function checkModel(
  gpuBackend: Backend,
  cpuBackend: Backend,
  config: ModelConfig,
): Promise<CheckRow[]> {
  const rng = new Rng(5);
  const rows = 16;
  const inputs = Int32Array.from({ length: rows * config.window }, () => rng.nextU32() % config.vocab);
  const targets = Int32Array.from({ length: rows }, () => rng.nextU32() % config.vocab);
  const params = initParams(config, 3);
  const out: CheckRow[] = [];
  for (const b of [gpuBackend, cpuBackend]) {
    await b.setParams(params);
    await b.setTrainData(inputs, targets, rows);
  }
  out.push(compare(
    "model forward: embedding, LSTM, fc1 + ReLU, fc2",
    await gpuBackend.logits(inputs, rows),
    await cpuBackend.logits(inputs, rows),
    1e-5,
  ));
  // Two steps: the second step's loss is computed from the parameters the first step's backward and Adam
  // made, so it checks them without comparing parameters one by one (Adam's first update is about
  // lr * sign(gradient), which flips for gradients near zero on either side).
  for (const b of [gpuBackend, cpuBackend]) {
    b.trainStep(0, rows, ADAM_DEFAULTS);
    b.trainStep(0, rows, ADAM_DEFAULTS);
  }
  out.push(compare(
    "training: softmax cross-entropy, backward, Adam (2 steps' losses)",
    await gpuBackend.takeLosses(),
    await cpuBackend.takeLosses(),
    1e-5,
  ));
  return out;
}
