// The rows of the LSTM's recurrent kernels (lstm_seq.wgsl, lstm_seq_backward.wgsl): which batch row each of a
// workgroup's ROWS slots holds, and which of them run at position t. The including shader defines B and
// ROWS, and with LENGTHS binds `byLength`: the batch's B rows by length, longest first, then each row's length
// (its positions with a target), from a headline batch's packing (src/gpu/packing.ts).
//
// With LENGTHS a row's positions at or past its length are skipped: no position with a target follows one
// without, so nothing there is read, and nothing is written (h, c, the gates, dPre and h_{t-1} there keep
// what they held). To make the skipping save work, slot r of workgroup g holds the row sorted r·GROUPS + g:
// each workgroup's rows still running at t are then its first slots, where the loops over rows stop, and the
// workgroups get like shares of long and short rows. Without LENGTHS, slot r of workgroup g is row g·ROWS + r
// and every row runs every position.

const LENGTHS = {{LENGTHS}};
const GROUPS = (B + ROWS - 1u) / ROWS;

// The batch row in slot r of workgroup g.
fn batchRow(g: u32, r: u32) -> u32 {
  //#if LENGTHS
  return byLength[r * GROUPS + g];
  //#else
  return g * ROWS + r;
  //#endif
}

// The slots of workgroup g that hold a row (fewer than ROWS in some workgroups when ROWS does not divide B).
fn slotsOf(g: u32) -> u32 {
  //#if LENGTHS
  return (B - g + GROUPS - 1u) / GROUPS;
  //#else
  return min(ROWS, B - g * ROWS);
  //#endif
}

// The first of the `slots` slots of workgroup g whose rows have no position t: the rows still running at t
// are the slots before it.
fn runningAt(g: u32, slots: u32, t: u32) -> u32 {
  //#if LENGTHS
  var n = 0u;
  for (var r = 0u; r < slots; r++) {
    n += select(0u, 1u, byLength[B + batchRow(g, r)] > t);
  }
  return n;
  //#else
  return slots;
  //#endif
}
