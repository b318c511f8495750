/**
 * Adam's and the gradient norm's facts (shaders/adam.wgsl, grad_norm*.wgsl against src/cpu/adam.ts and
 * src/cpu/grad_norm.ts): their tolerances.
 */
import type { Tolerance } from "./tolerance.ts";

/**
 * Adam after a few steps, float32 on the GPU against float64 rounded to float32 per step in the reference:
 * each step moves a parameter by about lr = 1e-3, so a few float32 ulps of values near 1 on the parameters,
 * and rtol 1e-5 on the moments, whose absolute floor scales with the gradients' size (v with its square).
 */
export function adamTolerance(gradScale = 1): { params: Tolerance; m: Tolerance; v: Tolerance } {
  return {
    params: { atol: 1e-6, rtol: 1e-6 },
    m: { atol: 1e-7 * gradScale, rtol: 1e-5 },
    v: { atol: 1e-9 * gradScale ** 2, rtol: 1e-5 },
  };
}

/**
 * The 2-norm of all gradients, a float32 sum of squares (no cancellation) against float64: measured 7.8e-8
 * relative on lavapipe; a missing partial (a workgroup's share, a chunk) moves it by 1e-3 or more.
 */
export const GRAD_NORM_TOLERANCE: Tolerance = { atol: 0, rtol: 1e-6 };
