// One LSTM step (PyTorch semantics, gate order i,f,g,o) fused into one kernel: both gate GEMMs
// x_t·W_ihᵀ + h_{t-1}·W_hhᵀ, both biases, the activations and the c/h update, so nothing but h and c
// passes between steps. One invocation computes unit j's four gates for ROWS batch rows: each weight
// load then feeds 4*ROWS multiply-adds (loads, not arithmetic, bound this on the software adapter). STEP is baked in: step 0
// has h_{-1} = c_{-1} = 0 and skips the recurrent GEMM. All B rows are computed; rows a short batch
// does not use hold zeros in x and stay finite.
// Layouts: x [B,T,IN], h and c [B,T,H], gates [B,T,4H] (activated), W_ih [4H,IN], W_hh [4H,H].
const B = {{B}}u;
const T = {{T}}u;
const IN = {{IN}}u;
const H = {{H}}u;
const STEP = {{STEP}}u;
const ROWS = {{ROWS}}u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> wih: array<f32>;
@group(0) @binding(2) var<storage, read> whh: array<f32>;
@group(0) @binding(3) var<storage, read> bih: array<f32>;
@group(0) @binding(4) var<storage, read> bhh: array<f32>;
// h and c are read at STEP-1 and written at STEP: different elements, so one binding serves both.
@group(0) @binding(5) var<storage, read_write> h: array<f32>;
@group(0) @binding(6) var<storage, read_write> c: array<f32>;
@group(0) @binding(7) var<storage, read_write> gates: array<f32>;

// Clamped so that pre-activations up to +-1e4 give 0..1 and -1..1, never exp overflow or NaN.
fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-clamp(v, -40.0, 40.0)));
}

fn tanhSafe(v: f32) -> f32 {
  return tanh(clamp(v, -15.0, 15.0));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  let j = n % H;
  let b0 = (n / H) * ROWS;
  if (b0 >= B) {
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
  if (STEP > 0u) {
    var prevRow: array<u32, ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      prevRow[r] = (min(b0 + r, B - 1u) * T + STEP - 1u) * H;
      cPrev[r] = c[prevRow[r] + j];
    }
    for (var k = 0u; k < H; k++) {
      let w = vec4<f32>(whh[j * H + k], whh[(H + j) * H + k], whh[(2u * H + j) * H + k], whh[(3u * H + j) * H + k]);
      for (var r = 0u; r < ROWS; r++) {
        pre[r] += h[prevRow[r] + k] * w;
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
