/**
 * The whole model on the CPU, assembled from the reference ops in the notebook's order:
 *   x = embed[ids] [B,T,E] -> LSTM layers (batch-first, layer k reads layer k-1's h) -> head input
 *   -> fc1 -> ReLU -> fc2 -> logits.
 * A window model's head input is the flattened window, [B, T*H]: one row of logits per window. A headline
 * model (window 1) runs T = the batch's positions and its head input is every position's h, [B*T, H]: one
 * row of logits per position. Both are the same arithmetic on `rows = B*T / window` rows of `window*H`.
 * A direct head (config head 0) has no fc1 and ReLU: fc2 reads the head input.
 * Training may drop activations at PyTorch's places (src/model/dropout.ts); evaluation never does.
 * Parameters and gradients are one flat array each, addressed through paramLayout.
 */
import { headWidth, isHeadlineModel, type ModelConfig } from "../model/config.ts";
import { lstmInputSize, type ParamLayout, paramLayout, view } from "../model/layout.ts";
import { dropoutMask, type DropoutSettings, dropoutSite } from "../model/dropout.ts";
import { embeddingBackward, embeddingForward } from "./embedding.ts";
import { linearBackward, linearForward, reluBackward } from "./linear.ts";
import { type LstmCache, lstmLayerBackward, lstmLayerForward } from "./lstm.ts";
import { softmaxCrossEntropy } from "./softmax_xent.ts";

/** How a forward pass runs beyond its ids. */
export interface ForwardOptions {
  /** Positions per row: the window (the default), or a headline batch's longest row. */
  steps?: number;
  /** Training dropout at optimizer step `step` (1-based); absent or rate 0: none. */
  dropout?: { settings: DropoutSettings; step: number };
  /** A carried LSTM state per layer (h and c, [B,H] each) instead of zeros: generation's next word. */
  initial?: Array<{ h: Float32Array; c: Float32Array }>;
}

/** The activations backward reads; everything else is recomputable from params. */
export interface ForwardCache {
  /** Rows in the batch. */
  B: number;
  /** Positions per row. */
  T: number;
  /** The B*T input word ids (the embedding rows to scatter gradients into). */
  ids: Int32Array;
  /** Per layer its input as the layer read it (after dropout): layer 0's is the embedded words [B,T,E]. */
  layerInputs: Float32Array[];
  /** Per layer h, c and activated gates. */
  lstm: LstmCache[];
  /** fc1's input as it read it: the top layer's h after dropout, [rows, window*H]. */
  headInput: Float32Array;
  /** fc1's output after ReLU [rows, M]; the ReLU mask (a direct head: the head input). */
  hidden: Float32Array;
  /** fc2's input as it read it: `hidden` after dropout. */
  fc2Input: Float32Array;
  /** Each site's mask (0 or the keep scale), by site; empty without dropout. */
  masks: Map<number, Float32Array>;
}

/** The weight views of one LSTM layer, named as PyTorch names them. */
function lstmWeights(flat: Float32Array, layout: ParamLayout, k: number) {
  return {
    wih: view(flat, layout.get(`lstm.weight_ih_l${k}`)),
    whh: view(flat, layout.get(`lstm.weight_hh_l${k}`)),
    bih: view(flat, layout.get(`lstm.bias_ih_l${k}`)),
    bhh: view(flat, layout.get(`lstm.bias_hh_l${k}`)),
  };
}

/** Rows of logits for B rows of T positions: one per window, or one per position of a headline model. */
export function headRows(cfg: ModelConfig, B: number, T: number): number {
  return isHeadlineModel(cfg) ? B * T : B;
}

/** `x` times the site's mask (a copy), recording the mask; `x` itself without dropout. */
function drop(
  x: Float32Array,
  site: number,
  opts: ForwardOptions,
  masks: Map<number, Float32Array>,
): Float32Array {
  const d = opts.dropout;
  if (!d || d.settings.rate === 0) return x;
  const mask = dropoutMask(d.settings, d.step, site, x.length);
  masks.set(site, mask);
  return x.map((v, i) => v * mask[i]);
}

/** `dy` times the site's mask in place (the mask's backward); nothing without one. */
function undrop(dy: Float32Array, site: number, masks: Map<number, Float32Array>): void {
  const mask = masks.get(site);
  if (!mask) return;
  for (let i = 0; i < dy.length; i++) dy[i] *= mask[i];
}

/**
 * The CPU reference's forward pass over `B` rows of `inputs` (window ids, or a headline batch's positions):
 * the logits, [B*T rows, V], and what backward needs.
 */
export function modelForward(
  cfg: ModelConfig,
  params: Float32Array,
  inputs: Int32Array,
  B: number,
  opts: ForwardOptions = {},
): { logits: Float32Array; cache: ForwardCache } {
  const { vocab: V, embed: E, hidden: H, layers: L, window } = cfg;
  const T = opts.steps ?? window;
  if (!isHeadlineModel(cfg) && T !== window) {
    throw new Error(`modelForward: a window model reads ${window} positions, not ${T}`);
  }
  if (inputs.length !== B * T) throw new Error(`modelForward: ${inputs.length} ids for ${B} rows of ${T}`);
  const layout = paramLayout(cfg);
  const p = (name: string) => view(params, layout.get(name));
  const M = headWidth(cfg);
  const rows = headRows(cfg, B, T);
  const masks = new Map<number, Float32Array>();

  const embedded = new Float32Array(B * T * E);
  embeddingForward(p("embed.weight"), inputs, E, embedded);

  const layerInputs: Float32Array[] = [];
  const lstm: LstmCache[] = [];
  let x = drop(embedded, dropoutSite.embedding, opts, masks);
  for (let k = 0; k < L; k++) {
    if (k > 0) x = drop(x, dropoutSite.lstmInput(k), opts, masks);
    layerInputs.push(x);
    const w = lstmWeights(params, layout, k);
    const In = lstmInputSize(cfg, k);
    const layer = lstmLayerForward(x, w.wih, w.whh, w.bih, w.bhh, B, T, In, H, opts.initial?.[k]);
    lstm.push(layer);
    x = layer.h;
  }

  // [B,T,H] is row-major: the window model's flattened [B, T*H] and the headline model's [B*T, H] alike.
  const headInput = drop(x, dropoutSite.fc1Input(L), opts, masks);
  let hidden = headInput;
  let fc2Input = headInput;
  if (M > 0) {
    hidden = new Float32Array(rows * M);
    linearForward(headInput, p("fc1.weight"), p("fc1.bias"), hidden, rows, window * H, M, true);
    fc2Input = drop(hidden, dropoutSite.fc2Input(L), opts, masks);
  }
  const logits = new Float32Array(rows * V);
  linearForward(fc2Input, p("fc2.weight"), p("fc2.bias"), logits, rows, M > 0 ? M : window * H, V, false);

  return { logits, cache: { B, T, ids: inputs, layerInputs, lstm, headInput, hidden, fc2Input, masks } };
}

/**
 * Gradients of the scalar whose gradient w.r.t. the logits is dLogits. `grads` (flat layout) is overwritten
 * entirely, so padding between tensors is 0 and Adam leaves padding parameters at 0.
 */
export function modelBackward(
  cfg: ModelConfig,
  params: Float32Array,
  cache: ForwardCache,
  dLogits: Float32Array,
  grads: Float32Array,
): void {
  const { vocab: V, embed: E, hidden: H, layers: L, window } = cfg;
  const { B, T, lstm, hidden, masks } = cache;
  const layout = paramLayout(cfg);
  if (grads.length !== layout.total) throw new Error(`modelBackward: grads has ${grads.length} floats`);
  const p = (name: string) => view(params, layout.get(name));
  const g = (name: string) => view(grads, layout.get(name));
  const M = headWidth(cfg);
  const rows = headRows(cfg, B, T);
  grads.fill(0);

  let dh: Float32Array = new Float32Array(B * T * H);
  const fc2In = M > 0 ? M : window * H;
  const dFc2Input = M > 0 ? new Float32Array(rows * M) : dh;
  linearBackward(
    cache.fc2Input,
    p("fc2.weight"),
    dLogits,
    dFc2Input,
    g("fc2.weight"),
    g("fc2.bias"),
    rows,
    fc2In,
    V,
  );
  if (M > 0) {
    undrop(dFc2Input, dropoutSite.fc2Input(L), masks);
    reluBackward(hidden, dFc2Input);
    linearBackward(
      cache.headInput,
      p("fc1.weight"),
      dFc2Input,
      dh,
      g("fc1.weight"),
      g("fc1.bias"),
      rows,
      window * H,
      M,
    );
  }
  undrop(dh, dropoutSite.fc1Input(L), masks);

  for (let k = L - 1; k >= 0; k--) {
    const In = lstmInputSize(cfg, k);
    const w = lstmWeights(params, layout, k);
    const dw = lstmWeights(grads, layout, k);
    const dx = new Float32Array(B * T * In);
    lstmLayerBackward(cache.layerInputs[k], w.wih, w.whh, lstm[k], dh, B, T, In, H, {
      dx,
      dWih: dw.wih,
      dWhh: dw.whh,
      dbih: dw.bih,
      dbhh: dw.bhh,
    });
    undrop(dx, k > 0 ? dropoutSite.lstmInput(k) : dropoutSite.embedding, masks);
    dh = dx;
  }
  // Tied, fc2's weight gradient is already in embed.weight's: the embedding's adds to it.
  embeddingBackward(dh, cache.ids, E, g("embed.weight"), cfg.tie === true);
}

/**
 * Mean cross-entropy over the batch's targets (one per head row; -1 = none, for a headline model's
 * padding); `grads` (flat layout) receives its gradient.
 */
export function modelLossAndGrads(
  cfg: ModelConfig,
  params: Float32Array,
  inputs: Int32Array,
  targets: Int32Array,
  B: number,
  grads: Float32Array,
  opts: ForwardOptions = {},
): number {
  const { logits, cache } = modelForward(cfg, params, inputs, B, opts);
  const rows = headRows(cfg, B, cache.T);
  if (targets.length !== rows) {
    throw new Error(`modelLossAndGrads: ${targets.length} targets for ${rows} rows`);
  }
  const dLogits = new Float32Array(rows * cfg.vocab);
  const loss = softmaxCrossEntropy(logits, targets, rows, cfg.vocab, dLogits);
  modelBackward(cfg, params, cache, dLogits, grads);
  return loss;
}
