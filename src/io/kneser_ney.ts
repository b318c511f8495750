/**
 * A Kneser-Ney count model (src/eval/kneser_ney.ts) as bytes, so that it can be kept beside a checkpoint
 * and used without the training data. What is stored is what the model is made from — its order, vocabulary
 * size, boundaries, discounts and counts — and the probabilities are recomputed from them on decoding, the
 * same arithmetic as after fitting, so a decoded model gives bit-identical distributions.
 *
 *   magic       8 bytes, ASCII "WLSTMKN\n"
 *   version     uint32 LE (1)
 *   order       uint32 LE, N >= 1
 *   vocab       uint32 LE, V
 *   flags       uint32 LE: bit 0 boundaries; the others 0
 *   discounts   3 N float64 LE: the discounts of counts 1, 2, 3+ of order 1, then order 2, ...
 *   contexts    the context trie in pre-order from the empty context, as unsigned LEB128 varints:
 *                 node = W, W x (word step, count), C, C x (key step, node)
 *               W >= 1 words seen after the context, ascending, each as its step from the previous one
 *               (the first from -1), with its count; C contexts one word longer, keyed by that word (the
 *               one before the context), ascending, stepped the same way; a node at depth N-1 (the longest
 *               contexts) has no C.
 *
 * Steps and counts under 128 take one byte, under 16384 two: the 5-gram model of the nine NYT files'
 * seed-0 training split (V 2246, min-count 4, boundaries: 156,797 counts in 97,741 contexts) is 653 kB.
 */
import { type CountNode, KneserNey, type KneserNeyCounts } from "../eval/kneser_ney.ts";
import { UserError } from "../errors.ts";

const MAGIC = "WLSTMKN\n";
const VERSION = 1;
const HEADER_BYTES = MAGIC.length + 4 * 4;
/** Flag bits. */
const BOUNDARIES = 1;
/** A sanity bound on the order read from a file (a real model has 2-10). */
const MAX_ORDER = 64;

/** The model's counts as bytes. */
export function encodeKneserNey(counts: KneserNeyCounts): Uint8Array {
  const varints: number[] = [];
  const steps = (ids: Iterable<number>, each: (id: number) => void) => {
    let previous = -1;
    for (const id of ids) {
      varints.push(id - previous);
      previous = id;
      each(id);
    }
  };
  const node = (n: CountNode, depth: number) => {
    varints.push(n.words.length);
    let i = 0;
    steps(n.words, () => varints.push(n.counts[i++]));
    if (depth === counts.order - 1) return; // the longest contexts: no C
    const keys = [...n.children.keys()].sort((a, b) => a - b);
    varints.push(keys.length);
    steps(keys, (key) => node(n.children.get(key)!, depth + 1));
  };
  node(counts.root, 0);

  const body = varintBytes(varints);
  const bytes = new Uint8Array(HEADER_BYTES + 8 * counts.discounts.length + body.length);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC));
  let offset = MAGIC.length;
  for (const v of [VERSION, counts.order, counts.vocab, counts.boundaries ? BOUNDARIES : 0]) {
    view.setUint32(offset, v, true);
    offset += 4;
  }
  for (const d of counts.discounts) {
    view.setFloat64(offset, d, true);
    offset += 8;
  }
  bytes.set(body, offset);
  return bytes;
}

function varintBytes(values: number[]): Uint8Array {
  const out: number[] = [];
  for (let v of values) {
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
  }
  return Uint8Array.from(out);
}

/** A model from its bytes, every part checked; `where` names them in errors (one line). */
export function decodeKneserNey(bytes: Uint8Array, where = "Kneser-Ney model"): KneserNey {
  const bad = (why: string): never => {
    throw new UserError(`${where} is not a usable Kneser-Ney model: ${why}`);
  };
  if (bytes.length < HEADER_BYTES || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) {
    bad("it does not start with the Kneser-Ney header");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [version, order, vocab, flags] = [0, 1, 2, 3].map((i) => view.getUint32(MAGIC.length + 4 * i, true));
  if (version !== VERSION) bad(`format version ${version} (this reads ${VERSION})`);
  if (order < 1 || order > MAX_ORDER) bad(`order ${order}`);
  if ((flags & ~BOUNDARIES) !== 0) bad(`unknown flags ${flags}`);
  if (bytes.length < HEADER_BYTES + 24 * order) bad("it ends inside the discounts");
  const discounts = new Float64Array(3 * order);
  for (let i = 0; i < discounts.length; i++) {
    const d = view.getFloat64(HEADER_BYTES + 8 * i, true);
    const r = (i % 3) + 1;
    if (!(d > 0 && d <= r)) {
      bad(`order ${Math.floor(i / 3) + 1} has discount ${d} for count ${r}${r === 3 ? "+" : ""}`);
    }
    discounts[i] = d;
  }

  let offset = HEADER_BYTES + 24 * order;
  const varint = (): number => {
    let value = 0;
    for (let scale = 1; scale < 2 ** 35; scale *= 0x80) {
      if (offset >= bytes.length) bad("it ends inside the counts");
      const b = bytes[offset++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
    }
    return bad(`a number at byte ${offset} is longer than 5 bytes`);
  };
  /** count ids (>= 1 for a node's words), ascending and < vocab, from their steps; `each` after each. */
  const ascending = (count: number, each: (id: number) => void): number[] => {
    const ids: number[] = [];
    let previous = -1;
    for (let i = 0; i < count; i++) {
      const id = previous + varint();
      if (id === previous || id >= vocab) {
        bad(`id ${id} is not ascending or is outside the vocabulary of ${vocab}`);
      }
      ids.push(previous = id);
      each(id);
    }
    return ids;
  };
  const node = (depth: number): CountNode => {
    const size = varint();
    if (size === 0) bad(`a context at depth ${depth} has no words`);
    const counts: number[] = [];
    const words = ascending(size, () => {
      const c = varint();
      if (c < 1 || c > 0x7fffffff) bad(`a count of ${c}`);
      counts.push(c);
    });
    const longer = depth === order - 1 ? 0 : varint();
    const children = new Map<number, CountNode>();
    ascending(longer, (key) => children.set(key, node(depth + 1)));
    return { words: Int32Array.from(words), counts: Int32Array.from(counts), children };
  };
  const root = node(0);
  if (offset !== bytes.length) bad(`${bytes.length - offset} bytes after the counts`);
  return new KneserNey({ order, vocab, boundaries: (flags & BOUNDARIES) !== 0, discounts, root });
}
