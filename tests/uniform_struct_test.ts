/**
 * Every uniform struct a shader declares against its one TypeScript declaration (src/gpu/uniform_struct.ts):
 * the struct each `var<uniform>` of every shader reads (in its own file or one it includes) must be declared
 * in TypeScript with the same fields in the same order with the same types, and every declaration must
 * match a struct a shader uses. Also the packer: fields at their positions, little-endian, padded to 16
 * bytes, and values that do not fit their type refused.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { SHADER_SOURCES } from "../src/gpu/shaders.ts";
import { type UniformStruct, uniformStruct } from "../src/gpu/uniform_struct.ts";
import { STEP_PARAMS } from "../src/gpu/step_params.ts";
import { ADAM_STEP } from "../src/gpu/adam.ts";
import { COLSUM_PARAMS } from "../src/gpu/linear.ts";
import { DROPOUT_PARAMS } from "../src/gpu/dropout.ts";
import { GRAD_NORM_CHUNK } from "../src/gpu/grad_norm.ts";
import { MATMUL_SHAPE, STAGE_A_PARAMS } from "../src/gpu/matmul.ts";

/** Every uniform struct the GPU ops write. */
const DECLARED: ReadonlyArray<UniformStruct<string>> = [
  STEP_PARAMS,
  ADAM_STEP,
  COLSUM_PARAMS,
  DROPOUT_PARAMS,
  GRAD_NORM_CHUNK,
  MATMUL_SHAPE,
  STAGE_A_PARAMS,
];

type Fields = Array<{ name: string; type: string }>;

/** The structs a WGSL source declares, with their fields in order (comments removed). */
function wgslStructs(source: string): Map<string, Fields> {
  const text = source.replace(/\/\/.*$/gm, "");
  const structs = new Map<string, Fields>();
  for (const m of text.matchAll(/\bstruct\s+(\w+)\s*\{([^}]*)\}/g)) {
    const fields = m[2].split(",").map((f) => f.trim()).filter((f) => f.length > 0).map((f) => {
      const field = /^(\w+)\s*:\s*(\w+)$/.exec(f);
      if (!field) throw new Error(`struct ${m[1]}: cannot read field "${f}"`);
      return { name: field[1], type: field[2] };
    });
    structs.set(m[1], fields);
  }
  return structs;
}

/**
 * The uniform structs the shaders read, keyed "shader/Struct" by the shader that declares them: each
 * `var<uniform> NAME: TYPE` whose TYPE is a struct of its own file or of one it includes.
 */
function uniformStructs(sources: Readonly<Record<string, string>>): Map<string, Fields> {
  const found = new Map<string, Fields>();
  const declaring = (shader: string, struct: string, seen: string[] = []): string | null => {
    if (wgslStructs(sources[shader]).has(struct)) return shader;
    for (const m of sources[shader].matchAll(/^\s*\/\/#include (\w+)\s*$/gm)) {
      if (seen.includes(m[1])) continue;
      const at = declaring(m[1], struct, [...seen, shader]);
      if (at) return at;
    }
    return null;
  };
  for (const [shader, source] of Object.entries(sources)) {
    for (const m of source.matchAll(/var<uniform>\s+\w+\s*:\s*(\w+)\s*;/g)) {
      const at = declaring(shader, m[1]);
      if (at) found.set(`${at}/${m[1]}`, wgslStructs(sources[at]).get(m[1])!);
    }
  }
  return found;
}

/** What differs between the shaders' uniform structs and the declarations, one line each. */
function differences(sources: Readonly<Record<string, string>>, declared: typeof DECLARED): string[] {
  const inShaders = uniformStructs(sources);
  const problems: string[] = [];
  const keys = new Set<string>();
  for (const d of declared) {
    const key = `${d.shader}/${d.name}`;
    keys.add(key);
    const fields = inShaders.get(key);
    const want = d.fields.map((f) => `${f.name}: ${f.type}`).join(", ");
    if (!fields) {
      problems.push(`${key}: declared in TypeScript, read as a uniform by no shader`);
    } else if (fields.map((f) => `${f.name}: ${f.type}`).join(", ") !== want) {
      const got = fields.map((f) => `${f.name}: ${f.type}`).join(", ");
      problems.push(`shaders/${d.shader}.wgsl struct ${d.name} { ${got} } is not ${d.wgsl()}`);
    }
  }
  for (const key of inShaders.keys()) {
    if (!keys.has(key)) problems.push(`${key}: a uniform struct with no TypeScript declaration`);
  }
  return problems;
}

Deno.test("uniform structs: every shader's uniform struct is its TypeScript declaration, field by field", () => {
  assertEquals(differences(SHADER_SOURCES, DECLARED), []);
  // Every struct the shaders read as a uniform is covered (StepParams through its include, too).
  assertEquals(uniformStructs(SHADER_SOURCES).size, DECLARED.length);
});

Deno.test("uniform structs: a swap of two fields, a renamed field or another type is seen", () => {
  const common = SHADER_SOURCES.matmul_common;
  const planted = {
    swapped: common.replace("aRow: u32, aK: u32,", "aK: u32, aRow: u32,"),
    renamed: common.replace("ldc: u32,", "ld: u32,"),
    retyped: common.replace("cOff: u32,", "cOff: i32,"),
  };
  for (const [what, source] of Object.entries(planted)) {
    assert(source !== common, `${what}: the planted text exists`);
    const found = differences({ ...SHADER_SOURCES, matmul_common: source }, DECLARED);
    assertEquals(found.length, 1, `${what}: ${found.join("; ")}`);
    assert(found[0].startsWith("shaders/matmul_common.wgsl struct Shape {"), found[0]);
  }
  // A struct only a new shader reads, and a declaration no shader reads.
  const extra = { ...SHADER_SOURCES, extra: "struct P { a: u32 }\n@group(0) @binding(0) var<uniform> p: P;" };
  assertEquals(differences(extra, DECLARED), ["extra/P: a uniform struct with no TypeScript declaration"]);
  const unused = uniformStruct("Q", "adam", { a: "u32" });
  assertEquals(differences(SHADER_SOURCES, [...DECLARED, unused]), [
    "adam/Q: declared in TypeScript, read as a uniform by no shader",
  ]);
});

Deno.test("uniform structs: packed by name at the declared positions, padded to 16 bytes", () => {
  const s = uniformStruct("S", "test", { a: "u32", b: "f32", c: "i32", d: "u32", e: "f32" });
  const bytes = s.pack({ e: 0.5, d: 4294967295, c: -3, b: 1.25, a: 7 });
  assertEquals(bytes.byteLength, 32);
  assertEquals(s.bytes, 32);
  const view = new DataView(bytes.buffer);
  assertEquals(
    [view.getUint32(0, true), view.getFloat32(4, true), view.getInt32(8, true), view.getUint32(12, true)],
    [7, 1.25, -3, 4294967295],
  );
  assertEquals([view.getFloat32(16, true), view.getUint32(20, true)], [0.5, 0]);
  assertEquals(s.wgsl(), "struct S { a: u32, b: f32, c: i32, d: u32, e: f32 }");
  assertEquals(GRAD_NORM_CHUNK.bytes, 16);
  assertThrows(() => s.pack({ a: -1, b: 0, c: 0, d: 0, e: 0 }), /a must be a finite u32, got -1/);
  assertThrows(() => s.pack({ a: 0.5, b: 0, c: 0, d: 0, e: 0 }), /a must be a finite u32/);
  assertThrows(() => s.pack({ a: 0, b: NaN, c: 0, d: 0, e: 0 }), /b must be a finite f32, got NaN/);
  assertThrows(() => s.pack({ a: 0, b: 0, c: 2 ** 31, d: 0, e: 0 }), /c must be a finite i32/);
  assertThrows(() => s.pack({ a: 0, b: 0, c: 0, d: 0 } as never), /e must be a finite f32, got undefined/);
  assertThrows(() => s.pack({ a: 0, b: 0, c: 0, d: 0, e: 0, f: 1 } as never), /no field f/);
  assertThrows(() => uniformStruct("T", "test", { "1": "u32" }), /field name 1 is a number/);
});
