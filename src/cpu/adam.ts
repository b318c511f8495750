/** torch.optim.Adam on the CPU: the reference the GPU kernel (shaders/adam.wgsl) is checked against. */
import type { AdamHyper } from "../model/optimizer.ts";

/**
 * One Adam step exactly as torch.optim.Adam (t counts from 1): bias corrections applied to the step size
 * and to sqrt(v), eps added after the correction, L2 weight decay folded into the gradient.
 */
export function adamStep(
  params: Float32Array,
  grads: Float32Array,
  m: Float32Array,
  v: Float32Array,
  t: number,
  h: AdamHyper,
): void {
  const bc1 = 1 - Math.pow(h.beta1, t);
  const bc2Sqrt = Math.sqrt(1 - Math.pow(h.beta2, t));
  const stepSize = h.lr / bc1;
  for (let i = 0; i < params.length; i++) {
    const g = h.weightDecay ? grads[i] + h.weightDecay * params[i] : grads[i];
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    params[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / bc2Sqrt + h.eps);
  }
}
