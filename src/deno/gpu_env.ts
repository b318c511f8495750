/**
 * What the environment says about WebGPU, for Deno CLIs (the computing core never reads the environment:
 * it is handed these values, e.g. as Gpu.open's `backend` label).
 */

/**
 * The wgpu backend(s) Deno was asked to use (DENO_WEBGPU_BACKEND, e.g. "vulkan", "gl"), or undefined when
 * unset or when env access is not granted. Deno picks its default (Vulkan, else GL) when unset.
 */
export function webgpuBackendLabel(): string | undefined {
  try {
    return Deno.env.get("DENO_WEBGPU_BACKEND")?.trim() || undefined;
  } catch {
    return undefined;
  }
}

export { isGlBackend } from "../gpu/device.ts";

/** Whether stderr is a terminal (progress lines go there only then). */
export function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}
