/**
 * Softmax cross-entropy's facts (shaders/softmax_xent*.wgsl against src/cpu/softmax_xent.ts): its
 * tolerances, ordinary and for logits of large magnitude, and the models' shapes of it (the targets a step
 * scores are src/facts/step_rows.ts's): a window model's row per pair, a headline model's row per position with
 * padding that counts for nothing.
 */
import type { DoctorShapes } from "./shapes.ts";
import type { Tolerance } from "./tolerance.ts";

/**
 * Log-sum-exp in float32 is exact up to rounding at the logits' magnitude L. Ordinary logits (|L| <= 5):
 * mean losses near 8 measured 1.3e-6 off on lavapipe (7.9e-7 on GL and SwiftShader), dLogits 1.8e-6
 * relative.
 */
export const XENT_TOLERANCE = {
  loss: { atol: 1e-6, rtol: 1e-6 } as Tolerance,
  dLogits: { atol: 1e-7, rtol: 1e-4 } as Tolerance,
  /**
   * Logits of magnitude up to L: one ulp(L) = 1.2e-7 L (plus 1e-5) absolute on the loss and 1.2e-7 L (plus
   * 5e-5) relative on each probability, whose exp argument carries that error. Measured: loss 1.0e-5 and
   * dLogits 2.7e-5 relative at L = 1010, loss 2.2e-5 at L = 700.
   */
  atMagnitude(L: number): { loss: Tolerance; dLogits: Tolerance } {
    return { loss: { atol: 1e-5 + 1.2e-7 * L, rtol: 0 }, dLogits: { atol: 1e-7, rtol: 5e-5 + 1.2e-7 * L } };
  },
  /** Logits up to ±1e4: log-sum-exp near 1e4 carries ~1e-3 of rounding, probabilities ~1e-3 relative. */
  extreme: {
    loss: { atol: 1e-2, rtol: 1e-5 } as Tolerance,
    dLogits: { atol: 1e-5, rtol: 1e-2 } as Tolerance,
  },
};

/** A model-sized case: the largest batch, V, the steps run and the logits' magnitude. */
export interface XentModelCase {
  maxB: number;
  V: number;
  /** A headline model's rows: a row of logits per position, up to maxSteps, the data's rows `stride` long. */
  perPosition?: { maxSteps: number; stride: number };
  /** Steps (start, size, positions). */
  steps: Array<[number, number, number]>;
  /** Logits uniform in ±scale. */
  scale: number;
  model: "window" | "headline";
}

/** The window model's batch and last batch; the headline model's positions, a short batch at fewer. */
export function modelXentCases(shapes: DoctorShapes): XentModelCase[] {
  const B = shapes.batch, last = shapes.lastBatch;
  const { model: hm, steps, lastSteps } = shapes.headline;
  return [
    { maxB: B, V: shapes.model.vocab, steps: [[0, B, 1], [B, last, 1]], scale: 5, model: "window" },
    {
      maxB: B,
      V: hm.vocab,
      perPosition: { maxSteps: steps, stride: steps },
      steps: [[0, B, steps], [B, last, lastSteps]],
      scale: 5,
      model: "headline",
    },
  ];
}
