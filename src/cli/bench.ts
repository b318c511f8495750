/** `deno task bench`: flags -> data -> the training-throughput or per-kernel bench -> table or JSON. */
import { fileURLToPath } from "node:url";
import { numberFlag, parseFlags } from "./args.ts";
import { UserError } from "../errors.ts";
import { buildDataset, DEFAULT_SETTINGS } from "../data/dataset.ts";
import type { Dataset } from "../data/types.ts";
import { loadDataset, readCorpus } from "../deno/data_files.ts";
import { NO_ADAPTER_HINT, openGpu } from "../deno/backends.ts";
import { statOrNull } from "../deno/fs.ts";
import { type Gpu, NoAdapterError } from "../gpu/device.ts";
import { DEFAULT_MODEL } from "../model/config.ts";
import { DEFAULT_BATCH } from "../train/defaults.ts";
import { benchKernels, kernelTiming } from "../bench/kernels.ts";
import { formatKernelReport, formatTrainReport, kernelReportJson, trainReportJson } from "./bench_report.ts";
import { benchTraining, type WindowPlan } from "../deno/train_bench.ts";

export const BENCH_HELP = `Measure training speed: WebGPU vs the CPU reference vs PyTorch, or per kernel.

usage: deno task bench [--data PATH] [flags]

  --data PATH       CSV file, directory of *Articles*.csv, or a prepared directory (default:
                    ../shared/data/nyt/ArticlesApril2017.csv if present, else as deno task train)
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

  const data = await benchData(v.data, quick);
  say(`data: ${data.source}: vocab ${data.vocab.length}, ${data.train.count} training pairs`);
  if (v.kernels) return await kernelsMain(data, quick, Boolean(v.json));

  const plan = (s: number, r: number, warmup: number): WindowPlan => ({ steps: s, repeats: r, warmup });
  const report = await benchTraining(data, {
    batch: DEFAULT_BATCH,
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

async function kernelsMain(data: Dataset, quick: boolean, json: boolean): Promise<number> {
  let gpu: Gpu;
  try {
    gpu = await openGpu();
  } catch (e) {
    if (e instanceof NoAdapterError) {
      throw new UserError(["--kernels needs a GPU adapter: ", ...NO_ADAPTER_HINT]);
    }
    throw e;
  }
  const model = { ...DEFAULT_MODEL, vocab: data.vocab.length, window: data.window };
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
async function benchData(data: string | undefined, quick: boolean): Promise<Dataset> {
  if (data !== undefined) return await loadDataset({ data });
  if (quick) return buildDataset(await readCorpus({ kind: "builtin" }), DEFAULT_SETTINGS);
  if ((await statOrNull(DEFAULT_DATA))?.isFile) return await loadDataset({ data: DEFAULT_DATA });
  return await loadDataset({});
}
