/**
 * An epoch's order (src/train/order.ts): file order, a plain shuffle (the generator's, as before buckets
 * existed), and length buckets: a permutation whose full batches each hold rows of one bucket sorted by
 * length, the full batches shuffled, the short last batch last, the same order from the same generator state.
 */
import { assert, assertEquals } from "./assert.ts";
import { epochOrder } from "../src/train/order.ts";
import { Rng } from "../src/model/rng.ts";

const COUNT = 103;
const BATCH = 8;
const lengths = Int32Array.from({ length: COUNT }, (_, i) => 1 + ((i * 37) % 23));

Deno.test("epoch order: file order, the plain shuffle, and length buckets", () => {
  assertEquals(Array.from(epochOrder(COUNT, lengths, { shuffle: false, batch: BATCH }, new Rng(1))), [
    ...Array(COUNT).keys(),
  ]);
  const plain = epochOrder(COUNT, lengths, { shuffle: true, batch: BATCH }, new Rng(1));
  assertEquals(plain, new Rng(1).shuffle(Int32Array.from({ length: COUNT }, (_, i) => i)));

  const bucket = 4;
  const order = epochOrder(COUNT, lengths, { shuffle: true, batch: BATCH, bucket }, new Rng(1));
  assertEquals([...order].sort((a, b) => a - b), [...Array(COUNT).keys()], "a permutation");
  assertEquals(epochOrder(COUNT, lengths, { shuffle: true, batch: BATCH, bucket }, new Rng(1)), order);
  // The shuffle's rows, bucket by bucket sorted by length: every full batch of the order is one of those cuts.
  const sorted = Array.from(plain);
  for (let at = 0; at < COUNT; at += bucket * BATCH) {
    const part = sorted.slice(at, at + bucket * BATCH).sort((a, b) => lengths[a] - lengths[b]);
    sorted.splice(at, part.length, ...part);
  }
  const full = Math.floor(COUNT / BATCH);
  const cuts = Array.from({ length: full }, (_, b) => sorted.slice(b * BATCH, (b + 1) * BATCH).join());
  const batches = Array.from(
    { length: full },
    (_, b) => Array.from(order.subarray(b * BATCH, (b + 1) * BATCH)).join(),
  );
  assertEquals([...batches].sort(), [...cuts].sort(), "the full batches are the sorted buckets' cuts");
  assert(batches.join("|") !== cuts.join("|"), "the full batches are shuffled");
  assertEquals(Array.from(order.subarray(full * BATCH)), sorted.slice(full * BATCH), "the short batch last");
  // Each batch's padding: its longest row against its mean, far less than a plain shuffle's.
  const waste = (o: Int32Array) => {
    let pad = 0;
    for (let b = 0; b < full; b++) {
      const rows = Array.from(o.subarray(b * BATCH, (b + 1) * BATCH), (r) => lengths[r]);
      pad += rows.length * Math.max(...rows) - rows.reduce((x, y) => x + y, 0);
    }
    return pad;
  };
  assert(waste(order) * 3 < waste(plain), `padding ${waste(order)} bucketed, ${waste(plain)} shuffled`);
});
