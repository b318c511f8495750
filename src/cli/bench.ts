/** `deno task bench`: flags -> data -> the training-throughput or per-kernel bench -> table or JSON. */
import { fileURLToPath } from "node:url";
import { numberFlag, parseFlags } from "./args.ts";
import { USAGE_EXIT, UserError } from "../errors.ts";
import { buildDataset, DEFAULT_SETTINGS } from "../data/dataset.ts";
import type { Dataset } from "../data/types.ts";
import { loadDataset, readCorpus } from "../deno/data_files.ts";
import { NO_ADAPTER_HINT, openGpu } from "../deno/backends.ts";
import { statOrNull } from "../deno/fs.ts";
import { type Gpu, NoAdapterError } from "../gpu/device.ts";
import { MODEL_KINDS, type ModelKind } from "../model/config.ts";
import { DEFAULT_BATCH } from "../train/defaults.ts";
import { benchKernels, kernelTiming } from "../bench/kernels.ts";
import { formatKernelReport, formatTrainReport, kernelReportJson, trainReportJson } from "./bench_report.ts";
import {
  benchConfig,
  type BenchModel,
  benchTraining,
  NOTEBOOK_BENCH_MODEL,
  type WindowPlan,
} from "../deno/train_bench.ts";

export const BENCH_HELP = `Measure training speed: WebGPU vs the CPU reference vs PyTorch, or per kernel.

usage: deno task bench [--data PATH] [flags]

  --data PATH       CSV file, directory of *Articles*.csv, or a prepared directory (default:
                    ../shared/data/nyt/ArticlesApril2017.csv if present, else as deno task train)
  --min-count N     words seen fewer times become <unk> (as prepare; default 1)
  --model-kind K    window (the notebook's, default) or headline (the LSTM over whole headlines; the data
                    gets boundaries)
  --embed N, --hidden N, --layers N
                    the model's sizes (default 16, 64, 5: the notebook's)
  --head N          fc1's width; 0: a direct head (default: the vocabulary, the notebook's)
  --tie             fc2.weight is embed.weight (fc2 must read --embed values)
  --dropout P       training's dropout rate (default 0)
  --clip MAX        clip the gradients' norm before every step (default: no clipping)
  --batch N         rows per step (default 64)
  --words N         then draw N words for --samples samples at once and report ms per word (default 20;
                    0: none)
  --samples N       samples drawn together for --words (default 8, at most the batch)
  --torch-threads N PyTorch's threads (default: this machine's cores; on a busy machine 1 can be several
                    times faster: its threads wait for each other)
  --steps N         training steps per timed window for webgpu and pytorch (default 20)
  --cpu-steps N     steps per timed window for the slow CPU reference (default 2)
  --repeats N       timed windows after the warm-up; the median is reported (default 5; cpu: at most 3)
  --no-cpu          leave out the CPU reference
  --no-torch        leave out PyTorch (bench/torch_reference.py; run when python3 imports torch)
  --quick           CI mode: built-in corpus (unless --data), 3 steps x 2 windows, seconds in all
  --kernels         per-kernel GPU times at the data's shapes, next to the CPU reference's
                    (instead of the training bench; --data, --quick and --json apply)
  --json            print one JSON object as the last line of stdout
  -h, --help        this text

Progress goes to stderr. Numbers on a shared machine vary run to run: compare ratios from one run.`;

const FLAGS = {
  data: { type: "string" },
  "min-count": { type: "string" },
  "model-kind": { type: "string" },
  embed: { type: "string" },
  hidden: { type: "string" },
  layers: { type: "string" },
  head: { type: "string" },
  tie: { type: "boolean" },
  dropout: { type: "string" },
  clip: { type: "string" },
  batch: { type: "string" },
  words: { type: "string" },
  samples: { type: "string" },
  "torch-threads": { type: "string" },
  steps: { type: "string" },
  "cpu-steps": { type: "string" },
  repeats: { type: "string" },
  "no-cpu": { type: "boolean" },
  "no-torch": { type: "boolean" },
  quick: { type: "boolean" },
  kernels: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The notebook's data, when this checkout sits next to the shared data folder. */
const DEFAULT_DATA = fileURLToPath(
  new URL("../../../shared/data/nyt/ArticlesApril2017.csv", import.meta.url),
);

/** Most CPU windows: at ~1-2 s a step, more would only make the default run slower. */
const CPU_MAX_REPEATS = 3;

export async function benchMain(args: string[]): Promise<number> {
  const { values: v } = parseFlags(args, FLAGS);
  if (v.help) {
    console.log(BENCH_HELP);
    return 0;
  }
  const quick = Boolean(v.quick);
  const steps = numberFlag("steps", v.steps, quick ? 3 : 20, "positive integer");
  const cpuSteps = numberFlag("cpu-steps", v["cpu-steps"], quick ? 1 : 2, "positive integer");
  const repeats = numberFlag("repeats", v.repeats, quick ? 2 : 5, "positive integer");
  const say = (line: string) => console.error(line);
  const model = benchModel(v);
  const batch = numberFlag("batch", v.batch, DEFAULT_BATCH, "positive integer");
  const words = numberFlag("words", v.words, quick ? 3 : 20, "non-negative integer");
  const samples = numberFlag("samples", v.samples, 8, "positive integer");
  const torchThreads = v["torch-threads"] === undefined
    ? undefined
    : numberFlag("torch-threads", v["torch-threads"], 1, "positive integer");
  if (v.kernels && model.kind !== "window") {
    throw new UserError(
      "--kernels times the window model's kernels; a headline model's per-kernel times are in the " +
        "training bench's step account",
      USAGE_EXIT,
    );
  }

  const minCount = numberFlag("min-count", v["min-count"], 1, "positive integer");
  const data = await benchData(v.data, quick, { minCount, boundaries: model.kind === "headline" });
  say(`data: ${data.source}: vocab ${data.vocab.length}, ${data.train.count} training pairs`);
  if (v.kernels) return await kernelsMain(data, model, quick, Boolean(v.json));

  const plan = (s: number, r: number, warmup: number): WindowPlan => ({ steps: s, repeats: r, warmup });
  const report = await benchTraining(data, {
    batch,
    model,
    words,
    samples,
    torchThreads,
    // The first webgpu step builds the pipelines; a second lets the driver settle.
    webgpu: plan(steps, repeats, 2),
    cpu: v["no-cpu"] ? null : plan(cpuSteps, Math.min(repeats, CPU_MAX_REPEATS), 1),
    // torch_reference.py always warms up with one window of the same steps.
    torch: v["no-torch"] ? null : plan(steps, repeats, steps),
    say,
  });
  console.log(formatTrainReport(report));
  if (v.json) console.log(JSON.stringify(trainReportJson(report)));
  // A missing adapter or torch is reported, not an error; a backend that broke while running is.
  return [report.webgpu, report.cpu, report.pytorch].some((o) => o.status === "failed") ? 1 : 0;
}

/** The model flags as the bench's model: the notebook's unless told otherwise. */
function benchModel(v: {
  "model-kind"?: string;
  embed?: string;
  hidden?: string;
  layers?: string;
  head?: string;
  tie?: boolean;
  dropout?: string;
  clip?: string;
}): BenchModel {
  const kind = v["model-kind"] ?? "window";
  if (!MODEL_KINDS.includes(kind as ModelKind)) {
    throw new UserError(`--model-kind must be one of ${MODEL_KINDS.join(", ")}, got "${kind}"`, USAGE_EXIT);
  }
  const d = NOTEBOOK_BENCH_MODEL;
  return {
    kind: kind as ModelKind,
    embed: numberFlag("embed", v.embed, d.embed, "positive integer"),
    hidden: numberFlag("hidden", v.hidden, d.hidden, "positive integer"),
    layers: numberFlag("layers", v.layers, d.layers, "positive integer"),
    ...(v.head === undefined ? {} : { head: numberFlag("head", v.head, 0, "non-negative integer") }),
    ...(v.tie ? { tie: true } : {}),
    dropout: numberFlag("dropout", v.dropout, 0, "fraction"),
    ...(v.clip === undefined ? {} : { clip: numberFlag("clip", v.clip, 1, "positive number") }),
  };
}

async function kernelsMain(data: Dataset, m: BenchModel, quick: boolean, json: boolean): Promise<number> {
  let gpu: Gpu;
  try {
    gpu = await openGpu();
  } catch (e) {
    if (e instanceof NoAdapterError) {
      throw new UserError(["--kernels needs a GPU adapter: ", ...NO_ADAPTER_HINT]);
    }
    throw e;
  }
  const model = benchConfig(data, m);
  const rows = await benchKernels(gpu, { quick, model, batch: DEFAULT_BATCH });
  const report = {
    adapter: gpu.adapter,
    timing: kernelTiming(gpu),
    vocab: model.vocab,
    batch: DEFAULT_BATCH,
    rows,
  };
  console.log(formatKernelReport(report));
  if (json) console.log(JSON.stringify(kernelReportJson(report)));
  gpu.device.destroy();
  return 0;
}

/**
 * --data; else the built-in corpus for --quick (small and always there); else the notebook's April 2017
 * file when present; else what deno task train would use (./data's CSVs, else the built-in corpus).
 */
async function benchData(
  data: string | undefined,
  quick: boolean,
  settings: { minCount: number; boundaries: boolean },
): Promise<Dataset> {
  // Only what was asked for: a prepared directory refuses settings other than its own.
  const given = {
    ...(settings.minCount !== 1 ? { minCount: settings.minCount } : {}),
    ...(settings.boundaries ? { boundaries: true } : {}),
  };
  if (data !== undefined) return await loadDataset({ data, ...given });
  if (quick) return buildDataset(await readCorpus({ kind: "builtin" }), { ...DEFAULT_SETTINGS, ...given });
  if ((await statOrNull(DEFAULT_DATA))?.isFile) return await loadDataset({ data: DEFAULT_DATA, ...given });
  return await loadDataset(given);
}
