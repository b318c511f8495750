/**
 * The model on WebGPU, mirroring src/cpu/model.ts: its buffers and its kernel graph in the same op order
 * (embedding -> LSTM layers -> fc1 + ReLU -> fc2 -> softmax cross-entropy, with training's dropout passes at
 * PyTorch's places; backward in reverse; Adam).
 *
 * Every parameter, gradient and Adam moment lives in one flat buffer each (paramLayout order), so Adam is one
 * kernel and checkpoints copy straight in and out. Activations are sized for the largest batch and the most
 * positions a row holds (a window model's window, a headline model's longest row); one StepParams uniform
 * says which rows a step (or an evaluation chunk) uses, and how many positions (Tb), which every kernel reads
 * at run time: activations are packed with Tb as the row stride, the LSTM loops over Tb, and a headline
 * model's head and LSTM GEMMs run over the positions with a target only, packed into consecutive rows
 * (`packing`, written with each step: src/gpu/packing.ts). So one graph serves every step, every short batch
 * and every headline batch's length. Training kernels bind the training data, so they are built per data set;
 * evaluation has its own input buffers. A headline model also has `advance`'s kernels: one position from a
 * carried state (h0, c0).
 */
import { headWidth, isHeadlineModel, type ModelConfig } from "../model/config.ts";
import { dropoutSite } from "../model/dropout.ts";
import { lstmInputSize, type ParamLayout, paramLayout } from "../model/layout.ts";
import { activeKernels, type BufferSlice, type Gpu, type Kernel, whole } from "./device.ts";
import { createDropout, createDropoutParams, type DropoutParams } from "./dropout.ts";
import { createStepParams, type StepParams } from "./step_params.ts";
import { createPacking, createRowsPack, type Packing } from "./packing.ts";
import { createEmbedding } from "./embedding.ts";
import { createLstmForward, createLstmLayer, lstmPlan, type LstmVariant } from "./lstm.ts";
import { createLinearBackward, createLinearForward, type LinearShape } from "./linear.ts";
import { createSoftmaxXent } from "./softmax_xent.ts";
import { type AdamKernels, createAdam } from "./adam.ts";

/** Step losses kept on the GPU between readbacks. */
export const LOSS_SLOTS = 4096;

/** The training rows on the GPU: ids and targets as uploaded, and the epoch's order of row indices. */
export interface TrainingData {
  inputs: GPUBuffer;
  targets: GPUBuffer;
  order: GPUBuffer;
  /** Positions per uploaded row: the window, or the longest headline row's (the data's stride). */
  steps: number;
}

/** The kernels of one optimizer step on one training data set, and the buffers their builders made. */
export interface TrainingKernels {
  /** Forward, loss and backward: one submit together with adam.stepKernels(hyper). */
  step: Kernel[];
  adam: AdamKernels;
  /** Uniforms and scratch the builders made; destroyed with these kernels. */
  buffers: GPUBuffer[];
}

/** How the model is built beyond its config. */
export interface GpuModelOptions {
  /** Largest batch (rows) every activation is sized for. */
  maxBatch: number;
  /** A headline model's most positions per row (the window model's is its window). */
  maxSteps: number;
  /** Build training's dropout passes (a step then drops at its rate, 0 keeping everything). */
  dropout: boolean;
  /** Force an LSTM variant (tests); by default the one this device's limits choose. */
  lstm?: LstmVariant;
}

/** Activations and gradients of one batch; each sized for maxB rows of T positions. */
interface Activations {
  x: BufferSlice; // embedding output [B,T,E] (dropped in place)
  dx: BufferSlice;
  /** Per layer: its input as it reads it (layer 0: x; k > 0: h[k-1], or its dropped copy). */
  input: BufferSlice[];
  h: BufferSlice[]; // per layer [B,T,H]
  c: BufferSlice[];
  gates: BufferSlice[];
  dh: BufferSlice[]; // gradient w.r.t. each layer's output
  dPre: BufferSlice;
  /** fc1's input (fc2's, with a direct head): the top layer's h, or its dropped copy; [rows, window*H]. */
  headIn: BufferSlice;
  /** A headline model's headIn at the positions with a target, packed; [B*T, H] (else headIn itself). */
  headPacked: BufferSlice;
  /** The gradient reaching headPacked, packed (a headline model's; else dh of the top layer). */
  dHeadPacked: BufferSlice;
  a1: BufferSlice; // relu(fc1) [rows, M]
  fc2In: BufferSlice; // a1, or its dropped copy (a direct head: headIn)
  dz1: BufferSlice;
  logits: BufferSlice; // [rows, V]
  dLogits: BufferSlice;
  rowLoss: BufferSlice;
  /** advance's carried state in: per layer h0, c0 [B,H]. */
  h0: BufferSlice[];
  c0: BufferSlice[];
}

export class GpuModel {
  readonly config: ModelConfig;
  readonly layout: ParamLayout;
  /** Largest batch every activation is sized for. */
  readonly maxBatch: number;
  /** Most positions per row. */
  readonly maxSteps: number;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  /** The step's (or an evaluation chunk's) rows, loss slot and positions: every kernel reads it. */
  readonly step: StepParams;
  /** The step's dropout (seed, step, rate), when built with dropout. */
  readonly dropout: DropoutParams | null;
  /** Mean loss of each queued training step, by slot. */
  readonly losses: GPUBuffer;
  /** Mean loss of each evaluation chunk, by slot; its rows are written to evalInputs/evalTargets. */
  readonly evalLosses: GPUBuffer;
  readonly evalInputs: GPUBuffer;
  readonly evalTargets: GPUBuffer;
  readonly #gpu: Gpu;
  readonly #options: GpuModelOptions;
  readonly #headline: boolean;
  /**
   * A headline model's packing of the step's positions with a target, which its head and LSTM GEMMs run
   * over (null for a window model: every row has its target).
   */
  readonly packing: Packing | null;
  readonly #evalOrder: GPUBuffer;
  readonly #act: Activations;
  /**
   * Everything the forward does after the embedding (dropout passes, LSTM layers, head): shared by training
   * and evaluation, which sets the dropout to keep everything (the passes then copy).
   */
  #forwardTail: Kernel[] = [];
  #lstmBackward: Kernel[][] = [];
  #evalEmbed: Kernel[] = [];
  #evalLoss: Kernel[] = [];
  #advance: Kernel[] = [];

  /** Allocates every buffer; `build` then makes the kernels that do not depend on the training data. */
  constructor(gpu: Gpu, cfg: ModelConfig, options: GpuModelOptions) {
    this.#gpu = gpu;
    this.#options = options;
    this.config = cfg;
    this.#headline = isHeadlineModel(cfg);
    this.layout = paramLayout(cfg);
    this.maxBatch = options.maxBatch;
    const T = this.#headline ? options.maxSteps : cfg.window;
    this.maxSteps = T;
    const { vocab: V, embed: E, hidden: H, layers: L, window } = cfg;
    const B = options.maxBatch;
    const rows = this.#headline ? B * T : B;
    const M = headWidth(cfg);
    const bytes = this.layout.total * 4;
    this.params = gpu.buffer("params", bytes);
    this.grads = gpu.buffer("grads", bytes);
    this.m = gpu.buffer("adam m", bytes);
    this.v = gpu.buffer("adam v", bytes);
    this.losses = gpu.buffer("losses", LOSS_SLOTS * 4);
    this.evalLosses = gpu.buffer("eval losses", LOSS_SLOTS * 4);
    this.step = createStepParams(gpu, "step", T);
    this.packing = this.#headline ? createPacking(gpu, B, T) : null;
    this.dropout = options.dropout ? createDropoutParams(gpu) : null;
    this.evalInputs = gpu.buffer("eval inputs", B * T * 4);
    this.evalTargets = gpu.buffer("eval targets", rows * 4);
    this.#evalOrder = gpu.buffer("eval order", B * 4, Int32Array.from({ length: B }, (_, i) => i));
    const buf = (label: string, floats: number) => whole(gpu.buffer(label, floats * 4));
    const drops = options.dropout;
    const x = buf("x", B * T * E);
    const act: Activations = {
      x,
      dx: buf("dx", B * T * E),
      input: [x],
      h: [],
      c: [],
      gates: [],
      dh: [],
      dPre: buf("dPre", B * T * 4 * H),
      headIn: x, // set below
      headPacked: x,
      dHeadPacked: x,
      a1: x,
      fc2In: x,
      dz1: x,
      logits: buf("logits", rows * V),
      dLogits: buf("dLogits", rows * V),
      rowLoss: buf("row loss", rows),
      h0: [],
      c0: [],
    };
    for (let k = 0; k < L; k++) {
      act.h.push(buf(`h${k}`, B * T * H));
      act.c.push(buf(`c${k}`, B * T * H));
      act.gates.push(buf(`gates${k}`, B * T * 4 * H));
      act.dh.push(buf(`dh${k}`, B * T * H));
      if (k > 0) act.input.push(drops ? buf(`dropped h${k - 1}`, B * T * H) : act.h[k - 1]);
      if (this.#headline) {
        act.h0.push(buf(`h0 l${k}`, B * H));
        act.c0.push(buf(`c0 l${k}`, B * H));
      }
    }
    act.headIn = drops ? buf("dropped head input", rows * window * H) : act.h[L - 1];
    act.headPacked = this.#headline ? buf("packed head input", rows * H) : act.headIn;
    act.dHeadPacked = this.#headline ? buf("packed head input gradient", rows * H) : act.dh[L - 1];
    if (M > 0) {
      act.a1 = buf("a1", rows * M);
      act.dz1 = buf("dz1", rows * M);
      act.fc2In = drops ? buf("dropped a1", rows * M) : act.a1;
    } else act.fc2In = act.headIn;
    this.#act = act;
  }

  /** The kernels that do not depend on the training data: the LSTM, the head, evaluation and advance. */
  async build(): Promise<void> {
    const gpu = this.#gpu;
    const { vocab: V, embed: E, layers: L } = this.config;
    const B = this.maxBatch;
    const T = this.maxSteps;
    const { hidden: H } = this.config;
    const act = this.#act;
    const dropping = this.dropout !== null;
    // Each dropout pass before the op that reads its output.
    const tail: Kernel[] = [];
    if (dropping) tail.push(await this.#drop(dropoutSite.embedding, E, act.x));
    for (let k = 0; k < L; k++) {
      const layer = await this.#lstmLayer(k);
      if (k > 0 && dropping) {
        tail.push(await this.#drop(dropoutSite.lstmInput(k), H, act.h[k - 1], act.input[k]));
      }
      tail.push(...layer.forward);
      this.#lstmBackward.unshift(layer.backward);
    }
    // The head input: a window model's [B, T*H] row per window is T positions of H alike.
    if (dropping) tail.push(await this.#drop(dropoutSite.fc1Input(L), H, act.h[L - 1], act.headIn));
    tail.push(...await this.#head(dropping));
    this.#forwardTail = tail;
    const evalEmbedding = await createEmbedding(gpu, { V, E, T, maxB: B }, {
      step: this.step.buffer,
      inputs: whole(this.evalInputs),
      order: whole(this.#evalOrder),
      table: this.param("embed.weight"),
      x: act.x,
      dx: act.dx,
      dTable: this.grad("embed.weight"),
    }, "eval embedding");
    this.#evalEmbed = evalEmbedding.forward;
    this.#evalLoss = await createSoftmaxXent(gpu, this.#xentShape(T), {
      step: this.step.buffer,
      logits: act.logits,
      targets: whole(this.evalTargets),
      order: whole(this.#evalOrder),
      rowLoss: act.rowLoss,
      losses: whole(this.evalLosses),
      packing: this.packing ?? undefined,
    }, "eval xent");
    if (this.#headline) this.#advance = await this.#advanceKernels();
  }

  #lstmLayer(k: number) {
    const { hidden: H } = this.config;
    const act = this.#act;
    return createLstmLayer(
      this.#gpu,
      { B: this.maxBatch, T: this.maxSteps, In: lstmInputSize(this.config, k), H },
      {
        step: this.step.buffer,
        x: act.input[k],
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
        packing: this.packing ?? undefined,
      },
      `lstm l${k}`,
      this.#options.lstm,
    );
  }

  /** Advance: one position of every row from the carried state in h0/c0 (rows in evalInputs, stride T). */
  async #advanceKernels(): Promise<Kernel[]> {
    const { hidden: H, layers: L } = this.config;
    const act = this.#act;
    const plan = lstmPlan(this.#gpu, this.maxBatch, H, this.#options.lstm);
    const kernels = [...this.#evalEmbed];
    for (let k = 0; k < L; k++) {
      kernels.push(
        ...await createLstmForward(
          this.#gpu,
          { B: this.maxBatch, T: this.maxSteps, In: lstmInputSize(this.config, k), H },
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
            h0: act.h0[k],
            c0: act.c0[k],
          },
          `advance l${k}`,
          plan,
        ),
      );
    }
    return [...kernels, ...await this.#head(false)];
  }

  /**
   * The head's rows: a window model's one per window, a headline model's one per packed position (run time:
   * the head's StepParams counts them as one row of that many positions).
   */
  #headShape(inF: number, outF: number): LinearShape {
    const B = this.maxBatch;
    return this.packing
      ? { rows: B * this.maxSteps, inF, outF, runtime: { perStep: 1, step: this.packing.step } }
      : { rows: B, inF, outF };
  }

  /** Softmax cross-entropy's shape: a row per position for a headline model, whose data rows hold `stride`. */
  #xentShape(stride: number) {
    const per = this.#headline ? { perPosition: { maxSteps: this.maxSteps, stride } } : {};
    return { maxB: this.maxBatch, V: this.config.vocab, ...per };
  }

  /**
   * A dropout pass at `site` over [rows, width]: a row per position of the step's rows, a row per batch row
   * (a window model's head), or a headline model's packed head rows.
   */
  #drop(
    site: number,
    width: number,
    x: BufferSlice,
    y?: BufferSlice,
    rows: "positions" | "batch" | "packed" = "positions",
  ): Promise<Kernel> {
    return createDropout(
      this.#gpu,
      {
        rows: this.maxBatch,
        maxSteps: rows === "batch" ? 0 : this.maxSteps,
        width,
        site,
      },
      {
        step: this.step.buffer,
        params: this.dropout!.buffer,
        x,
        y,
        ...(rows === "packed" ? { packing: this.packing! } : {}),
      },
      `dropout site ${site}`,
    );
  }

  /** How the head's rows are laid out, for its dropout passes. */
  get #headDropRows(): "batch" | "packed" {
    return this.packing ? "packed" : "batch";
  }

  /**
   * The head's forward (fc1 + ReLU -> fc2, or fc2 alone) to the logits: with `dropping`, from headIn (the
   * dropped copy) with fc2's input dropped; without, from the top layer's h (advance).
   */
  async #head(dropping: boolean): Promise<Kernel[]> {
    const gpu = this.#gpu;
    const { vocab: V, hidden: H, layers: L, window } = this.config;
    const M = headWidth(this.config);
    const act = this.#act;
    const headIn = dropping ? act.headIn : act.h[L - 1];
    // A headline model's head reads the positions with a target, packed.
    const kernels = this.packing ? [await this.#packRows(true, headIn, act.headPacked)] : [];
    const x = this.packing ? act.headPacked : headIn;
    if (M === 0) {
      kernels.push(
        ...await createLinearForward(gpu, { ...this.#headShape(window * H, V), relu: false }, {
          x,
          w: this.param("fc2.weight"),
          b: this.param("fc2.bias"),
          y: act.logits,
        }, "fc2"),
      );
      return kernels;
    }
    kernels.push(
      ...await createLinearForward(gpu, { ...this.#headShape(window * H, M), relu: true }, {
        x,
        w: this.param("fc1.weight"),
        b: this.param("fc1.bias"),
        y: act.a1,
      }, "fc1"),
    );
    if (dropping) {
      kernels.push(await this.#drop(dropoutSite.fc2Input(L), M, act.a1, act.fc2In, this.#headDropRows));
    }
    kernels.push(
      ...await createLinearForward(gpu, { ...this.#headShape(M, V), relu: false }, {
        x: dropping ? act.fc2In : act.a1,
        w: this.param("fc2.weight"),
        b: this.param("fc2.bias"),
        y: act.logits,
      }, "fc2"),
    );
    return kernels;
  }

  /** A headline model's head rows: positions -> packed rows (`pack`), or the packed gradient back. */
  #packRows(pack: boolean, x: BufferSlice, y: BufferSlice): Promise<Kernel> {
    const bufs = { step: this.step.buffer, packing: this.packing!, x, y };
    return createRowsPack(this.#gpu, this.config.hidden, bufs, pack, pack ? "head pack" : "head unpack");
  }

  /**
   * One optimizer step's kernels on `data`: forward (dropping where built with dropout), loss into
   * losses[slot], backward (every gradient overwritten), then Adam. Adam's hyperparameters are not built in:
   * AdamKernels.stepKernels writes each step's.
   */
  async buildTraining(data: TrainingData): Promise<TrainingKernels> {
    const { result, buffers } = await this.#gpu.collect(() => this.#makeTraining(data));
    return { ...result, buffers };
  }

  async #makeTraining(data: TrainingData): Promise<Omit<TrainingKernels, "buffers">> {
    const gpu = this.#gpu;
    const { vocab: V, embed: E, hidden: H, layers: L, window } = this.config;
    const B = this.maxBatch;
    const M = headWidth(this.config);
    const act = this.#act;
    const dropping = this.dropout !== null;
    const embedding = await createEmbedding(
      gpu,
      { V, E, T: data.steps, maxB: B },
      {
        step: this.step.buffer,
        inputs: whole(data.inputs),
        order: whole(data.order),
        table: this.param("embed.weight"),
        x: act.x,
        dx: act.dx,
        dTable: this.grad("embed.weight"),
      },
      "embedding",
      this.config.tie === true,
    );
    const xent = await createSoftmaxXent(gpu, this.#xentShape(data.steps), {
      step: this.step.buffer,
      logits: act.logits,
      targets: whole(data.targets),
      order: whole(data.order),
      rowLoss: act.rowLoss,
      losses: whole(this.losses),
      dLogits: act.dLogits,
      packing: this.packing ?? undefined,
    }, "xent");

    const forward = [...embedding.forward, ...this.#forwardTail];

    // Backward in reverse; each dropout pass's backward is the same mask on the gradient, in place.
    const backward: Kernel[] = [];
    if (M === 0) {
      backward.push(
        ...await createLinearBackward(gpu, this.#headShape(window * H, V), {
          x: act.headPacked,
          w: this.param("fc2.weight"),
          dy: act.dLogits,
          dx: act.dHeadPacked,
          dw: this.grad("fc2.weight"),
          db: this.grad("fc2.bias"),
        }, "fc2"),
      );
    } else {
      backward.push(
        ...await createLinearBackward(gpu, { ...this.#headShape(M, V), reluMask: true }, {
          x: act.fc2In,
          w: this.param("fc2.weight"),
          dy: act.dLogits,
          dx: act.dz1,
          dw: this.grad("fc2.weight"),
          db: this.grad("fc2.bias"),
          mask: act.a1, // the ReLU's own output: dropping does not move its kink
        }, "fc2"),
      );
      if (dropping) {
        backward.push(await this.#drop(dropoutSite.fc2Input(L), M, act.dz1, undefined, this.#headDropRows));
      }
      backward.push(
        ...await createLinearBackward(gpu, this.#headShape(window * H, M), {
          x: act.headPacked,
          w: this.param("fc1.weight"),
          dy: act.dz1,
          dx: act.dHeadPacked,
          dw: this.grad("fc1.weight"),
          db: this.grad("fc1.bias"),
        }, "fc1"),
      );
    }
    if (this.packing) backward.push(await this.#packRows(false, act.dHeadPacked, act.dh[L - 1]));
    if (dropping) backward.push(await this.#drop(dropoutSite.fc1Input(L), H, act.dh[L - 1]));
    for (let k = L - 1; k >= 0; k--) {
      backward.push(...this.#lstmBackward[L - 1 - k]); // #lstmBackward is top layer first
      if (k > 0 && dropping) backward.push(await this.#drop(dropoutSite.lstmInput(k), H, act.dh[k - 1]));
    }
    if (dropping) backward.push(await this.#drop(dropoutSite.embedding, E, act.dx));
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
    return { step: [...forward, ...xent, ...backward], adam };
  }

  /**
   * The forward pass of an evaluation chunk (rows in evalInputs), with its mean loss when `loss`. Built with
   * dropout, the step's dropout must keep everything (DropoutParams.set with rate 0).
   */
  evalKernels(loss: boolean): Kernel[] {
    return [...this.#evalEmbed, ...this.#forwardTail, ...(loss ? this.#evalLoss : [])];
  }

  /**
   * Queues the next submit's batch: rows order[start .. start+size), its loss slot and its positions a row
   * (StepParams), and for a headline model the packing of each row's first lengths[b] positions (those with a
   * target; every position for logits and advance).
   */
  setStep(start: number, size: number, slot: number, steps: number, lengths: ArrayLike<number>): void {
    this.step.set(start, size, slot, steps);
    this.packing?.set(lengths, size, steps);
  }

  /**
   * `kernels` less the dispatches that do nothing at the rows last written to the step's uniforms (the
   * step's and the packing's): GEMM blocks past a headline step's packed rows (Kernel.idleUnless).
   */
  active(kernels: Kernel[]): Kernel[] {
    const steps = new Map<GPUBuffer, number>([[this.step.buffer, this.step.steps]]);
    if (this.packing) steps.set(this.packing.step, this.packing.rows);
    return activeKernels(kernels, steps);
  }

  /** advance's kernels: one position of every row from h0/c0 (headline models). */
  advanceKernels(): Kernel[] {
    return this.#advance;
  }

  /** The carried state buffers of layer k (advance): h0 and c0 [B, H]. */
  state(k: number): { h0: BufferSlice; c0: BufferSlice; h: BufferSlice; c: BufferSlice } {
    const act = this.#act;
    return { h0: act.h0[k], c0: act.c0[k], h: act.h[k], c: act.c[k] };
  }

  /** The first `rows` rows of logits of the last forward pass, [rows, V]. */
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
