/**
 * torch.nn.utils.clip_grad_norm_ on the CPU: the reference the GPU's reduction (shaders/grad_norm*.wgsl) and
 * its use in Adam (shaders/adam.wgsl) are checked against.
 */

/** What torch 1.13 adds to the norm before dividing by it (clip_grad_norm_'s own constant). */
export const CLIP_EPS = 1e-6;

/** The 2-norm of all of `grads` together, summed in float64. */
export function gradNorm(grads: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < grads.length; i++) sum += grads[i] * grads[i];
  return Math.sqrt(sum);
}

/**
 * The factor clip_grad_norm_ multiplies every gradient by: min(maxNorm / (norm + 1e-6), 1), so gradients
 * whose norm is below maxNorm stay as they are.
 */
export function clipScale(norm: number, maxNorm: number): number {
  return Math.min(maxNorm / (norm + CLIP_EPS), 1);
}

/**
 * Scales `grads` in place as torch.nn.utils.clip_grad_norm_(params, maxNorm) does (one global 2-norm over
 * every gradient); returns the norm before clipping, as torch does.
 */
export function clipGradNorm(grads: Float32Array, maxNorm: number): number {
  const norm = gradNorm(grads);
  const scale = clipScale(norm, maxNorm);
  if (scale < 1) {
    for (let i = 0; i < grads.length; i++) grads[i] *= scale;
  }
  return norm;
}
