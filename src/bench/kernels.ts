/**
 * Per-kernel timings at the model's real shapes (April 2017: V = 2482, batch 64), each next to the CPU
 * reference doing the same work. A kernel is timed by wall clock from submit to onSubmittedWorkDone over
 * several copies of it encoded in one submit (see timeKernels); the median of a few runs is reported.
 *
 * To add kernels, write a BenchCase and add it to `benchCases` (or pass extra cases in the options).
 */
import { ADAM_DEFAULTS, adamStep } from "../cpu/adam.ts";
import { matmul } from "../cpu/matmul.ts";
import { createAdam } from "../gpu/adam.ts";
import { type BufferSlice, type Gpu, type Kernel, whole } from "../gpu/device.ts";
import { createColumnSum } from "../gpu/linear.ts";
import { createMatmul, defaultMatmulVariant, type MatmulSpec } from "../gpu/matmul.ts";
import { DEFAULT_MODEL, type ModelConfig } from "../model/config.ts";
import { paramLayout } from "../model/layout.ts";

export interface BenchRow {
  kernel: string;
  shape: string;
  /** GPU milliseconds per dispatch (median). */
  ms: number;
  gflops?: number;
  /** Bytes read and written per ms, as GB/s, for memory-bound kernels. */
  gbps?: number;
  /** The CPU reference's milliseconds for the same work (median; absent in quick mode for slow ones). */
  cpuMs?: number;
}

/** One kernel to time. */
export interface BenchCase {
  kernel: string;
  shape: string;
  flops?: number;
  bytes?: number;
  /** Allocates inputs and builds the kernels; `dispose` frees what it allocated. */
  build(gpu: Gpu): Promise<{ kernels: Kernel[]; dispose(): void }>;
  /** Prepares the CPU reference's inputs and returns the call to time. */
  cpu?(): () => void;
}

/** The April 2017 vocabulary and the notebook's batch: the shapes the timings are about. */
const BENCH_MODEL: ModelConfig = { ...DEFAULT_MODEL, vocab: 2482 };
const BATCH = 64;

export interface BenchOptions {
  /** Fewer runs and copies, and one run of each CPU reference. */
  quick?: boolean;
  /** Cases to time instead of `benchCases(gpu, BENCH_MODEL)`. */
  cases?: BenchCase[];
}

export async function benchKernels(gpu: Gpu, opts: BenchOptions = {}): Promise<BenchRow[]> {
  const quick = opts.quick ?? false;
  const runs = quick ? 3 : 5;
  const targetMs = quick ? 100 : 300;
  const rows: BenchRow[] = [];
  for (const c of opts.cases ?? benchCases(gpu, BENCH_MODEL)) {
    const built = await c.build(gpu);
    let ms: number;
    try {
      ms = await timeKernels(gpu, built.kernels, runs, targetMs);
    } finally {
      built.dispose();
    }
    const row: BenchRow = { kernel: c.kernel, shape: c.shape, ms };
    if (c.flops) row.gflops = c.flops / ms / 1e6;
    if (c.bytes) row.gbps = c.bytes / ms / 1e6;
    if (c.cpu) {
      const call = c.cpu();
      const first = wallMs(call);
      // The quick mode skips repeating a slow reference; one run of it is still shown.
      const more = quick || first > 1000 ? [] : [wallMs(call), wallMs(call)];
      row.cpuMs = median([first, ...more]);
    }
    rows.push(row);
  }
  return rows;
}

/**
 * Median milliseconds per copy of `kernels`, c copies encoded in one submit per run. The fixed cost of a
 * submit and its wait (about 12 ms on lavapipe: a polling interval, measured here as an empty submit) is
 * subtracted, and c is chosen so that the copies take about `targetMs`, which keeps what is left of that
 * cost small against the work.
 */
export async function timeKernels(
  gpu: Gpu,
  kernels: Kernel[],
  runs: number,
  targetMs: number,
): Promise<number> {
  const submit = async (copies: number) => {
    const t0 = performance.now();
    const enc = gpu.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < copies; i++) gpu.encode(pass, kernels);
    pass.end();
    gpu.device.queue.submit([enc.finish()]);
    await gpu.device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await gpu.run(kernels); // builds driver state and reports validation errors
  const fixed = median([await submit(0), await submit(0), await submit(0)]);
  const copies = Math.min(64, Math.max(2, Math.ceil(targetMs / Math.max(await submit(1) - fixed, 0.1))));
  const times: number[] = [];
  for (let r = 0; r < runs; r++) times.push(Math.max(await submit(copies) - fixed, 0) / copies);
  return median(times);
}

/** This file's kernels (GEMMs, column sum, Adam) at a model's shapes. */
export function benchCases(gpu: Gpu, cfg: ModelConfig): BenchCase[] {
  const V = cfg.vocab;
  const flat = cfg.window * cfg.hidden;
  const layout = paramLayout(cfg);
  const gemm = (what: string, spec: MatmulSpec) =>
    gemmCase(`matmul_${defaultMatmulVariant(gpu)} ${what}`, spec);
  return [
    gemm("fc1 forward: x·Wᵀ + b, ReLU", { M: BATCH, K: flat, N: V, transB: true, bias: true, relu: true }),
    gemm("fc2 forward: x·Wᵀ + b", { M: BATCH, K: V, N: V, transB: true, bias: true }),
    gemm("fc2 dX = dY·W, ReLU backward fused", { M: BATCH, K: V, N: V, reluMask: true }),
    gemm("fc2 dW = dYᵀ·X", { M: V, K: BATCH, N: V, transA: true }),
    columnSumCase(BATCH, V),
    adamCase(layout.total),
  ];
}

/** A GEMM case timed with createMatmul, its CPU reference the float64-summing matmul. */
export function gemmCase(kernel: string, spec: MatmulSpec): BenchCase {
  const { M, K, N, transA, transB } = spec;
  const trans = `${transA ? "T" : "N"}${transB ? "T" : "N"}`;
  return {
    kernel,
    shape: `${M}x${K}x${N} ${trans}`,
    flops: 2 * M * K * N,
    async build(gpu) {
      const alloc = allocator(gpu);
      const kernels = await createMatmul(gpu, spec, {
        a: alloc(M * K),
        b: alloc(K * N),
        c: alloc(M * N),
        bias: alloc(N),
        mask: alloc(M * N),
      });
      return { kernels, dispose: alloc.dispose };
    },
    cpu() {
      const a = new Float32Array(M * K).fill(0.5);
      const b = new Float32Array(K * N).fill(0.5);
      const c = new Float32Array(M * N);
      return () => matmul(a, b, c, M, K, N, { transA, transB });
    },
  };
}

function columnSumCase(rows: number, cols: number): BenchCase {
  return {
    kernel: "colsum db = column sums of dY",
    shape: `${rows}x${cols}`,
    bytes: (rows + 1) * cols * 4,
    async build(gpu) {
      const alloc = allocator(gpu);
      const kernels = await createColumnSum(gpu, alloc(rows * cols), alloc(cols), rows, cols);
      return { kernels, dispose: alloc.dispose };
    },
    cpu() {
      // The column-sum loop of the reference's linearBackward, which has no separate function for it.
      const dy = new Float32Array(rows * cols).fill(0.5);
      const db = new Float32Array(cols);
      return () => {
        for (let o = 0; o < cols; o++) {
          let s = 0;
          for (let r = 0; r < rows; r++) s += dy[r * cols + o];
          db[o] = s;
        }
      };
    },
  };
}

function adamCase(count: number): BenchCase {
  return {
    kernel: "adam (all parameters, flat)",
    shape: `${count} params`,
    // params, m, v read and written; grads read.
    bytes: count * 4 * 7,
    async build(gpu) {
      const alloc = allocator(gpu);
      const adam = await createAdam(
        gpu,
        { params: alloc(count), grads: alloc(count), m: alloc(count), v: alloc(count) },
        count,
        ADAM_DEFAULTS,
      );
      adam.setStep(1);
      return { kernels: adam.kernels, dispose: alloc.dispose };
    },
    cpu() {
      const p = new Float32Array(count);
      const g = new Float32Array(count).fill(0.5);
      const m = new Float32Array(count);
      const v = new Float32Array(count);
      return () => adamStep(p, g, m, v, 1, ADAM_DEFAULTS);
    },
  };
}

/** Allocates zeroed float buffers and frees them all together. */
function allocator(gpu: Gpu): ((floats: number) => BufferSlice) & { dispose(): void } {
  const made: GPUBuffer[] = [];
  const alloc = (floats: number) => {
    const buf = gpu.buffer("bench", floats * 4);
    made.push(buf);
    return whole(buf);
  };
  return Object.assign(alloc, { dispose: () => made.forEach((b) => gpu.destroy(b)) });
}

function wallMs(call: () => void): number {
  const t0 = performance.now();
  call();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
