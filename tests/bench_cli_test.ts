/**
 * `scripts/bench.ts` as a user runs it (in a temp working directory). Nothing here depends on speed: the runs
 * use --quick (the built-in corpus, a few steps) and the checks are on the shape of the output, never on the
 * numbers' size. With a WebGPU adapter the webgpu row must be measured; without one it must say
 * "unavailable" with the reason (what to install), and `--kernels` must fail saying so; with REQUIRE_GPU=1
 * and no adapter the webgpu checks fail (tests/gpu_harness.ts decides). Without torch, the pytorch row must
 * say "unavailable" too. The webgpu row also holds a step's counts (one submit of one pass, no readback) and
 * kernel time, and every measured row generation's ms per word; --model-kind headline benches the headline
 * model on the same batches (PyTorch's HeadlineModel beside it).
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./assert.ts";
import { assertFailed, type Run, runDeno } from "./cli_harness.ts";
import { gpuAvailable, REQUIRE_GPU } from "./gpu_harness.ts";
import { NO_ADAPTER } from "../src/gpu/device.ts";

const SCRIPT = fileURLToPath(new URL("../scripts/bench.ts", import.meta.url));
const tmp = await Deno.makeTempDir({ prefix: "bench_cli_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

/** The permissions deno task bench grants. */
const PERMISSIONS = ["--allow-read", "--allow-write", "--allow-env", "--allow-run", "--allow-sys"];

function bench(args: string[]): Promise<Run> {
  return runDeno(["run", ...PERMISSIONS, SCRIPT, ...args], { cwd: tmp, env: { NO_COLOR: "1" } });
}

/**
 * The webgpu row: measured when there is an adapter, else "unavailable" with the reason; with REQUIRE_GPU=1
 * and no adapter, a failure.
 */
function checkWebgpuRow(r: Json, measured: (row: Json) => void): void {
  const row = r.backends.webgpu;
  if (gpuAvailable()) {
    measured(row);
  } else {
    assert(!REQUIRE_GPU, `REQUIRE_GPU=1 but no WebGPU adapter; the bench says ${JSON.stringify(row)}`);
    assertEquals(row, { status: "unavailable", reason: `${NO_ADAPTER}, or use --backend cpu` });
    assertEquals(r.ratios.webgpu_over_cpu, null);
    assertEquals(r.ratios.webgpu_over_pytorch, null);
  }
}

function lastJson(run: Run): Record<string, unknown> {
  const lines = run.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

// deno-lint-ignore no-explicit-any
type Json = any;

function checkMeasured(name: string, b: Json, host: boolean): void {
  const what = `${name}: ${JSON.stringify(b)}`;
  assertEquals(b.status, "ok", what);
  for (const key of ["pairs_per_s", "step_ms", "epoch_seconds", "run_seconds", "peak_rss_bytes"]) {
    assert(typeof b[key] === "number" && b[key] > 0, `${key} of ${what}`);
  }
  assert(Math.abs(b.run_seconds / b.epoch_seconds - 200) < 1e-6, `200 epochs: ${what}`);
  assert(Array.isArray(b.window_seconds) && b.window_seconds.length === b.repeats, what);
  assert(Number.isFinite(b.last_loss), what);
  if (host) assert(b.tensor_bytes > 0, what);
}

Deno.test("bench --quick --json measures every backend it can and prints one JSON object last", async () => {
  const run = await bench(["--quick", "--json"]);
  assertEquals(run.code, 0, run.stderr);
  const r: Json = lastJson(run);
  assertEquals(r.mode, "train");
  assertEquals(r.data.source, "built-in corpus");
  assert(r.data.vocab > 0 && r.data.pairs > 0 && r.data.params > 0, JSON.stringify(r.data));
  assertEquals(r.data.batch, 64);
  assertEquals(r.run_epochs, 200);
  assertEquals(Object.keys(r.backends).sort(), ["cpu", "pytorch", "webgpu"]);

  checkWebgpuRow(r, (gpu) => {
    checkMeasured("webgpu", gpu, true);
    assert(
      typeof r.adapter.description === "string" && r.adapter.description !== "",
      JSON.stringify(r.adapter),
    );
    assert(r.ratios.webgpu_over_cpu > 0, JSON.stringify(r.ratios));
    checkStepAccount(gpu);
    checkGeneration("webgpu", gpu, true);
  });
  checkMeasured("cpu", r.backends.cpu, true);
  checkGeneration("cpu", r.backends.cpu, false);
  assertEquals(r.model.kind, "window");
  const torch = r.backends.pytorch;
  if (torch.status === "ok") {
    checkMeasured("pytorch", torch, false);
    assert(/^torch /.test(torch.detail), torch.detail);
  } else {
    assertEquals(torch.status, "unavailable", JSON.stringify(torch));
  }
  // The human table comes before the JSON.
  assert(/backend\s+pairs\/s\s+ms\/step/.test(run.stdout), run.stdout);
  assert(/generation, per word \(8 samples, 3 words\)/.test(run.stdout), run.stdout);
});

/** One step's counts (one submit of one pass, no readback) and, with timestamps, its kernel time. */
function checkStepAccount(gpu: Json): void {
  const step = gpu.step;
  const what = JSON.stringify(step);
  assertEquals([step.per_step.passes, step.per_step.submits, step.per_step.readbacks], [1, 1, 0], what);
  assert(step.per_step.dispatches > 10, what);
  assertEquals([step.loss_readback.submits, step.loss_readback.readbacks], [1, 1], what);
  if (step.kernel_ms !== null) {
    assert(step.kernel_ms > 0 && Math.abs(step.fixed_ms - (gpu.step_ms - step.kernel_ms)) < 1e-9, what);
    const dispatches = step.kernels.reduce((n: number, k: Json) => n + k.dispatches, 0);
    assert(Math.abs(dispatches - step.per_step.dispatches) < 1e-9, what);
  }
}

/** Generation's ms per word; on WebGPU one submit and one readback a word. */
function checkGeneration(name: string, b: Json, gpu: boolean): void {
  const g = b.generation;
  const what = `${name}: ${JSON.stringify(g)}`;
  assert(g.ms_per_word > 0 && g.words === 3 && g.samples === 8, what);
  if (gpu) assertEquals([g.per_word.submits, g.per_word.readbacks, g.per_word.passes], [1, 1, 1], what);
  else assertEquals(g.per_word, null, what);
}

Deno.test("bench --model-kind headline: the headline model's rows, step account and generation", async () => {
  const run = await bench([
    "--quick",
    "--json",
    "--no-cpu",
    ...["--model-kind", "headline", "--embed", "12", "--hidden", "12", "--layers", "1"],
    ...["--head", "0", "--tie", "--dropout", "0.3", "--clip", "5", "--batch", "16", "--torch-threads", "1"],
  ]);
  assertEquals(run.code, 0, run.stderr);
  const r: Json = lastJson(run);
  assertEquals(r.model, {
    kind: "headline",
    vocab: r.data.vocab,
    embed: 12,
    hidden: 12,
    layers: 1,
    window: 1,
    head: 0,
    tie: true,
    dropout: 0.3,
    clip: 5,
  });
  // The built-in corpus's 500 headlines, framed (the data gets boundaries): a row per headline.
  assertEquals([r.data.unit, r.data.pairs, r.data.batch], ["headlines", 500, 16]);
  assert(r.data.vocab === 116 + 2, `<s> and </s> in the vocabulary: ${r.data.vocab}`);
  checkWebgpuRow(r, (gpu) => {
    checkMeasured("webgpu", gpu, true);
    checkStepAccount(gpu);
    checkGeneration("webgpu", gpu, true);
  });
  const torch = r.backends.pytorch;
  if (torch.status === "ok") {
    checkMeasured("pytorch", torch, false);
    assert(torch.generation.ms_per_word > 0, JSON.stringify(torch));
    assert(torch.detail.includes(", 1 threads,"), torch.detail);
  } else {
    assertEquals(torch.status, "unavailable", JSON.stringify(torch));
  }
  assert(/backend\s+headlines\/s\s+ms\/step/.test(run.stdout), run.stdout);
  assert(
    run.stdout.includes("model: headline model, embed 12, hidden 12 x 1, direct head, tied"),
    run.stdout,
  );
});

Deno.test("bench --quick --no-cpu --no-torch says why those rows are empty", async () => {
  const run = await bench(["--quick", "--no-cpu", "--no-torch", "--steps", "1", "--repeats", "1", "--json"]);
  assertEquals(run.code, 0, run.stderr);
  const r: Json = lastJson(run);
  assertEquals(r.backends.cpu, { status: "skipped", reason: "--no-cpu" });
  assertEquals(r.backends.pytorch, { status: "skipped", reason: "--no-torch" });
  assertEquals(r.ratios, { webgpu_over_pytorch: null, webgpu_over_cpu: null });
  checkWebgpuRow(r, (gpu) => {
    checkMeasured("webgpu", gpu, true);
    assertEquals([gpu.steps, gpu.repeats], [1, 1], JSON.stringify(gpu));
  });
});

Deno.test("bench --kernels --quick --json: every kernel timed next to the CPU reference, or one line without an adapter", async () => {
  const run = await bench(["--kernels", "--quick", "--json"]);
  if (!gpuAvailable()) {
    assert(!REQUIRE_GPU, `REQUIRE_GPU=1 but no WebGPU adapter; the bench says ${run.stderr}`);
    // After its progress line naming the data, the bench's last stderr line says why and what to install.
    assertEquals([run.code, run.stdout], [1, ""], run.stderr);
    assertEquals(
      run.stderr.trimEnd().split("\n").at(-1),
      `bench: error: --kernels needs a GPU adapter: ${NO_ADAPTER}, or use --backend cpu`,
    );
    assert(!/^\s+at /m.test(run.stderr), `stack trace: ${run.stderr}`);
    return;
  }
  assertEquals(run.code, 0, run.stderr);
  const r: Json = lastJson(run);
  assertEquals(r.mode, "kernels");
  assert(["timestamp-query", "wall clock"].includes(r.timing), r.timing);
  const names: string[] = r.kernels.map((k: Json) => k.kernel);
  for (
    const part of ["embedding forward", "embedding backward", "lstm layer forward", "lstm layer backward"]
  ) {
    assert(names.some((n) => n.startsWith(part)), `${part} in ${names}`);
  }
  for (const part of ["softmax xent", "fc2 forward", "fc2 dW", "adam"]) {
    assert(names.some((n) => n.includes(part)), `${part} in ${names}`);
  }
  for (const k of r.kernels) {
    assert(k.gpu_ms >= 0 && k.cpu_ms >= 0 && (k.gflops !== null || k.gbps !== null), JSON.stringify(k));
  }
});

Deno.test("bench --help prints the usage and exits 0", async () => {
  const run = await bench(["--help"]);
  assertEquals([run.code, run.stderr], [0, ""]);
  assert(run.stdout.includes("usage: deno task bench"), run.stdout);
  for (
    const flag of [
      "--data",
      "--steps",
      "--repeats",
      "--no-torch",
      "--no-cpu",
      "--quick",
      "--json",
      "--kernels",
      "--model-kind",
      "--tie",
      "--dropout",
      "--clip",
      "--words",
      "--torch-threads",
    ]
  ) {
    assert(run.stdout.includes(flag), flag);
  }
});

for (
  const [args, pattern] of [
    [["--bogus"], /^bench: error: .*bogus/],
    [["--steps", "0"], /^bench: error: --steps must be a positive integer, got "0"$/],
    [
      ["--data", "/nonexistent/bench-data"],
      /^bench: error: data path \/nonexistent\/bench-data does not exist$/,
    ],
    [
      ["--model-kind", "sentence"],
      /^bench: error: --model-kind must be one of window, headline, got "sentence"$/,
    ],
    [["--dropout", "1"], /^bench: error: --dropout must be .*got "1"$/],
    [["--kernels", "--model-kind", "headline"], /^bench: error: --kernels times the window model's kernels/],
  ] as const
) {
  Deno.test(`bench ${args.join(" ")} fails with one line and a non-zero exit`, async () => {
    assertFailed(await bench([...args]), `bench ${args.join(" ")}`, pattern);
  });
}
