// Embedding backward without float atomics: one invocation per vocabulary row sums, in position order,
// the dx rows of the batch positions holding that id, and overwrites its whole dTable row (0 when the
// word is not in the batch). Each row has exactly one writer, so a word repeated in the batch is summed,
// never raced. The batch's ids (written by embedding.wgsl, -1 for unused rows) sit in workgroup memory.
const V = {{V}}u;
const E = {{E}}u;
const POSITIONS = {{POSITIONS}}u;
const WG = 64u;

@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read> dx: array<f32>;
@group(0) @binding(2) var<storage, read_write> dTable: array<f32>;

var<workgroup> batchIds: array<i32, POSITIONS>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var p = lid; p < POSITIONS; p += WG) {
    batchIds[p] = ids[p];
  }
  workgroupBarrier();
  let v = gid.x;
  if (v >= V) {
    return;
  }
  var sum: array<f32, E>;
  for (var p = 0u; p < POSITIONS; p++) {
    if (batchIds[p] == i32(v)) {
      for (var e = 0u; e < E; e++) {
        sum[e] += dx[p * E + e];
      }
    }
  }
  for (var e = 0u; e < E; e++) {
    dTable[v * E + e] = sum[e];
  }
}
