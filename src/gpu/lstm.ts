/**
 * One LSTM layer on the GPU over all positions of a batch (PyTorch semantics, batch-first, gate order i,f,g,o;
 * the CPU reference is src/cpu/lstm.ts). Activations are packed batch-major with the batch's own positions
 * Tb as the row stride: position t of row b is row b * Tb + t of a [B * Tb, W] matrix (docs/headline-model.md).
 * Buffers hold the most positions, T; every kernel reads Tb from the StepParams uniform's `steps`, so one set
 * of kernels serves every batch (the window model writes its window there).
 *
 * Two variants, chosen from the device's limits (lstmPlan):
 * - "sequence": the input projection of all positions as one GEMM over B*Tb rows (x·W_ihᵀ + b_ih, written
 *   into `gates`), then one recurrent dispatch (shaders/lstm_seq.wgsl) whose workgroups each own a block of
 *   batch rows and loop over t, h_{t-1} in workgroup memory and c in registers. The backward is one recurrent
 *   dispatch from Tb-1 down to 0 (shaders/lstm_seq_backward.wgsl) producing dPre, then the weight and input
 *   gradients as GEMMs over all positions. Wide layers on a software adapter read h_{t-1} and dPre back from
 *   storage instead of workgroup memory, which then no longer bounds the rows per workgroup
 *   (storageSequencePlan).
 * - "steps": the fallback, one fused cell kernel per position forward (shaders/lstm_cell.wgsl) and one per
 *   position backward (shaders/lstm_cell_backward.wgsl), then the same GEMMs. Built for T positions; those at
 *   or past a batch's Tb do nothing.
 *
 * An initial state (h0, c0 per row) is read instead of zeros when given: one step of generation from a
 * carried state, or rows longer than the buffers evaluated in pieces. No gradient flows into it.
 *
 * Given a headline batch's packing (src/gpu/packing.ts), the GEMMs run over the positions with a target
 * alone, through packed copies the layer keeps: x is packed, its projection unpacked into `gates` (0 at the
 * padding, whose state no position with a target reads), and dPre and h_{t-1} are packed for the weight
 * gradients and dx, which is unpacked (0 at the padding, where no loss reaches). The sequence variant's
 * recurrent kernels then stop each row at its length (shaders/lstm_rows.wgsl): its state, gates, dPre and
 * h_{t-1} past it are neither computed nor written (those buffers keep stale values there, which only packed
 * positions' readers never see); the per-position variant computes every position.
 *
 * The layer always runs its B (largest batch) rows. A short batch's unused rows get dLogits 0 from the
 * loss, so their rows of dh, and hence of dPre, are 0 and they add nothing to any gradient (with a packing
 * they have length 0 and are not computed at all).
 */
import {
  type BufferSlice,
  ceilDiv,
  type Gpu,
  isGlBackend,
  type Kernel,
  softwareAdapterName,
  whole,
  WIDE_WORKGROUP,
} from "./device.ts";
import { createColumnSum } from "./linear.ts";
import { createMatmul, stagingShare } from "./matmul.ts";
import { createRowsPack, type Packing } from "./packing.ts";

export interface LstmShape {
  /** Largest batch; every step computes this many rows. */
  B: number;
  /** The most positions a row holds (the window, or the longest row); a batch's Tb is at most this. */
  T: number;
  /** Input width. */
  In: number;
  /** Hidden width. */
  H: number;
}

export interface LstmForwardBuffers {
  /** The StepParams uniform (src/gpu/step_params.ts): its `steps` is the batch's Tb (1 <= Tb <= T). */
  step: GPUBuffer;
  /** Layer input [B,Tb,In]. */
  x: BufferSlice;
  /** [4H,In]. */
  wih: BufferSlice;
  /** [4H,H]. */
  whh: BufferSlice;
  /** [4H]. */
  bih: BufferSlice;
  /** [4H]. */
  bhh: BufferSlice;
  /** Outputs h_t [B,Tb,H] (the next layer's input), written by the forward. */
  h: BufferSlice;
  /** Cell states [B,Tb,H], written by the forward for the backward. */
  c: BufferSlice;
  /** Activated gates [B,Tb,4H], written by the forward for the backward. */
  gates: BufferSlice;
  /** The initial state h_{-1} and c_{-1} [B,H], read instead of zeros when given (both or neither). */
  h0?: BufferSlice;
  c0?: BufferSlice;
}

export interface LstmBuffers extends LstmForwardBuffers {
  /** Incoming gradient w.r.t. h [B,Tb,H] (from the layer above or the head). */
  dh: BufferSlice;
  /** Gradient w.r.t. x [B,Tb,In], overwritten. */
  dx: BufferSlice;
  /** Pre-activation gate gradients [B,Tb,4H] (scratch; layers may share one). */
  dPre: BufferSlice;
  /** Weight and bias gradients, overwritten (not accumulated), shaped like the parameters. */
  dWih: BufferSlice;
  dWhh: BufferSlice;
  dbih: BufferSlice;
  dbhh: BufferSlice;
  /** A headline batch's packing: the GEMMs then run over its packed rows alone. */
  packing?: Packing;
}

/** A layer's packed copies, for its packing (createLstmLayer makes them). */
interface PackedRows {
  packing: Packing;
  /** x at the packed rows [rows, In]. */
  x: BufferSlice;
  /** The input projection (forward), then dPre (backward) at the packed rows [rows, 4H]. */
  gates: BufferSlice;
  /** h_{t-1} at the packed rows [rows, H]. */
  hPrev: BufferSlice;
  /** dx at the packed rows [rows, In]. */
  dx: BufferSlice;
  /** A pass of rows of `width` floats from x to y: to the packed rows with `pack`, else back (`what`: label). */
  repack(width: number, x: BufferSlice, y: BufferSlice, pack: boolean, what: string): Promise<Kernel>;
}

/**
 * The LSTM layer's kernels: "sequence" runs all positions in one recurrent dispatch each way (after one GEMM
 * for the input projection), "steps" one fused cell per position (the fallback the limits choose).
 */
export type LstmVariant = "sequence" | "steps";

/** How a layer runs on a device, and why (doctor reports it). */
export interface LstmPlan {
  variant: LstmVariant;
  /** "sequence": batch rows per workgroup of the recurrent forward and backward kernels. */
  sequenceRows?: { forward: number; backward: number };
  /**
   * "sequence": where the recurrent kernels read the previous position's h (forward) and the gate gradients
   * (backward): two copies in workgroup memory, which bounds the rows per workgroup, or the storage buffers
   * they were written to, after a storage barrier.
   */
  sequenceState?: "workgroup" | "storage";
  /**
   * "sequence" with the state in storage: the forward keeps h_{t-1} in workgroup memory after all, one copy
   * overwritten after a second barrier a step, where its rows fit (a wide layer's on a software adapter).
   */
  forwardOneCopy?: boolean;
  /** "sequence": quads of hidden units (4 each) per invocation of the recurrent backward kernel. */
  backwardQuads?: number;
  /**
   * "sequence" with the state in storage: the vec4s of each row's dPre the recurrent backward stages through
   * workgroup memory at a time (default: backwardChunk for the device; tests force small ones).
   */
  backwardChunk?: number;
  /** "steps": the per-position kernels' blocking (lstmBlocking). */
  steps?: ReturnType<typeof lstmBlocking>;
  reason: string;
}

export interface GpuLstmLayer {
  forward: Kernel[];
  /** Needs this step's forward (it reads h, c and gates). */
  backward: Kernel[];
  plan: LstmPlan;
}

/**
 * Batch rows per invocation of the per-position forward cell and per workgroup of its backward: each weight
 * load feeds this many rows. Measured on lavapipe (B=64, H=64, per step): the forward cell ~1.5 ms at 1 row,
 * ~0.5 ms at 16; the backward cell ~1.3 ms at 1 row, ~0.5 ms at 8; larger blocks gained nothing.
 */
const FORWARD_ROWS = 16;
const BACKWARD_ROWS = 8;

/**
 * Batch rows per workgroup of the sequence kernels on a software adapter, where a workgroup runs on one CPU
 * core and what counts is how many multiply-adds each loaded value feeds (docs/performance.md has the
 * measurements). On a hardware adapter each workgroup walks its rows' positions alone, so fewer rows give
 * more workgroups to spread over the GPU's cores (not measured: no GPU here).
 */
const SEQUENCE_ROWS_SOFTWARE = { forward: 8, backward: 16 };
const SEQUENCE_ROWS_HARDWARE = { forward: 2, backward: 2 };
/**
 * A wide layer on a software adapter (at least WIDE_QUADS quads of units, so that a workgroup still fills one
 * of lavapipe's 8-lane vectors when each invocation owns 4 quads) gets more work per loaded value: 16 rows
 * each way, which workgroup memory cannot hold at such widths (at H = 512 it held 8 forward rows and 2
 * backward), so the state is read from storage; and 4 quads per backward invocation. docs/performance.md has
 * the measurements (at H = 512 the recurrent backward took 0.28x the time, the forward 0.85x); at
 * H = 64 (16 quads) nothing differed, and the larger kernels take seconds longer to compile.
 */
export const WIDE_QUADS = 32;
const SEQUENCE_ROWS_SOFTWARE_WIDE = { forward: 16, backward: 16 };
const BACKWARD_QUADS_SOFTWARE_WIDE = 4;
/**
 * At most this many backward rows on wgpu's GL backend: there Mesa's GLSL front end compiles the backward in
 * time that grows steeply with its rows (H = 32, a cold shader cache: 2.9 s at 2 rows, 8.6 s at 4, 34 s at 8,
 * over 20 minutes at 16), where Vulkan's compiler takes about a second at 16.
 */
const SEQUENCE_BACKWARD_ROWS_GL = 4;

/** Rows per forward invocation and per backward workgroup of the per-position kernels, for H. */
export function lstmBlocking(
  gpu: Gpu,
  H: number,
  label = "lstm",
): { forwardRows: number; backwardRows: number; backwardWorkgroup: number; reason: string } {
  // The backward cell keeps whole rows of dPre (4H floats each) in workgroup memory.
  const rowBytes = 4 * H * 4;
  const workgroupLimit = gpu.device.limits.maxComputeWorkgroupStorageSize;
  if (rowBytes > workgroupLimit) {
    throw new Error(
      `${label}: hidden size ${H} needs ${rowBytes} bytes of workgroup memory for a row of gate gradients, ` +
        `more than this device's ${workgroupLimit}`,
    );
  }
  const backwardRows = Math.min(BACKWARD_ROWS, Math.floor(workgroupLimit / rowBytes));
  // One invocation per hidden unit, up to what the device allows in a workgroup (a browser's compatibility
  // level may allow only 128).
  const backwardWorkgroup = Math.min(H, WIDE_WORKGROUP, gpu.maxWorkgroupWidth);
  const fit = backwardRows < BACKWARD_ROWS
    ? ` (as many rows of ${rowBytes} B as ${workgroupLimit} B of workgroup memory hold)`
    : "";
  return {
    forwardRows: FORWARD_ROWS,
    backwardRows,
    backwardWorkgroup,
    reason: `forward: ${FORWARD_ROWS} batch rows per invocation; backward: ${backwardRows} rows per ` +
      `workgroup${fit} of ${backwardWorkgroup} invocations${
        H > backwardWorkgroup ? ` looping over the ${H} units` : ""
      }`,
  };
}

/**
 * The vec4s of a row's dPre that the storage form's recurrent backward stages through workgroup memory at a
 * time, for `rows` rows of hidden size H within `workgroupMemory` bytes: at most BACKWARD_CHUNK. At H = 512
 * and 16 rows, chunks of 32, 64 and 128 vec4s each took 0.90-0.92x the time of reading dPre from storage
 * (docs/performance.md, session 8).
 */
export function backwardChunk(rows: number, H: number, workgroupMemory: number): number {
  let chunk = Math.min(BACKWARD_CHUNK, 4 * Math.ceil(H / 4));
  while (chunk > 1 && rows * chunk * 16 > workgroupMemory) chunk = Math.ceil(chunk / 2);
  return chunk;
}
const BACKWARD_CHUNK = 64;

/** Workgroup memory per batch row of the sequence kernels (two copies of h, or of a row of dPre, in vec4s). */
function sequenceRowBytes(H: number): { forward: number; backward: number } {
  const quads = Math.ceil(H / 4);
  return { forward: 2 * quads * 16, backward: 2 * 4 * quads * 16 };
}

/**
 * The variant for a layer of hidden size H over B rows on this device and why: the sequence kernels where
 * the device allows an invocation per 4 hidden units and workgroup memory for a row of each, else the
 * per-position kernels. `forced` picks one (tests and doctor run both); it throws where the device cannot.
 */
export function lstmPlan(gpu: Gpu, B: number, H: number, forced?: LstmVariant): LstmPlan {
  const quads = Math.ceil(H / 4);
  const memory = gpu.device.limits.maxComputeWorkgroupStorageSize;
  const bytes = sequenceRowBytes(H);
  const why = quads > gpu.maxWorkgroupWidth
    ? `H = ${H} needs ${quads} invocations (one per 4 units), more than this device's ${gpu.maxWorkgroupWidth}`
    : bytes.backward > memory
    ? `H = ${H} needs ${bytes.backward} bytes of workgroup memory per row (two copies of a row of gate ` +
      `gradients), more than this device's ${memory}`
    : null;
  if (forced === "sequence" && why) throw new Error(`lstm: the sequence kernels cannot run here: ${why}`);
  if (forced === "steps" || why) {
    const steps = lstmBlocking(gpu, H);
    return {
      variant: "steps",
      steps,
      reason: `${forced === "steps" ? "forced" : why}: one cell kernel per position; ${steps.reason}`,
    };
  }
  const software = softwareAdapterName(gpu);
  const gl = isGlBackend(gpu.adapter.backend);
  // Not on GL, whose shader compiler is slow with larger kernels (below).
  if (software !== null && !gl && quads >= WIDE_QUADS) {
    return storageSequencePlan(B, H, `${software}, at least ${WIDE_QUADS} quads`, memory);
  }
  const wanted = software ? SEQUENCE_ROWS_SOFTWARE : SEQUENCE_ROWS_HARDWARE;
  const half = halfOf(B);
  const rows = (want: number, rowBytes: number) =>
    Math.max(1, Math.min(want, Math.floor(memory / rowBytes), half));
  const sequenceRows = {
    forward: rows(wanted.forward, bytes.forward),
    backward: rows(
      gl ? Math.min(wanted.backward, SEQUENCE_BACKWARD_ROWS_GL) : wanted.backward,
      bytes.backward,
    ),
  };
  return {
    variant: "sequence",
    sequenceRows,
    sequenceState: "workgroup",
    backwardQuads: 1,
    reason: `${SEQUENCE_TEXT}, ${sequenceRows.forward} (forward) and ${sequenceRows.backward} (backward) ` +
      `batch rows per workgroup, one quad of 4 hidden units per backward invocation (${quads} quads), the ` +
      `state in workgroup memory (${memory} B): ${software ?? "a hardware adapter"}, at most ${half} rows ` +
      `to keep two workgroups busy` +
      (gl ? `, at most ${SEQUENCE_BACKWARD_ROWS_GL} backward rows on GL (its shader compiler)` : ""),
  };
}

const SEQUENCE_TEXT =
  "the input projection as one GEMM, then one recurrent dispatch each way over all positions";

/** At least two workgroups when there are two rows: a software adapter runs each on its own core. */
function halfOf(B: number): number {
  return Math.max(1, Math.ceil(B / 2));
}

/**
 * The sequence kernels with the state read from storage, for B rows of hidden size H: lstmPlan's choice for
 * wide layers on a software adapter (`why` says so), which doctor --all also checks on other adapters (it
 * needs no workgroup memory). Given `workgroupMemory` that holds one copy of the forward's rows of h, the
 * forward keeps its state there after all (one copy: at H = 512, 0.80x the time of reading it from storage).
 */
export function storageSequencePlan(B: number, H: number, why: string, workgroupMemory = 0): LstmPlan {
  const half = halfOf(B);
  const rows = {
    forward: Math.min(SEQUENCE_ROWS_SOFTWARE_WIDE.forward, half),
    backward: Math.min(SEQUENCE_ROWS_SOFTWARE_WIDE.backward, half),
  };
  const quads = BACKWARD_QUADS_SOFTWARE_WIDE;
  const oneCopy = rows.forward * sequenceRowBytes(H).forward / 2 <= workgroupMemory;
  const chunk = workgroupMemory > 0 ? backwardChunk(rows.backward, H, workgroupMemory) : 0;
  return {
    variant: "sequence",
    sequenceRows: rows,
    sequenceState: "storage",
    backwardQuads: quads,
    ...(oneCopy ? { forwardOneCopy: true } : {}),
    ...(chunk ? { backwardChunk: chunk } : {}),
    reason: `${SEQUENCE_TEXT}, ${rows.forward} (forward) and ${rows.backward} (backward) batch rows per ` +
      `workgroup, ${quads} quads of 4 hidden units per backward invocation (${Math.ceil(H / 4)} quads), ` +
      `the state in storage${oneCopy ? " (the forward's in one copy in workgroup memory)" : ""}` +
      `${
        chunk ? ` (the backward's read back ${chunk} vec4s a row at a time through workgroup memory)` : ""
      }: ` +
      `${why}, at most ${half} rows to keep two workgroups busy`,
  };
}

/** Checks that the initial state is given whole (both h0 and c0) and large enough. */
function initialState(shape: LstmShape, bufs: LstmForwardBuffers, label: string): boolean {
  if ((bufs.h0 === undefined) !== (bufs.c0 === undefined)) {
    throw new Error(`${label}: an initial state needs both h0 and c0`);
  }
  if (!bufs.h0) return false;
  const need = shape.B * shape.H * 4;
  for (const [name, s] of [["h0", bufs.h0], ["c0", bufs.c0!]] as const) {
    if (s.size < need) throw new Error(`${label}: ${name} holds ${s.size} bytes, needs ${need}`);
  }
  return true;
}

/** The forward's kernels alone (generation: one step from a carried state needs no backward). */
export function createLstmForward(
  gpu: Gpu,
  shape: LstmShape,
  bufs: LstmForwardBuffers,
  label = "lstm",
  plan: LstmPlan = lstmPlan(gpu, shape.B, shape.H),
): Promise<Kernel[]> {
  return layerForward(gpu, shape, bufs, label, plan);
}

/** The forward's kernels, the input projection over the packed rows when `packed` is given. */
async function layerForward(
  gpu: Gpu,
  shape: LstmShape,
  bufs: LstmForwardBuffers,
  label: string,
  plan: LstmPlan,
  packed?: PackedRows,
): Promise<Kernel[]> {
  const { B, T, In, H } = shape;
  const init = initialState(shape, bufs, label);
  const initBindings = init ? [bufs.h0!, bufs.c0!] : [];
  if (plan.variant === "steps") {
    const forward: Kernel[] = [];
    const rows = plan.steps!.forwardRows;
    for (let t = 0; t < T; t++) {
      const cell = await gpu.pipeline("lstm_cell", { B, IN: In, H, STEP: t, ROWS: rows, INIT: init });
      forward.push(
        gpu.kernel(`${label} cell t=${t}`, cell, [
          bufs.x,
          bufs.wih,
          bufs.whh,
          bufs.bih,
          bufs.bhh,
          bufs.h,
          bufs.c,
          bufs.gates,
          bufs.step,
          ...initBindings,
        ], [ceilDiv(ceilDiv(B, rows) * H, 64)]),
      );
    }
    return forward;
  }
  const rows = plan.sequenceRows!.forward;
  const oneCopy = plan.forwardOneCopy === true;
  const recurrent = await gpu.pipeline("lstm_seq", {
    B,
    H,
    ROWS: rows,
    VEC4: H % 4 === 0,
    INIT: init,
    LENGTHS: packed !== undefined,
    SHARED: plan.sequenceState !== "storage" || oneCopy,
    ONE_COPY: oneCopy,
    COPIES: oneCopy ? 1 : 2,
  });
  // x·W_ihᵀ + b_ih of every position (or of the packed rows, then unpacked), into the gates the recurrent
  // kernel then overwrites in place.
  const projection = packed
    ? [
      await packed.repack(In, bufs.x, packed.x, true, "pack x"),
      ...await createMatmul(
        gpu,
        { M: B * T, K: In, N: 4 * H, transB: true, bias: true, runtimeRows: { dim: "M", perStep: 1 } },
        { a: packed.x, b: bufs.wih, c: packed.gates, bias: bufs.bih, step: packed.packing.step },
        `${label} x·Wihᵀ`,
      ),
      await packed.repack(4 * H, packed.gates, bufs.gates, false, "unpack gates"),
    ]
    : await createMatmul(
      gpu,
      { M: B * T, K: In, N: 4 * H, transB: true, bias: true, runtimeRows: { dim: "M", perStep: B } },
      { a: bufs.x, b: bufs.wih, c: bufs.gates, bias: bufs.bih, step: bufs.step },
      `${label} x·Wihᵀ`,
    );
  return [
    ...projection,
    gpu.kernel(`${label} recurrent`, recurrent, [
      bufs.step,
      bufs.gates,
      bufs.whh,
      bufs.bhh,
      bufs.h,
      bufs.c,
      ...lengthBindings(initBindings, packed),
    ], [ceilDiv(B, rows)]),
  ];
}

/**
 * The recurrent kernels' last bindings: h0 and c0 with an initial state, then, for a packed batch, its rows
 * by length and their lengths (after two empty bindings where there is no initial state).
 */
function lengthBindings(
  initBindings: BufferSlice[],
  packed?: PackedRows,
): Array<BufferSlice | GPUBuffer | null> {
  if (!packed) return initBindings;
  return [...initBindings.length ? initBindings : [null, null], packed.packing.byLength];
}

/**
 * The layer's forward and backward kernels, in the variant lstmPlan chooses for this device, or the one
 * asked for (a variant, or a whole plan with its blockings).
 */
export async function createLstmLayer(
  gpu: Gpu,
  shape: LstmShape,
  bufs: LstmBuffers,
  label = "lstm",
  choice?: LstmVariant | LstmPlan,
): Promise<GpuLstmLayer> {
  const { B, T, In, H } = shape;
  const G = 4 * H;
  const plan = typeof choice === "object" ? choice : lstmPlan(gpu, B, H, choice);
  const rows = B * T;
  const scratch = (name: string, width: number) =>
    whole(gpu.buffer(`${label} packed ${name}`, rows * width * 4));
  const packing = bufs.packing;
  const packed: PackedRows | undefined = packing && {
    packing,
    x: scratch("x", In),
    gates: scratch("gates", G),
    hPrev: scratch("h_{t-1}", H),
    dx: scratch("dx", In),
    repack: (width, x, y, pack, what) =>
      createRowsPack(gpu, width, { step: bufs.step, packing, x, y }, pack, `${label} ${what}`),
  };
  const forward = await layerForward(gpu, shape, bufs, label, plan, packed);
  const init = initialState(shape, bufs, label);
  const initBindings = init ? [bufs.h0!, bufs.c0!] : [];
  // h shifted one position for dW_hh (written by the recurrent backward).
  const hPrev = whole(gpu.buffer(`${label} h_{t-1}`, rows * H * 4));
  const recurrent: Kernel[] = [];
  if (plan.variant === "steps") {
    const { backwardRows, backwardWorkgroup } = plan.steps!;
    // dh_{t-1} and dc_{t-1} between backward steps (see the shader).
    const carry = gpu.buffer(`${label} dh/dc carry`, 2 * B * H * 4);
    for (let t = 0; t < T; t++) {
      const back = await gpu.pipeline("lstm_cell_backward", {
        B,
        H,
        STEP: t,
        ROWS: backwardRows,
        WG: backwardWorkgroup,
        INIT: init,
      });
      recurrent.unshift(
        gpu.kernel(`${label} cell backward t=${t}`, back, [
          bufs.gates,
          bufs.c,
          bufs.h,
          bufs.dh,
          bufs.whh,
          bufs.dPre,
          carry,
          hPrev,
          bufs.step,
          ...initBindings,
        ], [ceilDiv(B, backwardRows)]),
      );
    }
  } else {
    const rowsPerWorkgroup = plan.sequenceRows!.backward;
    const shared = plan.sequenceState !== "storage";
    const memory = gpu.device.limits.maxComputeWorkgroupStorageSize;
    const back = await gpu.pipeline("lstm_seq_backward", {
      B,
      H,
      ROWS: rowsPerWorkgroup,
      QPI: plan.backwardQuads ?? 1,
      KC: shared ? 4 * Math.ceil(H / 4) : plan.backwardChunk ?? backwardChunk(rowsPerWorkgroup, H, memory),
      SHARED: shared,
      VEC4: H % 4 === 0,
      INIT: init,
      LENGTHS: packed !== undefined,
    });
    recurrent.push(
      gpu.kernel(`${label} recurrent backward`, back, [
        bufs.step,
        bufs.gates,
        bufs.c,
        bufs.h,
        bufs.dh,
        bufs.whh,
        bufs.dPre,
        hPrev,
        ...lengthBindings(initBindings, packed),
      ], [ceilDiv(B, rowsPerWorkgroup)]),
    );
  }
  const backward = [...recurrent, ...await gradientKernels(gpu, shape, bufs, label, plan, hPrev, packed)];
  return { forward, backward, plan };
}

/**
 * The backward's kernels after the recurrent dispatch: the bias and weight gradients and dx, as GEMMs over
 * the batch's positions, or over its packed rows (packing dPre and h_{t-1} first, x too where the forward did
 * not, and unpacking dx).
 */
async function gradientKernels(
  gpu: Gpu,
  shape: LstmShape,
  bufs: LstmBuffers,
  label: string,
  plan: LstmPlan,
  hPrev: BufferSlice,
  packed?: PackedRows,
): Promise<Kernel[]> {
  const { B, T, In, H } = shape;
  const G = 4 * H;
  const rows = B * T;
  // Every GEMM below runs over the batch's B * Tb positions, Tb from the step uniform, or over its packed
  // rows (the packing's uniform counts them as one row of that many positions).
  const perStep = packed ? 1 : B;
  const runtimeRows = (dim: "M" | "K") => ({ runtimeRows: { dim, perStep } });
  const step = packed?.packing.step ?? bufs.step;
  const dPre = packed?.gates ?? bufs.dPre;
  const x = packed?.x ?? bufs.x;
  const hPrevRows = packed?.hPrev ?? hPrev;
  const dPreStaging = stagingShare();
  return [
    ...packed
      ? [
        await packed.repack(G, bufs.dPre, packed.gates, true, "pack dPre"),
        await packed.repack(H, hPrev, packed.hPrev, true, "pack h_{t-1}"),
        // The per-position forward packed no x.
        ...plan.variant === "steps" ? [await packed.repack(In, bufs.x, packed.x, true, "pack x")] : [],
      ]
      : [],
    // Both biases enter every gate the same way: both gradients are dPre's column sums, written by one pass.
    ...await createColumnSum(gpu, dPre, bufs.dbih, rows, G, `${label} dbih, dbhh`, bufs.dbhh, {
      perStep,
      step,
    }),
    // dW_ih = dPreᵀ·x and dW_hh = dPreᵀ·hPrev: dPre is [rows, 4H], i.e. the transposed A operand, staged once
    // for both where both are staged alike.
    ...await createMatmul(gpu, { M: G, K: rows, N: In, transA: true, ...runtimeRows("K") }, {
      a: dPre,
      b: x,
      c: bufs.dWih,
      step,
      share: dPreStaging,
    }, `${label} dWih`),
    ...await createMatmul(gpu, { M: G, K: rows, N: H, transA: true, ...runtimeRows("K") }, {
      a: dPre,
      b: hPrevRows,
      c: bufs.dWhh,
      step,
      share: dPreStaging,
    }, `${label} dWhh`),
    // dx = dPre·W_ih for all positions (or packed rows) at once.
    ...await createMatmul(
      gpu,
      { M: rows, K: G, N: In, ...runtimeRows("M") },
      { a: dPre, b: bufs.wih, c: packed?.dx ?? bufs.dx, step },
      `${label} dx`,
    ),
    ...packed ? [await packed.repack(In, packed.dx, bufs.dx, false, "unpack dx")] : [],
  ];
}
