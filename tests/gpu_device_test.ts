import { assert, assertAllClose, assertRejects } from "./assert.ts";
import { gpuTest } from "./gpu_harness.ts";
import { fillSlots, whole } from "../src/gpu/device.ts";
import { assertThrows } from "./assert.ts";

gpuTest("device reports its adapter and round-trips a buffer", async (gpu) => {
  assert(gpu.adapter.description.length > 0);
  const data = Float32Array.from([1, 2, 3, -4.5]);
  const buf = gpu.buffer("t", data.byteLength, data);
  assertAllClose(await gpu.read(whole(buf)), [1, 2, 3, -4.5, 0, 0, 0, 0].slice(0, buf.size / 4), {
    atol: 0,
    rtol: 0,
  });
  gpu.destroy(buf);
});

Deno.test("template slots are filled and a missing slot is an error", () => {
  assert(fillSlots("x", "const N = {{N}}u;", { N: 7 }) === "const N = 7u;");
  assertThrows(() => fillSlots("x", "{{A}} {{B}}", { A: 1 }), /slot \{\{B\}\} not given/);
});

gpuTest("a WGSL error names the shader file", async (gpu) => {
  const dir = new URL("../shaders/", import.meta.url);
  const path = new URL("_broken_test.wgsl", dir);
  await Deno.writeTextFile(path, "@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing; }\n");
  try {
    await assertRejects(() => gpu.pipeline("_broken_test"), /shaders\/_broken_test\.wgsl/);
  } finally {
    await Deno.remove(path);
  }
});
