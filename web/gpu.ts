/**
 * WebGPU in the page: the adapter and device every GPU backend of the page shares, or why there is none
 * (the page then runs on the CPU reference and says so).
 */
import { errorLine, Gpu, NoAdapterError } from "../core.ts";

export interface PageGpu {
  gpu: Gpu | null;
  /** Why there is no GPU (shown as the page's notice), null when there is one. */
  unavailable: string | null;
}

const CPU_FALLBACK = "the page runs on the CPU reference (slow, but the same model)";

export async function openPageGpu(): Promise<PageGpu> {
  if (!("gpu" in navigator) || !navigator.gpu) {
    return {
      gpu: null,
      unavailable: `This browser has no WebGPU (navigator.gpu is missing): ${CPU_FALLBACK}.`,
    };
  }
  try {
    // "compatibility" also takes adapters that offer only that level (lavapipe through Chromium's
    // OpenGL ES path); Gpu.open still makes a core device wherever the adapter offers core.
    return { gpu: await Gpu.open({ featureLevel: "compatibility", backend: "browser" }), unavailable: null };
  } catch (e) {
    if (e instanceof NoAdapterError) {
      return { gpu: null, unavailable: `WebGPU found no adapter: ${CPU_FALLBACK}.` };
    }
    const why = errorLine(e);
    return { gpu: null, unavailable: `WebGPU could not open a device (${why}): ${CPU_FALLBACK}.` };
  }
}
