/**
 * Dropout's facts (shaders/dropout.wgsl against the CPU reference's masks, src/model/dropout.ts): exact
 * agreement (the same hash, the products float32 on both sides), the reference of one pass, and the models'
 * places of it: per position (a batch's packed activations, PER_STEP) at the embedding output, between LSTM
 * layers and before the head; per row before a window model's fc2.
 */
import { headWidth } from "../model/config.ts";
import { dropoutMask, type DropoutSettings, dropoutSite } from "../model/dropout.ts";
import type { DoctorShapes } from "./shapes.ts";
import { EXACT } from "./tolerance.ts";

/** The same elements kept, times the same float32 scale: equal bit for bit. */
export const DROPOUT_TOLERANCE = EXACT;

/** `x` with its first `used` elements times the mask of `site` at optimizer step `step`; the rest as they are. */
export function dropoutReference(
  x: Float32Array,
  settings: DropoutSettings,
  step: number,
  site: number,
  used: number,
): Float32Array {
  const mask = dropoutMask(settings, step, site, used);
  return x.map((v, i) => (i < used ? v * mask[i] : v));
}

/** A model's dropout pass: its activation's rows, positions and width, and the Tb of each step run. */
export interface DropoutModelCase {
  rows: number;
  /** Positions per row the buffers hold; 0: one row per window (per row, not per position). */
  maxSteps: number;
  width: number;
  site: number;
  /** Each run's positions (the step uniform's Tb). */
  steps: number[];
  model: "window" | "headline";
  label: string;
}

/**
 * The window model's passes (the embedding output and the head's input per position of its window, fc2's
 * input per row) and the headline model's (the embedding output and between its layers, at a full and a
 * short batch's positions).
 */
export function modelDropoutCases(shapes: DoctorShapes): DropoutModelCase[] {
  const { model, batch: B } = shapes;
  const { window, embed: E, hidden: H, layers: L } = model;
  const cases: DropoutModelCase[] = [
    {
      rows: B,
      maxSteps: window,
      width: E,
      site: dropoutSite.embedding,
      steps: [window],
      model: "window",
      label: "embedding output",
    },
    {
      rows: B,
      maxSteps: window,
      width: H,
      site: dropoutSite.fc1Input(L),
      steps: [window],
      model: "window",
      label: "fc1 input",
    },
  ];
  if (headWidth(model) > 0) {
    cases.push({
      rows: B,
      maxSteps: 0,
      width: headWidth(model),
      site: dropoutSite.fc2Input(L),
      steps: [1],
      model: "window",
      label: "fc2 input",
    });
  }
  const { model: hm, steps, lastSteps } = shapes.headline;
  cases.push({
    rows: B,
    maxSteps: steps,
    width: hm.embed,
    site: dropoutSite.embedding,
    steps: [steps, lastSteps],
    model: "headline",
    label: "headline embedding output",
  });
  if (hm.layers > 1) {
    cases.push({
      rows: B,
      maxSteps: steps,
      width: hm.hidden,
      site: dropoutSite.lstmInput(1),
      steps: [steps, lastSteps],
      model: "headline",
      label: "headline layer 1 input",
    });
  }
  return cases;
}
