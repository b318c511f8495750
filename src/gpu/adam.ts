/**
 * torch.optim.Adam on WebGPU over flat buffers: all parameters (and their gradients and moments) in one
 * range each, updated by one dispatch per binding-sized chunk. setStep writes the step's bias corrections and
 * the hyperparameters (any of which may change between steps) into the one uniform all chunks share, before
 * the step is submitted. With AdamHyper.clip the gradients are first clipped as
 * torch.nn.utils.clip_grad_norm_ does: the norm's reduction (src/gpu/grad_norm.ts) runs before the update,
 * which reads the norm from the GPU buffer it left it in.
 */
import type { AdamHyper } from "../model/optimizer.ts";
import { type BufferSlice, ceilDiv, type Gpu, type Kernel, subSlice, WIDE_WORKGROUP } from "./device.ts";
import { createGradNorm, type GradNormKernels } from "./grad_norm.ts";
import { uniformStruct } from "./uniform_struct.ts";

export interface AdamKernels {
  /** The update, one dispatch per chunk (clipping by the norm `norm` last computed when hyper.clip is set). */
  kernels: Kernel[];
  /** The gradient norm's reduction, which a clipping step runs before `kernels`. */
  norm: GradNormKernels;
  /** Sets the step number t (counting from 1) and the hyperparameters used by the next submit of `kernels`. */
  setStep(t: number, hyper: AdamHyper): void;
  /** What one optimizer step with `hyper` submits: the norm's reduction first when clipping, then `kernels`. */
  stepKernels(hyper: AdamHyper): Kernel[];
}

/** Chunks are whole multiples of this many floats, which keeps them 256-byte aligned (and vec4-sized). */
const CHUNK_ALIGN_FLOATS = 64;

/** The floats of each chunk of the flat buffers (the last may be shorter): one binding, aligned. */
export function flatChunkFloats(gpu: Gpu): number {
  return Math.floor(gpu.maxBinding / 4 / CHUNK_ALIGN_FLOATS) * CHUNK_ALIGN_FLOATS;
}

export async function createAdam(
  gpu: Gpu,
  bufs: { params: BufferSlice; grads: BufferSlice; m: BufferSlice; v: BufferSlice },
  count: number,
  label = "adam",
): Promise<AdamKernels> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`${label}: count must be a positive integer`);
  for (const [name, s] of Object.entries(bufs)) {
    if (s.size < count * 4) throw new Error(`${label}: ${name} holds ${s.size} bytes, needs ${count * 4}`);
  }
  const width = adamWidth(count).width;
  const wg = gpu.reductionWidth(WIDE_WORKGROUP);
  const pipeline = await gpu.pipeline("adam", { T: width === 4 ? "vec4f" : "f32", WG: wg });
  const step = gpu.uniform(`${label} step`, new Uint8Array(ADAM_STEP.bytes)); // written by setStep before use
  const maxGroups = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  const chunk = flatChunkFloats(gpu);
  const norm = await createGradNorm(gpu, bufs.grads, count, width, chunk, `${label} grad norm`);
  const kernels: Kernel[] = [];
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    const groups = ceilDiv(n / width, wg);
    const x = Math.min(groups, maxGroups);
    const part = (s: BufferSlice) => subSlice(s, start, n);
    kernels.push(
      gpu.kernel(
        label,
        pipeline,
        [step, part(bufs.params), part(bufs.grads), part(bufs.m), part(bufs.v), norm.norm],
        [x, ceilDiv(groups, x)],
      ),
    );
  }
  return {
    kernels,
    norm,
    setStep(t: number, hyper: AdamHyper): void {
      if (!Number.isInteger(t) || t < 1) throw new Error(`${label}: step must be an integer >= 1, got ${t}`);
      gpu.write(step, 0, stepUniform(hyper, t));
    },
    stepKernels(hyper: AdamHyper): Kernel[] {
      return hyper.clip === undefined ? kernels : [...norm.kernels, ...kernels];
    },
  };
}

/** vec4 or scalar parameters, and why: vec4 needs every chunk (and so the count) to be whole vec4s. */
export function adamWidth(count: number): { width: 1 | 4; reason: string } {
  return count % 4 === 0
    ? { width: 4, reason: `${count} parameters, a multiple of 4: vec4` }
    : { width: 1, reason: `${count} parameters, not a multiple of 4: scalar` };
}

/** The struct of shaders/adam.wgsl. */
export const ADAM_STEP = uniformStruct("Step", "adam", {
  stepSize: "f32",
  bc2Sqrt: "f32",
  beta1: "f32",
  oneMinusBeta1: "f32",
  beta2: "f32",
  oneMinusBeta2: "f32",
  eps: "f32",
  weightDecay: "f32",
  maxNorm: "f32",
});

/** The shader's Step struct for step t; bias corrections in float64 as torch computes them. */
function stepUniform(h: AdamHyper, t: number): Uint8Array {
  return ADAM_STEP.pack({
    stepSize: h.lr / (1 - Math.pow(h.beta1, t)),
    bc2Sqrt: Math.sqrt(1 - Math.pow(h.beta2, t)),
    beta1: h.beta1,
    oneMinusBeta1: 1 - h.beta1,
    beta2: h.beta2,
    oneMinusBeta2: 1 - h.beta2,
    eps: h.eps,
    weightDecay: h.weightDecay,
    maxNorm: h.clip ?? 0, // 0: no clipping
  });
}
