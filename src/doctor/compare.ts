/**
 * How the doctor compares a GPU result with the CPU reference: element-wise, |got - want| <= atol +
 * rtol·|want| (as the tests' assertAllClose), reporting the largest absolute and relative errors and how much
 * of the tolerance the worst element used. Also the seeded inputs every check draws. Pure functions.
 */

import type { Tolerance } from "../facts/tolerance.ts";
export type { Tolerance } from "../facts/tolerance.ts";

/** One output of one case (one shape) compared with the reference. */
export interface CaseResult {
  /** The output and the case: "C 37x91x125 NT bias", "h B=5 T=3 In=7 H=9". */
  what: string;
  /** Elements compared. */
  count: number;
  /** Largest |got - want|. */
  maxAbs: number;
  /** Largest |got - want| / |want| over the elements with |want| >= 1e-3 of the largest |want|. */
  maxRel: number;
  /** Largest |got - want| / (atol + rtol·|want|): at most 1 passes (Infinity for NaN or Inf). */
  ratio: number;
  /** The tolerance it was compared under. */
  tolerance: Tolerance;
  /** Whether every element was within it (ratio <= 1). */
  pass: boolean;
  /** The element that used the most tolerance. */
  worst: { index: number; got: number; want: number };
}

/** Compares `got` with `want` (the same length) under `tol`. */
export function compare(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
): CaseResult {
  if (got.length !== want.length) {
    throw new Error(`${what}: ${got.length} values from the GPU, ${want.length} from the reference`);
  }
  let peak = 0;
  for (let i = 0; i < want.length; i++) peak = Math.max(peak, Math.abs(want[i]));
  const relFloor = peak * 1e-3;
  let maxAbs = 0, maxRel = 0, ratio = 0, worst = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    const d = Math.abs(g - w);
    const r = Number.isFinite(g) ? d / (tol.atol + tol.rtol * Math.abs(w)) : Infinity;
    // 0/0 (both tolerances 0, exact match) is no error.
    const rr = Number.isNaN(r) ? (d === 0 ? 0 : Infinity) : r;
    if (rr > ratio || (i === 0 && rr === ratio)) {
      ratio = rr;
      worst = i;
    }
    if (Number.isFinite(g)) {
      maxAbs = Math.max(maxAbs, d);
      if (Math.abs(w) >= relFloor && w !== 0) maxRel = Math.max(maxRel, d / Math.abs(w));
    } else {
      maxAbs = Infinity;
      maxRel = Infinity;
    }
  }
  return {
    what,
    count: got.length,
    maxAbs,
    maxRel,
    ratio,
    tolerance: tol,
    pass: ratio <= 1,
    worst: { index: worst, got: got[worst] ?? NaN, want: want[worst] ?? NaN },
  };
}

/** Seeded uniform floats in [lo, hi); nearby seeds are scrambled apart. */
export function randomFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return xorshiftFloats(n, Math.imul(seed >>> 0, 2654435761) ^ 0x5bd1e995, lo, hi);
}

/**
 * `n` uniform floats in [lo, hi) from xorshift32 started at `state` (0 counts as 1): fast enough for
 * millions of values. The GPU tests' inputs (tests/assert.ts) come from it too.
 */
export function xorshiftFloats(n: number, state: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  let s = state >>> 0 || 1;
  const scale = (hi - lo) / 4294967296;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = lo + scale * s;
  }
  return out;
}

/** A seeded permutation of 0..n-1: an epoch's order. */
export function permutation(n: number, seed: number): Int32Array {
  const keys = randomFloats(n, seed, 0, 1);
  return Int32Array.from([...Array(n).keys()].sort((a, b) => keys[a] - keys[b]));
}

/** Seeded integers in [0, n). */
export function randomInts(count: number, seed: number, n: number): Int32Array {
  return Int32Array.from(randomFloats(count, seed, 0, 1), (u) => Math.min(n - 1, Math.floor(u * n)));
}

/** A small seeded generator of shapes: integers in a range, with a predicate. */
export class ShapeRng {
  #s: number;
  constructor(seed: number) {
    this.#s = (Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x2545f491) >>> 0 || 1;
  }
  #next(): number {
    let s = this.#s;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    this.#s = s >>> 0;
    return this.#s / 4294967296;
  }
  /** An integer in [lo, hi] for which `ok` holds (hi - lo must leave some). */
  int(lo: number, hi: number, ok: (n: number) => boolean = () => true): number {
    for (let tries = 0; tries < 1000; tries++) {
      const n = lo + Math.floor(this.#next() * (hi - lo + 1));
      if (ok(n)) return n;
    }
    throw new Error(`no integer in [${lo}, ${hi}] passes the shape constraint`);
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#next() * items.length)];
  }
}

/** Not a multiple of m. */
export const notMultipleOf = (m: number) => (n: number) => n % m !== 0;
