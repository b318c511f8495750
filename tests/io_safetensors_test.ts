import { join } from "node:path";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "../src/io/safetensors.ts";
import { readSafetensors } from "../src/deno/checkpoint_files.ts";
import { inferConfig } from "../src/io/checkpoint.ts";
import { paramLayout } from "../src/model/layout.ts";
import { UserError } from "../src/errors.ts";
import { assert, assertEquals, assertThrows, randomArray } from "./assert.ts";
import { haveFiles, SHARED_DATA } from "./fs_harness.ts";

const PARITY_INIT = join(SHARED_DATA, "parity/apr2017-seed0/init.safetensors");
const hasParity = haveFiles("PyTorch parity fixture tests", [PARITY_INIT]);

const FILE = "test.safetensors";

function sample(): Array<[string, Tensor]> {
  return [
    ["w", { dtype: "F32", shape: [2, 3], data: randomArray(6, 1) }],
    ["d", { dtype: "F64", shape: [3], data: Float64Array.of(1 / 3, -2.5e300, 0) }],
    ["i", { dtype: "I32", shape: [2], data: Int32Array.of(-7, 2147483647) }],
    ["u", { dtype: "U32", shape: [4], data: Uint32Array.of(0, 1, 0xdeadbeef, 0xffffffff) }],
    ["step", { dtype: "I64", shape: [], data: BigInt64Array.of(9007199254740993n) }],
    ["empty", { dtype: "F32", shape: [0, 5], data: new Float32Array(0) }],
  ];
}

/** A file with the given header (object or raw text) and data bytes, framed as safetensors. */
function rawFile(header: unknown, data: Uint8Array, headerLen?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Header object and data section of an encoded file, to corrupt and re-frame. */
function split(bytes: Uint8Array): { header: Record<string, Record<string, unknown>>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  return {
    header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))),
    data: bytes.slice(8 + n),
  };
}

function rejects(bytes: Uint8Array, pattern: RegExp, opts = {}): void {
  assertThrows(() => decodeSafetensors(bytes, FILE, opts), (e: unknown) => {
    assert(e instanceof UserError, `expected a UserError, got ${e}`);
    assert(!e.message.includes("\n"), `message is not one line: ${e.message}`);
    assert(e.message.startsWith(`${FILE}: `), `message does not name the file: ${e.message}`);
    assert(pattern.test(e.message), `message ${JSON.stringify(e.message)} does not match ${pattern}`);
    return true;
  });
}

Deno.test("safetensors: every dtype, scalars, empty tensors and metadata round-trip exactly", () => {
  const tensors = sample();
  const bytes = encodeSafetensors(tensors, { note: "hi", config: "{}" });
  const back = decodeSafetensors(bytes, FILE);
  assertEquals([...back.tensors.keys()], tensors.map(([n]) => n));
  for (const [name, t] of tensors) {
    const got = back.tensors.get(name)!;
    assertEquals(got.dtype, t.dtype);
    assertEquals(got.shape, t.shape);
    assertEquals(got.data, t.data);
  }
  assertEquals(back.metadata, { note: "hi", config: "{}" });
});

Deno.test("safetensors: header padded with spaces to 8 bytes and data laid out as the offsets say", () => {
  const bytes = encodeSafetensors([["a", { dtype: "F32", shape: [3], data: Float32Array.of(1, 2, 3) }]]);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals(n % 8, 0);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assertEquals(text, JSON.stringify(JSON.parse(text)).padEnd(n, " "));
  const { header } = split(bytes);
  assertEquals(header.a, { dtype: "F32", shape: [3], data_offsets: [0, 12] });
  assertEquals(new Float32Array(bytes.slice(8 + n).buffer), Float32Array.of(1, 2, 3));
});

Deno.test("safetensors: the writer refuses tensors it could not describe", () => {
  const f = Float32Array.of(1, 2);
  assertThrows(() => encodeSafetensors([["a", { dtype: "F32", shape: [3], data: f }]]), /shape \[3\]/);
  assertThrows(() => encodeSafetensors([["a", { dtype: "I32", shape: [2], data: f }]]), /needs a Int32Array/);
  assertThrows(
    () => encodeSafetensors([["__metadata__", { dtype: "F32", shape: [2], data: f }]]),
    /bad tensor name/,
  );
});

Deno.test("safetensors: a corrupt frame or header is rejected with one line naming file and tensor", () => {
  const good = encodeSafetensors(sample());
  const { header, data } = split(good);
  rejects(good.subarray(0, 5), /shorter than the 8-byte/);
  rejects(rawFile(header, data, BigInt(good.length)), /runs past the end of the file/);
  rejects(rawFile(header, data, 2n ** 63n), /runs past the end/);
  rejects(rawFile("{not json", data), /not valid JSON/);
  const badUtf8 = rawFile("{}", new Uint8Array());
  badUtf8[8] = 0xff;
  rejects(badUtf8, /not valid UTF-8/);
  rejects(rawFile("[1,2]", data), /not a JSON object/);
  rejects(rawFile("7", data), /not a JSON object/);
  rejects(rawFile({ ...header, __metadata__: { a: 1 } }, data), /__metadata__\.a is not a string/);
  rejects(rawFile({ ...header, __metadata__: [] }, data), /__metadata__ is not an object/);
  rejects(rawFile({ ...header, w: [1] }, data), /tensor w: entry is not an object/);
  rejects(rawFile({ ...header, w: { ...header.w, extra: 1 } }, data), /tensor w: unknown field extra/);
});

Deno.test("safetensors: each field of each tensor corrupted in turn is rejected naming that tensor", () => {
  const good = encodeSafetensors(sample());
  const { header, data } = split(good);
  const corruptions: Array<[string, (e: Record<string, unknown>) => void, RegExp]> = [
    ["no dtype", (e) => delete e.dtype, /missing dtype/],
    ["unknown dtype", (e) => (e.dtype = "BF16"), /unsupported dtype "BF16"/],
    ["dtype not a string", (e) => (e.dtype = 4), /unsupported dtype 4/],
    ["no shape", (e) => delete e.shape, /shape is missing/],
    ["shape not a list", (e) => (e.shape = "2x3"), /shape is missing or not an array/],
    ["negative dim", (e) => (e.shape = [-1]), /not a list of non-negative integers/],
    ["fractional dim", (e) => (e.shape = [1.5]), /not a list of non-negative integers/],
    ["shape of another size", (e) => (e.shape = [7, 7]), /needs \d+ bytes but data_offsets/],
    ["no offsets", (e) => delete e.data_offsets, /data_offsets is missing/],
    ["offsets of 3", (e) => (e.data_offsets = [0, 1, 2]), /data_offsets is missing or not \[begin, end\]/],
    ["offsets not numbers", (e) => (e.data_offsets = ["0", "4"]), /not non-negative integers/],
    ["negative offset", (e) => (e.data_offsets = [-4, 0]), /not non-negative integers/],
    ["end before begin", (e) => {
      const [b, en] = e.data_offsets as number[];
      e.data_offsets = [en, b];
    }, /end before they begin|needs \d+ bytes/],
    ["out of range", (e) => {
      const [b, en] = e.data_offsets as number[];
      e.data_offsets = [b + data.length, en + data.length];
    }, /run past the data section/],
  ];
  for (const name of Object.keys(header)) {
    for (const [what, corrupt, pattern] of corruptions) {
      const h = structuredClone(header);
      corrupt(h[name]);
      if (what === "end before begin" && name === "empty") continue; // [x, x] reversed is itself
      const withName = new RegExp(`tensor ${name}: .*(${pattern.source})`);
      try {
        rejects(rawFile(h, data), withName);
      } catch (e) {
        throw new Error(`${name} / ${what}: ${(e as Error).message}`);
      }
    }
  }
});

Deno.test("safetensors: overlapping, gapped, shuffled and trailing data are told apart", () => {
  const a = Float32Array.of(1, 2);
  const good = encodeSafetensors([["a", { dtype: "F32", shape: [2], data: a }], ["b", {
    dtype: "F32",
    shape: [2],
    data: a,
  }]]);
  const { header, data } = split(good);
  // Overlap: b starts inside a (and the file is sized so nothing else is wrong).
  rejects(
    rawFile({ ...header, b: { ...header.b, data_offsets: [4, 12] } }, data.subarray(0, 12)),
    /tensor b: .*overlap tensor a/,
  );
  // Gap: b starts 4 bytes after a ends.
  rejects(
    rawFile({ ...header, b: { ...header.b, data_offsets: [12, 20] } }, new Uint8Array(20)),
    /4 unused bytes between tensor a and it/,
  );
  rejects(rawFile(header, new Uint8Array([...data, 0, 0, 0, 0])), /4 unused bytes after tensor b/);
  // Offsets out of header order are fine as long as the tensors tile the data (as the Rust library reads).
  const swapped = rawFile(
    { b: { ...header.b, data_offsets: [0, 8] }, a: { ...header.a, data_offsets: [8, 16] } },
    Uint8Array.from([...new Uint8Array(Float32Array.of(3, 4).buffer), ...data.subarray(0, 8)]),
  );
  const st = decodeSafetensors(swapped, FILE);
  assertEquals(st.tensors.get("a")!.data, a);
  assertEquals(st.tensors.get("b")!.data, Float32Array.of(3, 4));
});

Deno.test("safetensors: truncation at every 1/16 of the length is rejected", () => {
  const good = encodeSafetensors(sample());
  for (let k = 0; k < 16; k++) {
    const cut = Math.floor((good.length * k) / 16);
    rejects(good.subarray(0, cut), /shorter than|runs past|run past|unused bytes|not valid/);
  }
});

Deno.test("safetensors: non-finite values are rejected naming tensor and index only when finite is asked", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const w = Float32Array.of(0, 1, bad);
    const bytes = encodeSafetensors([["ok", { dtype: "F32", shape: [1], data: Float32Array.of(2) }], [
      "fc.weight",
      { dtype: "F32", shape: [3], data: w },
    ]]);
    rejects(bytes, new RegExp(`tensor fc\\.weight: value ${bad} at index 2`), { finite: true });
    assertEquals(decodeSafetensors(bytes, FILE).tensors.get("fc.weight")!.data, w);
  }
});

Deno.test("safetensors: a missing file is a one-line UserError naming it", async () => {
  try {
    await readSafetensors("/nonexistent/x.safetensors");
    throw new Error("no error");
  } catch (e) {
    assert(e instanceof UserError);
    assertEquals(e.message, "/nonexistent/x.safetensors: no such file");
  }
});

Deno.test({
  name: "safetensors: the PyTorch-written parity init loads with the layout's names and shapes",
  ignore: !hasParity,
  async fn() {
    const st = await readSafetensors(PARITY_INIT, { finite: true });
    const cfg = inferConfig(new Map([...st.tensors].map(([n, t]) => [n, t.shape])));
    assertEquals(cfg, { vocab: 2482, embed: 16, hidden: 64, layers: 5, window: 2 });
    const layout = paramLayout(cfg);
    assertEquals(
      [...st.tensors].map(([n, t]) => [n, t.dtype, t.shape]),
      layout.tensors.map((t) => [t.name, "F32", t.shape]),
    );
    let count = 0;
    for (const t of st.tensors.values()) count += t.data.length;
    assertEquals(count, layout.count);
    assertEquals(count, 6_676_808);
  },
});
