/**
 * What every doctor check shares: the device, the seed, a cache of CPU reference results (the same model
 * GEMM checked under several kernel variants is computed on the CPU once), GPU scratch buffers freed per
 * check, and the quick speed measurement.
 */
import { timeKernels } from "../bench/kernels.ts";
import { type BufferSlice, type Gpu, type Kernel, whole } from "../gpu/device.ts";
import type { CaseResult } from "./compare.ts";

/** A quick speed figure of one kernel at one shape. */
export interface Speed {
  /** The shape timed, in words. */
  shape: string;
  /** GPU milliseconds per run of the kernel's dispatches (median of a few). */
  ms: number;
  /** Arithmetic throughput, for kernels that count their flops. */
  gflops?: number;
  /** Memory throughput, for kernels bound by their bytes. */
  gbps?: number;
}

/** What a check found; a thrown error (a compile failure, say) becomes the row's FAIL instead. */
export interface CheckOutcome {
  cases: CaseResult[];
  speed?: Speed;
}

/** Odd shapes per check of a kernel whose shapes are compiled in: one where compiling is slow. */
export const oddCount = (ctx: CheckContext): number[] => (ctx.fewShapes ? [0] : [0, 1]);

export interface Scratch {
  /** A buffer holding `data`, or `floats` zeroed 4-byte elements. */
  alloc(label: string, data: Float32Array | Int32Array | number): BufferSlice;
  /** The first `n` floats of a slice. */
  read(s: BufferSlice, n: number): Promise<Float32Array>;
}

export class CheckContext {
  readonly gpu: Gpu;
  readonly seed: number;
  /** Measure speed (each check times one model-sized case). */
  readonly timing: boolean;
  /**
   * Fewer and smaller odd shapes for kernels whose shapes are compiled in (LSTM, embedding, softmax): for
   * adapters whose shader compiler takes long over each new pipeline.
   */
  readonly fewShapes: boolean;
  #reference = new Map<string, unknown>();

  constructor(gpu: Gpu, seed: number, timing: boolean, fewShapes = false) {
    this.gpu = gpu;
    this.seed = seed;
    this.timing = timing;
    this.fewShapes = fewShapes;
  }

  /** The CPU reference result for `key`, computed once. */
  reference<T>(key: string, compute: () => T): T {
    if (!this.#reference.has(key)) this.#reference.set(key, compute());
    return this.#reference.get(key) as T;
  }

  /** A seed for `what` that depends on the run's seed, so that every check draws other numbers. */
  seedFor(what: string): number {
    let h = (this.seed ^ 0x811c9dc5) >>> 0;
    for (let i = 0; i < what.length; i++) h = Math.imul(h ^ what.charCodeAt(i), 16777619) >>> 0;
    return h;
  }

  /** Runs `body` with a scratch allocator whose buffers (and those kernel builders make) are freed after. */
  async scratch<T>(body: (s: Scratch) => Promise<T>): Promise<T> {
    const made: GPUBuffer[] = [];
    const gpu = this.gpu;
    const alloc = (label: string, data: Float32Array | Int32Array | number): BufferSlice => {
      const bytes = typeof data === "number" ? data * 4 : data.byteLength;
      const buf = gpu.buffer(`doctor ${label}`, bytes, typeof data === "number" ? undefined : data);
      made.push(buf);
      return whole(buf);
    };
    let built: GPUBuffer[] = [];
    try {
      // Kernel builders make their own uniforms and scratch: collect hands those over too (when body
      // succeeds; after a failure a few small ones stay until the device goes).
      const { result, buffers } = await gpu.collect(() =>
        body({ alloc, read: async (s, n) => (await gpu.read(s)).subarray(0, n) })
      );
      built = buffers;
      return result;
    } finally {
      for (const b of new Set([...made, ...built])) gpu.destroy(b);
    }
  }

  /** GPU milliseconds per run of `kernels` (timestamp queries where the adapter has them). */
  async speed(
    shape: string,
    kernels: Kernel[],
    work: { flops?: number; bytes?: number },
  ): Promise<Speed | undefined> {
    if (!this.timing) return undefined;
    // One run of two copies first (kernels of a second each on a slow adapter stop there), then, for short
    // kernels, the median of three runs of enough copies to fill ~30 ms.
    let ms = await timeKernels(this.gpu, kernels, 1, 1);
    if (ms < 20) ms = await timeKernels(this.gpu, kernels, 3, 30);
    const speed: Speed = { shape, ms };
    if (work.flops) speed.gflops = work.flops / ms / 1e6;
    if (work.bytes) speed.gbps = work.bytes / ms / 1e6;
    return speed;
  }
}
