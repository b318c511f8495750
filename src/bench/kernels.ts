/**
 * Per-kernel timings at the model's real shapes (by default April 2017: V = 2482, batch 64), each next to
 * the CPU reference doing the same work. A kernel is timed over several copies of it encoded in one
 * submit, by the pass's GPU timestamps where the adapter has `timestamp-query`, else by wall clock from
 * submit to onSubmittedWorkDone (see timeKernels); the median of a few runs is reported.
 *
 * To add kernels, write a BenchCase and add it to `benchCases` (or pass extra cases in the options).
 */
import { ADAM_DEFAULTS } from "../model/optimizer.ts";
import { adamStep } from "../cpu/adam.ts";
import { embeddingBackward, embeddingForward } from "../cpu/embedding.ts";
import { columnSum } from "../cpu/linear.ts";
import { lstmLayerBackward, lstmLayerForward } from "../cpu/lstm.ts";
import { matmul } from "../cpu/matmul.ts";
import { softmaxCrossEntropy } from "../cpu/softmax_xent.ts";
import { createAdam } from "../gpu/adam.ts";
import { type BufferSlice, type Gpu, type Kernel, whole } from "../gpu/device.ts";
import { createEmbedding } from "../gpu/embedding.ts";
import { createColumnSum } from "../gpu/linear.ts";
import { createLstmLayer, lstmPlan, type LstmVariant } from "../gpu/lstm.ts";
import { createMatmul, defaultMatmulVariant, type MatmulSpec } from "../gpu/matmul.ts";
import { createSoftmaxXent } from "../gpu/softmax_xent.ts";
import { createStepParams } from "../gpu/step_params.ts";
import type { ModelConfig } from "../model/config.ts";
import { paramLayout } from "../model/layout.ts";
import { headGemms } from "../facts/gemm.ts";
import { MODEL_SHAPES } from "../facts/shapes.ts";
import { median } from "./stats.ts";

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

/** The notebook's model on April 2017 and its batch (doctor's model shapes): what is timed by default. */
const BENCH_MODEL: ModelConfig = MODEL_SHAPES.model;
const BATCH = MODEL_SHAPES.batch;

export interface BenchOptions {
  /** Fewer runs and copies, and one run of each CPU reference. */
  quick?: boolean;
  /** The model whose shapes are timed (default: the notebook's on April 2017). */
  model?: ModelConfig;
  /** Rows per step (default 64, the notebook's batch). */
  batch?: number;
  /** Cases to time instead of `benchCases(gpu, model, batch)`. */
  cases?: BenchCase[];
}

/** How timeKernels measures on this device. */
export function kernelTiming(gpu: Gpu): "timestamp-query" | "wall clock" {
  return gpu.device.features.has("timestamp-query") ? "timestamp-query" : "wall clock";
}

export async function benchKernels(gpu: Gpu, opts: BenchOptions = {}): Promise<BenchRow[]> {
  const quick = opts.quick ?? false;
  const runs = quick ? 3 : 5;
  const targetMs = quick ? 100 : 300;
  const rows: BenchRow[] = [];
  for (const c of opts.cases ?? benchCases(gpu, opts.model ?? BENCH_MODEL, opts.batch ?? BATCH)) {
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
 * Median milliseconds per copy of `kernels`, c copies encoded in one compute pass and submit per run, c
 * chosen so that the copies take about `targetMs`. With `timestamp-query` the time is the pass's own
 * (GPU timestamps at its start and end), which leaves out the submit and its wait. Without it, it is wall
 * clock, and the fixed cost of a submit and its wait (about 12 ms on lavapipe: a polling interval,
 * measured here as an empty submit) is subtracted; the many copies keep what is left of it small.
 */
export async function timeKernels(
  gpu: Gpu,
  kernels: Kernel[],
  runs: number,
  targetMs: number,
): Promise<number> {
  const stamps = kernelTiming(gpu) === "timestamp-query" ? passStamps(gpu) : null;
  const submit = async (copies: number) => {
    const t0 = performance.now();
    const enc = gpu.device.createCommandEncoder();
    const pass = enc.beginComputePass(stamps?.descriptor ?? {});
    for (let i = 0; i < copies; i++) gpu.encode(pass, kernels);
    pass.end();
    stamps?.resolve(enc);
    gpu.device.queue.submit([enc.finish()]);
    if (stamps) return await stamps.readMs();
    await gpu.device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  try {
    await gpu.run(kernels); // builds driver state and reports validation errors
    const fixed = median([await submit(0), await submit(0), await submit(0)]);
    // Tiny kernels (an embedding gather) take microseconds: hundreds of copies lift them over the noise.
    const single = Math.max(await submit(1) - fixed, 0.01);
    const copies = Math.min(256, Math.max(2, Math.ceil(targetMs / single)));
    const times: number[] = [];
    for (let r = 0; r < runs; r++) times.push(Math.max(await submit(copies) - fixed, 0) / copies);
    return median(times);
  } finally {
    stamps?.destroy();
  }
}

/** Timestamps at the start and end of one compute pass, and their difference read back in ms. */
function passStamps(gpu: Gpu) {
  const device = gpu.device;
  const querySet = device.createQuerySet({ type: "timestamp", count: 2 });
  const resolved = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const staging = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  return {
    descriptor: {
      timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    } as GPUComputePassDescriptor,
    resolve(enc: GPUCommandEncoder) {
      enc.resolveQuerySet(querySet, 0, 2, resolved, 0);
      enc.copyBufferToBuffer(resolved, 0, staging, 0, 16);
    },
    async readMs(): Promise<number> {
      await staging.mapAsync(GPUMapMode.READ);
      const [start, end] = new BigUint64Array(staging.getMappedRange());
      staging.unmap();
      return Number(end - start) / 1e6; // WebGPU timestamps are nanoseconds
    },
    destroy() {
      querySet.destroy();
      resolved.destroy();
      staging.destroy();
    },
  };
}

/** The model's kernels (embedding, one LSTM layer in each variant, GEMMs, column sum, loss, Adam) at its shapes. */
export function benchCases(gpu: Gpu, cfg: ModelConfig, batch = BATCH): BenchCase[] {
  const V = cfg.vocab;
  const layout = paramLayout(cfg);
  const gemm = (what: string, spec: MatmulSpec) =>
    gemmCase(`matmul ${defaultMatmulVariant(gpu, spec)} ${what}`, spec);
  // The model's head GEMMs as src/gpu/model.ts builds them (a window model's: fc1 and fc2).
  const head = headGemms(cfg, batch, cfg.window);
  return [
    ...embeddingCases(cfg, batch),
    ...lstmCases(gpu, cfg, batch),
    ...(head.fc1Forward ? [gemm("fc1 forward: x·Wᵀ + b, ReLU", head.fc1Forward)] : []),
    gemm("fc2 forward: x·Wᵀ + b", head.fc2Forward),
    softmaxXentCase(batch, V),
    gemm(`fc2 dX = dY·W${head.fc1Forward ? ", ReLU backward fused" : ""}`, head.fc2DX),
    gemm("fc2 dW = dYᵀ·X", head.fc2DW),
    columnSumCase(batch, V),
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

/** Word ids spread over the vocabulary, so the gather touches rows the way a real batch does. */
function spreadIds(count: number, V: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => (i * 7919) % V);
}

/** Deterministic values in [-scale, scale]: finite, non-constant activations without a seeded RNG. */
function wave(count: number, scale: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => scale * Math.sin(i * 12.9898));
}

/** The embedding gather (forward) and its atomic-free scatter (backward) for one batch. */
function embeddingCases(cfg: ModelConfig, B: number): BenchCase[] {
  const { vocab: V, embed: E, window: T } = cfg;
  const positions = B * T;
  const ids = spreadIds(positions, V);
  const build = (backward: boolean) => async (gpu: Gpu) => {
    const alloc = allocator(gpu);
    const step = createStepParams(gpu, "bench step", T);
    alloc.own(step.buffer);
    step.set(0, B, 0);
    const emb = await createEmbedding(gpu, { V, E, T, maxB: B }, {
      step: step.buffer,
      inputs: alloc(positions, ids),
      order: alloc(B, Int32Array.from({ length: B }, (_, i) => i)),
      table: alloc(V * E, wave(V * E, 1)),
      x: alloc(positions * E),
      dx: alloc(positions * E, wave(positions * E, 0.01)),
      dTable: alloc(V * E),
    }, "bench embedding");
    alloc.own(emb.ids);
    // The backward reads the ids the forward resolved.
    if (backward) await gpu.run(emb.forward);
    return { kernels: backward ? emb.backward : emb.forward, dispose: alloc.dispose };
  };
  return [
    {
      kernel: "embedding forward: gather rows",
      shape: `${B}x${T} ids, E=${E}`,
      // ids and order read, rows read and written.
      bytes: positions * 4 * 2 + positions * E * 4 * 2,
      build: build(false),
      cpu() {
        const table = wave(V * E, 1);
        const out = new Float32Array(positions * E);
        return () => embeddingForward(table, ids, E, out);
      },
    },
    {
      kernel: "embedding backward: dTable, overwritten",
      shape: `${B}x${T} ids -> ${V}x${E}`,
      // dx rows read, the whole dTable written.
      bytes: positions * E * 4 + V * E * 4,
      build: build(true),
      cpu() {
        const dOut = wave(positions * E, 0.01);
        const dTable = new Float32Array(V * E);
        return () => embeddingBackward(dOut, ids, E, dTable);
      },
    },
  ];
}

/**
 * One LSTM layer above the first (input width = hidden, as for all but layer 0), forward and backward, in each
 * variant this device can run (src/gpu/lstm.ts): the sequence kernels (the input-projection GEMM and one
 * recurrent dispatch forward; one recurrent dispatch, the weight and input GEMMs and the bias column sums
 * backward) and the per-position cells (T cell kernels each way, then the same GEMMs). The layer's own small
 * scratch (h_{t-1}, the cells' dh/dc carry) is not exposed by createLstmLayer, so it stays allocated (a few
 * hundred KiB) until the device goes.
 */
function lstmCases(gpu: Gpu, cfg: ModelConfig, B: number): BenchCase[] {
  const { hidden: H, window: T } = cfg;
  const In = H;
  const G = 4 * H;
  const rows = B * T;
  const inputs = () => ({
    x: wave(rows * In, 0.5),
    wih: wave(G * In, 0.1),
    whh: wave(G * H, 0.1),
    bih: wave(G, 0.1),
    bhh: wave(G, 0.1),
    dh: wave(rows * H, 0.01),
  });
  const build = (variant: LstmVariant, backward: boolean) => async (gpu: Gpu) => {
    const alloc = allocator(gpu);
    const v = inputs();
    const step = createStepParams(gpu, "bench step", T);
    alloc.own(step.buffer);
    const layer = await createLstmLayer(
      gpu,
      { B, T, In, H },
      {
        step: step.buffer,
        x: alloc(rows * In, v.x),
        wih: alloc(G * In, v.wih),
        whh: alloc(G * H, v.whh),
        bih: alloc(G, v.bih),
        bhh: alloc(G, v.bhh),
        h: alloc(rows * H),
        c: alloc(rows * H),
        gates: alloc(rows * G),
        dh: alloc(rows * H, v.dh),
        dx: alloc(rows * In),
        dPre: alloc(rows * G),
        dWih: alloc(G * In),
        dWhh: alloc(G * H),
        dbih: alloc(G),
        dbhh: alloc(G),
      },
      "bench lstm",
      variant,
    );
    // The backward reads the h, c and gates the forward wrote.
    if (backward) await gpu.run(layer.forward);
    return { kernels: backward ? layer.backward : layer.forward, dispose: alloc.dispose };
  };
  const shape = `B=${B} T=${T} In=${In} H=${H}`;
  const variants: LstmVariant[] = lstmPlan(gpu, B, H).variant === "sequence"
    ? ["sequence", "steps"]
    : ["steps"];
  return variants.flatMap((variant): BenchCase[] => [
    {
      kernel: variant === "sequence"
        ? "lstm layer forward (sequence): x·W_ihᵀ GEMM, 1 recurrent dispatch"
        : `lstm layer forward (per position): ${T} fused cells`,
      shape,
      // x_t·W_ihᵀ and h_{t-1}·W_hhᵀ over B rows for every position.
      flops: 2 * rows * G * (In + H),
      build: build(variant, false),
      cpu() {
        const v = inputs();
        return () => lstmLayerForward(v.x, v.wih, v.whh, v.bih, v.bhh, B, T, In, H);
      },
    },
    {
      kernel: variant === "sequence"
        ? "lstm layer backward (sequence): 1 recurrent dispatch, dW, dx, db"
        : `lstm layer backward (per position): ${T} cells, dW, dx, db`,
      shape,
      // Recurrent dh (dPre·W_hh), dW_ih, dW_hh and dx: four GEMMs' worth over B*T rows.
      flops: 2 * rows * G * (2 * In + 2 * H),
      build: build(variant, true),
      cpu() {
        const v = inputs();
        const cache = lstmLayerForward(v.x, v.wih, v.whh, v.bih, v.bhh, B, T, In, H);
        const grads = {
          dx: new Float32Array(rows * In),
          dWih: new Float32Array(G * In),
          dWhh: new Float32Array(G * H),
          dbih: new Float32Array(G),
          dbhh: new Float32Array(G),
        };
        return () => lstmLayerBackward(v.x, v.wih, v.whh, cache, v.dh, B, T, In, H, grads);
      },
    },
  ]);
}

/** The fused loss: per-row softmax cross-entropy and dLogits, then the step's mean. */
function softmaxXentCase(B: number, V: number): BenchCase {
  const targets = spreadIds(B, V);
  return {
    kernel: "softmax xent: loss and dLogits",
    shape: `${B}x${V}`,
    // Logits read, dLogits written (the row max and sum passes re-read logits from cache).
    bytes: 2 * B * V * 4,
    async build(gpu) {
      const alloc = allocator(gpu);
      const step = createStepParams(gpu, "bench step");
      alloc.own(step.buffer);
      step.set(0, B, 0);
      const kernels = await createSoftmaxXent(gpu, { maxB: B, V }, {
        step: step.buffer,
        logits: alloc(B * V, wave(B * V, 3)),
        targets: alloc(B, targets),
        order: alloc(B, Int32Array.from({ length: B }, (_, i) => i)),
        rowLoss: alloc(B),
        losses: alloc(1),
        dLogits: alloc(B * V),
      }, "bench xent");
      return { kernels, dispose: alloc.dispose };
    },
    cpu() {
      const logits = wave(B * V, 3);
      const dLogits = new Float32Array(B * V);
      return () => softmaxCrossEntropy(logits, targets, B, V, dLogits);
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
      const dy = new Float32Array(rows * cols).fill(0.5);
      const db = new Float32Array(cols);
      return () => columnSum(dy, rows, cols, db);
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
      );
      adam.setStep(1, ADAM_DEFAULTS);
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

/**
 * Allocates 4-byte-element buffers (zeroed, or filled from `data`) and frees them all together, with any
 * buffer handed to `own` (ones a kernel builder made for itself).
 */
function allocator(gpu: Gpu): ((floats: number, data?: Float32Array | Int32Array) => BufferSlice) & {
  own(buf: GPUBuffer): void;
  dispose(): void;
} {
  const made: GPUBuffer[] = [];
  const alloc = (floats: number, data?: Float32Array | Int32Array) => {
    const buf = gpu.buffer("bench", floats * 4, data);
    made.push(buf);
    return whole(buf);
  };
  return Object.assign(alloc, {
    own: (buf: GPUBuffer) => void made.push(buf),
    dispose: () => made.forEach((b) => gpu.destroy(b)),
  });
}

function wallMs(call: () => void): number {
  const t0 = performance.now();
  call();
  return performance.now() - t0;
}
