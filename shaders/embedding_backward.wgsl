// Embedding backward without float atomics: one invocation per vocabulary row sums, in position order,
// the dx rows of the batch positions holding that id, and overwrites its whole dTable row (0 when the
// word is not in the batch). Each row has exactly one writer, so a word repeated in the batch is summed,
// never raced. The batch's ids (written by embedding.wgsl, -1 for unused rows) pass through workgroup memory
// CHUNK at a time, so any batch fits the 16 KiB every adapter offers.
const V = {{V}}u;
const E = {{E}}u;
const POSITIONS = {{POSITIONS}}u;
const CHUNK = {{CHUNK}}u;
const WG = 64u;
// Add to dTable instead of overwriting it: a tied output layer's weight gradient is already there.
const ACCUMULATE = {{ACCUMULATE}};

@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read> dx: array<f32>;
@group(0) @binding(2) var<storage, read_write> dTable: array<f32>;

var<workgroup> batchIds: array<i32, CHUNK>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let v = gid.x;
  var sum: array<f32, E>;
  // Every invocation, those past V too, loads and meets each barrier: they sit in uniform control flow.
  for (var c0 = 0u; c0 < POSITIONS; c0 += CHUNK) {
    let n = min(CHUNK, POSITIONS - c0);
    workgroupBarrier(); // the previous chunk has been read by all
    for (var p = lid; p < n; p += WG) {
      batchIds[p] = ids[c0 + p];
    }
    workgroupBarrier();
    if (v < V) {
      for (var p = 0u; p < n; p++) {
        if (batchIds[p] == i32(v)) {
          for (var e = 0u; e < E; e++) {
            sum[e] += dx[(c0 + p) * E + e];
          }
        }
      }
    }
  }
  if (v < V) {
    for (var e = 0u; e < E; e++) {
      dTable[v * E + e] = select(sum[e], dTable[v * E + e] + sum[e], ACCUMULATE);
    }
  }
}
