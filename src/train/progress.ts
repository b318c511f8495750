/**
 * Progress for long runs: a single redrawn line on a terminal (epoch, step, loss, pairs/s, ETA), plain
 * lines otherwise (logs, CI), nothing with --quiet.
 */
export interface ProgressState {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  loss: number;
  pairsPerSecond: number;
  etaSeconds: number;
}

export class Progress {
  readonly #tty: boolean;
  readonly #quiet: boolean;
  #lastPlain = 0;
  #drawn = false;

  constructor(quiet: boolean, tty = Deno.stderr.isTerminal()) {
    this.#quiet = quiet;
    this.#tty = tty;
  }

  /** Redraws the bar (TTY) or prints a line at most every 2 seconds (otherwise). */
  update(s: ProgressState, force = false): void {
    if (this.#quiet) return;
    const text = formatProgress(s);
    if (this.#tty) {
      const width = 24;
      const done = Math.round(width * Math.min(1, s.step / Math.max(1, s.totalSteps)));
      const bar = "#".repeat(done) + "-".repeat(width - done);
      Deno.stderr.writeSync(new TextEncoder().encode(`\r[${bar}] ${text}\x1b[K`));
      this.#drawn = true;
      return;
    }
    const now = performance.now();
    if (force || now - this.#lastPlain > 2000) {
      this.#lastPlain = now;
      console.error(text);
    }
  }

  /** A line that stays (epoch summaries, messages), printed below the bar. */
  line(text: string): void {
    if (this.#quiet) return;
    if (this.#tty && this.#drawn) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
    console.error(text);
  }

  /** Ends the redrawn line so later output starts on its own line. */
  done(): void {
    if (this.#tty && this.#drawn && !this.#quiet) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
    this.#drawn = false;
  }
}

export function formatProgress(s: ProgressState): string {
  return `epoch ${s.epoch}/${s.epochs} step ${s.step}/${s.totalSteps} loss ${s.loss.toFixed(4)} ` +
    `${s.pairsPerSecond.toFixed(0)} pairs/s ETA ${formatDuration(s.etaSeconds)}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
