// Moves rows between a headline batch's positions and its packed rows, the positions with a target
// (src/gpu/packing.ts: a batch padded to its longest row has targets at only some of its B x Tb positions,
// and the head and the LSTM's GEMMs run over those alone).
//   PACK:   y[r, :] = x[positions[r], :] for the step's packed rows r < packed.steps
//   UNPACK: y[p, :] = x[rowOf[p], :], or 0 where rowOf[p] < 0 (no target), for every position p < B x Tb
// x and y are rows of W elements of type T (vec4f when the row width allows, else f32).
//#include step_params

alias T = {{T}};
const W = {{W}}u; // elements of T per row
const ROWS = {{ROWS}}u; // rows of a step (the largest batch): positions are ROWS x step.steps
const PACK = {{PACK}};
const WORKGROUP = {{WG}}u;

// The batch's step (its `steps`: Tb, the row stride of positions) and the packing's (its `steps`: packed rows).
@group(0) @binding(0) var<uniform> step: StepParams;
@group(0) @binding(1) var<uniform> packed: StepParams;
// PACK: the position of each packed row; UNPACK: the packed row of each position, or -1.
@group(0) @binding(2) var<storage, read> index: array<i32>;
@group(0) @binding(3) var<storage, read> x: array<T>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

// The grid may be 2D (at most 65535 workgroups per dimension); element i is counted row by row.
@compute @workgroup_size(WORKGROUP)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
) {
  let i = (wg.y * groups.x + wg.x) * WORKGROUP + lid.x;
  let row = i / W;
  let col = i % W;
  if (PACK) {
    if (row >= packed.steps) {
      return;
    }
    y[i] = x[u32(index[row]) * W + col];
    return;
  }
  if (row >= ROWS * step.steps) {
    return;
  }
  let source = index[row];
  y[i] = select(T(0.0), x[u32(max(source, 0)) * W + col], source >= 0);
}
