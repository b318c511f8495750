/**
 * The core runs with no Deno: core.ts is bundled for the browser (`deno bundle --platform browser`, the
 * WGSL inlined), and a fresh process deletes the `Deno` global before it imports the bundle, then trains
 * two steps and predicts on the CPU reference and on WebGPU, and round-trips a checkpoint through its
 * bytes. The results must equal the same calls made on the unbundled sources here. The WebGPU run is its
 * own test (tests/gpu_harness.ts: ignored without an adapter, failed with REQUIRE_GPU=1).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { makeWithTempDir } from "./fs_harness.ts";
import { webgpuTest } from "./gpu_harness.ts";
import * as core from "../core.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const withTempDir = makeWithTempDir("core_bundle_");

/**
 * The run, as source text for both sides: `core` is the module (bundled or not); resolves to plain JSON.
 * It must use nothing but the core and web-standard globals.
 */
const RUN = `async function run(core, backendName) {
  const data = core.buildDataset(
    { source: core.BUILTIN_SOURCE, files: [], headlines: core.builtinHeadlines() },
    { ...core.DEFAULT_SETTINGS, window: 2 },
  );
  const config = { vocab: data.vocab.length, embed: 4, hidden: 6, layers: 2, window: 2 };
  let backend;
  if (backendName === "cpu") backend = await core.createCpuBackend(config);
  else backend = await core.createGpuBackend(await core.Gpu.open(), config, { maxBatch: 16 });
  await backend.setParams(core.initParams(config, 1));
  await backend.setTrainData(data.train.inputs, data.train.targets, data.train.count);
  backend.trainStep(0, 16, core.ADAM_DEFAULTS);
  backend.trainStep(16, 16, core.ADAM_DEFAULTS);
  const losses = await backend.takeLosses();
  const prompts = ["knicks quietly", "three new"].map((t) => core.encodePrompt(t, data.vocab, 2));
  const contexts = prompts.map((p) => p.context);
  const next = (await core.predictNext(backend, contexts, 3)).map((c) => ({
    words: [...c.ids].map((id) => data.vocab[id]),
    probs: [...c.probs],
  }));
  const files = await core.encodeCheckpoint({ config, vocab: data.vocab, params: await backend.getParams() });
  const byName = new Map(files);
  const back = await core.decodeCheckpoint({
    where: "memory",
    path: (name) => name,
    read: (name) => Promise.resolve(byName.get(name) ?? null),
  });
  backend.destroy();
  return { losses, next, files: files.map(([n]) => n), paramsSum: back.params.reduce((a, b) => a + b, 0) };
}`;

type RunResult = {
  losses: number[];
  next: { words: string[]; probs: number[] }[];
  files: string[];
  paramsSum: number;
};

const run = new Function(`return ${RUN}`)() as (m: typeof core, b: string) => Promise<RunResult>;

async function bundleAndRun(dir: string, backends: string[]): Promise<Record<string, RunResult>> {
  const bundle = join(dir, "core.js");
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "-o", bundle, join(ROOT, "core.ts")],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(built.success, `deno bundle failed: ${new TextDecoder().decode(built.stderr)}`);
  const text = await Deno.readTextFile(bundle);
  assert(!/\bDeno\./.test(text), "the bundle mentions Deno.");
  assert(text.includes("fn main"), "the bundle carries the WGSL sources");
  const script = join(dir, "run.mjs");
  await Deno.writeTextFile(
    script,
    `delete globalThis.Deno;
if (typeof Deno !== "undefined") throw new Error("Deno is still in scope");
const core = await import(${JSON.stringify(new URL(`file://${bundle}`).href)});
${RUN}
const out = {};
for (const b of ${JSON.stringify(backends)}) out[b] = await run(core, b);
console.log(JSON.stringify(out));
`,
  );
  const ran = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", `--allow-read=${dir}`, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(ran.stderr);
  assert(ran.success, `the bundle failed to run: ${stderr}`);
  return JSON.parse(new TextDecoder().decode(ran.stdout));
}

Deno.test({
  name: "core bundle: trains and predicts with no Deno global on the CPU, exactly as the sources do",
  sanitizeResources: false,
  async fn() {
    await withTempDir(async (dir) => {
      const bundled = await bundleAndRun(dir, ["cpu"]);
      const direct = await run(core, "cpu");
      // Same code, same inputs, same JavaScript engine: the CPU results are identical.
      assertEquals(bundled.cpu, direct);
      assertEquals(direct.files, ["model.safetensors", "vocab.json", "config.json"]);
      assert(direct.losses.every(Number.isFinite) && direct.losses.length === 2);
    });
  },
});

webgpuTest(
  "core bundle: trains and predicts with no Deno global on WebGPU, as the CPU reference does",
  async () => {
    await withTempDir(async (dir) => {
      const bundled = await bundleAndRun(dir, ["webgpu"]);
      const direct = await run(core, "cpu");
      // WebGPU against the CPU reference: float32 kernels against float64 sums (see parity tests).
      assertAllClose(bundled.webgpu.losses, direct.losses, { atol: 0, rtol: 1e-5, what: "losses" });
      assertEquals(bundled.webgpu.next.map((n) => n.words), direct.next.map((n) => n.words));
      assertAllClose(
        bundled.webgpu.next.flatMap((n) => n.probs),
        direct.next.flatMap((n) => n.probs),
        { atol: 1e-6, rtol: 1e-4, what: "probabilities" },
      );
      assertEquals(bundled.webgpu.files, direct.files);
    });
  },
  { sanitizeResources: false },
);
