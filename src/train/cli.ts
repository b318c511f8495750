/** `deno task train`: flags -> data -> model -> backend -> the loop. The script itself only calls trainMain. */
import { join, resolve } from "node:path";
import { numberFlag, parseFlags } from "../cli.ts";
import { firstLine, USAGE_EXIT, UserError } from "../errors.ts";
import { loadDataset } from "../data/dataset.ts";
import { BUILTIN_SOURCE } from "../data/builtin.ts";
import { DEFAULT_MODEL, type ModelConfig } from "../model/config.ts";
import { initParams } from "../model/init.ts";
import { type Checkpoint, loadCheckpoint, loadModelFile } from "../io/checkpoint.ts";
import { exists } from "../fs.ts";
import { committedDir } from "../io/atomic.ts";
import { acquireLock } from "../io/lock.ts";
import { openBackend, parseBackendKind } from "../backends.ts";
import { train } from "./loop.ts";

/** Steps between loss readbacks at most: the GPU backend keeps 4096 steps' losses between readbacks. */
const MAX_LOG_EVERY = 1000;

/** Epochs by default on the built-in corpus: enough to learn its rules (loss ~0.45 from 4.6). */
const BUILTIN_EPOCHS = 40;

export const TRAIN_HELP = `Train the LSTM next-word model.

usage: deno task train [--data PATH] [--out DIR] [flags]

data:
  --data PATH          CSV file, directory of *Articles*.csv, or a prepared directory
                       (default: data/*Articles*.csv if any, else the built-in corpus)
  --files GLOB         with a directory: only files matching GLOB
  --min-count N        words seen fewer than N times become <unk> (default 1: keep all)
  --val-fraction F     hold out this fraction of headlines for validation (default 0)
model:
  --embed 16 --hidden 64 --layers 5 --window 2
  --init FILE          start from these weights (.safetensors, PyTorch state_dict names)
training:
  --epochs 200 --batch 64 --lr 1e-3 --seed 0   (--epochs defaults to 40 on the built-in corpus)
  --shuffle / --no-shuffle   shuffle pairs each epoch (default) / keep file order (the notebook's)
  --max-steps N        stop after N optimizer steps in total
  --backend webgpu|cpu (default webgpu; cpu is the slow reference)
output:
  --out DIR            run directory (default runs/train): checkpoint/, best/, metrics.jsonl, loss.svg
  --force              reuse an --out that holds another run (its files are replaced)
  --resume DIR         continue the run in DIR exactly where it stopped
  --save-every N       checkpoint every N epochs (default 1; always at the end and on Ctrl-C)
  --log-every N        read the loss back every N steps (default 10, at most 1000)
  --quiet              no progress output
  --json               print a JSON summary as the last line of stdout
  -h, --help           this text`;

const FLAGS = {
  data: { type: "string" },
  files: { type: "string" },
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
  backend: { type: "string" },
  out: { type: "string" },
  force: { type: "boolean" },
  resume: { type: "string" },
  "save-every": { type: "string" },
  "log-every": { type: "string" },
  quiet: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export async function trainMain(args: string[]): Promise<number> {
  const { values: v } = parseFlags(args, FLAGS);
  if (v.help) {
    console.log(TRAIN_HELP);
    return 0;
  }
  if (v.shuffle && v["no-shuffle"]) throw new UserError("--shuffle and --no-shuffle contradict", USAGE_EXIT);
  if (v.resume && v.init) throw new UserError("--resume and --init contradict", USAGE_EXIT);
  if (v.resume && v.out && resolve(v.out) !== resolve(v.resume)) {
    throw new UserError(
      "--resume DIR continues in DIR: leave --out out or give the same directory",
      USAGE_EXIT,
    );
  }
  // Every flag is checked before anything is written (a bad value must not cost an --out its old run).
  const saveEvery = numberFlag("save-every", v["save-every"], 1, "positive integer");
  const logEvery = numberFlag("log-every", v["log-every"], 10, "positive integer");
  if (logEvery > MAX_LOG_EVERY) {
    throw new UserError(`--log-every must be at most ${MAX_LOG_EVERY}, got ${logEvery}`, USAGE_EXIT);
  }
  const say = (line: string) => {
    if (!v.quiet) console.error(line);
  };

  // A resumed run takes its recorded flags; flags given now override them (e.g. more --epochs).
  let resume: Checkpoint | undefined;
  let recorded: Record<string, unknown> = {};
  const out = v.resume ?? v.out ?? "runs/train";
  if (v.resume) {
    const checkpoint = join(v.resume, "checkpoint");
    if (await exists(v.resume) && !(await committedDir(checkpoint))) {
      throw new UserError(
        `checkpoint ${checkpoint}: no such directory: the run in ${v.resume} stopped before its first ` +
          `checkpoint (one is written every --save-every epochs); start it again with --out ${v.resume} --force`,
      );
    }
    resume = await loadCheckpoint(checkpoint);
    if (!resume.optimizer || !resume.progress) {
      throw new UserError(`${v.resume}/checkpoint holds a model but no training state: cannot resume it`);
    }
    recorded = { ...resume.train };
    // Checkpoints from before train.source recorded the description ("built-in corpus") as train.data:
    // not a path, so the data is located as when no --data is given (the vocabulary check still applies).
    if (recorded.source === undefined) delete recorded.data;
  }
  const str = (name: string): string | undefined =>
    (v as Record<string, unknown>)[name] as string | undefined ??
      (recorded[name] === undefined ? undefined : String(recorded[name]));

  // Data flags not given stay undefined: a prepared directory then supplies its own settings.
  const given = (name: string, check: Parameters<typeof numberFlag>[3]) =>
    str(name) === undefined ? undefined : numberFlag(name, str(name), 0, check);
  const data = await loadDataset({
    data: str("data"),
    files: str("files"),
    window: given("window", "positive integer"),
    minCount: given("min-count", "positive integer"),
    valFraction: given("val-fraction", "fraction"),
    seed: given("seed", "32-bit unsigned integer"),
  });
  const window = data.window;
  let config: ModelConfig = {
    vocab: data.vocab.length,
    embed: numberFlag("embed", str("embed"), DEFAULT_MODEL.embed, "positive integer"),
    hidden: numberFlag("hidden", str("hidden"), DEFAULT_MODEL.hidden, "positive integer"),
    layers: numberFlag("layers", str("layers"), DEFAULT_MODEL.layers, "positive integer"),
    window,
  };
  // The notebook's 200 epochs; the small built-in corpus is learnt in far fewer (about half a minute).
  const defaultEpochs = data.source === BUILTIN_SOURCE ? BUILTIN_EPOCHS : 200;
  const epochs = numberFlag("epochs", str("epochs"), defaultEpochs, "non-negative integer");
  const batch = numberFlag("batch", str("batch"), 64, "positive integer");
  const lr = numberFlag("lr", str("lr"), 1e-3, "positive number");
  const seed = numberFlag("seed", str("seed"), 0, "32-bit unsigned integer");
  const maxSteps = str("max-steps") === undefined
    ? undefined
    : numberFlag("max-steps", str("max-steps"), 0, "positive integer");
  const shuffle = v["no-shuffle"]
    ? false
    : v.shuffle
    ? true
    : recorded.shuffle === undefined
    ? true
    : Boolean(recorded.shuffle);
  const backendKind = parseBackendKind(str("backend"));

  let params: Float32Array;
  if (resume) {
    if (resume.vocab.join("\n") !== data.vocab.join("\n")) {
      throw new UserError(
        `${v.resume} was trained on another corpus (its vocabulary differs from ${data.source})`,
      );
    }
    // The model is the checkpoint's: a model flag given now that differs from it cannot be honoured.
    for (const key of ["embed", "hidden", "layers", "window"] as const) {
      const now = (v as Record<string, unknown>)[key];
      const had = resume.config[key];
      if (now !== undefined && Number(now) !== had) {
        throw new UserError(
          `--${key} ${now} differs from the checkpoint's ${had}: a resumed run keeps its model`,
        );
      }
    }
    // Mid-epoch, the position in the epoch counts batches of the old size.
    const oldBatch = Number(recorded.batch);
    if ((resume.progress?.batchInEpoch ?? 0) > 0 && v.batch !== undefined && batch !== oldBatch) {
      throw new UserError(
        `--batch ${batch} differs from the interrupted epoch's ${oldBatch}: resume with --batch ${oldBatch} ` +
          "(a new batch size can start with the next run)",
      );
    }
    config = resume.config;
    params = resume.params;
  } else if (v.init) {
    params = (await loadModelFile(v.init, config)).params;
  } else {
    params = initParams(config, seed);
  }

  // The backend first: without an adapter nothing is printed or written but the one error line.
  let backendLine = "";
  const backend = await openBackend(backendKind, config, { maxBatch: batch, say: (l) => backendLine = l });
  try {
    const lock = await prepareOutDir(out, Boolean(v.force), Boolean(v.resume));
    say(
      `data: ${data.source}: ${data.headlines} headlines, vocab ${data.vocab.length}, ` +
        `${data.train.count} training pairs` + (data.val.count ? `, ${data.val.count} validation pairs` : ""),
    );
    say(backendLine);
    try {
      const result = await train(backend, data, { params, resume }, {
        out,
        epochs,
        batch,
        lr,
        seed,
        shuffle,
        maxSteps,
        saveEvery,
        logEvery,
        quiet: Boolean(v.quiet),
        flags: {
          // Absolute, so that --resume finds the data from any working directory.
          data: str("data") === undefined ? undefined : resolve(str("data")!),
          files: str("files"),
          "min-count": data.minCount,
          "val-fraction": data.valFraction,
          window,
          embed: config.embed,
          hidden: config.hidden,
          layers: config.layers,
          epochs,
          batch,
          lr,
          seed,
          shuffle,
          backend: backendKind,
        },
      });
      const summary =
        `${result.stopped === "interrupted" ? "interrupted" : "done"}: ${result.steps} steps, ` +
        `${result.epochs} epochs, last loss ${result.lastLoss.toFixed(4)}` +
        (result.valLoss !== undefined ? `, val loss ${result.valLoss.toFixed(4)}` : "") +
        `, ${result.pairsPerSecond.toFixed(0)} pairs/s, ${
          result.seconds.toFixed(1)
        } s; checkpoint ${result.checkpoint}`;
      if (v.json) {
        console.log(JSON.stringify({ ...result, backend: backend.name, params: config }));
      } else console.log(summary);
      if (v.json && !v.quiet) console.error(summary);
      return result.stopped === "interrupted" ? 130 : 0;
    } finally {
      await lock.release();
    }
  } finally {
    backend.destroy();
  }
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
    for (const f of ["checkpoint", "metrics.jsonl"]) if (await exists(join(out, f))) holds.push(f);
    if (holds.length && !force) {
      await lock.release();
      throw new UserError(
        `${out} holds another run (${holds.join(", ")}): use --resume ${out}, --force, or another --out`,
      );
    }
    for (const f of ["checkpoint", "best", "metrics.jsonl", "loss.svg"]) {
      await Deno.remove(join(out, f), { recursive: true }).catch(() => {});
    }
  }
  return lock;
}
