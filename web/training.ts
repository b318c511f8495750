/**
 * One training run in the page, on the core's train() as `deno task train` runs it; what the CLI writes
 * to a run directory is kept here instead: metric records (for the chart), checkpoints encoded as their
 * files (for download, and for resuming), progress (for the status line). Pause asks the loop to stop
 * (TrainHooks.stopRequested): it finishes the step, saves and returns; resume decodes the saved
 * checkpoint's files and continues from them exactly as `train --resume` does from the directory.
 */
import {
  type Backend,
  type Checkpoint,
  type CheckpointKind,
  decodeCheckpoint,
  encodeCheckpoint,
  type MetricRecord,
  type ProgressState,
  train,
  type TrainResult,
  UserError,
} from "../core.ts";
import type { TrainSetup } from "./train_form.ts";

/** A checkpoint as the files `deno task predict` and `train --resume` read (name, bytes). */
export type CheckpointFileList = Array<[string, Uint8Array]>;

/** What a run tells the page as it goes. */
export interface TrainingListener {
  progress(state: ProgressState): void;
  status(text: string): void;
  line(text: string): void;
  record(records: readonly MetricRecord[]): void;
  saved(kind: CheckpointKind, files: CheckpointFileList): void;
}

export type RunState = "running" | "paused" | "done" | "failed";

export class TrainingRun {
  readonly setup: TrainSetup;
  readonly records: MetricRecord[] = [];
  readonly saved = new Map<CheckpointKind, CheckpointFileList>();
  state: RunState = "running";
  #backend: Backend;
  #listener: TrainingListener;
  #pauseRequested = false;

  constructor(setup: TrainSetup, backend: Backend, listener: TrainingListener) {
    this.setup = setup;
    this.#backend = backend;
    this.#listener = listener;
  }

  /** Trains from the setup's initial weights. */
  start(): Promise<TrainResult> {
    return this.#run({ params: this.setup.params });
  }

  /** Asks the loop to stop after the current step; it saves a checkpoint and start/resume resolves. */
  pause(): void {
    this.#pauseRequested = true;
  }

  /** Continues a paused run from its saved checkpoint, as `train --resume` does. */
  async resume(): Promise<TrainResult> {
    if (this.state !== "paused") throw new Error(`cannot resume a run that is ${this.state}`);
    const checkpoint = await this.checkpoint("checkpoint");
    if (!checkpoint?.optimizer || !checkpoint.progress) {
      throw new UserError("the paused run saved no training state: cannot resume it");
    }
    this.#pauseRequested = false;
    // As the CLI keeps metrics.jsonl only through the checkpoint's step.
    const through = checkpoint.progress.step;
    const kept = this.records.filter((r) => r.step === undefined || r.step <= through);
    this.records.splice(0, this.records.length, ...kept);
    return this.#run({
      params: checkpoint.params,
      resume: { checkpoint, from: "checkpoint", history: [...this.records] },
    });
  }

  /** The saved checkpoint of this kind, decoded from its files as predict and --resume decode them. */
  async checkpoint(kind: CheckpointKind): Promise<Checkpoint | null> {
    const files = this.saved.get(kind);
    if (!files) return null;
    const byName = new Map(files);
    return await decodeCheckpoint({
      where: kind,
      path: (name) => `${kind}/${name}`,
      read: (name) => Promise.resolve(byName.get(name) ?? null),
    });
  }

  destroy(): void {
    this.#backend.destroy();
  }

  async #run(start: Parameters<typeof train>[2]): Promise<TrainResult> {
    this.state = "running";
    const l = this.#listener;
    try {
      const result = await train(this.#backend, this.setup.data, start, this.setup.plan.options, {
        save: async (ck, kind) => {
          const files = await encodeCheckpoint(ck);
          this.saved.set(kind, files);
          l.saved(kind, files);
          return kind; // how the loop's messages name it ("last checkpoint: checkpoint")
        },
        record: (rec) => {
          this.records.push(rec);
          l.record(this.records);
          return Promise.resolve();
        },
        progress: {
          update: (s) => l.progress(s),
          status: (text) => l.status(text),
          line: (text) => l.line(text),
          done: () => {},
        },
        stopRequested: () => this.#pauseRequested,
      });
      this.state = result.stopped === "interrupted" ? "paused" : "done";
      return result;
    } catch (e) {
      this.state = "failed";
      throw e;
    }
  }
}
