/**
 * Gradient checks of every CPU reference op against central finite differences, plus matmul against a
 * naive triple loop and softmax cross-entropy's stability at extreme logits.
 *
 * Each check differentiates a float64 scalar: a random-weighted sum of the op's float32 outputs (its
 * gradient w.r.t. the outputs is the weights, which become the op's upstream gradient). With EPS = 1e-3 the
 * truncation error is O(EPS²·f''') ~ 1e-6 and float32 rounding of the outputs (~6e-8 relative) contributes
 * ~1e-5 after division by 2·EPS, so analytic and numeric gradients must agree to FD_TOL.
 */
import { embeddingBackward, embeddingForward } from "../src/cpu/embedding.ts";
import { linearBackward, linearForward, reluBackward } from "../src/cpu/linear.ts";
import { lstmCellBackward, lstmCellForward, lstmLayerBackward, lstmLayerForward } from "../src/cpu/lstm.ts";
import { matmul } from "../src/cpu/matmul.ts";
import { softmaxCrossEntropy } from "../src/cpu/softmax_xent.ts";
import { CLIP_EPS, clipGradNorm, gradNorm } from "../src/cpu/grad_norm.ts";
import { assert, assertAllClose, randomArray } from "./assert.ts";
import { allIndices, centralDifferences, weightedSum } from "./finite_diff.ts";

const EPS = 1e-3;
const FD_TOL = { atol: 1e-4, rtol: 1e-3 };

Deno.test("matmul: every transA/transB/accumulate combination equals a naive triple loop", () => {
  const M = 5, K = 7, N = 3;
  const a = randomArray(M * K, 1);
  const b = randomArray(K * N, 2);
  const start = randomArray(M * N, 3);
  // A[i][k] and B[k][j] of the mathematical product, whichever way they are stored.
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const accumulate of [false, true]) {
        const A = (i: number, k: number) => transA ? a[k * M + i] : a[i * K + k];
        const B = (k: number, j: number) => transB ? b[j * K + k] : b[k * N + j];
        const expected = new Float64Array(M * N);
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let s = accumulate ? start[i * N + j] : 0;
            for (let k = 0; k < K; k++) s += A(i, k) * B(k, j);
            expected[i * N + j] = s;
          }
        }
        const c = start.slice();
        matmul(a, b, c, M, K, N, { transA, transB, accumulate });
        // Both sides sum in float64; only the final float32 rounding (and one more with accumulate) differs.
        assertAllClose(c, expected, {
          atol: 1e-6,
          rtol: 1e-6,
          what: `matmul tA=${transA} tB=${transB} acc=${accumulate}`,
        });
      }
    }
  }
});

Deno.test("embedding: gather rows; backward sums repeated ids and zeroes unused rows (finite differences)", () => {
  const V = 6, dim = 3;
  const ids = Int32Array.from([1, 4, 1, 0, 4, 1]); // 1 three times, 4 twice, rows 2, 3, 5 unused
  const table = randomArray(V * dim, 10);
  const out = new Float32Array(ids.length * dim);
  embeddingForward(table, ids, dim, out);
  for (let n = 0; n < ids.length; n++) {
    assertAllClose(out.subarray(n * dim, n * dim + dim), table.subarray(ids[n] * dim, ids[n] * dim + dim), {
      atol: 0,
      rtol: 0,
      what: `row ${n}`,
    });
  }
  const weights = randomArray(out.length, 11);
  const dTable = new Float32Array(V * dim).fill(NaN); // NaN: proves every entry is overwritten
  embeddingBackward(weights, ids, dim, dTable);
  const numeric = centralDifferences(table, allIndices(table.length), () => {
    embeddingForward(table, ids, dim, out);
    return weightedSum(out, weights);
  }, EPS);
  assertAllClose(dTable, numeric, { ...FD_TOL, what: "dTable" });
  assert(dTable.subarray(2 * dim, 4 * dim).every((x) => x === 0), "unused rows 2, 3 get exactly 0");
});

/** Weights, inputs and bias where every pre-activation is at least `margin` from the ReLU kink. */
function linearCase(rows: number, inF: number, outF: number, margin: number) {
  // A deterministic search: the first seed whose pre-activations all clear the margin.
  for (let seed = 20;; seed += 3) {
    const x = randomArray(rows * inF, seed);
    const w = randomArray(outF * inF, seed + 1);
    const b = randomArray(outF, seed + 2);
    const pre = new Float32Array(rows * outF);
    linearForward(x, w, b, pre, rows, inF, outF, false);
    if (pre.every((v) => Math.abs(v) >= margin) && pre.some((v) => v < 0)) return { x, w, b };
  }
}

for (const relu of [false, true]) {
  Deno.test(`linear${relu ? " + relu" : ""}: dx, dw, db match finite differences`, () => {
    const rows = 4, inF = 5, outF = 3;
    // |x|, |w| < 1 and inF = 5, so an EPS step moves a pre-activation by < 5·EPS = 0.005: the margin keeps
    // every probe on one side of the kink.
    const { x, w, b } = linearCase(rows, inF, outF, 0.05);
    const y = new Float32Array(rows * outF);
    const weights = randomArray(y.length, 30);
    const objective = () => {
      linearForward(x, w, b, y, rows, inF, outF, relu);
      return weightedSum(y, weights);
    };
    objective();
    const dy = weights.slice();
    if (relu) reluBackward(y, dy);
    const dx = new Float32Array(x.length), dw = new Float32Array(w.length), db = new Float32Array(b.length);
    linearBackward(x, w, dy, dx, dw, db, rows, inF, outF);
    assertAllClose(dx, centralDifferences(x, allIndices(x.length), objective, EPS), {
      ...FD_TOL,
      what: "dx",
    });
    assertAllClose(dw, centralDifferences(w, allIndices(w.length), objective, EPS), {
      ...FD_TOL,
      what: "dw",
    });
    assertAllClose(db, centralDifferences(b, allIndices(b.length), objective, EPS), {
      ...FD_TOL,
      what: "db",
    });
    if (relu) assert(dy.some((v) => v === 0), "some outputs are clipped, so the mask is exercised");
  });
}

for (const firstStep of [true, false]) {
  Deno.test(`lstmCell (${firstStep ? "t = 0, no c_prev" : "with c_prev"}): dPre and dcPrev match finite differences`, () => {
    const B = 2, H = 3;
    const pre = randomArray(B * 4 * H, 40, -2, 2);
    const cPrev = firstStep ? null : randomArray(B * H, 41, -1.5, 1.5);
    const gates = new Float32Array(B * 4 * H), c = new Float32Array(B * H), h = new Float32Array(B * H);
    // Both outputs feed later steps, so the objective weighs both: dh and dc are their weights.
    const wh = randomArray(B * H, 42), wc = randomArray(B * H, 43);
    const objective = () => {
      lstmCellForward(pre, cPrev, B, H, gates, c, h);
      return weightedSum(h, wh) + weightedSum(c, wc);
    };
    objective();
    const dPre = new Float32Array(B * 4 * H), dcPrev = new Float32Array(B * H);
    lstmCellBackward(gates, cPrev, c, wh, wc, B, H, dPre, dcPrev);
    assertAllClose(dPre, centralDifferences(pre, allIndices(pre.length), objective, EPS), {
      ...FD_TOL,
      what: "dPre",
    });
    if (cPrev) {
      assertAllClose(dcPrev, centralDifferences(cPrev, allIndices(cPrev.length), objective, EPS), {
        ...FD_TOL,
        what: "dcPrev",
      });
    } else {
      // c_{-1} = 0: the forget gate multiplies zero, so its pre-activation gets no gradient.
      for (let b = 0; b < B; b++) {
        assert(
          dPre.subarray(b * 4 * H + H, b * 4 * H + 2 * H).every((v) => v === 0),
          "forget gate grad is 0",
        );
      }
    }
  });
}

for (const withInit of [false, true]) {
  Deno.test(
    `lstmLayer over T = 3${
      withInit ? " from an initial state" : ""
    }: dx, dWih, dWhh, dbih, dbhh match finite differences`,
    () => checkLstmLayerGradients(withInit),
  );
}

function checkLstmLayerGradients(withInit: boolean): void {
  const B = 2, T = 3, In = 3, H = 4;
  const x = randomArray(B * T * In, 50);
  const wih = randomArray(4 * H * In, 51, -0.8, 0.8);
  const whh = randomArray(4 * H * H, 52, -0.8, 0.8);
  const bih = randomArray(4 * H, 53, -0.5, 0.5);
  const bhh = randomArray(4 * H, 54, -0.5, 0.5);
  const weights = randomArray(B * T * H, 55); // upstream gradient on every step's h
  // A carried state (a constant of the objective) enters W_hh's gradient at t = 0 and the forget gate's.
  const init = withInit
    ? { h: randomArray(B * H, 56, -0.9, 0.9), c: randomArray(B * H, 57, -2, 2) }
    : undefined;
  const objective = () => weightedSum(lstmLayerForward(x, wih, whh, bih, bhh, B, T, In, H, init).h, weights);
  const cache = lstmLayerForward(x, wih, whh, bih, bhh, B, T, In, H, init);
  const grads = {
    dx: new Float32Array(x.length),
    dWih: new Float32Array(wih.length),
    dWhh: new Float32Array(whh.length),
    dbih: new Float32Array(bih.length),
    dbhh: new Float32Array(bhh.length),
  };
  lstmLayerBackward(x, wih, whh, cache, weights, B, T, In, H, grads, init);
  for (
    const [what, analytic, input] of [
      ["dx", grads.dx, x],
      ["dWih", grads.dWih, wih],
      ["dWhh", grads.dWhh, whh],
      ["dbih", grads.dbih, bih],
      ["dbhh", grads.dbhh, bhh],
    ] as const
  ) {
    assertAllClose(analytic, centralDifferences(input, allIndices(input.length), objective, EPS), {
      ...FD_TOL,
      what,
    });
  }
}

Deno.test("softmaxCrossEntropy: dLogits is the gradient of the mean loss (finite differences)", () => {
  const B = 3, V = 5;
  const logits = randomArray(B * V, 60, -3, 3);
  const targets = Int32Array.from([4, 0, 2]);
  const dLogits = new Float32Array(B * V);
  softmaxCrossEntropy(logits, targets, B, V, dLogits);
  const numeric = centralDifferences(
    logits,
    allIndices(logits.length),
    () => softmaxCrossEntropy(logits, targets, B, V, null),
    EPS,
  );
  assertAllClose(dLogits, numeric, { ...FD_TOL, what: "dLogits" });
  // Hand value for row 0: -log softmax(target) = log(sum exp(l)) - l[target], in float64.
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[v]);
  const one = softmaxCrossEntropy(logits.subarray(0, V), targets.subarray(0, 1), 1, V, null);
  assertAllClose([one], [Math.log(sum) - logits[targets[0]]], { atol: 0, rtol: 1e-12, what: "row-0 loss" });
});

Deno.test("softmaxCrossEntropy: logits of ±1e4 give the finite loss of the shifted logits", () => {
  const V = 4;
  // Offsets are small integers, exact in float32 next to ±1e4, so the shifted rows are the same logits.
  const offsets = [0, -1, -3, 2];
  const targets = Int32Array.from([1, 3]);
  for (const base of [1e4, -1e4]) {
    const big = Float32Array.from([...offsets, ...offsets.map((o) => -o)], (o) => base + o);
    const shifted = Float32Array.from([...offsets, ...offsets.map((o) => -o)]);
    const dBig = new Float32Array(2 * V), dShifted = new Float32Array(2 * V);
    const lossBig = softmaxCrossEntropy(big, targets, 2, V, dBig);
    const lossShifted = softmaxCrossEntropy(shifted, targets, 2, V, dShifted);
    assert(Number.isFinite(lossBig), `loss at base ${base} is finite, got ${lossBig}`);
    // Softmax is shift-invariant; 1e-9 relative allows the float64 log-sum-exp rounding at magnitude 1e4.
    assertAllClose([lossBig], [lossShifted], { atol: 0, rtol: 1e-9, what: `loss at base ${base}` });
    assertAllClose(dBig, dShifted, { atol: 1e-7, rtol: 0, what: `dLogits at base ${base}` });
  }
  // One row with both extremes: the 1e4 logit takes all the mass; targeting -1e4 costs exactly 2e4.
  const extremes = Float32Array.from([1e4, -1e4]);
  assertAllClose(
    [
      softmaxCrossEntropy(extremes, Int32Array.from([0]), 1, 2, null),
      softmaxCrossEntropy(extremes, Int32Array.from([1]), 1, 2, null),
    ],
    [0, 2e4],
    { atol: 1e-9, rtol: 1e-12, what: "extreme row" },
  );
});

Deno.test("clipGradNorm: torch's clip_grad_norm_ worked by hand (one norm over all gradients, 1e-6 added)", () => {
  // Two "tensors" [3, 4] and [12] in one flat buffer: the global norm is sqrt(9 + 16 + 144) = 13.
  const grads = () => Float32Array.of(3, 4, 12);
  assert(gradNorm(grads()) === 13, "the norm of 3, 4, 12");
  for (
    const [maxNorm, scale] of [
      [6.5, 6.5 / (13 + CLIP_EPS)], // active: about half
      [13, 13 / (13 + CLIP_EPS)], // at the norm: torch's 1e-6 still scales by 1 - 7.7e-8
      [20, 1], // below the limit: unchanged (torch multiplies by the clamped coefficient, 1)
    ]
  ) {
    const g = grads();
    assert(clipGradNorm(g, maxNorm) === 13, "returns the norm before clipping, as torch does");
    assertAllClose(g, Float32Array.of(3 * scale, 4 * scale, 12 * scale), {
      atol: 0,
      rtol: 0,
      what: `max norm ${maxNorm}`,
    });
  }
  const zero = new Float32Array(4);
  assert(clipGradNorm(zero, 1) === 0 && zero.every((x) => x === 0), "zero gradients stay zero (no 0/0)");
});
