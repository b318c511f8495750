/**
 * The training loop, the same for every Backend and every platform: epochs of batches in file or shuffled
 * order, losses read back only at log points, a record per step and per epoch, checkpoints at epoch ends,
 * on a stop request and at the end (and the best by validation), exact resume, a NaN guard, and the
 * optimisation around Adam: gradient clipping, a learning-rate schedule and early stopping
 * (src/train/schedule.ts), whose state the checkpoints carry. Where the records and checkpoints go, and
 * what asks it to stop, are the platform's (TrainHooks): files and Ctrl-C under Deno
 * (src/deno/train_run.ts), a chart, downloads and a pause button in a web page.
 */
import { epochOrder } from "./order.ts";
import type { Backend } from "../model/backend.ts";
import type { Dataset } from "../data/types.ts";
import { type ModelRows, modelRows } from "../data/rows.ts";
import { modelKind } from "../model/config.ts";
import { Rng } from "../model/rng.ts";
import { ADAM_DEFAULTS, type AdamHyper, type ScheduleState } from "../model/optimizer.ts";
import type { Checkpoint, TrainProgress } from "../io/checkpoint.ts";
import type { MetricRecord } from "../io/metrics.ts";
import type { SampleRecord } from "../io/samples.ts";
import type { ProgressSink } from "./progress.ts";
import { LossQueue } from "./loss_queue.ts";
import { drawSamples, type SampleSettings } from "./samples.ts";
import { errorLine, UserError } from "../errors.ts";
import type { DropoutSettings } from "../model/dropout.ts";
import {
  earlyStopDue,
  initialSchedule,
  type LrSchedule,
  needsValidation,
  scheduleEpochEnd,
} from "./schedule.ts";

/**
 * How train() runs: the epochs and batches, the optimizer and its schedule, when to save and read back, and
 * what to record.
 */
export interface TrainOptions {
  /** Epochs to complete in all (a resumed run counts the ones done). */
  epochs: number;
  /** Rows per optimizer step. */
  batch: number;
  /** The learning rate (the first one, with a schedule). */
  lr: number;
  /** Clip gradients as torch.nn.utils.clip_grad_norm_(params, clip) before each step (absent: never). */
  clip?: number;
  /** The learning-rate schedule, stepped at epoch ends (absent: lr throughout). */
  schedule?: LrSchedule;
  /** End the run after this many epochs without a lower validation loss (absent: never). */
  earlyStop?: number;
  /** Seeds the shuffle, dropout's masks and the samples. */
  seed: number;
  /** Shuffle the rows every epoch (false: file order, the notebook's). */
  shuffle: boolean;
  /** Bucket shuffled rows by length, this many batches a bucket (src/train/order.ts; absent: no buckets). */
  bucket?: number;
  /** Stop after this many optimizer steps in total (counted across resumes). */
  maxSteps?: number;
  /** Save a checkpoint every N epochs (and always at the end and on a stop request). */
  saveEvery: number;
  /** Read losses back every N steps (each readback is a GPU round trip). */
  logEvery: number;
  /** Flags to record in the checkpoint's config.json. */
  flags: Record<string, unknown>;
  /** Generate sample headlines at every samples.every-th epoch end (absent: never). */
  samples?: SampleSettings;
  /** Dropout rate of training steps (src/model/dropout.ts; absent or 0: none), masks seeded by `seed`. */
  dropout?: number;
}

/** Which checkpoint a save writes: the latest, or the one with the lowest validation loss. */
export type CheckpointKind = "checkpoint" | "best";

/** What the platform does with what training produces. */
export interface TrainHooks {
  /** Stores `ck` as the latest checkpoint or the best one; resolves to where it is (for messages). */
  save(ck: Checkpoint, kind: CheckpointKind): Promise<string>;
  /** Records one metric record (step or epoch), in order. */
  record(rec: MetricRecord): Promise<void>;
  /**
   * Stores an epoch's generated samples (with TrainOptions.samples). They come before that epoch's
   * checkpoint, like its metric record, so a run killed between the two writes them again on resume.
   */
  samples?(records: SampleRecord[]): Promise<void>;
  /** Where progress is reported. */
  progress: ProgressSink;
  /** True once the run should stop at the next step boundary, save and return "interrupted". */
  stopRequested(): boolean;
}

/** How a run ended, and its figures. */
export interface TrainResult {
  /** Optimizer steps taken in all (a resumed run's included). */
  steps: number;
  /** Epochs completed in all. */
  epochs: number;
  /** The last step loss read back. */
  lastLoss: number;
  /** The last completed epoch's mean training loss. */
  lastEpochLoss: number;
  /** The last validation loss (with a validation split). */
  valLoss?: number;
  /** Seconds this call trained (shader compilation not counted). */
  seconds: number;
  /** Training pairs (or targets) per second in this call. */
  pairsPerSecond: number;
  /** "done" also when early stopping ended the run (then `earlyStop` says so). */
  stopped: "done" | "interrupted" | "max-steps";
  /** Set when early stopping ended the run: the epoch whose model best/ holds, and its validation loss. */
  earlyStop?: { bestEpoch: number; bestVal: number };
  /** Where the latest checkpoint was saved (as TrainHooks.save named it). */
  checkpoint: string;
}

/**
 * Where a run starts: fresh parameters (and zero Adam state), or a resumed checkpoint, where it is (as
 * TrainHooks.save names the latest checkpoint) and the records of the run so far (the current epoch's mean
 * loss covers the steps taken before the interruption).
 */
export interface StartState {
  /** The parameters to start from (a resumed run's checkpoint's). */
  params: Float32Array;
  /** The resumed checkpoint, where it was saved, and the metric records so far. */
  resume?: { checkpoint: Checkpoint; from: string; history: MetricRecord[] };
}

/**
 * Trains `backend` on `data` from `start` (fresh parameters or a resumed checkpoint) for `opts.epochs`,
 * handing what it produces to `hooks`; resolves when the run is done, was asked to stop, reached
 * `opts.maxSteps` or was stopped early. Bad settings and a loss that is not finite throw a UserError.
 */
export async function train(
  backend: Backend,
  data: Dataset,
  start: StartState,
  opts: TrainOptions,
  hooks: TrainHooks,
): Promise<TrainResult> {
  if (needsValidation(opts.schedule, opts.earlyStop) && data.val.count === 0) {
    throw new UserError(
      `${opts.earlyStop !== undefined ? "early stopping" : "reduce-on-plateau"} needs validation data, ` +
        "and this data has no validation split",
    );
  }
  const kind = modelKind(backend.config);
  const rows = modelRows(data, kind, "train");
  const valRows = data.val.count > 0 ? modelRows(data, kind, "val") : null;
  await prepareBackend(backend, start, rows, hooks.progress);
  const run = new TrainingRun(backend, data, { rows, val: valRows && valRows.count > 0 ? valRows : null }, {
    start,
    opts,
    hooks,
  });
  return await run.run();
}

/** Parameters, a resumed run's Adam state and the training rows onto the backend (it compiles its shaders). */
async function prepareBackend(backend: Backend, start: StartState, rows: ModelRows, progress: ProgressSink) {
  await backend.setParams(start.params);
  if (start.resume?.checkpoint.optimizer) await backend.setAdamState(start.resume.checkpoint.optimizer);
  progress.status("preparing the backend (compiling shaders)");
  const prepareStart = performance.now();
  await backend.setTrainData(rows.inputs, rows.targets, rows.count);
  const prepareSeconds = (performance.now() - prepareStart) / 1000;
  if (prepareSeconds >= 1) {
    progress.line(`backend ready in ${prepareSeconds.toFixed(1)} s (shader compilation)`);
  }
}

/** Where a run is: what a checkpoint's progress records (TrainProgress), the best loss kept as a number. */
interface Position {
  step: number;
  /** Completed epochs. */
  epoch: number;
  batchInEpoch: number;
  /** The Rng state at the start of the current epoch: the epoch's shuffle is redrawn from it on resume. */
  epochRng: Uint32Array;
  /** The lowest validation loss so far (Infinity: none yet). */
  bestVal: number;
  schedule: ScheduleState;
}

/** Where a run starts: at the beginning, or where its resumed checkpoint stopped. */
function startPosition(start: StartState, opts: TrainOptions): Position {
  const resumed = start.resume?.checkpoint.progress;
  return {
    step: resumed?.step ?? 0,
    epoch: resumed?.epoch ?? 0,
    batchInEpoch: resumed?.batchInEpoch ?? 0,
    epochRng: resumed ? resumed.rng : new Rng(opts.seed).state,
    bestVal: resumed?.bestVal ?? Infinity,
    // Without a schedule the lr is the one given now (a resumed run may be given another).
    schedule: opts.schedule && resumed?.schedule
      ? resumed.schedule
      : { ...initialSchedule(opts.lr), ...resumed?.schedule, lr: opts.lr },
  };
}

/** A run resumed mid-epoch: the losses of the epoch's steps taken before the interruption, in order. */
function earlierLosses(start: StartState, at: Position): number[] {
  if (at.batchInEpoch === 0) return [];
  return (start.resume?.history ?? []).filter((r) => r.epoch === at.epoch + 1 && r.loss !== undefined)
    .map((r) => r.loss!);
}

/**
 * One call of train(): the position (what a checkpoint records), where checkpoints went, and the figures of
 * the result, moved by epochs of steps (`#epochSteps`) and the policy at each epoch's end (`#endEpoch`:
 * validation, the schedule, samples, checkpoints, early stopping).
 */
class TrainingRun {
  readonly #backend: Backend;
  readonly #data: Dataset;
  readonly #rows: ModelRows;
  readonly #val: ModelRows | null;
  readonly #opts: TrainOptions;
  readonly #hooks: TrainHooks;
  readonly #at: Position;
  readonly #dropout: DropoutSettings | undefined;
  readonly #stepsPerEpoch: number;
  readonly #losses: LossQueue;
  #earlier: number[];
  // Where the newest checkpoint of either kind, and the latest one, are.
  #lastSaved: string | null;
  #latest: string | null;
  #pairsThisRun = 0;
  #lastEpochLoss = NaN;
  #valLoss: number | undefined;
  #stopped: TrainResult["stopped"] = "done";
  #earlyStop: TrainResult["earlyStop"];

  constructor(
    backend: Backend,
    data: Dataset,
    rows: { rows: ModelRows; val: ModelRows | null },
    run: { start: StartState; opts: TrainOptions; hooks: TrainHooks },
  ) {
    const { start, opts, hooks } = run;
    this.#backend = backend;
    this.#data = data;
    this.#rows = rows.rows;
    this.#val = rows.val;
    this.#opts = opts;
    this.#hooks = hooks;
    this.#at = startPosition(start, opts);
    this.#earlier = earlierLosses(start, this.#at);
    this.#dropout = opts.dropout ? { rate: opts.dropout, seed: opts.seed } : undefined;
    this.#stepsPerEpoch = Math.ceil(this.#rows.count / opts.batch);
    this.#lastSaved = start.resume?.from ?? null;
    this.#latest = this.#lastSaved;
    this.#losses = new LossQueue(backend, {
      epochs: opts.epochs,
      totalSteps: Math.min(opts.epochs * this.#stepsPerEpoch, opts.maxSteps ?? Infinity),
      firstStep: this.#at.step,
      record: (rec) => hooks.record(rec),
      progress: hooks.progress,
      lastSaved: () => this.#lastSaved,
    });
  }

  /** Epochs until done, stopped or stopped early; then the last checkpoint, and the result. */
  async run(): Promise<TrainResult> {
    const { epochs } = this.#opts;
    const at = this.#at;
    // A run that early stopping ended stays ended when resumed (a larger --early-stop lets it go on).
    if (at.batchInEpoch === 0 && earlyStopDue(this.#opts.earlyStop, at.schedule)) this.#stopEarly();
    // The epoch errors are reported in: `epoch` already counts an epoch during its evaluation and saves.
    let atEpoch = at.epoch + 1;
    try {
      while (at.epoch < epochs && this.#stopped === "done" && !this.#earlyStop) {
        atEpoch = at.epoch + 1;
        await this.#epoch();
      }
      this.#hooks.progress.done();
      if (this.#latest === null || this.#lastSaved !== this.#latest || this.#stopped !== "done") {
        await this.#save("checkpoint");
      }
    } catch (e) {
      this.#hooks.progress.done();
      if (e instanceof UserError) throw e;
      throw new Error(
        `${errorLine(e)} (at step ${at.step}, epoch ${atEpoch}; last checkpoint: ${
          this.#lastSaved ?? "none"
        })`,
      );
    }
    const seconds = this.#losses.seconds;
    return {
      steps: at.step,
      epochs: at.epoch,
      lastLoss: this.#losses.lastLoss,
      lastEpochLoss: this.#lastEpochLoss,
      valLoss: this.#valLoss,
      seconds,
      pairsPerSecond: this.#pairsThisRun / seconds,
      stopped: this.#stopped,
      ...(this.#earlyStop ? { earlyStop: this.#earlyStop } : {}),
      checkpoint: this.#latest!,
    };
  }

  /** The rest of the current epoch's steps, then, when it is complete, its end. */
  async #epoch(): Promise<void> {
    const at = this.#at;
    const epochStart = performance.now();
    const rng = new Rng(at.epochRng);
    const order = epochOrder(this.#rows.count, this.#rows.targetsPerRow, this.#opts, rng);
    await this.#backend.setOrder(order);
    const batchTargets = (b: number) => this.#batchTargets(order, b);
    this.#losses.beginEpoch(this.#earlier.map((loss, b) => ({ loss, targets: batchTargets(b) })));
    this.#earlier = [];
    const hyper = this.#hyper(); // the schedule moves the lr at epoch ends only
    const targetsBefore = this.#pairsThisRun;
    await this.#epochSteps(hyper, batchTargets);
    if (at.batchInEpoch < this.#stepsPerEpoch) {
      this.#stopped = this.#hooks.stopRequested() ? "interrupted" : "max-steps";
      return;
    }
    at.epoch++;
    at.batchInEpoch = 0;
    at.epochRng = rng.state;
    const seconds = (performance.now() - epochStart) / 1000;
    await this.#endEpoch(hyper.lr, (this.#pairsThisRun - targetsBefore) / seconds, seconds);
  }

  /** Steps from the epoch's next batch to its last, or to a stop request or `maxSteps`; losses read back. */
  async #epochSteps(hyper: AdamHyper, batchTargets: (b: number) => number): Promise<void> {
    const { batch, maxSteps, logEvery } = this.#opts;
    const at = this.#at;
    for (; at.batchInEpoch < this.#stepsPerEpoch; at.batchInEpoch++) {
      if (this.#hooks.stopRequested() || (maxSteps !== undefined && at.step >= maxSteps)) break;
      const first = at.batchInEpoch * batch;
      const size = Math.min(batch, this.#rows.count - first);
      this.#backend.trainStep(first, size, hyper, this.#dropout);
      at.step++;
      const targets = batchTargets(at.batchInEpoch);
      this.#pairsThisRun += targets;
      this.#losses.push({ epoch: at.epoch + 1, step: at.step, targets });
      if (this.#losses.length >= logEvery) await this.#losses.flush();
    }
    await this.#losses.flush();
  }

  /** The targets of batch b of an epoch in `order`. */
  #batchTargets(order: Int32Array, b: number): number {
    const { batch } = this.#opts;
    let n = 0;
    for (let i = b * batch; i < Math.min(this.#rows.count, (b + 1) * batch); i++) {
      n += this.#rows.targetsPerRow[order[i]];
    }
    return n;
  }

  /**
   * The policy at an epoch's end: the validation loss, the schedule's step, the epoch's record and line,
   * samples, the checkpoints due (the best, the latest every saveEvery epochs, at the last and at an early
   * stop), and early stopping.
   */
  async #endEpoch(lrUsed: number, pairsPerSecond: number, seconds: number): Promise<void> {
    const opts = this.#opts;
    const at = this.#at;
    const epoch = at.epoch;
    this.#lastEpochLoss = this.#losses.epochLoss;
    const rec: MetricRecord = {
      epoch,
      train_loss: this.#lastEpochLoss,
      lr: lrUsed,
      pairs_per_s: pairsPerSecond,
      seconds,
    };
    const val = this.#val;
    if (val) {
      this.#valLoss = await this.#backend.evalLoss(val.inputs, val.targets, val.count);
      rec.val_loss = this.#valLoss;
      rec.val_ppl = Math.exp(this.#valLoss);
    }
    const valLoss = this.#valLoss;
    const improved = valLoss !== undefined && valLoss < at.bestVal;
    at.schedule = scheduleEpochEnd(opts.schedule, at.schedule, epoch, valLoss, improved);
    await this.#hooks.record(rec);
    this.#hooks.progress.line(
      `epoch ${epoch}/${opts.epochs}: train loss ${this.#lastEpochLoss.toFixed(4)}` +
        (valLoss !== undefined
          ? `, val loss ${valLoss.toFixed(4)} (ppl ${Math.exp(valLoss).toFixed(1)})`
          : "") +
        (opts.schedule ? `, ${lrText(lrUsed, at.schedule.lr)}` : "") +
        `, ${pairsPerSecond.toFixed(0)} pairs/s, ${seconds.toFixed(1)} s`,
    );
    await this.#samples(epoch);
    const kinds: CheckpointKind[] = [];
    if (improved) {
      at.bestVal = valLoss!;
      kinds.push("best");
    }
    const stopping = earlyStopDue(opts.earlyStop, at.schedule);
    if (epoch % opts.saveEvery === 0 || epoch === opts.epochs || stopping) kinds.push("checkpoint");
    if (kinds.length) await this.#save(...kinds);
    if (stopping) this.#stopEarly();
    else if (this.#hooks.stopRequested()) this.#stopped = "interrupted";
  }

  /** Generated headlines at every samples.every-th epoch end, stored and shown. */
  async #samples(epoch: number): Promise<void> {
    const sampling = this.#opts.samples;
    if (!sampling || sampling.prompts.length === 0 || epoch % sampling.every !== 0) return;
    const drawn = await drawSamples(
      this.#backend,
      this.#data.vocab,
      sampling.prompts,
      this.#opts.seed,
      epoch,
    );
    await this.#hooks.samples?.(drawn);
    for (const s of drawn) this.#hooks.progress.line(`sample (epoch ${epoch}): ${s.text}`);
  }

  /** Adam's settings for the steps of the current epoch. */
  #hyper(): AdamHyper {
    const { clip } = this.#opts;
    return {
      ...ADAM_DEFAULTS,
      lr: this.#at.schedule.lr,
      ...(clip !== undefined ? { clip } : {}),
    };
  }

  /** Ends the run early: the best epoch's model is in best/. */
  #stopEarly(): void {
    const { schedule, bestVal } = this.#at;
    const earlyStop = { bestEpoch: this.#at.epoch - schedule.sinceBest, bestVal };
    this.#earlyStop = earlyStop;
    this.#hooks.progress.line(
      `early stop: no validation loss below ${bestVal.toFixed(4)} (epoch ${earlyStop.bestEpoch}) for ` +
        `${schedule.sinceBest} epochs; best/ holds that epoch's model`,
    );
  }

  /** One snapshot (a full readback of weights and Adam state) serves every checkpoint saved at this point. */
  async #save(...kinds: CheckpointKind[]): Promise<void> {
    const at = this.#at;
    const ck = await snapshot(this.#backend, this.#data, this.#opts, {
      step: at.step,
      epoch: at.epoch,
      batchInEpoch: at.batchInEpoch,
      rng: at.epochRng,
      bestVal: Number.isFinite(at.bestVal) ? at.bestVal : undefined,
      schedule: at.schedule,
    });
    for (const kind of kinds) {
      const where = await this.#hooks.save(ck, kind);
      this.#lastSaved = where;
      if (kind === "checkpoint") this.#latest = where;
    }
  }
}

/** The epoch's learning rate, and the next one where the schedule changed it: "lr 1e-3 -> 1e-4". */
function lrText(used: number, next: number): string {
  const fmt = (lr: number) => String(Number(lr.toPrecision(3)));
  return `lr ${fmt(used)}${next !== used ? ` -> ${fmt(next)}` : ""}`;
}

async function snapshot(
  backend: Backend,
  data: Dataset,
  opts: TrainOptions,
  progress: TrainProgress,
): Promise<Checkpoint> {
  return {
    config: backend.config,
    vocab: data.vocab,
    params: await backend.getParams(),
    optimizer: await backend.getAdamState(),
    progress,
    // flags.data is the path --resume reloads; source only describes it (e.g. "built-in corpus").
    train: { source: data.source, ...opts.flags },
  };
}
