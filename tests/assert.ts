/** Test assertions: node's strict asserts plus element-wise closeness with stated tolerances. */
import assertModule from "node:assert/strict";
import { xorshiftFloats } from "../src/doctor/compare.ts";
export { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
export const assertRejects: typeof assertModule.rejects = assertModule.rejects;

/**
 * Fails unless |actual - expected| <= atol + rtol * |expected| for every element; the message names the
 * worst element. NaN/Inf in `actual` always fail.
 */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4, what = "values" }: { atol?: number; rtol?: number; what?: string } = {},
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} != expected ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!Number.isFinite(a) || Number.isNaN(excess)) {
      throw new Error(`${what}[${i}] = ${a} (expected ${e})`);
    }
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}[${worst}] = ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`,
    );
  }
}

/** Seeded uniform random floats in [lo, hi) (tests need reproducible inputs). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return xorshiftFloats(n, seed, lo, hi);
}
