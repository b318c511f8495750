/**
 * The embedding's facts (shaders/embedding.wgsl and embedding_backward.wgsl against src/cpu/embedding.ts):
 * its tolerances and the models' shapes of it (the ids a step resolves, which the reference gathers and
 * scatters through, are src/facts/step_rows.ts's): a window model's batch, a headline model's rows strided by the data's longest row and run at
 * fewer positions, its backward adding to a tied output layer's gradient.
 */
import type { DoctorShapes } from "./shapes.ts";
import { EXACT, type Tolerance } from "./tolerance.ts";

export const EMBEDDING_TOLERANCE = {
  /** A gather: exact. */
  forward: EXACT,
  /** Sums of the repeated words' rows (measured exact: the same order as the reference). */
  backward: { atol: 1e-6, rtol: 1e-6 } as Tolerance,
  /**
   * Added to a tied output layer's gradient: the reference adds a word's rows to it one by one, the GPU adds
   * their sum, so float32 rounding of sums of a few dozen values near 1 in another order (measured 9.5e-7).
   */
  accumulate: { atol: 1e-5, rtol: 1e-6 } as Tolerance,
};

/** A model-sized case: the table, the data's ids per row T, the largest batch and the steps run. */
export interface EmbeddingModelCase {
  V: number;
  E: number;
  T: number;
  maxB: number;
  /** Steps (start, size, positions) over `rows` rows of data. */
  steps: Array<[number, number, number]>;
  rows: number;
  /** The backward adds to dTable (a tied output layer's gradient is there). */
  accumulate: boolean;
  model: "window" | "headline";
}

/** The window model's batch and short last batch; the headline model's, strided by its longest row. */
export function modelEmbeddingCases(shapes: DoctorShapes): EmbeddingModelCase[] {
  const { vocab: V, embed: E, window } = shapes.model;
  const B = shapes.batch, last = shapes.lastBatch;
  const { model: hm, steps, lastSteps } = shapes.headline;
  return [
    {
      V,
      E,
      T: window,
      maxB: B,
      steps: [[0, B, window], [B, last, window]],
      rows: B + last,
      accumulate: false,
      model: "window",
    },
    {
      V: hm.vocab,
      E: hm.embed,
      T: steps,
      maxB: B,
      steps: [[0, B, steps], [B, last, lastSteps]],
      rows: B + last,
      accumulate: hm.tie === true,
      model: "headline",
    },
  ];
}
