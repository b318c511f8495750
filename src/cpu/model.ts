/**
 * The whole model on the CPU, assembled from the reference ops in the notebook's order:
 *   x = embed[ids] [B,T,E] -> LSTM layers (batch-first, layer k reads layer k-1's h) -> flatten h [B,T*H]
 *   -> fc1 -> ReLU -> fc2 -> logits [B,V].
 * Parameters and gradients are one flat array each, addressed through paramLayout.
 */
import type { ModelConfig } from "../model/config.ts";
import { lstmInputSize, type ParamLayout, paramLayout, view } from "../model/layout.ts";
import { embeddingBackward, embeddingForward } from "./embedding.ts";
import { linearBackward, linearForward, reluBackward } from "./linear.ts";
import { type LstmCache, lstmLayerBackward, lstmLayerForward } from "./lstm.ts";
import { softmaxCrossEntropy } from "./softmax_xent.ts";

/** The activations backward reads; everything else is recomputable from params. */
export interface ForwardCache {
  B: number;
  /** The B*T input word ids (the embedding rows to scatter gradients into). */
  ids: Int32Array;
  /** Embedded inputs [B,T,E], layer 0's input. */
  embedded: Float32Array;
  /** Per layer h, c and activated gates; layer k's h [B,T,H] is layer k+1's input, the last one fc1's. */
  lstm: LstmCache[];
  /** fc1's output after ReLU [B,V]; fc2's input and the ReLU mask. */
  hidden: Float32Array;
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

export function modelForward(
  cfg: ModelConfig,
  params: Float32Array,
  inputs: Int32Array,
  B: number,
): { logits: Float32Array; cache: ForwardCache } {
  const { vocab: V, embed: E, hidden: H, layers: L, window: T } = cfg;
  if (inputs.length !== B * T) throw new Error(`modelForward: ${inputs.length} ids for ${B} windows of ${T}`);
  const layout = paramLayout(cfg);
  const p = (name: string) => view(params, layout.get(name));

  const embedded = new Float32Array(B * T * E);
  embeddingForward(p("embed.weight"), inputs, E, embedded);

  const lstm: LstmCache[] = [];
  let x: Float32Array = embedded;
  for (let k = 0; k < L; k++) {
    const w = lstmWeights(params, layout, k);
    const layer = lstmLayerForward(x, w.wih, w.whh, w.bih, w.bhh, B, T, lstmInputSize(cfg, k), H);
    lstm.push(layer);
    x = layer.h;
  }

  // [B,T,H] is row-major, so the last layer's h already is the flattened [B,T*H].
  const hidden = new Float32Array(B * V);
  linearForward(x, p("fc1.weight"), p("fc1.bias"), hidden, B, T * H, V, true);
  const logits = new Float32Array(B * V);
  linearForward(hidden, p("fc2.weight"), p("fc2.bias"), logits, B, V, V, false);

  return { logits, cache: { B, ids: inputs, embedded, lstm, hidden } };
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
  const { vocab: V, embed: E, hidden: H, layers: L, window: T } = cfg;
  const { B, lstm, hidden } = cache;
  const layout = paramLayout(cfg);
  if (grads.length !== layout.total) throw new Error(`modelBackward: grads has ${grads.length} floats`);
  const p = (name: string) => view(params, layout.get(name));
  const g = (name: string) => view(grads, layout.get(name));
  grads.fill(0);

  const dHidden = new Float32Array(B * V);
  linearBackward(hidden, p("fc2.weight"), dLogits, dHidden, g("fc2.weight"), g("fc2.bias"), B, V, V);
  reluBackward(hidden, dHidden);
  let dh: Float32Array = new Float32Array(B * T * H);
  const top = lstm[L - 1].h;
  linearBackward(top, p("fc1.weight"), dHidden, dh, g("fc1.weight"), g("fc1.bias"), B, T * H, V);

  for (let k = L - 1; k >= 0; k--) {
    const In = lstmInputSize(cfg, k);
    const x = k === 0 ? cache.embedded : lstm[k - 1].h;
    const w = lstmWeights(params, layout, k);
    const dw = lstmWeights(grads, layout, k);
    const dx = new Float32Array(B * T * In);
    lstmLayerBackward(x, w.wih, w.whh, lstm[k], dh, B, T, In, H, {
      dx,
      dWih: dw.wih,
      dWhh: dw.whh,
      dbih: dw.bih,
      dbhh: dw.bhh,
    });
    dh = dx;
  }
  embeddingBackward(dh, cache.ids, E, g("embed.weight"));
}

/** Mean cross-entropy of B windows; `grads` (flat layout) receives its gradient. */
export function modelLossAndGrads(
  cfg: ModelConfig,
  params: Float32Array,
  inputs: Int32Array,
  targets: Int32Array,
  B: number,
  grads: Float32Array,
): number {
  const { logits, cache } = modelForward(cfg, params, inputs, B);
  const dLogits = new Float32Array(B * cfg.vocab);
  const loss = softmaxCrossEntropy(logits, targets, B, cfg.vocab, dLogits);
  modelBackward(cfg, params, cache, dLogits, grads);
  return loss;
}
