/**
 * GPU tests share one device per test file. Without an adapter they fail when REQUIRE_GPU=1 (CI sets it)
 * and otherwise show as "ignored" with a printed reason, never as a silent pass.
 */
import { Gpu, type GpuOptions, NoAdapterError } from "../src/gpu/device.ts";

const requireGpu = Deno.env.get("REQUIRE_GPU") === "1";
let shared: Promise<Gpu | null> | null = null;

async function openShared(): Promise<Gpu | null> {
  try {
    return await Gpu.open();
  } catch (e) {
    if (e instanceof NoAdapterError && !requireGpu) {
      console.warn(`GPU tests ignored: ${e.message}`);
      return null;
    }
    throw e;
  }
}

/** Whether this machine has a WebGPU adapter (for GPU tests that open their own device, e.g. via trainMain). */
export const hasAdapter: boolean = await (async () => {
  try {
    return Boolean(await navigator.gpu?.requestAdapter());
  } catch {
    return false;
  }
})();
if (!hasAdapter) {
  if (requireGpu) throw new Error("REQUIRE_GPU=1 but no WebGPU adapter was found");
  console.warn("no WebGPU adapter: GPU tests in this file are ignored (set REQUIRE_GPU=1 to fail instead)");
}

/** Registers a GPU test; `fn` gets the shared device (or a fresh one for custom options). */
export function gpuTest(name: string, fn: (gpu: Gpu) => Promise<void>, options?: GpuOptions): void {
  Deno.test({
    name,
    ignore: !hasAdapter,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const gpu = options ? await Gpu.open(options) : await (shared ??= openShared());
      if (!gpu) throw new Error("no GPU adapter");
      await fn(gpu);
    },
  });
}

/**
 * Whether GPU parts of a test can run: false only without an adapter and without REQUIRE_GPU=1 (the module
 * already refused to load with REQUIRE_GPU=1 and no adapter, and warned otherwise).
 */
export function gpuAvailable(): boolean {
  return hasAdapter;
}
