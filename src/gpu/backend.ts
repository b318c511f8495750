/**
 * The Backend contract on WebGPU: the state around the model's buffers and kernels (src/gpu/model.ts). The
 * training data is uploaded once and the step's kernels are built for it then; each optimizer step is one
 * submit with no readback, its loss kept in a GPU slot until takeLosses reads them all; evaluation runs in
 * chunks of the largest batch. A headline model's step says its batch's positions (the longest of its rows,
 * known on the host from the targets and the order), and `advance` runs one position from carried states.
 * Every readback checks for a lost device or an uncaptured GPU error, which would make its results garbage.
 * Arguments are checked by checkedBackend.
 */
import { type Backend, stateSize } from "../model/backend.ts";
import { checkedBackend } from "../model/checked_backend.ts";
import { isHeadlineModel, type ModelConfig, validateConfig } from "../model/config.ts";
import { rowLengths } from "../data/sequences.ts";
import type { DropoutSettings } from "../model/dropout.ts";
import { paramLayout } from "../model/layout.ts";
import type { AdamHyper, AdamState } from "../model/optimizer.ts";
import { type BufferSlice, type Gpu, type Kernel, subSlice, whole } from "./device.ts";
import { GpuModel, LOSS_SLOTS, type TrainingData, type TrainingKernels } from "./model.ts";
import type { LstmVariant } from "./lstm.ts";
import { DeviceLostError, firstLine, UserError } from "../errors.ts";

/** How long a failed readback waits for device.lost before reporting the failure as it is. */
const LOST_WAIT_MS = 500;

/** What createGpuBackend needs besides the model. */
export interface GpuBackendOptions {
  /** Largest batch a step (or an evaluation chunk) uses. */
  maxBatch: number;
  /**
   * A headline model's most positions per row (training data, evaluation rows): the buffers hold that many
   * (default DEFAULT_MAX_STEPS). advance needs 1.
   */
  maxSteps?: number;
  /** Build training's dropout passes: steps with a dropout rate above 0 need them. */
  dropout?: boolean;
  /** The LSTM layers' variant (src/gpu/lstm.ts); by default the one the device's limits choose. */
  lstm?: LstmVariant;
}

/** Positions per row a headline model's buffers hold unless told: the nine NYT files' longest is 25. */
export const DEFAULT_MAX_STEPS = 64;

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
    const m = new GpuModel(gpu, cfg, {
      maxBatch: opts.maxBatch,
      maxSteps: opts.maxSteps ?? DEFAULT_MAX_STEPS,
      dropout: opts.dropout ?? false,
      lstm: opts.lstm,
    });
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
  /** Each training row's positions with a target, and the epoch's order, on the host (a step's Tb). */
  #lengths: Int32Array = new Int32Array(0);
  #order: Int32Array = new Int32Array(0);
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

  /** One slice read back (#submitAndRead with no kernels). */
  async #read(slice: BufferSlice): Promise<Float32Array> {
    return (await this.#submitAndRead([], [slice]))[0];
  }

  /**
   * Kernels and the readback of their results in one submit (gpu.submitAndRead), except that a failure on a
   * lost device says so: Deno rejects mapAsync on a destroyed device with a bare "validation error occurred"
   * a task before device.lost settles, so wait (briefly) for it.
   */
  async #submitAndRead(kernels: Kernel[], slices: BufferSlice[]): Promise<Float32Array[]> {
    this.#checkDevice();
    try {
      return await this.#gpu.submitAndRead(kernels, slices);
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
    const [m, v] = await this.#submitAndRead([], [model.flat(model.m), model.flat(model.v)]);
    return { m, v, adamStep: this.#adamStep };
  }

  /**
   * Uploads the pairs (file order) and builds the training step's kernels for them, compiling their
   * pipelines (seconds on a software adapter the first time): once this resolves, steps start at once.
   */
  async setTrainData(inputs: Int32Array, targets: Int32Array, count: number): Promise<void> {
    this.#dropTraining();
    const gpu = this.#gpu;
    const steps = this.#rowSteps(inputs, count);
    const own = (b: GPUBuffer) => (this.#owned.add(b), b);
    const identity = Int32Array.from({ length: count }, (_, i) => i);
    const data: TrainingData = {
      inputs: own(gpu.buffer("train inputs", inputs.byteLength, inputs)),
      targets: own(gpu.buffer("train targets", targets.byteLength, targets)),
      order: own(gpu.buffer("train order", count * 4, identity)),
      steps,
    };
    this.#lengths = this.#headline ? rowLengths(targets, count) : new Int32Array(count).fill(steps);
    this.#order = identity;
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
    this.#order = order.slice();
    return Promise.resolve();
  }

  /** A headline batch runs as many positions as its longest row; a window batch its window. */
  trainStep(start: number, size: number, hyper: AdamHyper, dropout?: DropoutSettings): void {
    this.#checkDevice();
    const model = this.#model;
    const maxB = model.maxBatch;
    if (size > maxB) throw new Error(`trainStep: ${size} pairs, more than the batch ${maxB} built for`);
    if (this.#queued >= LOSS_SLOTS) {
      throw new Error(`trainStep: more than ${LOSS_SLOTS} steps without takeLosses`);
    }
    if (dropout && dropout.rate > 0 && !model.dropout) {
      throw new Error("trainStep: dropout on a backend built without it (GpuBackendOptions.dropout)");
    }
    const training = this.#training!;
    const lengths = Array.from({ length: size }, (_, b) => this.#lengths[this.#order[start + b]]);
    const steps = Math.max(0, ...lengths);
    model.setStep(start, size, this.#queued++, steps, lengths);
    training.adam.setStep(++this.#adamStep, hyper);
    // The step's masks are keyed by Adam's step count, as the CPU reference's.
    model.dropout?.set(dropout ?? { rate: 0, seed: 0 }, this.#adamStep);
    this.#gpu.submit([...model.active(training.step), ...training.adam.stepKernels(hyper)]);
  }

  get #headline(): boolean {
    return isHeadlineModel(this.config);
  }

  /** Positions per row of `count` rows (a window model's window), at most what the buffers hold. */
  #rowSteps(inputs: Int32Array, count: number): number {
    const steps = inputs.length / count;
    if (steps > this.#model.maxSteps) {
      throw new Error(
        `rows of ${steps} positions; this backend's buffers hold ${this.#model.maxSteps} ` +
          "(GpuBackendOptions.maxSteps)",
      );
    }
    return steps;
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
    const S = this.#rowSteps(inputs, count);
    const perRow = this.#headline ? S : 1;
    const lengths = this.#headline ? rowLengths(targets, count) : new Int32Array(count).fill(S);
    model.dropout?.set({ rate: 0, seed: 0 }, 1); // evaluation keeps everything
    let total = 0;
    let scored = 0;
    let done = 0;
    while (done < count) {
      // Up to LOSS_SLOTS chunks queued, then one readback of their mean losses.
      const chunks = Math.min(LOSS_SLOTS, Math.ceil((count - done) / maxB));
      const weights: number[] = [];
      for (let c = 0; c < chunks; c++) {
        const first = done + c * maxB;
        const size = Math.min(maxB, count - first);
        const chunk = lengths.subarray(first, first + size);
        this.#loadEval(inputs, first, size, S, targets);
        model.setStep(0, size, c, Math.max(...chunk), chunk);
        // The last chunk's submit carries the readback of all their losses.
        if (c + 1 < chunks) this.#gpu.submit(model.active(model.evalKernels(true)));
        // Each chunk's loss is the mean over its targets: weigh it back by them.
        weights.push(perRow === 1 ? size : chunk.reduce((a, b) => a + b, 0));
      }
      const [losses] = await this.#submitAndRead(model.active(model.evalKernels(true)), [
        subSlice(whole(model.evalLosses), 0, chunks),
      ]);
      weights.forEach((w, c) => (total += losses[c] * w, scored += w));
      done = Math.min(count, done + chunks * maxB);
    }
    this.#checkDevice();
    return total / scored;
  }

  async logits(inputs: Int32Array, count: number): Promise<Float32Array> {
    const model = this.#model;
    const V = this.config.vocab;
    const S = this.#rowSteps(inputs, count);
    const perRow = this.#headline ? S : 1;
    model.dropout?.set({ rate: 0, seed: 0 }, 1); // evaluation keeps everything
    const out = new Float32Array(count * perRow * V);
    for (let first = 0; first < count; first += model.maxBatch) {
      const size = Math.min(model.maxBatch, count - first);
      this.#loadEval(inputs, first, size, S, null);
      model.setStep(0, size, 0, S, new Array(size).fill(S)); // every position: logits of each
      // Packed with S as the stride: row b's position t is logits row b * S + t, as [count, S, V] holds it.
      const [rows] = await this.#submitAndRead(model.active(model.evalKernels(false)), [
        model.logits(size * perRow),
      ]);
      out.set(rows, first * perRow * V);
    }
    this.#checkDevice();
    return out;
  }

  async advance(
    state: Float32Array | null,
    ids: Int32Array,
    count: number,
  ): Promise<{ logits: Float32Array; state: Float32Array }> {
    if (!this.#headline) throw new Error("advance: a window model carries no state");
    const model = this.#model;
    const { vocab: V, layers: L, hidden: H } = this.config;
    const S = stateSize(this.config);
    const logits = new Float32Array(count * V);
    const next = new Float32Array(count * S);
    for (let first = 0; first < count; first += model.maxBatch) {
      const size = Math.min(model.maxBatch, count - first);
      // The rows' carried h and c, layer by layer into h0 and c0 ([B, H] each); zeros at a headline's start.
      for (let k = 0; k < L; k++) {
        const h = new Float32Array(size * H);
        const c = new Float32Array(size * H);
        if (state) {
          for (let r = 0; r < size; r++) {
            const at = (first + r) * S + k * 2 * H;
            h.set(state.subarray(at, at + H), r * H);
            c.set(state.subarray(at + H, at + 2 * H), r * H);
          }
        }
        const { h0, c0 } = model.state(k);
        this.#gpu.write(h0.buffer, h0.offset, h);
        this.#gpu.write(c0.buffer, c0.offset, c);
      }
      this.#loadEval(ids, first, size, 1, null);
      model.setStep(0, size, 0, 1, new Array(size).fill(1));
      // One submit and one readback: the logits, then every layer's new h and c (position 0 of each row).
      const slices = [model.logits(size)];
      for (let k = 0; k < L; k++) {
        const { h, c } = model.state(k);
        slices.push(subSlice(h, 0, size * H), subSlice(c, 0, size * H));
      }
      const [rowsLogits, ...states] = await this.#submitAndRead(model.active(model.advanceKernels()), slices);
      logits.set(rowsLogits, first * V);
      for (let k = 0; k < L; k++) {
        for (let r = 0; r < size; r++) {
          const at = (first + r) * S + k * 2 * H;
          next.set(states[2 * k].subarray(r * H, (r + 1) * H), at);
          next.set(states[2 * k + 1].subarray(r * H, (r + 1) * H), at + H);
        }
      }
    }
    this.#checkDevice();
    return { logits, state: next };
  }

  /**
   * Writes rows first .. first+size of `steps` positions (and their targets) into the evaluation buffers,
   * each row at the buffers' stride (the most positions they hold).
   */
  #loadEval(
    inputs: Int32Array,
    first: number,
    size: number,
    steps: number,
    targets: Int32Array | null,
  ): void {
    const model = this.#model;
    const stride = model.maxSteps;
    const perRow = this.#headline ? steps : 1;
    const ids = new Int32Array(size * stride);
    const tg = new Int32Array(size * (this.#headline ? stride : 1)).fill(-1);
    for (let r = 0; r < size; r++) {
      ids.set(inputs.subarray((first + r) * steps, (first + r + 1) * steps), r * stride);
      if (targets) {
        tg.set(
          targets.subarray((first + r) * perRow, (first + r + 1) * perRow),
          r * (this.#headline ? stride : 1),
        );
      }
    }
    this.#gpu.write(model.evalInputs, 0, ids);
    if (targets) this.#gpu.write(model.evalTargets, 0, tg);
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
