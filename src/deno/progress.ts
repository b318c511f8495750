/**
 * Training progress on a terminal: a single redrawn line on a TTY (bar, epoch, step, loss, pairs/s, ETA),
 * plain lines at most every 2 seconds otherwise (logs, CI), nothing with --quiet.
 */
import { formatProgress, type ProgressSink, type ProgressState } from "../train/progress.ts";

export class TerminalProgress implements ProgressSink {
  readonly #tty: boolean;
  readonly #quiet: boolean;
  #lastPlain = 0;
  #drawn = false;

  constructor(quiet: boolean, tty = Deno.stderr.isTerminal()) {
    this.#quiet = quiet;
    this.#tty = tty;
  }

  update(s: ProgressState): void {
    if (this.#quiet) return;
    const text = formatProgress(s);
    if (this.#tty) {
      const width = 24;
      const done = Math.round(width * Math.min(1, s.step / Math.max(1, s.totalSteps)));
      this.#draw(`[${"#".repeat(done)}${"-".repeat(width - done)}] ${text}`);
      return;
    }
    const now = performance.now();
    if (now - this.#lastPlain > 2000) {
      this.#lastPlain = now;
      console.error(text);
    }
  }

  status(text: string): void {
    if (!this.#quiet && this.#tty) this.#draw(`${text}...`);
  }

  line(text: string): void {
    if (this.#quiet) return;
    if (this.#tty && this.#drawn) this.#write("\r\x1b[K");
    this.#drawn = false;
    console.error(text);
  }

  done(): void {
    if (this.#tty && this.#drawn && !this.#quiet) this.#write("\n");
    this.#drawn = false;
  }

  #draw(text: string): void {
    this.#write(`\r${text}\x1b[K`);
    this.#drawn = true;
  }

  #write(text: string): void {
    Deno.stderr.writeSync(new TextEncoder().encode(text));
  }
}
