/**
 * The LSTM layer's facts (src/gpu/lstm.ts against src/cpu/lstm.ts): its tolerances, the reference call that
 * gives every output of the forward and every gradient of the backward, and the model's shapes of it (each
 * layer input width, the batches, a headline model's positions and advance's one position from a carried
 * state).
 */
import {
  type LstmCache,
  type LstmGrads,
  lstmLayerBackward,
  lstmLayerForward,
  type LstmState,
} from "../cpu/lstm.ts";
import type { LstmShape } from "../gpu/lstm.ts";
import type { DoctorShapes } from "./shapes.ts";
import { num, type Tolerance } from "./tolerance.ts";

/** Rows of a batch (B·Tb) up to which the backward's absolute tolerance stays at its base. */
const BACKWARD_ROWS = 256;

/**
 * The GPU sums in float32 in another order than the reference (float64 GEMMs, float32 state). Measured on
 * lavapipe (tests/gpu_lstm_test.ts prints the share of each it used): the forward up to 0.22 of its
 * tolerance, the backward up to 0.32 (the bias sums over B·Tb = 871 rows: 4.7e-6, which a flat 2e-6 would
 * not hold); doctor's model shapes up to 0.14 on lavapipe.
 */
export const LSTM_TOLERANCE = {
  /** h, c, gates: sums of In + H float32 products and transcendental functions. */
  forward: { atol: 2e-6, rtol: 1e-5 } as Tolerance,
  /** dx, dW, db: sums over the batch's B·Tb rows (the bias gradients are column sums of dPre over them). */
  backward(rows: number): Tolerance {
    return { atol: 2e-6 * Math.max(1, rows / BACKWARD_ROWS), rtol: 1e-5 };
  },
  /**
   * Inputs and weights up to ±1e4: pre-activations reach ~1e9, the gates saturate to exactly 0, 1 or ±1 on
   * both sides and the gradients are products of saturated values, whose huge sums round in float32.
   */
  saturated: { atol: 1e-2, rtol: 1e-4 } as Tolerance,
};

/** LSTM_TOLERANCE.backward in words. */
export const LSTM_BACKWARD_TEXT =
  `atol ${num(LSTM_TOLERANCE.backward(1).atol)}·max(1, B·Tb / ${BACKWARD_ROWS}), ` +
  `rtol ${num(LSTM_TOLERANCE.backward(1).rtol)}`;

/** One layer's inputs: x [B,Tb,In], the weights, the gradient reaching h [B,Tb,H] and an initial state. */
export interface LstmInputs {
  x: Float32Array;
  wih: Float32Array;
  whh: Float32Array;
  bih: Float32Array;
  bhh: Float32Array;
  dh: Float32Array;
  init?: LstmState;
}

/** The reference of one layer over Tb positions of B rows: the forward's h, c and gates, and every gradient. */
export function lstmReference(
  x: LstmInputs,
  B: number,
  Tb: number,
  In: number,
  H: number,
): { forward: LstmCache; grads: LstmGrads } {
  const G = 4 * H;
  const forward = lstmLayerForward(x.x, x.wih, x.whh, x.bih, x.bhh, B, Tb, In, H, x.init);
  const grads: LstmGrads = {
    dx: new Float32Array(B * Tb * In),
    dWih: new Float32Array(G * In),
    dWhh: new Float32Array(G * H),
    dbih: new Float32Array(G),
    dbhh: new Float32Array(G),
  };
  lstmLayerBackward(x.x, x.wih, x.whh, forward, x.dh, B, Tb, In, H, grads, x.init);
  return { forward, grads };
}

/** A model-sized case of one layer. */
export interface LstmModelCase {
  /** B rows and the most positions T the buffers hold. */
  shape: LstmShape;
  /** The batch's positions (<= T). */
  Tb: number;
  /** From a carried state h0, c0 instead of zeros. */
  init: boolean;
  /** Inputs and weights uniform in ±scale. */
  scale: number;
  /** Rows of dh beyond this are zero, as a short last batch leaves them. */
  used: number;
  /** Which model, and where in it. */
  model: "window" | "headline";
  label: string;
}

/**
 * The models' layers: the window model's first layer and (a short batch) the ones above; the headline
 * model's over a full batch's positions and over a short one's, and advance: one position from a carried
 * state. Inputs ±0.3, the order of the models' weights (U(±1/√H)) and activations.
 */
export function modelLstmCases(shapes: DoctorShapes): LstmModelCase[] {
  const { embed: E, hidden: H, window, layers } = shapes.model;
  const B = shapes.batch;
  const base = { init: false, scale: 0.3, used: B };
  const cases: LstmModelCase[] = [
    { ...base, shape: { B, T: window, In: E, H }, Tb: window, model: "window", label: "model l0" },
  ];
  if (layers > 1) {
    cases.push({
      ...base,
      shape: { B, T: window, In: H, H },
      Tb: window,
      used: shapes.lastBatch,
      model: "window",
      label: "model l1+, short batch",
    });
  }
  const { model: hm, steps, lastSteps } = shapes.headline;
  const headline = (In: number) => ({ B, T: steps, In, H: hm.hidden });
  cases.push({ ...base, shape: headline(hm.embed), Tb: steps, model: "headline", label: "headline l0" });
  if (hm.layers > 1) {
    cases.push({
      ...base,
      shape: headline(hm.hidden),
      Tb: lastSteps,
      used: shapes.lastBatch,
      model: "headline",
      label: "headline l1+, short batch",
    });
  }
  cases.push({
    ...base,
    shape: headline(hm.embed),
    Tb: 1,
    init: true,
    model: "headline",
    label: "headline advance",
  });
  return cases;
}
