/**
 * The GEMM's facts (src/gpu/matmul.ts against src/cpu/matmul.ts), which the column sums and nn.Linear share:
 * the tolerance of a float32 sum against the reference's float64 one, every GEMM a training step of a model
 * runs (with the specs src/gpu/model.ts passes down, for doctor's plan and the benchmark), and the reference
 * of a GEMM whose rows are decided at run time.
 */
import { gemmReference } from "../cpu/matmul.ts";
import type { LstmVariant } from "../gpu/lstm.ts";
import type { MatmulSpec } from "../gpu/matmul.ts";
import { headWidth, isHeadlineModel, type ModelConfig } from "../model/config.ts";
import { lstmInputSize } from "../model/layout.ts";
import { num, type Tolerance } from "./tolerance.ts";

/** Absolute error allowed per summed term (products of inputs in [-1, 1)). */
const ATOL_PER_TERM = 4e-7;

/**
 * A float32 sum of `terms` products of inputs in ±scale (a GEMM's K, a column sum's rows) against the
 * reference's float64 sum, in another order: 4e-7 a term (at least 25 terms' worth) times scale², plus rtol
 * 1e-5. Measured on lavapipe: 1.6e-4 at K = 2482 (1e-3 allowed); doctor reports the share each case used.
 */
export function sumTolerance(terms: number, scale = 1): Tolerance {
  return { atol: ATOL_PER_TERM * Math.max(terms, 25) * scale * scale, rtol: 1e-5 };
}

/** sumTolerance in words, the summed dimension named `what` ("K", "rows"). */
export function sumToleranceText(what: string): string {
  return `atol ${num(ATOL_PER_TERM)}·${what}, rtol ${num(sumTolerance(1).rtol)}`;
}

/** A GEMM of a model, named by what it computes. */
export interface ModelGemm {
  op: string;
  spec: MatmulSpec;
}

/**
 * The head's GEMMs (nn.Linear forward and backward, src/gpu/linear.ts) as src/gpu/model.ts builds them:
 * fc1 (with ReLU) and fc2, or fc2 alone on the LSTM's output for a direct head; over a window model's batch
 * rows, or a headline model's B x Tb positions (rows at run time, up to `steps` a row).
 */
export function headGemms(cfg: ModelConfig, batch: number, steps: number): {
  fc1Forward?: MatmulSpec;
  fc2Forward: MatmulSpec;
  fc2DX: MatmulSpec;
  fc2DW: MatmulSpec;
  fc1DX?: MatmulSpec;
  fc1DW?: MatmulSpec;
} {
  const { vocab: V, hidden: H, window } = cfg;
  const M = headWidth(cfg), flat = window * H;
  const headline = isHeadlineModel(cfg);
  const rows = headline ? batch * steps : batch;
  const along = (dim: "M" | "K") => headline ? { runtimeRows: { dim, perStep: batch } } : {};
  if (M === 0) {
    return {
      fc2Forward: { M: rows, K: flat, N: V, transB: true, bias: true, ...along("M") },
      fc2DX: { M: rows, K: V, N: flat, ...along("M") },
      fc2DW: { M: V, K: rows, N: flat, transA: true, ...along("K") },
    };
  }
  return {
    fc1Forward: { M: rows, K: flat, N: M, transB: true, bias: true, relu: true, ...along("M") },
    fc2Forward: { M: rows, K: M, N: V, transB: true, bias: true, ...along("M") },
    fc2DX: { M: rows, K: V, N: M, reluMask: true, ...along("M") },
    fc2DW: { M: V, K: rows, N: M, transA: true, ...along("K") },
    fc1DX: { M: rows, K: M, N: flat, ...along("M") },
    fc1DW: { M: M, K: rows, N: flat, transA: true, ...along("K") },
  };
}

/**
 * Every GEMM a training step (and an evaluation) of the model runs, its LSTM layers' in the variant `lstm`
 * (the sequence kernels add the input projection), at `steps` positions a row (a window model's window);
 * tests/doctor_test.ts checks that the backend compiles exactly the variants these give.
 */
export function modelGemms(
  cfg: ModelConfig,
  batch: number,
  lstm: LstmVariant,
  steps = cfg.window,
): ModelGemm[] {
  const { hidden: H, layers: L } = cfg;
  const rows = batch * steps, G = 4 * H;
  const head = headGemms(cfg, batch, steps);
  const named: Array<[string, MatmulSpec | undefined]> = [
    ["fc1 forward x·Wᵀ + b, ReLU", head.fc1Forward],
    ["fc2 forward x·Wᵀ + b", head.fc2Forward],
    [head.fc1Forward ? "fc2 dX = dY·W, ReLU backward" : "fc2 dX = dY·W", head.fc2DX],
    ["fc2 dW = dYᵀ·X", head.fc2DW],
    ["fc1 dX = dY·W", head.fc1DX],
    ["fc1 dW = dYᵀ·X", head.fc1DW],
  ];
  const gemms: ModelGemm[] = named.flatMap(([op, spec]) => (spec ? [{ op, spec }] : []));
  // The LSTM's GEMMs run over the batch's B * Tb positions, Tb read per step.
  const runtime = (dim: "M" | "K") => ({ runtimeRows: { dim, perStep: batch } });
  // Layers with the same input width run the same GEMMs.
  const byInput = new Map<number, number[]>();
  for (let k = 0; k < L; k++) {
    byInput.set(lstmInputSize(cfg, k), [...byInput.get(lstmInputSize(cfg, k)) ?? [], k]);
  }
  for (const [In, layers] of byInput) {
    const which = layers.length === 1 ? `lstm l${layers[0]}` : `lstm l${layers[0]}-${layers.at(-1)}`;
    if (lstm === "sequence") {
      gemms.push({
        op: `${which} x·Wihᵀ + b_ih`,
        spec: { M: rows, K: In, N: G, transB: true, bias: true, ...runtime("M") },
      });
    }
    gemms.push({
      op: `${which} dWih = dPreᵀ·x`,
      spec: { M: G, K: rows, N: In, transA: true, ...runtime("K") },
    });
    gemms.push({ op: `${which} dx = dPre·Wih`, spec: { M: rows, K: G, N: In, ...runtime("M") } });
  }
  gemms.push({ op: "lstm dWhh = dPreᵀ·hPrev", spec: { M: G, K: rows, N: H, transA: true, ...runtime("K") } });
  return gemms;
}

/** A GEMM's inputs: A, B, C before (what accumulate adds to), the bias and the ReLU mask. */
export interface GemmInputs {
  a: Float32Array;
  b: Float32Array;
  c0: Float32Array;
  bias: Float32Array;
  mask: Float32Array;
}

/**
 * The whole C a GEMM with rows at run time (spec.runtimeRows) leaves when the step has `rows` of them: along
 * M, the first `rows` rows of the full GEMM's reference and C's old values after them; along K, the GEMM over
 * the first `rows` values of k.
 */
export function runtimeRowsReference(spec: MatmulSpec, rows: number, x: GemmInputs): Float32Array {
  const { M, K, N, transA = false, transB = false } = spec;
  // op(A) [M, K] and op(B) [K, N] as row-major copies, cut to the step's rows.
  const opA = new Float32Array(M * K), opB = new Float32Array(K * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      opA[i * K + k] = transA ? x.a[k * M + i] : x.a[i * K + k];
    }
  }
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < N; j++) {
      opB[k * N + j] = transB ? x.b[j * K + k] : x.b[k * N + j];
    }
  }
  const { runtimeRows: _, variant: __, ...math } = spec;
  const plain = { ...math, transA: false, transB: false };
  if (spec.runtimeRows!.dim === "M") {
    const out = x.c0.slice();
    out.set(gemmReference({ ...plain, M: rows }, opA.subarray(0, rows * K), opB, x.c0, x.bias, x.mask));
    return out;
  }
  const cutA = new Float32Array(M * rows);
  for (let i = 0; i < M; i++) cutA.set(opA.subarray(i * K, i * K + rows), i * rows);
  return gemmReference({ ...plain, K: rows }, cutA, opB.subarray(0, rows * N), x.c0, x.bias, x.mask);
}
