/**
 * Long runs do not leak. The real training loop (train(), with a checkpoint save and a validation pass
 * every epoch) runs many epochs of a tiny model on the built-in corpus, in one process; after each epoch
 * (past a warm-up) it samples:
 *   - backend.memoryBytes() (= gpu.allocatedBytes): must not change at all;
 *   - every GPU buffer alive on the device (device.createBuffer is wrapped to track creation and destroy):
 *     the count must not change, no gpu.read() staging buffer ("readback") may outlive its read, and the
 *     bytes alive must equal allocatedBytes (so staging buffers are neither counted nor left behind);
 *   - Deno.memoryUsage().rss after a full GC: the least-squares slope over epochs must stay under
 *     RSS_SLOPE_BOUND, a bound a control run shows that a leak of one readback buffer per step exceeds.
 * evalLoss and logits, called over and over, get the same checks.
 *
 * The sampling process is this file run as a script (ROBUST_LEAK_CHILD=MODE, `deno run --no-check
 * --v8-flags=--expose-gc`): inside `deno test` the runner's own memory moves RSS by more than the bound
 * (the type checker's heap is handed back for a minute, about -0.7 MiB per epoch here; other test files
 * come and go), which would hide a leak. The test reads the samples it prints and checks them.
 *
 * LONG=1 runs 10x the epochs and calls (a few minutes on the software adapter). CI can run it on a
 * schedule (e.g. nightly): `LONG=1 REQUIRE_GPU=1 deno test -A tests/robust_leak_test.ts`.
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./assert.ts";
import { gpuTest } from "./gpu_harness.ts";
import { Gpu } from "../src/gpu/device.ts";
import { createGpuBackend } from "../src/gpu/backend.ts";
import type { Backend } from "../src/model/backend.ts";
import { ADAM_DEFAULTS } from "../src/model/optimizer.ts";
import { initParams } from "../src/model/init.ts";
import { buildDataset } from "../src/data/dataset.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../src/data/builtin.ts";
import { trainInDir } from "../src/deno/train_run.ts";
import { runDeno } from "./cli_harness.ts";
import { ForwardingBackend } from "./forwarding_backend.ts";

const LONG = Deno.env.get("LONG") === "1";
const EPOCHS = LONG ? 300 : 30;
const EVAL_CALLS = LONG ? 300 : 30;
/** Samples dropped before fitting: the first epochs build pipelines and grow allocator pools. */
const WARMUP = 4;
/**
 * Largest RSS growth accepted, per epoch (or per evaluation round). Measured on lavapipe with a GC before
 * each sample: flat but for the allocator's occasional steps of a few MiB, which bend a fit over ~27
 * samples by up to ~250 KiB/epoch. Leaking one parameter-sized readback buffer per step (34 steps x
 * 67.5 KiB) adds ~2.1 MiB/epoch: the control run below checks that such a leak exceeds this bound.
 */
const RSS_SLOPE_BOUND = 1024 * 1024;
/**
 * Largest growth of the JS heap after a full GC, per epoch: train() keeps every metrics record for the
 * loss plot, 35 small objects an epoch here (about 7 KiB); anything kept per step beyond that is a leak.
 */
const HEAP_SLOPE_BOUND = 64 * 1024;
const BATCH = 64;

const SELF = fileURLToPath(import.meta.url);

const data = buildDataset(
  { source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() },
  { window: 2, minCount: 1, valFraction: 0.1, seed: 0 },
);
const CONFIG = { vocab: data.vocab.length, embed: 4, hidden: 8, layers: 2, window: 2 };

/** Tracks every buffer created on the device until it is destroyed. */
function trackBuffers(gpu: Gpu) {
  const live = new Map<GPUBuffer, string>();
  const created = new Map<string, number>();
  const device = gpu.device;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor) => {
    const buf = create(desc);
    const label = desc.label ?? "";
    created.set(label, (created.get(label) ?? 0) + 1);
    live.set(buf, label);
    const destroy = buf.destroy.bind(buf);
    buf.destroy = () => {
      live.delete(buf);
      destroy();
    };
    return buf;
  };
  return {
    live,
    created,
    liveBytes: () => [...live.keys()].reduce((n, b) => n + b.size, 0),
    liveWithLabel: (label: string) => [...live.values()].filter((l) => l === label).length,
  };
}

interface Sample {
  gpuBytes: number;
  allocated: number;
  liveBuffers: number;
  liveBytes: number;
  liveReadbacks: number;
  rss: number;
  heapUsed: number;
}

function sampler(gpu: Gpu, backend: Backend, tracker: ReturnType<typeof trackBuffers>) {
  const samples: Sample[] = [];
  return {
    samples,
    take() {
      // A full GC first, so the slope measures what is kept, not what V8 has yet to collect.
      (globalThis as unknown as { gc: () => void }).gc();
      samples.push({
        gpuBytes: backend.memoryBytes(),
        allocated: gpu.allocatedBytes,
        liveBuffers: tracker.live.size,
        liveBytes: tracker.liveBytes(),
        liveReadbacks: tracker.liveWithLabel("readback"),
        ...(({ rss, heapUsed }) => ({ rss, heapUsed }))(Deno.memoryUsage()),
      });
    },
  };
}

/** Least-squares slope of ys over their index. */
function slope(ys: number[]): number {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    num += (i - mx) * (y - my);
    den += (i - mx) ** 2;
  });
  return num / den;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** The no-growth checks on samples taken after warm-up; `per` names the unit of the x axis. */
function checkNoGrowth(samples: Sample[], per: string): void {
  const s = samples.slice(WARMUP);
  assert(s.length >= 10, `only ${s.length} samples after warm-up`);
  const first = s[0];
  s.forEach((x, i) => {
    const at = `${per} ${WARMUP + i + 1}`;
    assertEquals(x.gpuBytes, first.gpuBytes, `${at}: backend.memoryBytes() changed`);
    assertEquals(x.gpuBytes, x.allocated, `${at}: memoryBytes is not gpu.allocatedBytes`);
    assertEquals(x.liveBuffers, first.liveBuffers, `${at}: GPU buffers alive changed`);
    assertEquals(x.liveReadbacks, 0, `${at}: a gpu.read staging buffer outlived its read`);
    assertEquals(x.liveBytes, x.allocated, `${at}: bytes in live buffers differ from allocatedBytes`);
  });
  const rssSlope = slope(s.map((x) => x.rss));
  const heapSlope = slope(s.map((x) => x.heapUsed));
  console.log(
    `per ${per} over ${s.length}: RSS ${kib(rssSlope)} (bound ${kib(RSS_SLOPE_BOUND)}), ` +
      `JS heap ${kib(heapSlope)} (bound ${kib(HEAP_SLOPE_BOUND)})`,
  );
  assert(rssSlope < RSS_SLOPE_BOUND, `RSS grows ${kib(rssSlope)} per ${per}: a leak`);
  assert(heapSlope < HEAP_SLOPE_BOUND, `the JS heap grows ${kib(heapSlope)} per ${per}: a leak`);
}

/** Forwards to `inner`; `onEpoch` runs at each setOrder, i.e. at the start of every epoch. */
class SampledBackend extends ForwardingBackend {
  constructor(inner: Backend, readonly onEpoch: () => void) {
    super(inner);
  }
  override setOrder(order: Int32Array) {
    this.onEpoch();
    return super.setOrder(order);
  }
}

/** What a child process measured: samples, plus mode-specific facts. */
interface Measurement {
  samples: Sample[];
  readbacks: number;
  leakedPerStep?: number;
}

/** Child, mode "train": EPOCHS epochs of train(), sampled at each epoch start and at the end. */
async function measureTraining(gpu: Gpu): Promise<Measurement> {
  const tracker = trackBuffers(gpu);
  const inner = await createGpuBackend(gpu, CONFIG, { maxBatch: BATCH });
  const s = sampler(gpu, inner, tracker);
  const backend = new SampledBackend(inner, () => s.take());
  const out = await Deno.makeTempDir({ prefix: "robust_leak_" });
  try {
    const result = await trainInDir(backend, data, { params: initParams(CONFIG, 0) }, {
      out,
      epochs: EPOCHS,
      batch: BATCH,
      lr: 1e-3,
      seed: 0,
      shuffle: true,
      saveEvery: 1,
      logEvery: 10,
      quiet: true,
      flags: {},
    });
    s.take(); // after the last epoch
    assertEquals(result.epochs, EPOCHS);
    return { samples: s.samples, readbacks: tracker.created.get("readback") ?? 0 };
  } finally {
    inner.destroy();
    await Deno.remove(out, { recursive: true });
  }
}

/** Child, mode "eval": evalLoss and logits EVAL_CALLS times, sampled after each round. */
async function measureEvaluation(gpu: Gpu): Promise<Measurement> {
  const tracker = trackBuffers(gpu);
  const backend = await createGpuBackend(gpu, CONFIG, { maxBatch: BATCH });
  const s = sampler(gpu, backend, tracker);
  try {
    await backend.setParams(initParams(CONFIG, 0));
    // More windows than one batch, so logits and evalLoss both loop over chunks.
    const rows = 2 * BATCH + 3;
    const inputs = data.train.inputs.subarray(0, rows * CONFIG.window);
    let firstLoss = NaN;
    for (let i = 0; i < EVAL_CALLS; i++) {
      const loss = await backend.evalLoss(data.val.inputs, data.val.targets, data.val.count);
      const logits = await backend.logits(inputs, rows);
      assertEquals(logits.length, rows * CONFIG.vocab);
      if (i === 0) firstLoss = loss;
      assertEquals(loss, firstLoss, "evaluation changed the model"); // and reads the same every time
      s.take();
    }
    return { samples: s.samples, readbacks: tracker.created.get("readback") ?? 0 };
  } finally {
    backend.destroy();
  }
}

/** Child, mode "control": training steps that leak one parameter-sized mapped readback buffer each. */
async function measureLeakControl(gpu: Gpu): Promise<Measurement> {
  const tracker = trackBuffers(gpu);
  const backend = await createGpuBackend(gpu, CONFIG, { maxBatch: BATCH });
  const s = sampler(gpu, backend, tracker);
  const leaked: GPUBuffer[] = [];
  const paramBytes = (await backend.getParams()).byteLength;
  try {
    await backend.setParams(initParams(CONFIG, 0));
    await backend.setTrainData(data.train.inputs, data.train.targets, data.train.count);
    const P = data.train.count;
    await backend.setOrder(Int32Array.from({ length: P }, (_, i) => i));
    for (let epoch = 0; epoch < WARMUP + 10; epoch++) {
      for (let first = 0; first < P; first += BATCH) {
        backend.trainStep(first, Math.min(BATCH, P - first), ADAM_DEFAULTS);
        // What gpu.read does, minus the destroy: a mapped staging buffer of the parameters' size.
        const staging = gpu.device.createBuffer({
          label: "leaked readback",
          size: paramBytes,
          usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        });
        const enc = gpu.device.createCommandEncoder();
        enc.clearBuffer(staging);
        gpu.device.queue.submit([enc.finish()]);
        await staging.mapAsync(GPUMapMode.READ);
        leaked.push(staging);
      }
      await backend.takeLosses();
      s.take();
    }
    return { samples: s.samples, readbacks: tracker.created.get("readback") ?? 0, leakedPerStep: paramBytes };
  } finally {
    for (const b of leaked) b.destroy();
    backend.destroy();
  }
}

const MODES = { train: measureTraining, eval: measureEvaluation, control: measureLeakControl };
type Mode = keyof typeof MODES;

const CHILD = Deno.env.get("ROBUST_LEAK_CHILD") as Mode | undefined;
if (CHILD) {
  const result = await MODES[CHILD](await Gpu.open());
  console.log(JSON.stringify(result));
  Deno.exit(0);
}

/** Runs MODE in a fresh process (see the top comment) and returns what it measured. */
async function measure(mode: Mode): Promise<Measurement> {
  const out = await runDeno(["run", "-A", "--no-check", "--v8-flags=--expose-gc", SELF], {
    env: { ROBUST_LEAK_CHILD: mode, NO_COLOR: "1" },
  });
  assertEquals(out.code, 0, `the ${mode} measurement failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").at(-1)!);
}

gpuTest(
  `${EPOCHS} epochs of train(): GPU bytes and buffers constant, readbacks freed, RSS flat`,
  async () => {
    const m = await measure("train");
    assertEquals(m.samples.length, EPOCHS + 1);
    // Every epoch read back losses, validation and a checkpoint: the staging path was exercised.
    assert(m.readbacks >= EPOCHS * 3, `only ${m.readbacks} gpu.read calls`);
    checkNoGrowth(m.samples, "epoch");
  },
);

gpuTest(`evalLoss and logits called ${EVAL_CALLS} times: nothing grows`, async () => {
  const m = await measure("eval");
  assert(m.readbacks >= EVAL_CALLS * 2, `only ${m.readbacks} gpu.read calls`);
  checkNoGrowth(m.samples, "round");
});

gpuTest("control: leaking one readback buffer per step is caught by the RSS bound", async () => {
  const m = await measure("control");
  const rssSlope = slope(m.samples.slice(WARMUP).map((x) => x.rss));
  console.log(`control: RSS slope ${kib(rssSlope)}/epoch with ${kib(m.leakedPerStep!)} leaked per step`);
  assert(
    rssSlope > RSS_SLOPE_BOUND,
    `a leak of ${kib(m.leakedPerStep!)}/step grew RSS only ${kib(rssSlope)}/epoch`,
  );
  // The buffer tracking sees it too.
  assert(m.samples.at(-1)!.liveBuffers > m.samples[WARMUP].liveBuffers, "live buffer count did not grow");
});
