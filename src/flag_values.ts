/**
 * Flag values: one parser and one wording ("--batch must be a positive integer, got ...") for every CLI, for
 * config files and for the web page's fields, which carry the CLI flags' names.
 */
import { USAGE_EXIT, UserError } from "./errors.ts";

/** What values a numeric flag allows, as its error message says them. */
export type NumberCheck =
  | "positive integer"
  | "non-negative integer"
  | "32-bit unsigned integer"
  | "positive number"
  | "fraction"
  | "number in (0, 1)"
  | "number";

/** Parses a numeric flag; `check` says what values are allowed (e.g. "a positive integer"). */
export function numberFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  check: NumberCheck,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const ok = value.trim() !== "" && Number.isFinite(n) && {
    "positive integer": Number.isInteger(n) && n > 0,
    "non-negative integer": Number.isInteger(n) && n >= 0,
    // Seeds: the Rng takes 32 bits, so 2^32 would silently act as 0.
    "32-bit unsigned integer": Number.isInteger(n) && n >= 0 && n < 2 ** 32,
    "positive number": n > 0,
    "fraction": n >= 0 && n < 1,
    "number in (0, 1)": n > 0 && n < 1,
    "number": true,
  }[check];
  if (!ok) throw new UserError(`--${name} must be a ${check}, got "${value}"`, USAGE_EXIT);
  return n;
}

/** Parses a flag that takes one of a few words ("--backend must be webgpu or cpu, got ..."). */
export function choiceFlag<C extends string>(
  name: string,
  value: string | undefined,
  fallback: C,
  choices: readonly C[],
): C {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as C;
  const said = choices.length > 1 ? `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}` : choices[0];
  throw new UserError(`--${name} must be ${said}, got "${value}"`, USAGE_EXIT);
}
