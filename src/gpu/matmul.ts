/**
 * One GEMM interface over two WGSL kernels: C[M,N] = op(A)·op(B) (+ bias[N]) (ReLU) (· (mask > 0)), or
 * C += op(A)·op(B) when accumulating. Kernels are built once per shape (bind groups and shape uniforms made
 * here, pipelines cached by the runtime) and then encoded every step. A GEMM over a batch of packed
 * sequences takes its rows (M, or K for a weight gradient) at run time from the StepParams uniform
 * (`runtimeRows`): built for the most rows, it computes perStep x steps of them each step.
 *
 * The kernel is chosen per adapter: software adapters (Mesa lavapipe) run `matmul_regblock.wgsl`, real GPUs
 * `matmul_tiled.wgsl`; see the shaders for why. On software adapters large GEMMs take the "staged" form of
 * regblock: each block of A is first copied (matmul_stage_a.wgsl: all blocks in one dispatch, each into a
 * window of its own, where they fit a binding) into a 64 KiB window that the GEMM reads as a uniform buffer,
 * which lavapipe loads far more cheaply than storage. Operands larger than one storage
 * binding (or, staged, A blocks larger than a window) are split into blocks of rows (multiples of 64 rows, so
 * every block starts 256-byte aligned) with one dispatch per block; blocks along K add up in C.
 */
import { type BufferSlice, ceilDiv, type Gpu, type Kernel, softwareAdapterName, subSlice } from "./device.ts";
import { uniformStruct } from "./uniform_struct.ts";

/**
 * The struct of shaders/matmul_common.wgsl: one dispatch's block. op(A)[i, k] is A[aOff + i * aRow + k * aK],
 * op(B)[k, j] is B[bOff + k * bK + j * bCol], C[i, j] is C[cOff + i * ldc + j].
 */
export const MATMUL_SHAPE = uniformStruct("Shape", "matmul_common", {
  M: "u32",
  N: "u32",
  K: "u32",
  aRow: "u32",
  aK: "u32",
  aOff: "u32",
  bK: "u32",
  bCol: "u32",
  bOff: "u32",
  ldc: "u32",
  cOff: "u32",
  runDim: "u32",
  perStep: "u32",
  runStart: "u32",
});

/** The struct of shaders/matmul_stage_a.wgsl: one block of op(A) copied into a window. */
export const STAGE_A_PARAMS = uniformStruct("Params", "matmul_stage_a", {
  rows: "u32",
  cols: "u32",
  aRow: "u32",
  aK: "u32",
  aOff: "u32",
  width: "u32",
  runDim: "u32",
  perStep: "u32",
  runStart: "u32",
});
/** Bytes of one STAGE_A_PARAMS in a storage array (all its fields 4-byte scalars: no padding between them). */
const STAGE_A_STRIDE = STAGE_A_PARAMS.fields.length * 4;

export type MatmulVariant = "regblock" | "staged" | "tiled";

/** Rows of C one regblock workgroup owns (its lanes' accumulators: ROWS x 8 columns each). */
export type BlockRows = 16 | 32;

export interface MatmulSpec {
  M: number;
  K: number;
  N: number;
  /** A is stored [K, M]. */
  transA?: boolean;
  /** B is stored [N, K] (x·Wᵀ with a PyTorch [out, in] weight). */
  transB?: boolean;
  /** Add bias[j] to every row. */
  bias?: boolean;
  /** Apply ReLU to the result. */
  relu?: boolean;
  /** C += op(A)·op(B) instead of C = ... (not combined with relu or reluMask). */
  accumulate?: boolean;
  /** Zero the result where the [M, N] mask is not > 0 (ReLU backward fused into the dX GEMM). */
  reluMask?: boolean;
  /** Forces a kernel (tests run both); by default chosen from the adapter. */
  variant?: MatmulVariant;
  /**
   * Forces the rows of C each regblock workgroup owns (tests run both); by default chooseBlockRows decides.
   * Ignored by the tiled kernel.
   */
  blockRows?: BlockRows;
  /**
   * M (or K) decided at run time: min(M, perStep x the bound StepParams' `steps`) rows (MatmulBuffers.step),
   * M or K above being the most, which the buffers are sized for. perStep is the batch's rows B for the
   * packed [B * Tb, W] activations of a sequence batch.
   */
  runtimeRows?: RuntimeRows;
}

/** Which dimension of a GEMM is B * Tb, decided per step (MatmulSpec.runtimeRows). */
export interface RuntimeRows {
  /** "M": the rows of C and op(A) (forward, dX); "K": the summed dimension (a weight gradient dW = dYᵀ·X). */
  dim: "M" | "K";
  perStep: number;
}

/** Every epilogue combination the GEMM accepts ({} = none): what the GEMM test and doctor check. */
export const MATMUL_EPILOGUES: ReadonlyArray<Partial<MatmulSpec>> = [
  {},
  { bias: true },
  { relu: true },
  { bias: true, relu: true },
  { accumulate: true },
  { reluMask: true },
  { bias: true, reluMask: true },
];

export interface MatmulBuffers {
  a: BufferSlice;
  b: BufferSlice;
  c: BufferSlice;
  bias?: BufferSlice;
  mask?: BufferSlice;
  /** The StepParams uniform (src/gpu/step_params.ts) whose `steps` gives the rows; needs spec.runtimeRows. */
  step?: GPUBuffer;
  /** A staged A shared with another GEMM of the same A (stagingShare). */
  share?: StagingShare;
}

/**
 * What staged GEMMs of the same A share: the first to be built stages A's windows (its first kernel), the
 * others read them, where their A is the same slice in the same blocks (a layer's dW_ih = dPreᵀ·x and dW_hh =
 * dPreᵀ·h_{t-1}); a GEMM that differs stages its own. The GEMMs must run in the order they were built, with
 * nothing writing A between them.
 */
export interface StagingShare {
  a?: BufferSlice;
  step?: GPUBuffer;
  key?: string;
  staging?: ReturnType<typeof createStaging>;
}

/** A fresh StagingShare, to pass in the buffers of each GEMM that shares it. */
export function stagingShare(): StagingShare {
  return {};
}

/** Blocks of a split operand are whole multiples of this many rows, which keeps them 256-byte aligned. */
const BLOCK_ROWS = 64;

/** Floats in one staging window of A: the 64 KiB every WebGPU adapter allows a uniform binding. */
export const WINDOW_FLOATS = 16384;
/** The longest stretch of K a window covers; it then holds 64 rows (the batch, in the model's fc2 GEMMs). */
const WINDOW_MAX_K = 256;
/** Workgroups of 64 that copy one staging window, each looping over its share (shaders/matmul_stage_a.wgsl). */
const STAGE_WORKGROUPS = 16;

/**
 * Software adapters stage A for GEMMs of at least this many flops: below it the staging dispatches (about
 * 50 us each on lavapipe) cost more than they save. The model's fc2 GEMMs are ~8e8 flops; fc1's ~4e7.
 */
export const STAGE_MIN_FLOPS = 1e8;

// Epilogue bits (EPI_* in shaders/matmul_common.wgsl), compiled into each dispatch's pipeline.
const EPI_ACCUMULATE = 1;
const EPI_BIAS = 2;
const EPI_RELU = 4;
const EPI_MASK = 8;

/** A kernel variant with why the runtime chose it (for `deno task doctor` and the bench). */
export interface MatmulChoice {
  variant: MatmulVariant;
  reason: string;
}

/**
 * Register blocking for software adapters (with A staged through uniform windows for large GEMMs, where
 * the device binds a whole window as a uniform), workgroup-memory tiling for real GPUs.
 */
export function defaultMatmulVariant(gpu: Gpu, spec: Pick<MatmulSpec, "M" | "K" | "N">): MatmulVariant {
  return chooseMatmulVariant(gpu, spec).variant;
}

/**
 * Whether the device binds a whole staging window as a uniform buffer: every core device does (64 KiB is
 * the core minimum); a compatibility-level device may allow only 16 KiB.
 */
export function canStage(gpu: Gpu): boolean {
  return gpu.device.limits.maxUniformBufferBindingSize >= WINDOW_FLOATS * 4;
}

/** defaultMatmulVariant's choice and, in words, why. */
export function chooseMatmulVariant(gpu: Gpu, spec: Pick<MatmulSpec, "M" | "K" | "N">): MatmulChoice {
  const software = softwareAdapterName(gpu);
  if (software === null) {
    return {
      variant: "tiled",
      reason:
        "a hardware adapter (not a fallback adapter, no software rasterizer named): workgroup-memory tiling",
    };
  }
  const flops = 2 * spec.M * spec.N * spec.K;
  const size = `${software}, ${flops.toExponential(1)} flops`;
  if (flops < STAGE_MIN_FLOPS) {
    return {
      variant: "regblock",
      reason: `${size} < ${STAGE_MIN_FLOPS.toExponential(0)}: register blocking, A read from storage`,
    };
  }
  if (!canStage(gpu)) {
    return {
      variant: "regblock",
      reason:
        `${size}, but uniform bindings of ${gpu.device.limits.maxUniformBufferBindingSize} bytes hold no ` +
        `${WINDOW_FLOATS * 4}-byte window: register blocking, A read from storage`,
    };
  }
  return {
    variant: "staged",
    reason: `${size} >= ${STAGE_MIN_FLOPS.toExponential(0)}: register blocking with A staged through ` +
      "64 KiB uniform windows",
  };
}

/**
 * The rows of C a regblock workgroup owns for `spec`, and why: 32 where A is staged (its loads are cheap
 * uniform gathers, so the B loads each k shares among twice the rows are what is saved) and C has at least
 * 32 rows; 16 where A is read from storage, whose 32 per-lane loads per k cost more than that saves. Measured
 * on lavapipe by process CPU time, 32 rows against 16 in the same process (docs/performance.md): staged
 * 0.76x-0.96x the time at every model shape, storage A 1.3x-1.4x.
 */
export function chooseBlockRows(
  spec: Pick<MatmulSpec, "M">,
  variant: MatmulVariant,
): { rows: BlockRows; reason: string } {
  if (variant !== "staged") return { rows: 16, reason: "16 rows per workgroup" };
  if (spec.M < 32) return { rows: 16, reason: `16 rows per workgroup (M = ${spec.M} < 32)` };
  return { rows: 32, reason: "32 rows per workgroup (A staged)" };
}

/** How a GEMM variant reads B and writes C (and its mask) for one spec: fixed by the shape and transposes. */
export interface MatmulLayout {
  /** B read as scalars (any stride), vec2 or vec4 (op(B) = B with N a multiple of 2 or 4); "scalar" for tiled. */
  b: "scalar" | "vec2" | "vec4";
  /** C (and the mask) read and written as vec4 (N a multiple of 4); "scalar" for tiled. */
  c: "scalar" | "vec4";
  reason: string;
}

/** The B and C access createMatmul compiles for `variant` at this spec. */
export function matmulLayout(
  spec: Pick<MatmulSpec, "N" | "transB">,
  variant: MatmulVariant,
): MatmulLayout {
  if (variant === "tiled") return { b: "scalar", c: "scalar", reason: "tiled reads and writes scalars" };
  const { N, transB = false } = spec;
  // vec4 (vec2) reads of B need op(B) = B with rows (and so every block offset) a multiple of 4 (2) floats.
  const b = !transB && N % 4 === 0 ? "vec4" : !transB && N % 2 === 0 ? "vec2" : "scalar";
  // vec4 C (and mask) need ldc = N and every block's column offset (0 or a multiple of 64) a multiple of 4.
  const c = N % 4 === 0 ? "vec4" : "scalar";
  const bWhy = transB
    ? "B transposed: scalar B"
    : b === "scalar"
    ? `N = ${N} odd: scalar B`
    : `N = ${N} a multiple of ${b === "vec4" ? 4 : 2}: ${b} B`;
  const cWhy = c === "vec4" ? "vec4 C" : `N not a multiple of 4: scalar C`;
  return { b, c, reason: `${bWhy}, ${cWhy}` };
}

export async function createMatmul(
  gpu: Gpu,
  spec: MatmulSpec,
  bufs: MatmulBuffers,
  label = "matmul",
): Promise<Kernel[]> {
  const { M, K, N, transA = false, transB = false } = spec;
  checkSpec(gpu, spec, bufs, label);
  const variant = spec.variant ?? defaultMatmulVariant(gpu, spec);
  if (variant === "staged" && !canStage(gpu)) {
    throw new Error(
      `${label}: the staged GEMM binds a ${WINDOW_FLOATS * 4}-byte uniform window; this device allows ` +
        `${gpu.device.limits.maxUniformBufferBindingSize}`,
    );
  }
  const blockRows = spec.blockRows ?? chooseBlockRows(spec, variant).rows;
  const pipelineFor = matmulPipelines(gpu, variant, matmulLayout(spec, variant), blockRows);
  const rowsPerWorkgroup = variant !== "tiled" ? blockRows : 64;
  const runDim = spec.runtimeRows ? (spec.runtimeRows.dim === "M" ? 1 : 2) : 0;

  // Rows per block of each dimension: each bound operand block must fit one binding, and when A is staged,
  // each block of A (rows x K values, rows rounded up to the workgroup's) one window.
  const fit = (what: string, rows: number, width: number) => rowsThatFit(gpu, label, what, rows, width);
  const stagingBlock = variant === "staged" ? stagingWindow(M, K, blockRows) : { rows: M, k: K };
  const mBlock = Math.min(fit("C", M, N), transA ? M : fit("A", M, K), stagingBlock.rows);
  const kBlock = Math.min(transA ? fit("A", K, M) : K, transB ? K : fit("B", K, N), stagingBlock.k);
  const nBlock = transB ? fit("B", N, K) : N;

  const unused = gpu.placeholder(); // bound where a spec has no bias or mask (the epilogue flags skip them)
  const share = variant === "staged" ? bufs.share : undefined;
  const key = JSON.stringify([M, K, transA, blockRows, mBlock, kBlock, spec.runtimeRows ?? null]);
  const shared = share?.staging !== undefined && share.key === key && sameSlice(share.a!, bufs.a) &&
    share.step === bufs.step;
  const staging = shared
    ? share!.staging!
    : variant === "staged"
    ? createStaging(gpu, label, spec, bufs.a, ceilDiv(M, mBlock) * ceilDiv(K, kBlock), bufs.step)
    : null;
  // Only windows staged together by one dispatch outlast it; one window staged per block does not.
  if (share && !shared && staging?.together) {
    Object.assign(share, { a: bufs.a, step: bufs.step, key, staging });
  }
  const kernels: Kernel[] = [];
  let block = 0;
  for (let m0 = 0; m0 < M; m0 += mBlock) {
    const mb = Math.min(mBlock, M - m0);
    for (let k0 = 0; k0 < K; k0 += kBlock) {
      const kb = Math.min(kBlock, K - k0);
      const flags = epilogueFlags(spec, k0 === 0, k0 + kb === K);
      // A's block of storage rows and where this block starts inside it (in floats): op(A)[i, k] is
      // a[aOff + i * aRow + k * aK] for the block's rows i and k values k.
      const a = transA ? rowBlock(bufs.a, k0, kb, M) : rowBlock(bufs.a, m0, mb, K);
      const aRow = transA ? 1 : K, aK = transA ? M : 1, aOff = transA ? m0 : k0;
      // Staged, the GEMMs of this block read it from its window, [k][row] with rows padded to blockRows.
      const width = Math.ceil(mb / blockRows) * blockRows;
      const runStart = spec.runtimeRows?.dim === "K" ? k0 : m0;
      const perStep = spec.runtimeRows?.perStep ?? 0;
      const window = await staging?.block(block++, {
        m0,
        k0,
        rows: mb,
        cols: kb,
        a,
        aRow,
        aK,
        aOff,
        width,
        runDim,
        perStep,
        runStart,
      });
      if (window?.kernel) kernels.push(window.kernel);
      for (let n0 = 0; n0 < N; n0 += nBlock) {
        const nb = Math.min(nBlock, N - n0);
        const b = transB ? rowBlock(bufs.b, n0, nb, K) : rowBlock(bufs.b, k0, kb, N);
        const shape = MATMUL_SHAPE.pack({
          M: mb,
          N: nb,
          K: kb,
          aRow: window ? 1 : aRow,
          aK: window ? width : aK,
          aOff: window ? 0 : aOff,
          bK: transB ? 1 : N,
          bCol: transB ? K : 1,
          bOff: transB ? k0 : n0,
          ldc: N,
          cOff: n0,
          runDim, // 0 fixed, 1 M or 2 K at run time
          perStep,
          runStart, // where this block starts along the run-time rows
        });
        const shapeUniform = gpu.uniform(`${label}[m${m0} n${n0} k${k0}] shape`, shape);
        const kernel = gpu.kernel(label, await pipelineFor(flags), [
          shapeUniform,
          window?.window ?? a,
          b,
          rowBlock(bufs.c, m0, mb, N),
          spec.bias ? subSlice(bufs.bias!, n0, nb) : unused,
          spec.reluMask ? rowBlock(bufs.mask!, m0, mb, N) : unused,
          // A fixed GEMM binds its own shape where the step uniform goes: the shader does not read it then.
          spec.runtimeRows ? bufs.step! : shapeUniform,
        ], [ceilDiv(nb, 64), ceilDiv(mb, rowsPerWorkgroup), 1]);
        // Past the step's rows a block of rows (M) computes nothing, and a block of k values (K) adds nothing
        // where adding is all its epilogue does (the kernels return at once).
        if (runDim === 1 || (runDim === 2 && flags === EPI_ACCUMULATE)) {
          kernel.idleUnless = { uniform: bufs.step!, perStep, from: runStart };
        }
        kernels.push(kernel);
      }
    }
  }
  const stageAll = shared ? undefined : await staging?.all();
  return stageAll ? [stageAll, ...kernels] : kernels;
}

function sameSlice(x: BufferSlice, y: BufferSlice): boolean {
  return x.buffer === y.buffer && x.offset === y.offset && x.size === y.size;
}

/** The epilogue of a block's GEMM: bias on the first block along K, ReLU and its mask on the last. */
function epilogueFlags(spec: MatmulSpec, first: boolean, last: boolean): number {
  let flags = 0;
  if (first ? spec.accumulate : true) flags |= EPI_ACCUMULATE;
  if (first && spec.bias) flags |= EPI_BIAS;
  if (last && spec.relu) flags |= EPI_RELU;
  if (last && spec.reluMask) flags |= EPI_MASK;
  return flags;
}

/** The GEMM's pipeline for each combination of epilogue bits, which the shaders compile in. */
function matmulPipelines(
  gpu: Gpu,
  variant: MatmulVariant,
  layout: ReturnType<typeof matmulLayout>,
  blockRows: number,
): (flags: number) => Promise<GPUComputePipeline> {
  const vec4 = layout.b === "vec4", vec2 = layout.b === "vec2", vec4C = layout.c === "vec4";
  return (flags) =>
    variant !== "tiled"
      ? gpu.pipeline("matmul_regblock", {
        A_STAGED: variant === "staged",
        B_SCALAR: layout.b === "scalar",
        B_VEC2: vec2,
        B_VEC4: vec4,
        C_VEC4: vec4C,
        // The columns each accumulator's components hold (see the shader): 4 consecutive ones for vec4 B
        // reads or vec4 C stores, two pairs for vec2 B reads, else 4 columns 8 apart.
        COLUMNS: vec4 || vec4C ? "0u, 1u, 2u, 3u" : vec2 ? "0u, 1u, 16u, 17u" : "0u, 8u, 16u, 24u",
        LANE_STEP: vec4 || vec4C ? 4 : vec2 ? 2 : 1,
        ROWS: blockRows,
        QUADS: blockRows / 4,
        FLAGS: flags,
      })
      : gpu.pipeline("matmul_tiled", { C_VEC4: false, FLAGS: flags });
}

/** One block of op(A) for staging: op(A)[i, k] = a[aOff + i * aRow + k * aK], i < rows, k < cols. */
interface StagedBlock {
  m0: number;
  k0: number;
  rows: number;
  cols: number;
  /** The block's storage rows of A. */
  a: BufferSlice;
  aRow: number;
  aK: number;
  aOff: number;
  /** The window's row stride: rows rounded up to the GEMM's rows per workgroup. */
  width: number;
  /** The GEMM's rows at run time (0: none, 1: M, 2: K), per position, and where this block starts along them. */
  runDim: number;
  perStep: number;
  runStart: number;
}

/**
 * A staged GEMM's windows (matmul_stage_a.wgsl). Where A and a window per block each fit one binding, every
 * block has a window of its own and one dispatch, first among the GEMM's kernels (`all`), fills them all;
 * otherwise one window serves every block in turn, each block staged by a dispatch of its own just before
 * its GEMMs (`block` returns it).
 */
function createStaging(
  gpu: Gpu,
  label: string,
  spec: MatmulSpec,
  wholeA: BufferSlice,
  blocks: number,
  step: GPUBuffer | undefined,
) {
  const windowBytes = WINDOW_FLOATS * 4;
  const together = spec.M * spec.K * 4 <= gpu.maxBinding && blocks * windowBytes <= gpu.maxBinding;
  const stage = gpu.buffer(
    `${label} staged A`,
    (together ? blocks : 1) * windowBytes,
    undefined,
    GPUBufferUsage.UNIFORM,
  );
  const params = new Uint8Array(together ? blocks * STAGE_A_STRIDE : 0);
  return {
    /** Whether every block has a window of its own, staged by one dispatch (`all`). */
    together,
    /** Block `index`'s window, and the kernel that stages it where it is staged alone. */
    async block(
      index: number,
      b: StagedBlock,
    ): Promise<{ window: BufferSlice | GPUBuffer; kernel?: Kernel }> {
      const { rows, cols, aRow, aK, width, runDim, perStep, runStart } = b;
      const run = { runDim, perStep, runStart };
      if (together) {
        // Where the block starts in the whole of A, not in its rows; in an array<Params>, 4 bytes a field.
        const aOff = b.aOff + (spec.transA ? b.k0 * spec.M : b.m0 * spec.K);
        const packed = STAGE_A_PARAMS.pack({ rows, cols, aRow, aK, aOff, width, ...run });
        params.set(packed.subarray(0, STAGE_A_STRIDE), index * STAGE_A_STRIDE);
        return { window: { buffer: stage, offset: index * windowBytes, size: windowBytes } };
      }
      const uniform = gpu.uniform(
        `${label}[m${b.m0} k${b.k0}] stage`,
        STAGE_A_PARAMS.pack({ rows, cols, aRow, aK, aOff: b.aOff, width, ...run }),
      );
      const pipeline = await gpu.pipeline("matmul_stage_a", { ALL_WINDOWS: false });
      return {
        window: stage,
        // A fixed GEMM's staging binds its own params as the step uniform, unread.
        kernel: gpu.kernel(`${label} stage A`, pipeline, [uniform, b.a, stage, step ?? uniform], [
          STAGE_WORKGROUPS,
        ]),
      };
    },
    /** The one dispatch that stages every block, where they are staged together. */
    async all(): Promise<Kernel | undefined> {
      if (!together) return undefined;
      // A fixed GEMM binds a uniform of its own as the step's, unread.
      const runSteps = step ?? gpu.uniform(`${label} staging: no run-time rows`, new Uint8Array(16));
      return gpu.kernel(`${label} stage A`, await gpu.pipeline("matmul_stage_a", { ALL_WINDOWS: true }), [
        gpu.buffer(`${label} staging windows`, params.byteLength, params),
        subSlice(wholeA, 0, spec.M * spec.K),
        stage,
        runSteps,
      ], [STAGE_WORKGROUPS, blocks]);
    },
  };
}

/**
 * The largest block of op(A) one staging window holds: up to WINDOW_MAX_K values of k (all of K if fewer)
 * and as many rows as then fit, in whole multiples of BLOCK_ROWS when M needs more than one block.
 */
export function stagingWindow(M: number, K: number, blockRows: BlockRows = 16): { rows: number; k: number } {
  const maxRows = Math.floor(WINDOW_FLOATS / Math.min(K, WINDOW_MAX_K) / BLOCK_ROWS) * BLOCK_ROWS;
  const rows = Math.min(M, maxRows);
  const fitK = Math.floor(WINDOW_FLOATS / (Math.ceil(rows / blockRows) * blockRows));
  // Blocks along K start at multiples of the block size: keep them multiples of BLOCK_ROWS (B's row offsets).
  const k = K <= fitK ? K : Math.floor(fitK / BLOCK_ROWS) * BLOCK_ROWS;
  return { rows, k };
}

function checkSpec(gpu: Gpu, spec: MatmulSpec, bufs: MatmulBuffers, label: string): void {
  const { M, K, N } = spec;
  for (const [name, n] of [["M", M], ["K", K], ["N", N]] as const) {
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`${label}: ${name} must be a positive integer, got ${n}`);
    }
  }
  if (spec.accumulate && (spec.relu || spec.reluMask)) {
    throw new Error(`${label}: accumulate adds raw products; it cannot be combined with relu or reluMask`);
  }
  if (spec.runtimeRows) {
    const { dim, perStep } = spec.runtimeRows;
    if (!Number.isInteger(perStep) || perStep < 1) {
      throw new Error(`${label}: runtimeRows.perStep must be a positive integer, got ${perStep}`);
    }
    if (dim !== "M" && dim !== "K") {
      throw new Error(`${label}: runtimeRows.dim must be "M" or "K", got ${dim}`);
    }
    if (!bufs.step) throw new Error(`${label}: runtimeRows needs the StepParams uniform (buffers.step)`);
  }
  const need: Array<[string, BufferSlice | undefined, number]> = [
    ["a", bufs.a, M * K],
    ["b", bufs.b, K * N],
    ["c", bufs.c, M * N],
  ];
  if (spec.bias) need.push(["bias", bufs.bias, N]);
  if (spec.reluMask) need.push(["mask", bufs.mask, M * N]);
  const align = gpu.device.limits.minStorageBufferOffsetAlignment;
  for (const [name, slice, floats] of need) {
    if (!slice) throw new Error(`${label}: buffer ${name} is required by the spec`);
    if (slice.size < floats * 4) {
      throw new Error(`${label}: buffer ${name} holds ${slice.size} bytes, needs ${floats * 4}`);
    }
    if (slice.offset % align !== 0) {
      throw new Error(`${label}: buffer ${name} starts at byte ${slice.offset}, not a multiple of ${align}`);
    }
  }
}

/**
 * All `rows` of a row-major matrix `width` floats wide if they fit one binding, else the most whole multiples
 * of BLOCK_ROWS rows that do (so that every block starts 256-byte aligned).
 */
export function rowsThatFit(gpu: Gpu, label: string, what: string, rows: number, width: number): number {
  const maxFloats = Math.floor(gpu.maxBinding / 4);
  if (rows * width <= maxFloats) return rows;
  const fit = Math.floor(maxFloats / width / BLOCK_ROWS) * BLOCK_ROWS;
  if (fit === 0) {
    throw new Error(
      `${label}: ${BLOCK_ROWS} rows of ${what} (${width} floats each) exceed the ${gpu.maxBinding}-byte binding limit`,
    );
  }
  return fit;
}

/** Rows [row0, row0 + rows) of a row-major matrix `width` floats wide. */
export function rowBlock(s: BufferSlice, row0: number, rows: number, width: number): BufferSlice {
  return subSlice(s, row0 * width, rows * width);
}
