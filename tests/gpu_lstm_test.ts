/**
 * One LSTM layer on WebGPU against the CPU reference (src/cpu/lstm.ts), in both variants: the sequence
 * kernels (the input-projection GEMM, shaders/lstm_seq.wgsl forward, lstm_seq_backward.wgsl and the weight
 * GEMMs backward) and the per-position fallback (lstm_cell.wgsl, lstm_cell_backward.wgsl). Every output of the
 * forward (h, c, the activated gates) and every gradient, at odd shapes, the model's shapes with a short
 * batch, a hidden size larger than one workgroup, saturating inputs, a batch's positions Tb smaller than the
 * buffers were built for (one kernel set run at several Tb, the packed layout's row stride changing with it),
 * and an initial state; and the models' own layers (src/facts/lstm.ts, whose tolerances these are too: doctor
 * checks the same). Both sides implement PyTorch's cell; a bug planted alike in both is for the PyTorch
 * parity tests to catch.
 */
import { assert, assertAllClose, assertEquals, randomArray } from "./assert.ts";
import { gpuTest, output, readFloats } from "./gpu_harness.ts";
import { Gpu, softwareAdapterName } from "../src/gpu/device.ts";
import {
  createLstmLayer,
  type LstmPlan,
  lstmPlan,
  type LstmShape,
  type LstmVariant,
} from "../src/gpu/lstm.ts";
import { createStepParams } from "../src/gpu/step_params.ts";
import { createPacking } from "../src/gpu/packing.ts";
import type { LstmState } from "../src/cpu/lstm.ts";
import { LSTM_TOLERANCE, lstmReference, modelLstmCases } from "../src/facts/lstm.ts";
import { MODEL_SHAPES } from "../src/facts/shapes.ts";
import type { Tolerance } from "../src/facts/tolerance.ts";

const VARIANTS: LstmVariant[] = ["sequence", "steps"];
/** What output buffers hold before a run: a value no kernel computes. */
const UNWRITTEN = -7777;

interface LstmCase {
  /** B rows and the most positions T the buffers hold. */
  shape: LstmShape;
  variant: LstmVariant;
  /** The variant's whole plan (its blockings), instead of the one lstmPlan chooses for this device. */
  plan?: LstmPlan;
  /** The batches' positions Tb (each <= T), run in turn on the one kernel set (default [T]). */
  steps?: number[];
  /** Inputs, weights and incoming gradients are uniform in +-scale. */
  scale: number;
  /** Rows of dh beyond this are zero, as a short last batch leaves them (x stays nonzero there). */
  used?: number;
  /** Start from a random state h0, c0 instead of zeros. */
  init?: boolean;
  /** Kernels run this many times before the check (outputs must not depend on leftovers). */
  repeats?: number;
  /**
   * A headline batch's row lengths (each cut to the run's Tb): the layer gets a packing of the positions
   * within them (src/gpu/packing.ts), dh is 0 past them, as the head leaves it, and the forward's outputs are
   * compared within them alone (past a row's end its gate input is 0, not its pad word's projection).
   */
  lengths?: number[];
}

/**
 * The largest error seen since the last lstmTest began, as a share of its tolerance: printed after each test,
 * so that the stated tolerances can be kept near what is measured.
 */
const worst = { forward: 0, backward: 0 };

/** A GPU test that prints the largest share of the tolerances its checks used. */
function lstmTest(name: string, fn: (gpu: Gpu) => Promise<void>): void {
  gpuTest(name, async (gpu) => {
    worst.forward = worst.backward = 0;
    await fn(gpu);
    console.log(
      `worst error: forward ${worst.forward.toFixed(3)}, backward ${
        worst.backward.toFixed(3)
      } of the tolerance`,
    );
  });
}

/** assertAllClose, noting the largest |got - want| / (atol + rtol |want|) seen. */
function close(
  got: Float32Array,
  want: Float32Array,
  tol: Tolerance,
  what: string,
  kind: keyof typeof worst,
) {
  assertAllClose(got, want, { ...tol, what });
  for (let i = 0; i < want.length; i++) {
    worst[kind] = Math.max(
      worst[kind],
      Math.abs(got[i] - want[i]) / (tol.atol + tol.rtol * Math.abs(want[i])),
    );
  }
}

/**
 * Runs one layer's forward and backward on the GPU at each Tb and compares h, c, gates, dx, dWih, dWhh, dbih
 * and dbhh with lstmLayerForward/Backward at T = Tb (the packed layout is the reference's [B,Tb,.]); rows of
 * the outputs past B * Tb must stay untouched. Returns the GPU seconds of the last forward+backward.
 */
async function checkLstm(
  gpu: Gpu,
  { shape, variant, plan, steps = [shape.T], scale, used = shape.B, init = false, repeats = 1, lengths }:
    LstmCase,
  saturated = false,
): Promise<number> {
  const { B, T, In, H } = shape;
  const G = 4 * H;
  const max = B * T;
  // Every buffer holds T positions; a run at Tb uses the first B * Tb rows. The inputs' other rows hold NaN,
  // which reading them (a wrong stride) spreads into the results; the outputs start as UNWRITTEN, which
  // every element of the run's rows must replace and those past them must keep (checked below).
  const nanPast = (a: Float32Array, n: number) => {
    const out = new Float32Array(a.length + n).fill(NaN);
    out.set(a);
    return out;
  };
  const bufs = {
    x: output(gpu, max * In, NaN),
    wih: output(gpu, G * In),
    whh: output(gpu, G * H),
    bih: output(gpu, G),
    bhh: output(gpu, G),
    h: output(gpu, max * H, UNWRITTEN),
    c: output(gpu, max * H, UNWRITTEN),
    gates: output(gpu, max * G, UNWRITTEN),
    dh: output(gpu, max * H, NaN),
    dx: output(gpu, max * In, UNWRITTEN),
    dPre: output(gpu, max * G, NaN),
    dWih: output(gpu, G * In, UNWRITTEN),
    dWhh: output(gpu, G * H, UNWRITTEN),
    dbih: output(gpu, G, UNWRITTEN),
    dbhh: output(gpu, G, UNWRITTEN),
    h0: init ? output(gpu, B * H) : undefined,
    c0: init ? output(gpu, B * H) : undefined,
  };
  const step = createStepParams(gpu, "test step");
  const packing = lengths ? createPacking(gpu, B, T) : undefined;
  const layer = await createLstmLayer(
    gpu,
    shape,
    { ...bufs, step: step.buffer, packing },
    "test lstm",
    plan ?? variant,
  );
  assert(layer.plan.variant === variant, `${variant} was asked for, ${layer.plan.variant} built`);
  if (variant === "steps") {
    assert(layer.forward.length === T, `one kernel per position: ${layer.forward.length}`);
  } else {
    const most = packing ? 4 : 2; // packed: x packed, the GEMM, the projection unpacked
    assert(layer.forward.length <= most, `a GEMM and one recurrent dispatch: ${layer.forward.length}`);
  }

  let seconds = 0;
  for (const [n, Tb] of steps.entries()) {
    const seed = 41 + 10 * n;
    const rows = B * Tb;
    const x = randomArray(rows * In, seed, -scale, scale);
    const wih = randomArray(G * In, seed + 1, -scale, scale);
    const whh = randomArray(G * H, seed + 2, -scale, scale);
    const bih = randomArray(G, seed + 3, -scale, scale);
    const bhh = randomArray(G, seed + 4, -scale, scale);
    const dh = randomArray(rows * H, seed + 5, -scale, scale).fill(0, used * Tb * H);
    // Whether position p of the run has a target (within its row's length, when packed).
    const live = (p: number) => !lengths || p % Tb < lengths[Math.floor(p / Tb)];
    for (let p = 0; p < rows; p++) if (!live(p)) dh.fill(0, p * H, (p + 1) * H);
    const state: LstmState | undefined = init
      ? { h: randomArray(B * H, seed + 6, -0.9, 0.9), c: randomArray(B * H, seed + 7, -3, 3) }
      : undefined;
    const uploads: Array<[keyof typeof bufs, Float32Array]> = [
      ["x", nanPast(x, (max - rows) * In)],
      ["dh", nanPast(dh, (max - rows) * H)],
      ["wih", wih],
      ["whh", whh],
      ["bih", bih],
      ["bhh", bhh],
    ];
    for (const [name, data] of uploads) gpu.write(bufs[name]!.buffer, 0, data);
    if (state) {
      gpu.write(bufs.h0!.buffer, 0, state.h);
      gpu.write(bufs.c0!.buffer, 0, state.c);
    }
    step.set(0, B, 0, Tb);
    packing?.set(lengths!.map((n) => Math.min(n, Tb)), B, Tb);
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      await gpu.run([...layer.forward, ...layer.backward]);
      seconds = (performance.now() - t0) / 1000;
    }

    const { forward: cache, grads } = lstmReference({ x, wih, whh, bih, bhh, dh, init: state }, B, Tb, In, H);
    const what = `${variant} B=${B} T=${T} Tb=${Tb} In=${In} H=${H} scale=${scale}${
      init ? " from h0, c0" : ""
    }`;
    const read = async (s: keyof typeof bufs, n: number) => await readFloats(gpu, bufs[s]!, n);
    const f = saturated ? LSTM_TOLERANCE.saturated : LSTM_TOLERANCE.forward;
    const b = saturated ? LSTM_TOLERANCE.saturated : LSTM_TOLERANCE.backward(rows);
    // The forward's outputs at the positions with a target (all of them unless packed).
    const within = (a: Float32Array, width: number) => a.filter((_, i) => live(Math.floor(i / width)));
    const forward = async (name: "h" | "c" | "gates", want: Float32Array, width: number) =>
      close(
        within(await read(name, rows * width), width),
        within(want, width),
        f,
        `${name} ${what}`,
        "forward",
      );
    await forward("h", cache.h, H);
    await forward("c", cache.c, H);
    await forward("gates", cache.gates, G);
    close(await read("dx", rows * In), grads.dx!, b, `dx ${what}`, "backward");
    close(await read("dWih", G * In), grads.dWih, b, `dWih ${what}`, "backward");
    close(await read("dWhh", G * H), grads.dWhh, b, `dWhh ${what}`, "backward");
    close(await read("dbih", G), grads.dbih, b, `dbih ${what}`, "backward");
    close(await read("dbhh", G), grads.dbhh, b, `dbhh ${what}`, "backward");
    if (n === 0) {
      // Only the first run starts from UNWRITTEN outputs: rows past B * Tb must not have been written (the
      // input projection included, whose NaN there would otherwise pass unseen).
      for (const [name, width] of [["h", H], ["c", H], ["gates", G], ["dx", In]] as const) {
        const past = (await read(name, max * width)).subarray(rows * width);
        assert(past.every((v) => v === UNWRITTEN), `${name} ${what}: rows past B * Tb were written`);
      }
      // A packed batch's recurrent kernels skip the positions past each row's length, both ways: h and c
      // stay unwritten there, and dPre keeps its NaN (the per-position kernels compute them).
      if (lengths && variant === "sequence") {
        const skipped = Array.from({ length: rows }, (_, p) => p).filter((p) => !live(p));
        for (
          const [name, width, unwritten] of [["h", H, UNWRITTEN], ["c", H, UNWRITTEN], [
            "dPre",
            G,
            NaN,
          ]] as const
        ) {
          const got = await read(name, rows * width);
          const untouched = (v: number) => Number.isNaN(unwritten) ? Number.isNaN(v) : v === unwritten;
          assert(
            skipped.every((p) => got.subarray(p * width, (p + 1) * width).every(untouched)),
            `${name} ${what}: positions past a row's length were computed`,
          );
        }
      }
    }
  }
  for (const s of Object.values(bufs)) if (s) gpu.destroy(s.buffer);
  const packingBuffers = packing ? [packing.step, packing.positions, packing.rowOf, packing.byLength] : [];
  for (const b of [step.buffer, ...packingBuffers]) gpu.destroy(b);
  return seconds;
}

for (const variant of VARIANTS) {
  lstmTest(
    `lstm layer (${variant}): odd shape (B=5, T=3, In=7, H=9) forward and backward match the reference`,
    async (gpu) => {
      await checkLstm(gpu, { shape: { B: 5, T: 3, In: 7, H: 9 }, variant, scale: 0.5, repeats: 2 });
    },
  );

  lstmTest(
    `lstm layer (${variant}): the window model's layers (B=64, T=2, In=16 then 64, H=64), last batch of 20 rows`,
    async (gpu) => {
      for (const c of modelLstmCases(MODEL_SHAPES).filter((c) => c.model === "window")) {
        const { shape, Tb, scale, used, init } = c;
        const seconds = await checkLstm(gpu, { shape, variant, steps: [Tb], scale, used, init, repeats: 2 });
        console.log(
          `${variant} ${c.label}: layer forward+backward incl. submit ${(seconds * 1e3).toFixed(1)} ms`,
        );
      }
    },
  );

  lstmTest(
    `lstm layer (${variant}): H=300 (75 quads of units; the cells loop over a 256-wide workgroup; a wide ` +
      `layer's blocking on a software adapter), B=19, from h0, c0`,
    async (gpu) => {
      await checkLstm(gpu, { shape: { B: 19, T: 2, In: 5, H: 300 }, variant, scale: 0.1, init: true });
    },
  );

  lstmTest(
    `lstm layer (${variant}): inputs and weights up to +-1e4 saturate without NaN or Inf`,
    async (gpu) => {
      await checkLstm(
        gpu,
        { shape: { B: 4, T: 3, In: 6, H: 8 }, variant, scale: 1e4, steps: [3, 2], init: true },
        true,
      );
    },
  );

  // The per-position kernels are compiled once per position (and a cold compile takes seconds): fewer of them.
  const perPosition = variant === "steps";
  // The per-position kernels at the headline model's 25 positions compile 50 pipelines a layer (minutes on
  // the software adapter): its Tb below T and its initial state are checked at fewer positions below.
  if (!perPosition) {
    lstmTest(
      `lstm layer (${variant}): the headline model's layers (B=64, T=25 run at 25 and 9, advance from h0, c0)`,
      async (gpu) => {
        for (const c of modelLstmCases(MODEL_SHAPES).filter((c) => c.model === "headline")) {
          const { shape, Tb, scale, used, init } = c;
          await checkLstm(gpu, { shape, variant, steps: [Tb], scale, used, init });
        }
      },
    );
  }

  lstmTest(
    `lstm layer (${variant}): Tb below the built T, one kernel set for every Tb, odd shapes`,
    async (gpu) => {
      // H = 70 and 7: the last quad of units half empty (scalar access); H = 28: vec4 access. B not a multiple
      // of the rows per workgroup. Tb = 1 has no recurrent step at all.
      await checkLstm(gpu, {
        shape: { B: 67, T: perPosition ? 5 : 13, In: 11, H: 70 },
        variant,
        scale: 0.4,
        steps: perPosition ? [5, 3, 1] : [13, 6, 1],
      });
      await checkLstm(gpu, {
        shape: { B: 37, T: perPosition ? 4 : 9, In: 28, H: 28 },
        variant,
        scale: 0.5,
        steps: perPosition ? [2, 4, 3] : [4, 9, 7],
      });
      await checkLstm(gpu, {
        shape: { B: 5, T: perPosition ? 3 : 11, In: 3, H: 7 },
        variant,
        scale: 0.6,
        steps: perPosition ? [3, 2] : [11, 2],
      });
    },
  );

  lstmTest(
    `lstm layer (${variant}): a headline batch's positions with a target packed for the GEMMs, odd shapes, ` +
      "rows of every length (0 included), several Tb",
    async (gpu) => {
      // H = 9: scalar rows; H = 12 and In = 8 (the sequence kernels only, to keep the per-position kernels'
      // compiles few): vec4 rows. B = 6 of rows 1..T long and one empty; B = 7 dealt out by length to two
      // workgroups of 4 and 3 rows, ties among them (the wide plan's test below deals to 3).
      await checkLstm(gpu, {
        shape: { B: 6, T: perPosition ? 3 : 7, In: 5, H: 9 },
        variant,
        scale: 0.5,
        steps: perPosition ? [3, 2] : [7, 3, 5],
        lengths: [7, 1, 0, 4, 3, 6],
        init: true,
        used: 5,
      });
      if (perPosition) return;
      await checkLstm(gpu, {
        shape: { B: 7, T: 6, In: 8, H: 12 },
        variant,
        scale: 0.5,
        steps: [6, 2],
        lengths: [2, 6, 1, 3, 5, 4, 6],
      });
    },
  );

  lstmTest(`lstm layer (${variant}): from an initial state h0, c0, at several Tb`, async (gpu) => {
    await checkLstm(gpu, {
      shape: { B: 23, T: perPosition ? 4 : 7, In: 13, H: 37 },
      variant,
      scale: 0.5,
      steps: perPosition ? [4, 1, 3] : [7, 1, 4],
      init: true,
      used: 9,
    });
    await checkLstm(gpu, {
      shape: { B: 64, T: perPosition ? 3 : 5, In: 16, H: 64 },
      variant,
      scale: 0.3,
      steps: perPosition ? [3, 2] : [5, 3],
      init: true,
    });
  });
}

lstmTest(
  "lstm layer (sequence): the state read from storage and 4 quads of units per backward invocation (a wide " +
    "layer's blocking on a software adapter) at odd shapes, the last invocation's quads partly past H, dPre " +
    "read back in chunks",
  async (gpu) => {
    const plan: LstmPlan = {
      variant: "sequence",
      // Fewer rows than a wide layer gets (H = 300 above runs those): more rows only unroll the same code
      // further, and each takes seconds to compile.
      sequenceRows: { forward: 3, backward: 3 },
      sequenceState: "storage",
      backwardQuads: 4,
      // A row's 40 vec4s of dPre read back as 16, 16 and 8 (H = 300 above: 64 at a time, the last 44).
      backwardChunk: 16,
      reason: "the test's",
    };
    // H = 37: 10 quads (the last of 1 unit: scalar access), 3 invocations, the last owning quads 8-11 of which
    // 10 and 11 do not exist (H = 300 above has vec4 access and one quad past the last). B = 7: the last
    // workgroup has 1 row.
    await checkLstm(gpu, {
      shape: { B: 7, T: 6, In: 5, H: 37 },
      variant: "sequence",
      plan,
      scale: 0.5,
      steps: [6, 1, 4],
      init: true,
      used: 5,
    });
    // A packed batch: its rows by length dealt out to 3 workgroups, h_{t-1} of the forward from storage, then
    // in one copy in workgroup memory (the recipe's layer on a software adapter).
    for (const forwardOneCopy of [false, true]) {
      await checkLstm(gpu, {
        shape: { B: 7, T: 6, In: 5, H: 37 },
        variant: "sequence",
        plan: { ...plan, forwardOneCopy },
        scale: 0.5,
        steps: [6, 3],
        lengths: [2, 6, 0, 5, 1, 6, 3],
      });
    }
  },
);

gpuTest(
  "lstm plan: the state in storage, 16 rows and 4 backward quads for wide layers on a software adapter, as " +
    "before for narrow ones",
  (gpu) => {
    const wide = lstmPlan(gpu, 32, 512);
    const narrow = lstmPlan(gpu, 64, 64);
    assertEquals(narrow.backwardQuads, 1, narrow.reason);
    if (softwareAdapterName(gpu) === null) {
      assertEquals(wide.backwardQuads, 1, `a hardware adapter: ${wide.reason}`);
      return Promise.resolve();
    }
    assertEquals(wide.sequenceRows, { forward: 16, backward: 16 }, wide.reason);
    assertEquals(wide.backwardQuads, 4, wide.reason);
    assertEquals(wide.sequenceState, "storage", wide.reason);
    // The backward's dPre read back 64 vec4s a row at a time: 16 KiB for 16 rows.
    assertEquals(wide.backwardChunk, 64, wide.reason);
    // The forward's 16 rows of h at H = 512 fill 32 KiB once: one copy in workgroup memory.
    assertEquals(
      wide.forwardOneCopy,
      gpu.device.limits.maxComputeWorkgroupStorageSize >= 16 * 512 * 4,
      wide.reason,
    );
    assertEquals(narrow.sequenceState, "workgroup", narrow.reason);
    assert(wide.reason.includes("4 quads of 4 hidden units per backward invocation"), wide.reason);
    assertEquals(narrow.sequenceRows, { forward: 8, backward: 16 }, narrow.reason);
    assertEquals(lstmPlan(gpu, 32, 124).backwardQuads, 1, "31 quads: narrow");
    assertEquals(lstmPlan(gpu, 32, 125).backwardQuads, 4, "32 quads: wide");
    return Promise.resolve();
  },
);

gpuTest(
  "lstm plan: at most 4 backward rows a workgroup on the GL backend, whose compiler is slow with more",
  async (gpu) => {
    const plain = lstmPlan(gpu, 64, 32);
    assert(plain.variant === "sequence" && plain.sequenceRows!.backward > 4, `plain: ${plain.reason}`);
    const gl = await Gpu.open({ backend: "gl" });
    try {
      const plan = lstmPlan(gl, 64, 32);
      assertEquals(plan.sequenceRows, { forward: plain.sequenceRows!.forward, backward: 4 });
      assert(plan.reason.includes("at most 4 backward rows on GL"), plan.reason);
      assertEquals(lstmPlan(gl, 3, 32).sequenceRows!.backward, 2, "still at most half the rows");
      const wideGl = lstmPlan(gl, 32, 512);
      assertEquals(
        [wideGl.backwardQuads, wideGl.sequenceState],
        [1, "workgroup"],
        "as for narrow layers on GL",
      );
    } finally {
      gl.device.destroy();
    }
  },
);
