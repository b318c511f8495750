/**
 * The model on WebGPU, mirroring src/cpu/model.ts: its buffers and its kernel graph in the notebook's op
 * order (embedding -> LSTM layers -> fc1 + ReLU -> fc2 -> softmax cross-entropy; backward in reverse; Adam).
 *
 * Every parameter, gradient and Adam moment lives in one flat buffer each (paramLayout order), so Adam is one
 * kernel and checkpoints copy straight in and out. Activations are sized for the largest batch; kernels read
 * the step's batch range from a StepParams uniform, so one graph serves every step and every short batch.
 * Training kernels bind the training data, so they are built per data set; evaluation has its own small
 * input buffers and uniform, written before each chunk.
 */
import { headWidth, type ModelConfig } from "../model/config.ts";
import { lstmInputSize, type ParamLayout, paramLayout } from "../model/layout.ts";
import { type BufferSlice, type Gpu, type Kernel, whole } from "./device.ts";
import { createStepParams, type StepParams } from "./step_params.ts";
import { createEmbedding } from "./embedding.ts";
import { createLstmLayer, type LstmVariant } from "./lstm.ts";
import { createLinearBackward, createLinearForward } from "./linear.ts";
import { createSoftmaxXent } from "./softmax_xent.ts";
import { type AdamKernels, createAdam } from "./adam.ts";

/** Step losses kept on the GPU between readbacks. */
export const LOSS_SLOTS = 4096;

/** The training pairs on the GPU: ids as uploaded, and the epoch's order of pair indices. */
export interface TrainingData {
  inputs: GPUBuffer;
  targets: GPUBuffer;
  order: GPUBuffer;
}

/** The kernels of one optimizer step on one training data set, and the buffers their builders made. */
export interface TrainingKernels {
  /** Forward, loss and backward: one submit together with adam.stepKernels(hyper). */
  step: Kernel[];
  adam: AdamKernels;
  /** Uniforms and scratch the builders made; destroyed with these kernels. */
  buffers: GPUBuffer[];
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
  a1: BufferSlice; // relu(fc1) [B,M]
  dz1: BufferSlice;
  logits: BufferSlice; // [B,V]
  dLogits: BufferSlice;
  rowLoss: BufferSlice;
}

export class GpuModel {
  readonly config: ModelConfig;
  readonly layout: ParamLayout;
  /** Largest batch every activation is sized for. */
  readonly maxBatch: number;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  /** The training step's range and loss slot. */
  readonly step: StepParams;
  /** Mean loss of each queued training step, by slot. */
  readonly losses: GPUBuffer;
  /** An evaluation chunk's range and loss slot; its windows are written to evalInputs/evalTargets. */
  readonly evalStep: StepParams;
  readonly evalLosses: GPUBuffer;
  readonly evalInputs: GPUBuffer;
  readonly evalTargets: GPUBuffer;
  readonly #gpu: Gpu;
  readonly #evalOrder: GPUBuffer;
  readonly #act: Activations;
  readonly #lstmVariant: LstmVariant | undefined;
  /** LSTM layers + fc1 + fc2: shared by training and evaluation. */
  #forwardTail: Kernel[] = [];
  /** Per layer, top layer first. */
  #lstmBackward: Kernel[][] = [];
  #evalEmbed: Kernel[] = [];
  #evalLoss: Kernel[] = [];

  /**
   * Allocates every buffer; `build` then makes the kernels that do not depend on the training data. The LSTM
   * layers run `lstm` (src/gpu/lstm.ts), by default the variant this device's limits choose.
   */
  constructor(gpu: Gpu, cfg: ModelConfig, maxBatch: number, lstm?: LstmVariant) {
    this.#gpu = gpu;
    this.#lstmVariant = lstm;
    this.config = cfg;
    this.layout = paramLayout(cfg);
    this.maxBatch = maxBatch;
    const { vocab: V, embed: E, hidden: H, layers: L, window: T } = cfg;
    const B = maxBatch;
    const bytes = this.layout.total * 4;
    this.params = gpu.buffer("params", bytes);
    this.grads = gpu.buffer("grads", bytes);
    this.m = gpu.buffer("adam m", bytes);
    this.v = gpu.buffer("adam v", bytes);
    this.losses = gpu.buffer("losses", LOSS_SLOTS * 4);
    this.evalLosses = gpu.buffer("eval losses", LOSS_SLOTS * 4);
    // Every window holds T positions: both uniforms' `steps` stay T (set's default).
    this.step = createStepParams(gpu, "train step", T);
    this.evalStep = createStepParams(gpu, "eval step", T);
    this.evalInputs = gpu.buffer("eval inputs", B * T * 4);
    this.evalTargets = gpu.buffer("eval targets", B * 4);
    this.#evalOrder = gpu.buffer("eval order", B * 4, Int32Array.from({ length: B }, (_, i) => i));
    const buf = (label: string, floats: number) => whole(gpu.buffer(label, floats * 4));
    this.#act = {
      x: buf("x", B * T * E),
      dx: buf("dx", B * T * E),
      h: [],
      c: [],
      gates: [],
      dh: [],
      dPre: buf("dPre", B * T * 4 * H),
      a1: buf("a1", B * headWidth(cfg)),
      dz1: buf("dz1", B * headWidth(cfg)),
      logits: buf("logits", B * V),
      dLogits: buf("dLogits", B * V),
      rowLoss: buf("row loss", B),
    };
    for (let k = 0; k < L; k++) {
      this.#act.h.push(buf(`h${k}`, B * T * H));
      this.#act.c.push(buf(`c${k}`, B * T * H));
      this.#act.gates.push(buf(`gates${k}`, B * T * 4 * H));
      this.#act.dh.push(buf(`dh${k}`, B * T * H));
    }
  }

  /** The kernels that do not depend on the training data: the forward tail, LSTM backward, evaluation. */
  async build(): Promise<void> {
    const gpu = this.#gpu;
    const { vocab: V, embed: E, hidden: H, layers: L, window: T } = this.config;
    const B = this.maxBatch;
    const M = headWidth(this.config);
    const act = this.#act;
    const tail: Kernel[] = [];
    for (let k = 0; k < L; k++) {
      const layer = await this.#lstmLayer(k);
      tail.push(...layer.forward);
      this.#lstmBackward.unshift(layer.backward);
    }
    tail.push(
      ...await createLinearForward(gpu, { rows: B, inF: T * H, outF: M, relu: true }, {
        x: act.h[L - 1],
        w: this.param("fc1.weight"),
        b: this.param("fc1.bias"),
        y: act.a1,
      }, "fc1"),
      ...await createLinearForward(gpu, { rows: B, inF: M, outF: V, relu: false }, {
        x: act.a1,
        w: this.param("fc2.weight"),
        b: this.param("fc2.bias"),
        y: act.logits,
      }, "fc2"),
    );
    this.#forwardTail = tail;

    const evalEmbedding = await createEmbedding(gpu, { V, E, T, maxB: B }, {
      step: this.evalStep.buffer,
      inputs: whole(this.evalInputs),
      order: whole(this.#evalOrder),
      table: this.param("embed.weight"),
      x: act.x,
      dx: act.dx,
      dTable: this.grad("embed.weight"),
    }, "eval embedding");
    this.#evalEmbed = evalEmbedding.forward;
    this.#evalLoss = await createSoftmaxXent(gpu, { maxB: B, V }, {
      step: this.evalStep.buffer,
      logits: act.logits,
      targets: whole(this.evalTargets),
      order: whole(this.#evalOrder),
      rowLoss: act.rowLoss,
      losses: whole(this.evalLosses),
    }, "eval xent");
  }

  /**
   * Layer k's kernels. They read the batch's positions from the training step's uniform, evaluation included:
   * a window model's batches all have T, which that uniform always holds.
   */
  #lstmLayer(k: number) {
    const { hidden: H, window: T } = this.config;
    const act = this.#act;
    return createLstmLayer(
      this.#gpu,
      { B: this.maxBatch, T, In: lstmInputSize(this.config, k), H },
      {
        step: this.step.buffer,
        x: k === 0 ? act.x : act.h[k - 1],
        wih: this.param(`lstm.weight_ih_l${k}`),
        whh: this.param(`lstm.weight_hh_l${k}`),
        bih: this.param(`lstm.bias_ih_l${k}`),
        bhh: this.param(`lstm.bias_hh_l${k}`),
        h: act.h[k],
        c: act.c[k],
        gates: act.gates[k],
        dh: act.dh[k],
        dx: k === 0 ? act.dx : act.dh[k - 1],
        dPre: act.dPre,
        dWih: this.grad(`lstm.weight_ih_l${k}`),
        dWhh: this.grad(`lstm.weight_hh_l${k}`),
        dbih: this.grad(`lstm.bias_ih_l${k}`),
        dbhh: this.grad(`lstm.bias_hh_l${k}`),
      },
      `lstm l${k}`,
      this.#lstmVariant,
    );
  }

  /**
   * One optimizer step's kernels on `data`: forward, loss into losses[slot], backward (every gradient
   * overwritten), then Adam. Adam's hyperparameters are not built in: AdamKernels.setStep writes each step's.
   */
  async buildTraining(data: TrainingData): Promise<TrainingKernels> {
    const { result, buffers } = await this.#gpu.collect(() => this.#makeTraining(data));
    return { ...result, buffers };
  }

  async #makeTraining(data: TrainingData): Promise<Omit<TrainingKernels, "buffers">> {
    const gpu = this.#gpu;
    const { vocab: V, embed: E, hidden: H, layers: L, window: T } = this.config;
    const B = this.maxBatch;
    const M = headWidth(this.config);
    const act = this.#act;
    const embedding = await createEmbedding(gpu, { V, E, T, maxB: B }, {
      step: this.step.buffer,
      inputs: whole(data.inputs),
      order: whole(data.order),
      table: this.param("embed.weight"),
      x: act.x,
      dx: act.dx,
      dTable: this.grad("embed.weight"),
    }, "embedding");
    const xent = await createSoftmaxXent(gpu, { maxB: B, V }, {
      step: this.step.buffer,
      logits: act.logits,
      targets: whole(data.targets),
      order: whole(data.order),
      rowLoss: act.rowLoss,
      losses: whole(this.losses),
      dLogits: act.dLogits,
    }, "xent");
    const backward: Kernel[] = [
      ...await createLinearBackward(gpu, { rows: B, inF: M, outF: V, reluMask: true }, {
        x: act.a1,
        w: this.param("fc2.weight"),
        dy: act.dLogits,
        dx: act.dz1,
        dw: this.grad("fc2.weight"),
        db: this.grad("fc2.bias"),
      }, "fc2"),
      ...await createLinearBackward(gpu, { rows: B, inF: T * H, outF: M }, {
        x: act.h[L - 1],
        w: this.param("fc1.weight"),
        dy: act.dz1,
        dx: act.dh[L - 1],
        dw: this.grad("fc1.weight"),
        db: this.grad("fc1.bias"),
      }, "fc1"),
    ];
    for (const layer of this.#lstmBackward) backward.push(...layer); // top layer first
    backward.push(...embedding.backward);
    const adam = await createAdam(
      gpu,
      {
        params: this.flat(this.params),
        grads: this.flat(this.grads),
        m: this.flat(this.m),
        v: this.flat(this.v),
      },
      this.layout.total,
    );
    return { step: [...embedding.forward, ...this.#forwardTail, ...xent, ...backward], adam };
  }

  /** The forward pass of an evaluation chunk (windows in evalInputs), with its mean loss when `loss`. */
  evalKernels(loss: boolean): Kernel[] {
    return [...this.#evalEmbed, ...this.#forwardTail, ...(loss ? this.#evalLoss : [])];
  }

  /** The logits of the first `rows` windows of the last forward pass, [rows, V]. */
  logits(rows: number): BufferSlice {
    return { ...this.#act.logits, size: rows * this.config.vocab * 4 };
  }

  /** All of a flat buffer (params, grads, m or v) that holds the layout. */
  flat(b: GPUBuffer): BufferSlice {
    return { buffer: b, offset: 0, size: this.layout.total * 4 };
  }

  param(name: string): BufferSlice {
    const t = this.layout.get(name);
    return { buffer: this.params, offset: t.offset * 4, size: t.size * 4 };
  }

  grad(name: string): BufferSlice {
    const t = this.layout.get(name);
    return { buffer: this.grads, offset: t.offset * 4, size: t.size * 4 };
  }
}
