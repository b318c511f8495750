/**
 * The losses of queued training steps. A backend keeps each step's loss on the device; the loop reads them
 * back together every `logEvery` steps (each readback is a round trip). Reading them records each step,
 * adds it to its epoch's mean, stops the run at the first loss that is not finite, and reports progress
 * from steps known to be done, never from steps merely queued.
 */
import type { Backend } from "../model/backend.ts";
import type { MetricRecord } from "../io/metrics.ts";
import { type ProgressSink, StepPace } from "./progress.ts";
import { setting, UserError, words } from "../errors.ts";

/** A queued step: its epoch and step (1-based), and how many targets its loss is the mean of. */
export interface QueuedStep {
  epoch: number;
  step: number;
  targets: number;
}

/** What the queue reports to, and what its progress figures are out of. */
export interface LossQueueSettings {
  epochs: number;
  totalSteps: number;
  /** The step the run starts from (a resumed run's), where the pace's clock starts. */
  firstStep: number;
  record(rec: MetricRecord): Promise<void>;
  progress: ProgressSink;
  /** Where the last checkpoint was saved (null: none yet), for the message when a loss is not finite. */
  lastSaved(): string | null;
}

/** The learning rate, as the message about a loss that is not finite suggests lowering it. */
const LEARNING_RATE = setting("lr", "learning rate");

/** The losses of the steps queued since the last readback, and the sums they go into. */
export class LossQueue {
  readonly #backend: Backend;
  readonly #settings: LossQueueSettings;
  #pending: QueuedStep[] = [];
  // An epoch's mean loss weighs each step's mean by its targets (a pair has one, a headline row several).
  #epochLossSum = 0;
  #epochTargets = 0;
  #targetsRead = 0;
  #lastLoss = NaN;
  // The clock starts once the backend is ready: shader compilation is not training time.
  readonly #started = performance.now();
  readonly #pace: StepPace;

  constructor(backend: Backend, settings: LossQueueSettings) {
    this.#backend = backend;
    this.#settings = settings;
    this.#pace = new StepPace(settings.firstStep, 0);
  }

  /** The last loss read back (NaN before the first). */
  get lastLoss(): number {
    return this.#lastLoss;
  }

  /** The current epoch's mean loss over the steps read so far. */
  get epochLoss(): number {
    return this.#epochLossSum / Math.max(1, this.#epochTargets);
  }

  /** Seconds since the queue was made (when training started). */
  get seconds(): number {
    return (performance.now() - this.#started) / 1000;
  }

  /** Steps queued and not yet read back. */
  get length(): number {
    return this.#pending.length;
  }

  /**
   * Starts an epoch's mean: from nothing, or, for a run resumed mid-epoch, from the losses the epoch's
   * steps before the interruption had (with their targets), in order.
   */
  beginEpoch(earlier: ReadonlyArray<{ loss: number; targets: number }> = []): void {
    this.#epochLossSum = 0;
    this.#epochTargets = 0;
    for (const { loss, targets } of earlier) {
      this.#epochLossSum += loss * targets;
      this.#epochTargets += targets;
    }
  }

  /** A step whose loss the backend has queued. */
  push(step: QueuedStep): void {
    this.#pending.push(step);
  }

  /** Reads the queued losses back: records them, adds them to the epoch's mean, reports progress. */
  async flush(): Promise<void> {
    const pending = this.#pending;
    if (!pending.length) return;
    const losses = await this.#backend.takeLosses();
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i];
      const loss = losses[i];
      if (!Number.isFinite(loss)) {
        throw new UserError(
          words`loss became ${loss} at step ${p.step} (epoch ${p.epoch}): stopping; the last good checkpoint is ${
            this.#settings.lastSaved() ?? "none (no checkpoint was saved yet)"
          }; try a lower ${LEARNING_RATE}`,
        );
      }
      await this.#settings.record({ epoch: p.epoch, step: p.step, loss });
      this.#epochLossSum += loss * p.targets;
      this.#epochTargets += p.targets;
      this.#targetsRead += p.targets;
      this.#lastLoss = loss;
    }
    const last = pending[pending.length - 1];
    const elapsed = this.seconds;
    const { epochs, totalSteps } = this.#settings;
    this.#pace.mark(last.step, elapsed);
    this.#settings.progress.update({
      epoch: last.epoch,
      epochs,
      step: last.step,
      totalSteps,
      loss: this.#lastLoss,
      pairsPerSecond: this.#targetsRead / Math.max(elapsed, 1e-9),
      etaSeconds: this.#pace.etaSeconds(totalSteps - last.step),
    });
    this.#pending = [];
  }
}
