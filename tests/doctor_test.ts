/**
 * `deno task doctor` (src/cli/doctor.ts over the core in src/doctor/): a clean run passes and prints one JSON
 * object of the documented shape; a deliberately wrong kernel (a 0.1% error in the LSTM's forget gate,
 * planted through Gpu.open's shader overrides) FAILs exactly that kernel's row and the run, and so do bugs
 * planted in the headline model's variants (dropout per position, the per-position loss's count, the
 * embedding's accumulating backward, the LSTM's initial state); a shader that does not compile FAILs its row
 * with the compiler's first line while the others still run; a lost device ends the run with one line; no
 * adapter at all gives one line and exit 1; and the variants the doctor says the runtime uses, for the window
 * and the headline model, are the ones the WebGPU backend really compiles.
 *
 * Runs use --shapes small (the same kernel variants as the model's shapes, in a fraction of the time).
 */
import { assert, assertEquals } from "./assert.ts";
import { gpuTest } from "./gpu_harness.ts";
import { errorLine, runDeno, taskRun } from "./cli_harness.ts";
import { doctorMain } from "../src/cli/doctor.ts";
import {
  doctorGemms,
  LSTM_VARIANT_NAMES,
  MODEL_SHAPES,
  planChecks,
  runDoctor,
  SMALL_SHAPES,
} from "../src/doctor/doctor.ts";
import { DeviceLostError } from "../src/errors.ts";
import { compare } from "../src/doctor/compare.ts";
import { GEMM_VARIANTS, gemmVariantName, runtimeGemmVariant } from "../src/doctor/gemm.ts";
import { STORAGE_FORM } from "../src/doctor/kernels.ts";
import { ADAM_DEFAULTS } from "../src/model/optimizer.ts";
import { createGpuBackend } from "../src/gpu/backend.ts";
import type { Gpu } from "../src/gpu/device.ts";
import { lstmPlan } from "../src/gpu/lstm.ts";
import type { Backend } from "../src/model/backend.ts";
import { SHADER_SOURCES } from "../src/gpu/shaders.ts";
import type { ShaderValues } from "../src/gpu/preprocess.ts";

/** Runs doctorMain in this process; returns the exit code and stdout's lines. */
async function doctor(args: string[], shaders?: Record<string, string>) {
  const lines: string[] = [];
  const code = await doctorMain(args, { gpu: { shaders }, print: (t) => lines.push(...t.split("\n")) });
  return { code, lines };
}

/** The kernel table's rows: "PASS   matmul regblock, ..." -> [status, name]. */
function rows(lines: string[]): Array<[string, string]> {
  return lines.filter((l) => /^(PASS|FAIL) {3}\S/.test(l)).map((l) => [l.slice(0, 4), l.slice(7, 53).trim()]);
}

Deno.test("doctor: the error metrics", () => {
  const c = compare("x", [1, 2.001, 0, NaN].slice(0, 3), [1, 2, 1e-9], { atol: 1e-4, rtol: 1e-4 });
  assert(Math.abs(c.maxAbs - 1e-3) < 1e-12, `max abs ${c.maxAbs}`);
  // The relative error ignores references below 1e-3 of the largest one (1e-9 here).
  assert(Math.abs(c.maxRel - 5e-4) < 1e-12, `max rel ${c.maxRel}`);
  assertEquals([c.pass, c.worst.index], [false, 1]);
  const nan = compare("y", [1, NaN], [1, 1], { atol: 1, rtol: 1 });
  assertEquals([nan.pass, nan.ratio, nan.worst.index], [false, Infinity, 1]);
  const exact = compare("z", [0, 3], [0, 3], { atol: 0, rtol: 0 });
  assertEquals([exact.pass, exact.ratio, exact.maxAbs], [true, 0, 0]);
});

gpuTest("doctor --json: a clean run passes and prints one JSON object of the documented shape", async () => {
  const r = await runDeno([...taskRun("doctor"), "--json", "--shapes", "small"], { env: { NO_COLOR: "1" } });
  assertEquals(r.code, 0, `exit code (stderr: ${r.stderr})`);
  assertEquals(r.stderr, "", "stderr");
  const lines = r.stdout.trimEnd().split("\n");
  assertEquals(lines.length, 1, "one line of JSON");
  const j = JSON.parse(lines[0]);
  assertEquals(j.pass, true);
  for (const key of ["description", "vendor", "architecture", "backend", "fallback", "features"]) {
    assert(key in j.adapter, `adapter.${key}`);
  }
  assertEquals(j.shapes.vocab, SMALL_SHAPES.model.vocab);
  assert(typeof j.shapes.reduced === "string", "the smaller shapes say why");
  assert(j.limits.maxStorageBufferBindingSize.value > 0, "limits");
  assert(j.choices.length > 0 && j.choices.every((c: { reason: string }) => c.reason.length > 0), "reasons");
  assert(j.kernels.length >= 10, `${j.kernels.length} kernel rows`);
  for (const k of j.kernels) {
    const where = `${k.kernel} ${k.variant}`;
    assertEquals(k.pass, true, where);
    assertEquals(k.error, null, where);
    assert(k.used === true, `${where}: without --all every row is a variant in use`);
    assert(k.cases.length > 0 && k.max_abs >= 0 && k.max_rel >= 0, where);
    assert(k.worst.tolerance_used <= 1 && typeof k.tolerance === "string", where);
    for (const c of k.cases) {
      for (const f of ["what", "count", "max_abs", "max_rel", "atol", "rtol", "pass"]) {
        assert(f in c, `${where}: ${f}`);
      }
    }
    assert(k.speed.ms > 0 && (k.speed.gflops > 0 || k.speed.gbps > 0), `${where}: speed`);
  }
  assert(j.kernels.some((k: { kernel: string }) => k.kernel === "matmul"), "GEMM rows");
  assertEquals(j.training.pass, true);
  assertEquals(j.training.steps, [64, 64, 20]);
  assertEquals(j.training.webgpu_losses.length, 3);
  assertEquals(j.training.cpu_losses.length, 3);
  assert(j.training.weights.worst_tensor.length > 0, "training weights");
  assert(j.training.weights.worst_rel_diff <= j.training.weights.tolerance, "training weights");
  // The headline model's: its batches' positions, and advance from no state and from the carried one.
  const h = SMALL_SHAPES.headline;
  assertEquals(j.shapes.headline.steps, h.steps);
  assertEquals(j.headline_training.pass, true);
  assertEquals(j.headline_training.steps, [64, 64, 20]);
  assertEquals(j.headline_training.positions, [h.steps, h.steps, h.lastSteps]);
  assertEquals(j.headline_training.advance.map((c: { pass: boolean }) => c.pass), [true, true, true]);
});

// A 0.1% error in the forget gate of the forward (the sequence kernel: the variant lavapipe runs).
const FORGET = "let f = sigmoid4(pre[ROWS + r] + ldGates(row * G + H, j4) + bf);";
const LSTM_BUG = SHADER_SOURCES.lstm_seq.replace(
  FORGET,
  "let f = 1.001 * sigmoid4(pre[ROWS + r] + ldGates(row * G + H, j4) + bf);",
);

gpuTest(
  "doctor: a 0.1% error planted in one LSTM gate FAILs exactly that kernel's row and the run",
  async () => {
    assert(LSTM_BUG !== SHADER_SOURCES.lstm_seq, "the planted line must exist in shaders/lstm_seq.wgsl");
    const { code, lines } = await doctor(["--shapes", "small"], { lstm_seq: LSTM_BUG });
    const table = rows(lines);
    const failed = table.filter(([s]) => s === "FAIL").map(([, name]) => name);
    assertEquals(failed, ["lstm forward sequence"], lines.join("\n"));
    assert(table.filter(([s]) => s === "PASS").length >= 9, lines.join("\n"));
    // Its worst element is named, next to the reference's value.
    const at = lines.findIndex((l) => l.startsWith("FAIL   lstm forward"));
    assert(/^ {7}worst: (h|c|gates) (.+: )?B=\d+ .*reference/.test(lines[at + 1]), lines[at + 1]);
    assertEquals(code, 1);
    assert(lines.at(-1)!.startsWith("FAIL: lstm forward sequence"), lines.at(-1));
  },
);

/** One bug in each kernel variant the headline model adds, each in text only that variant compiles. */
const HEADLINE_BUGS: Array<[string, string, string]> = [
  // Dropout masks only a batch's first position of each row's elements (PER_STEP ignored).
  ["dropout", "select(1u, step.steps, PER_STEP)", "select(1u, step.steps, false)"],
  // The per-position loss counts padding among its targets.
  ["softmax_xent_count", "if (targets[row + t] >= 0) {", "if (targets[row + t] >= -1) {"],
  // The tied model's embedding backward overwrites fc2's gradient instead of adding to it.
  ["embedding_backward", "select(sums[e], dTable[at] + sums[e], ACCUMULATE)", "sums[e]"],
  // The sequence kernel's initial cell state read 1% short.
  ["lstm_seq", "cs[r] = ldC0(b * H, j4);", "cs[r] = 0.99 * ldC0(b * H, j4);"],
];

gpuTest("doctor: bugs planted in the headline model's variants FAIL exactly their rows", async () => {
  const shaders: Record<string, string> = {};
  for (const [shader, find, replace] of HEADLINE_BUGS) {
    const source = shaders[shader] ?? SHADER_SOURCES[shader];
    assert(source.includes(find), `shaders/${shader}.wgsl holds ${find}`);
    shaders[shader] = source.replace(find, replace);
  }
  const { code, lines } = await doctor(["--shapes", "small"], shaders);
  const table = rows(lines);
  assertEquals(table.filter(([s]) => s === "FAIL").map(([, name]) => name), [
    "lstm forward sequence",
    "embedding backward accumulate",
    "dropout per position",
    "softmax xent per position, loss + dLogits",
    "softmax xent per position, loss only",
  ], lines.join("\n"));
  // The window model's rows and its training (no dropout, no initial state, untied) pass.
  assert(table.filter(([s]) => s === "PASS").length >= 15, lines.join("\n"));
  assert(lines.some((l) => /^training: .*: PASS$/.test(l)), lines.join("\n"));
  // The headline model's training and advance run them all.
  assert(lines.some((l) => /^headline training: .*: FAIL$/.test(l)), lines.join("\n"));
  assertEquals(code, 1);
});

gpuTest("doctor: a shader that does not compile FAILs its row with the compiler's first line", async () => {
  const broken = SHADER_SOURCES.adam.replace("return;", "return undefinedThing;");
  assert(broken !== SHADER_SOURCES.adam);
  const { code, lines } = await doctor(["--shapes", "small"], { adam: broken });
  const table = rows(lines);
  assertEquals(table.filter(([s]) => s === "FAIL").map(([, n]) => n), ["adam vec4"], lines.join("\n"));
  const at = lines.findIndex((l) => l.startsWith("FAIL   adam vec4"));
  const error = lines[at + 1];
  assert(/^ {7}error: shaders\/adam\.wgsl:\d+:\d+: .*undefinedThing/.test(error), error);
  // The other kernels ran and passed; training needs Adam, so it fails on the same error.
  assert(table.filter(([s]) => s === "PASS").length >= 9, lines.join("\n"));
  assert(lines.some((l) => /^training: FAIL: shaders\/adam\.wgsl:\d+:\d+: /.test(l)), lines.join("\n"));
  assertEquals(code, 1);
});

gpuTest("doctor: a device lost during the run ends it with one line", async (gpu: Gpu) => {
  let checks = 0;
  try {
    await runDoctor(gpu, {
      shapes: SMALL_SHAPES,
      reduced: "test",
      timing: false,
      onCheck: (_, i) => {
        checks = i + 1;
        if (i === 1) gpu.device.destroy();
      },
    });
  } catch (e) {
    assert(e instanceof DeviceLostError, String(e));
    assert(/^the GPU device was lost \(destroyed\) during the .+ check: /.test(e.message), e.message);
    assert(!e.message.includes("\n"), e.message);
    assertEquals(checks, 2, "the run stops at the check that lost the device");
    return;
  }
  throw new Error("the doctor finished on a destroyed device");
}, {});

Deno.test({
  name: "doctor: no adapter prints one line and exits 1",
  ignore: Deno.build.os === "windows",
  async fn() {
    const env = { VK_ICD_FILENAMES: "/nonexistent", DENO_WEBGPU_BACKEND: "vulkan", NO_COLOR: "1" };
    const probe = await runDeno([
      "eval",
      "console.log(String(Boolean(await navigator.gpu?.requestAdapter())))",
    ], {
      env,
    });
    assertEquals(probe.stdout.trim(), "false", `an adapter under ${JSON.stringify(env)}: ${probe.stderr}`);
    const r = await runDeno([...taskRun("doctor")], { env });
    assertEquals(r.code, 1, r.stderr);
    const line = errorLine(r, "doctor", "doctor: error: no WebGPU adapter found");
    assert(!line.includes("--backend cpu"), `doctor has no --backend cpu: ${line}`);
    assertEquals(r.stdout, "");
  },
});

gpuTest(
  "doctor: the GEMM variants it reports in use are those the WebGPU backend compiles for both models",
  async (gpu) => {
    for (const shapes of [MODEL_SHAPES, SMALL_SHAPES]) {
      const compiled = new Set<string>();
      const pipeline = gpu.pipeline.bind(gpu);
      gpu.pipeline = (name: string, values: ShaderValues = {}) => {
        if (name === "matmul_tiled") compiled.add("tiled");
        if (name === "matmul_regblock") {
          const b = values.B_VEC4 ? "vec4" : values.B_VEC2 ? "vec2" : "scalar";
          compiled.add(
            `${values.A_STAGED ? "staged" : "regblock"}, B ${b}, C ${values.C_VEC4 ? "vec4" : "scalar"}`,
          );
        }
        return pipeline(name, values);
      };
      try {
        // The training kernels are built at the first step; the headline model's with dropout.
        const train = async (backend: Backend, rows: number, steps: number, perPosition: boolean) => {
          // Every row has a target at its first position (a headline row's), then padding.
          const targets = perPosition
            ? Int32Array.from({ length: rows * steps }, (_, i) => (i % steps === 0 ? 1 : -1))
            : new Int32Array(rows);
          await backend.setTrainData(new Int32Array(rows * steps), targets, rows);
          backend.trainStep(0, rows, ADAM_DEFAULTS, { rate: 0.1, seed: 1 });
          await backend.takeLosses();
          backend.destroy();
        };
        const window = await createGpuBackend(gpu, shapes.model, { maxBatch: shapes.batch, dropout: true });
        await train(window, 2, shapes.model.window, false);
        const h = shapes.headline;
        const options = { maxBatch: shapes.batch, maxSteps: h.steps, dropout: true };
        await train(await createGpuBackend(gpu, h.model, options), 2, h.steps, true);
      } finally {
        gpu.pipeline = pipeline;
      }
      const used = planChecks(gpu, shapes, false).filter((c) => c.kernel === "matmul").map((c) => c.variant);
      assertEquals(used.sort(), [...compiled].sort(), `V = ${shapes.model.vocab}`);
      // Every model GEMM maps to one of the variants checked.
      const names = GEMM_VARIANTS.map(gemmVariantName);
      for (const g of doctorGemms(gpu, shapes)) {
        assert(names.includes(gemmVariantName(runtimeGemmVariant(gpu, g.spec))), g.op);
      }
      // --all adds every other variant, marked as not in use.
      const all = planChecks(gpu, shapes, true);
      assertEquals(all.filter((c) => c.kernel === "matmul").map((c) => c.variant), names);
      assertEquals(all.filter((c) => c.kernel === "adam").map((c) => c.variant), ["vec4", "scalar"]);
      assertEquals(all.filter((c) => c.kernel === "lstm forward").map((c) => c.variant), [
        "sequence",
        "per position",
        STORAGE_FORM,
      ]);
      // The headline model's variants have rows of their own, in use.
      const rowNames = all.filter((c) => c.used).map((c) => `${c.kernel} ${c.variant}`);
      for (
        const name of [
          "embedding backward accumulate",
          "dropout per position",
          "dropout per row",
          "softmax xent per position, loss + dLogits",
          "softmax xent per position, loss only",
        ]
      ) {
        assert(rowNames.includes(name), `${name} in ${rowNames.join("; ")}`);
      }
      const lstmUsed = LSTM_VARIANT_NAMES[lstmPlan(gpu, shapes.batch, shapes.model.hidden).variant];
      for (const c of all) {
        const expected = c.kernel === "matmul"
          ? used.includes(c.variant)
          : c.kernel.startsWith("lstm")
          ? c.variant.startsWith(lstmUsed) && !c.variant.startsWith(STORAGE_FORM)
          : c.variant !== "scalar";
        assertEquals(c.used, expected, `${c.kernel} ${c.variant}`);
      }
    }
  },
);
