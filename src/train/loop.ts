/**
 * The training loop, the same for every Backend and every platform: epochs of batches in file or shuffled
 * order, losses read back only at log points, a record per step and per epoch, checkpoints at epoch ends,
 * on a stop request and at the end (and the best by validation), exact resume, a NaN guard, and the
 * optimisation around Adam: gradient clipping, a learning-rate schedule and early stopping
 * (src/train/schedule.ts), whose state the checkpoints carry. Where the records and checkpoints go, and
 * what asks it to stop, are the platform's (TrainHooks): files and Ctrl-C under Deno
 * (src/deno/train_run.ts), a chart, downloads and a pause button in a web page.
 */
import type { Backend } from "../model/backend.ts";
import type { Dataset } from "../data/types.ts";
import { modelRows } from "../data/rows.ts";
import { modelKind } from "../model/config.ts";
import { Rng } from "../model/rng.ts";
import { ADAM_DEFAULTS, type AdamHyper, type ScheduleState } from "../model/optimizer.ts";
import type { Checkpoint, TrainProgress } from "../io/checkpoint.ts";
import type { MetricRecord } from "../io/metrics.ts";
import type { SampleRecord } from "../io/samples.ts";
import { type ProgressSink, StepPace } from "./progress.ts";
import { drawSamples, type SampleSettings } from "./samples.ts";
import { firstLine, UserError } from "../errors.ts";
import {
  earlyStopDue,
  initialSchedule,
  type LrSchedule,
  needsValidation,
  scheduleEpochEnd,
} from "./schedule.ts";

export interface TrainOptions {
  epochs: number;
  batch: number;
  /** The learning rate (the first one, with a schedule). */
  lr: number;
  /** Clip gradients as torch.nn.utils.clip_grad_norm_(params, clip) before each step (absent: never). */
  clip?: number;
  /** The learning-rate schedule, stepped at epoch ends (absent: lr throughout). */
  schedule?: LrSchedule;
  /** End the run after this many epochs without a lower validation loss (absent: never). */
  earlyStop?: number;
  seed: number;
  shuffle: boolean;
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
  progress: ProgressSink;
  /** True once the run should stop at the next step boundary, save and return "interrupted". */
  stopRequested(): boolean;
}

export interface TrainResult {
  steps: number;
  epochs: number;
  lastLoss: number;
  lastEpochLoss: number;
  valLoss?: number;
  seconds: number;
  pairsPerSecond: number;
  /** "done" also when early stopping ended the run (then `earlyStop` says so). */
  stopped: "done" | "interrupted" | "max-steps";
  /** Set when early stopping ended the run: the epoch whose model best/ holds, and its validation loss. */
  earlyStop?: { bestEpoch: number; bestVal: number };
  checkpoint: string;
}

/**
 * Where a run starts: fresh parameters (and zero Adam state), or a resumed checkpoint, where it is (as
 * TrainHooks.save names the latest checkpoint) and the records of the run so far (the current epoch's mean
 * loss covers the steps taken before the interruption).
 */
export interface StartState {
  params: Float32Array;
  resume?: { checkpoint: Checkpoint; from: string; history: MetricRecord[] };
}

export async function train(
  backend: Backend,
  data: Dataset,
  start: StartState,
  opts: TrainOptions,
  hooks: TrainHooks,
): Promise<TrainResult> {
  const progress = hooks.progress;
  if (needsValidation(opts.schedule, opts.earlyStop) && data.val.count === 0) {
    throw new UserError(
      `${opts.earlyStop !== undefined ? "early stopping" : "reduce-on-plateau"} needs validation data, ` +
        "and this data has no validation split",
    );
  }
  const dropout = opts.dropout ? { rate: opts.dropout, seed: opts.seed } : undefined;
  const kind = modelKind(backend.config);
  const rows = modelRows(data, kind, "train");
  const valRows = data.val.count > 0 ? modelRows(data, kind, "val") : null;
  const val = valRows && valRows.count > 0 ? valRows : null;
  const P = rows.count;
  const stepsPerEpoch = Math.ceil(P / opts.batch);

  await backend.setParams(start.params);
  const resumed = start.resume?.checkpoint.progress;
  if (start.resume?.checkpoint.optimizer) await backend.setAdamState(start.resume.checkpoint.optimizer);
  progress.status("preparing the backend (compiling shaders)");
  const prepareStart = performance.now();
  await backend.setTrainData(rows.inputs, rows.targets, P);
  const prepareSeconds = (performance.now() - prepareStart) / 1000;
  if (prepareSeconds >= 1) {
    progress.line(`backend ready in ${prepareSeconds.toFixed(1)} s (shader compilation)`);
  }

  let step = resumed?.step ?? 0;
  let epoch = resumed?.epoch ?? 0; // completed epochs
  let batchInEpoch = resumed?.batchInEpoch ?? 0;
  let bestVal = resumed?.bestVal ?? Infinity;
  // Without a schedule the lr is the one given now (a resumed run may be given another).
  let schedule: ScheduleState = opts.schedule && resumed?.schedule
    ? resumed.schedule
    : { ...initialSchedule(opts.lr), ...resumed?.schedule, lr: opts.lr };
  const hyperNow = (): AdamHyper => ({
    ...ADAM_DEFAULTS,
    lr: schedule.lr,
    ...(opts.clip !== undefined ? { clip: opts.clip } : {}),
  });
  // The Rng state at the start of the current epoch: the epoch's shuffle is redrawn from it on resume.
  let epochRng = resumed ? resumed.rng : new Rng(opts.seed).state;

  // An epoch's mean loss weighs each step's mean by its targets (a pair has one, a headline row several).
  let epochLossSum = 0;
  let epochPairs = 0;
  // Resumed mid-epoch: the epoch's mean also covers the steps taken before the interruption, in order.
  let resumedLosses = batchInEpoch === 0
    ? []
    : (start.resume?.history ?? []).filter((r) => r.epoch === epoch + 1 && r.loss !== undefined)
      .map((r) => r.loss!);

  const checkpointAt = (): Promise<Checkpoint> =>
    snapshot(backend, data, opts, {
      step,
      epoch,
      batchInEpoch,
      rng: epochRng,
      bestVal: Number.isFinite(bestVal) ? bestVal : undefined,
      schedule,
    });
  // Where the newest checkpoint of either kind, and the latest one, are.
  let lastSaved: string | null = start.resume?.from ?? null;
  let latest: string | null = lastSaved;
  // One snapshot (a full readback of weights and Adam state) serves every checkpoint saved at this point.
  const save = async (...kinds: CheckpointKind[]) => {
    const ck = await checkpointAt();
    for (const kind of kinds) {
      const where = await hooks.save(ck, kind);
      lastSaved = where;
      if (kind === "checkpoint") latest = where;
    }
  };

  const totalSteps = Math.min(opts.epochs * stepsPerEpoch, opts.maxSteps ?? Infinity);
  // The clock starts once the backend is ready: shader compilation is not training time.
  const runStart = performance.now();
  const pace = new StepPace(step, 0);
  let pairsThisRun = 0;
  let pairsRead = 0; // pairs of the steps whose losses have been read back
  let lastLoss = NaN;
  let lastEpochLoss = NaN;
  let valLoss: number | undefined;
  let stopped: TrainResult["stopped"] = "done";
  let earlyStop: TrainResult["earlyStop"];
  const stopEarly = () => {
    earlyStop = { bestEpoch: epoch - schedule.sinceBest, bestVal };
    progress.line(
      `early stop: no validation loss below ${bestVal.toFixed(4)} (epoch ${earlyStop.bestEpoch}) for ` +
        `${schedule.sinceBest} epochs; best/ holds that epoch's model`,
    );
  };
  // A run that early stopping ended stays ended when resumed (a larger --early-stop lets it go on).
  if (batchInEpoch === 0 && earlyStopDue(opts.earlyStop, schedule)) stopEarly();

  // Losses of queued steps, with the epoch and step each belongs to and its targets.
  let pending: Array<{ epoch: number; step: number; size: number }> = [];
  const flush = async () => {
    if (!pending.length) return;
    const losses = await backend.takeLosses();
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i];
      const loss = losses[i];
      if (!Number.isFinite(loss)) {
        throw new UserError(
          `loss became ${loss} at step ${p.step} (epoch ${p.epoch}): stopping; the last good checkpoint is ` +
            `${lastSaved ?? "none (no checkpoint was saved yet)"}; try a lower --lr`,
        );
      }
      await hooks.record({ epoch: p.epoch, step: p.step, loss });
      epochLossSum += loss * p.size;
      epochPairs += p.size;
      pairsRead += p.size;
      lastLoss = loss;
    }
    // Figures from steps that are known to be done, never from steps merely queued.
    const last = pending[pending.length - 1];
    const elapsed = (performance.now() - runStart) / 1000;
    pace.mark(last.step, elapsed);
    progress.update({
      epoch: last.epoch,
      epochs: opts.epochs,
      step: last.step,
      totalSteps,
      loss: lastLoss,
      pairsPerSecond: pairsRead / Math.max(elapsed, 1e-9),
      etaSeconds: pace.etaSeconds(totalSteps - last.step),
    });
    pending = [];
  };

  // The epoch errors are reported in: `epoch` already counts an epoch during its evaluation and saves.
  let atEpoch = epoch + 1;
  try {
    while (epoch < opts.epochs && stopped === "done" && !earlyStop) {
      atEpoch = epoch + 1;
      const epochStart = performance.now();
      const rng = new Rng(epochRng);
      const order = new Int32Array(P).map((_, i) => i);
      if (opts.shuffle) rng.shuffle(order);
      await backend.setOrder(order);
      // The targets of the epoch's batch b.
      const batchTargets = (b: number) => {
        let n = 0;
        for (let i = b * opts.batch; i < Math.min(P, (b + 1) * opts.batch); i++) {
          n += rows.targetsPerRow[order[i]];
        }
        return n;
      };
      if (batchInEpoch === 0) {
        epochLossSum = 0;
        epochPairs = 0;
      }
      resumedLosses.forEach((loss, b) => {
        epochLossSum += loss * batchTargets(b);
        epochPairs += batchTargets(b);
      });
      resumedLosses = [];
      let epochPairsThisRun = 0;
      const hyper = hyperNow(); // the schedule moves the lr at epoch ends only
      for (; batchInEpoch < stepsPerEpoch; batchInEpoch++) {
        if (hooks.stopRequested() || (opts.maxSteps !== undefined && step >= opts.maxSteps)) break;
        const first = batchInEpoch * opts.batch;
        const size = Math.min(opts.batch, P - first);
        backend.trainStep(first, size, hyper, dropout);
        step++;
        const targets = batchTargets(batchInEpoch);
        pairsThisRun += targets;
        epochPairsThisRun += targets;
        pending.push({ epoch: epoch + 1, step, size: targets });
        if (pending.length >= opts.logEvery) await flush();
      }
      await flush();
      if (batchInEpoch < stepsPerEpoch) {
        stopped = hooks.stopRequested() ? "interrupted" : "max-steps";
        break;
      }
      // Epoch complete.
      epoch++;
      batchInEpoch = 0;
      epochRng = rng.state;
      const seconds = (performance.now() - epochStart) / 1000;
      lastEpochLoss = epochLossSum / Math.max(1, epochPairs);
      const rec: MetricRecord = {
        epoch,
        train_loss: lastEpochLoss,
        lr: hyper.lr,
        pairs_per_s: epochPairsThisRun / seconds,
        seconds,
      };
      if (val) {
        valLoss = await backend.evalLoss(val.inputs, val.targets, val.count);
        rec.val_loss = valLoss;
        rec.val_ppl = Math.exp(valLoss);
      }
      const improved = valLoss !== undefined && valLoss < bestVal;
      schedule = scheduleEpochEnd(opts.schedule, schedule, epoch, valLoss, improved);
      await hooks.record(rec);
      progress.line(
        `epoch ${epoch}/${opts.epochs}: train loss ${lastEpochLoss.toFixed(4)}` +
          (valLoss !== undefined
            ? `, val loss ${valLoss.toFixed(4)} (ppl ${Math.exp(valLoss).toFixed(1)})`
            : "") +
          (opts.schedule ? `, ${lrText(hyper.lr, schedule.lr)}` : "") +
          `, ${(epochPairsThisRun / seconds).toFixed(0)} pairs/s, ${seconds.toFixed(1)} s`,
      );
      const sampling = opts.samples;
      if (sampling && sampling.prompts.length > 0 && epoch % sampling.every === 0) {
        const drawn = await drawSamples(backend, data.vocab, sampling.prompts, opts.seed, epoch);
        await hooks.samples?.(drawn);
        for (const s of drawn) progress.line(`sample (epoch ${epoch}): ${s.text}`);
      }
      const kinds: CheckpointKind[] = [];
      if (improved) {
        bestVal = valLoss!;
        kinds.push("best");
      }
      const stopping = earlyStopDue(opts.earlyStop, schedule);
      if (epoch % opts.saveEvery === 0 || epoch === opts.epochs || stopping) kinds.push("checkpoint");
      if (kinds.length) await save(...kinds);
      if (stopping) stopEarly();
      else if (hooks.stopRequested()) stopped = "interrupted";
    }
    progress.done();
    if (latest === null || lastSaved !== latest || stopped !== "done") await save("checkpoint");
  } catch (e) {
    progress.done();
    if (e instanceof UserError) throw e;
    const msg = firstLine((e as Error).message);
    throw new Error(
      `${msg} (at step ${step}, epoch ${atEpoch}; last checkpoint: ${lastSaved ?? "none"})`,
    );
  }

  const seconds = (performance.now() - runStart) / 1000;
  return {
    steps: step,
    epochs: epoch,
    lastLoss,
    lastEpochLoss,
    valLoss,
    seconds,
    pairsPerSecond: pairsThisRun / seconds,
    stopped,
    ...(earlyStop ? { earlyStop } : {}),
    checkpoint: latest!,
  };
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
