// Embedding backward without float atomics, stage 2 of 2: one workgroup per vocabulary row v sums, in
// position order, the dx rows of the batch positions holding v, between the first and last of them that
// embedding_spans.wgsl found, and overwrites the word's dTable row (0 when the word is not in the batch), or
// with ACCUMULATE adds the sum to it (a tied output layer's weight gradient is already there; a word not in
// the batch then costs nothing). Each row has exactly one writer, so a word repeated in the batch is summed,
// never raced, and the sums add the same terms in the same order whatever the GPU: the results are
// deterministic. The word's span is reset (first NONE, last 0) for the next step once every invocation has
// read it.
//
// An invocation owns the row's elements e = lid, lid + WG, ... and sums them in workgroup memory, ECHUNK of
// them at a time (the span is walked once a chunk). WG is one vector of lanes on a software adapter, which
// then walks the span once, not once per vector (src/gpu/embedding.ts).
const V = {{V}}u;
const E = {{E}}u;
const WG = {{WG}}u;
const ECHUNK = {{ECHUNK}}u;
const NONE = 0xffffffffu;
// Add to dTable instead of overwriting it: a tied output layer's weight gradient is already there.
const ACCUMULATE = {{ACCUMULATE}};

@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read> dx: array<f32>;
@group(0) @binding(2) var<storage, read_write> dTable: array<f32>;
@group(0) @binding(3) var<storage, read_write> first: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> last: array<atomic<u32>>;

var<workgroup> sums: array<f32, ECHUNK>;

// The grid may be 2D (at most 65535 workgroups per dimension); word v is counted row by row.
@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let v = wg.y * groups.x + wg.x;
  if (v >= V) {
    return;
  }
  let p0 = atomicLoad(&first[v]);
  let p1 = atomicLoad(&last[v]);
  workgroupBarrier(); // every invocation has read the span before it is reset
  if (p0 == NONE) {
    if (!ACCUMULATE) {
      for (var e = lid; e < E; e += WG) {
        dTable[v * E + e] = 0.0;
      }
    }
    return;
  }
  if (lid == 0u) {
    atomicStore(&first[v], NONE);
    atomicStore(&last[v], 0u);
  }
  for (var e0 = 0u; e0 < E; e0 += ECHUNK) {
    let n = min(ECHUNK, E - e0);
    for (var e = lid; e < n; e += WG) {
      sums[e] = 0.0;
    }
    for (var p = p0; p <= p1; p++) {
      if (ids[p] == i32(v)) {
        for (var e = lid; e < n; e += WG) {
          sums[e] += dx[p * E + e0 + e];
        }
      }
    }
    for (var e = lid; e < n; e += WG) {
      let at = v * E + e0 + e;
      dTable[at] = select(sums[e], dTable[at] + sums[e], ACCUMULATE);
    }
  }
}
