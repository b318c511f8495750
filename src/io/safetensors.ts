/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written without deps:
 *
 *   u64 little-endian N | N bytes of UTF-8 JSON header, padded with spaces to a multiple of 8 | data
 *
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (byte offsets into the data
 * section) plus an optional "__metadata__" object of string values. Data is little-endian, row-major.
 *
 * Dtypes: F32 (parameters, Adam moments), F64, I32, U32 (the Rng state) and I64 (step counters, as PyTorch
 * stores integer scalars); I64 reads back as a BigInt64Array. Anything else is refused by name.
 *
 * Reading checks the whole file before returning anything, as the Rust library does and then some: tensors
 * must tile the data section exactly (sorted by offset, each starting where the previous ended, the last
 * ending at the end of the file), so overlaps, gaps and trailing bytes are all errors. Every error is a
 * one-line UserError naming the file and, where there is one, the tensor.
 */
import { errorLine, UserError } from "../errors.ts";

/** The tensor element types this reader and writer know. */
export type Dtype = "F32" | "F64" | "I32" | "U32" | "I64";
/** A tensor's values, in the typed array of its dtype. */
export type TensorData = Float32Array | Float64Array | Int32Array | Uint32Array | BigInt64Array;

/** One tensor of a safetensors file. */
export interface Tensor {
  /** Its element type. */
  dtype: Dtype;
  /** Its dimensions, outermost first. */
  shape: number[];
  /** Its values, row-major. */
  data: TensorData;
}

/** A decoded safetensors file. */
export interface Safetensors {
  /** Tensors in data order (the order they were written). */
  tensors: Map<string, Tensor>;
  /** The header's "__metadata__" (string values only). */
  metadata: Record<string, string>;
}

/** How decodeSafetensors checks the values. */
export interface ReadOptions {
  /** Refuse NaN and infinite F32/F64 values (weights must be finite to be of any use). */
  finite?: boolean;
}

const DTYPES: Record<Dtype, { bytes: number; make: (buf: ArrayBuffer) => TensorData; ctor: string }> = {
  F32: { bytes: 4, make: (b) => new Float32Array(b), ctor: "Float32Array" },
  F64: { bytes: 8, make: (b) => new Float64Array(b), ctor: "Float64Array" },
  I32: { bytes: 4, make: (b) => new Int32Array(b), ctor: "Int32Array" },
  U32: { bytes: 4, make: (b) => new Uint32Array(b), ctor: "Uint32Array" },
  I64: { bytes: 8, make: (b) => new BigInt64Array(b), ctor: "BigInt64Array" },
};

/** The Rust library's own limit: a larger header is a corrupt length, not a real header. */
const MAX_HEADER_BYTES = 100_000_000;

// Typed arrays use the platform's byte order; the format is little-endian. Every platform Deno runs on is
// little-endian, so this guards the assumption rather than adding byte swapping nobody would exercise.
if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new Error("safetensors: big-endian host");

function isDtype(s: unknown): s is Dtype {
  return typeof s === "string" && Object.hasOwn(DTYPES, s);
}

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises tensors (in the given order) and string metadata to the bytes of a .safetensors file. */
export function encodeSafetensors(
  tensors: Iterable<[string, Tensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === "__metadata__" || name === "") throw new Error(`safetensors: bad tensor name "${name}"`);
    if (Object.hasOwn(header, name)) throw new Error(`safetensors: tensor ${name} given twice`);
    const spec = DTYPES[t.dtype];
    if (!spec) throw new Error(`safetensors: ${name}: unsupported dtype ${t.dtype}`);
    if (t.data.constructor.name !== spec.ctor) {
      throw new Error(
        `safetensors: ${name}: dtype ${t.dtype} needs a ${spec.ctor}, got ${t.data.constructor.name}`,
      );
    }
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || elementCount(t.shape) !== t.data.length) {
      throw new Error(`safetensors: ${name}: shape [${t.shape}] does not hold ${t.data.length} values`);
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces to 8 bytes, as the Python library does, so the data section starts 8-byte aligned.
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Throws the one-line error of a file that fails a check. */
type Fail = (msg: string) => never;

/** A tensor's header entry, checked against the data section's length. */
interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses and validates the bytes of a .safetensors file; `file` names it in errors. Returns only when every
 * check passed; the tensors own copies of their data.
 */
export function decodeSafetensors(bytes: Uint8Array, file: string, opts: ReadOptions = {}): Safetensors {
  const fail: Fail = (msg) => {
    throw new UserError(`${file}: ${msg}`);
  };
  const { header, dataStart } = readHeader(bytes, fail);
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") Object.assign(metadata, readMetadata(raw, fail));
    else entries.push(readEntry(name, raw, dataLen, fail));
  }
  const tensors = new Map<string, Tensor>();
  for (const e of tiledInOrder(entries, dataLen, fail)) {
    // A copy: the caller keeps the tensor, not the (maybe large, maybe misaligned) file buffer.
    const buf = bytes.slice(dataStart + e.begin, dataStart + e.end).buffer;
    const data = DTYPES[e.dtype].make(buf);
    if (opts.finite && (e.dtype === "F32" || e.dtype === "F64")) {
      const f = data as Float32Array | Float64Array;
      for (let i = 0; i < f.length; i++) {
        if (!Number.isFinite(f[i])) {
          fail(`tensor ${e.name}: value ${f[i]} at index ${i} (weights must be finite)`);
        }
      }
    }
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** The header's JSON object, and where the data section starts. */
function readHeader(bytes: Uint8Array, fail: Fail): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) {
    fail(`not a safetensors file: ${bytes.length} bytes, shorter than the 8-byte header length`);
  }
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(bytes.length - 8)) {
    fail(
      `header length ${headerLen} runs past the end of the file (${bytes.length} bytes): truncated or not safetensors`,
    );
  }
  if (headerLen > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLen} is implausibly large`);
  const n = Number(headerLen);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail("header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${errorLine(e)})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("header is not a JSON object");
  }
  return { header: header as Record<string, unknown>, dataStart: 8 + n };
}

/** The "__metadata__" entry: an object of strings. */
function readMetadata(raw: unknown, fail: Fail): Record<string, string> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    fail("__metadata__ is not an object");
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== "string") fail(`__metadata__.${k} is not a string`);
    metadata[k] = v as string;
  }
  return metadata;
}

/** One tensor's entry: known fields only, a supported dtype, a shape, offsets inside the data that fit it. */
function readEntry(name: string, raw: unknown, dataLen: number, fail: Fail): Entry {
  const where = `tensor ${name}`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    fail(`${where}: entry is not an object`);
  }
  const { dtype, shape, data_offsets: offsets, ...rest } = raw as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) fail(`${where}: unknown field ${extra[0]}`);
  if (dtype === undefined) fail(`${where}: missing dtype`);
  if (!isDtype(dtype)) {
    fail(`${where}: unsupported dtype ${JSON.stringify(dtype)} (supported: F32 F64 I32 U32 I64)`);
  }
  if (!Array.isArray(shape)) fail(`${where}: shape is missing or not an array`);
  if (!(shape as unknown[]).every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    fail(`${where}: data_offsets is missing or not [begin, end]`);
  }
  const [begin, end] = offsets as unknown[];
  if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || (begin as number) < 0) {
    fail(`${where}: data_offsets ${JSON.stringify(offsets)} are not non-negative integers`);
  }
  if ((end as number) < (begin as number)) {
    fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  }
  if ((end as number) > dataLen) {
    fail(
      `${where}: data_offsets [${begin}, ${end}] run past the data section (${dataLen} bytes): truncated file?`,
    );
  }
  const want = elementCount(shape as number[]) * DTYPES[dtype as Dtype].bytes;
  if ((end as number) - (begin as number) !== want) {
    fail(
      `${where}: shape [${shape}] of ${dtype} needs ${want} bytes but data_offsets [${begin}, ${end}] hold ` +
        `${(end as number) - (begin as number)}`,
    );
  }
  return {
    name,
    dtype: dtype as Dtype,
    shape: shape as number[],
    begin: begin as number,
    end: end as number,
  };
}

/** The entries in data order, once they tile the data section: no overlap, no gap, nothing after the last. */
function tiledInOrder(entries: Entry[], dataLen: number, fail: Fail): Entry[] {
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expect = 0;
  let prev = "the start of the data section";
  for (const e of byOffset) {
    if (e.begin < expect) fail(`tensor ${e.name}: data_offsets [${e.begin}, ${e.end}] overlap ${prev}`);
    if (e.begin > expect) fail(`tensor ${e.name}: ${e.begin - expect} unused bytes between ${prev} and it`);
    expect = e.end;
    prev = `tensor ${e.name}`;
  }
  if (expect !== dataLen) {
    fail(`${dataLen - expect} unused bytes after ${prev}: trailing garbage or a bad header`);
  }
  return byOffset;
}
