/** Finite-difference helpers for the CPU gradient checks. */

/**
 * Central differences (f(a+h) - f(a-h)) / (2h) of `objective` w.r.t. a[i] for each index. The step is the
 * one float32 storage actually took (fround(a+eps) - fround(a-eps)), not the nominal 2·eps, so rounding
 * of the perturbed input does not bias the quotient. `a` is restored after each probe.
 */
export function centralDifferences(
  a: Float32Array,
  indices: Iterable<number>,
  objective: () => number,
  eps: number,
): number[] {
  const out: number[] = [];
  for (const i of indices) {
    const orig = a[i];
    a[i] = orig + eps;
    const up = a[i];
    const fUp = objective();
    a[i] = orig - eps;
    const down = a[i];
    const fDown = objective();
    a[i] = orig;
    out.push((fUp - fDown) / (up - down));
  }
  return out;
}

/** sum(weights · values) accumulated in float64: a scalar whose gradient w.r.t. `values` is `weights`. */
export function weightedSum(values: ArrayLike<number>, weights: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * weights[i];
  return s;
}

/** 0..n-1, for checking every coordinate of a small tensor. */
export function allIndices(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** The entries of `grad` at `indices`, to line up with centralDifferences' output. */
export function pick(grad: ArrayLike<number>, indices: number[]): number[] {
  return indices.map((i) => grad[i]);
}
