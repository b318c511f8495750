// The LSTM backward over all Tb positions of a batch in one dispatch (the forward is lstm_seq.wgsl;
// lstm_cell_backward.wgsl is the per-step form, the fallback). Each workgroup owns ROWS batch rows and walks
// t = Tb-1 down to 0 (Tb = step.steps, read at run time), carrying the recurrent gradients dh and dc of its
// rows in registers. Per step it writes the pre-activation gradients dPre [.,4H] (for the weight and input
// gradients, GEMMs over all positions after this) and h_{t-1} into hPrev [.,H] (the operand of dW_hh; h0 or
// zeros at t = 0), and computes dh_{t-1} = dPre_t·W_hh. With SHARED the rows' dPre pass through workgroup
// memory, two copies written and read alternately, so one barrier per step suffices; without, they are read
// back from `dPre` after a storage barrier, KC vec4s of each row at a time into workgroup memory (a chunk,
// two barriers each: so ROWS is bounded by a chunk's rows, not a whole row's; the rows written at a step are
// never those read at the step before).
//
// Invocation q owns QPI quads of hidden units, quads QPI·q .. QPI·q+QPI-1 (a quad: 4 consecutive units j4 ..
// j4+3, vec4 over units), of all ROWS rows: per 4 values of k (gate units) it loads 4·QPI vec4 of W_hh and ROWS
// vec4 of dPre and does 16·ROWS·QPI multiply-adds. Quads past the last (the last invocation's, when QPI does
// not divide QUADS) read the last quad's weights and are never stored.
//
// Layouts, packed batch-major with Tb as the row stride (position t of row b is row b*Tb + t): gates (the
// forward's activated gates) and dPre [.,4H], c, h, dh (the gradient reaching h from above) and hPrev [.,H];
// W_hh [4H,H]; with INIT the forward's initial state h0, c0 [B,H] (else zeros; no gradient flows into it).
// With LENGTHS (a headline batch's packing) the positions past a row's length are skipped, nothing read or
// written there (lstm_rows.wgsl; the gradients there are 0: no loss reaches them).
//
// VEC4 as in lstm_seq.wgsl: vec4 access when H is a multiple of 4, else scalars with the units past H of
// the last quad reading unit H-1, never stored, and 0 in workgroup memory.
//#include step_params
//#include lstm_activations
//#include lstm_rows

const B = {{B}}u;
const H = {{H}}u;
const ROWS = {{ROWS}}u;
const QPI = {{QPI}}u;
const QUADS = (H + 3u) / 4u;
const SHARED = {{SHARED}};
const G = 4u * H;
// A row of dPre in workgroup memory: each gate's units padded to whole quads.
const ROW_VEC4S = 4u * QUADS;
// Without SHARED, the running rows' dPre pass through workgroup memory KC vec4s a row at a time (a chunk)
// for the sums of dh_{t-1}: lavapipe reads workgroup memory without the bounds checks of a storage read
// (docs/performance.md, session 8). With SHARED, KC is a whole row.
const KC = {{KC}}u;
const INVOCATIONS = (QUADS + QPI - 1u) / QPI;

@group(0) @binding(0) var<uniform> step: StepParams;
//#if VEC4
@group(0) @binding(1) var<storage, read> gates: array<vec4f>;
@group(0) @binding(2) var<storage, read> c: array<vec4f>;
@group(0) @binding(3) var<storage, read> h: array<vec4f>;
@group(0) @binding(4) var<storage, read> dhOut: array<vec4f>;
@group(0) @binding(5) var<storage, read> whh: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> dPre: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> hPrev: array<vec4f>;
//#else
@group(0) @binding(1) var<storage, read> gates: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read> h: array<f32>;
@group(0) @binding(4) var<storage, read> dhOut: array<f32>;
@group(0) @binding(5) var<storage, read> whh: array<f32>;
@group(0) @binding(6) var<storage, read_write> dPre: array<f32>;
@group(0) @binding(7) var<storage, read_write> hPrev: array<f32>;
//#endif
//#if INIT
//#if VEC4
@group(0) @binding(8) var<storage, read> h0: array<vec4f>;
@group(0) @binding(9) var<storage, read> c0: array<vec4f>;
//#else
@group(0) @binding(8) var<storage, read> h0: array<f32>;
@group(0) @binding(9) var<storage, read> c0: array<f32>;
//#endif
//#endif
//#if LENGTHS
@group(0) @binding(10) var<storage, read> byLength: array<u32>;
//#endif

//#if SHARED
// dPre of the workgroup's rows, twice: [copy][row][gate][quad], vec4 over 4 consecutive units.
var<workgroup> ds: array<vec4f, 2u * ROWS * ROW_VEC4S>;
//#else
// One chunk of the running rows' dPre: [row][KC vec4s].
var<workgroup> dChunk: array<vec4f, ROWS * KC>;
//#endif

// Units j4 .. j4+3 of the row of a buffer that starts at `base` (in floats). Without VEC4, units past H read
// unit H-1 and are not stored.
//#if VEC4
fn ldGates(base: u32, j4: u32) -> vec4f {
  return gates[(base + j4) / 4u];
}
fn ldC(base: u32, j4: u32) -> vec4f {
  return c[(base + j4) / 4u];
}
fn ldH(base: u32, j4: u32) -> vec4f {
  return h[(base + j4) / 4u];
}
fn ldDh(base: u32, j4: u32) -> vec4f {
  return dhOut[(base + j4) / 4u];
}
fn stDPre(base: u32, j4: u32, v: vec4f) {
  dPre[(base + j4) / 4u] = v;
}
fn stHPrev(base: u32, j4: u32, v: vec4f) {
  hPrev[(base + j4) / 4u] = v;
}
// W_hh[row, j4 .. j4+3].
fn ldW(row: u32, j4: u32) -> vec4f {
  return whh[(row * H + j4) / 4u];
}
//#else
fn ldGates(base: u32, j4: u32) -> vec4f {
  return vec4f(gates[base + j4], gates[base + min(j4 + 1u, H - 1u)], gates[base + min(j4 + 2u, H - 1u)],
    gates[base + min(j4 + 3u, H - 1u)]);
}
fn ldC(base: u32, j4: u32) -> vec4f {
  return vec4f(c[base + j4], c[base + min(j4 + 1u, H - 1u)], c[base + min(j4 + 2u, H - 1u)],
    c[base + min(j4 + 3u, H - 1u)]);
}
fn ldH(base: u32, j4: u32) -> vec4f {
  return vec4f(h[base + j4], h[base + min(j4 + 1u, H - 1u)], h[base + min(j4 + 2u, H - 1u)],
    h[base + min(j4 + 3u, H - 1u)]);
}
fn ldDh(base: u32, j4: u32) -> vec4f {
  return vec4f(dhOut[base + j4], dhOut[base + min(j4 + 1u, H - 1u)], dhOut[base + min(j4 + 2u, H - 1u)],
    dhOut[base + min(j4 + 3u, H - 1u)]);
}
fn stDPre(base: u32, j4: u32, v: vec4f) {
  for (var u = 0u; u < min(4u, H - j4); u++) {
    dPre[base + j4 + u] = v[u];
  }
}
fn stHPrev(base: u32, j4: u32, v: vec4f) {
  for (var u = 0u; u < min(4u, H - j4); u++) {
    hPrev[base + j4 + u] = v[u];
  }
}
fn ldW(row: u32, j4: u32) -> vec4f {
  let e = row * H;
  return vec4f(whh[e + j4], whh[e + min(j4 + 1u, H - 1u)], whh[e + min(j4 + 2u, H - 1u)],
    whh[e + min(j4 + 3u, H - 1u)]);
}
//#endif

//#if !SHARED
// dPre of row `row` at gate units u0 .. u0+3 of the gate that starts at `gate` (0 past H).
fn ldDPreQuad(row: u32, gate: u32, u0: u32) -> vec4f {
  let base = row * G + gate;
//#if VEC4
  return dPre[(base + u0) / 4u];
//#else
  let live = vec4u(u0, u0 + 1u, u0 + 2u, u0 + 3u) < vec4u(H);
  let v = vec4f(dPre[base + u0], dPre[base + min(u0 + 1u, H - 1u)], dPre[base + min(u0 + 2u, H - 1u)],
    dPre[base + min(u0 + 3u, H - 1u)]);
  return select(vec4f(0.0), v, live);
//#endif
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

@compute @workgroup_size(INVOCATIONS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) q: u32) {
  let T = step.steps;
  let group = wid.x;
  // The workgroup's slots that hold a row; a bound the compiler cannot know keeps the loops over them rolled
  // up (as in lstm_seq.wgsl, for the compile time).
  let rows = slotsOf(group);
  // dh_t and dc_t flowing back from step t+1 (nothing beyond the last position), [row][quad of this
  // invocation].
  var dhRec: array<vec4f, ROWS * QPI>;
  var dcRec: array<vec4f, ROWS * QPI>;
//#for r in ROWS
//#for u in QPI
  var d{{r}}_{{u}}: vec4f;
//#endfor
//#endfor
  // The first unit of each of the invocation's quads as the weights are read (past the last quad: the last).
//#for u in QPI
  let jw{{u}} = 4u * min(QPI * q + {{u}}u, QUADS - 1u);
//#endfor
  for (var s = 0u; s < T; s++) {
    let t = T - 1u - s;
    // The slots whose rows have position t (the others' gradients stay 0, and their dh and dc with them).
    let running = runningAt(group, rows, t);
    //#if SHARED
    // The copy of ds written and read at this step.
    let cur = (s % 2u) * ROWS * ROW_VEC4S;
    //#endif
    for (var u = 0u; u < QPI; u++) {
      let quad = QPI * q + u;
      if (quad >= QUADS) {
        break;
      }
      let j4 = 4u * quad;
      let live = vec4u(j4, j4 + 1u, j4 + 2u, j4 + 3u) < vec4u(H);
      for (var r = 0u; r < running; r++) {
        let b = batchRow(group, r);
        let row = b * T + t;
        let i = ldGates(row * G, j4);
        let f = ldGates(row * G + H, j4);
        let g = ldGates(row * G + 2u * H, j4);
        let o = ldGates(row * G + 3u * H, j4);
        let tc = tanh4(ldC(row * H, j4));
        let dh = ldDh(row * H, j4) + dhRec[r * QPI + u];
        let dct = dcRec[r * QPI + u] + dh * o * (1.0 - tc * tc);
        var cp = vec4f(0.0);
        var hp = vec4f(0.0);
        if (t > 0u) {
          cp = ldC((row - 1u) * H, j4);
          hp = ldH((row - 1u) * H, j4);
        }
        //#if INIT
        if (t == 0u) {
          cp = ldC0(b * H, j4);
          hp = ldH0(b * H, j4);
        }
        //#endif
        let di = dct * g * i * (1.0 - i);
        let df = dct * cp * f * (1.0 - f);
        let dg = dct * i * (1.0 - g * g);
        let dO = dh * tc * o * (1.0 - o);
        dcRec[r * QPI + u] = dct * f;
        //#if SHARED
        let at = cur + r * ROW_VEC4S + quad;
        ds[at] = select(vec4f(0.0), di, live);
        ds[at + QUADS] = select(vec4f(0.0), df, live);
        ds[at + 2u * QUADS] = select(vec4f(0.0), dg, live);
        ds[at + 3u * QUADS] = select(vec4f(0.0), dO, live);
        //#endif
        stDPre(row * G, j4, di);
        stDPre(row * G + H, j4, df);
        stDPre(row * G + 2u * H, j4, dg);
        stDPre(row * G + 3u * H, j4, dO);
        stHPrev(row * H, j4, hp);
      }
    }
    //#if SHARED
    workgroupBarrier();
    //#else
    storageBarrier();
    //#endif
    if (t > 0u) {
      // dh_{t-1}[j] = sum over the 4H gate units k of dPre_t[k] · W_hh[k, j], one variable per row and quad
      // (written out by //#for: in a local array the same loop ran at half the speed on lavapipe), cleared
      // here (naga zero-fills a loop-local var only once, gfx-rs/wgpu#9489), then copied to dhRec, which the
      // loops over quads and rows above index.
//#for r in ROWS
//#for u in QPI
      d{{r}}_{{u}} = vec4f(0.0);
//#endfor
//#endfor
      for (var c0 = 0u; c0 < ROW_VEC4S; c0 += KC) {
        //#if !SHARED
        if (c0 > 0u) {
          // Every invocation is done with the previous chunk (before the first, the storage barrier above
          // ordered the previous position's last chunk and this position's dPre alike).
          workgroupBarrier();
        }
        for (var i = q; i < running * KC; i += INVOCATIONS) {
          let k = c0 + i % KC;
          if (k < ROW_VEC4S) {
            dChunk[i] = ldDPreQuad(batchRow(group, i / KC) * T + t, (k / QUADS) * H, 4u * (k % QUADS));
          }
        }
        workgroupBarrier();
        //#endif
        for (var k = c0; k < min(c0 + KC, ROW_VEC4S); k++) {
          // Gate units gate*H + u0 .. u0+3 (the last quad of a gate clamped to its last unit, where ds is 0).
          let gate = k / QUADS;
          let u0 = 4u * (k % QUADS);
          let k0 = gate * H + u0;
          let k1 = gate * H + min(u0 + 1u, H - 1u);
          let k2 = gate * H + min(u0 + 2u, H - 1u);
          let k3 = gate * H + min(u0 + 3u, H - 1u);
//#for u in QPI
          let w{{u}}_0 = ldW(k0, jw{{u}});
          let w{{u}}_1 = ldW(k1, jw{{u}});
          let w{{u}}_2 = ldW(k2, jw{{u}});
          let w{{u}}_3 = ldW(k3, jw{{u}});
//#endfor
//#for r in ROWS
          if ({{r}}u < running) {
            //#if SHARED
            let x = ds[cur + {{r}}u * ROW_VEC4S + k];
            //#else
            let x = dChunk[{{r}}u * KC + k - c0];
            //#endif
//#for u in QPI
            d{{r}}_{{u}} += x.x * w{{u}}_0 + x.y * w{{u}}_1 + x.z * w{{u}}_2 + x.w * w{{u}}_3;
//#endfor
          }
//#endfor
        }
      }
//#for r in ROWS
//#for u in QPI
      dhRec[{{r}}u * QPI + {{u}}u] = d{{r}}_{{u}};
//#endfor
//#endfor
    }
  }
}
