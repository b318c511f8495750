/**
 * The one place that decides whether GPU tests run. Every test that needs a WebGPU adapter, in this process
 * (`gpuTest`: a shared device per file) or in a subprocess (`webgpuTest`: a CLI run with `--backend webgpu`),
 * registers through here. Without an adapter they show as "ignored" with the reason printed once per file,
 * never as a silent pass or a quiet switch to the CPU; with REQUIRE_GPU=1 (CI sets it) each of them fails
 * instead, naming the reason, while the CPU tests beside them still run.
 *
 * Also the buffer helpers every GPU kernel test shares: upload a typed array, make an output buffer, read
 * the first `count` elements of a buffer back.
 */
import { type BufferSlice, Gpu, type GpuOptions, whole } from "../src/gpu/device.ts";

/** REQUIRE_GPU=1: a missing adapter fails every GPU test instead of ignoring it. */
export const REQUIRE_GPU = Deno.env.get("REQUIRE_GPU") === "1";

/** Why there is no adapter ("" when there is one). */
const noAdapterReason = await (async () => {
  if (!navigator.gpu) return "navigator.gpu is missing";
  try {
    return (await navigator.gpu.requestAdapter()) ? "" : "navigator.gpu.requestAdapter() found no adapter";
  } catch (e) {
    return `navigator.gpu.requestAdapter() threw: ${(e as Error).message.split("\n")[0]}`;
  }
})();
const hasAdapter = noAdapterReason === "";

if (!hasAdapter) {
  if (REQUIRE_GPU) {
    console.error(
      `REQUIRE_GPU=1 but no WebGPU adapter (${noAdapterReason}): the GPU tests in this file fail`,
    );
  } else {
    console.warn(
      `no WebGPU adapter (${noAdapterReason}): the GPU tests are ignored ` +
        "(REQUIRE_GPU=1 makes them fail instead)",
    );
  }
}

/** Whether an adapter exists: GPU parts of a test run only then (see webgpuTest and gpuTest). */
export function gpuAvailable(): boolean {
  return hasAdapter;
}

/** The Deno.test fields a GPU test may set besides name and fn (`ignore` for reasons of its own). */
type TestOptions = Omit<Deno.TestDefinition, "name" | "fn">;

/**
 * A test that needs a WebGPU adapter but not this process's device (it runs a CLI with --backend webgpu):
 * ignored without an adapter, failed with REQUIRE_GPU=1 and no adapter.
 */
export function webgpuTest(name: string, fn: () => Promise<void>, options: TestOptions = {}): void {
  Deno.test({
    ...options,
    name,
    ignore: options.ignore || (!hasAdapter && !REQUIRE_GPU),
    async fn() {
      if (!hasAdapter) throw new Error(`REQUIRE_GPU=1 but no WebGPU adapter: ${noAdapterReason}`);
      await fn();
    },
  });
}

let shared: Promise<Gpu> | null = null;

/**
 * A test on a WebGPU device in this process: the file's shared one, or a fresh one when `options` are given
 * (custom limits, planted shaders); ignored or failed without an adapter as webgpuTest.
 */
export function gpuTest(name: string, fn: (gpu: Gpu) => Promise<void>, options?: GpuOptions): void {
  webgpuTest(name, async () => {
    const gpu = options ? await Gpu.open(options) : await (shared ??= Gpu.open());
    await fn(gpu);
  }, { sanitizeResources: false, sanitizeOps: false });
}

/** The backends a CLI test can run on; "webgpu" tests go through webgpuTest. */
export type BackendName = "webgpu" | "cpu";

/** Registers `fn` once per backend: the webgpu one through webgpuTest, the cpu one as a plain test. */
export function backendTests(
  name: (backend: BackendName) => string,
  fn: (backend: BackendName) => Promise<void>,
  options: TestOptions = {},
  backends: BackendName[] = ["webgpu", "cpu"],
): void {
  for (const backend of backends) {
    if (backend === "webgpu") webgpuTest(name(backend), () => fn(backend), options);
    else Deno.test({ ...options, name: name(backend), fn: () => fn(backend) });
  }
}

// ---- buffers for kernel tests ----

/** A storage buffer holding `data` (floats or ints), as a whole slice. */
export function upload(gpu: Gpu, data: Float32Array | Int32Array, label = "test input"): BufferSlice {
  return whole(gpu.buffer(label, data.byteLength, data));
}

/**
 * A storage buffer of `count` 4-byte elements, each set to `fill` (default 0). Outputs are filled with NaN
 * where a test checks that a kernel writes every element.
 */
export function output(gpu: Gpu, count: number, fill = 0, label = "test output"): BufferSlice {
  return upload(gpu, new Float32Array(count).fill(fill), label);
}

/** The first `count` floats of a slice, read back (a buffer is rounded up to 16 bytes: the rest is cut). */
export async function readFloats(gpu: Gpu, slice: BufferSlice, count: number): Promise<Float32Array> {
  if (count * 4 > slice.size) throw new Error(`readFloats: ${count} floats from a ${slice.size}-byte slice`);
  return (await gpu.read(slice)).subarray(0, count);
}

/** The first `count` 32-bit integers of a slice, read back. */
export async function readInts(gpu: Gpu, slice: BufferSlice, count: number): Promise<Int32Array> {
  return new Int32Array((await readFloats(gpu, slice, count)).slice().buffer);
}

/** Destroys the buffers behind the slices (kernel tests that make many cases free each one's buffers). */
export function destroyAll(gpu: Gpu, slices: Iterable<BufferSlice | undefined>): void {
  for (const s of slices) if (s) gpu.destroy(s.buffer);
}
