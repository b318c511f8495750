/**
 * One LSTM layer with PyTorch semantics, batch-first. Gate order i, f, g, o:
 *   pre = x_t·W_ihᵀ + b_ih + h_{t-1}·W_hhᵀ + b_hh,  i,f,o = σ(pre), g = tanh(pre),
 *   c_t = f·c_{t-1} + i·g,  h_t = o·tanh(c_t),  with h_{-1} = c_{-1} = 0 or a given initial state.
 * Layouts: x [B,T,In], h and c [B,T,H], gates [B,T,4H] (after activation), weights [4H,In] / [4H,H],
 * an initial state's h and c [B,H]. (A packed GPU batch with Tb positions per row is this layout at T = Tb.)
 */
import { columnSum } from "./linear.ts";
import { matmul } from "./matmul.ts";

/** What one LSTM layer's forward keeps for its backward: every step's outputs, cell states and gates. */
export interface LstmCache {
  /** Outputs h_t for every step, [B,T,H]; the next layer's input. */
  h: Float32Array;
  /** Cell states c_t, [B,T,H]. */
  c: Float32Array;
  /** Activated gates i,f,g,o per step, [B,T,4H]. */
  gates: Float32Array;
}

/** h_{-1} and c_{-1} of every row, [B,H] each: a state carried from earlier positions. */
export interface LstmState {
  h: Float32Array;
  c: Float32Array;
}

export interface LstmGrads {
  /** Gradient w.r.t. the layer input [B,T,In] (overwritten; null to skip, e.g. for a frozen input). */
  dx: Float32Array | null;
  dWih: Float32Array;
  dWhh: Float32Array;
  dbih: Float32Array;
  dbhh: Float32Array;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Activations and the c/h update for one step of B rows; cPrev null means zeros. */
export function lstmCellForward(
  pre: Float32Array,
  cPrev: Float32Array | null,
  B: number,
  H: number,
  gatesOut: Float32Array,
  cOut: Float32Array,
  hOut: Float32Array,
): void {
  for (let b = 0; b < B; b++) {
    const g0 = b * 4 * H;
    for (let j = 0; j < H; j++) {
      const i = sigmoid(pre[g0 + j]);
      const f = sigmoid(pre[g0 + H + j]);
      const g = Math.tanh(pre[g0 + 2 * H + j]);
      const o = sigmoid(pre[g0 + 3 * H + j]);
      const c = f * (cPrev ? cPrev[b * H + j] : 0) + i * g;
      gatesOut[g0 + j] = i;
      gatesOut[g0 + H + j] = f;
      gatesOut[g0 + 2 * H + j] = g;
      gatesOut[g0 + 3 * H + j] = o;
      cOut[b * H + j] = c;
      hOut[b * H + j] = o * Math.tanh(c);
    }
  }
}

/**
 * Backward of lstmCellForward for one step. dh: gradient reaching h_t (from above and from t+1);
 * dc: gradient reaching c_t from step t+1 (null = 0). Writes dPre [B,4H] (pre-activation gate
 * gradients) and dcPrev [B,H].
 */
export function lstmCellBackward(
  gates: Float32Array,
  cPrev: Float32Array | null,
  c: Float32Array,
  dh: Float32Array,
  dc: Float32Array | null,
  B: number,
  H: number,
  dPre: Float32Array,
  dcPrev: Float32Array,
): void {
  for (let b = 0; b < B; b++) {
    const g0 = b * 4 * H;
    for (let j = 0; j < H; j++) {
      const n = b * H + j;
      const i = gates[g0 + j];
      const f = gates[g0 + H + j];
      const g = gates[g0 + 2 * H + j];
      const o = gates[g0 + 3 * H + j];
      const tc = Math.tanh(c[n]);
      const dct = (dc ? dc[n] : 0) + dh[n] * o * (1 - tc * tc);
      const cp = cPrev ? cPrev[n] : 0;
      dPre[g0 + j] = dct * g * i * (1 - i);
      dPre[g0 + H + j] = dct * cp * f * (1 - f);
      dPre[g0 + 2 * H + j] = dct * i * (1 - g * g);
      dPre[g0 + 3 * H + j] = dh[n] * tc * o * (1 - o);
      dcPrev[n] = dct * f;
    }
  }
}

/** Copies step t of a [B,T,W] tensor into a contiguous [B,W] array (or back, with `scatter`). */
function stepSlice(
  seq: Float32Array,
  step: Float32Array,
  B: number,
  T: number,
  W: number,
  t: number,
  scatter = false,
): void {
  for (let b = 0; b < B; b++) {
    const at = (b * T + t) * W;
    if (scatter) seq.set(step.subarray(b * W, b * W + W), at);
    else step.set(seq.subarray(at, at + W), b * W);
  }
}

export function lstmLayerForward(
  x: Float32Array,
  wih: Float32Array,
  whh: Float32Array,
  bih: Float32Array,
  bhh: Float32Array,
  B: number,
  T: number,
  In: number,
  H: number,
  init?: LstmState,
): LstmCache {
  const cache: LstmCache = {
    h: new Float32Array(B * T * H),
    c: new Float32Array(B * T * H),
    gates: new Float32Array(B * T * 4 * H),
  };
  const xt = new Float32Array(B * In);
  const pre = new Float32Array(B * 4 * H);
  const gates = new Float32Array(B * 4 * H);
  let hPrev: Float32Array | null = init?.h ?? null;
  let cPrev: Float32Array | null = init?.c ?? null;
  for (let t = 0; t < T; t++) {
    stepSlice(x, xt, B, T, In, t);
    matmul(xt, wih, pre, B, In, 4 * H, { transB: true });
    if (hPrev) matmul(hPrev, whh, pre, B, H, 4 * H, { transB: true, accumulate: true });
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < 4 * H; k++) pre[b * 4 * H + k] += bih[k] + bhh[k];
    }
    const hNew = new Float32Array(B * H);
    const cNew = new Float32Array(B * H);
    lstmCellForward(pre, cPrev, B, H, gates, cNew, hNew);
    stepSlice(cache.gates, gates, B, T, 4 * H, t, true);
    stepSlice(cache.h, hNew, B, T, H, t, true);
    stepSlice(cache.c, cNew, B, T, H, t, true);
    hPrev = hNew;
    cPrev = cNew;
  }
  return cache;
}

/**
 * Backpropagation through time for one layer. dhOut [B,T,H] is the gradient w.r.t. the layer's outputs
 * (from the layer above or the head). Weight and bias gradients are overwritten, not accumulated. `init` is
 * the forward's initial state, a constant here: no gradient flows into it.
 */
export function lstmLayerBackward(
  x: Float32Array,
  wih: Float32Array,
  whh: Float32Array,
  cache: LstmCache,
  dhOut: Float32Array,
  B: number,
  T: number,
  In: number,
  H: number,
  grads: LstmGrads,
  init?: LstmState,
): void {
  const G = 4 * H;
  const dPreSeq = new Float32Array(B * T * G);
  const hPrevSeq = new Float32Array(B * T * H); // h_{t-1} at position t (h_{-1} at t = 0)
  const gates = new Float32Array(B * G);
  const c = new Float32Array(B * H);
  const cPrev = new Float32Array(B * H);
  const dh = new Float32Array(B * H);
  const dPre = new Float32Array(B * G);
  let dcNext: Float32Array | null = null;
  let dhRec: Float32Array | null = null;
  for (let t = T - 1; t >= 0; t--) {
    stepSlice(cache.gates, gates, B, T, G, t);
    stepSlice(cache.c, c, B, T, H, t);
    if (t > 0) stepSlice(cache.c, cPrev, B, T, H, t - 1);
    stepSlice(dhOut, dh, B, T, H, t);
    if (dhRec) { for (let n = 0; n < dh.length; n++) dh[n] += dhRec[n]; }
    const dcPrev = new Float32Array(B * H);
    lstmCellBackward(gates, t > 0 ? cPrev : init?.c ?? null, c, dh, dcNext, B, H, dPre, dcPrev);
    stepSlice(dPreSeq, dPre, B, T, G, t, true);
    dcNext = dcPrev;
    if (t > 0) {
      dhRec = new Float32Array(B * H);
      matmul(dPre, whh, dhRec, B, G, H);
      const hp = new Float32Array(B * H);
      stepSlice(cache.h, hp, B, T, H, t - 1);
      stepSlice(hPrevSeq, hp, B, T, H, t, true);
    } else if (init) {
      stepSlice(hPrevSeq, init.h, B, T, H, 0, true);
    }
  }
  const rows = B * T;
  matmul(dPreSeq, x, grads.dWih, G, rows, In, { transA: true });
  matmul(dPreSeq, hPrevSeq, grads.dWhh, G, rows, H, { transA: true });
  columnSum(dPreSeq, rows, G, grads.dbih);
  grads.dbhh.set(grads.dbih.subarray(0, G));
  if (grads.dx) matmul(dPreSeq, wih, grads.dx, rows, G, In);
}
