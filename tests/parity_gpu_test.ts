/**
 * The WebGPU trainer against PyTorch and against the CPU reference. PyTorch parity replays a run of
 * bench/make_parity_fixture.py (tests/parity_harness.ts): PyTorch's initial weights, the same pairs in file
 * order, the same batches and Adam; every step's loss and the final weights compared with tolerances near
 * what is measured (their measurements: TOLERANCE in parity_harness.ts).
 *
 * 1. PyTorch parity of the WebGPU Backend on tests/fixtures/parity/tiny, in the repository, so it runs on
 *    every clean clone: 3 LSTM layers of 12 over a 3-word window, 390 steps. A 0.1% error in any gate of
 *    the forward or backward LSTM kernels fails it (the mutation table in parity_harness.ts). The same
 *    for tests/fixtures/parity/tiny-boundaries (the corpus with --boundaries, 375 steps),
 *    tests/fixtures/parity/tiny-clip (the tiny run with clip_grad_norm_ 1.0: the GPU's norm reduction), and
 *    the tiny fixture on the per-position LSTM kernels (the fallback where a device's limits rule out the
 *    sequence kernels).
 * 2. The fixtures through the library entry point (trainMain, in-process, --quiet): --init, --no-shuffle,
 *    the fixture's sizes, batch, lr and step count (and --boundaries, --clip); the training loop's batches,
 *    metrics.jsonl and checkpoint must give what the Backend alone gives.
 * 3. PyTorch parity of the notebook's model on April 2017 (../shared/data/parity/apr2017-seed0) through
 *    trainMain: 63 steps' losses and the final weights. Skips visibly without the shared data.
 * 4. GPU vs CPU on other shapes (odd sizes, other windows, seeds and data): the same run on both backends
 *    from the same initParams must give the same losses and weights.
 *
 * Without a WebGPU adapter the tests are ignored with a printed reason (they fail when REQUIRE_GPU=1).
 */
import { join } from "node:path";
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { haveFiles, SHARED_DATA } from "./fs_harness.ts";
import { gpuTest, webgpuTest } from "./gpu_harness.ts";
import {
  APRIL_CSV,
  APRIL_DIR,
  APRIL_SETTINGS,
  checkApril,
  checkReplay,
  checkWeightsParted,
  type Fixture,
  fixturePairs,
  haveApril,
  readFixture,
  replay,
  TINY_BOUNDARIES_DIR,
  TINY_CLIP_DIR,
  TINY_CORPUS,
  TINY_DIR,
  TINY_HEADLINE_DIR,
  TINY_HEADLINE_TIED_DIR,
  TOLERANCE,
  worstRelative,
} from "./parity_harness.ts";
import { createGpuBackend } from "../src/gpu/backend.ts";
import { trainMain } from "../src/cli/train.ts";
import type { Checkpoint } from "../src/io/checkpoint.ts";
import { loadCheckpoint } from "../src/deno/checkpoint_files.ts";
import { isStepRecord, type MetricRecord } from "../src/io/metrics.ts";
import { readMetrics } from "../src/deno/metrics_file.ts";

const MAY = join(SHARED_DATA, "nyt/ArticlesMay2017.csv");
const april = haveApril("PyTorch parity test on April 2017");
const haveMay = haveFiles("GPU-vs-CPU test on another data file", [MAY]);

const tmp = await Deno.makeTempDir({ prefix: "parity_gpu_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

for (
  const [name, dir, tolerance, lstm] of [
    ["tiny fixture", TINY_DIR, TOLERANCE.tiny.webgpu, undefined],
    ["tiny fixture with boundaries", TINY_BOUNDARIES_DIR, TOLERANCE.tinyBoundaries.webgpu, undefined],
    ["tiny fixture with clip_grad_norm_", TINY_CLIP_DIR, TOLERANCE.tinyClip.webgpu, undefined],
    // The fallback LSTM kernels (one per position), which this adapter's limits do not choose.
    ["tiny fixture, per-position LSTM kernels", TINY_DIR, TOLERANCE.tiny.webgpu, "steps"],
    // The headline model: dropout with the project's masks, a head of 20; a tied direct head.
    ["tiny headline fixture with dropout", TINY_HEADLINE_DIR, TOLERANCE.tinyHeadline.webgpu, undefined],
    [
      "tiny headline fixture, per-position LSTM kernels",
      TINY_HEADLINE_DIR,
      TOLERANCE.tinyHeadline.webgpu,
      "steps",
    ],
    [
      "tiny headline fixture, tied direct head",
      TINY_HEADLINE_TIED_DIR,
      TOLERANCE.tinyHeadlineTied.webgpu,
      undefined,
    ],
  ] as const
) {
  gpuTest(`parity, ${name}: the WebGPU Backend's losses and final weights equal PyTorch's`, async (gpu) => {
    const fx = await readFixture(dir);
    const pairs = await fixturePairs(fx, TINY_CORPUS);
    const backend = await createGpuBackend(gpu, fx.settings.model, {
      maxBatch: fx.settings.batch,
      maxSteps: pairs.inputs.length / pairs.count,
      dropout: fx.settings.dropout !== undefined,
      lstm,
    });
    let run;
    try {
      run = await replay(backend, fx, pairs);
    } finally {
      backend.destroy();
    }
    console.log(`parity ${name}: ${fx.settings.steps} WebGPU steps in ${run.seconds.toFixed(1)} s`);
    await checkReplay(`parity ${name} (webgpu)`, fx, run, tolerance);
  });
}

/**
 * A test that runs trainMain on WebGPU (which opens its own device, so gpuTest's is not needed); ignored
 * visibly without an adapter (gpu_harness.ts says so) or when `missing` (haveFiles said what is missing).
 */
function trainMainTest(name: string, missing: boolean, fn: () => Promise<void>): void {
  webgpuTest(name, fn, { ignore: missing, sanitizeResources: false, sanitizeOps: false });
}

/** trainMain into a fresh --out under tmp, run from an empty directory (no ./data: the built-in corpus). */
async function trainRun(name: string, args: string[]): Promise<{ records: MetricRecord[]; ck: Checkpoint }> {
  const out = join(tmp, name);
  const cwd = Deno.cwd();
  const empty = await Deno.makeTempDir({ dir: tmp });
  Deno.chdir(empty);
  try {
    const started = performance.now();
    assertEquals(await trainMain([...args, "--out", out, "--quiet"]), 0, `${name}: exit code`);
    console.log(`${name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    Deno.chdir(cwd);
  }
  return {
    records: await readMetrics(join(out, "metrics.jsonl")),
    ck: await loadCheckpoint(join(out, "checkpoint")),
  };
}

const stepLosses = (records: MetricRecord[]) => records.filter(isStepRecord).map((r) => r.loss);

/**
 * The fixture's run through trainMain on WebGPU: its init.safetensors (--init), its data in file order
 * (--no-shuffle), its sizes, batch, lr and step count. Returns the step losses (one per step) and the
 * final weights, having checked the data (fixturePairs), vocabulary and config against the fixture's.
 */
async function trainFixture(name: string, fx: Fixture, data: string) {
  const s = fx.settings;
  const epochs = Math.ceil(s.steps / Math.ceil((await fixturePairs(fx, data)).count / s.batch));
  const { records, ck } = await trainRun(name, [
    ...["--init", join(fx.dir, "init.safetensors"), "--no-shuffle", "--data", data],
    ...(s.data.boundaries ? ["--boundaries"] : []),
    ...["--window", `${s.model.window}`, "--embed", `${s.model.embed}`, "--hidden", `${s.model.hidden}`],
    ...["--layers", `${s.model.layers}`, "--batch", `${s.batch}`, "--lr", `${s.optimizer.lr}`],
    ...(s.optimizer.clip_grad_norm !== undefined ? ["--clip", `${s.optimizer.clip_grad_norm}`] : []),
    // One checkpoint, at the end: the epochs' own would only cost time.
    ...["--epochs", `${epochs}`, "--max-steps", `${s.steps}`, "--save-every", `${epochs}`],
  ]);
  assertEquals(ck.vocab, fx.vocab, "the vocabulary equals the PyTorch run's");
  assertEquals(ck.config, s.model);
  const losses = stepLosses(records);
  assertEquals(losses.length, s.steps, "one loss per step in metrics.jsonl");
  return { losses, params: ck.params };
}

trainMainTest("parity, tiny fixture, through trainMain (--init, --no-shuffle) on WebGPU", false, async () => {
  const fx = await readFixture(TINY_DIR);
  const run = await trainFixture("tiny", fx, TINY_CORPUS);
  await checkReplay("parity tiny (trainMain, webgpu)", fx, run, TOLERANCE.tiny.webgpu);
});

trainMainTest(
  "parity, tiny fixture with boundaries, through trainMain (--boundaries) on WebGPU",
  false,
  async () => {
    const fx = await readFixture(TINY_BOUNDARIES_DIR);
    const run = await trainFixture("tiny-boundaries", fx, TINY_CORPUS);
    await checkReplay("parity tiny boundaries (trainMain, webgpu)", fx, run, TOLERANCE.tinyBoundaries.webgpu);
  },
);

trainMainTest(
  "parity, tiny fixture with clip_grad_norm_, through trainMain (--clip 1) on WebGPU",
  false,
  async () => {
    const fx = await readFixture(TINY_CLIP_DIR);
    const run = await trainFixture("tiny-clip", fx, TINY_CORPUS);
    await checkReplay("parity tiny clip (trainMain, webgpu)", fx, run, TOLERANCE.tinyClip.webgpu);
  },
);

trainMainTest(
  "parity, April 2017, through trainMain on WebGPU: 63 steps' losses and final weights",
  !april,
  async () => {
    const fx = await readFixture(APRIL_DIR, APRIL_SETTINGS);
    const run = await trainFixture("april", fx, APRIL_CSV);
    await checkApril(
      "parity April (trainMain, webgpu)",
      fx,
      run,
      TOLERANCE.april.webgpuLossRtol63,
      TOLERANCE.april.webgpuWeights,
    );
  },
);

/**
 * The same training run on both backends (the same initParams from --seed): losses within 1e-4 relative,
 * weights within `atol` but for at most one parted fc1 unit (see checkWeightsParted), which stays within
 * steps * lr (each run moves a weight about lr a step).
 */
async function gpuVsCpu(name: string, args: string[], atol: number, lr: number): Promise<void> {
  const gpu = await trainRun(`${name}_webgpu`, [...args, "--backend", "webgpu"]);
  const cpu = await trainRun(`${name}_cpu`, [...args, "--backend", "cpu"]);
  assertEquals(gpu.ck.config, cpu.ck.config);
  const { bestVal: bestG, ...atG } = gpu.ck.progress!;
  const { bestVal: bestC, ...atC } = cpu.ck.progress!;
  assertEquals(atG, atC, "the same position and shuffle state");
  assertEquals(bestG === undefined, bestC === undefined);
  const [g, c] = [stepLosses(gpu.records), stepLosses(cpu.records)];
  assert(g.length > 0);
  const valG = gpu.records.filter((r) => r.val_loss !== undefined).map((r) => r.val_loss!);
  const valC = cpu.records.filter((r) => r.val_loss !== undefined).map((r) => r.val_loss!);
  assert(valG.length > 0, `${name}: no val_loss records (--val-fraction was given)`);
  console.log(
    `${name} ${JSON.stringify(gpu.ck.config)}: ${g.length} steps, max rel loss diff ` +
      `${worstRelative(g, c).rel.toExponential(2)}` +
      `, val ${worstRelative(valG, valC).rel.toExponential(2)}`,
  );
  assertAllClose(g, c, { atol: 0, rtol: 1e-4, what: `${name}: step losses gpu vs cpu` });
  assertAllClose(valG, valC, { atol: 0, rtol: 1e-4, what: `${name}: val losses gpu vs cpu` });
  checkWeightsParted(`${name} gpu vs cpu`, gpu.ck.config, gpu.ck.params, cpu.ck.params, {
    atol,
    maxParted: 1,
    partedAtol: g.length * lr,
  });
}

trainMainTest(
  "WebGPU = CPU: window 3, embed 7, hidden 9, 3 layers, seed 5, shuffled built-in corpus, val split",
  false,
  async () => {
    await gpuVsCpu(
      "builtin",
      [
        ...["--window", "3", "--embed", "7", "--hidden", "9", "--layers", "3", "--seed", "5"],
        ...["--batch", "50", "--epochs", "2", "--val-fraction", "0.1", "--lr", "3e-3"],
      ],
      1e-4,
      3e-3,
    );
  },
);

trainMainTest(
  "WebGPU = CPU: window 1, embed 5, hidden 12, 1 layer, seed 11, May 2017 with <unk> (min count 3)",
  !haveMay,
  async () => {
    await gpuVsCpu(
      "may2017",
      [
        ...[
          "--data",
          MAY,
          "--window",
          "1",
          "--embed",
          "5",
          "--hidden",
          "12",
          "--layers",
          "1",
          "--seed",
          "11",
        ],
        ...["--min-count", "3", "--no-shuffle", "--batch", "96", "--epochs", "1", "--val-fraction", "0.05"],
      ],
      1e-4,
      1e-3,
    );
  },
);
