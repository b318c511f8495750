// Backward of one LSTM step (lstm_cell.wgsl), run for STEP = T-1 down to 0 where T is the most positions the
// buffers hold; the batch's own Tb (the row stride) is read at run time, and steps at or past it do nothing.
// The per-step form: the fallback where a device's limits do not allow lstm_seq_backward.wgsl. One workgroup
// per ROWS batch rows: its invocations compute the rows' 4H pre-activation gradients dPre (stored [B,Tb,4H]
// for the weight GEMMs and kept in workgroup memory), dc_{t-1}, and, after a barrier, dh_{t-1} = dPre_t·W_hh,
// where each W_hh load feeds ROWS multiply-adds. They also copy h_{t-1} into hPrev [B,Tb,H] (at step 0 the
// initial state h0 with INIT, else zeros), the operand of dW_hh = dPreᵀ·hPrev over all steps.
// The recurrent gradients travel between steps in `carry` [2,B,H]: dh_{t-1} at [0,B*H), dc_{t-1} at
// [B*H,2*B*H). Step Tb-1 ignores carry (nothing flows back from beyond the row), so it needs no zeroing.
// Each invocation reads and rewrites only its own units' carry entries, so updating it in place is safe.
//#include step_params
//#include lstm_activations

const B = {{B}}u;
const H = {{H}}u;
const STEP = {{STEP}}u;
const ROWS = {{ROWS}}u;
const WG = {{WG}}u; // min(H, 256): invocations loop over the units j = lid, lid + WG, ...

@group(0) @binding(0) var<storage, read> gates: array<f32>;
@group(0) @binding(1) var<storage, read> c: array<f32>;
@group(0) @binding(2) var<storage, read> h: array<f32>;
@group(0) @binding(3) var<storage, read> dhOut: array<f32>;
@group(0) @binding(4) var<storage, read> whh: array<f32>;
@group(0) @binding(5) var<storage, read_write> dPre: array<f32>;
@group(0) @binding(6) var<storage, read_write> carry: array<f32>;
@group(0) @binding(7) var<storage, read_write> hPrev: array<f32>;
@group(0) @binding(8) var<uniform> step: StepParams;
//#if INIT
@group(0) @binding(9) var<storage, read> h0: array<f32>;
@group(0) @binding(10) var<storage, read> c0: array<f32>;
//#endif

var<workgroup> dPreRows: array<f32, ROWS * 4u * H>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = step.steps;
  if (STEP >= T) {
    return; // uniform: the whole dispatch
  }
  let last = STEP + 1u == T;
  let b0 = wid.x * ROWS;
  // Rows past B (when ROWS does not divide B) are skipped here and leave zeros in dPreRows below.
  for (var r = 0u; r < min(ROWS, B - b0); r++) {
    let b = b0 + r;
    let g0 = (b * T + STEP) * 4u * H;
    for (var j = lid; j < H; j += WG) {
      let at = (b * T + STEP) * H + j;
      let i = gates[g0 + j];
      let f = gates[g0 + H + j];
      let g = gates[g0 + 2u * H + j];
      let o = gates[g0 + 3u * H + j];
      let tc = tanhSafe(c[at]);
      var dh = dhOut[at];
      var dc = 0.0;
      if (!last) {
        dh += carry[b * H + j];
        dc = carry[B * H + b * H + j];
      }
      let dct = dc + dh * o * (1.0 - tc * tc);
      var cp = 0.0;
      if (STEP > 0u) {
        cp = c[at - H];
        carry[B * H + b * H + j] = dct * f;
        hPrev[at] = h[at - H];
      } else {
        //#if INIT
        cp = c0[b * H + j];
        hPrev[at] = h0[b * H + j];
        //#else
        hPrev[at] = 0.0;
        //#endif
      }
      let dPreAt = vec4<f32>(
        dct * g * i * (1.0 - i),
        dct * cp * f * (1.0 - f),
        dct * i * (1.0 - g * g),
        dh * tc * o * (1.0 - o),
      );
      for (var q = 0u; q < 4u; q++) {
        dPre[g0 + q * H + j] = dPreAt[q];
        dPreRows[r * 4u * H + q * H + j] = dPreAt[q];
      }
    }
  }
  if (STEP > 0u) {
    workgroupBarrier();
    // Declared once and cleared per unit: this naga zero-fills a loop-local `var` only once, not per
    // iteration (gfx-rs/wgpu#9489, fixed by #9592).
    var s: array<f32, ROWS>;
    for (var j = lid; j < H; j += WG) {
      for (var r = 0u; r < ROWS; r++) {
        s[r] = 0.0;
      }
      for (var k = 0u; k < 4u * H; k++) {
        let w = whh[k * H + j];
        for (var r = 0u; r < ROWS; r++) {
          s[r] += dPreRows[r * 4u * H + k] * w;
        }
      }
      for (var r = 0u; r < min(ROWS, B - b0); r++) {
        carry[(b0 + r) * H + j] = s[r];
      }
    }
  }
}
