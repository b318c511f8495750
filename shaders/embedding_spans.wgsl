// Embedding backward, stage 1 of 2: the first and last position of each word in the step's ids (written by
// embedding.wgsl, -1 where there is none), with integer atomics (min and max are the same whatever order the
// positions arrive in). embedding_backward.wgsl then walks each word's span and resets it for the next step;
// a word absent from the step keeps first = NONE, last = 0.
const POSITIONS = {{POSITIONS}}u;
const NONE = 0xffffffffu;

@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read_write> first: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> last: array<atomic<u32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let p = gid.x;
  if (p >= POSITIONS) {
    return;
  }
  let id = ids[p];
  if (id < 0) {
    return;
  }
  atomicMin(&first[u32(id)], p);
  atomicMax(&last[u32(id)], p);
}
