/**
 * Learning-rate schedules and early stopping, stepped at epoch ends with PyTorch's meaning:
 *
 * - step decay, as torch.optim.lr_scheduler.StepLR(step_size, gamma): after every step_size-th epoch the
 *   learning rate is multiplied by gamma, so epoch e + 1 trains at lr0 · gamma^floor(e / step_size)
 *   (computed as torch computes it, by repeated multiplication, so the two agree to the bit);
 * - reduce-on-plateau on the validation loss, as ReduceLROnPlateau(mode="min", factor, patience,
 *   threshold=1e-4, threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8);
 * - early stopping: the run ends after N epochs in a row whose validation loss is not below the best so far
 *   (the rule that picks the best/ checkpoint, which then holds the model to keep).
 *
 * Pure: the state is a plain ScheduleState that the checkpoint saves, so a resumed run goes on exactly.
 */
import type { ScheduleState } from "../model/optimizer.ts";

/** A learning-rate schedule stepped at epoch ends (torch's StepLR or ReduceLROnPlateau). */
export type LrSchedule =
  /** StepLR: multiply by `factor` after every `every`-th epoch. */
  | { kind: "step"; every: number; factor: number }
  /** ReduceLROnPlateau: multiply by `factor` after more than `patience` epochs without improvement. */
  | { kind: "plateau"; patience: number; factor: number };

/** ReduceLROnPlateau's defaults that are not flags: a relative improvement of 1e-4 counts, no cooldown. */
export const PLATEAU_THRESHOLD = 1e-4;
/** ReduceLROnPlateau skips a reduction smaller than this (torch's eps). */
export const PLATEAU_EPS = 1e-8;

/** Whether a schedule needs a validation loss at every epoch end. */
export function needsValidation(schedule: LrSchedule | undefined, earlyStop: number | undefined): boolean {
  return schedule?.kind === "plateau" || earlyStop !== undefined;
}

/** A run's state before its first epoch: learning rate `lr`, nothing seen yet. */
export function initialSchedule(lr: number): ScheduleState {
  return { lr, plateauBest: Infinity, badEpochs: 0, sinceBest: 0 };
}

/**
 * The state after epoch `epoch` (counting from 1) ended with validation loss `valLoss` (undefined without
 * validation data), `improved` saying whether it is below every earlier one. The schedule's step comes
 * after the epoch, so the new lr is the next epoch's.
 */
export function scheduleEpochEnd(
  schedule: LrSchedule | undefined,
  state: ScheduleState,
  epoch: number,
  valLoss: number | undefined,
  improved: boolean,
): ScheduleState {
  const next = { ...state, sinceBest: valLoss === undefined ? 0 : improved ? 0 : state.sinceBest + 1 };
  if (schedule?.kind === "step") {
    if (epoch % schedule.every === 0) next.lr = state.lr * schedule.factor;
  } else if (schedule?.kind === "plateau") {
    if (valLoss === undefined) throw new Error("reduce-on-plateau needs a validation loss every epoch");
    if (valLoss < state.plateauBest * (1 - PLATEAU_THRESHOLD)) {
      next.plateauBest = valLoss;
      next.badEpochs = 0;
    } else {
      next.badEpochs = state.badEpochs + 1;
    }
    if (next.badEpochs > schedule.patience) {
      const reduced = Math.max(state.lr * schedule.factor, 0); // min_lr 0
      if (state.lr - reduced > PLATEAU_EPS) next.lr = reduced;
      next.badEpochs = 0;
    }
  }
  return next;
}

/** Whether early stopping after `earlyStop` epochs without improvement ends the run now. */
export function earlyStopDue(earlyStop: number | undefined, state: ScheduleState): boolean {
  return earlyStop !== undefined && state.sinceBest >= earlyStop;
}
