/**
 * The Backend contract on WebGPU: the state around the model's buffers and kernels (src/gpu/model.ts). The
 * training data is uploaded once and the step's kernels are built for it then; each optimizer step is one
 * submit with no readback, its loss kept in a GPU slot until takeLosses reads them all; evaluation runs in
 * chunks of the largest batch. Every readback checks for a lost device or an uncaptured GPU error, which
 * would make its results garbage. Arguments are checked by checkedBackend.
 */
import type { Backend } from "../model/backend.ts";
import { checkedBackend } from "../model/checked_backend.ts";
import { isDirectHead, isHeadlineModel, type ModelConfig, validateConfig } from "../model/config.ts";
import type { DropoutSettings } from "../model/dropout.ts";
import { paramLayout } from "../model/layout.ts";
import type { AdamHyper, AdamState } from "../model/optimizer.ts";
import { type BufferSlice, type Gpu, subSlice, whole } from "./device.ts";
import { GpuModel, LOSS_SLOTS, type TrainingData, type TrainingKernels } from "./model.ts";
import type { LstmVariant } from "./lstm.ts";
import { DeviceLostError, firstLine, UserError } from "../errors.ts";

/** How long a failed readback waits for device.lost before reporting the failure as it is. */
const LOST_WAIT_MS = 500;

/** What createGpuBackend needs besides the model. */
export interface GpuBackendOptions {
  /** Largest batch a step (or an evaluation chunk) uses. */
  maxBatch: number;
  /** The LSTM layers' variant (src/gpu/lstm.ts); by default the one the device's limits choose. */
  lstm?: LstmVariant;
}

/**
 * The Backend that runs a model of `cfg` on `gpu`'s device with the WGSL kernels, its buffers sized for
 * `opts.maxBatch` rows (its arguments checked by checkedBackend).
 */
export async function createGpuBackend(
  gpu: Gpu,
  cfg: ModelConfig,
  opts: GpuBackendOptions,
): Promise<Backend> {
  validateConfig(cfg);
  if (isHeadlineModel(cfg) || isDirectHead(cfg)) {
    throw new UserError("headline models and direct heads do not run on WebGPU yet: use --backend cpu");
  }
  const layout = paramLayout(cfg);
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const flatBytes = layout.total * 4;
  if (flatBytes > gpu.device.limits.maxBufferSize) {
    throw new UserError(
      `the model's ${layout.count} parameters need ${
        mib(flatBytes)
      } per flat buffer (4 of them), more than ` +
        `this adapter's largest buffer, ${mib(gpu.device.limits.maxBufferSize)}: use a smaller model`,
    );
  }
  gpu.device.pushErrorScope("out-of-memory");
  // Everything made here, the kernel builders' uniforms and scratch included, belongs to the backend.
  const { result: model, buffers } = await gpu.collect(async () => {
    const m = new GpuModel(gpu, cfg, opts.maxBatch, opts.lstm);
    await m.build();
    return m;
  });
  const backend = new GpuBackend(gpu, model, buffers);
  const oom = await gpu.device.popErrorScope();
  if (oom) {
    const asked = mib(gpu.allocatedBytes); // before destroy gives it back
    backend.destroy();
    throw new UserError(
      `out of GPU memory building the model (${asked} asked for ${layout.count} ` +
        `parameters, batch ${opts.maxBatch}): ${firstLine(oom.message)}`,
    );
  }
  return checkedBackend(backend);
}

class GpuBackend implements Backend {
  readonly name: string;
  readonly config: ModelConfig;
  readonly #gpu: Gpu;
  readonly #model: GpuModel;
  /** Buffers destroyed with the backend: the model's, and the training data's while it is loaded. */
  readonly #owned: Set<GPUBuffer>;
  #data: TrainingData | null = null;
  #training: TrainingKernels | null = null;
  #adamStep = 0;
  /** Training steps submitted since the last takeLosses (= the next loss slot). */
  #queued = 0;

  constructor(gpu: Gpu, model: GpuModel, buffers: GPUBuffer[]) {
    this.#gpu = gpu;
    this.#model = model;
    this.config = model.config;
    this.name = `webgpu (${gpu.adapter.description})`;
    this.#owned = new Set(buffers);
  }

  /** Throws if the device was lost or an uncaptured GPU error (a failed submit) made results meaningless. */
  #checkDevice(): void {
    const lost = this.#gpu.lost;
    if (lost) throw new DeviceLostError(lost.reason, lost.message);
    const error = this.#gpu.error;
    if (error) throw new Error(`GPU error: ${error}`);
  }

  /**
   * gpu.read, except that a failure on a lost device says so: Deno rejects mapAsync on a destroyed device
   * with a bare "validation error occurred" a task before device.lost settles, so wait (briefly) for it.
   */
  async #read(slice: BufferSlice): Promise<Float32Array> {
    this.#checkDevice();
    try {
      return await this.#gpu.read(slice);
    } catch (e) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#gpu.device.lost,
        new Promise((resolve) => timer = setTimeout(resolve, LOST_WAIT_MS)),
      ]);
      clearTimeout(timer);
      this.#checkDevice();
      throw e;
    }
  }

  setParams(flat: Float32Array): Promise<void> {
    this.#gpu.write(this.#model.params, 0, flat);
    return Promise.resolve();
  }

  getParams(): Promise<Float32Array> {
    return this.#read(this.#model.flat(this.#model.params));
  }

  setAdamState(state: AdamState): Promise<void> {
    this.#gpu.write(this.#model.m, 0, state.m);
    this.#gpu.write(this.#model.v, 0, state.v);
    this.#adamStep = state.adamStep;
    return Promise.resolve();
  }

  async getAdamState(): Promise<AdamState> {
    const model = this.#model;
    return {
      m: await this.#read(model.flat(model.m)),
      v: await this.#read(model.flat(model.v)),
      adamStep: this.#adamStep,
    };
  }

  /**
   * Uploads the pairs (file order) and builds the training step's kernels for them, compiling their
   * pipelines (seconds on a software adapter the first time): once this resolves, steps start at once.
   */
  async setTrainData(inputs: Int32Array, targets: Int32Array, count: number): Promise<void> {
    this.#dropTraining();
    const gpu = this.#gpu;
    const own = (b: GPUBuffer) => (this.#owned.add(b), b);
    const data: TrainingData = {
      inputs: own(gpu.buffer("train inputs", inputs.byteLength, inputs)),
      targets: own(gpu.buffer("train targets", targets.byteLength, targets)),
      order: own(gpu.buffer("train order", count * 4, Int32Array.from({ length: count }, (_, i) => i))),
    };
    this.#data = data;
    try {
      this.#training = await this.#model.buildTraining(data);
    } catch (e) {
      this.#dropTraining(); // no half-built training state: the next setTrainData starts clean
      throw e;
    }
  }

  /** Frees the training data and the kernels bound to it. */
  #dropTraining(): void {
    for (const b of this.#training?.buffers ?? []) this.#gpu.destroy(b);
    this.#training = null;
    if (!this.#data) return;
    for (const b of [this.#data.inputs, this.#data.targets, this.#data.order]) {
      this.#owned.delete(b);
      this.#gpu.destroy(b);
    }
    this.#data = null;
  }

  setOrder(order: Int32Array): Promise<void> {
    this.#gpu.write(this.#data!.order, 0, order);
    return Promise.resolve();
  }

  trainStep(start: number, size: number, hyper: AdamHyper, dropout?: DropoutSettings): void {
    if (dropout && dropout.rate > 0) {
      throw new UserError("dropout does not run on WebGPU yet: use --backend cpu");
    }
    this.#checkDevice();
    const maxB = this.#model.maxBatch;
    if (size > maxB) throw new Error(`trainStep: ${size} pairs, more than the batch ${maxB} built for`);
    if (this.#queued >= LOSS_SLOTS) {
      throw new Error(`trainStep: more than ${LOSS_SLOTS} steps without takeLosses`);
    }
    const training = this.#training!;
    this.#model.step.set(start, size, this.#queued++);
    training.adam.setStep(++this.#adamStep, hyper);
    this.#gpu.submit([...training.step, ...training.adam.stepKernels(hyper)]);
  }

  async takeLosses(): Promise<number[]> {
    const n = this.#queued;
    this.#queued = 0;
    if (n === 0) {
      this.#checkDevice();
      return [];
    }
    const device = this.#gpu.device;
    device.pushErrorScope("validation");
    let losses: Float32Array;
    let err: GPUError | null;
    try {
      losses = await this.#read(subSlice(whole(this.#model.losses), 0, n));
    } finally {
      err = await device.popErrorScope();
    }
    if (err) throw new Error(`GPU validation error: ${firstLine(err.message)}`);
    this.#checkDevice();
    return Array.from(losses.subarray(0, n));
  }

  async evalLoss(inputs: Int32Array, targets: Int32Array, count: number): Promise<number> {
    const model = this.#model;
    const maxB = model.maxBatch;
    let total = 0;
    let done = 0;
    while (done < count) {
      // Up to LOSS_SLOTS chunks queued, then one readback of their mean losses.
      const chunks = Math.min(LOSS_SLOTS, Math.ceil((count - done) / maxB));
      const sizes: number[] = [];
      for (let c = 0; c < chunks; c++) {
        const first = done + c * maxB;
        const size = Math.min(maxB, count - first);
        this.#loadEval(inputs, first, size, targets);
        model.evalStep.set(0, size, c);
        this.#gpu.submit(model.evalKernels(true));
        sizes.push(size);
      }
      const losses = await this.#read(subSlice(whole(model.evalLosses), 0, chunks));
      sizes.forEach((size, c) => total += losses[c] * size);
      done += sizes.reduce((a, b) => a + b, 0);
    }
    this.#checkDevice();
    return total / count;
  }

  async logits(inputs: Int32Array, count: number): Promise<Float32Array> {
    const model = this.#model;
    const V = this.config.vocab;
    const out = new Float32Array(count * V);
    for (let first = 0; first < count; first += model.maxBatch) {
      const size = Math.min(model.maxBatch, count - first);
      this.#loadEval(inputs, first, size, null);
      model.evalStep.set(0, size, 0);
      this.#gpu.submit(model.evalKernels(false));
      out.set(await this.#read(model.logits(size)), first * V);
    }
    this.#checkDevice();
    return out;
  }

  advance(): Promise<{ logits: Float32Array; state: Float32Array }> {
    return Promise.reject(new Error("advance: a window model carries no state"));
  }

  /** Writes windows first .. first+size (and their targets) into the evaluation input buffers. */
  #loadEval(inputs: Int32Array, first: number, size: number, targets: Int32Array | null): void {
    const T = this.config.window;
    this.#gpu.write(this.#model.evalInputs, 0, inputs.subarray(first * T, (first + size) * T));
    if (targets) this.#gpu.write(this.#model.evalTargets, 0, targets.subarray(first, first + size));
  }

  memoryBytes(): number {
    return this.#gpu.allocatedBytes;
  }

  destroy(): void {
    this.#dropTraining();
    for (const b of this.#owned) this.#gpu.destroy(b);
    this.#owned.clear();
  }
}
