// The LSTM forward over all Tb positions of a batch in one dispatch (PyTorch semantics, gate order i,f,g,o;
// lstm_cell.wgsl is the per-step form, the fallback). The input projection x·W_ihᵀ + b_ih of every position
// arrives in `gates` (one GEMM over B*Tb rows before this); this kernel adds b_hh and h_{t-1}·W_hhᵀ,
// activates, updates c and h, and overwrites `gates` with the activated gates the backward reads.
//
// Each workgroup owns ROWS batch rows and walks t = 0 .. Tb-1, Tb = step.steps read at run time. With SHARED,
// h_{t-1} of its rows lives in workgroup memory: two copies, read at step t and written for step t+1
// alternately, so one barrier per step suffices, or with ONE_COPY one copy, overwritten after a second
// barrier once every invocation has read it (twice the rows in the same memory: a wide layer's 16 rows at
// H = 512 fill lavapipe's 32 KiB; docs/performance.md, session 6); without SHARED, it is read back from
// `hOut`, where step t-1 wrote it, after a storage barrier (no workgroup memory, so no bound on ROWS from it;
// the rows written at a step are never those read at it). c lives in registers. Invocation q owns the 4
// consecutive hidden units j4 = 4q .. 4q+3 (vec4 over units) of all ROWS rows: per 4 values of k it loads 16
// vec4 of W_hh (4 gates x 4 units, from storage) and ROWS vec4 of h, and does 64·ROWS multiply-adds; loads,
// not arithmetic, bound the software adapter (docs/performance.md).
//
// With LENGTHS (a headline batch's packing) the positions past a row's length are skipped, nothing read or
// written there (lstm_rows.wgsl).
//
// Layouts, packed batch-major with Tb as the row stride (position t of row b is row b*Tb + t): gates [.,4H],
// h and c [.,H]; W_hh [4H,H]; with INIT the initial state h0, c0 [B,H] (else zeros). With VEC4 (H a multiple
// of 4, so every row and gate starts on a vec4) the buffers are read and written as vec4; otherwise as
// scalars, where the units past H of the last quad read unit H-1 and are never stored, and hold 0 in
// workgroup memory so that they add nothing to the next step's sums.
//#include step_params
//#include lstm_activations
//#include lstm_rows

const B = {{B}}u;
const H = {{H}}u;
const ROWS = {{ROWS}}u;
const QUADS = (H + 3u) / 4u;
const G = 4u * H;
const INIT = {{INIT}};
const SHARED = {{SHARED}};
const COPIES = {{COPIES}}u; // of h_{t-1} in workgroup memory (SHARED): 2, or 1 with ONE_COPY

@group(0) @binding(0) var<uniform> step: StepParams;
//#if VEC4
@group(0) @binding(1) var<storage, read_write> gates: array<vec4f>;
@group(0) @binding(2) var<storage, read> whh: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> hOut: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> cOut: array<vec4f>;
//#else
@group(0) @binding(1) var<storage, read_write> gates: array<f32>;
@group(0) @binding(2) var<storage, read> whh: array<f32>;
@group(0) @binding(4) var<storage, read_write> hOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> cOut: array<f32>;
//#endif
@group(0) @binding(3) var<storage, read> bhh: array<f32>;
//#if INIT
//#if VEC4
@group(0) @binding(6) var<storage, read> h0: array<vec4f>;
@group(0) @binding(7) var<storage, read> c0: array<vec4f>;
//#else
@group(0) @binding(6) var<storage, read> h0: array<f32>;
@group(0) @binding(7) var<storage, read> c0: array<f32>;
//#endif
//#endif

//#if LENGTHS
@group(0) @binding(8) var<storage, read> byLength: array<u32>;
//#endif

//#if SHARED
// h_{t-1} of the workgroup's rows, COPIES times: [copy][row][quad], vec4 over 4 consecutive units.
var<workgroup> hs: array<vec4f, COPIES * ROWS * QUADS>;
//#endif

// Units j4 .. j4+3 of the row of a buffer that starts at `base` (in floats). Without VEC4, units past H read
// unit H-1 and are not stored.
//#if VEC4
fn ldGates(base: u32, j4: u32) -> vec4f {
  return gates[(base + j4) / 4u];
}
fn stGates(base: u32, j4: u32, v: vec4f) {
  gates[(base + j4) / 4u] = v;
}
fn stH(base: u32, j4: u32, v: vec4f) {
  hOut[(base + j4) / 4u] = v;
}
fn stC(base: u32, j4: u32, v: vec4f) {
  cOut[(base + j4) / 4u] = v;
}
// W_hh[row, 4k .. 4k+3].
fn ldW(row: u32, k: u32) -> vec4f {
  return whh[row * (H / 4u) + k];
}
//#else
fn ldGates(base: u32, j4: u32) -> vec4f {
  let e = base + j4;
  return vec4f(gates[e], gates[base + min(j4 + 1u, H - 1u)], gates[base + min(j4 + 2u, H - 1u)],
    gates[base + min(j4 + 3u, H - 1u)]);
}
fn stGates(base: u32, j4: u32, v: vec4f) {
  for (var u = 0u; u < min(4u, H - j4); u++) {
    gates[base + j4 + u] = v[u];
  }
}
fn stH(base: u32, j4: u32, v: vec4f) {
  for (var u = 0u; u < min(4u, H - j4); u++) {
    hOut[base + j4 + u] = v[u];
  }
}
fn stC(base: u32, j4: u32, v: vec4f) {
  for (var u = 0u; u < min(4u, H - j4); u++) {
    cOut[base + j4 + u] = v[u];
  }
}
// W_hh[row, 4k .. 4k+3], columns past H read column H-1 (the h they multiply is 0).
fn ldW(row: u32, k: u32) -> vec4f {
  let e = row * H;
  return vec4f(whh[e + min(4u * k, H - 1u)], whh[e + min(4u * k + 1u, H - 1u)], whh[e + min(4u * k + 2u, H - 1u)],
    whh[e + min(4u * k + 3u, H - 1u)]);
}
//#endif

//#if INIT
//#if VEC4
fn ldH0(base: u32, j4: u32) -> vec4f {
  return h0[(base + j4) / 4u];
}
fn ldC0(base: u32, j4: u32) -> vec4f {
  return c0[(base + j4) / 4u];
}
//#else
fn ldH0(base: u32, j4: u32) -> vec4f {
  return vec4f(h0[base + j4], h0[base + min(j4 + 1u, H - 1u)], h0[base + min(j4 + 2u, H - 1u)],
    h0[base + min(j4 + 3u, H - 1u)]);
}
fn ldC0(base: u32, j4: u32) -> vec4f {
  return vec4f(c0[base + j4], c0[base + min(j4 + 1u, H - 1u)], c0[base + min(j4 + 2u, H - 1u)],
    c0[base + min(j4 + 3u, H - 1u)]);
}
//#endif
//#endif

//#if !SHARED
// h_{t-1} of row b at units 4k .. 4k+3 (0 past H), from hOut (h0 at t = 0 with INIT).
fn ldPrevH(b: u32, t: u32, k: u32) -> vec4f {
  let base = (b * step.steps + max(t, 1u) - 1u) * H;
//#if VEC4
  var v = hOut[base / 4u + k];
//#if INIT
  v = select(v, ldH0(b * H, 4u * k), t == 0u);
//#endif
  return v;
//#else
  let j = 4u * k;
  let live = vec4u(j, j + 1u, j + 2u, j + 3u) < vec4u(H);
  var v = vec4f(hOut[base + j], hOut[base + min(j + 1u, H - 1u)], hOut[base + min(j + 2u, H - 1u)],
    hOut[base + min(j + 3u, H - 1u)]);
//#if INIT
  v = select(v, ldH0(b * H, j), t == 0u);
//#endif
  return select(vec4f(0.0), v, live);
//#endif
}
//#endif

// W_hh at the rows of one gate's units j4 .. j4+3 (from row `gate`; units past H read unit H-1) and columns
// 4k .. 4k+3, as 4 vec4 over the units, one per column.
fn quadColumns(gate: u32, j4: u32, k: u32) -> array<vec4f, 4> {
  let w0 = ldW(gate + j4, k);
  let w1 = ldW(gate + min(j4 + 1u, H - 1u), k);
  let w2 = ldW(gate + min(j4 + 2u, H - 1u), k);
  let w3 = ldW(gate + min(j4 + 3u, H - 1u), k);
  return array<vec4f, 4>(
    vec4f(w0.x, w1.x, w2.x, w3.x),
    vec4f(w0.y, w1.y, w2.y, w3.y),
    vec4f(w0.z, w1.z, w2.z, w3.z),
    vec4f(w0.w, w1.w, w2.w, w3.w),
  );
}

@compute @workgroup_size(QUADS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) q: u32) {
  let T = step.steps;
  let group = wid.x;
  // The workgroup's slots that hold a row. A loop bound the compiler cannot know also keeps the loops over
  // rows below rolled up: unrolled, their activations made this pipeline's compile take seconds on lavapipe
  // (docs/performance.md).
  let rows = slotsOf(group);
  let j4 = 4u * q;
  // Which of the quad's units exist (all, unless H is not a multiple of 4 and this is the last quad).
  let live = vec4u(j4, j4 + 1u, j4 + 2u, j4 + 3u) < vec4u(H);
  let u1 = min(j4 + 1u, H - 1u);
  let u2 = min(j4 + 2u, H - 1u);
  let u3 = min(j4 + 3u, H - 1u);
  let bi = vec4f(bhh[j4], bhh[u1], bhh[u2], bhh[u3]);
  let bf = vec4f(bhh[H + j4], bhh[H + u1], bhh[H + u2], bhh[H + u3]);
  let bg = vec4f(bhh[2u * H + j4], bhh[2u * H + u1], bhh[2u * H + u2], bhh[2u * H + u3]);
  let bo = vec4f(bhh[3u * H + j4], bhh[3u * H + u1], bhh[3u * H + u2], bhh[3u * H + u3]);
  var cs: array<vec4f, ROWS>;
//#for r in ROWS
  var ai{{r}}: vec4f;
  var af{{r}}: vec4f;
  var ag{{r}}: vec4f;
  var ao{{r}}: vec4f;
//#endfor
  //#if INIT
  for (var r = 0u; r < rows; r++) {
    let b = batchRow(group, r);
    //#if SHARED
    hs[r * QUADS + q] = select(vec4f(0.0), ldH0(b * H, j4), live);
    //#endif
    cs[r] = ldC0(b * H, j4);
  }
  //#if SHARED
  workgroupBarrier();
  //#endif
  //#endif
  for (var t = 0u; t < T; t++) {
    // The slots whose rows have position t; the others' sums are left at 0 and their state alone.
    let running = runningAt(group, rows, t);
    //#if SHARED
    // The copy of hs read at this step and the one written for the next (the same one with ONE_COPY).
    //#if ONE_COPY
    let cur = 0u;
    let nxt = 0u;
    //#else
    let cur = (t % 2u) * ROWS * QUADS;
    let nxt = ROWS * QUADS - cur;
    //#endif
    //#endif
    // h_{t-1}·W_hhᵀ of each gate and row, vec4 over the quad's units; h_{-1} = 0 without INIT, so step 0 has
    // none. One variable per gate and row (written out by //#for): in a local array the same loops ran at half
    // the speed on lavapipe (docs/performance.md). Cleared here, not by a declaration in the loop: this naga
    // zero-fills a loop-local `var` only once, not per iteration (gfx-rs/wgpu#9489).
//#for r in ROWS
    ai{{r}} = vec4f(0.0);
    af{{r}} = vec4f(0.0);
    ag{{r}} = vec4f(0.0);
    ao{{r}} = vec4f(0.0);
//#endfor
    if (INIT || t > 0u) {
      //#if !SHARED
      // Each slot's batch row, looked up once a position rather than once per k (slots past the workgroup's
      // read its last, never used).
//#for r in ROWS
      let b{{r}} = batchRow(group, min({{r}}u, rows - 1u));
//#endfor
      //#endif
      for (var k = 0u; k < QUADS; k++) {
        let wi = quadColumns(0u, j4, k);
        let wf = quadColumns(H, j4, k);
        let wg = quadColumns(2u * H, j4, k);
        let wo = quadColumns(3u * H, j4, k);
//#for r in ROWS
        if ({{r}}u < running) {
          //#if SHARED
          let x = hs[cur + {{r}}u * QUADS + k];
          //#else
          let x = ldPrevH(b{{r}}, t, k);
          //#endif
          ai{{r}} += x.x * wi[0] + x.y * wi[1] + x.z * wi[2] + x.w * wi[3];
          af{{r}} += x.x * wf[0] + x.y * wf[1] + x.z * wf[2] + x.w * wf[3];
          ag{{r}} += x.x * wg[0] + x.y * wg[1] + x.z * wg[2] + x.w * wg[3];
          ao{{r}} += x.x * wo[0] + x.y * wo[1] + x.z * wo[2] + x.w * wo[3];
        }
//#endfor
      }
    }
    //#if ONE_COPY
    workgroupBarrier(); // every invocation has read h_{t-1} before any overwrites it with h_t
    //#endif
    // Read below by a row index the compiler cannot know: an array (the loop over rows stays rolled up, which
    // keeps the activations' code, and the compile, small).
    var pre: array<vec4f, 4u * ROWS>;
//#for r in ROWS
    pre[{{r}}u] = ai{{r}};
    pre[ROWS + {{r}}u] = af{{r}};
    pre[2u * ROWS + {{r}}u] = ag{{r}};
    pre[3u * ROWS + {{r}}u] = ao{{r}};
//#endfor
    for (var r = 0u; r < running; r++) {
      // The input projection x·W_ihᵀ + b_ih (the GEMM's output) and b_hh complete the pre-activations.
      let row = batchRow(group, r) * T + t;
      let i = sigmoid4(pre[r] + ldGates(row * G, j4) + bi);
      let f = sigmoid4(pre[ROWS + r] + ldGates(row * G + H, j4) + bf);
      let g = tanh4(pre[2u * ROWS + r] + ldGates(row * G + 2u * H, j4) + bg);
      let o = sigmoid4(pre[3u * ROWS + r] + ldGates(row * G + 3u * H, j4) + bo);
      let cNew = f * cs[r] + i * g;
      let hNew = o * tanh4(cNew);
      cs[r] = cNew;
      //#if SHARED
      hs[nxt + r * QUADS + q] = select(vec4f(0.0), hNew, live);
      //#endif
      stGates(row * G, j4, i);
      stGates(row * G + H, j4, f);
      stGates(row * G + 2u * H, j4, g);
      stGates(row * G + 3u * H, j4, o);
      stC(row * H, j4, cNew);
      stH(row * H, j4, hNew);
    }
    //#if SHARED
    workgroupBarrier();
    //#else
    storageBarrier();
    //#endif
  }
}
