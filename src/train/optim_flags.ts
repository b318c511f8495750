/**
 * The training flags of the optimisation around Adam: gradient-norm clipping, a learning-rate schedule and
 * early stopping, turned into TrainOptions fields with one-line errors (the flags themselves are declared in
 * the plan's table, src/plan/train_flags.ts, and planned by src/plan/train_plan.ts).
 *
 *   --clip MAX_NORM         torch.nn.utils.clip_grad_norm_(params, MAX_NORM) before every step
 *   --lr-step-every N       StepLR: multiply the learning rate by --lr-step-factor (0.1) every N epochs
 *   --lr-plateau PATIENCE   ReduceLROnPlateau on the validation loss, by --lr-plateau-factor (0.1)
 *   --early-stop N          stop after N epochs without a lower validation loss
 */
import { USAGE_EXIT, UserError } from "../errors.ts";
import { numberFlag } from "../flag_values.ts";
import type { LrSchedule } from "./schedule.ts";

/** torch's default gamma of StepLR and factor of ReduceLROnPlateau. */
export const DEFAULT_LR_FACTOR = 0.1;

/** The flags this module reads (declared with their help in src/plan/train_flags.ts). */
export type OptimFlag =
  | "clip"
  | "lr-step-every"
  | "lr-step-factor"
  | "lr-plateau"
  | "lr-plateau-factor"
  | "early-stop";

/** What the flags set in TrainOptions (each absent when off). */
export interface OptimOptions {
  clip?: number;
  schedule?: LrSchedule;
  earlyStop?: number;
}

/**
 * The options from the flags' values (`get` returns a flag's value, or undefined when not given); one-line
 * usage errors for a bad value, a factor without its schedule, or both schedules at once.
 */
export function optimOptions(get: (flag: OptimFlag) => string | undefined): OptimOptions {
  const opts: OptimOptions = {};
  const clip = get("clip");
  if (clip !== undefined) opts.clip = numberFlag("clip", clip, 0, "positive number");
  const schedules: LrSchedule[] = [];
  for (
    const [flag, factorFlag, kind] of [
      ["lr-step-every", "lr-step-factor", "step"],
      ["lr-plateau", "lr-plateau-factor", "plateau"],
    ] as const
  ) {
    const value = get(flag);
    const factorValue = get(factorFlag);
    if (value === undefined) {
      if (factorValue !== undefined) {
        throw new UserError(`--${factorFlag} only applies with --${flag} N`, USAGE_EXIT);
      }
      continue;
    }
    // A step size of 0 would decay every epoch's start forever; a patience of 0 is torch's "reduce after the
    // first epoch without improvement".
    const n = numberFlag(flag, value, 0, kind === "plateau" ? "non-negative integer" : "positive integer");
    const factor = numberFlag(factorFlag, factorValue, DEFAULT_LR_FACTOR, "number in (0, 1)");
    schedules.push(kind === "step" ? { kind, every: n, factor } : { kind, patience: n, factor });
  }
  if (schedules.length > 1) {
    throw new UserError("--lr-step-every and --lr-plateau are two schedules: give one of them", USAGE_EXIT);
  }
  if (schedules.length) opts.schedule = schedules[0];
  const earlyStop = get("early-stop");
  if (earlyStop !== undefined) opts.earlyStop = numberFlag("early-stop", earlyStop, 0, "positive integer");
  return opts;
}

/**
 * Refuses what needs a validation loss every epoch (reduce-on-plateau, early stopping) on data without a
 * validation split: one line naming the flag.
 */
export function requireValidation(opts: OptimOptions, hasValidation: boolean): void {
  if (hasValidation) return;
  const flag = opts.schedule?.kind === "plateau"
    ? "--lr-plateau"
    : opts.earlyStop !== undefined
    ? "--early-stop"
    : undefined;
  if (flag) {
    throw new UserError(
      `${flag} needs validation data, and this data has no validation split: give --val-fraction F`,
      USAGE_EXIT,
    );
  }
}

/**
 * A resumed run with a schedule goes on at its schedule's learning rate: an --lr given now that differs from
 * the one the run started with is refused rather than silently ignored.
 */
export function checkResumedLr(opts: OptimOptions, lrNow: string | undefined, recordedLr: unknown): void {
  if (!opts.schedule || lrNow === undefined || Number(lrNow) === Number(recordedLr)) return;
  throw new UserError(
    `--lr ${lrNow} differs from the run's ${recordedLr}: a resumed run with a learning-rate schedule ` +
      "goes on at its schedule's learning rate (start a new run for another --lr)",
  );
}
