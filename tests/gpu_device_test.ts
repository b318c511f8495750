/**
 * The WebGPU runtime (src/gpu/device.ts) and the shader preprocessor: a buffer round trip, {{SLOT}} values,
 * //#if blocks, //#for blocks and includes, the shader module carrying every file in shaders/, and a WGSL error naming its
 * file (planted through Gpu.open's `shaders` option, never written into shaders/).
 */
import { assert, assertAllClose, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { destroyAll, gpuTest, readFloats, readInts, upload } from "./gpu_harness.ts";
import { Gpu } from "../src/gpu/device.ts";
import { fillSlots, preprocessShader } from "../src/gpu/preprocess.ts";
import { SHADER_SOURCES } from "../src/gpu/shaders.ts";

gpuTest("device reports its adapter and round-trips float and int buffers", async (gpu) => {
  assert(gpu.adapter.description.length > 0);
  const floats = upload(gpu, Float32Array.from([1, 2, 3, -4.5, 5]));
  // A buffer is rounded up to 16 bytes, zero-filled past the data.
  assertAllClose(await gpu.read(floats), [1, 2, 3, -4.5, 5, 0, 0, 0], { atol: 0, rtol: 0 });
  assertAllClose(await readFloats(gpu, floats, 5), [1, 2, 3, -4.5, 5], { atol: 0, rtol: 0 });
  const ints = upload(gpu, Int32Array.from([-1, 0, 2 ** 31 - 1]));
  assertEquals(Array.from(await readInts(gpu, ints, 3)), [-1, 0, 2 ** 31 - 1]);
  destroyAll(gpu, [floats, ints]);
});

Deno.test("template slots are filled and a missing slot is an error", () => {
  assert(fillSlots("x", "const N = {{N}}u;", { N: 7 }) === "const N = 7u;");
  assert(fillSlots("x", "const G = {{G}};", { G: false }) === "const G = false;");
  assertThrows(() => fillSlots("x", "{{A}} {{B}}", { A: 1 }), /slot \{\{B\}\} not given/);
});

Deno.test("//#if blocks keep the lines of true flags, nest, and refuse what is unbalanced or unknown", () => {
  const sources = {
    main: [
      "a",
      "//#if X",
      "  x",
      "  //#if !Y",
      "  notY",
      "  //#else",
      "  y",
      "  //#endif",
      "//#else",
      "notX",
      "//#endif",
      "//#include part",
      "z {{N}}",
    ].join("\n"),
    part: "//#if Y\npartY\n//#endif\n",
  };
  const run = (X: boolean, Y: boolean) => preprocessShader("main", sources, { X, Y, N: 3 }).split("\n");
  assertEquals(run(true, false), ["a", "  x", "  notY", "z 3"]);
  assertEquals(run(true, true), ["a", "  x", "  y", "partY", "z 3"]);
  assertEquals(run(false, true), ["a", "notX", "partY", "z 3"]);
  // An include may be indented like the other directives (else it would stay behind as a plain comment).
  assertEquals(preprocessShader("i", { i: "x\n  //#include p\ny", p: "q" }).split("\n"), ["x", "q", "y"]);
  const bad = (text: string, values = {}) => () => preprocessShader("bad", { bad: text }, values);
  assertThrows(bad("//#if X\nx", { X: true }), /shaders\/bad\.wgsl: \/\/#if X is never closed/);
  assertThrows(bad("x\n//#endif"), /\/\/#endif without an open \/\/#if/);
  assertThrows(bad("//#else"), /\/\/#else without an open \/\/#if/);
  assertThrows(bad("//#if X\n//#else\n//#else\n//#endif", { X: true }), /\/\/#else without/);
  assertThrows(bad("//#if X\nx\n//#endif"), /\/\/#if X needs a boolean value for X, got undefined/);
  assertThrows(bad("//#if X\nx\n//#endif", { X: 1 }), /needs a boolean value for X, got 1/);
  assertThrows(bad("//#include nothing"), /shaders\/nothing\.wgsl: no such shader/);
  assertThrows(() => preprocessShader("a", { a: "//#include b", b: "//#include a" }), /includes itself/);
});

Deno.test("//#for blocks are written out COUNT times with their index, nest, and refuse bad counts", () => {
  const text = [
    "a",
    "//#for r in ROWS",
    "  x{{r}} = {{N}};",
    "  //#for q in TWO",
    "  y{{r}}_{{q}};",
    "  //#endfor",
    "//#endfor",
    "//#for e in NONE",
    "never",
    "//#endfor",
    "b",
  ].join("\n");
  assertEquals(preprocessShader("f", { f: text }, { ROWS: 2, TWO: 2, NONE: 0, N: 7 }).split("\n"), [
    "a",
    "  x0 = 7;",
    "  y0_0;",
    "  y0_1;",
    "  x1 = 7;",
    "  y1_0;",
    "  y1_1;",
    "b",
  ]);
  // //#if blocks are chosen first, so they may sit inside a //#for.
  const withIf = "//#for i in N\n//#if X\n{{i}}\n//#endif\n//#endfor";
  assertEquals(preprocessShader("g", { g: withIf }, { N: 2, X: true }), "0\n1");
  // A count may be written out instead of named.
  assertEquals(preprocessShader("h", { h: "//#for i in 3\n{{i}}\n//#endfor" }), "0\n1\n2");
  const bad = (text: string, values = {}) => () => preprocessShader("bad", { bad: text }, values);
  assertThrows(bad("//#for i in N\nx"), /needs a whole number for N, got undefined/);
  assertThrows(bad("//#for i in N\nx\n//#endfor", { N: 1.5 }), /needs a whole number for N, got 1.5/);
  assertThrows(bad("//#for i in N\nx", { N: 1 }), /shaders\/bad\.wgsl: \/\/#for i is never closed/);
  assertThrows(bad("x\n//#endfor"), /\/\/#endfor without an open \/\/#for/);
});

Deno.test("the shader module carries every file in shaders/ (and nothing else)", () => {
  const files = [...Deno.readDirSync(new URL("../shaders/", import.meta.url))]
    .filter((e) => e.isFile && e.name.endsWith(".wgsl"))
    .map((e) => e.name.slice(0, -".wgsl".length))
    .sort();
  assertEquals(Object.keys(SHADER_SOURCES).sort(), files);
  for (const name of files) {
    const text = Deno.readTextFileSync(new URL(`../shaders/${name}.wgsl`, import.meta.url));
    assertEquals(SHADER_SOURCES[name], text, `${name}.wgsl as imported`);
  }
});

gpuTest("a WGSL error names the shader file", async () => {
  const gpu = await Gpu.open({
    shaders: { _broken_test: "@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing; }\n" },
  });
  await assertRejects(() => gpu.pipeline("_broken_test"), /shaders\/_broken_test\.wgsl:1:/);
  gpu.device.destroy();
});
