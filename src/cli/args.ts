/** What every CLI shares: running a main with one-line errors, and flag parsing with one-line usage errors. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { firstLine, USAGE_EXIT, UserError } from "../errors.ts";

/**
 * Runs a script's main function and turns every failure into one line on stderr and a non-zero exit.
 * Set WEBGPU_LSTM_DEBUG=1 to see the stack of an unexpected error.
 */
export async function runMain(name: string, main: () => Promise<number | void>): Promise<never> {
  let code = 0;
  try {
    code = (await main()) ?? 0;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const msg = firstLine(err.message);
    console.error(`${name}: error: ${msg}`);
    if (debugWanted()) console.error(err.stack);
    code = err instanceof UserError ? err.exitCode : 1;
  }
  Deno.exit(code);
}

/** WEBGPU_LSTM_DEBUG=1, read only where the script may read it (prepare runs without --allow-env). */
function debugWanted(): boolean {
  const variable = "WEBGPU_LSTM_DEBUG";
  return Deno.permissions.querySync({ name: "env", variable }).state === "granted" &&
    Deno.env.get(variable) === "1";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs with one-line UserErrors (exit 2) for unknown flags and missing values. */
export function parseFlags<T extends Options>(
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UserError(firstLine((e as Error).message), USAGE_EXIT);
  }
}

/** What values a numeric flag allows, as its error message says them. */
export type NumberCheck =
  | "positive integer"
  | "non-negative integer"
  | "32-bit unsigned integer"
  | "positive number"
  | "fraction"
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
    "number": true,
  }[check];
  if (!ok) throw new UserError(`--${name} must be a ${check}, got "${value}"`, USAGE_EXIT);
  return n;
}
