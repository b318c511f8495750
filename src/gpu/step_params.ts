/**
 * The per-step batch range, shared by every kernel that reads ids or targets: a 16-byte uniform
 * `{start, size, slot, _}` meaning "this step uses pairs order[start .. start+size) and writes its mean
 * loss to losses[slot]". Kernels are built once for the largest batch (maxB rows) and read this uniform at
 * run time, so a step of any size <= maxB (the last batch of an epoch) needs no new pipeline or bind group.
 *
 * queue.writeBuffer lands before the next submit, so `set` serves one step per submit. To queue several
 * steps in one command buffer, copy each step's 16 bytes into `buffer` with copyBufferToBuffer before that
 * step's compute pass (copies and passes run in encoding order).
 *
 * Shaders that bind it take its struct from one include, `//#include step_params` (shaders/step_params.wgsl).
 */
import type { Gpu } from "./device.ts";

const STEP_PARAMS_BYTES = 16;

export interface StepParams {
  /** The uniform buffer kernels bind (also a valid copyBufferToBuffer destination). */
  buffer: GPUBuffer;
  /** Queues a write of the range and loss slot for the next submit. */
  set(start: number, size: number, slot?: number): void;
}

export function createStepParams(gpu: Gpu, label = "step params"): StepParams {
  const buffer = gpu.uniform(label, new Uint32Array(STEP_PARAMS_BYTES / 4));
  return {
    buffer,
    set(start: number, size: number, slot = 0): void {
      for (const [name, v] of [["start", start], ["size", size], ["slot", slot]] as const) {
        if (!Number.isInteger(v) || v < 0) {
          throw new Error(`step params: ${name} must be an integer >= 0, got ${v}`);
        }
      }
      gpu.write(buffer, 0, Uint32Array.of(start, size, slot, 0));
    },
  };
}
