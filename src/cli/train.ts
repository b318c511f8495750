/**
 * `deno task train`: read the flags (the command line over a --config file's), read what they name (the
 * resumed checkpoint, the data), plan the run (src/plan/train_plan.ts, pure and shared with the web page),
 * then run it: backend, run directory and lock, training, summary. The flags themselves are declared in
 * src/plan/train_flags.ts.
 */
import { longestRow } from "../data/rows.ts";
import { modelKind } from "../model/config.ts";
import { join, resolve } from "node:path";
import { parseFlags } from "./args.ts";
import { errorLine, UserError } from "../errors.ts";
import { loadDataset } from "../deno/data_files.ts";
import { BEST_DIR, CHECKPOINT_DIR, LOSS_PLOT_FILE, METRICS_FILE, SAMPLES_FILE } from "../io/file_names.ts";
import { initParams } from "../model/init.ts";
import type { Checkpoint } from "../io/checkpoint.ts";
import { loadCheckpoint, loadModelFile } from "../deno/checkpoint_files.ts";
import { exists, osReason } from "../deno/fs.ts";
import { committedDir } from "../deno/atomic.ts";
import { acquireLock } from "../deno/lock.ts";
import { openBackend } from "../deno/backends.ts";
import { trainInDir } from "../deno/train_run.ts";
import type { TrainResult } from "../train/loop.ts";
import { commandLineValues, type FlagValues, parseArgsOptions } from "../plan/flags.ts";
import { flagHelp } from "../plan/flag_help.ts";
import { configFileValues } from "../plan/config_file.ts";
import { TRAIN_FLAGS, TRAIN_GROUPS } from "../plan/train_flags.ts";
import {
  checkTrainFlags,
  planData,
  planTraining,
  recordedFlags,
  type TrainPlan,
} from "../plan/train_plan.ts";

export const TRAIN_HELP = `Train the LSTM next-word model.

usage: deno task train [--data PATH] [--out DIR] [flags]

${flagHelp(TRAIN_FLAGS, TRAIN_GROUPS)}`;

export async function trainMain(args: string[]): Promise<number> {
  const { values: parsed } = parseFlags(args, parseArgsOptions(TRAIN_FLAGS));
  if (parsed.help) {
    console.log(TRAIN_HELP);
    return 0;
  }
  const flags = await givenFlags(commandLineValues(TRAIN_FLAGS, parsed));
  // Every flag is checked before anything is written (a bad value must not cost an --out its old run).
  checkTrainFlags(flags, resolve);
  const quiet = flags.quiet === true;
  const say = (line: string) => {
    if (!quiet) console.error(line);
  };
  const resume = flags.resume === undefined ? undefined : await readResumed(String(flags.resume));
  const data = await loadDataset(planData(flags, recordedFlags(resume)));
  const plan = planTraining(flags, resume, data, { resolve });
  const params = plan.init.kind === "resume"
    ? resume!.params
    : plan.init.kind === "file"
    ? (await loadModelFile(plan.init.path, plan.config)).params
    : initParams(plan.config, plan.options.seed, plan.init.range);

  // The backend first: without an adapter nothing is printed or written but the one error line.
  let backendLine = "";
  const backend = await openBackend(plan.backend, plan.config, {
    maxBatch: plan.options.batch,
    maxSteps: longestRow(data, modelKind(plan.config)),
    dropout: (plan.options.dropout ?? 0) > 0,
    say: (l) => backendLine = l,
  });
  try {
    const lock = await prepareOutDir(plan.out, flags.force === true, resume !== undefined);
    say(
      `data: ${data.source}: ${data.headlines} headlines, vocab ${data.vocab.length}, ` +
        `${data.train.count} training pairs` + (data.val.count ? `, ${data.val.count} validation pairs` : ""),
    );
    say(backendLine);
    try {
      const result = await trainInDir(backend, data, { params, resume }, {
        ...plan.options,
        out: plan.out,
        quiet,
      });
      const summary = summarize(result, plan, resume);
      if (flags.json) {
        console.log(JSON.stringify({ ...result, backend: backend.name, params: plan.config }));
      } else console.log(summary);
      if (flags.json && !quiet) console.error(summary);
      return result.stopped === "interrupted" ? 130 : 0;
    } finally {
      await lock.release();
    }
  } finally {
    backend.destroy();
  }
}

/** The flags given: those of the command line over those of its --config file. */
async function givenFlags(commandLine: FlagValues): Promise<FlagValues> {
  const file = commandLine.config;
  if (typeof file !== "string") return commandLine;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new UserError(`cannot read --config ${file}: ${osReason(e)}`);
  }
  return { ...configFileValues(text, file, TRAIN_FLAGS), ...commandLine };
}

/** The checkpoint a --resume continues, refusing a run that never saved one or holds no training state. */
async function readResumed(dir: string): Promise<Checkpoint> {
  const checkpoint = join(dir, CHECKPOINT_DIR);
  if (await exists(dir) && !(await committedDir(checkpoint))) {
    throw new UserError(
      `checkpoint ${checkpoint}: no such directory: the run in ${dir} stopped before its first ` +
        `checkpoint (one is written every --save-every epochs); start it again with --out ${dir} --force`,
    );
  }
  const resume = await loadCheckpoint(checkpoint);
  if (!resume.optimizer || !resume.progress) {
    throw new UserError(`${dir}/checkpoint holds a model but no training state: cannot resume it`);
  }
  return resume;
}

/** The last line of a run: what was done, or, for a run resumed with nothing left, that nothing was. */
function summarize(result: TrainResult, plan: TrainPlan, resume: Checkpoint | undefined): string {
  const where = `checkpoint ${result.checkpoint}`;
  const trained = result.steps - (resume?.progress?.step ?? 0);
  const early = result.earlyStop;
  if (trained === 0 && early) {
    return `nothing to train: early stopping ended ${plan.out} after epoch ${result.epochs} (best: epoch ` +
      `${early.bestEpoch}; give a larger --early-stop to go on); ${where}`;
  }
  if (trained === 0 && result.stopped === "done") {
    return `nothing to train: ${plan.out} already has ${result.epochs} of ${plan.options.epochs} epochs ` +
      `(give a larger --epochs to continue); ${where}`;
  }
  return `${result.stopped === "interrupted" ? "interrupted" : "done"}: ${result.steps} steps, ` +
    `${result.epochs} epochs` +
    (Number.isFinite(result.lastLoss) ? `, last loss ${result.lastLoss.toFixed(4)}` : "") +
    (result.valLoss !== undefined ? `, val loss ${result.valLoss.toFixed(4)}` : "") +
    `, ${result.pairsPerSecond.toFixed(0)} pairs/s, ${result.seconds.toFixed(1)} s` +
    (early ? `; stopped early, best/ holds epoch ${early.bestEpoch}` : "") + `; ${where}`;
}

/** Creates the run directory; refuses one that holds another run unless --force or --resume. */
async function prepareOutDir(out: string, force: boolean, resuming: boolean) {
  try {
    await Deno.mkdir(out, { recursive: true });
  } catch (e) {
    throw new UserError(`cannot create output directory ${out}: ${errorLine(e)}`);
  }
  const lock = await acquireLock(out);
  if (!resuming) {
    const holds: string[] = [];
    for (const f of [CHECKPOINT_DIR, METRICS_FILE]) if (await exists(join(out, f))) holds.push(f);
    if (holds.length && !force) {
      await lock.release();
      throw new UserError(
        `${out} holds another run (${holds.join(", ")}): use --resume ${out}, --force, or another --out`,
      );
    }
    for (const f of [CHECKPOINT_DIR, BEST_DIR, METRICS_FILE, SAMPLES_FILE, LOSS_PLOT_FILE]) {
      await Deno.remove(join(out, f), { recursive: true }).catch(() => {});
    }
  }
  return lock;
}
