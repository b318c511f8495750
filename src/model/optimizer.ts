/**
 * The optimizer as the model defines it, whichever backend runs it: torch.optim.Adam's hyperparameters and
 * the state an exact resume needs (Adam's in the checkpoint's optimizer.safetensors; the learning-rate
 * schedule's in its config.json).
 */

/**
 * Adam's hyper-parameters, named as torch.optim.Adam's, and the gradient clipping that precedes its step
 * (part of the optimizer step here, so that the GPU clips without reading the norm back).
 */
export interface AdamHyper {
  /** The learning rate. */
  lr: number;
  /** The first moment's decay. */
  beta1: number;
  /** The second moment's decay. */
  beta2: number;
  /** Added to the second moment's square root. */
  eps: number;
  /** L2 weight decay (torch.optim.Adam's, added to the gradient); 0: none. */
  weightDecay: number;
  /**
   * Clip the gradients first as torch.nn.utils.clip_grad_norm_(params, clip): scaled by
   * min(clip / (norm + 1e-6), 1), norm = the 2-norm of all gradients together. Absent: no clipping.
   */
  clip?: number;
}

/** torch.optim.Adam's defaults. */
export const ADAM_DEFAULTS: AdamHyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/** Adam's moments, flat in paramLayout order, and its step count (the number of steps taken). */
export interface AdamState {
  /** First moments, one per parameter. */
  m: Float32Array;
  /** Second moments, one per parameter. */
  v: Float32Array;
  /** Steps taken (Adam's t). */
  adamStep: number;
}

/**
 * Where the learning-rate schedule and early stopping (src/train/schedule.ts) stand after an epoch end: what
 * a resumed run needs to continue them exactly.
 */
export interface ScheduleState {
  /** The learning rate the next optimizer step takes. */
  lr: number;
  /** ReduceLROnPlateau's best validation loss (Infinity before the first one). */
  plateauBest: number;
  /** ReduceLROnPlateau's count of epochs since plateauBest last improved by more than its threshold. */
  badEpochs: number;
  /** Epochs since the validation loss was last below every earlier one (early stopping). */
  sinceBest: number;
}
