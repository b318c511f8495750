/**
 * The promise of tests/gpu_harness.ts, kept by running tests/fixtures/gpu_harness_probe.ts (one test of each
 * kind) in a subprocess: without an adapter its GPU tests are ignored, with the reason printed; with
 * REQUIRE_GPU=1 and no adapter each of them fails, naming the reason, while the CPU tests pass; with an
 * adapter all run. "No adapter" is Vulkan with no driver (VK_ICD_FILENAMES naming nothing), Linux only.
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./assert.ts";
import { type Run, runDeno } from "./cli_harness.ts";
import { webgpuTest } from "./gpu_harness.ts";

const PROBE = fileURLToPath(new URL("./fixtures/gpu_harness_probe.ts", import.meta.url));
const NO_ADAPTER = { VK_ICD_FILENAMES: "/nonexistent", DENO_WEBGPU_BACKEND: "vulkan" };
const GPU_TESTS = ["probe: gpuTest", "probe: webgpuTest", "probe: backendTests webgpu"];
const CPU_TESTS = ["probe: backendTests cpu", "probe: a CPU test"];

/** Each probe test's outcome (ok, ignored, FAILED) from deno test's report, by name. */
function outcomes(run: Run): Map<string, string> {
  const text = run.stdout + run.stderr;
  return new Map([...text.matchAll(/^(probe: .+?) \.\.\. (ok|ignored|FAILED)/gm)].map((m) => [m[1], m[2]]));
}

function probe(env: Record<string, string>): Promise<Run> {
  return runDeno(["test", "--allow-all", "--no-check", PROBE], { env: { NO_COLOR: "1", ...env } });
}

const linux = Deno.build.os === "linux";

Deno.test({
  name: "without an adapter: GPU tests ignored with the reason printed, CPU tests run",
  ignore: !linux,
  async fn() {
    const run = await probe({ ...NO_ADAPTER, REQUIRE_GPU: "" });
    assertEquals(run.code, 0, run.stdout + run.stderr);
    const got = outcomes(run);
    for (const name of GPU_TESTS) assertEquals(got.get(name), "ignored", name);
    for (const name of CPU_TESTS) assertEquals(got.get(name), "ok", name);
    assert(
      /no WebGPU adapter \(navigator\.gpu\.requestAdapter\(\) found no adapter\): the GPU tests are ignored/
        .test(run.stdout + run.stderr),
      run.stdout + run.stderr,
    );
  },
});

Deno.test({
  name: "REQUIRE_GPU=1 without an adapter: every GPU test fails with the reason, CPU tests pass",
  ignore: !linux,
  async fn() {
    const run = await probe({ ...NO_ADAPTER, REQUIRE_GPU: "1" });
    assert(run.code !== 0, "the run must fail");
    const got = outcomes(run);
    for (const name of GPU_TESTS) assertEquals(got.get(name), "FAILED", name);
    for (const name of CPU_TESTS) assertEquals(got.get(name), "ok", name);
    const reasons = (run.stdout + run.stderr).match(
      /REQUIRE_GPU=1 but no WebGPU adapter: .*found no adapter/g,
    );
    assert((reasons?.length ?? 0) >= GPU_TESTS.length, run.stdout + run.stderr);
  },
});

webgpuTest("with an adapter: every kind of GPU test runs", async () => {
  const run = await probe({ REQUIRE_GPU: "1" });
  assertEquals(run.code, 0, run.stdout + run.stderr);
  const got = outcomes(run);
  for (const name of [...GPU_TESTS, ...CPU_TESTS]) assertEquals(got.get(name), "ok", name);
});
