/**
 * What a training run reports as it goes, and how it reads as text. Where it goes is the platform's: a
 * redrawn terminal line or plain log lines under Deno (src/deno/progress.ts), an element in a web page.
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
