/**
 * The training loop, the same for every Backend: epochs of batches in file or shuffled order, losses read
 * back only at log points, metrics.jsonl, checkpoints at epoch ends / on Ctrl-C / at the end (and the best
 * by validation), exact resume, a NaN guard, and loss.svg at the end.
 *
 * Output directory layout:
 *   DIR/checkpoint/   the latest checkpoint (what --resume and predict read)
 *   DIR/best/         the checkpoint with the lowest validation loss (only with a validation split)
 *   DIR/metrics.jsonl one record per step and per epoch
 *   DIR/loss.svg      the loss plot
 */
import { join } from "node:path";
import type { Backend } from "../model/backend.ts";
import type { Dataset } from "../data/dataset.ts";
import { Rng } from "../model/rng.ts";
import { ADAM_DEFAULTS, type AdamHyper } from "../model/optimizer.ts";
import { type Checkpoint, saveCheckpoint, type TrainProgress } from "../io/checkpoint.ts";
import { type MetricRecord, MetricsWriter } from "../io/metrics.ts";
import { lossPlotSvg } from "../io/plot.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { Progress } from "./progress.ts";
import { firstLine, UserError } from "../errors.ts";

export interface TrainOptions {
  out: string;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  shuffle: boolean;
  /** Stop after this many optimizer steps in total (counted across resumes). */
  maxSteps?: number;
  /** Save a checkpoint every N epochs (and always at the end and on Ctrl-C). */
  saveEvery: number;
  /** Read losses back every N steps (each readback is a GPU round trip). */
  logEvery: number;
  quiet: boolean;
  /** Flags to record in the checkpoint's config.json. */
  flags: Record<string, unknown>;
}

export interface TrainResult {
  steps: number;
  epochs: number;
  lastLoss: number;
  lastEpochLoss: number;
  valLoss?: number;
  seconds: number;
  pairsPerSecond: number;
  stopped: "done" | "interrupted" | "max-steps";
  checkpoint: string;
}

/** Where a run starts: fresh parameters (and zero Adam state), or a resumed checkpoint. */
export interface StartState {
  params: Float32Array;
  resume?: Checkpoint;
}

export async function train(
  backend: Backend,
  data: Dataset,
  start: StartState,
  opts: TrainOptions,
): Promise<TrainResult> {
  const progress = new Progress(opts.quiet);
  const hyper: AdamHyper = { ...ADAM_DEFAULTS, lr: opts.lr };
  const P = data.train.count;
  const stepsPerEpoch = Math.ceil(P / opts.batch);
  const ckDir = join(opts.out, "checkpoint");
  const bestDir = join(opts.out, "best");

  await backend.setParams(start.params);
  const resumed = start.resume?.progress;
  if (start.resume?.optimizer) await backend.setAdamState(start.resume.optimizer);
  await backend.setTrainData(data.train.inputs, data.train.targets, P);

  let step = resumed?.step ?? 0;
  let epoch = resumed?.epoch ?? 0; // completed epochs
  let batchInEpoch = resumed?.batchInEpoch ?? 0;
  let bestVal = resumed?.bestVal ?? Infinity;
  // The Rng state at the start of the current epoch: the epoch's shuffle is redrawn from it on resume.
  let epochRng = resumed ? resumed.rng : new Rng(opts.seed).state;

  const metrics = await MetricsWriter.open(join(opts.out, "metrics.jsonl"), { keepThroughStep: step });
  const records: MetricRecord[] = await metrics.readAll();
  let epochLossSum = 0;
  let epochPairs = 0;
  if (batchInEpoch > 0) {
    // Resumed mid-epoch: the epoch's mean loss also covers the steps taken before the interruption.
    for (const r of records) {
      if (r.epoch === epoch + 1 && r.loss !== undefined) {
        epochLossSum += r.loss * opts.batch;
        epochPairs += opts.batch;
      }
    }
  }

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  Deno.addSignalListener("SIGINT", onSigint);

  const checkpointAt = (): Promise<Checkpoint> =>
    snapshot(backend, data, opts, {
      step,
      epoch,
      batchInEpoch,
      rng: epochRng,
      bestVal: Number.isFinite(bestVal) ? bestVal : undefined,
    });
  let lastSaved: string | null = resumed ? ckDir : null;
  // One snapshot (a full readback of weights and Adam state) serves every directory saved at this point.
  const save = async (...dirs: string[]) => {
    const ck = await checkpointAt();
    for (const dir of dirs) {
      await saveCheckpoint(dir, ck);
      lastSaved = dir;
    }
  };

  const runStart = performance.now();
  const stepsAtStart = step;
  let pairsThisRun = 0;
  let lastLoss = NaN;
  let lastEpochLoss = NaN;
  let valLoss: number | undefined;
  let stopped: TrainResult["stopped"] = "done";

  // Losses of queued steps, with the epoch, step and batch size each belongs to.
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
      const rec = { epoch: p.epoch, step: p.step, loss };
      records.push(rec);
      await metrics.append(rec);
      epochLossSum += loss * p.size;
      epochPairs += p.size;
      lastLoss = loss;
    }
    pending = [];
  };

  // The epoch errors are reported in: `epoch` already counts an epoch during its evaluation and saves.
  let atEpoch = epoch + 1;
  try {
    while (epoch < opts.epochs && stopped === "done") {
      atEpoch = epoch + 1;
      const epochStart = performance.now();
      const rng = new Rng(epochRng);
      const order = new Int32Array(P).map((_, i) => i);
      if (opts.shuffle) rng.shuffle(order);
      await backend.setOrder(order);
      if (batchInEpoch === 0) {
        epochLossSum = 0;
        epochPairs = 0;
      }
      let epochPairsThisRun = 0;
      for (; batchInEpoch < stepsPerEpoch; batchInEpoch++) {
        if (interrupted || (opts.maxSteps !== undefined && step >= opts.maxSteps)) break;
        const first = batchInEpoch * opts.batch;
        const size = Math.min(opts.batch, P - first);
        backend.trainStep(first, size, hyper);
        step++;
        pairsThisRun += size;
        epochPairsThisRun += size;
        pending.push({ epoch: epoch + 1, step, size });
        if (pending.length >= opts.logEvery) await flush();
        const elapsed = (performance.now() - runStart) / 1000;
        const done = step - stepsAtStart;
        const totalSteps = Math.min(opts.epochs * stepsPerEpoch, opts.maxSteps ?? Infinity);
        progress.update({
          epoch: epoch + 1,
          epochs: opts.epochs,
          step,
          totalSteps,
          loss: lastLoss,
          pairsPerSecond: pairsThisRun / Math.max(elapsed, 1e-9),
          etaSeconds: (elapsed / done) * (totalSteps - step),
        });
      }
      await flush();
      if (batchInEpoch < stepsPerEpoch) {
        stopped = interrupted ? "interrupted" : "max-steps";
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
        pairs_per_s: epochPairsThisRun / seconds,
        seconds,
      };
      if (data.val.count > 0) {
        valLoss = await backend.evalLoss(data.val.inputs, data.val.targets, data.val.count);
        rec.val_loss = valLoss;
        rec.val_ppl = Math.exp(valLoss);
      }
      records.push(rec);
      await metrics.append(rec);
      progress.line(
        `epoch ${epoch}/${opts.epochs}: train loss ${lastEpochLoss.toFixed(4)}` +
          (valLoss !== undefined
            ? `, val loss ${valLoss.toFixed(4)} (ppl ${Math.exp(valLoss).toFixed(1)})`
            : "") +
          `, ${(epochPairsThisRun / seconds).toFixed(0)} pairs/s, ${seconds.toFixed(1)} s`,
      );
      const dirs: string[] = [];
      if (valLoss !== undefined && valLoss < bestVal) {
        bestVal = valLoss;
        dirs.push(bestDir);
      }
      if (epoch % opts.saveEvery === 0 || epoch === opts.epochs) dirs.push(ckDir);
      if (dirs.length) await save(...dirs);
      if (interrupted) stopped = "interrupted";
    }
    progress.done();
    if (lastSaved !== ckDir || stopped !== "done") await save(ckDir);
  } catch (e) {
    progress.done();
    if (e instanceof UserError) throw e;
    const msg = firstLine((e as Error).message);
    throw new Error(
      `${msg} (at step ${step}, epoch ${atEpoch}; last checkpoint: ${lastSaved ?? "none"})`,
    );
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    await metrics.close();
  }

  await writeFileAtomic(join(opts.out, "loss.svg"), lossPlotSvg(records));
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
    checkpoint: ckDir,
  };
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
