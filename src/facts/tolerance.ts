/**
 * How a GPU result is held to the CPU reference, element by element: |got - want| <= atol + rtol·|want|
 * (the tests' assertAllClose and doctor's compare both read it so), and how a tolerance is written in words.
 * Each kernel's own tolerances live with its other facts in src/facts/.
 */

/** An element-wise tolerance: |got - want| <= atol + rtol·|want|. */
export interface Tolerance {
  /** Absolute tolerance. */
  atol: number;
  /** Relative tolerance, times |want|. */
  rtol: number;
}

/** Nothing but the same value passes (copies and float32 products made alike on both sides). */
export const EXACT: Tolerance = { atol: 0, rtol: 0 };

/** 2e-5, not 0.00002; 1.36e-5, not the float's 1.3599999999999999e-5 (6 significant digits at most). */
export const num = (x: number): string => {
  const v = Number(x.toPrecision(6));
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
};

/** A tolerance in words: "atol 1e-6, rtol 1e-5", or "exact". */
export function toleranceText(t: Tolerance): string {
  return t.atol === 0 && t.rtol === 0 ? "exact" : `atol ${num(t.atol)}, rtol ${num(t.rtol)}`;
}
