/**
 * The 2-norm of all gradients together, as torch.nn.utils.clip_grad_norm_ takes it, on WebGPU without a
 * readback: a two-stage reduction over the flat gradient buffer. Stage 1 (shaders/grad_norm.wgsl) runs up
 * to PARTIALS_PER_CHUNK workgroups over each binding-sized chunk, each writing one partial sum of squares;
 * stage 2 (shaders/grad_norm_final.wgsl) is one workgroup that adds every partial and writes the square
 * root to a 16-byte buffer, which Adam reads to scale each gradient (src/gpu/adam.ts).
 */
import {
  type BufferSlice,
  ceilDiv,
  type Gpu,
  type Kernel,
  subSlice,
  whole,
  WIDE_WORKGROUP,
} from "./device.ts";
import { uniformStruct } from "./uniform_struct.ts";

/**
 * Stage 1's workgroups per chunk, at most: enough to keep a GPU busy, few enough for one workgroup to add
 * them all up. Each invocation sums a strided share of the chunk first.
 */
export const PARTIALS_PER_CHUNK = 256;

/** The struct of shaders/grad_norm.wgsl: where a chunk's partial sums start. */
export const GRAD_NORM_CHUNK = uniformStruct("Chunk", "grad_norm", { base: "u32" });

export interface GradNormKernels {
  /** Stage 1 over each chunk, then stage 2: one submit, before whatever reads `norm`. */
  kernels: Kernel[];
  /** norm[0]: the 2-norm of the `count` gradients, once `kernels` have run. */
  norm: BufferSlice;
  /** How many partial sums stage 1 writes (stage 2 adds them all). */
  partials: number;
}

/**
 * The reduction over `count` floats of `grads`, read `width` at a time (4: vec4, which needs every chunk, and
 * so `chunkFloats`, to be whole vec4s), in chunks of `chunkFloats` floats (one binding each).
 */
export async function createGradNorm(
  gpu: Gpu,
  grads: BufferSlice,
  count: number,
  width: 1 | 4,
  chunkFloats: number,
  label = "grad norm",
): Promise<GradNormKernels> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`${label}: count must be a positive integer`);
  if (grads.size < count * 4) throw new Error(`${label}: grads hold ${grads.size} bytes, needs ${count * 4}`);
  if (width === 4 && (count % 4 !== 0 || chunkFloats % 4 !== 0)) {
    throw new Error(`${label}: vec4 reads need whole vec4s (count ${count}, chunks of ${chunkFloats})`);
  }
  const wg = gpu.reductionWidth(WIDE_WORKGROUP);
  // The shaders sum a workgroup's values in rows of 16 (SPAN there).
  if (wg < 16) {
    throw new Error(`${label}: needs workgroups of at least 16 invocations, the device allows ${wg}`);
  }
  const [partialStage, finalStage] = await Promise.all([
    gpu.pipeline("grad_norm", { T: width === 4 ? "vec4f" : "f32", VEC4: width === 4, WG: wg }),
    gpu.pipeline("grad_norm_final", { WG: wg }),
  ]);
  const chunks: Array<{ start: number; n: number; groups: number }> = [];
  for (let start = 0; start < count; start += chunkFloats) {
    const n = Math.min(chunkFloats, count - start);
    chunks.push({ start, n, groups: Math.min(ceilDiv(n / width, wg), PARTIALS_PER_CHUNK) });
  }
  const partials = chunks.reduce((sum, c) => sum + c.groups, 0);
  const partialSums = whole(gpu.buffer(`${label} partials`, partials * 4));
  const norm = whole(gpu.buffer(`${label} norm`, 4));
  const kernels: Kernel[] = [];
  let base = 0;
  for (const c of chunks) {
    const where = gpu.uniform(`${label} chunk`, GRAD_NORM_CHUNK.pack({ base }));
    kernels.push(
      gpu.kernel(
        label,
        partialStage,
        [where, subSlice(grads, c.start, c.n), partialSums],
        [c.groups],
      ),
    );
    base += c.groups;
  }
  kernels.push(gpu.kernel(`${label} final`, finalStage, [subSlice(partialSums, 0, partials), norm], [1]));
  return { kernels, norm, partials };
}
