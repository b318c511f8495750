/**
 * The model on WebGPU: every parameter, gradient and Adam moment in one flat buffer each (paramLayout
 * order, so Adam is one kernel and checkpoints copy straight in and out), the training data uploaded once,
 * and a whole optimizer step (forward, loss, backward, Adam) encoded as one compute pass and one submit
 * with no readback. The op order mirrors src/cpu/model.ts.
 */
import type { AdamState, Backend } from "../model/backend.ts";
import { type ModelConfig, validateConfig } from "../model/config.ts";
import { lstmInputSize, type ParamLayout, paramLayout } from "../model/layout.ts";
import type { AdamHyper } from "../cpu/adam.ts";
import { type BufferSlice, type Gpu, type Kernel, subSlice, whole } from "./device.ts";
import { createStepParams, type StepParams } from "./step_params.ts";
import { createEmbedding } from "./embedding.ts";
import { createLstmLayer } from "./lstm.ts";
import { createLinearBackward, createLinearForward } from "./linear.ts";
import { createSoftmaxXent } from "./softmax_xent.ts";
import { type AdamKernels, createAdam } from "./adam.ts";
import { firstLine, UserError } from "../errors.ts";

/** Step losses kept on the GPU between readbacks. */
const LOSS_SLOTS = 4096;

/** How long a failed readback waits for device.lost before reporting the failure as it is. */
const LOST_WAIT_MS = 500;

export interface GpuBackendOptions {
  /** Largest batch a step (or an evaluation chunk) uses. */
  maxBatch: number;
}

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
  const { result: backend, buffers } = await gpu.collect(async () => {
    const b = new GpuBackend(gpu, cfg, opts.maxBatch);
    await b.build();
    return b;
  });
  backend.adopt(buffers);
  const oom = await gpu.device.popErrorScope();
  if (oom) {
    const asked = mib(gpu.allocatedBytes); // before destroy gives it back
    backend.destroy();
    throw new UserError(
      `out of GPU memory building the model (${asked} asked for ${layout.count} ` +
        `parameters, batch ${opts.maxBatch}): ${firstLine(oom.message)}`,
    );
  }
  return backend;
}

/** Activations and gradients of one batch, all [maxB, ...]. */
interface Activations {
  x: BufferSlice; // embedding output [B,T,E]
  dx: BufferSlice;
  h: BufferSlice[]; // per layer [B,T,H]; the last one is the flattened [B,T*H] input of fc1
  c: BufferSlice[];
  gates: BufferSlice[];
  dh: BufferSlice[]; // gradient w.r.t. each layer's output
  dPre: BufferSlice;
  a1: BufferSlice; // relu(fc1) [B,V]
  dz1: BufferSlice;
  logits: BufferSlice; // [B,V]
  dLogits: BufferSlice;
  rowLoss: BufferSlice;
}

class GpuBackend implements Backend {
  readonly name: string;
  readonly config: ModelConfig;
  readonly #gpu: Gpu;
  readonly #layout: ParamLayout;
  readonly #maxB: number;
  readonly #params: GPUBuffer;
  readonly #grads: GPUBuffer;
  readonly #m: GPUBuffer;
  readonly #v: GPUBuffer;
  readonly #losses: GPUBuffer;
  readonly #evalLosses: GPUBuffer;
  readonly #step: StepParams;
  readonly #evalStep: StepParams;
  readonly #evalInputs: GPUBuffer;
  readonly #evalTargets: GPUBuffer;
  readonly #evalOrder: GPUBuffer;
  #act!: Activations;
  #data: { inputs: GPUBuffer; targets: GPUBuffer; order: GPUBuffer; count: number } | null = null;
  #trainKernels: Kernel[] | null = null;
  #forwardTail: Kernel[] = []; // LSTM layers + fc1 + fc2: shared by training and evaluation
  #lstmBackward: Kernel[][] = []; // per layer, top layer first
  #evalEmbed: Kernel[] = [];
  #evalLoss: Kernel[] = [];
  #adam: AdamKernels | null = null;
  #adamStep = 0;
  #queued = 0;
  /** Buffers this backend destroys with itself; the training kernels' own are kept apart (rebuilt). */
  #owned = new Set<GPUBuffer>();
  #trainOwned: GPUBuffer[] = [];

  constructor(gpu: Gpu, cfg: ModelConfig, maxB: number) {
    this.#gpu = gpu;
    this.config = cfg;
    this.#layout = paramLayout(cfg);
    this.#maxB = maxB;
    this.name = `webgpu (${gpu.adapter.description})`;
    const bytes = this.#layout.total * 4;
    this.#params = gpu.buffer("params", bytes);
    this.#grads = gpu.buffer("grads", bytes);
    this.#m = gpu.buffer("adam m", bytes);
    this.#v = gpu.buffer("adam v", bytes);
    this.#losses = gpu.buffer("losses", LOSS_SLOTS * 4);
    this.#evalLosses = gpu.buffer("eval losses", LOSS_SLOTS * 4);
    this.#step = createStepParams(gpu, "train step");
    this.#evalStep = createStepParams(gpu, "eval step");
    this.#evalInputs = gpu.buffer("eval inputs", maxB * cfg.window * 4);
    this.#evalTargets = gpu.buffer("eval targets", maxB * 4);
    this.#evalOrder = gpu.buffer("eval order", maxB * 4, Int32Array.from({ length: maxB }, (_, i) => i));
  }

  /** Activation buffers and the parts of the graph that do not depend on the training data. */
  async build(): Promise<void> {
    const gpu = this.#gpu;
    const { vocab: V, embed: E, hidden: H, layers: L, window: T } = this.config;
    const B = this.#maxB;
    const buf = (label: string, floats: number) => whole(gpu.buffer(label, floats * 4));
    const act: Activations = {
      x: buf("x", B * T * E),
      dx: buf("dx", B * T * E),
      h: [],
      c: [],
      gates: [],
      dh: [],
      dPre: buf("dPre", B * T * 4 * H),
      a1: buf("a1", B * V),
      dz1: buf("dz1", B * V),
      logits: buf("logits", B * V),
      dLogits: buf("dLogits", B * V),
      rowLoss: buf("row loss", B),
    };
    for (let k = 0; k < L; k++) {
      act.h.push(buf(`h${k}`, B * T * H));
      act.c.push(buf(`c${k}`, B * T * H));
      act.gates.push(buf(`gates${k}`, B * T * 4 * H));
      act.dh.push(buf(`dh${k}`, B * T * H));
    }
    this.#act = act;

    const tail: Kernel[] = [];
    for (let k = 0; k < L; k++) {
      const layer = await this.#lstmLayer(k);
      tail.push(...layer.forward);
      this.#lstmBackward.unshift(layer.backward);
    }
    tail.push(
      ...await createLinearForward(gpu, { rows: B, inF: T * H, outF: V, relu: true }, {
        x: act.h[L - 1],
        w: this.#param("fc1.weight"),
        b: this.#param("fc1.bias"),
        y: act.a1,
      }, "fc1"),
      ...await createLinearForward(gpu, { rows: B, inF: V, outF: V, relu: false }, {
        x: act.a1,
        w: this.#param("fc2.weight"),
        b: this.#param("fc2.bias"),
        y: act.logits,
      }, "fc2"),
    );
    this.#forwardTail = tail;

    const evalEmbedding = await createEmbedding(gpu, { V, E, T, maxB: B }, {
      step: this.#evalStep.buffer,
      inputs: whole(this.#evalInputs),
      order: whole(this.#evalOrder),
      table: this.#param("embed.weight"),
      x: act.x,
      dx: act.dx,
      dTable: this.#grad("embed.weight"),
    }, "eval embedding");
    this.#evalEmbed = evalEmbedding.forward;
    this.#evalLoss = await createSoftmaxXent(gpu, { maxB: B, V }, {
      step: this.#evalStep.buffer,
      logits: act.logits,
      targets: whole(this.#evalTargets),
      order: whole(this.#evalOrder),
      rowLoss: act.rowLoss,
      losses: whole(this.#evalLosses),
    }, "eval xent");
  }

  #lstmLayer(k: number) {
    const { hidden: H, window: T } = this.config;
    const act = this.#act;
    return createLstmLayer(this.#gpu, { B: this.#maxB, T, In: lstmInputSize(this.config, k), H }, {
      x: k === 0 ? act.x : act.h[k - 1],
      wih: this.#param(`lstm.weight_ih_l${k}`),
      whh: this.#param(`lstm.weight_hh_l${k}`),
      bih: this.#param(`lstm.bias_ih_l${k}`),
      bhh: this.#param(`lstm.bias_hh_l${k}`),
      h: act.h[k],
      c: act.c[k],
      gates: act.gates[k],
      dh: act.dh[k],
      dx: k === 0 ? act.dx : act.dh[k - 1],
      dPre: act.dPre,
      dWih: this.#grad(`lstm.weight_ih_l${k}`),
      dWhh: this.#grad(`lstm.weight_hh_l${k}`),
      dbih: this.#grad(`lstm.bias_ih_l${k}`),
      dbhh: this.#grad(`lstm.bias_hh_l${k}`),
    }, `lstm l${k}`);
  }

  /**
   * The training step's kernels, built when the data (and so the data buffers) exist, and again when the
   * data changes; the previous build's own buffers go with it. Adam's hyperparameters are not built in: each
   * step writes its own (so a new learning rate, betas, eps or weight decay apply from the next step).
   */
  async #buildTraining(): Promise<void> {
    const { buffers } = await this.#gpu.collect(() => this.#makeTraining());
    for (const b of this.#trainOwned) this.#gpu.destroy(b);
    this.#trainOwned = buffers;
  }

  async #makeTraining(): Promise<void> {
    const gpu = this.#gpu;
    const { vocab: V, embed: E, hidden: H, layers: L, window: T } = this.config;
    const B = this.#maxB;
    const act = this.#act;
    const data = this.#data!;
    const embedding = await createEmbedding(gpu, { V, E, T, maxB: B }, {
      step: this.#step.buffer,
      inputs: whole(data.inputs),
      order: whole(data.order),
      table: this.#param("embed.weight"),
      x: act.x,
      dx: act.dx,
      dTable: this.#grad("embed.weight"),
    }, "embedding");
    const xent = await createSoftmaxXent(gpu, { maxB: B, V }, {
      step: this.#step.buffer,
      logits: act.logits,
      targets: whole(data.targets),
      order: whole(data.order),
      rowLoss: act.rowLoss,
      losses: whole(this.#losses),
      dLogits: act.dLogits,
    }, "xent");
    const backward: Kernel[] = [
      ...await createLinearBackward(gpu, { rows: B, inF: V, outF: V, reluMask: true }, {
        x: act.a1,
        w: this.#param("fc2.weight"),
        dy: act.dLogits,
        dx: act.dz1,
        dw: this.#grad("fc2.weight"),
        db: this.#grad("fc2.bias"),
      }, "fc2"),
      ...await createLinearBackward(gpu, { rows: B, inF: T * H, outF: V }, {
        x: act.h[L - 1],
        w: this.#param("fc1.weight"),
        dy: act.dz1,
        dx: act.dh[L - 1],
        dw: this.#grad("fc1.weight"),
        db: this.#grad("fc1.bias"),
      }, "fc1"),
    ];
    for (const layer of this.#lstmBackward) backward.push(...layer); // top layer first
    backward.push(...embedding.backward);
    await this.#buildAdam();
    this.#trainKernels = [...embedding.forward, ...this.#forwardTail, ...xent, ...backward];
  }

  async #buildAdam(): Promise<void> {
    const all = (b: GPUBuffer) => ({ buffer: b, offset: 0, size: this.#layout.total * 4 });
    const adam = await createAdam(
      this.#gpu,
      {
        params: all(this.#params),
        grads: all(this.#grads),
        m: all(this.#m),
        v: all(this.#v),
      },
      this.#layout.total,
    );
    this.#adam = adam;
  }

  #param(name: string): BufferSlice {
    const t = this.#layout.get(name);
    return { buffer: this.#params, offset: t.offset * 4, size: t.size * 4 };
  }

  #grad(name: string): BufferSlice {
    const t = this.#layout.get(name);
    return { buffer: this.#grads, offset: t.offset * 4, size: t.size * 4 };
  }

  #own(b: GPUBuffer): GPUBuffer {
    this.#owned.add(b);
    return b;
  }

  adopt(buffers: GPUBuffer[]): void {
    for (const b of buffers) this.#owned.add(b);
  }

  /** Throws if the device was lost or an uncaptured GPU error (a failed submit) made results meaningless. */
  #checkDevice(): void {
    const lost = this.#gpu.lost;
    if (lost) throw new Error(`the GPU device was lost (${lost.reason}): ${lost.message || "no details"}`);
    const error = this.#gpu.error;
    if (error) throw new Error(`GPU error: ${error}`);
  }

  /**
   * gpu.read, except that a failure on a lost device says so: Deno rejects mapAsync on a destroyed device
   * with a bare "validation error occurred" a task before device.lost settles, so wait (briefly) for it.
   */
  async #read(slice: BufferSlice): Promise<Float32Array> {
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

  #checkFlat(what: string, flat: Float32Array): void {
    if (flat.length !== this.#layout.total) {
      throw new Error(
        `${what}: expected ${this.#layout.total} floats (paramLayout total), got ${flat.length}`,
      );
    }
  }

  async setParams(flat: Float32Array): Promise<void> {
    this.#checkFlat("setParams", flat);
    await this.#drainPending();
    this.#gpu.write(this.#params, 0, flat);
  }

  async getParams(): Promise<Float32Array> {
    await this.#drainPending();
    this.#checkDevice();
    return await this.#read(this.#all(this.#params));
  }

  #all(b: GPUBuffer): BufferSlice {
    return { buffer: b, offset: 0, size: this.#layout.total * 4 };
  }

  async setAdamState(state: AdamState): Promise<void> {
    this.#checkFlat("setAdamState m", state.m);
    this.#checkFlat("setAdamState v", state.v);
    await this.#drainPending();
    this.#gpu.write(this.#m, 0, state.m);
    this.#gpu.write(this.#v, 0, state.v);
    this.#adamStep = state.adamStep;
  }

  async getAdamState(): Promise<AdamState> {
    await this.#drainPending();
    this.#checkDevice();
    return {
      m: await this.#read(this.#all(this.#m)),
      v: await this.#read(this.#all(this.#v)),
      adamStep: this.#adamStep,
    };
  }

  async setTrainData(inputs: Int32Array, targets: Int32Array, count: number): Promise<void> {
    const { window: T, vocab: V } = this.config;
    if (count < 1 || inputs.length !== count * T || targets.length !== count) {
      throw new Error(`setTrainData: ${count} pairs need ${count * T} inputs and ${count} targets`);
    }
    for (const ids of [inputs, targets]) {
      for (const id of ids) {
        if (id < 0 || id >= V) throw new Error(`setTrainData: word id ${id} outside 0..${V - 1}`);
      }
    }
    // A pending build binds the current data buffers and collects every buffer made while it runs: let it
    // finish (and its queued steps run) before the old buffers go and the new ones are made.
    await this.#drainPending();
    if (this.#data) {
      for (const b of [this.#data.inputs, this.#data.targets, this.#data.order]) this.#release(b);
    }
    const gpu = this.#gpu;
    this.#data = {
      inputs: this.#own(gpu.buffer("train inputs", inputs.byteLength, inputs)),
      targets: this.#own(gpu.buffer("train targets", targets.byteLength, targets)),
      order: this.#own(gpu.buffer("train order", count * 4, Int32Array.from({ length: count }, (_, i) => i))),
      count,
    };
    this.#trainKernels = null; // bound to the old data buffers
  }

  async setOrder(order: Int32Array): Promise<void> {
    if (!this.#data) throw new Error("setOrder before setTrainData");
    if (order.length !== this.#data.count) {
      throw new Error(`setOrder: ${order.length} indices for ${this.#data.count} pairs`);
    }
    await this.#drainPending();
    this.#gpu.write(this.#data.order, 0, order);
  }

  trainStep(start: number, size: number, hyper: AdamHyper): void {
    this.#checkDevice();
    if (!this.#data) throw new Error("trainStep before setTrainData");
    if (size < 1 || size > this.#maxB || start < 0 || start + size > this.#data.count) {
      throw new Error(
        `trainStep: range ${start}+${size} outside ${this.#data.count} pairs or batch ${this.#maxB}`,
      );
    }
    if (this.#queued >= LOSS_SLOTS) {
      throw new Error(`trainStep: more than ${LOSS_SLOTS} steps without takeLosses`);
    }
    if (!this.#pendingBuild && !this.#trainKernels) {
      // Pipeline compilation is asynchronous while trainStep is not: the first step (and any step after a
      // change of data) starts the build, and steps wait in order until it is done.
      this.#pendingBuild = this.#buildTraining();
    }
    if (this.#pendingBuild) this.#pendingSteps.push([start, size, { ...hyper }]);
    else this.#submitStep(start, size, hyper);
  }

  /** A training-kernel build in progress, and the steps (start, size, hyperparameters) waiting for it. */
  #pendingBuild: Promise<void> | null = null;
  #pendingSteps: Array<[number, number, AdamHyper]> = [];

  #submitStep(start: number, size: number, hyper: AdamHyper): void {
    const gpu = this.#gpu;
    this.#step.set(start, size, this.#queued++);
    this.#adam!.setStep(++this.#adamStep, hyper);
    const enc = gpu.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    gpu.encode(pass, this.#trainKernels!);
    gpu.encode(pass, this.#adam!.kernels);
    pass.end();
    gpu.device.queue.submit([enc.finish()]);
  }

  /** Runs steps that were queued while the training kernels were being built. */
  async #drainPending(): Promise<void> {
    if (!this.#pendingBuild) return;
    await this.#pendingBuild;
    this.#pendingBuild = null;
    const steps = this.#pendingSteps;
    this.#pendingSteps = [];
    for (const [start, size, hyper] of steps) this.#submitStep(start, size, hyper);
  }

  async takeLosses(): Promise<number[]> {
    await this.#drainPending();
    this.#checkDevice();
    const n = this.#queued;
    this.#queued = 0;
    if (n === 0) return [];
    const device = this.#gpu.device;
    device.pushErrorScope("validation");
    let losses: Float32Array;
    let err: GPUError | null;
    try {
      losses = await this.#read(subSlice(whole(this.#losses), 0, n));
    } finally {
      err = await device.popErrorScope();
    }
    if (err) throw new Error(`GPU validation error: ${firstLine(err.message)}`);
    this.#checkDevice();
    return Array.from(losses.subarray(0, n));
  }

  async evalLoss(inputs: Int32Array, targets: Int32Array, count: number): Promise<number> {
    await this.#drainPending();
    let total = 0;
    let done = 0;
    while (done < count) {
      const chunks = Math.min(LOSS_SLOTS, Math.ceil((count - done) / this.#maxB));
      const sizes: number[] = [];
      for (let c = 0; c < chunks; c++) {
        const first = done + c * this.#maxB;
        const size = Math.min(this.#maxB, count - first);
        this.#loadEval(inputs, first, size, targets);
        this.#evalStep.set(0, size, c);
        this.#submit([...this.#evalEmbed, ...this.#forwardTail, ...this.#evalLoss]);
        sizes.push(size);
      }
      const losses = await this.#read(subSlice(whole(this.#evalLosses), 0, chunks));
      sizes.forEach((size, c) => total += losses[c] * size);
      done += sizes.reduce((a, b) => a + b, 0);
    }
    this.#checkDevice();
    return total / count;
  }

  async logits(inputs: Int32Array, count: number): Promise<Float32Array> {
    await this.#drainPending();
    const V = this.config.vocab;
    const out = new Float32Array(count * V);
    for (let first = 0; first < count; first += this.#maxB) {
      const size = Math.min(this.#maxB, count - first);
      this.#loadEval(inputs, first, size, null);
      this.#evalStep.set(0, size, 0);
      this.#submit([...this.#evalEmbed, ...this.#forwardTail]);
      out.set(await this.#read(subSlice(this.#act.logits, 0, size * V)), first * V);
    }
    this.#checkDevice();
    return out;
  }

  #loadEval(inputs: Int32Array, first: number, size: number, targets: Int32Array | null): void {
    const { window: T, vocab: V } = this.config;
    const ids = inputs.subarray(first * T, (first + size) * T);
    const wanted = targets?.subarray(first, first + size);
    for (const words of wanted ? [ids, wanted] : [ids]) {
      for (const id of words) if (id < 0 || id >= V) throw new Error(`word id ${id} outside 0..${V - 1}`);
    }
    this.#gpu.write(this.#evalInputs, 0, ids);
    if (wanted) this.#gpu.write(this.#evalTargets, 0, wanted);
  }

  #submit(kernels: Kernel[]): void {
    const enc = this.#gpu.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    this.#gpu.encode(pass, kernels);
    pass.end();
    this.#gpu.device.queue.submit([enc.finish()]);
  }

  memoryBytes(): number {
    return this.#gpu.allocatedBytes;
  }

  #release(b: GPUBuffer): void {
    this.#owned.delete(b);
    this.#gpu.destroy(b);
  }

  destroy(): void {
    for (const b of [...this.#owned, ...this.#trainOwned]) this.#gpu.destroy(b);
    this.#owned.clear();
    this.#trainOwned = [];
  }
}
