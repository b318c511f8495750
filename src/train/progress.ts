/**
 * What a training run reports as it goes, and how it reads as text. Where it goes is the platform's: a
 * redrawn terminal line or plain log lines under Deno (src/deno/progress.ts), an element in a web page.
 */
export interface ProgressState {
  /** The epoch being trained, counted from 1. */
  epoch: number;
  /** Epochs in the run. */
  epochs: number;
  /** The last step read back. */
  step: number;
  /** Steps in the run (epochs * steps per epoch, or --max-steps). */
  totalSteps: number;
  /** That step's loss. */
  loss: number;
  /** Training pairs per second so far. */
  pairsPerSecond: number;
  /** Time left at the pace of the recent steps; NaN until that pace is known (shown as "?"). */
  etaSeconds: number;
}

/** Where a run's progress goes (a terminal, a web page); every method returns at once. */
export interface ProgressSink {
  /** The figures after the latest steps whose losses were read back (never steps merely queued). */
  update(s: ProgressState): void;
  /** A transient note of what the run is waiting for (e.g. shader compilation), replaced by the next update. */
  status(text: string): void;
  /** A line that stays (epoch summaries, messages). */
  line(text: string): void;
  /** Ends the run's progress output. */
  done(): void;
}

/** One line for a progress state: "epoch 1/40 step 10/400 loss 4.3012 900 pairs/s ETA 35s". */
export function formatProgress(s: ProgressState): string {
  return `epoch ${s.epoch}/${s.epochs} step ${s.step}/${s.totalSteps} loss ${s.loss.toFixed(4)} ` +
    `${s.pairsPerSecond.toFixed(0)} pairs/s ETA ${formatDuration(s.etaSeconds)}`;
}

/** Seconds as a short duration ("35s", "2m05s", "1h02m"); "?" when not finite. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * The pace of recent steps, for the time left: the steps and seconds between the last few loss readbacks.
 * The first interval of a run (or of a resumed run) is left out as soon as a later one is known: its steps
 * carry the adapter's first-use shader compilation and warm-up, seconds each on a software adapter, so an
 * estimate from them said minutes for a run that took seconds. Until a second readback, the pace is unknown.
 */
export class StepPace {
  /** (step, seconds) at the start and at each readback since, the oldest dropped past `window` intervals. */
  readonly #marks: Array<{ step: number; seconds: number }>;
  readonly #window: number;
  #warm = false;

  constructor(step: number, seconds: number, window = 8) {
    this.#marks = [{ step, seconds }];
    this.#window = window;
  }

  /** The steps up to `step` have been read back at `seconds`. */
  mark(step: number, seconds: number): void {
    this.#marks.push({ step, seconds });
    // The first interval (start to first readback) is dropped once a second one exists.
    if (!this.#warm && this.#marks.length === 3) {
      this.#marks.shift();
      this.#warm = true;
    }
    if (this.#marks.length > this.#window + 1) this.#marks.shift();
  }

  /** Seconds for `remaining` more steps at the recent pace: 0 when none remain, NaN while unknown. */
  etaSeconds(remaining: number): number {
    if (remaining <= 0) return 0;
    if (!this.#warm) return NaN;
    const first = this.#marks[0], last = this.#marks[this.#marks.length - 1];
    return (last.seconds - first.seconds) / (last.step - first.step) * remaining;
  }
}
