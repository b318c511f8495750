/**
 * Training into a run directory (the platform side of src/train/loop.ts):
 *
 *   DIR/checkpoint/   the latest checkpoint (what --resume and predict read)
 *   DIR/best/         the checkpoint with the lowest validation loss (only with a validation split)
 *   DIR/metrics.jsonl one record per step and per epoch
 *   DIR/samples.jsonl headlines generated every --sample-every epochs (only when asked for)
 *   DIR/loss.svg      the loss plot, written at the end
 *
 * Ctrl-C asks the loop to stop after the current step; it then saves and returns "interrupted".
 */
import { join } from "node:path";
import type { Backend } from "../model/backend.ts";
import type { Checkpoint } from "../io/checkpoint.ts";
import type { Dataset } from "../data/types.ts";
import { BEST_DIR, CHECKPOINT_DIR, LOSS_PLOT_FILE, METRICS_FILE, SAMPLES_FILE } from "../io/file_names.ts";
import type { MetricRecord } from "../io/metrics.ts";
import { SAMPLES_FORMAT } from "../io/samples.ts";
import { lossPlotSvg } from "../io/plot.ts";
import { train, type TrainOptions, type TrainResult } from "../train/loop.ts";
import { writeFileAtomic } from "./atomic.ts";
import { saveCheckpoint } from "./checkpoint_files.ts";
import { MetricsWriter } from "./metrics_file.ts";
import { JsonlWriter } from "./jsonl_file.ts";
import { TerminalProgress } from "./progress.ts";

/** trainInDir's options: the training loop's, and the run directory with how much it prints. */
export interface RunOptions extends TrainOptions {
  /** The run directory (already created and locked by the caller). */
  out: string;
  /** No progress lines on stderr. */
  quiet: boolean;
}

/** Trains from `params`, or continues `resume` (DIR/checkpoint), writing everything into opts.out. */
export async function trainInDir(
  backend: Backend,
  data: Dataset,
  start: { params: Float32Array; resume?: Checkpoint },
  opts: RunOptions,
): Promise<TrainResult> {
  const dirOf = { checkpoint: join(opts.out, CHECKPOINT_DIR), best: join(opts.out, BEST_DIR) };
  const metrics = await MetricsWriter.open(join(opts.out, METRICS_FILE), {
    keepThroughStep: start.resume?.progress?.step ?? 0,
  });
  const records: MetricRecord[] = await metrics.readAll();
  // Samples of epochs after the resumed checkpoint are cut: the resumed run draws them again.
  const resumedEpoch = start.resume?.progress?.epoch ?? 0;
  const samples = opts.samples &&
    await JsonlWriter.open(join(opts.out, SAMPLES_FILE), SAMPLES_FORMAT, (r) => r.epoch <= resumedEpoch);
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  Deno.addSignalListener("SIGINT", onSigint);
  let result: TrainResult;
  try {
    const resume = start.resume &&
      { checkpoint: start.resume, from: dirOf.checkpoint, history: [...records] };
    result = await train(backend, data, { params: start.params, resume }, opts, {
      async save(ck, kind) {
        await saveCheckpoint(dirOf[kind], ck);
        return dirOf[kind];
      },
      async record(rec) {
        records.push(rec);
        await metrics.append(rec);
      },
      async samples(drawn) {
        for (const s of drawn) await samples?.append(s);
      },
      progress: new TerminalProgress(opts.quiet),
      stopRequested: () => interrupted,
    });
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    await metrics.close();
    await samples?.close();
  }
  await writeFileAtomic(join(opts.out, LOSS_PLOT_FILE), lossPlotSvg(records));
  return result;
}
