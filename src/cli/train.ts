/**
 * `deno task train`: parse the flags, read what they name (the resumed checkpoint, the data), plan the run
 * (src/cli/train_plan.ts, pure), then run it: backend, run directory and lock, training, summary.
 */
import { join, resolve } from "node:path";
import { parseFlags } from "./args.ts";
import { firstLine, UserError } from "../errors.ts";
import { loadDataset } from "../deno/data_files.ts";
import { HEADLINE_COLUMN } from "../data/csv.ts";
import { DEFAULT_MIN_COUNT, DEFAULT_VAL_FRACTION } from "../data/dataset.ts";
import { BOS_TOKEN, EOS_TOKEN } from "../data/vocab.ts";
import { BEST_DIR, CHECKPOINT_DIR, LOSS_PLOT_FILE, METRICS_FILE, SAMPLES_FILE } from "../io/file_names.ts";
import { PROMPT_SEPARATOR, SAMPLE_TEMPERATURE, SAMPLE_WORDS, SAMPLES_PER_PROMPT } from "../train/samples.ts";
import { initParams } from "../model/init.ts";
import { DEFAULT_MODEL } from "../model/config.ts";
import { ADAM_DEFAULTS } from "../model/optimizer.ts";
import type { Checkpoint } from "../io/checkpoint.ts";
import { loadCheckpoint, loadModelFile } from "../deno/checkpoint_files.ts";
import { exists } from "../deno/fs.ts";
import { committedDir } from "../deno/atomic.ts";
import { acquireLock } from "../deno/lock.ts";
import { openBackend } from "../deno/backends.ts";
import { trainInDir } from "../deno/train_run.ts";
import type { TrainResult } from "../train/loop.ts";
import {
  checkTrainFlags,
  DEFAULT_OUT,
  planData,
  planTraining,
  recordedFlags,
  type TrainPlan,
} from "./train_plan.ts";
import * as defaults from "../train/defaults.ts";
import { OPTIM_FLAGS, OPTIM_HELP } from "../train/optim_flags.ts";

export const TRAIN_HELP = `Train the LSTM next-word model.

usage: deno task train [--data PATH] [--out DIR] [flags]

data:
  --data PATH          CSV or .txt file, directory of *Articles*.csv and .txt files, or a prepared
                       directory (default: data/ if it holds such files, else the built-in corpus)
  --files GLOB         with a directory: only files matching GLOB
  --column NAME        the CSV column holding the text (default "${HEADLINE_COLUMN}"), see deno task prepare --help
  --boundaries         frame headlines with ${BOS_TOKEN} and ${EOS_TOKEN}: the model also learns how headlines start and end
  --min-count N        words seen fewer than N times become <unk> (default ${DEFAULT_MIN_COUNT}: keep all)
  --val-fraction F     hold out this fraction of headlines for validation (default ${DEFAULT_VAL_FRACTION})
model:
  --embed ${DEFAULT_MODEL.embed} --hidden ${DEFAULT_MODEL.hidden} --layers ${DEFAULT_MODEL.layers} --window ${DEFAULT_MODEL.window}
  --init FILE          start from these weights (.safetensors, PyTorch state_dict names)
training:
  --epochs ${defaults.DEFAULT_EPOCHS} --batch ${defaults.DEFAULT_BATCH} --lr ${ADAM_DEFAULTS.lr} --seed ${defaults.DEFAULT_SEED}   (--epochs defaults to ${defaults.BUILTIN_EPOCHS} on the built-in corpus)
  --shuffle / --no-shuffle   shuffle pairs each epoch (default) / keep file order (the notebook's)
  --max-steps N        stop after N optimizer steps in total
${OPTIM_HELP}
  --backend webgpu|cpu (default webgpu; cpu is the slow reference)
output:
  --out DIR            run directory (default ${DEFAULT_OUT}): ${CHECKPOINT_DIR}/, ${BEST_DIR}/, ${METRICS_FILE}, ${LOSS_PLOT_FILE}
  --force              reuse an --out that holds another run (its files are replaced)
  --resume DIR         continue the run in DIR exactly where it stopped
  --save-every N       checkpoint every N epochs (default ${defaults.DEFAULT_SAVE_EVERY}; always at the end and on Ctrl-C)
  --log-every N        read the loss back every N steps (default ${defaults.DEFAULT_LOG_EVERY}, at most ${defaults.MAX_LOG_EVERY})
  --sample-every N     every N epochs, generate ${SAMPLES_PER_PROMPT} headlines per prompt (temperature ${SAMPLE_TEMPERATURE}, at most
                       ${SAMPLE_WORDS} words), print them and append them to ${SAMPLES_FILE}; seeded by --seed and the
                       epoch, so a resumed run writes what an uninterrupted one would
  --sample-prompts "P${PROMPT_SEPARATOR}Q"  their prompts (default: "" with --boundaries: whole headlines; else the
                       context of the first training pair)
  --quiet              no progress output
  --json               print a JSON summary as the last line of stdout
  -h, --help           this text`;

const TRAIN_FLAGS = {
  data: { type: "string" },
  files: { type: "string" },
  column: { type: "string" },
  boundaries: { type: "boolean" },
  "min-count": { type: "string" },
  "val-fraction": { type: "string" },
  embed: { type: "string" },
  hidden: { type: "string" },
  layers: { type: "string" },
  window: { type: "string" },
  init: { type: "string" },
  epochs: { type: "string" },
  batch: { type: "string" },
  lr: { type: "string" },
  seed: { type: "string" },
  shuffle: { type: "boolean" },
  "no-shuffle": { type: "boolean" },
  "max-steps": { type: "string" },
  ...OPTIM_FLAGS,
  backend: { type: "string" },
  out: { type: "string" },
  force: { type: "boolean" },
  resume: { type: "string" },
  "save-every": { type: "string" },
  "log-every": { type: "string" },
  "sample-every": { type: "string" },
  "sample-prompts": { type: "string" },
  quiet: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export async function trainMain(args: string[]): Promise<number> {
  const { values: flags } = parseFlags(args, TRAIN_FLAGS);
  if (flags.help) {
    console.log(TRAIN_HELP);
    return 0;
  }
  // Every flag is checked before anything is written (a bad value must not cost an --out its old run).
  checkTrainFlags(flags, resolve);
  const say = (line: string) => {
    if (!flags.quiet) console.error(line);
  };
  const resume = flags.resume === undefined ? undefined : await readResumed(flags.resume);
  const data = await loadDataset(planData(flags, recordedFlags(resume)));
  const plan = planTraining(flags, resume, data, resolve);
  const params = plan.init.kind === "resume"
    ? resume!.params
    : plan.init.kind === "file"
    ? (await loadModelFile(plan.init.path, plan.config)).params
    : initParams(plan.config, plan.seed);

  // The backend first: without an adapter nothing is printed or written but the one error line.
  let backendLine = "";
  const backend = await openBackend(plan.backend, plan.config, {
    maxBatch: plan.batch,
    say: (l) => backendLine = l,
  });
  try {
    const lock = await prepareOutDir(plan.out, Boolean(flags.force), resume !== undefined);
    say(
      `data: ${data.source}: ${data.headlines} headlines, vocab ${data.vocab.length}, ` +
        `${data.train.count} training pairs` + (data.val.count ? `, ${data.val.count} validation pairs` : ""),
    );
    say(backendLine);
    try {
      const result = await trainInDir(backend, data, { params, resume }, {
        ...plan,
        quiet: Boolean(flags.quiet),
      });
      const summary = summarize(result, plan, resume);
      if (flags.json) {
        console.log(JSON.stringify({ ...result, backend: backend.name, params: plan.config }));
      } else console.log(summary);
      if (flags.json && !flags.quiet) console.error(summary);
      return result.stopped === "interrupted" ? 130 : 0;
    } finally {
      await lock.release();
    }
  } finally {
    backend.destroy();
  }
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
    return `nothing to train: ${plan.out} already has ${result.epochs} of ${plan.epochs} epochs ` +
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
    throw new UserError(`cannot create output directory ${out}: ${firstLine((e as Error).message)}`);
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
