/**
 * A lost or missing WebGPU device. In process, train() runs on a Backend wrapper that destroys the device
 * at a chosen moment (mid-epoch, at an epoch start, during a checkpoint save, during validation, before any
 * checkpoint): the run must stop promptly (every wait is raced against a timeout: a lost device must never
 * hang the loop) with one line naming the loss, the step and the last checkpoint, which still loads. With
 * no adapter at all (DENO_WEBGPU_BACKEND naming a backend this OS lacks), the train and predict CLIs print
 * one error line pointing to `--backend cpu` and exit non-zero, and `--backend cpu` then works.
 */
import type { DropoutSettings } from "../src/model/dropout.ts";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { gpuTest } from "./gpu_harness.ts";
import type { Gpu } from "../src/gpu/device.ts";
import { createGpuBackend } from "../src/gpu/backend.ts";
import type { Backend } from "../src/model/backend.ts";
import type { AdamHyper } from "../src/model/optimizer.ts";
import type { ModelConfig } from "../src/model/config.ts";
import { initParams } from "../src/model/init.ts";
import { buildDataset } from "../src/data/dataset.ts";
import type { Dataset } from "../src/data/types.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../src/data/builtin.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/deno/checkpoint_files.ts";
import { type RunOptions, trainInDir } from "../src/deno/train_run.ts";
import { exists } from "../src/deno/fs.ts";
import { errorLine, type Run, runDeno } from "./cli_harness.ts";
import { makeWithTempDir } from "./fs_harness.ts";
import { ForwardingBackend } from "./forwarding_backend.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BATCH = 64;
/** Longer than any of these runs takes on the software adapter, by far: reaching it means a hang. */
const HANG_MS = 60_000;

function builtinData(valFraction = 0): Dataset {
  return buildDataset(
    { source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() },
    { window: 2, minCount: 1, valFraction, seed: 0 },
  );
}

const tiny = (vocab: number): ModelConfig => ({ vocab, embed: 4, hidden: 8, layers: 2, window: 2 });

/** Rejects when `p` has not settled after `ms` (and clears its timer when it has). */
async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms (hung)`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

type Method = "trainStep" | "takeLosses" | "setOrder" | "getParams" | "evalLoss";

/**
 * Forwards every call to `inner`, and calls `hook(method, n)` before the n-th (1-based) call of each method;
 * trainStep is synchronous, so its hook must be too.
 */
class HookedBackend extends ForwardingBackend {
  readonly calls = new Map<Method, number>();
  constructor(inner: Backend, readonly hook: (method: Method, n: number) => void | Promise<void>) {
    super(inner);
  }
  #count(m: Method): number {
    const n = (this.calls.get(m) ?? 0) + 1;
    this.calls.set(m, n);
    return n;
  }
  override async getParams() {
    await this.hook("getParams", this.#count("getParams"));
    return super.getParams();
  }
  override async setOrder(order: Int32Array) {
    await this.hook("setOrder", this.#count("setOrder"));
    return super.setOrder(order);
  }
  override trainStep(start: number, size: number, hyper: AdamHyper, dropout?: DropoutSettings) {
    this.hook("trainStep", this.#count("trainStep"));
    super.trainStep(start, size, hyper, dropout);
  }
  override async takeLosses() {
    await this.hook("takeLosses", this.#count("takeLosses"));
    return super.takeLosses();
  }
  override async evalLoss(inputs: Int32Array, targets: Int32Array, count: number) {
    await this.hook("evalLoss", this.#count("evalLoss"));
    return super.evalLoss(inputs, targets, count);
  }
}

interface LostRun {
  message: string;
  out: string;
  stepsPerEpoch: number;
}

/** Trains until the hook destroys the device; returns the error message (the run must fail, promptly). */
async function trainUntilLost(
  gpu: Gpu,
  when: (method: Method, n: number, stepsPerEpoch: number) => "destroy" | "destroy-and-settle" | undefined,
  opts: { logEvery?: number; valFraction?: number } = {},
): Promise<LostRun> {
  const data = builtinData(opts.valFraction);
  const cfg = tiny(data.vocab.length);
  const stepsPerEpoch = Math.ceil(data.train.count / BATCH);
  const inner = await createGpuBackend(gpu, cfg, { maxBatch: BATCH });
  const backend = new HookedBackend(inner, (method, n) => {
    const action = when(method, n, stepsPerEpoch);
    if (!action) return;
    gpu.device.destroy();
    // device.lost settles a task later: "settle" lets it, so the backend's own check sees the loss first.
    if (action === "destroy-and-settle") return new Promise((r) => setTimeout(r, 10));
  });
  const out = await Deno.makeTempDir({ prefix: "robust_device_" });
  const opt: RunOptions = {
    out,
    epochs: 5,
    batch: BATCH,
    lr: 1e-3,
    seed: 0,
    shuffle: true,
    saveEvery: 1,
    logEvery: opts.logEvery ?? 1,
    quiet: true,
    flags: {},
  };
  try {
    await withTimeout(
      trainInDir(backend, data, { params: initParams(cfg, 0) }, opt),
      HANG_MS,
      "train on a lost device",
    );
  } catch (e) {
    const message = (e as Error).message;
    assert(!message.includes("\n"), `not one line: ${JSON.stringify(message)}`);
    assert(
      /the GPU device was lost \(destroyed\)/.test(message),
      `does not say the device was lost: ${message}`,
    );
    return { message, out, stepsPerEpoch };
  } finally {
    backend.destroy();
  }
  throw new Error("training finished on a destroyed device");
}

/** The "(at step S, epoch E; last checkpoint: C)" the loop appends. */
function where(message: string): { step: number; epoch: number; checkpoint: string } {
  const m = /\(at step (\d+), epoch (\d+); last checkpoint: ([^)]+)\)$/.exec(message);
  assert(m, `no step/checkpoint in: ${message}`);
  return { step: Number(m[1]), epoch: Number(m[2]), checkpoint: m[3] };
}

/** The checkpoint the message names loads and holds `step` steps. */
async function checkpointHolds(path: string, step: number): Promise<void> {
  const ck = await loadCheckpoint(path);
  assertEquals(ck.progress?.step, step, `${path}: step`);
}

gpuTest(
  "device lost mid-epoch: one line naming the step and the last checkpoint, which loads",
  async (gpu) => {
    let K = 0;
    const run = await trainUntilLost(gpu, (m, n, spe) => {
      K = spe + 3; // a few steps into epoch 2, after epoch 1's checkpoint
      return m === "trainStep" && n === K + 1 ? "destroy" : undefined;
    });
    try {
      // Losses are read back after every step (logEvery 1): the loss shows at exactly the step it happened at.
      assertEquals(where(run.message), { step: K + 1, epoch: 2, checkpoint: join(run.out, "checkpoint") });
      await checkpointHolds(join(run.out, "checkpoint"), run.stepsPerEpoch);
    } finally {
      await Deno.remove(run.out, { recursive: true });
    }
  },
  {},
);

gpuTest(
  "device lost between loss readbacks: noticed at the next readback, within --log-every steps",
  async (gpu) => {
    const LOG_EVERY = 10;
    let K = 0;
    const run = await trainUntilLost(gpu, (m, n, spe) => {
      K = spe + 3;
      return m === "trainStep" && n === K + 1 ? "destroy" : undefined;
    }, { logEvery: LOG_EVERY });
    try {
      const at = where(run.message);
      assert(at.step >= K + 1 && at.step <= K + LOG_EVERY, `lost at step ${K + 1}, reported at ${at.step}`);
      assertEquals(at.checkpoint, join(run.out, "checkpoint"));
      await checkpointHolds(at.checkpoint, run.stepsPerEpoch);
    } finally {
      await Deno.remove(run.out, { recursive: true });
    }
  },
  {},
);

gpuTest("device lost at an epoch start: the next step refuses at once, no step counted", async (gpu) => {
  const run = await trainUntilLost(
    gpu,
    (m, n) => (m === "setOrder" && n === 3 ? "destroy-and-settle" : undefined),
  );
  try {
    assertEquals(where(run.message), {
      step: 2 * run.stepsPerEpoch,
      epoch: 3,
      checkpoint: join(run.out, "checkpoint"),
    });
    await checkpointHolds(join(run.out, "checkpoint"), 2 * run.stepsPerEpoch);
  } finally {
    await Deno.remove(run.out, { recursive: true });
  }
}, {});

gpuTest("device lost during a checkpoint save: the previous checkpoint is named and intact", async (gpu) => {
  // getParams runs once per save: its second call is epoch 2's checkpoint.
  const run = await trainUntilLost(gpu, (m, n) => (m === "getParams" && n === 2 ? "destroy" : undefined));
  try {
    const at = where(run.message);
    assertEquals(at, { step: 2 * run.stepsPerEpoch, epoch: 2, checkpoint: join(run.out, "checkpoint") });
    await checkpointHolds(at.checkpoint, run.stepsPerEpoch);
  } finally {
    await Deno.remove(run.out, { recursive: true });
  }
}, {});

gpuTest("device lost during validation, and before any checkpoint: 'last checkpoint: none'", async (gpu) => {
  const run = await trainUntilLost(
    gpu,
    (m, n) => (m === "evalLoss" && n === 1 ? "destroy" : undefined),
    { valFraction: 0.1 },
  );
  try {
    // The first evaluation ends epoch 1, before its checkpoint is written.
    assertEquals(where(run.message), { step: run.stepsPerEpoch, epoch: 1, checkpoint: "none" });
    assert(!(await exists(join(run.out, "checkpoint"))), "a checkpoint appeared");
  } finally {
    await Deno.remove(run.out, { recursive: true });
  }
}, {});

// ---- no adapter at all ----

/** A wgpu backend Linux and macOS do not have: requestAdapter then finds nothing. */
const NO_ADAPTER_ENV = { DENO_WEBGPU_BACKEND: "dx12", NO_COLOR: "1" };
const withTempDir = makeWithTempDir("robust_no_adapter_");

function deno(args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  return withTimeout(runDeno(args, { cwd, env }), HANG_MS, `deno ${args.join(" ")}`);
}

Deno.test({
  name:
    "no adapter: train and predict print one line pointing to --backend cpu and exit 1; --backend cpu works",
  ignore: Deno.build.os === "windows", // where dx12 exists
  async fn() {
    // The setting must really leave no adapter, or this test would prove nothing.
    const probe = await deno(
      ["eval", "console.log(String(Boolean(await navigator.gpu?.requestAdapter())))"],
      NO_ADAPTER_ENV,
      ROOT,
    );
    assertEquals(
      probe.stdout.trim(),
      "false",
      `adapter under ${JSON.stringify(NO_ADAPTER_ENV)}: ${probe.stderr}`,
    );

    await withTempDir(async (tmp) => {
      const data = builtinData();
      const cfg = tiny(data.vocab.length);
      const model = join(tmp, "model");
      await saveCheckpoint(model, { config: cfg, vocab: data.vocab, params: initParams(cfg, 0) });
      const prompt = data.vocab.slice(0, 2).join(" ");
      const small = ["--embed", "4", "--hidden", "8", "--layers", "2", "--max-steps", "2", "--quiet"];
      const runs: Array<[string, string[]]> = [
        ["train", ["run", "-A", join(ROOT, "scripts/train.ts"), ...small, "--out", join(tmp, "run")]],
        ["predict", ["run", "-A", join(ROOT, "scripts/predict.ts"), "--model", model, prompt]],
      ];
      for (const [name, args] of runs) {
        // In the temp folder: no ./data there, so train's corpus is the built-in one, and nothing lands here.
        const r = await deno(args, NO_ADAPTER_ENV, tmp);
        assertEquals(r.code, 1, `${name}: ${r.stderr}`);
        const line = errorLine(r, name, `${name}: error: no WebGPU adapter found`);
        assert(line.includes("--backend cpu"), `${name}: no pointer to --backend cpu: ${line}`);
        // What the line suggests works.
        const cpu = await deno([...args, "--backend", "cpu"], NO_ADAPTER_ENV, tmp);
        assertEquals(cpu.code, 0, `${name} --backend cpu: ${cpu.stderr}`);
      }
    });
  },
});
