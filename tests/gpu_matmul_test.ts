/**
 * The WebGPU GEMM against the CPU reference (src/cpu/matmul.ts): every transpose combination, every
 * epilogue, odd shapes that are not multiples of the tiles or of 4, the model's real shapes, large inputs,
 * every kernel variant (regblock with A in storage or staged through uniform windows, the staged one with 16
 * or 32 rows per workgroup, tiled), operands split across bindings and windows, and rows (M, or K of a
 * weight gradient) decided at run time.
 *
 * Tolerances: the reference sums in float64, the GPU in float32 in another order, so errors grow with K:
 * src/facts/gemm.ts's sumTolerance, shared with doctor.
 */
import { assert, assertAllClose, assertEquals, assertRejects, randomArray } from "./assert.ts";
import { destroyAll, gpuTest, readFloats, upload } from "./gpu_harness.ts";
import { benchKernels, gemmCase } from "../src/bench/kernels.ts";
import { gemmReference } from "../src/cpu/matmul.ts";
import { type GemmInputs, headGemms, runtimeRowsReference, sumTolerance } from "../src/facts/gemm.ts";
import { MODEL_SHAPES } from "../src/facts/shapes.ts";
import { EXACT } from "../src/facts/tolerance.ts";
import { activeKernels, type Gpu } from "../src/gpu/device.ts";
import { createStepParams } from "../src/gpu/step_params.ts";
import {
  type BlockRows,
  chooseBlockRows,
  createMatmul,
  defaultMatmulVariant,
  MATMUL_EPILOGUES,
  type MatmulSpec,
  type MatmulVariant,
  stagingShare,
  stagingWindow,
} from "../src/gpu/matmul.ts";

interface Case {
  gpu: Gpu;
  spec: MatmulSpec;
  /** Inputs are uniform in [-scale, scale). */
  scale?: number;
  seed?: number;
}

/** A GEMM's seeded inputs (uniform in ±scale; the mask in ±1) and their buffers. */
function gemmInputs(gpu: Gpu, spec: MatmulSpec, seed: number, scale = 1) {
  const { M, K, N } = spec;
  const x: GemmInputs = {
    a: randomArray(M * K, seed, -scale, scale),
    b: randomArray(K * N, seed + 1, -scale, scale),
    c0: randomArray(M * N, seed + 2, -scale, scale), // what accumulate adds to (and overwrite must ignore)
    bias: randomArray(N, seed + 3, -scale, scale),
    mask: randomArray(M * N, seed + 4, -1, 1),
  };
  const bufs = {
    a: upload(gpu, x.a, "a"),
    b: upload(gpu, x.b, "b"),
    c: upload(gpu, x.c0, "c"),
    bias: upload(gpu, x.bias, "bias"),
    mask: upload(gpu, x.mask, "mask"),
  };
  return { x, bufs };
}

/** Runs one GEMM on the GPU and compares it with the reference; returns the number of dispatches. */
async function check({ gpu, spec, scale = 1, seed = 1 }: Case): Promise<number> {
  const { M, K, N } = spec;
  const { x, bufs } = gemmInputs(gpu, spec, seed, scale);
  const kernels = await createMatmul(gpu, spec, bufs);
  await gpu.run(kernels);
  const got = await readFloats(gpu, bufs.c, M * N);
  const want = gemmReference(spec, x.a, x.b, x.c0, x.bias, x.mask);
  assertAllClose(got, want, { ...sumTolerance(K, scale), what: `C of ${JSON.stringify(spec)}` });
  destroyAll(gpu, Object.values(bufs));
  return kernels.length;
}

const ODD_SHAPES: Array<[number, number, number]> = [
  [5, 7, 37], // nothing a multiple of the tile or of 4
  [3, 1, 9], // K = 1
  [1, 5, 1], // a single output
  [13, 9, 36], // N a multiple of 4 (the vec4 path when B is not transposed), M and K not
  [6, 11, 18], // N even (the vec2 path when B is not transposed), not a multiple of 4
  [70, 12, 130], // more than one tile each way
];
const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]];

const VARIANTS: MatmulVariant[] = ["regblock", "staged", "tiled"];

/**
 * Every form the runtime builds: the variants, and the staged GEMM with 32 rows per workgroup (what
 * chooseBlockRows gives it at M >= 32; the plain variants run 16, the default for every forced variant).
 * `name` is what the tests' names say.
 */
const FORMS: Array<{ name: string; variant: MatmulVariant; blockRows?: BlockRows }> = [
  ...VARIANTS.map((variant) => ({ name: variant, variant, blockRows: 16 as const })),
  { name: "staged, 32 rows", variant: "staged", blockRows: 32 },
];

/**
 * Widths within 8 columns of a multiple of 64 (a regblock workgroup's 64 columns, a tiled one's 64), on both
 * sides: 64k - 8 .. 64k - 1 and 64k + 1 .. 64k + 8 for k = 1, 2. Among them N % 4 == 0 (vec4 B and C), N even
 * (vec2 B) and odd (scalar B); transposed B is always read as scalars, with C vec4 when N % 4 == 0.
 */
const EDGE_NS = [64, 128].flatMap((n) => [1, 2, 3, 4, 5, 6, 7, 8].flatMap((d) => [n - d, n + d]));

for (const { name, variant, blockRows } of FORMS) {
  gpuTest(
    `matmul (${name}): odd shapes, all transpose combinations, equal to the reference`,
    async (gpu) => {
      for (const [M, K, N] of ODD_SHAPES) {
        for (const [transA, transB] of TRANSPOSES) {
          await check({ gpu, spec: { M, K, N, transA, transB, variant, blockRows } });
        }
      }
    },
  );

  gpuTest(`matmul (${name}): bias, relu, accumulate and reluMask epilogues`, async (gpu) => {
    for (const epi of MATMUL_EPILOGUES) {
      for (const [transA, transB] of TRANSPOSES) {
        await check({ gpu, spec: { M: 11, K: 6, N: 40, transA, transB, variant, blockRows, ...epi } });
        await check({
          gpu,
          spec: { M: 9, K: 13, N: 67, transA, transB, variant, blockRows, ...epi },
          seed: 7,
        });
      }
    }
  });

  gpuTest(
    `matmul (${name}): whole blocks and edge blocks, every epilogue, N a multiple of 4 or not`,
    async (gpu) => {
      // The regblock kernel stores ROWS x 64 blocks that lie wholly inside C without bounds checks (as vec4
      // when N % 4 == 0) and the blocks on C's edge element by element: these shapes have both kinds, in both
      // C layouts (16 and 32 rows: 35 and 70 rows give whole blocks and an edge one), with K = 64 as in the
      // fc2 dW GEMM.
      const shapes: Array<[number, number, number]> = [[35, 9, 136], [33, 64, 130], [16, 5, 64], [
        48,
        7,
        199,
      ], [70, 6, 128]];
      for (const [M, K, N] of shapes) {
        for (const epi of MATMUL_EPILOGUES) {
          for (const [transA, transB] of TRANSPOSES) {
            await check({ gpu, spec: { M, K, N, transA, transB, variant, blockRows, ...epi }, seed: M + N });
          }
        }
      }
    },
  );
}

for (const { name, variant, blockRows } of FORMS) {
  gpuTest(`matmul (${name}): column edges, N = 64k +- 1..8, every transposition`, async (gpu) => {
    // M = 35 (16 rows a workgroup): two whole blocks and an edge block, so whole-block stores and edge
    // stores meet; with 32 rows, M = 67 does the same.
    // Accumulating makes each row's result depend on what the stores of the row before left in C, so a
    // block that writes past column N (into the next row's first columns) is caught even where the next
    // row's own store would overwrite it: with it, a regblock whole-block bound of N + 8 fails at every
    // N = 64k - d (measured: without it at half of them). In the tiled kernel, whose invocations store
    // neighbouring columns, an edge store of column N shows without accumulate instead (bias + mask).
    const M = blockRows === 32 ? 67 : 35;
    for (const N of EDGE_NS) {
      const epilogues: Array<Partial<MatmulSpec>> = [{ accumulate: true }];
      if (N < 100) epilogues.push({ bias: true, reluMask: true });
      for (const [transA, transB] of TRANSPOSES) {
        for (const epi of epilogues) {
          await check({ gpu, spec: { M, K: 5, N, transA, transB, variant, blockRows, ...epi }, seed: N });
        }
      }
    }
  });
}

gpuTest("matmul: the kernel is chosen from the adapter, and staging from the size", (gpu) => {
  const software = gpu.adapter.isFallbackAdapter || /llvmpipe|lavapipe/i.test(gpu.adapter.description);
  const fc1 = { M: 64, K: 128, N: 2482 }, fc2 = { M: 64, K: 2482, N: 2482 };
  assert(defaultMatmulVariant(gpu, fc1) === (software ? "regblock" : "tiled"));
  assert(defaultMatmulVariant(gpu, fc2) === (software ? "staged" : "tiled"));
  return Promise.resolve();
});

Deno.test("matmul: staging windows hold at most 64 KiB and split K and M on 64-row boundaries", () => {
  for (
    const [M, K] of [[64, 2482], [2482, 64], [5, 7], [300, 64], [64, 300], [16, 5000], [48, 2000], [1, 1]]
  ) {
    const w = stagingWindow(M, K);
    assert(
      Math.ceil(w.rows / 16) * 16 * w.k <= 16384,
      `window ${JSON.stringify(w)} of ${M}x${K} exceeds 64 KiB`,
    );
    assert(w.rows === M || w.rows % 64 === 0, `rows ${w.rows} of ${M}`);
    assert(w.k === K || w.k % 64 === 0, `k ${w.k} of ${K}`);
    assert(
      w.rows >= Math.min(M, 64) && w.k >= Math.min(K, 64),
      `window ${JSON.stringify(w)} of ${M}x${K} too small`,
    );
  }
  // The model's fc2 GEMMs: ten windows each at V = 2482.
  assertEquals(stagingWindow(64, 2482), { rows: 64, k: 256 });
  assertEquals(stagingWindow(2482, 64), { rows: 256, k: 64 });
  // 32 rows a workgroup pad a window's rows to 32: 33 rows take 64 of each k's floats, so 256 k fit (320 at
  // 16 rows, padded to 48).
  for (const [M, K] of [[70, 600], [33, 5000], [2482, 64], [64, 2482]]) {
    const w = stagingWindow(M, K, 32);
    assert(Math.ceil(w.rows / 32) * 32 * w.k <= 16384, `window ${JSON.stringify(w)} of ${M}x${K} at 32 rows`);
  }
  assertEquals(stagingWindow(33, 5000, 32), { rows: 33, k: 256 });
  assertEquals(stagingWindow(33, 5000, 16), { rows: 33, k: 320 });
});

Deno.test("matmul: 32 rows a workgroup for staged GEMMs of at least 32 rows, else 16", () => {
  assertEquals(chooseBlockRows({ M: 64 }, "staged").rows, 32);
  assertEquals(chooseBlockRows({ M: 2482 }, "staged").rows, 32);
  assertEquals(chooseBlockRows({ M: 31 }, "staged").rows, 16);
  assertEquals(chooseBlockRows({ M: 2482 }, "regblock").rows, 16);
  assertEquals(chooseBlockRows({ M: 2482 }, "tiled").rows, 16);
});

gpuTest("matmul (staged): several windows along M and K, every epilogue and transpose", async (gpu) => {
  // [70, 600]: windows of 64 rows x 256 k, so 2 x 3 windows (the last ones 6 rows and 88 k); [300, 64]: 256
  // rows x 64 k, so 2 windows along M. One dispatch stages every window, each into its own, then each is
  // multiplied (with a binding too small for them all, one window serves each block in turn: the split test).
  // Both block sizes (32 is chosen here, M >= 32: the windows pad rows to 32, the last M window's 6 rows
  // to a whole 32).
  for (const [M, K, N] of [[70, 600, 45], [300, 64, 37], [70, 600, 68]]) {
    for (const blockRows of [16, 32] as const) {
      for (const epi of MATMUL_EPILOGUES) {
        for (const [transA, transB] of TRANSPOSES) {
          const spec: MatmulSpec = { M, K, N, transA, transB, variant: "staged", blockRows, ...epi };
          const dispatches = await check({ gpu, spec });
          // One staging dispatch fills every window, then a GEMM per window.
          const w = stagingWindow(M, K, blockRows);
          const windows = Math.ceil(M / w.rows) * Math.ceil(K / w.k);
          assert(windows >= 2, `expected several windows for ${M}x${K}x${N}`);
          assertEquals(dispatches, 1 + windows, `${M}x${K}x${N} at ${blockRows} rows`);
        }
      }
    }
  }
});

gpuTest("matmul: the model's real head GEMMs (V = 2482) equal the reference", async (gpu) => {
  // fc1 forward x·Wᵀ + b then ReLU; fc2 dX = dY·W with fc1's ReLU backward fused; fc2 dW = dYᵀ·X.
  const head = headGemms(MODEL_SHAPES.model, MODEL_SHAPES.batch, MODEL_SHAPES.model.window);
  for (const spec of [head.fc1Forward!, head.fc2DX, head.fc2DW]) await check({ gpu, spec });
});

gpuTest("matmul: the aligned vocabulary of the full corpus uses the vec4 path correctly", async (gpu) => {
  // N = 2480 is a multiple of 4, so B (not transposed) is read as vec4.
  await check({ gpu, spec: { M: 64, K: 300, N: 2480 } });
  await check({ gpu, spec: { M: 300, K: 64, N: 2480, transA: true } });
});

gpuTest("matmul: inputs up to +-1e4 give finite results equal to the reference", async (gpu) => {
  // Products reach 1e8 and sums over K = 2482 about 5e9; the tolerance scales with scale² (atol 4e-7*K*1e8).
  await check({ gpu, spec: { M: 64, K: 2482, N: 130, transB: true, bias: true }, scale: 1e4 });
  await check({ gpu, spec: { M: 17, K: 333, N: 41, transA: true, relu: true }, scale: 1e4 });
});

gpuTest("matmul: operands larger than one binding are split into row blocks", async (gpu) => {
  // Bindings are limited to 64 KiB = 16384 floats here, so each case below needs several dispatches.
  const cases: MatmulSpec[] = [
    // A [150, 200] splits along M; B [200, 100] along K, whose blocks add up before bias and the mask.
    { M: 150, K: 200, N: 100, bias: true, reluMask: true },
    { M: 150, K: 200, N: 100, accumulate: true },
    // A stored [130, 200] splits along K.
    { M: 200, K: 130, N: 60, transA: true, relu: true },
    // B stored [400, 50] splits along N (the forward x·Wᵀ of a large weight): bias blocks follow.
    { M: 20, K: 50, N: 400, transB: true, bias: true, relu: true },
    // Both transposed, every operand split.
    { M: 200, K: 130, N: 250, transA: true, transB: true },
    // vec4 path (N multiple of 4) with B split along K.
    { M: 64, K: 250, N: 128, relu: true },
    // vec2 path (N even, not a multiple of 4) with B split along K.
    { M: 64, K: 250, N: 130, relu: true },
    // vec4 C with B stored [400, 50] split along N: the second block's columns start at 320.
    { M: 40, K: 50, N: 400, transB: true, accumulate: true },
    // vec4 C split along M and K (the mask too), whole 16 x 64 blocks in each.
    { M: 150, K: 200, N: 128, transA: true, reluMask: true },
  ];
  for (const spec of cases) {
    for (const { variant, blockRows } of FORMS) {
      const dispatches = await check({ gpu, spec: { ...spec, variant, blockRows } });
      assert(dispatches > 1, `expected a split for ${JSON.stringify(spec)}`);
    }
  }
}, { maxStorageBindingBytes: 64 * 1024 });

gpuTest("matmul: a row too wide to split and accumulate with relu are refused", async (gpu) => {
  const slice = upload(gpu, new Float32Array(64 * 300), "big");
  await assertRejects(
    () => createMatmul(gpu, { M: 64, K: 300, N: 1 }, { a: slice, b: slice, c: slice }),
    /64 rows of A \(300 floats each\) exceed/,
  );
  await assertRejects(
    () =>
      createMatmul(gpu, { M: 1, K: 1, N: 1, accumulate: true, relu: true }, { a: slice, b: slice, c: slice }),
    /cannot be combined/,
  );
  destroyAll(gpu, [slice]);
}, { maxStorageBindingBytes: 64 * 1024 });

/**
 * A GEMM built once with rows at run time (spec.runtimeRows, M or K = perStep x the most steps), run for each
 * of `stepsList` through the StepParams uniform alone: the first perStep x steps rows of C (or k values) equal
 * the reference of that smaller GEMM, and with rows at run time along M the rows past them keep what C held.
 */
async function checkRuntimeRows(
  gpu: Gpu,
  spec: MatmulSpec,
  stepsList: number[],
  seed = 1,
): Promise<{ dispatches: number; idle: number }> {
  const { M, K, N } = spec;
  const { dim, perStep } = spec.runtimeRows!;
  const { x, bufs } = gemmInputs(gpu, spec, seed);
  const step = createStepParams(gpu, "test step");
  const kernels = await createMatmul(gpu, spec, { ...bufs, step: step.buffer });
  let idle = 0;
  for (const steps of stepsList) {
    const rows = Math.min(perStep * steps, dim === "M" ? M : K);
    step.set(0, 0, 0, steps);
    gpu.write(bufs.c.buffer, 0, x.c0); // C as before each run: accumulate adds to it
    await gpu.run(kernels);
    const got = await readFloats(gpu, bufs.c, M * N);
    // The blocks that say they do nothing at these rows (Kernel.idleUnless) left out: the same C, bit for bit.
    const active = activeKernels(kernels, new Map([[step.buffer, steps]]));
    if (active.length < kernels.length) {
      gpu.write(bufs.c.buffer, 0, x.c0);
      await gpu.run(active);
      const without = await readFloats(gpu, bufs.c, M * N);
      assertAllClose(without, got, { ...EXACT, what: "C without the idle blocks" });
      idle += kernels.length - active.length;
    }
    const want = runtimeRowsReference(spec, rows, x);
    const what = `C of ${JSON.stringify(spec)} at steps = ${steps} (${rows} rows)`;
    // Along M the rows past the step's keep what C held, exactly; along K the sum has the step's rows.
    const computed = dim === "M" ? rows * N : M * N;
    const tol = sumTolerance(dim === "M" ? K : rows);
    assertAllClose(got.subarray(0, computed), want.subarray(0, computed), { ...tol, what });
    assertAllClose(got.subarray(computed), want.subarray(computed), { ...EXACT, what: `${what}, past` });
  }
  destroyAll(gpu, Object.values(bufs));
  gpu.destroy(step.buffer);
  return { dispatches: kernels.length, idle };
}

for (const { name, variant, blockRows } of FORMS) {
  gpuTest(`matmul (${name}): rows at run time along M, every transposition and epilogue`, async (gpu) => {
    // perStep = 5 rows a position, up to 13 positions: 65 rows built (four 16-row blocks and a row over, one
    // 64-row tile and one over); run at 13, 1, 7 and 3 positions: 65, 5, 35 and 15 rows, none a multiple of
    // the tiles, the one kernel set serving each.
    for (const epi of MATMUL_EPILOGUES) {
      for (const [transA, transB] of TRANSPOSES) {
        const spec: MatmulSpec = {
          M: 65,
          K: 9,
          N: 37,
          transA,
          transB,
          variant,
          blockRows,
          ...epi,
          runtimeRows: { dim: "M", perStep: 5 },
        };
        await checkRuntimeRows(gpu, spec, [13, 1, 7, 3], 3);
      }
    }
    // The LSTM's input projection and dX shapes: B = 67 rows, up to 11 positions, N = 4H = 28, vec4 C.
    await checkRuntimeRows(gpu, {
      M: 67 * 11,
      K: 23,
      N: 28,
      transB: true,
      bias: true,
      variant,
      blockRows,
      runtimeRows: { dim: "M", perStep: 67 },
    }, [11, 2, 9]);
  });

  gpuTest(`matmul (${name}): rows at run time along K (the weight gradients dW = dYᵀ·X)`, async (gpu) => {
    for (const epi of [{}, { accumulate: true }, { bias: true }]) {
      for (const [transA, transB] of TRANSPOSES) {
        const spec: MatmulSpec = {
          M: 21,
          K: 7 * 13,
          N: 67,
          transA,
          transB,
          variant,
          blockRows,
          ...epi,
          runtimeRows: { dim: "K", perStep: 7 },
        };
        await checkRuntimeRows(gpu, spec, [13, 1, 6], 5);
      }
    }
    // dW_ih = dPreᵀ·x of a layer: M = 4H = 36, K = B * Tb with B = 5 (odd), In = 11.
    await checkRuntimeRows(gpu, {
      M: 36,
      K: 5 * 12,
      N: 11,
      transA: true,
      variant,
      blockRows,
      runtimeRows: { dim: "K", perStep: 5 },
    }, [12, 5, 1]);
  });
}

/** dW = dYᵀ·X with K (the rows summed) at run time: 600 rows, split in blocks or windows along K. */
const ALONG_K_SPLIT: MatmulSpec = {
  M: 70,
  K: 600,
  N: 20,
  transA: true,
  accumulate: true,
  runtimeRows: { dim: "K", perStep: 6 },
};
/** Its runs' steps (6 rows each): all 600 rows, then 42, 360 and 258. */
const ALONG_K_STEPS = [100, 7, 60, 43];

gpuTest("matmul: rows at run time across split blocks and staging windows", async (gpu) => {
  // Bindings of 64 KiB: A [300, 100] splits along M into 128-row blocks (M at run time: some steps end
  // inside the first block, leaving the later blocks nothing to do), and K = 600 staged splits into 256-k
  // windows (K at run time: some steps end inside the first window).
  for (const { variant, blockRows } of FORMS) {
    const alongM = await checkRuntimeRows(gpu, {
      M: 300,
      K: 100,
      N: 45,
      bias: true,
      variant,
      blockRows,
      runtimeRows: { dim: "M", perStep: 3 },
    }, [100, 17, 50, 43]);
    assert(alongM.dispatches > 1 && alongM.idle > 0, `expected a split along M, idle blocks (${variant})`);
    const alongK = await checkRuntimeRows(gpu, { ...ALONG_K_SPLIT, variant, blockRows }, ALONG_K_STEPS);
    assert(alongK.dispatches > 1 && alongK.idle > 0, `expected a split along K, idle blocks (${variant})`);
  }
}, { maxStorageBindingBytes: 64 * 1024 });

gpuTest("matmul (staged): rows at run time across windows staged together", async (gpu) => {
  // No binding limit: one dispatch stages all 2 x 3 windows of A, some of which a step's rows end before
  // (their GEMMs then do nothing, or add nothing along K).
  for (const blockRows of [16, 32] as const) {
    const alongM = await checkRuntimeRows(gpu, {
      M: 70,
      K: 600,
      N: 45,
      bias: true,
      variant: "staged",
      blockRows,
      runtimeRows: { dim: "M", perStep: 7 },
    }, [10, 3, 7]);
    const alongK = await checkRuntimeRows(
      gpu,
      { ...ALONG_K_SPLIT, variant: "staged", blockRows },
      ALONG_K_STEPS,
    );
    assertEquals([alongM.dispatches, alongK.dispatches], [7, 7], "one staging dispatch and 6 GEMMs each");
    assert(alongM.idle > 0 && alongK.idle > 0, "steps whose rows end before a block leave it idle");
  }
});

gpuTest(
  "matmul (staged): two GEMMs of one A share its staged windows (a layer's dW_ih and dW_hh), one that differs " +
    "stages its own",
  async (gpu) => {
    // dW = dPreᵀ·X for two X of 20 and 13 columns, K = 600 at run time: A staged once, by the first GEMM.
    const first: MatmulSpec = { ...ALONG_K_SPLIT, accumulate: false, variant: "staged", blockRows: 32 };
    const second: MatmulSpec = { ...first, N: 13 };
    const x1 = gemmInputs(gpu, first, 3), x2 = gemmInputs(gpu, second, 5);
    const step = createStepParams(gpu, "test step");
    const share = stagingShare();
    const k1 = await createMatmul(gpu, first, { ...x1.bufs, step: step.buffer, share });
    const k2 = await createMatmul(gpu, second, { ...x2.bufs, a: x1.bufs.a, step: step.buffer, share });
    const staged = (ks: typeof k1) => ks.filter((k) => k.label.endsWith("stage A")).length;
    assertEquals([staged(k1), staged(k2)], [1, 0], "the first GEMM stages A, the second reads its windows");
    for (const steps of ALONG_K_STEPS) {
      step.set(0, 0, 0, steps);
      await gpu.run([...k1, ...k2]);
      const rows = Math.min(6 * steps, first.K);
      for (const [spec, x, what] of [[first, x1, "first"], [second, x2, "second"]] as const) {
        const want = runtimeRowsReference(spec, rows, { ...x.x, a: x1.x.a });
        const got = await readFloats(gpu, x.bufs.c, spec.M * spec.N);
        assertAllClose(got, want, { ...sumTolerance(rows), what: `${what} GEMM at ${rows} rows` });
      }
    }
    // Another A (or another step uniform) is not shared: its GEMM stages it.
    const other = await createMatmul(gpu, second, { ...x2.bufs, step: step.buffer, share });
    assertEquals(staged(other), 1, "a GEMM of another A stages its own");
    destroyAll(gpu, [...Object.values(x1.bufs), ...Object.values(x2.bufs)]);
    gpu.destroy(step.buffer);
  },
);

gpuTest("matmul: rows at run time need the step uniform", async (gpu) => {
  const slice = upload(gpu, new Float32Array(64), "small");
  await assertRejects(
    () =>
      createMatmul(gpu, { M: 4, K: 4, N: 4, runtimeRows: { dim: "M", perStep: 2 } }, {
        a: slice,
        b: slice,
        c: slice,
      }),
    /runtimeRows needs the StepParams uniform/,
  );
  destroyAll(gpu, [slice]);
});

gpuTest("the kernel benchmark times a GEMM case and its CPU reference", async (gpu) => {
  const [row] = await benchKernels(gpu, { quick: true, cases: [gemmCase("small", { M: 32, K: 64, N: 96 })] });
  assert(row.kernel === "small" && row.shape === "32x64x96 NN", JSON.stringify(row));
  assert(row.ms > 0 && row.gflops! > 0 && row.cpuMs! >= 0, JSON.stringify(row));
});
