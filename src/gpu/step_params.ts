/**
 * The per-step batch, shared by every kernel that reads ids, targets or the batch's positions: a 16-byte
 * uniform `{start, size, slot, steps}` meaning "this step uses pairs order[start .. start+size), writes its
 * mean loss to losses[slot], and each of its rows holds `steps` positions" (Tb: the row stride of the packed
 * `[B * Tb, W]` activations, position t of row b at row b * Tb + t; docs/headline-model.md). Kernels are
 * built once for the largest batch (maxB rows of at most the longest row's positions) and read this uniform
 * at run time, so a step of any size <= maxB (the last batch of an epoch) and any Tb up to the longest needs
 * no new pipeline or bind group.
 *
 * `steps` defaults to the value given at creation (the window model's window, which never changes), so
 * callers that do not vary it need not repeat it.
 *
 * queue.writeBuffer lands before the next submit, so `set` serves one step per submit. To queue several
 * steps in one command buffer, copy each step's 16 bytes into `buffer` with copyBufferToBuffer before that
 * step's compute pass (copies and passes run in encoding order).
 *
 * Shaders that bind it take its struct from one include, `//#include step_params` (shaders/step_params.wgsl).
 */
import type { Gpu } from "./device.ts";
import { uniformStruct } from "./uniform_struct.ts";

/** The struct of shaders/step_params.wgsl. */
export const STEP_PARAMS = uniformStruct("StepParams", "step_params", {
  start: "u32",
  size: "u32",
  slot: "u32",
  steps: "u32",
});

export interface StepParams {
  /** The uniform buffer kernels bind (also a valid copyBufferToBuffer destination). */
  buffer: GPUBuffer;
  /**
   * Queues a write of the range, loss slot and positions per row for the next submit; `steps` defaults to
   * the value given at creation.
   */
  set(start: number, size: number, slot?: number, steps?: number): void;
  /** The `steps` last written. */
  readonly steps: number;
}

/** A StepParams uniform whose `steps` is `steps` until a `set` says otherwise (written now: 0, 0, 0, steps). */
export function createStepParams(gpu: Gpu, label = "step params", steps = 1): StepParams {
  const check = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) {
      throw new Error(`step params: ${name} must be an integer >= ${min}, got ${v}`);
    }
  };
  check("steps", steps, 1);
  const buffer = gpu.uniform(label, STEP_PARAMS.pack({ start: 0, size: 0, slot: 0, steps }));
  let written = steps;
  return {
    buffer,
    set(start: number, size: number, slot = 0, rowSteps = steps): void {
      check("start", start, 0);
      check("size", size, 0);
      check("slot", slot, 0);
      check("steps", rowSteps, 1);
      gpu.write(buffer, 0, STEP_PARAMS.pack({ start, size, slot, steps: rowSteps }));
      written = rowSteps;
    },
    get steps(): number {
      return written;
    },
  };
}
