// One LSTM step (PyTorch semantics, gate order i,f,g,o) fused into one kernel: both gate GEMMs
// x_t·W_ihᵀ + h_{t-1}·W_hhᵀ, both biases, the activations and the c/h update, so nothing but h and c
// passes between steps. The per-step form, one dispatch per position: the fallback where a device's limits
// do not allow the sequence kernel (lstm_seq.wgsl). One invocation computes unit j's four gates for ROWS
// batch rows: each weight load then feeds 4*ROWS multiply-adds (loads, not arithmetic, bound this on the
// software adapter). STEP is baked in, the batch's positions Tb (the row stride) read at run time: steps at
// or past Tb do nothing. Step 0 has h_{-1} = c_{-1} = 0 and skips the recurrent GEMM, or with INIT reads
// them from h0 and c0. All B rows are computed; rows a short batch does not use hold zeros in x and stay
// finite.
// Layouts, packed batch-major: x [B,Tb,IN], h and c [B,Tb,H], gates [B,Tb,4H] (activated), W_ih [4H,IN],
// W_hh [4H,H], h0 and c0 [B,H].
//#include step_params
//#include lstm_activations

const B = {{B}}u;
const IN = {{IN}}u;
const H = {{H}}u;
const STEP = {{STEP}}u;
const ROWS = {{ROWS}}u;
const INIT = {{INIT}};

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> wih: array<f32>;
@group(0) @binding(2) var<storage, read> whh: array<f32>;
@group(0) @binding(3) var<storage, read> bih: array<f32>;
@group(0) @binding(4) var<storage, read> bhh: array<f32>;
// h and c are read at STEP-1 and written at STEP: different elements, so one binding serves both.
@group(0) @binding(5) var<storage, read_write> h: array<f32>;
@group(0) @binding(6) var<storage, read_write> c: array<f32>;
@group(0) @binding(7) var<storage, read_write> gates: array<f32>;
@group(0) @binding(8) var<uniform> step: StepParams;
//#if INIT
@group(0) @binding(9) var<storage, read> h0: array<f32>;
@group(0) @binding(10) var<storage, read> c0: array<f32>;
//#endif

// h_{t-1}[k] and c_{t-1}[j] of batch row b: the previous position's, or at step 0 the initial state.
fn hPrevAt(b: u32, T: u32, k: u32) -> f32 {
  //#if INIT
  if (STEP == 0u) {
    return h0[b * H + k];
  }
  //#endif
  return h[(b * T + STEP - 1u) * H + k];
}

fn cPrevAt(b: u32, T: u32, j: u32) -> f32 {
  //#if INIT
  if (STEP == 0u) {
    return c0[b * H + j];
  }
  //#endif
  return c[(b * T + STEP - 1u) * H + j];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let T = step.steps;
  let n = gid.x;
  let j = n % H;
  let b0 = (n / H) * ROWS;
  if (b0 >= B || STEP >= T) {
    return;
  }
  let bias = vec4<f32>(
    bih[j] + bhh[j],
    bih[H + j] + bhh[H + j],
    bih[2u * H + j] + bhh[2u * H + j],
    bih[3u * H + j] + bhh[3u * H + j],
  );
  // Rows past B (when ROWS does not divide B) recompute row B-1 and are not stored.
  var xRow: array<u32, ROWS>;
  var pre: array<vec4<f32>, ROWS>;
  for (var r = 0u; r < ROWS; r++) {
    xRow[r] = (min(b0 + r, B - 1u) * T + STEP) * IN;
    pre[r] = bias;
  }
  for (var k = 0u; k < IN; k++) {
    let w = vec4<f32>(wih[j * IN + k], wih[(H + j) * IN + k], wih[(2u * H + j) * IN + k], wih[(3u * H + j) * IN + k]);
    for (var r = 0u; r < ROWS; r++) {
      pre[r] += x[xRow[r] + k] * w;
    }
  }
  var cPrev: array<f32, ROWS>;
  if (STEP > 0u || INIT) {
    for (var r = 0u; r < ROWS; r++) {
      cPrev[r] = cPrevAt(min(b0 + r, B - 1u), T, j);
    }
    for (var k = 0u; k < H; k++) {
      let w = vec4<f32>(whh[j * H + k], whh[(H + j) * H + k], whh[(2u * H + j) * H + k], whh[(3u * H + j) * H + k]);
      for (var r = 0u; r < ROWS; r++) {
        pre[r] += hPrevAt(min(b0 + r, B - 1u), T, k) * w;
      }
    }
  }
  for (var r = 0u; r < ROWS; r++) {
    let b = b0 + r;
    if (b >= B) {
      break;
    }
    let i = sigmoid(pre[r].x);
    let f = sigmoid(pre[r].y);
    let g = tanhSafe(pre[r].z);
    let o = sigmoid(pre[r].w);
    let cNew = f * cPrev[r] + i * g;
    let at = (b * T + STEP) * H + j;
    let g0 = (b * T + STEP) * 4u * H;
    gates[g0 + j] = i;
    gates[g0 + H + j] = f;
    gates[g0 + 2u * H + j] = g;
    gates[g0 + 3u * H + j] = o;
    c[at] = cNew;
    h[at] = o * tanhSafe(cNew);
  }
}
