/** Opens WebGPU under Deno, and the Backend a command asked for, with one-line errors when it cannot. */
import type { Backend } from "../model/backend.ts";
import type { ModelConfig } from "../model/config.ts";
import { createCpuBackend } from "../cpu/backend.ts";
import { createGpuBackend } from "../gpu/backend.ts";
import { Gpu, type GpuOptions, NO_ADAPTER, NoAdapterError } from "../gpu/device.ts";
import { errorLine, type MessagePart, UserError, words } from "../errors.ts";
import { webgpuBackendLabel } from "./gpu_env.ts";
import { type BackendKind, CPU_BACKEND } from "../model/backend_kind.ts";

/** What a command that could run on the CPU says when WebGPU has no adapter at all. */
export const NO_ADAPTER_HINT: readonly MessagePart[] = words`${NO_ADAPTER}, or use ${CPU_BACKEND}`;

/** Gpu.open, naming the backend as Deno's wgpu chose it (DENO_WEBGPU_BACKEND, else its default). */
export function openGpu(options: GpuOptions = {}): Promise<Gpu> {
  return Gpu.open({ backend: webgpuBackendLabel() ?? "default", ...options });
}

/** What openBackend needs besides the model: how large a batch, and where to say what it opened. */
export interface BackendOptions {
  /** Largest batch the backend must hold (training batch; predict's sample count). */
  maxBatch: number;
  /** A headline model's most positions per row (src/data/rows.ts longestRow; advance alone needs 1). */
  maxSteps?: number;
  /** Training steps will drop activations (their kernels are built only when asked). */
  dropout?: boolean;
  /** Called once with a line describing what was opened. */
  say?: (line: string) => void;
}

/**
 * The backend `kind` names for a model of `cfg`: the CPU reference, or WebGPU on the adapter Deno finds
 * (one-line UserErrors when there is none, suggesting the CPU backend).
 */
export async function openBackend(
  kind: BackendKind,
  cfg: ModelConfig,
  opts: BackendOptions,
): Promise<Backend> {
  if (kind === "cpu") {
    opts.say?.("backend: cpu (the plain-TypeScript reference; far slower than webgpu)");
    return await createCpuBackend(cfg);
  }
  let gpu: Gpu;
  try {
    gpu = await openGpu();
  } catch (e) {
    if (e instanceof NoAdapterError) throw new UserError(NO_ADAPTER_HINT);
    throw new UserError(words`could not open a WebGPU device: ${errorLine(e)}; try ${CPU_BACKEND}`);
  }
  const a = gpu.adapter;
  opts.say?.(`backend: webgpu on ${a.description}${a.isFallbackAdapter ? " (software adapter)" : ""}`);
  return await createGpuBackend(gpu, cfg, {
    maxBatch: opts.maxBatch,
    maxSteps: opts.maxSteps,
    dropout: opts.dropout,
  });
}
