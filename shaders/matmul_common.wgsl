// What the two GEMM kernels (matmul_regblock.wgsl, matmul_tiled.wgsl) share: the shape uniform, the rows
// decided at run time, the epilogue bits and the epilogue itself. Included by `//#include matmul_common`; the
// including shader declares s, C, bias and mask.
//
// The dispatch's epilogue bits are compiled in (FLAGS, one pipeline per combination), so the steps a
// dispatch does not apply cost nothing: no per-element branches on a uniform. C and mask are f32 arrays,
// or vec4 arrays with C_VEC4 (matmul_regblock.wgsl, when its whole-vec4 stores apply).
//
// Rows at run time (runDim 1: M, 2: K): the GEMM over a batch of packed sequences has perStep * step.steps
// rows (M, or K for a weight gradient), Tb = step.steps changing from step to step. The kernels are built for
// the most rows (s.M or s.K: this dispatch's block of them, which starts at row runStart of the whole) and
// take their share of the step's rows from the StepParams uniform, so one set of kernels serves every Tb with
// no host work per GEMM. The grid stays the built one: workgroups past the rows exit at once, and along K the
// loop ends early. A branch on the shape uniform rather than a compiled-in flag, so that GEMMs with rows at
// run time share their pipelines with the fixed ones (a fixed GEMM binds its own shape as the step uniform,
// unread).

struct Shape {
  M: u32, N: u32, K: u32,
  aRow: u32, aK: u32, aOff: u32,
  bK: u32, bCol: u32, bOff: u32,
  ldc: u32, cOff: u32,
  runDim: u32, // 0: M and K fixed; 1: M at run time; 2: K at run time
  perStep: u32, // rows per position of the step (runDim > 0)
  runStart: u32, // this block's first row along the run-time dimension (runDim > 0)
}

const EPI_ACCUMULATE = 1u; // add the old C (also how the K blocks of a split GEMM add up)
const EPI_BIAS = 2u; // add bias[j]
const EPI_RELU = 4u; // max(0, .)
const EPI_MASK = 8u; // times (mask[i,j] > 0): ReLU backward fused into the GEMM; mask is laid out as C
const FLAGS = {{FLAGS}}u; // the EPI_* bits of this dispatch

//#include step_params
@group(0) @binding(6) var<uniform> step: StepParams;

// This block's share of the step's perStep * steps rows: at most `built`, 0 when they end before the block.
fn runtimeExtent(built: u32) -> u32 {
  let total = s.perStep * step.steps;
  return min(built, total - min(total, s.runStart));
}

// The rows of C (and op(A)) this dispatch computes.
fn rowsM() -> u32 {
  if (s.runDim == 1u) {
    return runtimeExtent(s.M);
  }
  return s.M;
}

// The k values this dispatch sums over.
fn depthK() -> u32 {
  if (s.runDim == 2u) {
    return runtimeExtent(s.K);
  }
  return s.K;
}

// Writes one element of C through the epilogue; elements outside C are dropped.
fn store(i: u32, j: u32, sum: f32) {
  if (i >= rowsM() || j >= s.N) {
    return;
  }
  storeAt(s.cOff + i * s.ldc + j, j, sum);
}

// The epilogue of C element `at` (column j), no bounds check.
fn storeAt(at: u32, j: u32, sum: f32) {
  var value = sum;
  if ((FLAGS & EPI_ACCUMULATE) != 0u) {
    //#if C_VEC4
    value += C[at / 4u][at % 4u];
    //#else
    value += C[at];
    //#endif
  }
  if ((FLAGS & EPI_BIAS) != 0u) {
    value += bias[j];
  }
  if ((FLAGS & EPI_RELU) != 0u) {
    value = max(value, 0.0);
  }
  if ((FLAGS & EPI_MASK) != 0u) {
    //#if C_VEC4
    let keep = mask[at / 4u][at % 4u] > 0.0;
    //#else
    let keep = mask[at] > 0.0;
    //#endif
    if (!keep) {
      value = 0.0;
    }
  }
  //#if C_VEC4
  C[at / 4u][at % 4u] = value;
  //#else
  C[at] = value;
  //#endif
}
